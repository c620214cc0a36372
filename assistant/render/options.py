"""Who reads a rendering, and what follows from that.

One object answers every "it depends who reads it" question a renderer
has, so the text renderer never guesses from flags:

- `terminal`: `assistant --ask` on a console. Commands for this machine's
  OS (and `any`), the rest behind `--all-os`; questions are answered on
  the command line, so the hint names `--answer`.
- `chat`: the conversation. Never a command-line flag: the chat asks its
  questions itself, with choices, and `/fix all` shows the other OSes.
- `ticket`: the Markdown report, read on another machine: every OS.
- `json`: programs: every OS, every field (the schema-1 contract).
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from assistant.report import Command

Audience = Literal["terminal", "chat", "ticket", "json"]
# sys.platform -> the OS names of fix commands (report.OS)
OS_OF_PLATFORM = {"linux": "linux", "darwin": "macos", "win32": "windows", "cygwin": "windows"}
OS_LABEL = {"linux": "Linux", "macos": "macOS", "windows": "Windows", "any": "any OS"}


def os_of(platform: str) -> str:
    """The fix-command OS name for a sys.platform value (Linux for the other Unixes)."""
    return OS_OF_PLATFORM.get(platform, "linux")


@dataclass(frozen=True)
class RenderOptions:
    audience: Audience = "terminal"
    color: bool = False
    width: int = 80
    os: str = "linux"  # this machine's OS, as fix commands name it
    all_os: bool = False  # --all-os, /fix all: every OS's commands
    # The reader is root on a system without sudo (a container, mostly):
    # `sudo CMD` would only say "sudo: command not found" there.
    root_without_sudo: bool = False
    # An ordinary user on a system without sudo (field trial 11): the sudo
    # lines need root, which a note says once.
    user_without_sudo: bool = False

    @classmethod
    def here(cls, audience: Audience = "terminal", *, color: bool = False, width: int = 80,
             all_os: bool = False, platform: str | None = None) -> RenderOptions:
        """Options for this machine (its OS from sys.platform unless given)."""
        here = os_of(platform or sys.platform)
        local = here == os_of(sys.platform) and hasattr(os, "geteuid")
        return cls(audience, color, width, here, all_os, local and root_without_sudo(),
                   local and os.geteuid() != 0 and not _on_path("sudo"))

    def sudo_note(self, shown: Sequence[Command]) -> str | None:
        """For a user without sudo, what to do with the sudo lines shown."""
        if not self.user_without_sudo or not any(
                _SUDO.search(c.command) for c in shown if c.os in (self.os, "any")):
            return None
        return ("sudo is not installed here: run the sudo lines as root (su -, then the "
                "command without sudo), or ask whoever administers this machine.")

    @property
    def every_os(self) -> bool:
        # A ticket or a program may be read anywhere: it keeps every OS.
        return self.all_os or self.audience in ("ticket", "json")

    def commands(self, commands: Sequence[Command]) -> tuple[list[Command], list[str]]:
        """The commands to show, in reading order, and the OSes left out.

        This machine's OS and `any`, the commands that confirm before those
        that change something (look before you fix); with every OS, grouped
        by OS, this one first, confirming first within each.
        """
        rank = [self.os, "any", *(o for o in ("linux", "macos", "windows") if o != self.os)]
        shown = [c for c in commands if self.every_os or c.os in (self.os, "any")]
        hidden = [o for o in rank if any(c.os == o for c in commands)
                  and not any(c.os == o for c in shown)]

        def key(item: tuple[int, Command]) -> tuple[int, int, int]:
            n, c = item
            confirm = 0 if c.why.lower().startswith("confirm") else 1
            place = rank.index(c.os) if c.os in rank else len(rank)
            return (place, confirm, n) if self.every_os else (confirm, place, n)

        if self.root_without_sudo:
            shown = [c._replace(command=without_sudo(c.command)) if c.os in (self.os, "any")
                     and c.os != "windows" else c for c in shown]
        return [c for _, c in sorted(enumerate(shown), key=key)], hidden

    def more_commands(self, hidden: list[str]) -> str | None:
        """How to see the other OSes' commands, in the reader's terms."""
        if not hidden:
            return None
        names = " and ".join(OS_LABEL.get(o, o) for o in hidden)
        if self.audience == "chat":
            return f"For {names}: /fix all (or ask \"how do I do that on {_example(hidden)}?\")"
        return f"For {names}: add --all-os"


def _example(hidden: list[str]) -> str:
    return {"macos": "a mac", "windows": "windows", "linux": "linux"}.get(hidden[0], hidden[0])


def root_without_sudo() -> bool:
    """This process is root and no sudo is on PATH."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return False
    return not _on_path("sudo")


def _on_path(program: str) -> bool:
    return any(os.access(os.path.join(d, program), os.X_OK)
               for d in os.environ.get("PATH", "").split(os.pathsep) if d)


# `sudo` where a command starts: the line's start, after a pipe, ;, && or $(.
_SUDO = re.compile(r"(^|[|;&(]\s*|\$\(\s*)sudo\s+((?:-[EHins]+\s+)*)(?:-u\s+(\S+)\s+)?")
_SUDOEDIT = re.compile(r"(^|[|;&(]\s*)sudoedit\s+")


def without_sudo(command: str) -> str:
    """Pure: `command` as root types it without sudo: a plain `sudo` left
    out, `sudo -u USER` as runuser (util-linux), sudoedit as the editor."""
    def one(m: re.Match[str]) -> str:
        return m.group(1) + (f"runuser -u {m.group(3)} -- " if m.group(3) else "")

    return _SUDOEDIT.sub(lambda m: m.group(1) + '"${EDITOR:-vi}" ', _SUDO.sub(one, command))
