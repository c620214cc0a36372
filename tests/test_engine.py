"""The compiler's operators against the real engine, and the driver's rounds."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from assistant.engine.applicable import may_apply
from assistant.engine.driver import Compiled, run
from assistant.engine.model import Conclude, Pattern, Rule, RuleSet, Test
from assistant.engine.operators import MISSING, OPERATORS
from assistant.facts.base import CheckResult


def one_rule(tests: list[Test], fact: str = "target") -> Compiled:
    rule = Rule(id="t.rule", title="t", description="", category="reachable", priority=50,
                severity="info", enabled=True, tags=[], supersedes=[],
                alternatives=[[Pattern("t", fact, tests)]], exceptions=[],
                steps=[Conclude("{t.host}")],
                source="test")
    key = hashlib.sha256(repr([(t.field, t.op, t.value) for t in tests]).encode()).hexdigest()
    return Compiled(RuleSet([rule], [], key))


def fires(compiled: Compiled, fact: dict[str, Any]) -> bool:
    out = run(compiled, [{"type": "target", **fact}], lambda names: [], {})
    return bool(out.conclusions)


CASES = [
    (Test("port", "eq", 80), {"port": 80}, {"port": 81}),
    (Test("port", "ne", 80), {"port": 81}, {"port": 80}),
    (Test("port", "lt", 1024), {"port": 80}, {"port": 1024}),
    (Test("port", "lte", 1024), {"port": 1024}, {"port": 1025}),
    (Test("port", "gt", 1024), {"port": 1025}, {"port": 1024}),
    (Test("port", "gte", 1024), {"port": 1024}, {"port": 1023}),
    (Test("port", "in", [80, 443]), {"port": 443}, {"port": 8080}),
    (Test("port", "not_in", [80, 443]), {"port": 8080}, {"port": 80}),
    (Test("scheme", "exists", True), {"scheme": "http"}, {"port": 1}),
    (Test("scheme", "exists", False), {"port": 1}, {"scheme": "http"}),
    (Test("host", "contains", "a.b"), {"host": "xa.by"}, {"host": "xaxby"}),
    (Test("host", "icontains", "LOCAL"), {"host": "mylocalhost"}, {"host": "loc"}),
    (Test("host", "startswith", "127."), {"host": "127.0.0.2"}, {"host": "1270.0.0.1"}),
    (Test("host", "endswith", ".local"), {"host": "db.local"}, {"host": "db.localx"}),
    (Test("host", "matches", r"^\d+\.\d+\.\d+\.\d+$"), {"host": "10.0.0.1"}, {"host": "x.y"}),
    (Test("host", "matches", "b.c"), {"host": "abxcd"}, {"host": "ab.d"}),
    (Test("host", "matches", "(?i)LOCAL"), {"host": "db.local"}, {"host": "db.lan"}),
    (Test("loopback", "eq", True), {"loopback": True}, {"loopback": False}),
    # absent fields: the engine's answer, and the pre-filter's
    (Test("scheme", "eq", "http"), {"scheme": "http"}, {"port": 1}),
    (Test("scheme", "ne", "http"), {"scheme": "https"}, {"port": 1}),
    (Test("scheme", "not_in", ["http"]), {"scheme": "https"}, {"port": 1}),
    (Test("host", "contains", "x"), {"host": "x"}, {"port": 1}),
    (Test("port", "gt", 10), {"port": 11}, {"scheme": "x"}),
    # a None value is not asserted: the engine and the pre-filter see it absent
    (Test("scheme", "exists", False), {"scheme": None}, {"scheme": "http"}),
    (Test("scheme", "eq", "http"), {"scheme": "http"}, {"scheme": None}),
]


@pytest.mark.parametrize("test,yes,no", CASES, ids=[c[0].op + str(i) for i, c in enumerate(CASES)])
def test_operator(test: Test, yes: dict[str, Any], no: dict[str, Any]) -> None:
    """The engine's answer, and the pre-filter's: it must never drop a rule
    the engine fires, and where it can decide, it agrees with the engine."""
    c = one_rule([test])
    assert fires(c, yes)
    assert not fires(c, no)
    rule = c.rules[0]
    assert may_apply(rule, [{"type": "target", **yes}])
    value = no.get(test.field)
    decided = OPERATORS[test.op].holds(MISSING if value is None else value, test.value)
    if OPERATORS[test.op].marked:
        assert decided is not None  # text tests are Python's, evaluated before the engine
    if decided is not None:
        assert decided is False
        assert not may_apply(rule, [{"type": "target", **no}])


def test_negation_waits_for_its_check_and_sees_late_facts() -> None:
    """A `not listener` rule must not fire before listeners were gathered."""
    from assistant.dirs import data_dir
    from assistant.engine.loader import load_rules
    from assistant.engine.sources import rule_files

    compiled = Compiled(load_rules(rule_files(data_dir("rules"))))
    target = {"type": "target", "host": "127.0.0.1", "port": 4000, "kind": "ipv4", "family": 4,
              "address": "127.0.0.1", "loopback": True, "wildcard": False}
    symptom = {"type": "symptom", "error": "refused", "client": "curl", "role": "client"}
    listener = {"type": "listener", "address": "127.0.0.1", "port": 4000, "family": 4,
                "relation": "accepts", "stopped": False, "wildcard": False, "loopback": True}
    calls: list[list[str]] = []

    def checks(names: list[str]) -> list[CheckResult]:
        calls.append(names)
        return [CheckResult(n, "ok", [listener] if n == "listeners" else [], 0.0) for n in names]

    out = run(compiled, [target, symptom], checks, {})
    assert "port.nothing_listening" not in [c.rule.id for c in out.conclusions]
    assert {"listeners", "probe"} <= set(calls[0])
    # the same session state is reused: a second run starts clean
    out2 = run(compiled, [target, symptom], lambda n: [CheckResult(x, "ok", [], 0) for x in n], {})
    assert "port.nothing_listening" in [c.rule.id for c in out2.conclusions]


def test_action_errors_surface_instead_of_vanishing(monkeypatch: pytest.MonkeyPatch) -> None:
    from assistant.engine import runtime
    from assistant.engine.model import ERROR_KEY

    seen: list[str] = []
    c = one_rule([Test("port", "eq", 7)])
    sessions = c.use([{"type": "target", "port": 7}])
    for shard in sessions.shards:
        monkeypatch.setitem(runtime._sinks, shard.ruleset, lambda firing: (_ for _ in ()).throw(
            RuntimeError("boom")) if ERROR_KEY not in firing[1] else seen.append(
            firing[1][ERROR_KEY]["message"]))
    sessions.assert_fact({"type": "target", "port": 7})
    sessions.clear()
    assert seen and "boom" in seen[0]


def test_ctrl_c_inside_the_engine_loop_leaves_the_next_question_working(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A chat survives Ctrl-C: interrupted while the engine hands out rules,
    the session must not stay leased (the engine would start nothing for it
    for 60 s) nor keep the interrupted fact (review of the direct adapter)."""
    from assistant.engine import runtime

    c = one_rule([Test("port", "eq", 7)])
    sessions = c.use([{"type": "target", "port": 7}])
    shard = sessions.shards[0]
    real = runtime._sinks[shard.ruleset]
    hits: list[str] = []

    def interrupted(firing: runtime.Firing) -> None:
        raise KeyboardInterrupt

    monkeypatch.setitem(runtime._sinks, shard.ruleset, interrupted)
    with pytest.raises(KeyboardInterrupt):
        sessions.assert_fact({"type": "target", "port": 7})
    sessions.clear()
    monkeypatch.setitem(runtime._sinks, shard.ruleset, lambda f: hits.append(f[0]))
    sessions.assert_fact({"type": "target", "port": 7})
    sessions.clear()
    assert any(not h.startswith("__") for h in hits), hits  # the rule fired at once
    monkeypatch.setitem(runtime._sinks, shard.ruleset, real)


