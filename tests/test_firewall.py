"""The packet-filter walk on recorded rule sets: which rule does a local SYN
to a port meet, under which condition, and what undoes it?

`tests/data/firewall/NN-*/` are the field situations' own dumps (`nft -j
list ruleset`, `nft -a list ruleset`, iptables-save, ip6tables-save, and
iptables-legacy-save where legacy tables held the rule), recorded in private
namespaces with nft 1.0.6 and iptables 1.8.9. The end-to-end versions, with
real rules, real clients and the fixes pasted, are in test_firewall_ns.py.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from assistant.facts.firewall import conditions, iptables, nft, nftrender, reader, report
from assistant.facts.firewall.model import Me, Table
from assistant.facts.firewall.walk import walk

DATA = Path(__file__).parent / "data"
FIELD = DATA / "firewall"
SITUATIONS = sorted(p.name for p in FIELD.iterdir())
NOWHERE = conditions.World()
DIRECT = ["ipv4 filter INPUT 0 -p tcp --dport 8036 -j REJECT"]  # 36's firewall-cmd output
# The frontends each situation ran (18 only names a chain like fail2ban's).
RAN = {"19": "fail2ban", "20": "fail2ban", "28": "ufw", "33": "ufw", "36": "firewalld",
       "37": "firewalld"}


def field_tables(name: str, world: conditions.World = NOWHERE) -> list[Table]:
    """What the reader would build from one situation's dumps."""
    d = FIELD / name
    tables = nft.tables(json.loads((d / "nft.json").read_text()), world)
    for tool, dump in (("iptables", "iptables-save.txt"), ("ip6tables", "ip6tables-save.txt")):
        if (d / dump).exists():
            tables = reader.compat(tables, iptables.tables((d / dump).read_text(), tool, world))
    if (d / "iptables-legacy-save.txt").exists():
        tables += iptables.tables((d / "iptables-legacy-save.txt").read_text(),
                                  "iptables-legacy", world)
    return tables


def port_of(name: str) -> int:
    m = re.search(r"127\.0\.0\.1:(\d+)|\[::1\]:(\d+)", (FIELD / name / "ask.txt").read_text())
    assert m, name
    return int(next(g for g in m.groups() if g))


def field_facts(name: str, addresses: tuple[str, ...] = ("127.0.0.1", "::1"),
                connect_as: Any = None) -> list[dict[str, Any]]:
    return report.facts(field_tables(name), list(addresses), port_of(name), lambda: DIRECT,
                        connect_as, here=lambda frontend: RAN.get(name[:2]) == frontend)


# --- nft's syntax -------------------------------------------------------------------

def test_rules_read_back_as_nft_prints_them() -> None:
    """Every rule of a native table renders exactly as `nft -a list ruleset` printed it."""
    compared = 0
    for name in SITUATIONS:
        d = FIELD / name
        if not (d / "nft-handles.txt").exists():
            continue
        want: dict[tuple[str, str, str, int], str] = {}
        table = chain = ""
        for line in (d / "nft-handles.txt").read_text().splitlines():
            if m := re.match(r"table (\S+ \S+) \{", line):
                table = m.group(1)
            elif m := re.match(r"\tchain (\S+) \{", line):
                chain = m.group(1)
            elif m := re.match(r"\t\t(.*) # handle (\d+)$", line):
                want[(name, table, chain, int(m.group(2)))] = m.group(1)
        items = json.loads((d / "nft.json").read_text())["nftables"]
        xt = {(i["rule"]["family"], i["rule"]["table"]) for i in items
              if "rule" in i and any("xt" in e for e in i["rule"]["expr"])}
        for i in items:
            r = i.get("rule")
            if not r or (r["family"], r["table"]) in xt:
                continue  # nft prints xtables extensions translated; iptables-save is their text
            key = (name, f"{r['family']} {r['table']}", r["chain"], r["handle"])
            assert nftrender.rule(r["expr"], r["family"], r.get("comment")) == want[key], key
            compared += 1
    assert compared > 200


# --- the field situations -----------------------------------------------------------

