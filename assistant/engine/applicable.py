"""Which rules can apply to the question at hand, decided before the engine.

The target and symptom facts are known before any rule runs and never
change during a diagnosis (rules can only assert `note` facts). A rule whose
positive target or symptom pattern has a constant test those facts fail can
never fire, so it need not be registered with the engine at all: a team's
2,000 port-specific rules cost nothing for a question about another port.
The evaluation is conservative: anything it cannot decide (joins, absent
fields where the engine's answer differs) keeps the rule.
"""

from __future__ import annotations

from typing import Any

from assistant.engine.model import Ref, Rule
from assistant.engine.operators import MISSING, OPERATORS

# Per alternative: the constant tests of its positive target/symptom patterns,
# as (fact, [(field, op, value)]). Plain data, so it can be cached.
Selector = list[list[tuple[str, list[tuple[str, str, Any]]]]]

# Facts the session asserts before any rule runs, which never change during a
# diagnosis: one target and one symptom, any number of signals and answers;
# or, for `assistant doctor`, one checkup fact alone. So checkup rules cost a
# diagnosis nothing, and rules about a target cost a checkup nothing.
KNOWN = ("target", "symptom", "signal", "answer", "checkup")


def _test_may_hold(field: str, op: str, value: Any, fact: dict[str, Any]) -> bool:
    if isinstance(value, Ref):
        return True
    seen = fact.get(field)
    # A None value is never asserted (the runtime drops it): absent, as the engine sees it.
    held = OPERATORS[op].holds(MISSING if seen is None else seen, value)
    return True if held is None else held  # undecidable: keep the rule


def selector(rule: Rule) -> Selector:
    """What `may_apply` needs of a rule, as plain data."""
    return [[(p.fact, [(t.field, t.op, t.value) for t in p.tests
                       if not isinstance(t.value, Ref)])
             for p in alt if not p.negated and p.fact in KNOWN]
            for alt in rule.alternatives]


def selector_may_apply(sel: Selector, initial: list[dict[str, Any]]) -> bool:
    """False only when no alternative can fire for these facts: some positive
    pattern on a known fact type has no fact that may pass its constant tests
    (a rule on a signal the text does not carry, an answer not given)."""
    by_type: dict[str, list[dict[str, Any]]] = {}
    for f in initial:
        if f.get("type") in KNOWN:
            by_type.setdefault(f["type"], []).append(f)
    return any(all(any(all(_test_may_hold(field, op, value, f) for field, op, value in tests)
                       for f in by_type.get(fact, ()))
                   for fact, tests in alt)
               for alt in sel)


def may_apply(rule: Rule, initial: list[dict[str, Any]]) -> bool:
    """False only when no alternative of `rule` can fire for these facts."""
    return selector_may_apply(selector(rule), initial)
