"""A linter for the commands the assistant prints: what a user pastes must work.

Each check stands for a way a printed command failed a user or misled one
(issue 17): a grep or findstr for port 3000 that also matches 30000, netstat
-p tcp hiding the IPv6 listener, `&&` in Windows PowerShell 5.1, ss -p or
lsof without sudo showing nothing of another user's process, a bind to every
interface without a word, an `export NO_PROXY=...` that drops the user's own
exceptions. Filters are not judged by their text: grep, findstr and
Select-String patterns are run on sample lines in the tools' own output
formats, with the port and with longer numbers that contain it.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass

# Windows cannot run these; a Linux or macOS line (os linux, macos) must hold them.
POSIX_ONLY = {"grep", "sudo", "export", "unset", "env", "kill", "ss", "lsof", "ps", "ls", "id",
              "getent", "systemctl", "readlink", "tee", "echo", "tail", "nc", "namei", "newgrp"}
NOT_ON_MACOS = {"ss", "ip", "systemctl", "journalctl", "getent", "nstat", "namei", "service"}
WARNING = re.compile(r"every (interface|network)|other (machines|devices)", re.I)
ELEVATED = re.compile(r"administrator|elevated", re.I)
LOOPBACK = re.compile(r"127\.0\.0\.1|::1|loopback")
NEEDS_ADMIN = re.compile(
    r"^net (stop|start)\b|^sc(\.exe)? (stop|start|config)\b|^(Stop|Start|Restart)-Service\b"
    r"|^netsh (int|interface|http|advfirewall)\b.*\b(add|delete|set|reset)\b|^New-NetFirewallRule"
    r"|^(Set|Remove)-NetFirewall|^setx\b.*\s/M\b|^notepad\b.*drivers\\etc\\hosts", re.I)
# A bind or publish on every interface.
EXPOSES = re.compile(r"0\.0\.0\.0|'::'|\(or ::\)|(^|\s)-p\s+\d+:\w+|--publish[= ]\d+:\w+")
APPEND_ONLY = ("NO_PROXY", "no_proxy", "PATH")
# Tools that only read: an address in their arguments is a filter, not a bind.
READ_ONLY = {"netstat", "findstr", "grep", "ss", "lsof", "Select-String", "Get-NetTCPConnection",
             "Sort-Object", "Where-Object", "Select-Object"}


@dataclass(frozen=True)
class Fix:
    os: str
    command: str
    why: str = ""


def pipeline(command: str) -> list[list[str]]:
    """The command's segments (split at |, ;, && and ||), each as words."""
    out = []
    for part in re.split(r"\|\||&&|[|;]", command):
        try:
            words = shlex.split(part)
        except ValueError:
            words = part.split()
        if words and words[0] == "sudo":
            words = words[1:]
        if words:
            out.append(words)
    return out


# --- filters run on sample output ---------------------------------------------

def samples(port: str) -> list[str]:
    """One line each in the formats of ss, lsof, macOS netstat, Windows netstat,
    docker/podman ps and Get-NetTCPConnection, holding `port` as a local port."""
    p = port
    return [f"LISTEN 0      4096   0.0.0.0:{p}    0.0.0.0:*  TIME-WAIT",
            f"node    4242 dev   21u  IPv4 0x1      0t0  TCP 127.0.0.1:{p} (LISTEN)",
            f"tcp4       0      0  *.{p}                  *.*                    LISTEN TIME_WAIT",
            f"  TCP    [::1]:{p}              [::]:0                 LISTENING       8844",
            f"web  0.0.0.0:{p}->80/tcp, [::]:{p}->80/tcp",
            f"::1            {p}     ::             0          Listen       8844"]


def _grep(words: list[str]) -> re.Pattern[str] | None:
    mode, flags, pattern, whole = "basic", 0, None, False
    it = iter(words[1:])
    for w in it:
        if w == "-e":
            pattern = next(it, None)
        elif w.startswith("-") and len(w) > 1 and pattern is None:
            mode = "fixed" if "F" in w else "extended" if "E" in w else mode
            flags |= re.I if "i" in w else 0
            whole = whole or "w" in w
        elif pattern is None:
            pattern = w
    if pattern is None:
        return None
    if mode == "fixed":
        rx = re.escape(pattern)
    elif mode == "basic":  # BRE: + ? ( ) { } | are literal unless escaped
        rx = re.sub(r"\\([(){}|+?])|([(){}|+?])",
                    lambda m: m.group(1) or "\\" + (m.group(2) or ""), pattern)
    else:
        rx = pattern
    return re.compile(rf"\b{rx}\b" if whole else rx, flags)


