"""The world a command runs in (streams, environment, directory, terminal);
tests inject their own."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO


class Env:
    """Streams, environment variables and the working directory."""

    def __init__(self, stdin: TextIO | None = None, stdout: TextIO | None = None,
                 stderr: TextIO | None = None, environ: Mapping[str, str] | None = None,
                 cwd: Path | None = None):
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr
        self.environ = dict(os.environ if environ is None else environ)
        self.cwd = cwd or Path.cwd()

    def color(self, choice: str) -> bool:
        """--color auto|always|never, NO_COLOR and TERM=dumb, then: a terminal?"""
        if choice != "auto":
            return choice == "always"
        if "NO_COLOR" in self.environ or self.environ.get("TERM") == "dumb":
            return False
        return self.is_tty(self.stdout)

    def width(self) -> int:
        """The terminal's width (40 to 120), 80 when not a terminal."""
        if self.stdout is sys.stdout and self.is_tty(sys.stdout):
            return max(40, min(os.get_terminal_size().columns, 120))
        return 80

    @staticmethod
    def is_tty(stream: object) -> bool:
        return bool(getattr(stream, "isatty", lambda: False)())

    def note(self, message: str) -> None:
        self.stderr.write(f"assistant: note: {message}\n")

    def warn(self, message: str) -> None:
        self.stderr.write(f"assistant: warning: {message}\n")
