"""The commands that list, remove or get around a blocking rule, for the
tool, table, family and hook it came from: nft for nftables chains,
`iptables-legacy` for legacy rules, `ip6tables` for IPv6 ones, and a
loopback accept that names the right interface for the hook (an output
chain never sees an input interface)."""

from __future__ import annotations

import shlex
from typing import NamedTuple

from assistant.facts.firewall.model import RECEIVING, Table
from assistant.facts.firewall.walk import Hit

# Matches whose iptables-save text `-D` takes back as it is (tried with
# iptables 1.8.9); for any other, the rule is deleted by its number.
ROUND_TRIP = {"tcp", "udp", "icmp", "icmp6", "multiport", "conntrack", "state", "comment",
              "addrtype", "iprange", "mark", "connmark", "limit", "hashlimit", "connlimit",
              "quota", "owner", "set", "recent", "mac", "pkttype", "length", "time"}


def _spec(spec: str) -> str | None:
    """The rule as `-D` takes it, or None when only its number is safe."""
    tokens = shlex.split(spec)
    modules = {tokens[i + 1] for i, t in enumerate(tokens[:-1]) if t in ("-m", "--match")}
    if not modules <= ROUND_TRIP:
        return None
    if "recent" in modules:
        # an explicit default `--mask` makes -D miss the rule (iptables 1.8.9)
        for i, t in enumerate(tokens[:-1]):
            if t == "--mask" and tokens[i + 1] in ("255.255.255.255", "ffff:ffff:ffff:ffff:"
                                                   "ffff:ffff:ffff:ffff"):
                del tokens[i:i + 2]
                break
    return shlex.join(tokens)


class Fixes(NamedTuple):
    undo: str           # "" when there is nothing to take back (a policy)
    undo_why: str
    bypass: str
    show: str


def _table(t: Table) -> str:
    return "" if t.name == "filter" else f"-t {t.name} "


def loopback(t: Table, hook: str) -> str:
    """The match for loopback traffic in a chain on `hook`."""
    incoming = hook in RECEIVING
    if t.syntax == "nft":
        return "iifname lo" if incoming else "oifname lo"
    return "-i lo" if incoming else "-o lo"


def fixes(hit: Hit) -> Fixes:
    t = hit.table
    lo = loopback(t, hit.hook)
    if t.syntax == "nft":
        return _nft(hit, lo)
    chain = hit.chain.name
    show = f"sudo {t.tool} {_table(t)}-S {chain}"
    bypass = f"sudo {t.tool} {_table(t)}-I {chain} 1 {lo} -j ACCEPT"
    if hit.rule is None:
        return Fixes("", "", bypass, show)
    spec = _spec(hit.rule.spec)
    undo = f"sudo {t.tool} {_table(t)}-D {chain} {spec if spec else hit.rule.number}"
    return Fixes(undo, "remove the rule (if it is yours to remove)", bypass, show)


def _nft(hit: Hit, lo: str) -> Fixes:
    t, chain = hit.table, hit.chain.name
    show = f"sudo nft -a list chain {t.label} {chain}"
    bypass = f"sudo nft insert rule {t.label} {chain} {lo} accept"
    rule, d = hit.rule, hit.decision
    if rule is None:
        return Fixes("", "", bypass, show)
    sets = {name for name, _ in d.via} if d else set()
    if d and len(sets) == 1:
        name, elem = d.via[0]
        return Fixes(f"sudo nft delete element {t.label} {name} {shlex.quote('{ ' + elem + ' }')}",
                     f"take {elem} out of the set {name} (the rule stays)", bypass, show)
    if d and d.vmap_index >= 0 and rule.without is not None:
        rest = rule.without(d.vmap_index)
        if "vmap {  }" not in rest:
            return Fixes(f"sudo nft replace rule {t.label} {chain} handle {rule.handle} "
                         f"{shlex.quote(rest)}",
                         "the same verdict map without the element that drops this port",
                         bypass, show)
    return Fixes(f"sudo nft delete rule {t.label} {chain} handle {rule.handle}",
                 "remove the rule (if it is yours to remove)", bypass, show)
