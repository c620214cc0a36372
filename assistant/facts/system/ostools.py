"""macOS and Windows: listeners and settings from their own tools.

Used when psutil is not permitted (macOS lists other users' sockets only to
root) or fails. Each parser is a pure function from the tool's text to
rows, tested with recorded output; the thin readers run the tool through
run_command (fixed argv, timeout, no shell).
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass

from assistant.facts.system.run import run_command


@dataclass(frozen=True)
class Row:
    address: str
    port: int
    pid: int | None
    process: str | None = None
    user: str | None = None


def _split_addr(text: str) -> tuple[str, int] | None:
    """'127.0.0.1:80', '[::1]:80', '*:80', '127.0.0.1.80' (BSD netstat) -> (addr, port)."""
    text = text.strip()
    m = re.fullmatch(r"\[([0-9A-Fa-f:.%a-z]+)\]:(\d+)", text)
    if m:
        return m.group(1).split("%")[0], int(m.group(2))
    m = re.fullmatch(r"(\*|[0-9.]+|[0-9A-Fa-f:]+(?:%\w+)?):(\d+)", text)
    if m:
        addr = m.group(1)
        return ("0.0.0.0" if addr == "*" else addr.split("%")[0]), int(m.group(2))
    m = re.fullmatch(r"(\*|[0-9A-Fa-f:.%a-z]+)\.(\d+)", text)  # BSD: address.port
    if m:
        addr = m.group(1)
        return ("0.0.0.0" if addr == "*" else addr.split("%")[0]), int(m.group(2))
    return None


def parse_lsof(text: str) -> list[Row]:
    """`lsof -nP -iTCP -sTCP:LISTEN +c 0` (macOS, Linux); `+c 0`: whole command
    names (lsof cuts them at 9 characters: ControlCenter would be ControlCe)."""
    rows = []
    for line in text.splitlines()[1:]:
        f = line.split()
        if len(f) < 9 or "(LISTEN)" not in line:
            continue
        name = f[-2] if f[-1] == "(LISTEN)" else f[-1]
        where = _split_addr(name)
        if where is None or not f[1].isdigit():
            continue
        # lsof escapes spaces in command names as \x20
        rows.append(Row(where[0], where[1], int(f[1]), f[0].replace("\\x20", " "), f[2]))
    return rows


def parse_netstat_macos(text: str) -> list[Row]:
    """`netstat -anv -p tcp` (macOS): a `pid` column, or `process:pid` (macOS 14+);
    where it sits depends on the release, so the header says."""
    rows = []
    pid_col = None
    for line in text.splitlines():
        f = line.split()
        if f and f[0] == "Proto":
            # two-word headings are one column in the rows below
            names = line.replace("Local Address", "Local").replace(
                "Foreign Address", "Foreign").lower().split()
            pid_col = next((i for i, n in enumerate(names) if n in ("pid", "process:pid")), None)
            continue
        if len(f) < 6 or not f[0].startswith("tcp") or f[5] != "LISTEN":
            continue
        where = _split_addr(f[3])
        if where is None:
            continue
        pid, process = None, None
        if pid_col is not None and pid_col < len(f):
            tok = f[pid_col]
            m = re.fullmatch(r"(.+):(\d+)", tok)
            if m:
                process, pid = m.group(1), int(m.group(2))
            elif tok.isdigit():
                pid = int(tok)
        rows.append(Row(where[0], where[1], pid, process))
    return rows


def parse_netstat_windows(text: str) -> list[Row]:
    """`netstat -ano` (Windows)."""
    rows = []
    for line in text.splitlines():
        f = line.split()
        if len(f) == 5 and f[0] == "TCP" and f[3] == "LISTENING" and f[4].isdigit():
            where = _split_addr(f[1])
            if where:
                addr = "0.0.0.0" if where[0] == "0.0.0.0" else ("::" if where[0] == "::"
                                                                 else where[0])
                rows.append(Row(addr, where[1], int(f[4]),
                                "System" if f[4] == "4" else None))
    return rows


def parse_excluded_ranges(text: str) -> list[tuple[int, int]]:
    """`netsh int ipv4 show excludedportrange protocol=tcp` (Windows)."""
    out = []
    for line in text.splitlines():
        m = re.match(r"\s*(\d+)\s+(\d+)\s*\*?\s*$", line)
        if m:
            out.append((int(m.group(1)), int(m.group(2))))
    return out


def parse_socketfilterfw(text: str) -> bool | None:
    """`socketfilterfw --getglobalstate` (macOS): enabled, disabled, or unknown."""
    low = text.lower()
    if "enabled" in low or "state = 1" in low or "state = 2" in low:
        return True
    if "disabled" in low or "state = 0" in low:
        return False
    return None


# --- readers -------------------------------------------------------------------

def listeners(platform: str = "") -> list[Row]:
    """Listening sockets from the system's tools; raises OSError if none works."""
    platform = platform or sys.platform
    reasons: list[str] = []
    if platform == "win32":
        text, why = run_command(["netstat", "-ano"])
        if text is not None:
            return parse_netstat_windows(text)
        reasons.append(why or "netstat")
    else:
        text, why = run_command(["lsof", "-nP", "-iTCP", "-sTCP:LISTEN", "+c", "0"])
        if text is not None:
            return parse_lsof(text)
        reasons.append(why or "lsof")
        if platform == "darwin":
            text, why = run_command(["netstat", "-anv", "-p", "tcp"])
            if text is not None:
                return parse_netstat_macos(text)
            reasons.append(why or "netstat")
    raise OSError("; ".join(reasons))


def excluded_ranges() -> list[tuple[int, int]] | None:
    text, _ = run_command(["netsh", "int", "ipv4", "show", "excludedportrange", "protocol=tcp"])
    return None if text is None else parse_excluded_ranges(text)


def app_firewall_enabled() -> bool | None:
    text, _ = run_command(["/usr/libexec/ApplicationFirewall/socketfilterfw", "--getglobalstate"])
    return None if text is None else parse_socketfilterfw(text)
