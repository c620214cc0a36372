"""Listening TCP sockets: who listens on the target port, and near misses."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, NamedTuple

from assistant.addresses import family_of, is_ip, is_loopback, is_wildcard
from assistant.facts import platform
from assistant.facts.registry import Context, Fact

# How a listener relates to the addresses the client dials, best first.
RELATIONS = ("accepts", "dual-stack", "other-address", "other-family")


class Listen(NamedTuple):
    """One listening socket, from /proc/net/tcp or psutil's connection table."""

    address: str
    port: int
    family: int
    pid: int | None
    inode: int = 0


class Source:
    """psutil everywhere: the whole connection table, pids included."""

    def __init__(self, ctx: Context):
        self.ctx = ctx

    def table(self) -> list[Listen]:
        def read() -> list[Listen]:
            import psutil

            try:
                return [Listen(c.laddr.ip, c.laddr.port, family_of(c.laddr.ip), c.pid)
                        for c in psutil.net_connections(kind="tcp")
                        if c.status == psutil.CONN_LISTEN and c.laddr]
            except (psutil.Error, PermissionError) as exc:
                if platform.system() not in ("darwin", "win32"):
                    raise
                # macOS shows other users' sockets to root only; its own tools
                # (lsof, netstat) list them without: the fallback the issue asks.
                from assistant.facts import oscmd

                try:
                    rows = oscmd.listeners(platform.system())
                except OSError as why:
                    raise PermissionError(f"{exc!r}; {why}") from None
                self.ctx.memo("os_names", lambda: {
                    r.pid: {"process": r.process, "user": r.user} for r in rows if r.pid})
                return [Listen(r.address, r.port, family_of(r.address), r.pid) for r in rows]

        return self.ctx.memo("listen_table", read)  # type: ignore[no-any-return]

    def with_pids(self, rows: list[Listen]) -> list[Listen]:
        return rows

    def describe(self, pid: int | None) -> dict[str, Any]:
        from assistant.facts.procinfo import describe

        info = describe(pid)
        # What the system's tools said when psutil could not ask the process.
        known = self.ctx.cache.get("os_names", {}).get(pid, {})
        for key, value in known.items():
            if value and not info.get(key):
                info[key] = value
        return info

    def mentioning(self, port: int) -> list[Listen]:
        """Listeners on other ports whose process's command line names `port`."""
        token = re.compile(rf"(?<!\d){port}(?!\d)")
        return [r for r in self.table() if r.pid and r.port != port
                and token.search(str(self.describe(r.pid).get("cmdline", "")))]


class ProcSource(Source):
    """Linux: listening rows from /proc/net/tcp{,6}; pids only for the rows
    a question needs, found by their socket inodes."""

    def table(self) -> list[Listen]:
        from assistant.facts import procfs

        return self.ctx.memo("listen_table", lambda: [  # type: ignore[no-any-return]
            Listen(a, p, f, None, i) for a, p, f, _, i in procfs.listeners()])

    def with_pids(self, rows: list[Listen]) -> list[Listen]:
        from assistant.facts import procfs

        found = procfs.pids_for_inodes(r.inode for r in rows)
        return [r._replace(pid=found.get(r.inode)) for r in rows]

    def describe(self, pid: int | None) -> dict[str, Any]:
        from assistant.facts import procfs

        return procfs.describe(pid)

    def mentioning(self, port: int) -> list[Listen]:
        from assistant.facts import procfs

        pids = procfs.pids_mentioning(str(port))
        if not pids:
            return []
        rows = [r for r in self.table() if r.port != port]
        owner = procfs.pids_for_inodes((r.inode for r in rows), pids)
        return [r._replace(pid=owner[r.inode]) for r in rows if r.inode in owner]


def source(ctx: Context) -> Source:
    """The Linux fast path when the kernel answers, psutil otherwise."""

    def pick() -> type[Source]:
        from assistant.facts import procfs

        if not procfs.available():
            return Source
        try:
            ProcSource(ctx).table()
            return ProcSource
        except OSError:
            return Source  # /proc hidden or restricted (a sandbox): psutil's way

    return ctx.memo("socket_source", pick)(ctx)  # type: ignore[no-any-return]


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
    if ctx.target.port is None:
        return []
    src = source(ctx)
    rows = src.with_pids([r for r in src.table() if r.port == ctx.target.port])
    return listeners_from(rows, ctx.target.port, dial_addresses(ctx), _bindv6only(), src.describe)


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


def near_from(table: Iterable[Listen], port: int, describe: Any,
              mentioning: set[int] | None = None) -> list[Fact]:
    """Pure: near-miss listener facts for `port`.

    `mentioning`: pids of processes whose command line names the asked port
    (told to use it, listening elsewhere: relation `same-process`).
    """
    facts: list[Fact] = []
    seen: set[tuple[int, int | None]] = set()
    for row in table:
        if row.port == port or (row.port, row.pid) in seen:
            continue
        rel = near_relation(port, row.port)
        if rel is None and row.pid and row.pid in (mentioning or set()):
            rel = ("same-process", abs(port - row.port))
        if rel is None:
            continue
        seen.add((row.port, row.pid))
        fact: Fact = {"type": "near_listener", "address": row.address, "port": row.port,
                      "family": row.family, "relation": rel[0], "distance": rel[1]}
        info = describe(row.pid)
        fact.update({k: v for k, v in info.items() if k in ("pid", "process", "cmdline", "user")})
        facts.append(fact)
    facts.sort(key=lambda f: (f["distance"], f["port"]))
    return facts[:10]


def collect_near(ctx: Context) -> list[Fact]:
    port = ctx.target.port
    if port is None:
        return []
    src = source(ctx)
    near = src.with_pids([r for r in src.table() if r.port != port and near_relation(port, r.port)])
    mentioned = src.mentioning(port)
    return near_from(near + [r for r in mentioned if r not in near], port, src.describe,
                     {r.pid for r in mentioned if r.pid})
