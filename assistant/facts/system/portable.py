"""Process details for a pid, degrading to what is permitted."""

from __future__ import annotations

import contextlib
from typing import Any

import psutil

from assistant.facts.system.linux import MAX_CMDLINE, STOPPED  # one definition for both
from assistant.understand.redact import clean


def describe(pid: int | None) -> dict[str, Any]:
    """name, cmdline, user, status for `pid`; missing fields when denied or gone."""
    if not pid:
        return {}
    out: dict[str, Any] = {"pid": pid}
    try:
        proc = psutil.Process(pid)
    except (psutil.NoSuchProcess, psutil.AccessDenied, ValueError):
        return out
    for key, getter in (("process", proc.name), ("user", proc.username), ("status", proc.status)):
        # AccessDenied, NoSuchProcess, ZombieProcess, unknown uid: leave it out.
        with contextlib.suppress(psutil.Error, OSError, KeyError):
            out[key] = getter()
    with contextlib.suppress(psutil.Error, OSError):
        # Command lines can carry passwords (`--password=...`): redact; whole.
        out["cmdline"] = clean(" ".join(proc.cmdline()))[:MAX_CMDLINE]
    out["stopped"] = out.get("status") in STOPPED
    return out
