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
    "hosts_path": Field("str", "the hosts file whose line gave an address (absent when none "
                        "did)", example="/etc/hosts"),
    "hosts_lineno": Field("int", "that line's number", example=12),
    "hosts_address": Field("str", "the address that line gives", example="127.0.0.2"),
    "hosts_line": Field("str", "that line, comments dropped", example="127.0.0.2 api.dev.test"),
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
    fact: Fact = {"type": "resolution", "host": parsed.text, "status": res["status"],
                  "has_v4": any(":" not in a for a in addrs),
                  "has_v6": any(":" in a for a in addrs),
                  "addresses": ", ".join(addrs), "error": res.get("error")}
    if addrs:
        fact.update(_from_hosts(ctx.hosts_path, parsed.text, addrs))
    return [fact]


def _from_hosts(path: str, host: str, addrs: list[str]) -> Fact:
    """The hosts-file line behind the answer, when one gave an address the
    resolver returned (a stale line sends a name to an old address: field
    trial 10's 127.0.0.2 api.dev.test)."""
    from assistant.facts.system.resolver import hosts_entry

    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            text = fh.read(1024 * 1024)
    except OSError:
        return {}
    found = hosts_entry(text, host)
    if found is None or found[1] not in addrs:
        return {}
    n, address, line = found
    return {"hosts_path": path, "hosts_lineno": n, "hosts_address": address, "hosts_line": line}


def summarise(facts: list[Fact], target: Target) -> Summary:
    f = facts[0] if facts else {}
    if f.get("status") in ("ok", "literal"):
        return Summary("ok", f"{f.get('host')} -> {f.get('addresses')}")
    return Summary("problem", f"{f.get('host')} does not resolve: {f.get('error')}")


COLLECTOR = Collector("resolution", "The system resolver's answer for the host name.",
                      (RESOLUTION,), collect, summarise, timeout=3.0,
                      asks=lambda t: f"what does {t.host} resolve to?")
