"""`assistant --ask TEXT` (or piped stdin, or the chat on a terminal):
one Session, one Report, rendered for who reads it."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING

from assistant.cli.env import Env
from assistant.errors import EXIT_NEEDS_INPUT, EXIT_OK, EXIT_PROBLEM, UserError

if TYPE_CHECKING:
    from assistant.report import Report
    from assistant.session import Session

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
    if args.watch is not None and text is None:
        raise UserError("--watch needs --ask TEXT (in the chat, type /watch)")
    if text is None:
        if env.is_tty(env.stdin):
            from assistant.cli import chat

            return chat.run(session, env, color=env.color(args.color))
        text = "-"
    if text == "-":
        text = env.stdin.read(MAX_STDIN)
    if args.watch is not None:
        return _watch(session, text, answers, args, env)
    report = session.ask(text, answers)
    for warning in dict.fromkeys(session.warnings):
        env.note(warning)
    env.stdout.write(_rendered(report, args, env))
    return exit_code(report)


def exit_code(report: Report) -> int:
    if report.kind == "needs-input":
        return EXIT_NEEDS_INPUT
    if report.kind == "diagnosis" and report.has_problem():
        return EXIT_PROBLEM
    return EXIT_OK


def _rendered(report: Report, args: argparse.Namespace, env: Env) -> str:
    if args.json:
        from assistant.render.jsondoc import render as render_json

        return render_json(report) + "\n"
    if args.markdown:
        from assistant.render.markdown import render as render_markdown

        return render_markdown(report)
    from assistant.facts.system import platform
    from assistant.render.options import RenderOptions
    from assistant.render.text import render as render_text

    if report.asked_os and not args.all_os:
        # The question named an OS: its commands, whatever this machine runs.
        return render_text(report, RenderOptions("terminal", env.color(args.color), env.width(),
                                                 report.asked_os))
    return render_text(report, RenderOptions.here(
        "terminal", color=env.color(args.color), width=env.width(), all_os=args.all_os,
        platform=platform.system()))


def _watch(session: Session, text: str, answers: dict[str, str], args: argparse.Namespace,
           env: Env) -> int:
    """--watch: the first report whole, then only what changed, until the
    connection works (exit 0) or the time is up (the usual codes). JSON and
    Markdown print the last report only: one document, as always."""
    from assistant import watch

    if not 0 < args.watch <= watch.MAX_TIMEOUT:
        raise UserError(f"--watch takes seconds between 0 and {watch.MAX_TIMEOUT:g}")
    plain = not (args.json or args.markdown)
    last = None
    for r in watch.watch(lambda: session.ask(text, answers), timeout=args.watch):
        last = r
        if not plain:
            continue
        if r.n == 1:
            env.stdout.write(_rendered(r.report, args, env))
            if r.state == "watching":
                env.stdout.write(f"\nWatching (every second, up to {args.watch:g} s; "
                                 "Ctrl-C stops): only changes are shown.\n")
        for line in r.changes:
            import textwrap  # --watch only

            env.stdout.write("\n".join(textwrap.wrap(
                f"after {r.elapsed:.0f} s: {line}", max(40, env.width()), initial_indent="  ",
                subsequent_indent="    ", break_on_hyphens=False)) + "\n")
        if r.state == "fixed":
            env.stdout.write(watch.fixed_line(r.report) + "\n")
        elif r.state == "timeout":
            env.stdout.write(f"Still not working after {args.watch:g} s: stopped watching.\n")
        elif r.state == "cannot-watch" and r.n == 1:
            env.stdout.write("Nothing to watch: that needs an address to check (a host and a "
                             "port, or a socket path).\n")
        env.stdout.flush()
    assert last is not None  # watch() yields at least one round
    for warning in dict.fromkeys(session.warnings):
        env.note(warning)
    if not plain:
        env.stdout.write(_rendered(last.report, args, env))
    return EXIT_OK if last.state == "fixed" else exit_code(last.report)