def _findstr(words: list[str]) -> re.Pattern[str] | None:
    literal, flags, strings = False, 0, []
    for w in words[1:]:
        up = w.upper()
        if up.startswith("/C:"):
            strings.append(w[3:])
        elif up == "/L":
            literal = True
        elif up == "/I":
            flags |= re.I
        elif not w.startswith("/"):
            strings += w.split()  # without /C:, each word is a search string
    if not strings:
        return None
    # findstr's regex is its own (. * [] ^ $); literal text matches itself.
    parts = [re.escape(s) if literal or not re.search(r"[.*\[\]^$\\]", s) else s
             for s in strings]
    return re.compile("|".join(parts), flags)


def _select_string(words: list[str]) -> re.Pattern[str] | None:
    simple = any(w.lower() == "-simplematch" for w in words)
    pattern, skip = None, False
    for i, w in enumerate(words[1:], 1):
        if skip:
            skip = False
        elif w.lower() == "-pattern" and i + 1 < len(words):
            pattern = words[i + 1]
            break
        elif w.lower() == "-path":
            skip = True  # its value is a file, not the pattern
        elif not w.startswith("-") and pattern is None:
            pattern = w
    if pattern is None:
        return None
    return re.compile(re.escape(pattern) if simple else pattern, re.I)


FILTERS = {"grep": _grep, "findstr": _findstr, "Select-String": _select_string}


def filter_problems(command: str) -> list[str]:
    """A port filter must find the port and nothing that merely contains it."""
    out = []
    for words in pipeline(command):
        make = FILTERS.get(words[0])
        rx = make(words) if make else None
        if rx is None:
            continue
        # numbers of two to five digits that are not an address's octets
        for port in set(re.findall(r"(?<![\d.])(?<!\d\\\.)(\d{2,5})(?!\d|\\?\.\d)", rx.pattern)):
            hits = [s for s in samples(port) if rx.search(s)]
            if not hits:
                out.append(f"{words[0]} pattern {rx.pattern!r} finds port {port} in none "
                           "of the sample lines")
            for line in hits:
                for longer in (port + "0", "1" + port):
                    decoy = line.replace(port, longer)
                    if rx.search(decoy):
                        out.append(f"{words[0]} pattern {rx.pattern!r} for port {port} also "
                                   f"matches port {longer}: {decoy.strip()!r}")
                        break
    return sorted(set(out))


# --- per system -------------------------------------------------------------------

def windows_problems(fix: Fix) -> list[str]:
    cmd, out = fix.command, []
    if re.search(r"\bnetstat\b[^|]*\s-\w*p\s*tcp\b", cmd, re.I):
        out.append("netstat -p tcp hides IPv6 listeners (::1): use -ano without -p")
    if re.search(r"\bfindstr\b.*\bLISTENING\b", cmd, re.I):
        out.append("findstr LISTENING: the state is translated on non-English Windows")
    if "&&" in cmd or "||" in cmd:
        out.append("&& and || do not exist in Windows PowerShell 5.1: one command per line")
    if re.search(r"(^|[|;(]\s*)curl\s", cmd):
        out.append("curl in Windows PowerShell 5.1 is Invoke-WebRequest: type curl.exe")
    if re.search(r"\btaskkill\b", cmd, re.I) and not re.search(r"\s/F\b", cmd, re.I):
        out.append("taskkill without /F does not stop console servers (node, python)")
    if re.search(r"Get-NetFirewallRule\b.*\|\s*Get-NetFirewallPortFilter", cmd):
        out.append("Get-NetFirewallRule | Get-NetFirewallPortFilter loses the rule's name and "
                   "action: filter the port first, then pipe to Get-NetFirewallRule")
    m = re.match(r"setx\s+(\w+)\s+(.*)", cmd, re.I)
    if m and m.group(1) in APPEND_ONLY and f"%{m.group(1)}%" not in m.group(2) \
            and f"$env:{m.group(1)}" not in m.group(2):
        out.append(f"setx {m.group(1)} replaces the user's value: append to it")
    if NEEDS_ADMIN.search(cmd) and not ELEVATED.search(fix.why):
        out.append("needs an elevated terminal: say 'as administrator'")
    for words in pipeline(cmd):
        if words[0] in POSIX_ONLY:
            out.append(f"{words[0]} is not a Windows command")
    return out