# name: [(address, tool, table, chain, verdict, condition kind or None, the fix command)]
FIELD_EXPECTED: dict[str, list[tuple[str, str, str, str, str, str | None, str]]] = {
    "01-nft-input-drop-dport": [("127.0.0.1", "nft", "inet filter", "input", "drop", None,
                                 "sudo nft delete rule inet filter input handle 2")],
    "02-nft-reject-tcp-reset": [("127.0.0.1", "nft", "inet filter", "input", "reject", None,
                                 "sudo nft delete rule inet filter input handle 2")],
    "03-nft-reject-icmpx-default": [("127.0.0.1", "nft", "inet filter", "input", "reject", None,
                                     "sudo nft delete rule inet filter input handle 2")],
    "04-nft-reject-admin-prohibited": [("127.0.0.1", "nft", "inet filter", "input", "reject",
                                        None, "sudo nft delete rule inet filter input handle 2")],
    "05-nft-output-drop": [("127.0.0.1", "nft", "inet filter", "output", "drop", None,
                            "sudo nft delete rule inet filter output handle 2")],
    "06-nft-input-policy-drop-no-lo": [("127.0.0.1", "nft", "inet filter", "input", "drop", None,
                                        "sudo nft insert rule inet filter input iifname lo accept")],
    "07-nft-ip6-only": [("::1", "nft", "ip6 filter", "input", "drop", None,
                         "sudo nft delete rule ip6 filter input handle 2")],
    "08-nft-vmap-range": [("127.0.0.1", "nft", "inet filter", "input", "drop", None,
                           "sudo nft replace rule inet filter input handle 3 "
                           "'tcp dport vmap { 22 : accept }'")],
    "09-nft-named-set-interval": [("127.0.0.1", "nft", "inet filter", "input", "drop", None,
                                   "sudo nft delete element inet filter blocked '{ 5000-5999 }'")],
    "10-nft-saddr-prefix-sets": [
        ("127.0.0.1", "nft", "inet filter", "input", "reject", None,
         "sudo nft delete element inet filter blocked4 '{ 127.0.0.0/8 }'"),
        ("::1", "nft", "inet filter", "input", "reject", None,
         "sudo nft delete element inet filter blocked6 '{ ::1 }'")],
    "11-nft-raw-prerouting-drop": [("127.0.0.1", "nft", "ip raw", "prerouting", "drop", None,
                                    "sudo nft delete rule ip raw prerouting handle 2")],
    "12-ipt-nft-raw-output-drop": [("127.0.0.1", "iptables", "raw", "OUTPUT", "drop", None,
                                    "sudo iptables -t raw -D OUTPUT -o lo -p tcp -m tcp "
                                    "--dport 8012 -j DROP")],
    "13-ipt-nft-mangle-drop": [("127.0.0.1", "iptables", "mangle", "PREROUTING", "drop", None,
                                "sudo iptables -t mangle -D PREROUTING -i lo -p tcp -m tcp "
                                "--dport 8013 -j DROP")],
    "14-nft-th-dport-l4proto": [("127.0.0.1", "nft", "inet filter", "input", "drop", None,
                                 "sudo nft delete rule inet filter input handle 3")],
    "15-nft-counter-comment": [("127.0.0.1", "nft", "inet filter", "input", "drop", None,
                                "sudo nft delete rule inet filter input handle 3")],
    "16-nft-ct-established-before-drop": [("127.0.0.1", "nft", "inet filter", "input", "drop",
                                           None, "sudo nft delete rule inet filter input handle 3")],
    "17-nft-input-lo-accept-output-drop": [
        ("127.0.0.1", "nft", "inet filter", "output", "drop", None,
         "sudo nft insert rule inet filter output oifname lo accept")],
    "18-ipt-nft-multiport-f2b-chain": [
        ("127.0.0.1", "iptables", "filter", "f2b-sshd", "reject", None,
         "sudo iptables -D f2b-sshd -s 127.0.0.1/32 -j REJECT --reject-with icmp-port-unreachable")],
    "19-fail2ban-iptables-multiport": [
        ("127.0.0.1", "iptables", "filter", "f2b-nginx-http-auth", "reject", None,
         "sudo fail2ban-client set nginx-http-auth unbanip 127.0.0.1")],
    "20-fail2ban-nftables-banip": [("127.0.0.1", "nft", "inet f2b-table", "f2b-chain", "reject",
                                    None, "sudo fail2ban-client set sshd unbanip 127.0.0.1")],
    "21-ipt-nft-connlimit": [
        ("127.0.0.1", "iptables", "filter", "INPUT", "reject", "connlimit",
         "sudo iptables -D INPUT -p tcp -m tcp --dport 8021 --tcp-flags FIN,SYN,RST,ACK SYN "
         "-m connlimit --connlimit-above 2 --connlimit-mask 32 --connlimit-saddr -j REJECT "
         "--reject-with tcp-reset")],
    "22-ipt-nft-limit-syn": [
        ("127.0.0.1", "iptables", "filter", "INPUT", "drop", "limit",
         "sudo iptables -D INPUT -p tcp -m tcp --dport 8022 --tcp-flags FIN,SYN,RST,ACK SYN "
         "-j DROP")],
    "23-ipt-nft-hashlimit": [
        ("127.0.0.1", "iptables", "filter", "INPUT", "drop", "hashlimit",
         "sudo iptables -D INPUT -p tcp -m tcp --dport 8023 --tcp-flags FIN,SYN,RST,ACK SYN "
         "-m hashlimit --hashlimit-above 1/min --hashlimit-burst 1 --hashlimit-mode srcip "
         "--hashlimit-name web -j DROP")],
    "24-ipt-nft-quota": [("127.0.0.1", "iptables", "filter", "INPUT", "drop", "quota",
                          "sudo iptables -D INPUT -p tcp -m tcp --dport 8024 -j DROP")],
    "25-ipt-nft-recent": [
        ("127.0.0.1", "iptables", "filter", "INPUT", "drop", "recent",
         "sudo iptables -D INPUT -p tcp -m tcp --dport 8025 --tcp-flags FIN,SYN,RST,ACK SYN "
         "-m recent --update --seconds 60 --hitcount 2 --name web --rsource -j DROP")],
    "26-ipt-nft-owner-uid": [
        ("127.0.0.1", "iptables", "filter", "OUTPUT", "reject", "owner",
         "sudo iptables -D OUTPUT -o lo -p tcp -m tcp --dport 8026 -m owner --uid-owner 65534 "
         "-j REJECT --reject-with icmp-port-unreachable")],
    "27-nft-meta-skuid": [("127.0.0.1", "nft", "inet filter", "output", "drop", "owner",
                           "sudo nft delete rule inet filter output handle 2")],
    "28-ufw-lo-accept-removed": [
        ("127.0.0.1", "iptables", "filter", "INPUT", "drop", None,
         "sudo ufw insert 1 allow in on lo"),
        ("::1", "ip6tables", "filter", "INPUT", "drop", None, "sudo ufw insert 1 allow in on lo")],
    "29-docker-chains-input-policy": [("127.0.0.1", "iptables", "filter", "INPUT", "drop", None,
                                       "sudo iptables -I INPUT 1 -i lo -j ACCEPT")],
    "30-ipt-legacy-drop-nft-empty": [("127.0.0.1", "iptables-legacy", "filter", "INPUT", "drop",
                                      None, "sudo iptables-legacy -D INPUT -p tcp -m tcp "
                                      "--dport 8030 -j DROP")],
    "31-ipt-nft-reject-legacy-empty": [
        ("127.0.0.1", "iptables", "filter", "INPUT", "reject", None,
         "sudo iptables -D INPUT -p tcp -m tcp --dport 8031 -j REJECT "
         "--reject-with icmp-port-unreachable")],
    "32-ip6tables-reject-v6-only": [
        ("::1", "ip6tables", "filter", "INPUT", "reject", None,
         "sudo ip6tables -D INPUT -p tcp -m tcp --dport 8032 -j REJECT "
         "--reject-with icmp6-port-unreachable")],
    "33-ufw-deny-port-lo-still-allowed": [],
    "34-nft-accept-not-final": [("127.0.0.1", "iptables", "filter", "INPUT", "drop", None,
                                 "sudo iptables -D INPUT -p tcp -m tcp --dport 8034 -j DROP")],
    "35-nft-socket-cgroupv2": [("127.0.0.1", "nft", "inet filter", "output", "drop", "cgroup",
                                "sudo nft delete rule inet filter output handle 2")],
    "36-firewalld-direct-rule": [
        ("127.0.0.1", "iptables", "filter", "INPUT", "reject", None,
         "sudo firewall-cmd --direct --remove-rule ipv4 filter INPUT 0 -p tcp --dport 8036 "
         "-j REJECT")],
    "37-firewalld-panic-mode": [
        ("127.0.0.1", "nft", "inet firewalld_policy_drop", "raw_output", "drop", None,
         "sudo firewall-cmd --panic-off")],
    "38-nft-limit-over-native": [("127.0.0.1", "nft", "inet filter", "input", "drop", "limit",
                                  "sudo nft delete rule inet filter input handle 2")],
    "39-nft-ct-count-meter": [("127.0.0.1", "nft", "inet filter", "input", "reject", "connlimit",
                               "sudo nft delete rule inet filter input handle 3")],
}
# Only these dialled IPv6 as well as IPv4 in the field (the others asked for 127.0.0.1).
BOTH = {"10-nft-saddr-prefix-sets", "28-ufw-lo-accept-removed"}


