"""The packet-filter readers, on recorded `nft -j list ruleset` and
iptables-save output: which rule does a local SYN to a port hit?"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.facts.firewall.iptables import iptables_hits
from assistant.facts.firewall.nft import nft_hits
from assistant.facts.firewall.packet import Packet
from assistant.facts.firewall.reader import packets

DATA = Path(__file__).parent / "data"
NFT = json.loads((DATA / "nft-ruleset.json").read_text())
IPT = (DATA / "iptables-save.txt").read_text()


def nft(addr: str, port: int) -> list[tuple[str, str, str]]:
    return [(h.chain, h.verdict, h.rule) for p in packets(addr, port) for h in nft_hits(NFT, p)]


def ipt(addr: str, port: int) -> list[tuple[str, str, str]]:
    return [(h.chain, h.verdict, h.handle) for p in packets(addr, port)
            for h in iptables_hits(IPT, p, "iptables")]


@pytest.mark.parametrize("port,verdict", [
    (5555, "drop"),        # tcp dport 5555 drop
    (6005, "reject"),      # dport @blocked, a set with a range
    (6020, "reject"),      # the same set, a single element
    (8050, "drop"),        # a port range and a daddr prefix
])
def test_nft_input_rules(port: int, verdict: str) -> None:
    hits = nft("127.0.0.1", port)
    assert hits and hits[0][:2] == ("input", verdict)


def test_nft_rule_matching_other_source_or_family_does_not_apply() -> None:
    # 7000/7001 are rejected only from 127.0.0.2, and 9999 only for IPv6
    assert nft("127.0.0.1", 7000) == []
    assert nft("127.0.0.1", 9999) == []
    # for IPv6 the out6 policy drops first, and in6 would reject too
    assert sorted(h[1] for h in nft("::1", 9999)) == ["drop", "reject"]


def test_nft_accept_before_drop_and_user_chains() -> None:
    # 4000: accepted on lo before a later drop, in a jumped-to chain
    assert nft("127.0.0.1", 4000) == []
    # 4001: dropped inside the user chain the input chain jumps to
    assert [(c, v) for c, v, _ in nft("127.0.0.1", 4001)] == [("dev", "drop")]


def test_nft_output_policy() -> None:
    out = [h for p in packets("127.0.0.1", 1234) for h in nft_hits(NFT, p) if p.hook == "output"]
    assert out == []  # the output chain accepts lo before its drop policy
    v6 = [h for p in packets("::1", 1234) for h in nft_hits(NFT, p) if p.hook == "output"]
    assert [(h.chain, h.policy) for h in v6] == [("out6", True)]


@pytest.mark.parametrize("port,expected", [
    (5555, [("INPUT", "drop", "1")]),
    (7001, [("INPUT", "reject", "2")]),                 # multiport, tcp-reset
    (8080, [("INPUT", "drop", "3")]),                   # range and daddr prefix
    (4001, [("DEV", "drop", "2")]),                     # user chain
    (4000, []),                                         # accepted in DEV first
    (3306, []),                                         # negated source excludes loopback
    (2222, [("INPUT", "reject", "6")]),                 # a comment with spaces
])
def test_iptables_save(port: int, expected: list[tuple[str, str, str]]) -> None:
    assert ipt("127.0.0.1", port) == expected


def test_iptables_output_policy() -> None:
    text = "*filter\n:INPUT ACCEPT [0:0]\n:OUTPUT DROP [0:0]\nCOMMIT\n"
    hits = [h for p in packets("127.0.0.1", 80) for h in iptables_hits(text, p, "iptables")]
    assert [(h.chain, h.policy) for h in hits] == [("OUTPUT", True)]


def test_unknown_conditions_prove_nothing() -> None:
    doc = {"nftables": [
        {"chain": {"family": "inet", "table": "t", "name": "in", "type": "filter",
                   "hook": "input", "prio": 0, "policy": "accept"}},
        {"rule": {"family": "inet", "table": "t", "chain": "in", "handle": 1, "expr": [
            {"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "sport"}},
                       "right": 40000}}, {"drop": None}]}},
        {"rule": {"family": "inet", "table": "t", "chain": "in", "handle": 2, "expr": [
            {"match": {"op": "==", "left": {"socket": {"key": "transparent"}}, "right": 1}},
            {"drop": None}]}},
    ]}
    assert nft_hits(doc, Packet(4, "127.0.0.1", "127.0.0.1", 40000, "input")) == []
