"""Who a process is, for the chat's "kill it": name, owner, start time and
parent. Read again just before a signal is sent, so a pid that was reused
by another program since the diagnosis is never signalled.

/proc on Linux (its text parsed by pure functions), psutil elsewhere.
"""

from __future__ import annotations

import os
from typing import NamedTuple

from assistant.facts.system.linux import service_unit, user_name


class Identity(NamedTuple):
    pid: int
    name: str | None
    uid: int | None
    user: str | None
    started: float | None  # any clock; equal values mean the same process
    ppid: int | None
    unit: str | None  # the systemd system service it runs in


def parse_stat(text: str) -> tuple[int, float] | None:
    """Pure: (ppid, start time in clock ticks) from /proc/PID/stat. The command
    name may hold spaces and parentheses, so fields are counted after its last ')'."""
    try:
        rest = text.rsplit(")", 1)[1].split()
        return int(rest[1]), float(rest[19])
    except (IndexError, ValueError):
        return None


def parse_uid(status: str) -> int | None:
    """Pure: the real uid from /proc/PID/status."""
    for line in status.splitlines():
        if line.startswith("Uid:"):
            try:
                return int(line.split()[1])
            except (IndexError, ValueError):
                return None
    return None


def identity(pid: int) -> Identity | None:
    """The process now, or None when no process has that pid."""
    if pid <= 0:
        return None
    base = f"/proc/{pid}"
    if os.path.isdir("/proc/self"):
        try:
            with open(f"{base}/stat") as fh:
                stat = parse_stat(fh.read())
            with open(f"{base}/status") as fh:
                status = fh.read(4096)
        except OSError:
            return None
        name = next((ln.split(":", 1)[1].strip() for ln in status.splitlines()
                     if ln.startswith("Name:")), None)
        uid = parse_uid(status)
        return Identity(pid, name, uid, user_name(uid) if uid is not None else None,
                        stat[1] if stat else None, stat[0] if stat else None, service_unit(pid))
    return _portable(pid)


def _portable(pid: int) -> Identity | None:
    import psutil

    try:
        proc = psutil.Process(pid)
        with proc.oneshot():
            uid = proc.uids().real if hasattr(proc, "uids") else None
            return Identity(pid, proc.name(), uid, proc.username(), proc.create_time(),
                            proc.ppid(), None)
    except (psutil.Error, OSError):
        return None


def ancestors(pid: int, limit: int = 64) -> list[int]:
    """`pid`, its parent, its parent's parent ... up to pid 1."""
    out: list[int] = []
    while pid > 0 and pid not in out and len(out) < limit:
        out.append(pid)
        found = identity(pid)
        if found is None or found.ppid is None:
            break
        pid = found.ppid
    return out
