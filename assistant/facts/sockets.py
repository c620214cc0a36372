"""Listening TCP sockets: who listens on the target port, and near misses."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, NamedTuple

from assistant.addresses import family_of, is_ip, is_loopback, is_wildcard
from assistant.facts.registry import Context, Fact

# How a listener relates to the addresses the client dials, best first.
RELATIONS = ("accepts", "dual-stack", "other-address", "other-family")


class Listen(NamedTuple):
    """One listening socket, reduced from psutil's sconn or any other source."""

    address: str
    port: int
    family: int
    pid: int | None


def listen_table(ctx: Context) -> list[Listen]:
    """All listening TCP sockets of this machine (cached per diagnosis)."""

    def read() -> list[Listen]:
        import psutil

        rows = []
        for c in psutil.net_connections(kind="tcp"):
            if c.status != psutil.CONN_LISTEN or not c.laddr:
                continue
            addr = c.laddr.ip
            rows.append(Listen(addr, c.laddr.port, family_of(addr), c.pid))
        return rows

    return ctx.memo("listen_table", read)  # type: ignore[no-any-return]


def dial_addresses(ctx: Context) -> list[str]:
    """The addresses a client would dial for the target host."""
    parsed = ctx.target.parsed
    if parsed is None:
        return []
    if parsed.address:
        if parsed.wildcard:
            # Dialling 0.0.0.0 or :: reaches this host's loopback (Linux, macOS).
            return ["127.0.0.1" if parsed.family == 4 else "::1"]
        return [parsed.address]
    if parsed.kind != "name":
        return []
    # The client's own report of what it dialled beats our resolver: its
    # machine or library (Node's verbatim order) may resolve differently.
    quoted = [q for q in ctx.target.quoted if is_ip(q)]
    if quoted:
        return quoted
    from assistant.facts.resolve import resolve

    res = ctx.memo("resolve", lambda: resolve(parsed.text, ctx.target.port))
    return list(res.get("addresses", []))


def relation(listen_addr: str, listen_family: int, dials: Iterable[str], v6only: bool) -> str:
    """How a listener bound to `listen_addr` relates to the dialled addresses."""
    best = len(RELATIONS) - 1
    any_dial = False
    for dial in dials:
        any_dial = True
        dial_family = family_of(dial)
        if listen_addr == dial or is_wildcard(listen_addr) and listen_family == dial_family:
            rel = "accepts"
        elif is_wildcard(listen_addr) and listen_family == 6 and dial_family == 4:
            # `::` takes IPv4 too unless the socket set IPV6_V6ONLY, which
            # the socket table does not show: the probe settles it.
            rel = "other-family" if v6only else "dual-stack"
        elif listen_family == dial_family:
            rel = "other-address"
        else:
            rel = "other-family"
        best = min(best, RELATIONS.index(rel))
    return RELATIONS[best] if any_dial else "unknown"


def _bindv6only() -> bool:
    try:
        with open("/proc/sys/net/ipv6/bindv6only") as fh:
            return fh.read().strip() == "1"
    except OSError:
        return False


def listeners_from(table: Iterable[Listen], port: int, dials: list[str], v6only: bool,
                   describe: Any) -> list[Fact]:
    """Pure: listener facts for `port` from a socket table."""
    facts: list[Fact] = []
    seen: set[tuple[str, int | None]] = set()
    for row in table:
        if row.port != port or (row.address, row.pid) in seen:
            continue
        seen.add((row.address, row.pid))
        fact: Fact = {"type": "listener", "address": row.address, "port": row.port,
                      "family": row.family, "wildcard": is_wildcard(row.address),
                      "loopback": is_loopback(row.address),
                      "relation": relation(row.address, row.family, dials, v6only)}
        fact.update(describe(row.pid))
        facts.append(fact)
    return facts


def collect_listeners(ctx: Context) -> list[Fact]:
    from assistant.facts.procinfo import describe

    if ctx.target.port is None:
        return []
    return listeners_from(listen_table(ctx), ctx.target.port, dial_addresses(ctx),
                          _bindv6only(), describe)


def near_relation(asked: int, other: int) -> tuple[str, int] | None:
    """Whether `other` is a plausible slip for `asked`: digit, swap, offset."""
    a, b = str(asked), str(other)
    if a == b:
        return None
    if len(a) == len(b):
        diffs = [i for i in range(len(a)) if a[i] != b[i]]
        if len(diffs) == 1:
            return ("digit", 1)
        if len(diffs) == 2 and diffs[1] == diffs[0] + 1 and a[diffs[0]] == b[diffs[1]] \
                and a[diffs[1]] == b[diffs[0]]:
            return ("swap", 1)
    elif abs(len(a) - len(b)) == 1:
        longer, shorter = (a, b) if len(a) > len(b) else (b, a)
        if any(longer[:i] + longer[i + 1:] == shorter for i in range(len(longer))):
            return ("digit", 1)
    if abs(asked - other) <= 10:
        return ("offset", abs(asked - other))
    return None


def near_from(table: Iterable[Listen], port: int, describe: Any) -> list[Fact]:
    """Pure: near-miss listener facts for `port`."""
    facts: list[Fact] = []
    seen: set[tuple[int, int | None]] = set()
    port_token = re.compile(rf"(?<!\d){port}(?!\d)")
    for row in table:
        if row.port == port or (row.port, row.pid) in seen:
            continue
        rel = near_relation(port, row.port)
        info: dict[str, Any] | None = None
        if rel is None and row.pid:
            # The process was told to use the asked port (it is on its command
            # line) but listens elsewhere.
            info = describe(row.pid)
            if port_token.search(str(info.get("cmdline", ""))):
                rel = ("same-process", abs(port - row.port))
        if rel is None:
            continue
        seen.add((row.port, row.pid))
        fact: Fact = {"type": "near_listener", "address": row.address, "port": row.port,
                      "family": row.family, "relation": rel[0], "distance": rel[1]}
        info = info if info is not None else describe(row.pid)
        fact.update({k: v for k, v in info.items() if k in ("pid", "process", "cmdline", "user")})
        facts.append(fact)
    facts.sort(key=lambda f: (f["distance"], f["port"]))
    return facts[:10]


def collect_near(ctx: Context) -> list[Fact]:
    from assistant.facts.procinfo import describe

    if ctx.target.port is None:
        return []
    return near_from(listen_table(ctx), ctx.target.port, describe)
