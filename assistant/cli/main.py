"""Command line: one parser, dispatch to the command modules, exit codes."""

from __future__ import annotations

import argparse
import gc
import os
import sys
from typing import Any

from assistant import __version__
from assistant.cli.env import Env
from assistant.errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, UserError

EXAMPLES = """\
examples:
  assistant --ask "cannot connect to 127.0.0.1:62893"
  assistant --ask "connect ECONNREFUSED ::1:3000" --json
  npm start 2>&1 | assistant
  assistant --ask "connection refused" --answer host=localhost --answer port=5432
  assistant --ask "what is the difference between localhost and 127.0.0.1?"
  assistant --ask "cannot connect to localhost:8000" --watch 120   (until it works)
  assistant --ask "EADDRINUSE :::3000" --all-os    (fix commands for every OS)
  assistant doctor            (a checkup of this machine, no error needed; --json)
  assistant rules list        assistant rules test        assistant kb search proxy
  assistant mcp               (tools for coding agents over MCP, on stdio)

exit codes: 0 answered / no problem found, 1 problem diagnosed, 2 usage error or
invalid rule/KB files, 3 more input needed, 130 interrupted.
"""


def _columns() -> int:
    """The terminal's width as shutil.get_terminal_size reads it."""
    try:
        return int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        pass
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
    except (AttributeError, ValueError, OSError):  # no stdout, or not a terminal
        return 80


class Formatter(argparse.HelpFormatter):
    """argparse's formatter given its width: left to itself it imports
    shutil (and with it bz2 and lzma) for every parser it builds, 2 ms of an
    --ask that never prints help."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, width=max(_columns() - 2, 20))


class RawFormatter(Formatter, argparse.RawDescriptionHelpFormatter):
    """The same, keeping the examples' lines as written."""


class Parser(argparse.ArgumentParser):
    """argparse, with usage errors as UserError (exit 2, one clear line)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", Formatter)  # subcommands' parsers too
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UserError(f"{message}\nTry '{self.prog} --help'.")


def parser(tools: bool = True) -> argparse.ArgumentParser:
    """The whole command line, declared once. Without `tools`, the rules and kb
    subcommands are named but their options are not built (their modules
    are not imported): what `--ask` needs at start-up."""

    p = Parser(prog="assistant", description="Find out why a local network connection fails.",
               epilog=EXAMPLES, formatter_class=RawFormatter)
    p.add_argument("--ask", metavar="TEXT", help="diagnose or answer TEXT once ('-' reads stdin)")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print one JSON object (schema 1)")
    out.add_argument("--markdown", action="store_true", help="print a Markdown report (for a ticket)")
    p.add_argument("--answer", action="append", default=[], metavar="KEY=VALUE",
                   help="answer a question the assistant would ask (repeatable)")
    p.add_argument("--rules", action="append", default=[], metavar="DIR",
                   help="extra rule directory (repeatable)")
    p.add_argument("--timeout", type=float, default=1.5, metavar="SECONDS",
                   help="bound for each connect probe (default 1.5)")
    p.add_argument("--all-os", action="store_true",
                   help="show fix commands for every OS (default: this machine's, and any)")
    p.add_argument("--watch", type=float, nargs="?", const=60.0, metavar="SECONDS",
                   help="with --ask: check again about once a second until the connection "
                   "works (exit 0) or SECONDS pass (default 60); only changes are printed")
    p.add_argument("--color", choices=("auto", "always", "never"), default="auto")
    p.add_argument("--version", action="version",
                   version=f"assistant {__version__} (local-connection-assistant)")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    from assistant.cli import doctor  # its options are parsed wherever they are written

    if tools:
        from assistant.cli import kb, mcp, rules, shell

        rules.add_parser(sub)
        kb.add_parser(sub)
        mcp.add_parser(sub)
        doctor.add_parser(sub)
        shell.add_parsers(sub)  # completion, help
    else:
        sub.add_parser("rules", help="list, check, test and explain rules")
        sub.add_parser("kb", help="list, search and check the knowledge base")
        sub.add_parser("mcp", help="serve the assistant to coding agents (MCP on stdio)")
        doctor.add_parser(sub)
    return p


def main(argv: list[str] | None = None, env: Env | None = None) -> int:
    env = env or Env()
    argv = list(sys.argv[1:] if argv is None else argv)
    if "_ARGCOMPLETE" in os.environ:  # a shell asking for completions (see cli/shell.py)
        from assistant.cli import shell

        shell.complete(parser(tools=True))
    try:
        p = parser(tools=bool({"rules", "kb", "mcp", "help", "completion", "-h", "--help"}
                              & set(argv)))
        args = p.parse_args(argv)
        if args.command is not None or args.watch is not None or (
                args.ask is None and env.is_tty(env.stdin)):
            gc.enable()  # a long run (chat, watch, server, rule tests): see main_exit
        if args.command in ("help", "completion"):
            from assistant.cli import shell

            return shell.run(args, env, p)
        if args.command == "rules":
            from assistant.cli import rules

            return rules.run(args, env)
        if args.command == "kb":
            from assistant.cli import kb

            return kb.run(args, env)
        if args.command == "mcp":
            from assistant.cli import mcp

            return mcp.run(args, env)
        if args.command == "doctor":
            from assistant.cli import doctor

            return doctor.run(args, env)
        from assistant.cli import ask

        return ask.run(args, env)
    except UserError as exc:
        env.stderr.write(f"assistant: {exc}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        env.stderr.write("\ninterrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_OK  # the reader went away (| head): nothing more to say
    except OSError as exc:
        # The environment refused something (a file, a directory): say what,
        # not a traceback.
        where = f"{exc.filename}: " if exc.filename else ""
        env.stderr.write(f"assistant: {where}{exc.strerror or exc}\n")
        return EXIT_USAGE


def main_exit() -> None:
    """Console-script entry point."""
    # One question is a short run that allocates a few MB of long-lived
    # objects (modules, rules, engine): the collector's passes over them are
    # 4 ms of nothing to free. main() turns it back on for long runs.
    gc.disable()
    try:
        code = main()
    except KeyboardInterrupt:
        code = EXIT_INTERRUPTED
    sys.exit(code)
