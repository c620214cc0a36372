"""`assistant rules ...` and `assistant kb ...`: tools for people who extend it."""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

from assistant.cli import Env
from assistant.errors import EXIT_OK, EXIT_PROBLEM, RuleFileError, UserError
from assistant.paths import cache_dir, data_dir


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UserError(f"{message}\nTry 'assistant {self.prog.split()[-1]} --help'.")


def _rule_dirs(extra: list[str], environ: dict[str, str]) -> list[Path]:
    dirs = [data_dir("rules")]
    dirs += [Path(d) for d in environ.get("ASSISTANT_RULES_PATH", "").split(os.pathsep) if d]
    return dirs + [Path(d) for d in extra]


def main(argv: list[str], env: Env) -> int:
    environ = env.environ
    out = env.stdout
    if argv[0] == "rules":
        p = _Parser(prog="assistant rules")
        sub = p.add_subparsers(dest="cmd", required=True)
        for name in ("list", "check", "test"):
            s = sub.add_parser(name)
            s.add_argument("--rules", action="append", default=[], metavar="DIR")
        ex = sub.add_parser("explain")
        ex.add_argument("id")
        ex.add_argument("--rules", action="append", default=[], metavar="DIR")
        args = p.parse_args(argv[1:])
        return _rules(args, _rule_dirs(args.rules, environ), out)
    p = _Parser(prog="assistant kb")
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list")
    ck = sub.add_parser("check")
    ck.add_argument("dirs", nargs="*", metavar="DIR", help="entry directories (default: all)")
    se = sub.add_parser("search")
    se.add_argument("text", nargs="+")
    se.add_argument("--limit", type=int, default=5)
    args = p.parse_args(argv[1:])
    return _kb(args, out, environ)


def _load(dirs: list[Path]):  # type: ignore[no-untyped-def]
    from assistant.engine.loader import load_rules
    from assistant.paths import rule_files

    for d in dirs:
        if not d.is_dir():
            raise UserError(f"rule directory {d} does not exist")
    return load_rules([p for d in dirs for p in rule_files(d)])


def _rules(args: argparse.Namespace, dirs: list[Path], out) -> int:  # type: ignore[no-untyped-def]
    ruleset = _load(dirs)
    if args.cmd == "list":
        for r in ruleset.rules:
            state = "" if r.enabled else f"  (disabled: {r.disabled_reason})"
            out.write(f"{r.id:<28} {r.category or '-':<24} {r.priority:>3}  {r.source}{state}\n")
        return EXIT_OK
    if args.cmd == "check":
        from assistant.engine.driver import Compiled
        from assistant.kb import load_entries

        ids = {e.id for e in load_entries()}
        problems = [f"{r.source}: {r.id}: kb: unknown knowledge-base id {k!r}"
                    for r in ruleset.rules for s in r.steps if "conclude" in s
                    for k in s["conclude"]["kb"] if k not in ids]
        if problems:
            raise RuleFileError(problems)
        Compiled(ruleset)
        out.write(f"{len(ruleset.rules)} rules in {len(ruleset.files)} files: ok\n")
        return EXIT_OK
    if args.cmd == "explain":
        from assistant.engine.compiler import compile_alternative

        rule = ruleset.by_id().get(args.id)
        if rule is None:
            raise UserError(f"no rule {args.id!r} (see `assistant rules list`)")
        out.write(f"{rule.id}: {rule.title}\nsource: {rule.source}\n")
        if rule.changed_by:
            out.write(f"changed by: {', '.join(rule.changed_by)}\n")
        out.write(json.dumps({k: v for k, v in rule.raw.items()}, indent=2, default=str) + "\n")
        out.write("durable-rules:\n")
        for alt in rule.alternatives:
            out.write(json.dumps(compile_alternative(alt, rule.exceptions), indent=2) + "\n")
        return EXIT_OK
    # test
    from assistant.engine import yamlsafe
    from assistant.engine.driver import Compiled
    from assistant.engine.ruletests import find_test_files, load_cases, run_case

    compiled = Compiled(ruleset)
    failed = passed = 0
    broken: list[str] = []
    for path in find_test_files(dirs):
        try:
            cases = load_cases(path)
        except (OSError, ValueError, yamlsafe.YamlError) as exc:
            line, col = getattr(exc, "line", None), getattr(exc, "column", None)
            where = f"{path}:{line}:{col}: " if line else ""
            broken.append(f"{where}{exc}")
            continue
        for case in cases:
            res = run_case(compiled, case, str(path))
            if res.ok:
                passed += 1
                out.write(f"PASS {path.name}: {res.name}\n")
            else:
                failed += 1
                out.write(f"FAIL {path.name}: {res.name}: {res.message}\n")
    out.write(f"{passed} passed, {failed} failed\n")
    if broken:
        raise RuleFileError(broken)
    return EXIT_PROBLEM if failed else EXIT_OK


def _kb(args: argparse.Namespace, out: TextIO, environ: Mapping[str, str]) -> int:
    from assistant import kb

    if args.cmd == "check":
        # Full validation, never the cache: schema, unique ids, links, and
        # every kb id a rule names.
        dirs = [Path(d) for d in args.dirs] or kb.directories(environ)
        entries = kb.load_entries(dirs)
        ids = {e.id for e in (kb.load_entries(kb.directories(environ)) if args.dirs else entries)}
        problems = [f"{r.source}: {r.id}: kb: unknown knowledge-base id {k!r}"
                    for r in _load(_rule_dirs([], dict(environ))).rules for s in r.steps
                    if "conclude" in s for k in s["conclude"]["kb"] if k not in ids]
        if problems:
            raise RuleFileError(problems)
        out.write(f"{len(entries)} entries: ok\n")
        return EXIT_OK
    base = kb.load(kb.directories(environ), cache=cache_dir(environ))
    if args.cmd == "list":
        for e in base.entries:
            out.write(f"{e.id:<34} {e.question}\n")
    else:
        hits = base.search(" ".join(args.text), limit=args.limit)
        if not hits:
            out.write("no entry matches\n")
        for e, score in hits:
            out.write(f"{score:5.2f}  {e.id:<32} {e.question}\n")
    return EXIT_OK
