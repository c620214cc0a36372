"""`assistant kb list|search|check`."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from assistant.cli.env import Env
from assistant.errors import EXIT_OK

if TYPE_CHECKING:
    from assistant.cli.main import Parser


def add_parser(sub: argparse._SubParsersAction[Parser]) -> None:
    p = sub.add_parser("kb", help="list, search and check the knowledge base")
    ks = p.add_subparsers(dest="cmd", required=True)
    ks.add_parser("list")
    ck = ks.add_parser("check")
    ck.add_argument("dirs", nargs="*", metavar="DIR", help="entry directories (default: all)")
    se = ks.add_parser("search")
    se.add_argument("text", nargs="+")
    se.add_argument("--limit", type=int, default=5)


def run(args: argparse.Namespace, env: Env) -> int:
    from assistant.knowledge import entries as kb

    out, environ = env.stdout, env.environ
    if args.cmd == "check":
        # Full validation, never the cache: fields, unique ids, links (a
        # team's entries together with the built-in ones they may name), and
        # every kb id a rule names.
        from assistant.engine.loader import load_rules
        from assistant.engine.sources import files_of, search_path

        named = [Path(d) for d in args.dirs]
        entries = kb.load_entries(kb.directories(environ) + named)
        all_ids = {e.id for e in entries}
        if named:
            folders = {d.resolve() for d in named}
            entries = [e for e in entries if Path(e.source).resolve().parent in folders]
        load_rules(files_of(search_path(environ, env.cwd, [])), all_ids)
        out.write(f"{len(entries)} entries: ok\n")
        return EXIT_OK
    from assistant.dirs import cache_dir

    base = kb.load(kb.directories(environ), cache=cache_dir(environ))
    if args.cmd == "list":
        for e in base.entries:
            out.write(f"{e.id:<34} {e.question}\n")
        return EXIT_OK
    hits = base.search(" ".join(args.text), limit=args.limit)
    if not hits:
        out.write("no entry matches\n")
    for e, score in hits:
        out.write(f"{score:5.2f}  {e.id:<32} {e.question}\n")
    return EXIT_OK
