"""Reading the kernel's small text files (/proc, /proc/sys): one reader for
the checks that each need a value or two, absent on other systems."""

from __future__ import annotations

import os


def read_text(path: str, limit: int = -1) -> str | None:
    """The file's text (at most `limit` characters), or None when it is
    absent or unreadable (another OS, another user's process, a sandbox)."""
    try:
        with open(path) as fh:
            return fh.read(limit)
    except OSError:
        return None


def all_pids() -> list[int]:
    """Every process this system lists in /proc ([] elsewhere)."""
    try:
        return [int(n) for n in os.listdir("/proc") if n.isdigit()]
    except OSError:
        return []
