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
- large rule sets are split into shards (separate durable rulesets) small
  enough that no per-node limit can be reached: at most SHARD_RULES rules
  and SHARD_TESTS tests each (65 rules sharing a join, 257 sharing a
  condition, or 513 tests under one node break or hang a single ruleset).
"""

from __future__ import annotations

from typing import Any

from assistant.engine.model import CATCH_ALL, GUARD_PREFIX, Pattern, Ref, Rule, RuleName, Test
from assistant.engine.operators import OPERATORS, negated

SHARD_RULES = 60
SHARD_TESTS = 400


def _test(t: Test) -> dict[str, Any]:
    v = t.value
    return OPERATORS[t.op].engine(t.field, {v.alias: v.field} if isinstance(v, Ref) else v)


def _rank(t: Test) -> int:
    if isinstance(t.value, Ref):
        return 3
    return 1 if t.op == "eq" else 2


def _expr(p: Pattern) -> dict[str, Any]:
    tests = [{"type": p.fact}] + [_test(t) for t in sorted(p.tests, key=_rank)]
    return tests[0] if len(tests) == 1 else {"$and": tests}


def _negation(exc: Pattern) -> dict[str, Any] | None:
    """NOT(all tests of `exc`) as one durable test, when expressible."""
    parts: list[dict[str, Any]] = []
    for t in exc.tests:
        neg = None if isinstance(t.value, Ref) else negated(t.op, t.value)
        if neg is None:
            return None  # no negated pattern match in the engine
        if t.op == "exists":
            parts.append(_test(Test(t.field, *neg)))
        else:
            # A fact without the field does not match the exception, so it
            # keeps the rule alive (the engine's $neq fails on absent fields).
            parts.append({"$or": [{"$nex": {t.field: 1}}, _test(Test(t.field, *neg))]})
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else {"$or": parts}


def split_exceptions(patterns: list[Pattern], exceptions: list[Pattern]
                     ) -> tuple[list[Pattern], list[Pattern], dict[str, list[dict[str, Any]]]]:
    """Exceptions on a fact type the rule already matches filter that match
    ("port.typo, except a near listener on 1080"): durable binds a fact to
    one pattern only, so as a separate negation it could never see the fact
    the rule matched. Other exceptions veto the rule when such a fact exists."""
    extra: dict[str, list[dict[str, Any]]] = {}
    veto = []
    for exc in exceptions:
        owners = [p for p in patterns if not p.negated and p.fact == exc.fact]
        test = _negation(exc) if len(owners) == 1 else None
        if test is None:
            veto.append(exc)
        else:
            extra.setdefault(owners[0].alias, []).append(test)
    return patterns, veto, extra


def compile_alternative(patterns: list[Pattern], exceptions: list[Pattern]) -> list[dict[str, Any]]:
    """durable `all` list for one alternative of a rule."""
    # Here, not at import: the catalogue loads every collector, which only
    # compiling needs (sharding a cached rule set does not).
    from assistant.facts.catalogue import PROVIDER

    patterns, exceptions, extra = split_exceptions(patterns, exceptions)
    out: list[dict[str, Any]] = []
    # durable binds each fact to at most one pattern of a rule, so a guard
    # the rule already states itself must not be added twice.
    guarded: set[str] = {
        str(t.value) for p in patterns if p.fact == "checked" and not p.negated
        for t in p.tests if t.field == "name" and t.op == "eq"}
    for p in list(patterns) + list(exceptions):
        check = PROVIDER.get(p.fact)
        if p.negated and check and check not in guarded:
            guarded.add(check)
            # Only a check that succeeded lets absence mean "not there".
            out.append({f"{GUARD_PREFIX}{check}": {"$and": [{"type": "checked"}, {"name": check},
                                                {"status": "ok"}]}})
        expr = _expr(p)
        if p.alias in extra and not p.negated:
            parts = expr.get("$and", [expr])
            expr = {"$and": parts + extra[p.alias]}
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
