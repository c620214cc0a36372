"""`assistant rules list|check|test|explain|trust|untrust|schema`."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from assistant.cli.env import Env
from assistant.errors import EXIT_OK, EXIT_PROBLEM, RuleFileError, UserError

if TYPE_CHECKING:
    from assistant.cli.main import Parser
    from assistant.engine.model import RuleSet
    from assistant.engine.sources import RuleDir


def add_parser(sub: argparse._SubParsersAction[Parser]) -> None:
    p = sub.add_parser("rules", help="list, check, test and explain rules")
    rs = p.add_subparsers(dest="cmd", required=True)
    ls = rs.add_parser("list", help="each rule, where it comes from, what changed it")
    ls.add_argument("--all", action="store_true", help="include disabled rules")
    ck = rs.add_parser("check", help="validate rule files; every error at once")
    ck.add_argument("paths", nargs="*", metavar="PATH",
                    help="rule or test files, or directories (a file brings its folder)")
    te = rs.add_parser("test", help="run *.test.yaml cases against the effective rules")
    te.add_argument("paths", nargs="*", metavar="PATH",
                    help="test files or directories (a file brings the rules beside it)")
    te.add_argument("--all", action="store_true", dest="run_all",
                    help="also run the cases skipped because an override changed their rule")
    ex = rs.add_parser("explain", help="the effective rule, its engine form, who changed it")
    ex.add_argument("id")
    for name, text in (("trust", "use this project's .assistant/rules.d"),
                       ("untrust", "stop using it")):
        t = rs.add_parser(name, help=text)
        t.add_argument("dir", nargs="?", metavar="DIR")
    rs.add_parser("schema", help="where the JSON Schemas for editors are")
    fa = rs.add_parser("facts", help="every fact type and field rules can match")
    fa.add_argument("types", nargs="*", metavar="TYPE", help="only these fact types")
    for s in (ls, ck, te, ex):
        s.add_argument("--rules", action="append", default=[], metavar="DIR", dest="extra_rules",
                       help="extra rule directory (repeatable)")


def _split(paths: list[str]) -> tuple[list[Path], list[Path]]:
    """(directories, files) from PATH arguments."""
    dirs, files = [], []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            dirs.append(p)
        elif p.is_file():
            files.append(p)
        else:
            raise UserError(f"{raw}: no such file or directory")
    return dirs, files


def kb_ids(env: Env) -> set[str]:
    """Every knowledge-base id a rule may name (built-in and ASSISTANT_KB_PATH)."""
    from assistant.knowledge import entries as kb

    return {e.id for e in kb.load_entries(kb.directories(env.environ))}


def effective(env: Env, extra_dirs: list[Path], check_kb: bool = False
              ) -> tuple[RuleSet, list[RuleDir], list[str]]:
    """The effective rule set: the search path plus these directories (with
    `check_kb`, every kb id a conclusion names must exist); its directories;
    notes about the path (untrusted, empty or repeated folders)."""
    from assistant.engine.loader import load_rules
    from assistant.engine.sources import files_of, search_path

    found = search_path(env.environ, env.cwd, extra_dirs)
    files = files_of(found)
    return load_rules(files, kb_ids(env) if check_kb else None), found.dirs, found.skipped


def origin_of(source: str, dirs: list[RuleDir]) -> str:
    path = Path(source.rsplit(":", 1)[0]).resolve()
    for d in reversed(dirs):
        if d.path.resolve() in path.parents:
            return d.origin
    return "file"


def run(args: argparse.Namespace, env: Env) -> int:
    out = env.stdout
    if args.cmd in ("trust", "untrust"):
        return _trust(args, env)
    if args.cmd == "facts":
        return _facts(args.types, out)
    if args.cmd == "schema":
        from assistant.dirs import data_dir

        for name in ("rules", "rule-tests", "kb"):
            out.write(f"{name}: {data_dir('rules') / 'schema' / (name + '.schema.json')}\n")
        return EXIT_OK
    from assistant.engine.ruletests import find_test_files

    dirs, files = _split(getattr(args, "paths", []))
    # A file brings its folder: the rules beside it, which it may need (lists,
    # services, the rules a test expects).
    packs = list(dict.fromkeys(dirs + [f.parent for f in files]))
    rule_dirs = [Path(d) for d in args.rules + getattr(args, "extra_rules", [])]
    try:
        ruleset, where, skipped = effective(env, rule_dirs + packs, args.cmd == "check")
    except RuleFileError as exc:
        # Every error at once: the named test files' own, too (their
        # references need the rules, so only their shape here).
        from assistant.engine.ruletests import validate

        named = [f for f in files if f.name.endswith(".test.yaml")] + find_test_files(dirs)
        raise RuleFileError(exc.problems + validate(named, None)[1]) from None
    for msg in skipped:
        env.note(msg)
    if args.cmd == "list":
        return _list(ruleset, where, args.all, out)
    if args.cmd == "explain":
        return _explain(ruleset, where, args.id, out)
    if getattr(args, "paths", []):
        # Only what was named: its test files, or the tests beside a rule file.
        tests = find_test_files(dirs) + [
            f if f.name.endswith(".test.yaml") else f.with_name(f.stem + ".test.yaml")
            for f in files]
        tests = [t for t in dict.fromkeys(tests) if t.is_file()]
        own = packs
    else:
        tests = find_test_files([d.path for d in where])
        own = [d.path for d in where if d.origin != "built-in"]
    every = find_test_files([d.path for d in where]) + tests
    if args.cmd == "check":
        return _check(ruleset, env, out, tests, own, every)
    return _test(ruleset, env, tests, own, every, args.run_all)


def _list(ruleset: RuleSet, where: list[RuleDir], show_all: bool, out: TextIO) -> int:
    for r in ruleset.rules:
        if not r.enabled and not show_all:
            continue
        state = "" if r.enabled else f"  DISABLED: {r.disabled_reason}"
        changed = f"  changed by {', '.join(r.changed_by)}" if r.changed_by else ""
        out.write(f"{r.id:<30} {r.category or '-':<24} {r.priority:>3}  "
                  f"{origin_of(r.source, where):<8} {r.source}{changed}{state}\n")
    for s in ruleset.services:
        out.write(f"service {s['name']:<22} port {s['port']:<6} {s.get('process', '-'):<12} "
                  f"{s['source']}\n")
    return EXIT_OK


def _check(ruleset: RuleSet, env: Env, out: TextIO, tests: list[Path], own: list[Path],
           every: list[Path]) -> int:
    from assistant.engine import isolate
    from assistant.engine.compiler import compile_rules
    from assistant.engine.model import CATCH_ALL, RuleName
    from assistant.engine.ruletests import validate

    # The test files too: their rule ids, questions and facts.
    cases, problems = validate(tests, ruleset)
    # Each rule alone, in a child process: the engine can hang or crash on
    # input it accepts, and that must not take this command with it.
    enabled = list(ruleset.enabled())
    defs = compile_rules(enabled)
    items = []
    for i, rule in enumerate(enabled):
        own_defs = {n: d for n, d in defs.items() if (RuleName.parse(n) or (-1, 0))[0] == i}
        own_defs[CATCH_ALL] = defs[CATCH_ALL]
        items.append((rule.id, own_defs))
    by_id = {r.id: r for r in enabled}
    for rid, message in isolate.check(items).items():
        problems.append(f"{by_id[rid].source}: {rid}: engine: {message}")
    if problems:
        raise RuleFileError(problems)
    _warn_untested(ruleset, env, own, every)
    count = sum(len(c) for c in cases.values())
    out.write(f"{len(ruleset.rules)} rules, {len(ruleset.services)} services in "
              f"{len(ruleset.files)} files; {count} test cases in {len(cases)} test "
              f"file{'' if len(cases) == 1 else 's'}: ok\n")
    return EXIT_OK


def _warn_untested(ruleset: RuleSet, env: Env, own: list[Path], every: list[Path]) -> None:
    """A warning for each rule of these folders that no test case names."""
    from assistant.engine.ruletests import untested, validate

    cases = [c for found in validate(every, ruleset)[0].values() for c in found]
    for rule in untested(ruleset, cases, own):
        name = Path(rule.source.rsplit(":", 1)[0])
        env.warn(f"{rule.source}: {rule.id} has no test: add a case naming it to "
                 f"{name.with_name(name.stem + '.test.yaml')}")


def _explain(ruleset: RuleSet, where: list[RuleDir], rid: str, out: TextIO) -> int:
    from assistant.engine.compiler import compile_alternative, text_marks

    rule = {r.id: r for r in ruleset.rules}.get(rid)
    if rule is None:
        raise UserError(f"no rule {rid!r} (see `assistant rules list --all`)")
    out.write(f"{rule.id}: {rule.title}\n")
    out.write(f"defined at {rule.source} ({origin_of(rule.source, where)})\n")
    out.write(f"changed by {', '.join(rule.changed_by)}\n" if rule.changed_by else "not changed\n")
    if not rule.enabled:
        out.write(f"DISABLED: {rule.disabled_reason}\n")
    out.write("\neffective rule:\n")
    out.write(json.dumps(rule.raw, indent=2, default=str) + "\n")
    out.write("\ndurable-rules form (one per alternative):\n")
    for alt in rule.alternatives:
        for variant in compile_alternative(alt, rule.exceptions):
            out.write(json.dumps(variant, indent=2) + "\n")
    marks = text_marks([rule])
    if marks:
        out.write("\ntext tests, evaluated before the engine (a fact carries the mark when "
                  "it holds):\n")
        for fact, tests in marks.items():
            for fld, op, operand, name in tests:
                out.write(f"  {name}: {fact}.{fld} {op} {operand!r}\n")
    return EXIT_OK


def _test(ruleset: RuleSet, env: Env, tests: list[Path], own: list[Path], every: list[Path],
          run_all: bool) -> int:
    from assistant.engine.ruletests import run_files

    summary = run_files(tests, ruleset, env.stdout.write, run_all)
    env.stdout.write(summary.line() + "\n")
    if summary.errors:
        raise RuleFileError(summary.errors)
    _warn_untested(ruleset, env, own, every)
    return EXIT_PROBLEM if summary.failed else EXIT_OK


def _facts(types: list[str], out: TextIO) -> int:
    from assistant.engine.spec import did_you_mean
    from assistant.facts.catalogue import TYPES
    from assistant.facts.reference import fact_reference, reference

    for name in types:
        if name not in TYPES:
            raise UserError(f"no fact type {name!r} (types: {', '.join(TYPES)})"
                            + did_you_mean(name, TYPES))
    out.write("\n".join(fact_reference(n) for n in types) if types else reference())
    return EXIT_OK


def _trust(args: argparse.Namespace, env: Env) -> int:
    from assistant.engine import sources as rulepath

    if args.dir:
        target = Path(args.dir)
    else:
        found = rulepath.find_project(env.cwd)
        if found is None:
            raise UserError(f"no {rulepath.PROJECT_DIR} from {env.cwd} upward; give DIR")
        target = found
    if not target.is_dir():
        raise UserError(f"{target} is not a directory")
    if args.cmd == "untrust":
        done = rulepath.untrust(target, env.environ)
        env.stdout.write(f"{target}: {'no longer trusted' if done else 'was not trusted'}\n")
        return EXIT_OK
    try:
        digest = rulepath.trust(target, env.environ)
    except OSError as exc:
        raise UserError(f"cannot record trust: {exc}") from None
    names = ", ".join(p.name for p in sorted(target.glob("*.yaml"))) or "no rule files yet"
    env.stdout.write(f"{target}: trusted at {digest[:12]} ({names}); any change needs "
                     "`assistant rules trust` again\n")
    return EXIT_OK
