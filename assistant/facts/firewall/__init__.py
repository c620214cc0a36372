"""Linux packet filters: which rule drops or rejects the connection?

Reads `nft -j list ruleset` (nftables, and iptables-nft whose rules live
there too) and, for the legacy backend, `iptables-legacy-save` /
`ip6tables-legacy-save` (or `iptables-save` where no nft exists). Then walks
the client's SYN to the dialled address and port through the filter chains a
local connection crosses: output (leaving via lo) and input (arriving on
lo), following jumps, up to the chain policy. Conditions it cannot evaluate
make a rule "not proven" rather than a match: it names only rules that
certainly apply.

Every command has a fixed argument list and a timeout; none gets a shell.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from assistant.facts.base import Collector, Context, Fact, FactType, Field, Summary

if TYPE_CHECKING:
    from assistant.understand.symptoms import Target

FIREWALL = FactType("firewall", "A packet-filter rule (or chain policy) that drops or rejects "
                    "the connection.", {
    "source": Field("str", "the tool the rule was read with", ("nft", "iptables", "ip6tables")),
    "family": Field("int", "4 or 6", (4, 6)),
    "table": Field("str", "the table", example="inet filter"),
    "chain": Field("str", "the chain", example="input"),
    "verdict": Field("str", "what it does to the packet", ("drop", "reject")),
    "rule": Field("str", "the rule as text"),
    "handle": Field("str", "nft handle, or iptables rule number"),
    "policy": Field("bool", "it is the chain's policy, not a rule"),
    "port": Field("int", "the port"),
})


def collect(ctx: Context) -> list[Fact]:
    # The readers (subprocess, JSON, the walkers) load only when a rule asks.
    from assistant.facts.firewall.reader import collect as read

    return read(ctx)


def summarise(facts: list[Fact], target: Target) -> Summary:
    if not facts:
        return Summary("ok", f"no packet-filter rule drops or rejects port {target.port}")
    parts = [f"{f['source']} {f['table']} {f['chain']}: {f['rule']}" for f in facts[:3]]
    return Summary("problem", "blocked by " + "; ".join(parts))


COLLECTOR = Collector("firewall", "Linux packet-filter rules that drop or reject the connection.",
                      (FIREWALL,), collect, summarise, timeout=8.0,
                      asks=lambda t: f"does a firewall rule drop connections to {t.port}?")