def posix_problems(fix: Fix) -> list[str]:
    cmd, out = fix.command, []
    sudo = cmd.startswith("sudo ") or "| sudo " in cmd
    for words in pipeline(cmd):
        if fix.os == "macos" and words[0] in NOT_ON_MACOS:
            out.append(f"{words[0]} does not exist on macOS")
        if words[0] == "ss" and any(w.startswith("-") and "p" in w for w in words[1:]) \
                and not sudo:
            out.append("ss -p shows no process of another user without sudo")
        if words[0] == "lsof":
            if not sudo and "runs as you" not in fix.why:
                out.append("lsof lists no socket of another user without sudo")
            if any(w.startswith("-i") for w in words) and not (
                    "-nP" in words or ("-n" in words and "-P" in words)):
                out.append("lsof -i without -nP prints port names (hbci for 3000), "
                           "and resolves addresses slowly")
    if re.search(r"\bno_proxy=\"\$\{no_proxy:\+", cmd) and "${no_proxy:-$NO_PROXY}" not in cmd:
        out.append("no_proxy and NO_PROXY appended apart: an exception only in NO_PROXY is lost "
                   "for curl and wget, which read no_proxy first: merge them first")
    m = re.search(r"\bexport\s+(.*)", cmd)
    for name, value in re.findall(r"\b(\w+)=(\"[^\"]*\"|'[^']*'|\S+)", m.group(1) if m else ""):
        # no_proxy first merged from NO_PROXY (`${no_proxy:-$NO_PROXY}`) carries both.
        merged = name == "NO_PROXY" and "no_proxy=\"${no_proxy:-$NO_PROXY}\"" in cmd \
            and "${no_proxy" in value
        if name in APPEND_ONLY and f"${name}" not in value and f"${{{name}" not in value \
                and not merged:
            out.append(f"export {name}=... replaces the user's value: append to it")
    return out


def any_problems(fix: Fix, unix_target: bool) -> list[str]:
    """An `any` line is shown on Windows too: no POSIX-only tool (unless the
    target is a UNIX socket, which Windows clients do not dial), and curl
    names curl.exe for PowerShell 5.1."""
    out = []
    for words in pipeline(fix.command):
        if words[0] in POSIX_ONLY and not unix_target:
            out.append(f"{words[0]} in an 'any' line: Windows has no {words[0]}; give per-OS lines")
    if re.match(r"curl\s", fix.command) and "curl.exe" not in fix.why:
        out.append("curl in an 'any' line: say curl.exe for Windows PowerShell 5.1")
    return out


def lint(fix: Fix, earlier: Sequence[Fix] = (), category: str = "",
         unix_target: bool = False) -> list[str]:
    """Every problem with one printed fix; `earlier` are the fixes printed before
    it for the same diagnosis (a loopback-only form must come first)."""
    out: list[str] = []
    if re.search(r"\{\w+\.\w+[^}]*\}", fix.command) or re.search(r"(^|\s)\?(\s|$)", fix.command):
        out.append("a value the command needs was missing when it was filled in")
    out += filter_problems(fix.command)
    if fix.os == "windows":
        out += windows_problems(fix)
    else:
        out += posix_problems(fix)
        if fix.os == "any":
            out += any_problems(fix, unix_target)
    if EXPOSES.search(fix.command) and not all(w[0] in READ_ONLY for w in pipeline(fix.command)):
        if not WARNING.search(fix.why) and not WARNING.search(fix.command):
            out.append("binds or publishes on every interface without saying so")
        if category != "remote-loopback" and not any(
                LOOPBACK.search(f.command + " " + f.why) for f in [*earlier, fix]):
            out.append("a wide bind without the loopback-only form before it")
    return out
