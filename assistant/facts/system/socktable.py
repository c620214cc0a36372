"""The listening-socket table and the addresses a client would dial.

Two sources behind one interface: on Linux the kernel's own tables
(sock_diag netlink or /proc/net/tcp, pids looked up only for the rows a
question needs), elsewhere psutil, with the OS tools when psutil is refused.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, NamedTuple

from assistant.facts.system import platform
from assistant.understand.addresses import family_of, is_ip

if TYPE_CHECKING:
    from assistant.facts.base import Context


class Listen(NamedTuple):
    """One listening socket, from /proc/net/tcp or psutil's connection table."""

    address: str
    port: int
    family: int
    pid: int | None
    inode: int = 0
    uid: int | None = None


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
                # (lsof, netstat) list them without.
                from assistant.facts.system import ostools

                try:
                    rows = ostools.listeners(platform.system())
                except OSError as why:
                    raise PermissionError(f"{exc!r}; {why}") from None
                self.ctx.memo("os_names", lambda: {
                    r.pid: {"process": r.process, "user": r.user} for r in rows if r.pid})
                return [Listen(r.address, r.port, family_of(r.address), r.pid) for r in rows]

        rows: list[Listen] = self.ctx.memo("listen_table", read)
        return rows

    def with_pids(self, rows: list[Listen]) -> list[Listen]:
        return rows

    def describe(self, pid: int | None) -> dict[str, Any]:
        from assistant.facts.system.portable import describe

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
    """Linux: listening rows from the kernel; pids only for the rows a
    question needs, found by their socket inodes."""

    def table(self) -> list[Listen]:
        from assistant.facts.system import linux

        rows: list[Listen] = self.ctx.memo("listen_table", lambda: [
            Listen(a, p, f, None, i, u) for a, p, f, u, i in linux.listeners()])
        return rows

    def with_pids(self, rows: list[Listen]) -> list[Listen]:
        from assistant.facts.system import linux

        found = linux.pids_for_inodes(r.inode for r in rows)
        return [r._replace(pid=found.get(r.inode)) for r in rows]

    def describe(self, pid: int | None) -> dict[str, Any]:
        from assistant.facts.system import linux

        return linux.describe(pid)

    def mentioning(self, port: int) -> list[Listen]:
        from assistant.facts.system import linux

        pids = linux.pids_mentioning(str(port))
        if not pids:
            return []
        rows = [r for r in self.table() if r.port != port]
        owner = linux.pids_for_inodes((r.inode for r in rows), pids)
        return [r._replace(pid=owner[r.inode]) for r in rows if r.inode in owner]


def source(ctx: Context) -> Source:
    """The Linux fast path when the kernel answers, psutil otherwise."""

    def pick() -> type[Source]:
        from assistant.facts.system import linux

        if not linux.available():
            return Source
        try:
            ProcSource(ctx).table()
            return ProcSource
        except OSError:
            return Source  # /proc hidden or restricted (a sandbox): psutil's way

    kind: type[Source] = ctx.memo("socket_source", pick)
    return kind(ctx)


def dial_addresses(ctx: Context) -> list[str]:
    """The addresses a client would dial for the target host."""
    if ctx.target.dial:
        return list(ctx.target.dial)
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
    from assistant.facts.system.resolver import resolve

    res = ctx.memo("resolve", lambda: resolve(parsed.text, ctx.target.port))
    return list(res.get("addresses", []))


def bindv6only() -> bool:
    """Whether `::` listeners refuse IPv4 by default (net.ipv6.bindv6only)."""
    try:
        with open("/proc/sys/net/ipv6/bindv6only") as fh:
            return fh.read().strip() == "1"
    except OSError:
        return False