def test_every_situation_has_an_expectation() -> None:
    assert sorted(FIELD_EXPECTED) == SITUATIONS and len(SITUATIONS) == 39


@pytest.mark.parametrize("name", sorted(FIELD_EXPECTED))
def test_field_situation(name: str) -> None:
    want = FIELD_EXPECTED[name]
    addresses = ("127.0.0.1", "::1") if name in BOTH else (want[0][0] if want else "127.0.0.1",)
    facts = [f for f in field_facts(name, addresses) if f["type"] == "firewall"
             and not f["behind"]]
    got = [(f["address"], f["tool"], f["table"], f["chain"], f["verdict"],
            f.get("condition_kind"), f.get("frontend_fix") or f["undo"]) for f in facts]
    assert got == want


def test_outgoing_fixes_name_the_output_interface() -> None:
    """An output hook never sees an input interface: `oifname lo` / `-o lo`."""
    for name in SITUATIONS:
        for f in field_facts(name):
            if f["type"] == "firewall" and f["hook"] in ("output", "postrouting"):
                assert "iifname" not in f["bypass"] and " -i lo" not in f["bypass"], name
                assert "oifname lo" in f["bypass"] or " -o lo" in f["bypass"], name


def test_evidence_is_in_the_users_syntax() -> None:
    rules = {f["rule"] for name in SITUATIONS for f in field_facts(name)
             if f["type"] == "firewall"}
    assert not [r for r in rules if "xt " in r or '{"' in r]
    assert 'tcp dport 8015 counter packets 0 bytes 0 drop comment "block dev api (ticket ' \
           'OPS-123)"' in rules
    assert "tcp dport { 22, 8020 } ip saddr @addr-set-sshd reject with icmp port-unreachable" \
        in rules
    assert "-P INPUT DROP" in rules and "type filter hook output priority -291; policy drop;" \
        in rules


