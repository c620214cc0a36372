"""The pre-filter: which rules are registered for a question's target and symptom."""

from __future__ import annotations

import json

from assistant.engine.applicable import may_apply, selector, selector_may_apply
from assistant.engine.model import Conclude, Pattern, Ref, Rule, Test

TARGET = {"type": "target", "host": "127.0.0.1", "port": 5432, "kind": "ipv4"}
SYMPTOM = {"type": "symptom", "error": "refused", "client": "psql"}


def rule(*alternatives: list[Pattern]) -> Rule:
    return Rule(id="t.r", title="t", description="", category="reachable", priority=50,
                severity="info", enabled=True, tags=[], supersedes=[],
                alternatives=list(alternatives), exceptions=[], steps=[Conclude("x")],
                source="test")


def test_a_constant_test_the_target_fails_drops_the_rule() -> None:
    r = rule([Pattern("t", "target", [Test("port", "eq", 6379)])])
    assert not may_apply(r, [TARGET, SYMPTOM])
    assert may_apply(r, [{**TARGET, "port": 6379}, SYMPTOM])


def test_any_alternative_that_may_hold_keeps_the_rule() -> None:
    r = rule([Pattern("t", "target", [Test("port", "eq", 6379)])],
             [Pattern("s", "symptom", [Test("client", "in", ["psql", "mysql"])])])
    assert may_apply(r, [TARGET, SYMPTOM])
    assert not may_apply(r, [TARGET, {**SYMPTOM, "client": "curl"}])


def test_what_it_cannot_decide_keeps_the_rule() -> None:
    kept = [
        rule([Pattern("t", "target", []), Pattern("l", "listener", [
            Test("port", "eq", Ref("t", "port"))])]),                            # a join
        rule([Pattern("t", "target", [Test("port", "eq", 1)], negated=True),
              Pattern("s", "symptom", [])]),                                     # negated
        rule([Pattern("l", "listener", [Test("port", "eq", 1)])]),               # gathered later
        rule([Pattern("t", "target", [Test("scheme", "ne", "https")])]),         # absent field
        rule([Pattern("t", "target", [Test("port", "lt", "a")])]),               # type mismatch
    ]
    for r in kept:
        assert may_apply(r, [TARGET, SYMPTOM]), r.alternatives


def test_text_tests_are_decided_in_python() -> None:
    """`matches` is re.search, so the pre-filter knows it exactly."""
    r = rule([Pattern("t", "target", [Test("host", "matches", r"^127\.")])])
    assert may_apply(r, [TARGET, SYMPTOM])
    assert not may_apply(r, [{**TARGET, "host": "10.0.0.1"}, SYMPTOM])


def test_selectors_are_plain_data_that_survive_the_cache() -> None:
    r = rule([Pattern("t", "target", [Test("port", "in", [80, 443]),
                                      Test("host", "matches", r"^127\.")]),
              Pattern("s", "symptom", [Test("error", "eq", "refused")])])
    sel = json.loads(json.dumps(selector(r)))
    assert selector_may_apply(sel, [{**TARGET, "port": 443}, SYMPTOM])
    assert not selector_may_apply(sel, [TARGET, SYMPTOM])
    assert not selector_may_apply(sel, [{**TARGET, "port": 80}, {**SYMPTOM, "error": "timeout"}])


def test_rules_on_signals_and_answers_need_them() -> None:
    on_signal = rule([Pattern("s", "signal", [Test("name", "eq", "unsafe-port")])])
    on_answer = rule([Pattern("a", "answer", [Test("id", "eq", "client_location")]),
                      Pattern("t", "target", [])])
    assert not may_apply(on_signal, [TARGET, SYMPTOM])
    assert not may_apply(on_signal, [TARGET, SYMPTOM, {"type": "signal", "name": "proxy"}])
    assert may_apply(on_signal, [TARGET, SYMPTOM, {"type": "signal", "name": "proxy"},
                                 {"type": "signal", "name": "unsafe-port"}])
    assert not may_apply(on_answer, [TARGET, SYMPTOM])
    assert may_apply(on_answer, [TARGET, SYMPTOM, {"type": "answer", "id": "client_location",
                                                   "value": "a phone"}])
    # a negated signal pattern never prunes
    unless = rule([Pattern("t", "target", []),
                   Pattern("s", "signal", [Test("name", "eq", "proxy")], negated=True)])
    assert may_apply(unless, [TARGET, SYMPTOM])
