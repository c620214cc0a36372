"""Application servers told to listen on a UNIX socket instead of a TCP port.

`gunicorn --bind unix:/tmp/app.sock`, `uvicorn --uds /tmp/app.sock`, a Node
server's `listen('/tmp/app.sock')`: behind nginx that is the usual setup,
and a developer who then curls 127.0.0.1:8000 finds nothing listening. The
server is running, on a path. Found without scanning anything: the kernel's
table of listening UNIX sockets (/proc/net/unix), the command lines that
name one of those paths, and the socket inodes such a process holds.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from assistant.facts.base import Collector, Context, Fact, FactType, Field, Summary

if TYPE_CHECKING:
    from assistant.understand.symptoms import Target

# Programs that serve HTTP (or an app protocol) on a socket they are told to
# use; a daemon that keeps its own socket (dockerd, dbus, redis) is not one.
APP_SERVERS = (b"gunicorn", b"uvicorn", b"hypercorn", b"daphne", b"waitress", b"granian",
               b"puma", b"unicorn", b"node", b"deno", b"bun", b"php", b"flask", b"django",
               b"rails", b"next", b"vite")
MAX_SERVERS = 3
MAX_CMDLINE = 8192

UNIX_SERVER = FactType("unix_server", "An application server listening on a UNIX socket that "
                       "its command line names.", {
    "path": Field("str", "the socket's path", example="/tmp/app.sock"),
    "pid": Field("int", "the process holding it"),
    "process": Field("str", "its name", example="gunicorn"),
    "cmdline": Field("str", "its command line (redacted)"),
    "user": Field("str", "the account it runs as"),
    "mine": Field("bool", "it runs as the user who runs the assistant"),
}, lambda f: f"{f.get('process')} (pid {f.get('pid')}) listens on the UNIX socket {f.get('path')}")


def named_paths(cmdline: bytes, paths: list[str]) -> list[str]:
    """Pure: the listening paths an app server's command line names."""
    low = cmdline.lower()
    if not any(name in low for name in APP_SERVERS):
        return []
    return [p for p in paths if p.encode() in cmdline]


def _cmdline(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read(MAX_CMDLINE).replace(b"\0", b" ")
    except OSError:
        return b""


def collect(ctx: Context) -> list[Fact]:
    from assistant.facts.system import linux, unix
    from assistant.facts.system.procfs import all_pids

    if not linux.available():
        return [{"type": "unknown", "reason": "the UNIX socket table is read on Linux only"}]
    rows = unix.table() or []
    listening = {r.path: r.inode for r in rows if r.listening and r.inode}
    if not listening:
        return []
    paths = sorted(listening)
    wanted: dict[int, list[str]] = {}
    for pid in all_pids():
        named = named_paths(_cmdline(pid), paths)
        if named:
            wanted[pid] = named
    facts: list[Fact] = []
    me = os.getuid()
    seen: set[str] = set()
    # Lowest pid first: a pre-forking server's master, not its workers, which
    # inherit the same socket and command line.
    for pid, named in sorted(wanted.items()):
        held = linux.pids_for_inodes([listening[p] for p in named], [pid])
        for path in named:
            if listening[path] not in held or path in seen:
                continue  # named on the command line, held by another process
            seen.add(path)
            info = linux.describe(pid)
            uid = _uid(pid)
            facts.append({"type": "unix_server", "path": path, "pid": pid,
                          "process": info.get("process", "?"),
                          "cmdline": info.get("cmdline", ""), "user": info.get("user", "?"),
                          "mine": uid == me})
            if len(facts) >= MAX_SERVERS:
                return facts
    return facts


def _uid(pid: int) -> int | None:
    try:
        return os.stat(f"/proc/{pid}").st_uid
    except OSError:
        return None


def summarise(facts: list[Fact], target: Target) -> Summary:
    if not facts:
        return Summary("ok", "no web app server (gunicorn, uvicorn, a node app...) listens on a "
                       "UNIX socket")
    return Summary("problem", "; ".join(UNIX_SERVER.describe(f) for f in facts))


COLLECTOR = Collector("unix_servers", "Application servers listening on a UNIX socket their "
                      "command line names (gunicorn --bind unix:PATH, uvicorn --uds PATH).",
                      (UNIX_SERVER,), collect, summarise, timeout=3.0,
                      asks=lambda t: "does the server listen on a UNIX socket instead?")
