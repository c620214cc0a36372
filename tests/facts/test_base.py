"""The collector interface: declarations, validation, bounds, never raising."""

from __future__ import annotations

import threading
import time

import pytest

from assistant.facts.base import Collector, Context, FactType, Field, Summary, run_checks
from assistant.facts.catalogue import CHECKS, FACT_TYPES, PROVIDER, TYPES, fact_line
from assistant.facts.collectors import BY_NAME, MODULES, all_collectors
from assistant.understand.symptoms import Target

THING = FactType("thing", "a test fact", {
    "n": Field("int", "a number"), "kind": Field("str", "a kind", ("a", "b")),
    "on": Field("bool", "a flag")})


def make(collect, timeout: float = 1.0) -> dict[str, Collector]:
    c = Collector("things", "test", (THING,), collect,
                  lambda facts, target: Summary("ok", f"{len(facts)} things"), timeout=timeout)
    return {"things": c}


def ctx() -> Context:
    return Context(target=Target(host="127.0.0.1", port=1), env={})


@pytest.mark.parametrize("fact,reason", [
    ({"type": "thing", "n": 1, "extra": "x"}, "undeclared field thing.extra"),
    ({"type": "thing", "n": "1"}, "thing.n is str, declared int"),
    ({"type": "thing", "n": True}, "thing.n is bool, declared int"),
    ({"type": "thing", "kind": "c"}, "thing.kind='c' is not one of a, b"),
    ({"type": "other"}, "fact type 'other' is not one things provides"),
])
def test_a_fact_that_breaks_its_declaration_makes_the_check_unknown(fact: dict, reason: str) -> None:
    res = run_checks(["things"], ctx(), make(lambda c: [fact]))[0]
    assert res.status == "unknown" and res.facts == []
    assert res.reason == f"the things check emitted {reason}"


def test_declared_facts_pass_and_none_values_are_dropped() -> None:
    res = run_checks(["things"], ctx(), make(
        lambda c: [{"type": "thing", "n": 2, "kind": "a", "on": False, "missing": None}]))[0]
    assert res.status == "ok"
    assert res.facts == [{"type": "thing", "n": 2, "kind": "a", "on": False}]


def test_unknown_check_raising_and_hanging_collectors_never_raise() -> None:
    def boom(c: Context) -> list:
        raise PermissionError("denied")

    def hang(c: Context) -> list:
        time.sleep(5)
        return []

    collectors = {**make(boom), "slow": make(hang, timeout=0.2)["things"]}
    start = time.perf_counter()
    nope, raised, slow = run_checks(["nope", "things", "slow"], ctx(), collectors)
    assert time.perf_counter() - start < 2
    assert (nope.status, nope.reason) == ("unknown", "no check is named 'nope'")
    assert (raised.status, raised.reason) == ("unknown", "PermissionError: denied")
    assert (slow.status, slow.reason) == ("unknown", "timed out after 0.2 s")


def test_a_quick_check_runs_here_and_any_other_in_a_bounded_thread() -> None:
    where: dict[str, str] = {}

    def note(name: str):
        def collect(c: Context) -> list:
            where[name] = threading.current_thread().name
            return [{"type": "thing", "n": 1}]
        return collect

    def unsure(c: Context) -> bool:
        raise OSError("cannot tell")

    def quick(name: str, says) -> Collector:
        return make(note(name))["things"]._replace(name=name, quick=says)

    collectors = {"here": quick("here", lambda c: True), "idle": quick("idle", lambda c: False),
                  "unsure": quick("unsure", unsure), "plain": make(note("plain"))["things"]}
    results = run_checks(list(collectors), ctx(), collectors)
    assert [r.status for r in results] == ["ok"] * 4 and all(r.ms >= 0 for r in results)
    assert where["here"] == threading.current_thread().name
    assert {where[n] for n in ("idle", "unsure", "plain")} == {
        "check-idle", "check-unsure", "check-plain"}
    # A test's stand-in collect is always bounded, quick or not.
    hang = {"here": quick("here", lambda c: True)}
    start = time.perf_counter()
    res = run_checks(["here"], ctx(), {"here": hang["here"]._replace(timeout=0.2)},
                     {"here": lambda c: time.sleep(3) or []})[0]
    assert time.perf_counter() - start < 2 and res.reason == "timed out after 0.2 s"


def test_an_unknown_fact_keeps_the_rest_and_gives_the_reason() -> None:
    res = run_checks(["things"], ctx(), make(
        lambda c: [{"type": "thing", "n": 1}, {"type": "unknown", "reason": "half seen"}]))[0]
    assert (res.status, res.reason, res.facts) == ("unknown", "half seen",
                                                   [{"type": "thing", "n": 1}])


def test_the_catalogue_derives_from_the_collector_list() -> None:
    collectors = all_collectors()
    # each module's collector is the check its key in the list names
    assert list(CHECKS) == [c.name for c in collectors] == list(BY_NAME) == list(MODULES)
    for c in collectors:
        assert c.doc and c.timeout > 0 and c.provides
        for t in c.provides:
            assert PROVIDER[t.name] == c.name
            assert FACT_TYPES[t.name] == {f: s.kind for f, s in t.fields.items()}
            for name, spec in t.fields.items():
                assert spec.doc, f"{t.name}.{name} has no doc"
                assert spec.kind in ("str", "int", "bool")
    # session-asserted facts have no provider
    for name in ("target", "symptom", "answer", "checked", "note"):
        assert name in TYPES and name not in PROVIDER


def test_fact_lines_come_from_the_fact_types() -> None:
    assert fact_line({"type": "listener", "address": "::1", "port": 80, "pid": 7,
                      "process": "node", "status": "sleeping"}) == \
        "listener [::1]:80 pid 7 (node), sleeping"
    assert fact_line({"type": "probe", "address": "127.0.0.1", "port": 1, "result": "refused",
                      "ms": 0}) == "connect 127.0.0.1:1: refused in 0 ms"
    assert fact_line({"type": "environment", "container": False, "kind": "none", "wsl": False,
                      "sid": "1", "_n": 3}) == "environment container=False, kind=none, wsl=False"
    assert fact_line({"type": "mystery", "a": 1}) == "mystery a=1"


def test_every_collector_emits_only_what_it_declares_on_this_machine(server) -> None:
    """Every collector against a real listener: none is unknown because of
    a field it did not declare (a bug that would hide the field from rules)."""
    s = server("127.0.0.1")
    target_ctx = Context(target=Target(host="127.0.0.1", port=s.port), env={"http_proxy": "x"})
    from assistant.understand.symptoms import parse_target_host

    target_ctx.target.parsed = parse_target_host("127.0.0.1")
    for res in run_checks(list(BY_NAME), target_ctx, BY_NAME):
        assert "emitted" not in (res.reason or ""), (res.name, res.reason)
