"""`assistant rules ...` and `assistant kb ...`: tools for people who extend it."""

from __future__ import annotations

import argparse

from assistant.cli import Env
from assistant.errors import UserError


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UserError(f"{message}\nTry '{self.prog} --help'.")


def main(argv: list[str], env: Env) -> int:
    from assistant import cli_kb, cli_rules

    p = _Parser(prog="assistant")
    sub = p.add_subparsers(dest="tool", required=True, parser_class=_Parser)
    cli_rules.add_parser(sub)
    cli_kb.add_parser(sub)
    args = p.parse_args(argv)
    return cli_rules.run(args, env) if args.tool == "rules" else cli_kb.run(args, env)
