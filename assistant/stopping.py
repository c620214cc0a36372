"""The chat's "kill it": which process holds the port, whether stopping it
is something to offer at all, and stopping it after an explicit yes.

The assistant sends a signal only here, only to the pid it showed the user,
only after the user said yes to that pid, and only when the process is still
the one shown (same name and start time: a pid reused since is left alone).
It never runs a command the user pasted, never uses sudo, and never offers
to stop a port forwarder, a system service, pid 1 or 4, or itself.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass
from typing import Any

from assistant.facts.services import FORWARDERS
from assistant.facts.system import processes
from assistant.report import Report

# The system's own holders of well-known ports (macOS, Windows): the same
# names as the `system_holders` list of rules/platforms.yaml (a test keeps
# them equal).
SYSTEM_HOLDERS = ("ControlCenter", "AirPlayXPCHelper", "System", "svchost.exe", "lsass.exe",
                  "wininit.exe")
FIRST_SYSTEM_UID, FIRST_USER_UID = 1, 1000  # 1..999: system accounts (daemons)
WAIT = 3.0  # seconds to wait for a process to exit after SIGTERM


@dataclass
class Holder:
    """A process holding the diagnosed port, as the diagnosis saw it."""

    pid: int
    name: str
    port: int | None
    address: str | None = None
    user: str | None = None
    cmdline: str | None = None
    unit: str | None = None
    mine: bool | None = None


def holders(report: Report) -> list[Holder]:
    """The processes listening on the report's port (only those: a process the
    diagnosis names on a near port is not the one holding this port)."""
    port = report.target.get("port")
    found: dict[int, Holder] = {}
    for f in report.findings:
        if f.check != "listeners":
            continue
        for fact in f.data.get("facts", []):
            if fact.get("pid") and fact["pid"] not in found:
                found[fact["pid"]] = _holder(fact, port)
    return list(found.values())


def hidden_holder(report: Report) -> bool:
    """Something listens on the port, but its process is not visible to this user."""
    return any(not fact.get("pid") for f in report.findings if f.check == "listeners"
               for fact in f.data.get("facts", []))


def _holder(fact: dict[str, Any], port: int | None) -> Holder:
    return Holder(fact["pid"], str(fact.get("process") or "?"), port, fact.get("address"),
                  fact.get("user"), fact.get("cmdline"), fact.get("unit"), fact.get("mine"))


def refusal(h: Holder, me: int | None = None) -> str | None:
    """Why stopping this process is not offered, or None when it may be."""
    me = os.getpid() if me is None else me
    if h.pid in (1, 4) or h.name == "System":
        return (f"pid {h.pid} ({h.name}) is part of the operating system: stopping it would "
                "take the whole machine down. Start your server on another port instead.")
    if h.name in FORWARDERS:
        return (f"{h.name} (pid {h.pid}) forwards the port to a container or VM: killing it "
                "breaks the container's networking and frees nothing for long. Stop or "
                "re-publish the container instead (docker ps shows which one).")
    if h.name in SYSTEM_HOLDERS:
        return (f"{h.name} (pid {h.pid}) is a system process, not a stale server. Turn off the "
                "feature that uses the port, or start your server on another port.")
    if h.unit:
        return (f"{h.name} (pid {h.pid}) runs as the system service {h.unit}: killing the pid "
                f"would only make systemd start it again. Stop the service instead: "
                f"sudo systemctl stop {h.unit}")
    ident = processes.identity(h.pid)
    if ident is not None and ident.unit:
        return (f"{h.name} (pid {h.pid}) runs as the system service {ident.unit}: stop the "
                f"service instead: sudo systemctl stop {ident.unit}")
    if h.pid in processes.ancestors(me):
        return (f"pid {h.pid} ({h.name}) is this assistant or the shell that runs it: "
                "leave the chat first (Ctrl-D).")
    if ident is not None and ident.uid is not None and \
            FIRST_SYSTEM_UID <= ident.uid < FIRST_USER_UID and ident.uid != _uid():
        return (f"{h.name} (pid {h.pid}) runs as the system account {ident.user}: it is a "
                "service, so stop it through its service manager rather than by pid.")
    return None


def needs_sudo(h: Holder) -> str | None:
    """Why this user cannot stop it (another user's process), with the command
    that would, or None when this user may signal it."""
    uid = _uid()
    if uid in (None, 0):
        return None  # root (or Windows): the signal itself says whether it may
    ident = processes.identity(h.pid)
    if ident is None or ident.uid is None or ident.uid == uid:
        return None
    return (f"{h.name} (pid {h.pid}) runs as {ident.user}, not as you, so I cannot stop it: "
            f"only its owner or root can. If you are sure it is safe to stop, run it "
            f"yourself: sudo kill {h.pid}")


def offer(h: Holder) -> str:
    """The confirmation question, naming exactly what would be stopped."""
    who = f", user {h.user}" if h.user else ""
    cmd = f": {h.cmdline[:80]}" if h.cmdline else ""
    where = f" on port {h.port}" if h.port else ""
    return (f"Stop {h.name} (pid {h.pid}{who}{cmd}) listening{where}? It gets SIGTERM, a polite "
            "request to exit (unsaved work in it may be lost).")


def stop(h: Holder, seen: processes.Identity | None, wait: float = WAIT) -> str:
    """Send SIGTERM to the process shown, if it is still that process; say how it went."""
    now = processes.identity(h.pid)
    if now is None:
        return f"{h.name} (pid {h.pid}) is not running any more: nothing to stop."
    if seen is not None and (now.name, now.started) != (seen.name, seen.started):
        return (f"pid {h.pid} is now a different process ({now.name}): I left it alone. "
                "Ask again to see who holds the port now.")
    try:
        os.kill(h.pid, signal.SIGTERM)
    except PermissionError:
        return (f"Not allowed to stop {h.name} (pid {h.pid}): it belongs to another user. "
                f"If you are sure, run: sudo kill {h.pid}")
    except ProcessLookupError:
        return f"{h.name} (pid {h.pid}) had already exited."
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if _gone(h.pid, now):
            where = f": port {h.port} is free now" if h.port else ""
            return f"Stopped {h.name} (pid {h.pid}){where}."
        time.sleep(0.05)
    return (f"{h.name} (pid {h.pid}) got SIGTERM but is still running after {wait:g} s. "
            f"It may be shutting down slowly; `kill -9 {h.pid}` forces it (no clean-up).")


def _gone(pid: int, was: processes.Identity) -> bool:
    now = processes.identity(pid)
    if now is None or now.started != was.started:
        return True
    try:  # a zombie child of ours is gone for the port's sake
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def _uid() -> int | None:
    return os.getuid() if hasattr(os, "getuid") else None
