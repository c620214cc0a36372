"""`assistant --ask TEXT` (or piped stdin, or the chat on a terminal):
one Session, one Report, rendered for who reads it."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from assistant.cli.env import Env
from assistant.errors import EXIT_NEEDS_INPUT, EXIT_OK, EXIT_PROBLEM, UserError

MAX_STDIN = 1024 * 1024


def answers_of(items: list[str]) -> dict[str, str]:
    """`--answer KEY=VALUE` items as a mapping."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UserError(f"--answer takes KEY=VALUE, got {item!r}")
        out[key.strip()] = value
    return out


def run(args: argparse.Namespace, env: Env) -> int:
    from assistant.session import Options, Session

    if args.timeout <= 0 or args.timeout > 30:
        raise UserError("--timeout must be between 0 and 30 seconds")
    rule_dirs = [Path(d) for d in args.rules]
    extra = env.environ.get("ASSISTANT_RULES_PATH", "")
    for d in [Path(d) for d in extra.split(os.pathsep) if d] + rule_dirs:
        if not d.is_dir():
            raise UserError(f"rule directory {d} does not exist")
    session = Session(Options(env=env.environ, rule_dirs=rule_dirs, probe_timeout=args.timeout,
                              cwd=env.cwd))
    answers = answers_of(args.answer)
    text = args.ask
    if text is None:
        if env.is_tty(env.stdin):
            from assistant.cli import chat

            return chat.run(session, env, color=env.color(args.color))
        text = "-"
    if text == "-":
        text = env.stdin.read(MAX_STDIN)
    report = session.ask(text, answers)
    for warning in dict.fromkeys(session.warnings):
        env.note(warning)
    if args.json:
        from assistant.render.jsondoc import render as render_json

        env.stdout.write(render_json(report) + "\n")
    elif args.markdown:
        from assistant.render.markdown import render as render_markdown

        env.stdout.write(render_markdown(report))
    else:
        from assistant.facts.system import platform
        from assistant.render.text import render as render_text

        env.stdout.write(render_text(report, color=env.color(args.color), width=env.width(),
                                     platform=platform.system()))
    if report.kind == "needs-input":
        return EXIT_NEEDS_INPUT
    if report.kind == "diagnosis" and report.has_problem():
        return EXIT_PROBLEM
    return EXIT_OK
