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
  pattern; a join in it cannot sit in an `$or` (error 311), so each join's
  negation becomes its own variant of the rule (the driver counts a firing
  once per rule and facts);
- large rule sets are split into shards (separate durable rulesets) small
  enough that no per-node limit can be reached: at most SHARD_RULES rules
  and SHARD_TESTS tests each (65 rules sharing a join, 257 sharing a
  condition, or 513 tests under one node break or hang a single ruleset).
"""

from __future__ import annotations

from typing import Any

from assistant.engine.model import CATCH_ALL, GUARD_PREFIX, Pattern, Ref, Rule, RuleName, Test
from assistant.engine.operators import OPERATORS, mark_name, negated
from assistant.facts.catalogue import PROVIDER

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


Choice = list[tuple[str, dict[str, Any]]]  # (alias, durable test) that hold together


def _negations(exc: Pattern, owner: str) -> list[Choice]:
    """NOT(all tests of `exc`), for the fact bound to `owner`, as choices any
    one of which may hold (one variant of the rule each): the constant
    tests' negations in one `$or`; for each join, its negation (with the
    joined field present) or the joined field absent or the field absent,
    because the engine refuses a join inside `$or` and fails an assert when
    a join other than equality meets an absent field (error 311). Empty
    when `exc` has no tests."""
    parts: list[dict[str, Any]] = []
    joins: list[Choice] = []
    for t in exc.tests:
        if OPERATORS[t.op].marked:
            # A fact without the mark (or without the field) does not match
            # the exception, so it keeps the rule alive.
            parts.append({"$nex": {mark_name(t.field, t.op, t.value): 1}})
            continue
        neg = negated(t.op, t.value)
        if neg is None:  # pragma: no cover - every unmarked operator has a negation
            raise ValueError(f"no negation for {t.op}")
        if isinstance(t.value, Ref):
            ref = t.value
            joins += [[(owner, _test(Test(t.field, *neg))), (ref.alias, {"$ex": {ref.field: 1}})],
                      [(ref.alias, {"$nex": {ref.field: 1}})],
                      [(owner, {"$nex": {t.field: 1}})]]
        elif t.op == "exists":
            parts.append(_test(Test(t.field, *neg)))
        else:
            # A fact without the field does not match the exception, so it
            # keeps the rule alive (the engine's $neq fails on absent fields).
            parts.append({"$or": [{"$nex": {t.field: 1}}, _test(Test(t.field, *neg))]})
    out: list[Choice] = [[(owner, parts[0] if len(parts) == 1 else {"$or": parts})]] \
        if parts else []
    return out + joins


def split_exceptions(patterns: list[Pattern], exceptions: list[Pattern]
                     ) -> tuple[list[Pattern], list[list[Choice]]]:
    """Exceptions on a fact type the rule already matches filter that match
    ("port.typo, except a near listener on 1080"): durable binds a fact to
    one pattern only, so as a separate negation it could never see the fact
    the rule matched. Other exceptions veto the rule when such a fact exists.

    Returns the vetoing exceptions and, per filter, its choices; the rule
    holds when one choice of every filter holds."""
    veto: list[Pattern] = []
    filters: list[list[Choice]] = []
    for exc in exceptions:
        owners = [p for p in patterns if not p.negated and p.fact == exc.fact]
        if not owners or not exc.tests:
            veto.append(exc)
            continue
        filters += [_negations(exc, owner.alias) for owner in owners]
    return veto, filters


MAX_VARIANTS = 16


def variant_count(patterns: list[Pattern], exceptions: list[Pattern]) -> int:
    """How many durable rules one alternative becomes (joins in exceptions)."""
    count = 1
    for choices in split_exceptions(patterns, exceptions)[1]:
        count *= len(choices)
    return count


def compile_alternative(patterns: list[Pattern], exceptions: list[Pattern]
                        ) -> list[list[dict[str, Any]]]:
    """durable `all` lists for one alternative of a rule: one, or one per
    combination of the choices its filtering exceptions leave."""
    veto, filters = split_exceptions(patterns, exceptions)
    combos: list[Choice] = [[]]
    for choices in filters:
        combos = [c + choice for c in combos for choice in choices][:MAX_VARIANTS]
    return [_compile(patterns, veto, combo) for combo in combos]


def _present(patterns: list[Pattern]) -> Choice:
    """A join other than equality fails the engine's assert when the joined
    fact lacks the field (error 311): the joined pattern requires it."""
    return [(t.value.alias, {"$ex": {t.value.field: 1}}) for p in patterns for t in p.tests
            if isinstance(t.value, Ref) and t.op != "eq"]


def _compile(patterns: list[Pattern], exceptions: list[Pattern],
             extra_tests: Choice) -> list[dict[str, Any]]:
    extra: dict[str, list[dict[str, Any]]] = {}
    for alias, test in extra_tests + _present(list(patterns) + list(exceptions)):
        if test not in extra.get(alias, []):
            extra.setdefault(alias, []).append(test)
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
            # Joins last (error 303 otherwise).
            expr = {"$and": parts + sorted(extra[p.alias], key=_has_join)}
        out.append({(p.alias + "$not") if p.negated else p.alias: expr})
    return out


def _has_join(test: dict[str, Any]) -> bool:
    return any(isinstance(v, dict) and any(isinstance(x, dict) for x in v.values())
               for v in test.values())


def compile_rules(rules: list[Rule]) -> dict[str, dict[str, Any]]:
    """Rule id -> durable rule definitions (`name -> {"all": [...], "pri": 1}`).

    The action (`run`) is bound by the runtime; names are RuleNames.
    """
    out: dict[str, dict[str, Any]] = {}
    for i, rule in enumerate(rules):
        j = 0
        for alt in rule.alternatives:
            for variant in compile_alternative(alt, rule.exceptions):
                out[str(RuleName(i, j))] = {"all": variant, "pri": 1}
                j += 1
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
