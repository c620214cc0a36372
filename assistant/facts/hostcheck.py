"""Is the host a misspelling of a local name or address?"""

from __future__ import annotations

from typing import TYPE_CHECKING

from assistant.facts.base import Collector, Context, Fact, FactType, Field, Summary
from assistant.facts.system.resolver import read_hosts
from assistant.understand.addresses import near_local

if TYPE_CHECKING:
    from assistant.understand.symptoms import Target

HOST_CHECK = FactType("host_check", "The host is a slip for a local name or address.", {
    "host": Field("str", "the host as written", example="localhsot"),
    "suggestion": Field("str", "the local name or address it is near", example="localhost"),
    "distance": Field("int", "edits between them (a swap counts one)"),
    "reason": Field("str", "what kind of slip",
                    ("near-loopback-address", "near-local-name", "letter-for-digit")),
}, lambda f: f"{f.get('host')} looks like {f.get('suggestion')} ({f.get('reason')})")


def host_facts(host: str, is_local: bool, hosts_names: tuple[str, ...]) -> list[Fact]:
    """Pure: a host_check fact when `host` is near (not equal to) a local name."""
    if is_local:
        return []
    near = near_local(host, hosts_names)
    if near is None:
        return []
    return [{"type": "host_check", "host": host, "suggestion": near[0], "distance": near[1],
             "reason": near[2]}]


def collect(ctx: Context) -> list[Fact]:
    parsed = ctx.target.parsed
    if parsed is None:
        return []
    names = ctx.memo("hosts", lambda: read_hosts(ctx.hosts_path)) or {}
    local_names = tuple(n for n, addrs in names.items()
                        if any(a.startswith("127.") or a == "::1" for a in addrs))
    if parsed.kind == "name" and parsed.text.lower().rstrip(".") in local_names:
        return []
    is_local = parsed.loopback or parsed.wildcard
    if not is_local and parsed.address:
        from assistant.facts.system.resolver import local_addresses

        is_local = parsed.address in local_addresses()
    return host_facts(parsed.text, is_local, local_names)


def summarise(facts: list[Fact], target: Target) -> Summary:
    if not facts:
        return Summary("ok", f"{target.host} is not a near-miss of a local name")
    f = facts[0]
    return Summary("problem", f"{f['host']} looks like {f['suggestion']}")


COLLECTOR = Collector("host_check", "Whether the host is a misspelt local name or address.",
                      (HOST_CHECK,), collect, summarise, timeout=3.0,
                      asks=lambda t: f"is {t.host} a slip for a local name?")