def test_what_blocks_once_the_first_block_is_undone() -> None:
    """firewalld's panic mode drops in raw_output and again in raw_prerouting:
    bypassing the first alone changes nothing."""
    facts = [f for f in field_facts("37-firewalld-panic-mode", ("127.0.0.1",))
             if f["type"] == "firewall"]
    assert [(f["chain"], f["behind"], f.get("behind_chain")) for f in facts] == [
        ("raw_output", False, None), ("raw_prerouting", True, "raw_output")]
    text = ("*filter\n:INPUT DROP [0:0]\n:OUTPUT DROP [0:0]\n"
            "-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n-A INPUT -p tcp -m tcp --dport 8080 -j DROP\n"
            "COMMIT\n")
    w = walk(iptables.tables(text, "iptables", NOWHERE), "127.0.0.1", 8080)
    assert [(h.chain.name, h.rule.number if h.rule else 0, h.behind is not None)
            for h in w.hits] == [("OUTPUT", 0, False), ("INPUT", 2, True), ("INPUT", 0, True)]


def test_mangle_output_is_a_route_chain_and_still_filters() -> None:
    facts = report.facts(field_tables("13-ipt-nft-mangle-drop"), ["127.0.0.1"], 8113,
                         lambda: None)
    assert [(f["table"], f["chain"], f["hook"], f["undo"]) for f in facts] == [
        ("mangle", "OUTPUT", "output",
         "sudo iptables -t mangle -D OUTPUT -o lo -p tcp -m tcp --dport 8113 -j DROP")]


