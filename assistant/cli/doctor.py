"""`assistant doctor`: the checkup, no error needed. One Session, one
report, rendered; exit 1 when a line is ✗ (a problem), 0 otherwise."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING

from assistant.cli.env import Env
from assistant.errors import EXIT_OK, EXIT_PROBLEM, UserError

if TYPE_CHECKING:
    from assistant.cli.main import Parser

DESCRIPTION = """\
Check this machine's local networking without an error to start from: how
localhost, names under .localhost and the host name resolve; the loopback
interface and the packet filter; proxy variables, client by client; port
ranges, development servers listening on every interface, stopped servers,
TIME_WAIT; your team's declared services; and whether this runs in a
container, WSL or a VM. Each line is ✓ fine, ! a warning, ✗ a problem (with
the fix for this system) or ? could not tell. Nothing is sent anywhere: it
reads the socket table, the resolver, the environment and the filter rules.

exit codes: 0 nothing is ✗, 1 something is, 2 usage error or invalid rule files.
"""


def add_parser(sub: argparse._SubParsersAction[Parser]) -> None:
    from assistant.cli.main import RawFormatter  # its width given: no shutil import

    p = sub.add_parser("doctor", help="a checkup of this machine's local networking",
                       description=DESCRIPTION, formatter_class=RawFormatter)
    out = p.add_mutually_exclusive_group()
    # Also accepted before the command (`assistant --json doctor`).
    out.add_argument("--json", action="store_true", dest="doctor_json",
                     help="print one JSON object (schema 1, kind checkup)")
    out.add_argument("--markdown", action="store_true", dest="doctor_markdown",
                     help="print Markdown (for a ticket)")
    p.add_argument("--rules", action="append", default=[], metavar="DIR", dest="doctor_rules",
                   help="extra rule directory (repeatable)")
    p.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                   dest="doctor_timeout",
                   help="bound for each name lookup (at most 1) and probe (default 1.5)")
    p.add_argument("--color", choices=("auto", "always", "never"), default=None,
                   dest="doctor_color", help="colour the marks: auto (on a terminal), always, "
                   "never (NO_COLOR is honoured)")


def run(args: argparse.Namespace, env: Env) -> int:
    from assistant.session import Options, Session

    if args.ask is not None or args.answer:
        raise UserError("doctor takes no question: run `assistant doctor` alone, or "
                        "`assistant --ask TEXT` for a diagnosis")
    as_json = args.json or args.doctor_json
    as_markdown = args.markdown or args.doctor_markdown
    if as_json and as_markdown:
        raise UserError("--json and --markdown exclude each other")
    timeout = args.doctor_timeout if args.doctor_timeout is not None else args.timeout
    if timeout <= 0 or timeout > 30:
        raise UserError("--timeout must be between 0 and 30 seconds")
    rule_dirs = [Path(d) for d in args.rules + args.doctor_rules]
    extra = env.environ.get("ASSISTANT_RULES_PATH", "")
    for d in [Path(d) for d in extra.split(os.pathsep) if d] + rule_dirs:
        if not d.is_dir():
            raise UserError(f"rule directory {d} does not exist")
    session = Session(Options(env=env.environ, rule_dirs=rule_dirs, probe_timeout=timeout,
                              cwd=env.cwd))
    report = session.checkup()
    for warning in dict.fromkeys(session.warnings):
        env.note(warning)
    if as_json:
        from assistant.render.jsondoc import render as render_json

        env.stdout.write(render_json(report) + "\n")
    elif as_markdown:
        from assistant.render.checkup import markdown

        env.stdout.write(markdown(report))
    else:
        from assistant.render.checkup import render
        from assistant.render.options import root_without_sudo

        env.stdout.write(render(report, color=env.color(args.doctor_color or args.color),
                                width=env.width(), root_without_sudo=root_without_sudo()))
    from assistant.checkup import has_problem

    return EXIT_PROBLEM if has_problem(report) else EXIT_OK