def test_template_fallbacks_for_hidden_values() -> None:
    from assistant.engine.driver import render_template

    matched = {"l": {"port": 80, "pid": 0, "process": ""}}
    text = "held by {l.process|a process} (pid {l.pid}) on {l.port}; {l.user|unknown user}; {l.cmdline}"
    assert render_template(text, matched) == "held by a process (pid 0) on 80; unknown user; ?"


def test_engine_starts_no_background_threads() -> None:
    """durable's Host re-arms dispatch timers forever, a thread per tick; ours
    does not start them (nothing is ever queued: actions are synchronous)."""
    import threading
    import time

    from assistant.session import Session

    Session().ask("cannot connect to 127.0.0.1:1")
    time.sleep(0.8)
    assert [t.name for t in threading.enumerate() if t.name.startswith("Thread-")] == []


def test_exception_filter_keeps_facts_without_the_field() -> None:
    """An exception 'process in [docker-proxy]' must not hide a listener whose
    process is unknown (another user's process, seen without its name)."""
    from assistant.engine.model import Pattern

    rule = Rule(id="t.filter", title="t", description="", category="port-conflict", priority=50,
                severity="problem", enabled=True, tags=[], supersedes=[],
                alternatives=[[Pattern("l", "listener", [Test("port", "eq", 80)])]],
                exceptions=[Pattern("x", "listener", [Test("process", "in", ["docker-proxy"])],
                                    negated=True)],
                steps=[Conclude("x")],
                source="test")
    c = Compiled(RuleSet([rule], [], hashlib.sha256(b"exception-filter").hexdigest()))
    assert run(c, [{"type": "listener", "port": 80}], lambda n: [], {}).conclusions
    assert run(c, [{"type": "listener", "port": 80, "process": "node"}], lambda n: [], {}).conclusions
    assert not run(c, [{"type": "listener", "port": 80, "process": "docker-proxy"}],
                   lambda n: [], {}).conclusions
