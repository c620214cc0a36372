"""Command line: parse, dispatch, render, print, exit codes. No logic here."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

from assistant import __version__
from assistant.errors import EXIT_INTERRUPTED, EXIT_NEEDS_INPUT, EXIT_OK, EXIT_PROBLEM, EXIT_USAGE, UserError

EXAMPLES = """\
examples:
  assistant --ask "cannot connect to 127.0.0.1:62893"
  assistant --ask "connect ECONNREFUSED ::1:3000" --json
  npm start 2>&1 | assistant
  assistant --ask "connection refused" --answer host=localhost --answer port=5432
  assistant --ask "what is the difference between localhost and 127.0.0.1?"
  assistant rules list        assistant rules test        assistant kb search proxy

exit codes: 0 answered / no problem found, 1 problem diagnosed, 2 usage error or
invalid rule/KB files, 3 more input needed, 130 interrupted.
"""


class Env:
    """The world the CLI runs in; tests inject their own."""

    def __init__(self, stdin: TextIO | None = None, stdout: TextIO | None = None,
                 stderr: TextIO | None = None, environ: Mapping[str, str] | None = None,
                 cwd: Path | None = None):
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr
        self.environ = dict(os.environ if environ is None else environ)
        self.cwd = cwd or Path.cwd()


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UserError(f"{message}\nTry 'assistant --help'.")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="assistant", description="Find out why a local network connection fails.",
                epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
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
    p.add_argument("--color", choices=("auto", "always", "never"), default="auto")
    p.add_argument("--version", action="version", version=f"assistant {__version__}")
    return p


def _color(choice: str, env: Env) -> bool:
    if choice != "auto":
        return choice == "always"
    if "NO_COLOR" in env.environ or env.environ.get("TERM") == "dumb":
        return False
    return bool(getattr(env.stdout, "isatty", lambda: False)())


def _answers(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UserError(f"--answer takes KEY=VALUE, got {item!r}")
        out[key.strip()] = value
    return out


def main(argv: list[str] | None = None, env: Env | None = None) -> int:
    env = env or Env()
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] in ("rules", "kb"):
            from assistant import tools_cli

            return tools_cli.main(argv, env)
        return _run(_parser().parse_args(argv), env)
    except UserError as exc:
        env.stderr.write(f"assistant: {exc}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        env.stderr.write("\ninterrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_OK


def _run(args: argparse.Namespace, env: Env) -> int:
    from assistant.session import Options, Session

    if args.timeout <= 0 or args.timeout > 30:
        raise UserError("--timeout must be between 0 and 30 seconds")
    rule_dirs = [Path(d) for d in args.rules]
    extra = env.environ.get("ASSISTANT_RULES_PATH", "")
    for d in [Path(d) for d in extra.split(os.pathsep) if d] + rule_dirs:
        if not d.is_dir():
            raise UserError(f"rule directory {d} does not exist")
    options = Options(env=env.environ, rule_dirs=rule_dirs, probe_timeout=args.timeout,
                      cwd=env.cwd)
    session = Session(options)
    answers = _answers(args.answer)
    text = args.ask
    if text is None:
        if getattr(env.stdin, "isatty", lambda: False)():
            from assistant.repl import run as run_repl

            return run_repl(session, env, color=_color(args.color, env))
        text = "-"
    if text == "-":
        text = env.stdin.read(1024 * 1024)
    report = session.ask(text, answers)
    for warning in dict.fromkeys(session.warnings):
        env.stderr.write(f"assistant: note: {warning}\n")
    if args.json:
        from assistant.render.json import render as render_json

        env.stdout.write(render_json(report) + "\n")
    elif args.markdown:
        from assistant.render.markdown import render as render_markdown

        env.stdout.write(render_markdown(report))
    else:
        from assistant.render.text import render as render_text

        width = min(os.get_terminal_size().columns if env.stdout is sys.stdout
                    and sys.stdout.isatty() else 80, 120)
        from assistant.facts.system import platform

        env.stdout.write(render_text(report, color=_color(args.color, env), width=width,
                                     platform=platform.system()))
    if report.kind == "needs-input":
        return EXIT_NEEDS_INPUT
    if report.kind == "diagnosis" and report.has_problem():
        return EXIT_PROBLEM
    return EXIT_OK


def main_exit() -> None:
    """Console-script entry point."""
    try:
        code = main()
    except KeyboardInterrupt:
        code = EXIT_INTERRUPTED
    sys.exit(code)


__all__ = ["main", "main_exit", "Env", "EXIT_USAGE"]
