"""Is the host a misspelling of a local name or address?"""

from __future__ import annotations

from assistant.addresses import near_local
from assistant.facts.registry import Context, Fact
from assistant.facts.resolve import read_hosts


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
        from assistant.facts.probe import local_addresses

        is_local = parsed.address in local_addresses()
    return host_facts(parsed.text, is_local, local_names)
