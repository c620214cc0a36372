"""Intermediate form to durable-rules JSON. Pure: no durable import here.

What this handles of the engine's behaviour (docs/engine.md):
- operators go first (`{"$gt": {"port": 1}}`); the field-first form is
  accepted by the engine for some operators and silently wrong;
- there is no `in`: expand to `$or` / `$and` of `$neq`;
- tests are ordered type, equalities, other tests, joins last, so selective
  constant tests sit above joins (error 303 otherwise);
- a negation over a lazily gathered fact waits for its `checked` fact (with
  status ok), so it cannot fire before the facts it negates are asserted, nor
  when the check failed;
- durable binds each fact to at most one pattern of a rule: two patterns
  that could match the same fact need two facts;
- every durable rule gets the same `pri`: ranking is ours, not the engine's;
- a catch-all rule keeps facts no rule matches from raising;
- text tests (contains, matches, ...) are evaluated in Python before a fact
  is asserted (`marks`); the engine tests the mark, and can negate it;
- an exception on a fact type the rule matches filters that fact inside its
  pattern; joins other than equality, and exceptions with a join on a
  matched fact, are checked by the driver on the matched facts (`post_checks`):
  in the engine they fail asserts (error 311) or corrupt memory;
- large rule sets are split into shards (separate durable rulesets) small
  enough that no per-node limit can be reached: at most SHARD_RULES rules
  and SHARD_TESTS tests each (65 rules sharing a join, 257 sharing a
  condition, or 513 tests under one node break or hang a single ruleset).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from assistant.engine.model import CATCH_ALL, GUARD_PREFIX, Pattern, Ref, Rule, RuleName, Test
from assistant.engine.operators import MISSING, OPERATORS, mark_name, negated

SHARD_RULES = 60
SHARD_TESTS = 400


def _test(t: Test) -> dict[str, Any]:
    v = t.value
    return OPERATORS[t.op].engine(t.field, {v.alias: v.field} if isinstance(v, Ref) else v)


def _rank(t: Test) -> int:
    if isinstance(t.value, Ref):
        return 3
    return 1 if t.op == "eq" else 2


def in_engine(t: Test) -> bool:
    """Whether the engine evaluates `t`. A join other than equality is the
    driver's, on the matched facts: in the engine it fails the assert when
    the joined fact lacks the field (error 311), and when it does not hold,
    retracting the facts afterwards corrupts memory (a segfault on the next
    rule set; docs/engine.md)."""
    return not isinstance(t.value, Ref) or t.op == "eq"


def _expr(p: Pattern) -> dict[str, Any]:
    tests = [{"type": p.fact}] + [_test(t) for t in sorted(p.tests, key=_rank) if in_engine(t)]
    return tests[0] if len(tests) == 1 else {"$and": tests}


def _negation(exc: Pattern) -> dict[str, Any]:
    """NOT(all tests of `exc`) as one durable test, for a join-free `exc`."""
    parts: list[dict[str, Any]] = []
    for t in exc.tests:
        if OPERATORS[t.op].marked:
            # A fact without the mark (or without the field) does not match
            # the exception, so it keeps the rule alive.
            parts.append({"$nex": {mark_name(t.field, t.op, t.value): 1}})
            continue
        neg = negated(t.op, t.value)
        if neg is None:  # pragma: no cover - every unmarked operator has a negation
            raise ValueError(f"no negation for {t.op}")
        if t.op == "exists":
            parts.append(_test(Test(t.field, neg[0], neg[1])))
        else:
            # A fact without the field does not match the exception, so it
            # keeps the rule alive (the engine's $neq fails on absent fields).
            parts.append({"$or": [{"$nex": {t.field: 1}}, _test(Test(t.field, neg[0], neg[1]))]})
    return parts[0] if len(parts) == 1 else {"$or": parts}


class Split(NamedTuple):
    veto: list[Pattern]                       # separate negated patterns
    filters: dict[str, list[dict[str, Any]]]  # alias -> negated tests in its pattern
    driver: list[tuple[str, Pattern]]         # (alias, exception) the driver applies


def split_exceptions(patterns: list[Pattern], exceptions: list[Pattern]) -> Split:
    """Exceptions on a fact type the rule already matches filter that match
    ("port.typo, except a near listener on 1080"), for every pattern of that
    type: durable binds a fact to one pattern only, so as a separate negation
    it could never see the fact the rule matched. The engine cannot negate a
    join inside a pattern (it refuses a join inside `$or`, error 311), so an
    exception with a join is applied by the driver to the matched facts.
    Other exceptions veto the rule when such a fact exists."""
    out = Split([], {}, [])
    for exc in exceptions:
        owners = [p for p in patterns if not p.negated and p.fact == exc.fact]
        if not owners or not exc.tests:
            out.veto.append(exc)
        elif any(isinstance(t.value, Ref) for t in exc.tests):
            out.driver.extend((o.alias, exc) for o in owners)
        else:
            for o in owners:
                out.filters.setdefault(o.alias, []).append(_negation(exc))
    return out


class PostCheck(NamedTuple):
    """What the driver checks on a firing's matched facts: joins other than
    equality, and exceptions with joins on a matched fact."""

    joins: list[tuple[str, Test]]           # (alias, test) that must hold
    exceptions: list[tuple[str, Pattern]]   # (alias, exception) that must not hold


def post_checks(patterns: list[Pattern], exceptions: list[Pattern]) -> PostCheck:
    return PostCheck([(p.alias, t) for p in patterns if not p.negated for t in p.tests
                      if not in_engine(t)], split_exceptions(patterns, exceptions).driver)


def holds(t: Test, fact: dict[str, Any], matched: dict[str, dict[str, Any]]) -> bool:
    """Python's answer for one test on a matched fact (a join reads the fact
    matched to its alias); a missing field on either side never holds."""
    value = fact.get(t.field)
    arg = t.value
    if isinstance(arg, Ref):
        arg = matched.get(arg.alias, {}).get(arg.field)
        if arg is None or value is None:
            return False
    return bool(OPERATORS[t.op].holds(MISSING if value is None else value, arg))


def passes(check: PostCheck, matched: dict[str, dict[str, Any]]) -> bool:
    """Whether a firing with these matched facts stands."""
    if not all(holds(t, matched.get(alias, {}), matched) for alias, t in check.joins):
        return False
    return not any(all(holds(t, matched.get(alias, {}), matched) for t in exc.tests)
                   for alias, exc in check.exceptions)


def compile_alternative(patterns: list[Pattern], exceptions: list[Pattern]
                        ) -> list[dict[str, Any]]:
    """durable `all` list for one alternative of a rule."""
    # Here, not at import: the catalogue loads every collector, which only
    # compiling needs (sharding a cached rule set does not).
    from assistant.facts.catalogue import PROVIDER

    split = split_exceptions(patterns, exceptions)
    out: list[dict[str, Any]] = []
    # durable binds each fact to at most one pattern of a rule, so a guard
    # the rule already states itself must not be added twice.
    guarded: set[str] = {
        str(t.value) for p in patterns if p.fact == "checked" and not p.negated
        for t in p.tests if t.field == "name" and t.op == "eq"}
    for p in list(patterns) + list(split.veto):
        check = PROVIDER.get(p.fact)
        if p.negated and check and check not in guarded:
            guarded.add(check)
            # Only a check that succeeded lets absence mean "not there".
            out.append({f"{GUARD_PREFIX}{check}": {"$and": [{"type": "checked"}, {"name": check},
                                                {"status": "ok"}]}})
        expr = _expr(p)
        if p.alias in split.filters and not p.negated:
            expr = {"$and": expr.get("$and", [expr]) + split.filters[p.alias]}
        out.append({(p.alias + "$not") if p.negated else p.alias: expr})
    return out


def compile_rules(rules: list[Rule]) -> dict[str, dict[str, Any]]:
    """Rule id -> durable rule definitions (`name -> {"all": [...], "pri": 1}`).

    The action (`run`) is bound by the runtime; names are RuleNames.
    """
    out: dict[str, dict[str, Any]] = {}
    for i, rule in enumerate(rules):
        for j, alt in enumerate(rule.alternatives):
            out[str(RuleName(i, j))] = {"all": compile_alternative(alt, rule.exceptions), "pri": 1}
    out[CATCH_ALL] = {"all": [{"m": {"$ex": {"type": 1}}}], "pri": 65000}
    return out


# fact type -> (field, operator, operand, mark) of every text test on it
Marks = dict[str, list[tuple[str, str, str, str]]]


def text_marks(rules: list[Rule]) -> Marks:
    """The text tests the driver evaluates on each fact before asserting it."""
    out: dict[str, dict[str, tuple[str, str, str, str]]] = {}
    for rule in rules:
        for p in [p for alt in rule.alternatives for p in alt] + rule.exceptions:
            for t in p.tests:
                if OPERATORS[t.op].marked:
                    name = mark_name(t.field, t.op, t.value)
                    out.setdefault(p.fact, {})[name] = (t.field, t.op, str(t.value), name)
    return {fact: list(tests.values()) for fact, tests in out.items()}


def _count_tests(expr: Any) -> int:
    if isinstance(expr, dict):
        return sum(_count_tests(v) for v in expr.values()) if any(
            k.startswith("$") for k in expr) else max(1, len(expr))
    if isinstance(expr, list):
        return sum(_count_tests(x) for x in expr)
    return 1


def shard(definitions: dict[str, dict[str, Any]]) -> list[dict[str, dict[str, Any]]]:
    """Split compiled rules into rulesets within the engine's limits; each
    shard gets its own catch-all. Rule names keep their global index."""
    shards: list[dict[str, dict[str, Any]]] = []
    current: dict[str, dict[str, Any]] = {}
    tests = 0
    for name, rule in definitions.items():
        if name == CATCH_ALL:
            continue
        weight = _count_tests(rule["all"])
        if current and (len(current) >= SHARD_RULES or tests + weight > SHARD_TESTS):
            shards.append(current)
            current, tests = {}, 0
        current[name] = rule
        tests += weight
    if current or not shards:
        shards.append(current)
    for sh in shards:
        sh[CATCH_ALL] = definitions[CATCH_ALL]
    return shards
