"""How the system resolver answers for the target host name."""

from __future__ import annotations

from typing import TYPE_CHECKING

from assistant.facts.base import Collector, Context, Fact, FactType, Field, Summary
from assistant.facts.system.resolver import resolve

if TYPE_CHECKING:
    from assistant.understand.symptoms import Target

RESOLUTION = FactType("resolution", "The system resolver's answer for the host.", {
    "host": Field("str", "the host as written"),
    "status": Field("str", "how resolving went", ("ok", "literal", "timeout", "failed")),
    "has_v4": Field("bool", "an IPv4 address came back"),
    "has_v6": Field("bool", "an IPv6 address came back"),
    "addresses": Field("str", "the addresses, comma-separated, in the resolver's order",
                       example="::1, 127.0.0.1"),
    "error": Field("str", "the resolver's error"),
}, lambda f: f"{f.get('host')} resolves: {f.get('status')} {f.get('addresses', '')}".rstrip())


def collect(ctx: Context) -> list[Fact]:
    parsed = ctx.target.parsed
    if parsed is None:
        return []
    if parsed.address:
        return [{"type": "resolution", "host": parsed.text, "status": "literal",
                 "has_v4": parsed.family == 4, "has_v6": parsed.family == 6,
                 "addresses": parsed.address}]
    if parsed.kind != "name":
        return []
    res = ctx.memo("resolve", lambda: resolve(parsed.text, ctx.target.port))
    addrs = res["addresses"]
    return [{"type": "resolution", "host": parsed.text, "status": res["status"],
             "has_v4": any(":" not in a for a in addrs), "has_v6": any(":" in a for a in addrs),
             "addresses": ", ".join(addrs), "error": res.get("error")}]


def summarise(facts: list[Fact], target: Target) -> Summary:
    f = facts[0] if facts else {}
    if f.get("status") in ("ok", "literal"):
        return Summary("ok", f"{f.get('host')} -> {f.get('addresses')}")
    return Summary("problem", f"{f.get('host')} does not resolve: {f.get('error')}")


COLLECTOR = Collector("resolution", "The system resolver's answer for the host name.",
                      (RESOLUTION,), collect, summarise, timeout=3.0,
                      asks=lambda t: f"what does {t.host} resolve to?")
