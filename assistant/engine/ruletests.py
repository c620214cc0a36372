"""Run `*.test.yaml` cases against the effective rule set.

A case gives the initial facts, the answers, and what each check returns
(no live system is touched); it expects a top rule (`top`), rules concluded
or not (`diagnoses`, `absent`), rules fired or not whatever they do
(`fired`, `not_fired`), and questions asked (`asked`).

Against a rule set, a test file's references are checked too: every rule id
it expects, every question it answers or expects, and every fact a check
returns (a check gives only its own fact types). A case from a rule's own
pack is skipped, with the reason, when an override in another pack disabled
a rule it expects to conclude or fire, or replaced a rule it names: those
cases test the rule as its authors wrote it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.engine import driver, yamlsafe
from assistant.engine.filespecs import label, owner, rule_test_file
from assistant.engine.loader import read_text
from assistant.engine.model import Rule, RuleSet
from assistant.engine.spec import Issue, did_you_mean, issues
from assistant.errors import RuleFileError
from assistant.facts.base import CheckResult

POSITIVE = ("diagnoses", "fired")
NEGATIVE = ("absent", "not_fired")


@dataclass
class CaseResult:
    file: str
    name: str
    ok: bool
    message: str = ""
    rules: tuple[str, ...] = ()


def find_test_files(directories: list[Path]) -> list[Path]:
    return sorted(p for d in directories for p in d.glob("*.test.yaml"))


def load_cases(path: Path, ruleset: RuleSet | None = None) -> list[dict[str, Any]]:
    """Cases of one test file. Raises yamlsafe.YamlError for bad YAML and
    RuleFileError with every error, each at its bad key; with `ruleset`, the
    rule ids, questions and check facts it names are checked against it."""
    loaded = yamlsafe.load(read_text(path))
    data = loaded.data
    found = issues(rule_test_file(), data)
    if not found and ruleset is not None:
        found = _reference_issues(data, ruleset)
    problems = []
    for issue in sorted(found, key=lambda i: loaded.where(i.path)):
        line, col = loaded.where(issue.path)
        problems.append(f"{path}:{line}:{col}: {owner(data, issue.path) or '-'}: "
                        f"{label(issue.path)}: {issue.message}")
    if problems:
        raise RuleFileError(problems)
    cases = []
    for i, case in enumerate(data["tests"]):
        line, col = loaded.where(("tests", i))
        cases.append({"where": f"{path}:{line}:{col}", **case})
    return cases


def named_rules(case: dict[str, Any], kinds: tuple[str, ...] = POSITIVE + NEGATIVE) -> list[str]:
    """The rule ids a case names (`top` counts as positive)."""
    expect = case.get("expect") or {}
    out = [expect["top"]] if "top" in expect and "diagnoses" in kinds else []
    return out + [r for k in kinds for r in expect.get(k, [])]


def _reference_issues(data: dict[str, Any], ruleset: RuleSet) -> list[Issue]:
    from assistant.engine.references import known
    from assistant.facts.catalogue import CHECKS

    rules = ruleset.by_id()
    questions = known(rules, [s["name"] for s in ruleset.services], None).questions
    out: list[Issue] = []
    for i, case in enumerate(data["tests"]):
        at = ("tests", i)
        expect, given = case.get("expect") or {}, case.get("given") or {}
        ids: list[tuple[tuple[Any, ...], Any]] = [(("expect", "top"), expect["top"])] \
            if "top" in expect else []
        ids += [(("expect", k, j), r) for k in POSITIVE + NEGATIVE
                for j, r in enumerate(expect.get(k, []))]
        for where, rid in ids:
            if rid not in rules:
                out.append(Issue(at + where, f"no rule {rid!r} is loaded"
                                 + did_you_mean(rid, rules)))
        asked: list[tuple[tuple[Any, ...], Any]] = [
            (("expect", "asked", j), q) for j, q in enumerate(expect.get("asked", []))]
        asked += [(("given", "answers", q), q) for q in given.get("answers") or {}]
        for where, qid in asked:
            if qid not in questions:
                out.append(Issue(at + where, f"no rule asks question {qid!r}"
                                 + did_you_mean(qid, questions)))
        for check, facts in (given.get("checks") or {}).items():
            for j, fact in enumerate(facts):
                if fact.get("type") not in CHECKS[check]:
                    out.append(Issue(at + ("given", "checks", check, j, "type"), f"the `{check}` "
                                     f"check gives {', '.join(CHECKS[check])} facts, not "
                                     f"{fact.get('type')!r}"))
    return out


def _pack(source: str) -> Path:
    return Path(source.rsplit(":", 1)[0]).resolve().parent


def _elsewhere(changes: list[str], rule: Rule) -> list[str]:
    return [c for c in changes if _pack(c) != _pack(rule.source)]


def skip_reason(case: dict[str, Any], path: Path, ruleset: RuleSet) -> str | None:
    """Why a case is skipped, or None: a case in a rule's own pack that
    expects a rule another pack disabled, or names a rule another pack
    replaced, tests that rule as its authors wrote it."""
    rules = ruleset.by_id()
    here = path.resolve().parent
    for rid in named_rules(case, POSITIVE):
        rule = rules.get(rid)
        if rule is not None and not rule.enabled and _pack(rule.source) == here and \
                rule.disabled_by and _pack(rule.disabled_by) != here:
            return f"{rid} is disabled by {rule.disabled_by} ({rule.disabled_reason})"
    for rid in named_rules(case):
        rule = rules.get(rid)
        if rule is not None and _pack(rule.source) == here and _elsewhere(rule.replaced_by, rule):
            return (f"{rid} is replaced by {', '.join(_elsewhere(rule.replaced_by, rule))} "
                    "(run with --all to run it anyway)")
    return None


def run_case(compiled: driver.Compiled, case: dict[str, Any], file: str) -> CaseResult:
    given, expect = case.get("given", {}) or {}, case.get("expect", {}) or {}
    provided: dict[str, list[dict[str, Any]]] = given.get("checks") or {}
    unknown: list[str] = given.get("unknown_checks") or []

    def checks(names: list[str]) -> list[CheckResult]:
        out = []
        for n in names:
            if n in unknown:
                out.append(CheckResult(n, "unknown", [], 0.0, "simulated failure"))
            else:
                out.append(CheckResult(n, "ok", [dict(f) for f in provided.get(n, [])], 0.0))
        return out

    answers = {str(k): str(v) for k, v in (given.get("answers") or {}).items()}
    initial = [dict(f) for f in given.get("facts", [])]
    outcome = driver.run(compiled, initial, checks, answers)
    ids = [c.rule.id for c in outcome.conclusions]
    asked = [q.id for q in outcome.questions]
    problems = list(outcome.errors)
    fired = {t["rule"] for t in outcome.trace}
    # Every rule is registered here (run_files); a real run registers only
    # what the pre-filter keeps, so a rule it would leave out must not count.
    kept = {compiled.rules[i].id for i in compiled.selection(
        [{"type": "answer", "id": k, "value": v} for k, v in answers.items()] + initial)}
    problems += [f"{rid} fired here, but a real run would not register it for these facts "
                 "(engine/select.py)" for rid in sorted(fired - kept)]
    if "top" in expect:
        top = ids[0] if ids else None
        if top != expect["top"]:
            problems.append(f"top is {top}, expected {expect['top']}")
    for rid in expect.get("diagnoses", []):
        if rid not in ids:
            problems.append(f"{rid} not concluded")
    for rid in expect.get("absent", []):
        if rid in ids:
            problems.append(f"{rid} concluded but should not be")
    for qid in expect.get("asked", []):
        if qid not in asked:
            problems.append(f"question {qid} not asked")
    for rid in expect.get("fired", []):
        if rid not in fired:
            problems.append(f"{rid} did not fire")
    for rid in expect.get("not_fired", []):
        if rid in fired:
            problems.append(f"{rid} fired but should not have")
    if expect.get("nothing") and ids:
        problems.append(f"expected no diagnosis, got {ids}")
    return CaseResult(file, case["name"], not problems, "; ".join(problems), tuple(ids))


@dataclass
class Summary:
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    invalid: int = 0  # test files that could not be read or validated
    errors: list[str] | None = None

    def line(self) -> str:
        out = f"{self.passed} passed, {self.failed} failed"
        if self.skipped:
            out += f", {self.skipped} skipped"
        if self.invalid:
            out += f", {self.invalid} invalid test file{'s' if self.invalid > 1 else ''}"
        return out


def validate(paths: list[Path], ruleset: RuleSet | None
             ) -> tuple[dict[Path, list[dict[str, Any]]], list[str]]:
    """Load test files against a rule set (None: their shape only):
    (cases per valid file, problems)."""
    cases: dict[Path, list[dict[str, Any]]] = {}
    problems: list[str] = []
    for path in dict.fromkeys(paths):
        try:
            cases[path] = load_cases(path, ruleset)
        except RuleFileError as exc:
            problems += exc.problems
        except (OSError, yamlsafe.YamlError) as exc:
            problems.append(f"{path}:{getattr(exc, 'line', 1)}:{getattr(exc, 'column', 1)}: -: "
                            f"file: {exc}")
    return cases, problems


def run_files(paths: list[Path], ruleset: RuleSet, write: Any, run_all: bool = False) -> Summary:
    """Run every case of these files, writing PASS/FAIL/SKIP lines."""
    # Hundreds of cases make hundreds of distinct selections, each its own
    # engine ruleset that the engine never frees (~1.3 MB each): one ruleset
    # with every rule keeps `rules test` small. select.py has its own tests.
    compiled = driver.Compiled(ruleset, select=False)
    loaded, problems = validate(paths, ruleset)
    summary = Summary(invalid=len({p.split(":", 1)[0] for p in problems}), errors=problems)
    for path, cases in loaded.items():
        for case in cases:
            reason = None if run_all else skip_reason(case, path, ruleset)
            if reason is not None:
                summary.skipped += 1
                write(f"SKIP {path.name}: {case['name']}: {reason}\n")
                continue
            res = run_case(compiled, case, str(path))
            if res.ok:
                summary.passed += 1
                write(f"PASS {path.name}: {res.name}\n")
            else:
                summary.failed += 1
                write(f"FAIL {case['where']}: {res.name}: {res.message}\n")
    return summary


def untested(ruleset: RuleSet, cases: list[dict[str, Any]], packs: list[Path]) -> list[Rule]:
    """Rules defined in these folders that no case names."""
    named = {r for case in cases for r in named_rules(case)}
    folders = {p.resolve() for p in packs}
    return [r for r in ruleset.rules if r.id not in named and _pack(r.source) in folders]
