"""The command line: `main` parses and dispatches to one module per command.

main.py (dispatch, exit codes) -> ask.py, chat.py, rules.py, kb.py; each
command module exposes `add_parser(sub)` (where it has a subcommand) and
`run(args, env) -> int`, and none imports the dispatcher. env.py holds the
injected Environment.
"""

from __future__ import annotations

from assistant.cli.env import Env
from assistant.cli.main import main, main_exit

__all__ = ["Env", "main", "main_exit"]
