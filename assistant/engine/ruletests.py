"""Run `*.test.yaml` cases against the effective rule set.

A case gives the initial facts, the answers, and what each check returns
(no live system is touched); it expects a top rule (`top`), rules concluded
or not (`diagnoses`, `absent`), rules fired or not whatever they do
(`fired`, `not_fired`), and questions asked (`asked`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.engine import driver, yamlsafe
from assistant.engine.filespecs import label, owner, rule_test_file
from assistant.engine.loader import read_text
from assistant.engine.spec import issues
from assistant.errors import RuleFileError
from assistant.facts.base import CheckResult


@dataclass
class CaseResult:
    file: str
    name: str
    ok: bool
    message: str = ""
    rules: tuple[str, ...] = ()


def find_test_files(directories: list[Path]) -> list[Path]:
    return sorted(p for d in directories for p in d.glob("*.test.yaml"))


def load_cases(path: Path) -> list[dict[str, Any]]:
    """Cases of one test file. Raises yamlsafe.YamlError for bad YAML and
    RuleFileError with every shape error, each at its bad key."""
    loaded = yamlsafe.load(read_text(path))
    data = loaded.data
    problems = []
    for issue in issues(rule_test_file(), data):
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
    outcome = driver.run(compiled, [dict(f) for f in given.get("facts", [])], checks, answers)
    ids = [c.rule.id for c in outcome.conclusions]
    asked = [q.id for q in outcome.questions]
    problems = list(outcome.errors)
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
    fired = {t["rule"] for t in outcome.trace}
    for rid in expect.get("fired", []):
        if rid not in fired:
            problems.append(f"{rid} did not fire")
    for rid in expect.get("not_fired", []):
        if rid in fired:
            problems.append(f"{rid} fired but should not have")
    if expect.get("nothing") and ids:
        problems.append(f"expected no diagnosis, got {ids}")
    return CaseResult(file, case["name"], not problems, "; ".join(problems), tuple(ids))