def test_conditions_in_words() -> None:
    f = field_facts("22-ipt-nft-limit-syn", ("127.0.0.1",))[0]
    assert f["condition"] == ("more packets arrive than `-m limit --limit 1/min --limit-burst 1` "
                              "lets through (its allowance is used up)")
    assert f["condition_rule"].endswith("-m limit --limit 1/min --limit-burst 1 -j ACCEPT")
    f = field_facts("24-ipt-nft-quota", ("127.0.0.1",))[0]
    assert f["condition"] == "the 1000-byte quota of `-m quota --quota 1000` is used up"
    f = field_facts("27-nft-meta-skuid", ("127.0.0.1",))[0]
    assert f["condition"] == "the client runs as uid 65534 (nobody)"


def test_the_moment_settles_a_connection_limit() -> None:
    def world(open_now: int) -> conditions.World:
        return conditions.World(connections=lambda saddr, prefix, port: open_now)

    for name in ("21-ipt-nft-connlimit", "39-nft-ct-count-meter"):
        for open_now, now in ((2, "yes"), (1, "no")):
            facts = report.facts(field_tables(name, world(open_now)), ["127.0.0.1"],
                                 port_of(name), lambda: None)
            assert [(f["condition_kind"], f["condition_now"]) for f in facts] == [
                ("connlimit", now)], (name, open_now)
            assert f"({open_now} open now, `" in facts[0]["condition"]


def test_a_recent_list_without_the_address_does_not_block() -> None:
    def world(listing: str) -> conditions.World:
        return conditions.World(recent=lambda name: listing if name == "web" else None)

    name = "25-ipt-nft-recent"
    listed = ("src=127.0.0.1 ttl: 64 last_seen: 4295258048 oldest_pkt: 3 4295257526, "
              "4295257535, 4295258048\n")
    f = report.facts(field_tables(name, world(listed)), ["127.0.0.1"], 8025, lambda: None)[0]
    assert f["condition_now"] == "unknown" and "(there now with 3 packets; `" in f["condition"]
    assert f["condition_fix"] == "echo -127.0.0.1 | sudo tee /proc/net/xt_recent/web"
    f = report.facts(field_tables(name, world("")), ["127.0.0.1"], 8025, lambda: None)[0]
    assert f["condition_now"] == "no"


@pytest.mark.parametrize("credit,now", [(549755813888, "yes"), (8246337180000000, "no")])
def test_a_hashlimit_bucket_says_whether_the_next_syn_is_over(credit: int, now: str) -> None:
    listing = f"59 127.0.0.1:0->0.0.0.0:0 {credit} 8246337180000000 8246337180000000\n"
    world = conditions.World(hashlimit=lambda name, family: listing if name == "web" else None)
    f = report.facts(field_tables("23-ipt-nft-hashlimit", world), ["127.0.0.1"], 8023,
                     lambda: None)[0]
    assert (f["condition_kind"], f["condition_now"]) == ("hashlimit", now)


def test_an_owner_rule_is_tested_as_its_user() -> None:
    tried: list[tuple[int, int, str, int]] = []

    def connect_as(uid: int, gid: int, address: str, port: int) -> str:
        tried.append((uid, gid, address, port))
        return "refused"

    f = field_facts("26-ipt-nft-owner-uid", ("127.0.0.1",), connect_as)[0]
    assert tried == [(65534, -1, "127.0.0.1", 8026)]
    assert (f["tested_as"], f["tested"], f["condition_now"]) == ("uid 65534", "refused", "yes")
    # a cgroup rule cannot be tried this way
    tried.clear()
    f = field_facts("35-nft-socket-cgroupv2", ("127.0.0.1",), connect_as)[0]
    assert tried == [] and "tested" not in f


