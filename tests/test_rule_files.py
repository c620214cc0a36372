"""Every case of every built-in *.test.yaml, plus checks over the whole set."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.dirs import data_dir
from assistant.engine.driver import Compiled
from assistant.engine.loader import load_rules
from assistant.engine.ruletests import find_test_files, load_cases, run_case
from assistant.engine.sources import rule_files
from assistant.facts.catalogue import CHECKS, PROVIDER
from assistant.knowledge.entries import load_entries

RULES = data_dir("rules")
RULESET = load_rules(rule_files(RULES))
CASES = [(p, c) for p in find_test_files([RULES]) for c in load_cases(p)]


@pytest.fixture(scope="module")
def compiled() -> Compiled:
    return Compiled(RULESET)


@pytest.mark.parametrize("path,case", CASES, ids=[f"{p.stem}:{c['name']}" for p, c in CASES])
def test_rule_case(compiled: Compiled, path: Path, case: dict) -> None:
    res = run_case(compiled, case, str(path))
    assert res.ok, f"{case['where']}: {res.message} (concluded {list(res.rules)})"


def test_a_wrong_expectation_fails(compiled: Compiled) -> None:
    path, case = CASES[0]
    broken = {**case, "expect": {"top": "no.such_rule"}}
    assert not run_case(compiled, broken, str(path)).ok


def test_every_rule_has_positive_and_negative_cases() -> None:
    positive: set[str] = set()
    negative: set[str] = set()
    for _, case in CASES:
        exp = case.get("expect", {})
        positive.update([exp["top"]] if "top" in exp else [])
        positive.update(exp.get("diagnoses", []) + exp.get("fired", []))
        negative.update(exp.get("absent", []) + exp.get("not_fired", []))
    assert RULESET.rules
    for rid in [r.id for r in RULESET.rules]:
        assert rid in positive, f"{rid} has no positive case"
        assert rid in negative, f"{rid} has no negative case"


def test_rule_kb_ids_exist() -> None:
    ids = {e.id for e in load_entries()}
    for r in RULESET.rules:
        for k in r.kb_ids():
            assert k in ids, f"{r.id} names missing kb entry {k}"


def test_every_lazy_fact_a_rule_reads_is_checked_by_some_rule() -> None:
    checked = {c for r in RULESET.rules for c in r.checks()}
    for r in RULESET.rules:
        for alt in r.alternatives:
            for p in alt + r.exceptions:
                if p.fact in PROVIDER:
                    assert PROVIDER[p.fact] in checked, f"{r.id} reads {p.fact}, never gathered"
    assert checked <= set(CHECKS)


def test_builtin_categories_cover_the_core_table() -> None:
    cats = {r.category for r in RULESET.rules if r.category}
    assert cats >= {"reachable", "nothing-listening", "port-typo", "host-typo",
                    "address-family-mismatch", "wrong-bind-address", "port-conflict",
                    "process-stopped", "privileged-port", "proxy", "name-resolution"}
