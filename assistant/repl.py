"""Interactive use on a terminal: a thin loop over the Session.

Kept deliberately small; the full prompt_toolkit chat is its own issue.
"""

from __future__ import annotations

from typing import Any

from assistant.errors import EXIT_OK, UserError
from assistant.render.text import render


def run(session: Any, env: Any, color: bool) -> int:
    out = env.stdout
    out.write("Describe the problem or paste the error (Ctrl-D to leave).\n")
    while True:
        try:
            out.write("> ")
            out.flush()
            line = env.stdin.readline()
        except KeyboardInterrupt:
            out.write("\n")
            continue
        if not line:
            return EXIT_OK
        if not line.strip():
            continue
        try:
            out.write(render(session.ask(line), color=color))
        except UserError as exc:
            out.write(f"{exc}\n")