@pytest.mark.parametrize("name,me,applies", [
    ("35-nft-socket-cgroupv2", Me(0, frozenset({0}), "/fwfield-35"), True),
    ("35-nft-socket-cgroupv2", Me(0, frozenset({0}), "/fwfield-35/worker"), True),
    ("35-nft-socket-cgroupv2", Me(0, frozenset({0}), "/user.slice"), False),
    ("26-ipt-nft-owner-uid", Me(65534, frozenset({65534}), "/"), True),
    ("26-ipt-nft-owner-uid", Me(0, frozenset({0}), "/"), False),
])
def test_whether_a_rule_on_the_sender_holds_for_the_assistant(name: str, me: Me,
                                                               applies: bool) -> None:
    facts = report.facts(field_tables(name), ["127.0.0.1"], port_of(name), lambda: None, me=me)
    assert facts[0]["applies_here"] is applies


def test_frontends_only_when_they_are_there() -> None:
    """A chain named like fail2ban's, with no fail2ban to ask, gets raw commands."""
    name = "19-fail2ban-iptables-multiport"
    facts = report.facts(field_tables(name), ["127.0.0.1"], 8019, lambda: None,
                         here=lambda frontend: frontend != "fail2ban")
    assert "frontend" not in facts[0] and facts[0]["undo"].startswith("sudo iptables -D f2b-")


def test_ufw_loopback_accept_comes_before_its_deny() -> None:
    facts = field_facts("33-ufw-deny-port-lo-still-allowed", ("127.0.0.1",))
    assert [(f["type"], f["chain"], f["shadowed"]) for f in facts] == [
        ("firewall_pass", "ufw-before-output", "-A ufw-user-output -p tcp -m tcp --dport 8033 -j DROP"),
        ("firewall_pass", "ufw-before-input", "-A ufw-user-input -p tcp -m tcp --dport 8033 -j DROP")]


# --- hand-made rule sets ----------------------------------------------------------------

NFT = json.loads((DATA / "nft-ruleset.json").read_text())
IPT = (DATA / "iptables-save.txt").read_text()


def hits(tables: list[Table], addr: str, port: int) -> list[tuple[str, str, str]]:
    """The first block the packet meets (those behind it are tested on their own)."""
    return [(h.chain.name, h.verdict, h.rule.handle or str(h.rule.number) if h.rule else "policy")
            for h in walk(tables, addr, port).hits if h.behind is None]


@pytest.mark.parametrize("port,verdict", [
    (5555, "drop"),        # tcp dport 5555 drop
    (6005, "reject"),      # dport @blocked, a set with a range
    (6020, "reject"),      # the same set, a single element
    (8050, "drop"),        # a port range and a daddr prefix
])
def test_nft_input_rules(port: int, verdict: str) -> None:
    got = hits(nft.tables(NFT, NOWHERE), "127.0.0.1", port)
    assert got and got[0][:2] == ("input", verdict)


def test_nft_rule_matching_other_source_or_family_does_not_apply() -> None:
    t = nft.tables(NFT, NOWHERE)
    # 7000/7001 are rejected only from 127.0.0.2, and 9999 only for IPv6
    assert hits(t, "127.0.0.1", 7000) == [] and hits(t, "127.0.0.1", 9999) == []
    # for IPv6 the out6 policy drops it on the way out: the input rule never sees it
    assert hits(t, "::1", 9999) == [("out6", "drop", "policy")]


def test_nft_accept_before_drop_and_user_chains() -> None:
    t = nft.tables(NFT, NOWHERE)
    assert hits(t, "127.0.0.1", 4000) == []
    assert [h[:2] for h in hits(t, "127.0.0.1", 4001)] == [("dev", "drop")]


