"""Who listens on the target port, on which address, and whether that
address takes what the client dials."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from assistant.facts.base import Collector, Context, Fact, FactType, Field, Summary
from assistant.facts.system.socktable import Listen, bindv6only, dial_addresses, source
from assistant.understand.addresses import family_of, hostport, is_loopback, is_wildcard

if TYPE_CHECKING:
    from assistant.understand.symptoms import Target

# How a listener relates to the addresses the client dials, best first.
RELATIONS = ("accepts", "dual-stack", "other-address", "other-family")
Describe = Callable[[int | None], dict[str, Any]]

# Process fields every socket-holding fact shares (listener, near_listener).
PROCESS_FIELDS = {
    "pid": Field("int", "process id (absent when not visible to this user)", example=4242),
    "process": Field("str", "process name", example="node"),
    "cmdline": Field("str", "the whole command line (up to 64 KiB), credentials redacted; "
                     "reports show it shortened", example="python3 -m uvicorn app:main"),
    "user": Field("str", "the process's user (from the socket's owner when the process is "
                  "hidden)", example="postgres"),
    "uid": Field("int", "the socket owner's uid (Linux)", example=101),
    "mine": Field("bool", "the socket belongs to the user running the assistant"),
    "unit": Field("str", "the systemd service the process runs in (stop that, not the pid)",
                  example="postgresql@15-main.service"),
}


def process_words(f: Fact) -> str:
    """` pid 4242 (node)` for a trace line, or nothing when no pid is visible."""
    if not f.get("pid"):
        return ""
    return f" pid {f['pid']}" + (f" ({f['process']})" if f.get("process") else "")


def holder(f: Fact) -> str:
    """`node, pid 4242` for a finding, or that the process is not visible."""
    if not f.get("pid"):
        return "process not visible"
    return f"{f.get('process', '?')}, pid {f['pid']}"


LISTENER = FactType("listener", "A TCP socket listening on the target port.", {
    "address": Field("str", "the bound address", example="127.0.0.1"),
    "port": Field("int", "the port"),
    "family": Field("int", "4 or 6", (4, 6)),
    **PROCESS_FIELDS,
    "status": Field("str", "the process state", example="sleeping"),
    "stopped": Field("bool", "the process is stopped, traced, zombie or dead"),
    "wildcard": Field("bool", "bound to 0.0.0.0 or ::"),
    "loopback": Field("bool", "bound to a loopback address"),
    "relation": Field("str", "how the bound address relates to the dialled addresses",
                      (*RELATIONS, "unknown")),
}, lambda f: f"listener {hostport(f.get('address'), f.get('port'))}{process_words(f)}"
             + (f", {f['status']}" if f.get("status") else ""))


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


def listeners_from(table: Iterable[Listen], port: int, dials: list[str], v6only: bool,
                   describe: Describe) -> list[Fact]:
    """Pure: listener facts for `port` from a socket table."""
    facts: list[Fact] = []
    seen: set[tuple[str, int | None, int]] = set()
    for row in table:
        # One fact per process and address; sockets whose process is hidden
        # stay apart (two SO_REUSEPORT listeners of other users are two).
        key = (row.address, row.pid, 0 if row.pid else row.inode)
        if row.port != port or key in seen:
            continue
        seen.add(key)
        fact: Fact = {"type": "listener", "address": row.address, "port": row.port,
                      "family": row.family, "wildcard": is_wildcard(row.address),
                      "loopback": is_loopback(row.address),
                      "relation": relation(row.address, row.family, dials, v6only)}
        fact.update(describe(row.pid))
        facts.append(owned(fact, row.uid))
    return facts


def owned(fact: Fact, uid: int | None) -> Fact:
    """Add who owns the socket: its uid, the user's name (also when the process
    is hidden from us), and whether it is ours."""
    import os

    if uid is None:
        return fact
    from assistant.facts.system.linux import user_name

    fact["uid"] = uid
    fact.setdefault("user", user_name(uid))
    if hasattr(os, "getuid"):
        fact["mine"] = uid == os.getuid()
    return fact


def collect(ctx: Context) -> list[Fact]:
    if ctx.target.port is None:
        return []
    src = source(ctx)
    rows = src.with_pids([r for r in src.table() if r.port == ctx.target.port])
    return listeners_from(rows, ctx.target.port, dial_addresses(ctx), bindv6only(), src.describe)


def listening_ports(ctx: Context, limit: int = 8) -> list[tuple[int, str | None]]:
    """(port, process name) of what listens on this machine: choices for "which
    port?". The most recently started servers first (the one the user just
    started is the likely answer), development ports (1024 and up) before
    system ones."""
    src = source(ctx)
    rows = src.with_pids(list(src.table()))
    started: dict[int, float] = {}
    for r in rows:
        if r.pid and r.pid not in started:
            started[r.pid] = _start_time(r.pid)
    rows.sort(key=lambda r: (r.port < 1024, -started.get(r.pid or 0, 0.0), r.port))
    seen: dict[int, str | None] = {}
    for r in rows:
        if r.port not in seen and len(seen) < limit:
            seen[r.port] = src.describe(r.pid).get("process") if r.pid else None
    return list(seen.items())


def _start_time(pid: int) -> float:
    """When a process started (any clock; only the order matters), 0 if unknown."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            # fields after the command (which may hold spaces); starttime is field 22
            return float(fh.read().rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        pass
    import psutil

    try:
        return float(psutil.Process(pid).create_time())
    except (psutil.Error, OSError):
        return 0.0


def summarise(facts: list[Fact], target: Target) -> Summary:
    if not facts:
        return Summary("problem", f"nothing listens on port {target.port}")
    parts = [f"{hostport(f['address'], f['port'])} ({holder(f)}"
             + (f", {f['status']}" if f.get("status") else "") + ")" for f in facts]
    bad = any(f.get("stopped") for f in facts) or not any(
        f.get("relation") in ("accepts", "dual-stack", "unknown") for f in facts)
    return Summary("warning" if bad else "ok", "listening: " + "; ".join(parts))


COLLECTOR = Collector("listeners", "Listening sockets on the target port, with their processes.",
                      (LISTENER,), collect, summarise, timeout=3.0,
                      asks=lambda t: f"is anything listening on {t.port}?")