@pytest.mark.parametrize("port,expected", [
    (5555, [("INPUT", "drop", "1")]),    # nat PREROUTING never sees loopback: filter's rule
    (7001, [("INPUT", "reject", "2")]),  # multiport, tcp-reset
    (8080, [("INPUT", "drop", "3")]),    # range and daddr prefix
    (4001, [("DEV", "drop", "2")]),      # user chain
    (4000, []),                          # accepted in DEV first
    (3306, []),                          # negated source excludes loopback
    (2222, [("INPUT", "reject", "6")]),  # a comment with spaces
])
def test_iptables_save(port: int, expected: list[tuple[str, str, str]]) -> None:
    assert hits(iptables.tables(IPT, "iptables", NOWHERE), "127.0.0.1", port) == expected


def test_iptables_output_policy() -> None:
    t = iptables.tables("*filter\n:INPUT ACCEPT [0:0]\n:OUTPUT DROP [0:0]\nCOMMIT\n", "iptables",
                        NOWHERE)
    assert hits(t, "127.0.0.1", 80) == [("OUTPUT", "drop", "policy")]


def test_unknown_conditions_prove_nothing() -> None:
    doc = {"nftables": [
        {"table": {"family": "inet", "name": "t"}},
        {"chain": {"family": "inet", "table": "t", "name": "in", "type": "filter",
                   "hook": "input", "prio": 0, "policy": "accept"}},
        {"rule": {"family": "inet", "table": "t", "chain": "in", "handle": 1, "expr": [
            {"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "sport"}},
                       "right": 40000}}, {"drop": None}]}},
    ]}
    w = walk(nft.tables(doc, NOWHERE), "127.0.0.1", 40000)
    assert [(h.conditional, h.path[0].maybe.kind) for h in w.hits] == [(True, "unknown")]


@pytest.mark.parametrize("line,port,matched", [
    ("-A INPUT -p udp --dport 53 -j DROP", 53, False),
    ("-A INPUT -p tcp -m multiport --dports 80,443,8000:8100 -j DROP", 8050, True),
    ("-A INPUT -p tcp -m multiport ! --dports 80,443 -j DROP", 80, False),
    ("-A INPUT -m addrtype --dst-type LOCAL -j DROP", 1, True),
    ("-A INPUT -m addrtype --dst-type BROADCAST -j DROP", 1, False),
    ("-A INPUT -m iprange --src-range 127.0.0.1-127.0.0.9 -j DROP", 1, True),
    ("-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j DROP", 1, False),
    ("-A INPUT -m state --state NEW -j DROP", 1, True),
    ("-A INPUT -i eth+ -j DROP", 1, False),
    ("-A INPUT -i l+ -j DROP", 1, True),
    ("-A INPUT -p tcp --tcp-flags SYN,ACK ACK -j DROP", 1, False),
    ("-A INPUT -m mark --mark 0x1/0x1 -j DROP", 1, False),
    ("-A INPUT -m owner --uid-owner 0 -j DROP", 1, False),  # input packets carry no socket
    ("-A INPUT -m rpfilter --invert -j DROP", 1, False),
])
def test_iptables_matches(line: str, port: int, matched: bool) -> None:
    t = iptables.tables(f"*filter\n:INPUT ACCEPT [0:0]\n{line}\nCOMMIT\n", "iptables", NOWHERE)
    assert bool(walk(t, "127.0.0.1", port).hits) == matched


def test_a_redirect_in_nat_output_moves_the_port() -> None:
    text = ("*nat\n:OUTPUT ACCEPT [0:0]\n-A OUTPUT -o lo -p tcp --dport 80 -j REDIRECT "
            "--to-ports 8080\nCOMMIT\n*filter\n:INPUT ACCEPT [0:0]\n"
            "-A INPUT -p tcp --dport 8080 -j DROP\nCOMMIT\n")
    assert hits(iptables.tables(text, "iptables", NOWHERE), "127.0.0.1", 80) == [
        ("INPUT", "drop", "1")]


def doc(*items: dict[str, Any]) -> dict[str, Any]:
    """A hand-made `nft -j` document: one output and one input base chain in inet t."""
    base = [{"table": {"family": "inet", "name": "t"}},
            {"table": {"family": "bridge", "name": "b"}},
            {"chain": {"family": "bridge", "table": "b", "name": "in", "type": "filter",
                       "hook": "input", "prio": 0, "policy": "drop"}}]
    for hook in ("output", "input"):
        base.append({"chain": {"family": "inet", "table": "t", "name": hook, "type": "filter",
                               "hook": hook, "prio": 0, "policy": "accept"}})
    return {"nftables": base + list(items)}


def rule(chain: str, handle: int, *expr: dict[str, Any]) -> dict[str, Any]:
    return {"rule": {"family": "inet", "table": "t", "chain": chain, "handle": handle,
                     "expr": list(expr)}}


DPORT = {"payload": {"protocol": "tcp", "field": "dport"}}


def test_a_named_verdict_map_loses_only_its_element() -> None:
    d = doc({"map": {"family": "inet", "name": "pm", "table": "t", "type": "inet_service",
                     "map": "verdict", "elem": [[22, {"accept": None}], [3000, {"drop": None}]]}},
            rule("input", 8, {"vmap": {"key": DPORT, "data": "@pm"}}))
    facts = report.facts(nft.tables(d, NOWHERE), ["127.0.0.1", "::1"], 3000, lambda: None)
    assert [(f["rule"], f["undo"]) for f in facts] == [
        ("tcp dport vmap @pm", "sudo nft delete element inet t pm '{ 3000 }'")]


def test_a_set_of_groups_in_words_and_tested_with_one_of_them() -> None:
    d = doc(rule("output", 5, {"match": {"op": "==", "left": {"meta": {"key": "skgid"}},
                                         "right": {"set": [0, 65534]}}},
                 {"match": {"op": "==", "left": DPORT, "right": 8080}}, {"drop": None}))
    tried: list[tuple[int, int]] = []

    def connect_as(uid: int, gid: int, address: str, port: int) -> str:
        tried.append((uid, gid))
        return "timeout"

    f = report.facts(nft.tables(d, NOWHERE), ["127.0.0.1"], 8080, lambda: None, connect_as)[0]
    assert f["condition"] == "the client's gid is in { 0, 65534 }"
    assert tried == [(-1, 65534)] and f["tested"] == "timeout"


def test_bridge_and_arp_tables_never_see_a_loopback_packet() -> None:
    assert walk(nft.tables(doc(), NOWHERE), "::1", 80).hits == []


def test_netdev_devices_from_nft_text() -> None:
    """`nft -j` 1.0.6 leaves out the device of an ingress chain; its text has it."""
    text = ('table netdev n {\n\tchain c {\n\t\ttype filter hook ingress device "lo" priority '
            'filter; policy accept;\n\t}\n\n\tchain c2 {\n\t\ttype filter hook ingress devices = '
            '{ d0, lo } priority filter; policy accept;\n\t}\n\n\tchain c3 {\n\t\ttype filter '
            'hook egress device "eth0" priority filter; policy accept;\n\t}\n}\n')
    assert reader.devices(text) == {"c": ["lo"], "c2": ["d0", "lo"], "c3": ["eth0"]}


def test_a_rule_added_beside_ufw_is_not_ufws() -> None:
    """ufw's own rule for lo would come after a rule inserted into INPUT itself."""
    name = "28-ufw-lo-accept-removed"
    text = (FIELD / name / "iptables-save.txt").read_text().replace(
        "-A INPUT -j ufw-before-logging-input",
        "-A INPUT -p tcp -m tcp --dport 8028 -j DROP\n-A INPUT -j ufw-before-logging-input", 1)
    tables = reader.compat(nft.tables(json.loads((FIELD / name / "nft.json").read_text()),
                                      NOWHERE), [])
    tables = [t for t in tables if t.family != "ip"] + [
        t for t in iptables.tables(text, "iptables", NOWHERE) if t.name == "filter"]
    f = report.facts(tables, ["127.0.0.1"], 8028, lambda: None, here=lambda n: True)[0]
    assert (f["chain"], f["rule"], "frontend" in f) == (
        "INPUT", "-A INPUT -p tcp -m tcp --dport 8028 -j DROP", False)
