"""One rule (a mapping of a rule file) to the intermediate form.

The shape was checked by the file's spec (engine/filespecs.py); this adds
what a shape cannot say: aliases in scope, joins to real fields of the right
kind, lists, templates, a category for rules that conclude. References that
need the whole rule set (rule ids, questions, services, notes, KB ids, the
checks that gather a fact) are recorded in `Problems.refs` and resolved by
engine/references.py once every file is loaded.
"""

from __future__ import annotations

import re
from typing import Any

from assistant.engine import yamlsafe
from assistant.engine.filespecs import KIND_WORDS, label, owner, rule_file, value_problem
from assistant.engine.model import (
    TEMPLATE_REF,
    Ask,
    Assert,
    Check,
    Conclude,
    Pattern,
    Ref,
    Rule,
    Step,
    Test,
)
from assistant.engine.operators import OPERATORS
from assistant.engine.references import Reference
from assistant.engine.spec import did_you_mean, issues
from assistant.facts.catalogue import CHECKS, FACT_TYPES, PROVIDER, TYPES
from assistant.report import OS_NAMES, Command, Link

_REF = re.compile(r"\$([a-z][a-z0-9_]{0,30})\.([a-z_][a-z0-9_]{0,40})")
Where = tuple[Any, ...]


class Problems:
    """Collects errors for one file; knows which parts are badly shaped, the
    lists its pack defines, and the references to resolve at the end."""

    def __init__(self, path: str, loaded: yamlsafe.Loaded | None):
        self.path, self.loaded = path, loaded
        self.items: list[str] = []
        self.lists: dict[str, list[Any]] = {}
        self.bad: set[Where] = set()  # (section, index) of items with shape errors
        self.at: list[tuple[int, int]] = []
        self.refs: list[Reference] = []
        self.dropped: list[tuple[str | None, list[Step]]] = []  # rules not built (errors)

    def where(self, path: Where) -> tuple[int, int]:
        return self.loaded.where(path) if self.loaded else (1, 1)

    def add(self, where: Where, rule_id: str | None, fld: str, message: str) -> None:
        line, col = self.where(where)
        self.items.append(f"{self.path}:{line}:{col}: {rule_id or '-'}: {fld}: {message}")
        self.at.append((line, col))

    def refer(self, kind: str, value: Any, where: Where, rule_id: str | None, fld: str,
              context: Any = None) -> None:
        """Record a reference engine/references.py resolves once all is loaded."""
        self.refs.append(Reference(kind, value, where, rule_id, fld, context))

    def in_order(self) -> list[str]:
        """The problems in the order of their place in the file."""
        return [text for _, text in sorted(zip(self.at, self.items, strict=True),
                                           key=lambda pair: pair[0])]

    def shape(self, data: Any) -> None:
        """Report every shape error of the file and remember where they are."""
        for issue in issues(rule_file(), data):
            self.add(issue.path, owner(data, issue.path), label(issue.path), issue.message)
            self.bad.add(issue.path[:2])



def parse_rule(raw: Any, at: Where, probs: Problems, lists: dict[str, list[Any]],
               well_shaped: bool = True) -> Rule | None:
    """Build one rule, recording what only the loader can see; None when the
    rule is badly shaped or breaks such a rule (the problems say why)."""
    if not isinstance(raw, dict):
        return None
    before = len(probs.items)
    rid = raw.get("id") if isinstance(raw.get("id"), str) else None
    alternatives: list[list[Pattern]] = []
    aliases: dict[str, str] = {}
    when = raw.get("when")
    mode = next(iter(when)) if isinstance(when, dict) and len(when) == 1 else None
    items = when.get(mode) if isinstance(when, dict) and mode in ("all", "any") else None
    if isinstance(items, list) and mode == "all":
        alternatives.append(_patterns(items, at + ("when", "all"), rid, probs, lists, aliases))
    elif isinstance(items, list):
        for j, item in enumerate(items):
            alt_aliases: dict[str, str] = {}
            alternatives.append(_patterns([item], at + ("when", "any"), rid, probs, lists,
                                          alt_aliases, index_base=j))
            # Later steps may only name aliases every alternative defines.
            aliases = alt_aliases if j == 0 else {k: v for k, v in aliases.items()
                                                  if alt_aliases.get(k) == v}
    exceptions: list[Pattern] = []
    raw_exc = raw.get("exceptions", [])
    for j, item in enumerate(raw_exc if isinstance(raw_exc, list) else []):
        p = _pattern(item, at + ("exceptions", j), rid, probs, lists, dict(aliases), f"x{j}")
        if p is not None:
            exceptions.append(p._replace(negated=True))
    _check_negated_joins(alternatives, exceptions, at, rid, probs)
    for k, sid in enumerate(_list(raw.get("supersedes"))):
        probs.refer("rule", sid, at + ("supersedes", k), rid, "supersedes")
    category = raw.get("category")
    steps = _steps(raw.get("then"), at + ("then",), rid, probs, aliases, category)
    if len(probs.items) > before or rid is None or not well_shaped:
        # What it asks, asserts and gathers still counts for the references
        # of other rules: one error must not bring others that are not there.
        probs.dropped.append((rid, steps))
        return None
    line, _ = probs.loaded.where(at) if probs.loaded else (1, 1)
    return Rule(id=rid, title=str(raw["title"]).strip(),
                description=str(raw.get("description", "")).strip(), category=category,
                priority=raw.get("priority", 50), severity=raw.get("severity", "problem"),
                enabled=raw.get("enabled", True), tags=list(raw.get("tags", [])),
                supersedes=list(raw.get("supersedes", [])), alternatives=alternatives,
                exceptions=exceptions, steps=steps, source=f"{probs.path}:{line}",
                # Lists expanded: an override in another pack re-reads this rule.
                raw=expand_lists(dict(raw), lists))


def _check_negated_joins(alternatives: list[list[Pattern]], exceptions: list[Pattern],
                         at: Where, rid: str | None, probs: Problems,
                         own_path: bool = False) -> None:
    """In a `not:` pattern, or an exception on a fact type the rule does not
    match, the engine evaluates the join: only equality is safe there
    (compiler.in_engine says why)."""
    matched = {p.fact for alt in alternatives for p in alt if not p.negated}
    where = [(at if own_path else at + ("exceptions", j), x) for j, x in enumerate(exceptions)
             if x.fact not in matched]
    for path, p in where:
        for t in p.tests:
            if isinstance(t.value, Ref) and t.op != "eq":
                probs.add(path + ("match", t.field), rid, f"match.{t.field}", f"`{t.op}: ${t.value.alias}."
                          f"{t.value.field}`: in `not:` (and in an exception on a fact the rule "
                          "does not match) a join can only be equality, `field: $alias.field`")
                return


def _patterns(items: list[Any], at: Where, rid: str | None, probs: Problems,
              lists: dict[str, list[Any]], aliases: dict[str, str],
              index_base: int = 0) -> list[Pattern]:
    out: list[Pattern] = []
    for j, item in enumerate(items):
        where = at + (index_base + j,)
        negated = isinstance(item, dict) and set(item) == {"not"}
        p = _pattern(item["not"] if negated else item, where + (("not",) if negated else ()),
                     rid, probs, lists, aliases, f"p{index_base + j}")
        if p is None:
            continue
        p = p._replace(negated=negated)
        if negated:
            _check_negated_joins([], [p], where + ("not",), rid, probs, own_path=True)
        if not negated:
            aliases[p.alias] = p.fact
        else:
            aliases.pop(p.alias, None)
        out.append(p)
    if out and all(p.negated for p in out):
        probs.add(at, rid, "when", "needs at least one positive pattern (not only `not:`)")
    return out


def _pattern(item: Any, at: Where, rid: str | None, probs: Problems,
             lists: dict[str, list[Any]], aliases: dict[str, str], auto: str) -> Pattern | None:
    if not isinstance(item, dict) or item.get("fact") not in FACT_TYPES:
        return None  # the shape check reported it
    fact = item["fact"]
    alias = item.get("as", f"_{auto}")
    if not isinstance(alias, str):
        return None
    if alias in aliases:
        probs.add(at + ("as",), rid, "as", f"alias {alias!r} is already used in this rule")
    fields = FACT_TYPES[fact]
    tests: list[Test] = []
    match = item.get("match") or {}
    for fld, cond in (match.items() if isinstance(match, dict) else ()):
        if fld not in fields:
            continue
        ops = cond if isinstance(cond, dict) else {"eq": cond}
        for op, value in ops.items():
            if op not in OPERATORS:
                continue
            value = _value(value, op, at + ("match", fld), rid, (fact, fld), probs, lists,
                           aliases)
            if value is not _BAD:
                tests.append(Test(fld, op, value))
    _refer(fact, tests, at, rid, probs)
    return Pattern(alias, fact, tests)


# Fields whose values name something the rule set declares elsewhere.
_NAMED = {("answer", "id"): "question", ("service", "name"): "service", ("note", "name"): "note"}


def _refer(fact: str, tests: list[Test], at: Where, rid: str | None, probs: Problems) -> None:
    """Record what a pattern refers to: the check that gathers its fact, the
    question an `answer` answers (and the choice), a declared service, a
    note some rule asserts."""
    if fact in PROVIDER:
        probs.refer("gathered", PROVIDER[fact], at + ("fact",), rid, "fact", fact)
    question = next((t.value for t in tests if fact == "answer" and t.field == "id"
                     and t.op == "eq"), None)
    for t in tests:
        if t.op not in ("eq", "in") or isinstance(t.value, Ref):
            continue
        for value in (t.value if t.op == "in" else [t.value]):
            kind = _NAMED.get((fact, t.field))
            if kind is not None:
                probs.refer(kind, value, at + ("match", t.field), rid, f"match.{t.field}")
            elif fact == "answer" and t.field == "value" and question is not None:
                probs.refer("choice", value, at + ("match", "value"), rid, "match.value",
                            question)


_BAD = object()


def _value(value: Any, op: str, where: Where, rid: str | None, field: tuple[str, str],
           probs: Problems, lists: dict[str, list[Any]], aliases: dict[str, str]) -> Any:
    """The value of `fld: {op: value}`: lists resolved and checked against the
    field, joins checked."""
    fact, fld = field
    spec = TYPES[fact].fields[fld]
    kind = OPERATORS[op].value
    if kind == "list" and isinstance(value, str) and value.startswith("@"):
        if value[1:] not in lists:
            probs.add(where + (op,), rid, f"match.{fld}", f"unknown list {value!r} (lists are "
                      "shared by the rule files of one folder: define it under `lists:` in one of "
                      "them)" + did_you_mean(value[1:], lists))
            return _BAD
        bad = [p for v in lists[value[1:]] if (p := value_problem(f"{fact}.{fld}", spec, v))]
        if bad:
            probs.add(where + (op,), rid, f"match.{fld}", f"list {value!r}: {bad[0]}")
            return _BAD
        value = lists[value[1:]]
    if kind in ("list", "bool", "text") or not (isinstance(value, str) and value.startswith("$")):
        return list(value) if isinstance(value, list) else value
    m = _REF.fullmatch(value)
    if not m:
        probs.add(where, rid, f"match.{fld}", f"bad reference {value!r} (use $alias.field)")
        return _BAD
    alias, ref_field = m.groups()
    if alias not in aliases:
        # The engine would accept a join to an unknown alias and treat it
        # as always true; refuse it here.
        probs.add(where, rid, f"match.{fld}", f"{value!r} names alias {alias!r}, which no "
                  "earlier positive pattern defines")
        return _BAD
    if ref_field not in FACT_TYPES[aliases[alias]]:
        probs.add(where, rid, f"match.{fld}", f"{value!r}: fact {aliases[alias]!r} has no field "
                  f"{ref_field!r}" + did_you_mean(ref_field, FACT_TYPES[aliases[alias]]))
        return _BAD
    other = FACT_TYPES[aliases[alias]][ref_field]
    if other != spec.kind:
        probs.add(where, rid, f"match.{fld}", f"{value!r} is {KIND_WORDS[other]} and "
                  f"{fact}.{fld} is {KIND_WORDS[spec.kind]}: they are never equal")
        return _BAD
    if not OPERATORS[op].refs:
        probs.add(where, rid, f"match.{fld}", f"`{op}` cannot take a reference")
        return _BAD
    return Ref(alias, ref_field)


def _check_templates(texts: list[Any], where: Where, rid: str | None, fld: str,
                     probs: Problems, aliases: dict[str, str]) -> None:
    for text in texts:
        if not isinstance(text, str):
            continue
        for alias, ref_field, _ in TEMPLATE_REF.findall(text):
            if alias not in aliases:
                probs.add(where, rid, fld, f"{{{alias}.{ref_field}}} names an unknown alias")
            elif ref_field not in FACT_TYPES[aliases[alias]]:
                probs.add(where, rid, fld, f"{{{alias}.{ref_field}}}: fact {aliases[alias]!r} has "
                          f"no field {ref_field!r}")


def _steps(raw: Any, at: Where, rid: str | None, probs: Problems, aliases: dict[str, str],
           category: Any) -> list[Step]:
    steps: list[Step] = []
    for i, step in enumerate(raw if isinstance(raw, list) else []):
        if not isinstance(step, dict) or len(step) != 1:
            continue
        kind, body = next(iter(step.items()))
        where = at + (i, kind)
        if kind == "check":
            names = body if isinstance(body, list) else [body]
            steps.append(Check(tuple(n for n in names if n in CHECKS)))
        elif kind == "conclude" and isinstance(body, dict):
            if category is None:
                probs.add(where, rid, "category", "a rule that concludes needs a category")
            evidence, kb = _list(body.get("evidence")), _list(body.get("kb"))
            fixes = [fx for fx in _list(body.get("fix")) if isinstance(fx, dict)
                     and fx.get("os") in OS_NAMES and isinstance(fx.get("command"), str)]
            for j, fx in enumerate(_list(body.get("fix"))):
                if fx in fixes:
                    _check_templates([fx["command"], fx.get("why", "")], where + ("fix", j), rid,
                                     "conclude.fix", probs, aliases)
            _check_templates([body.get("summary")], where + ("summary",), rid, "conclude.summary",
                             probs, aliases)
            _check_templates(evidence, where + ("evidence",), rid, "conclude.evidence", probs,
                             aliases)
            for j, k in enumerate(kb):
                probs.refer("kb", k, where + ("kb", j), rid, "conclude.kb")
            links = [Link("", ln) if isinstance(ln, str) else
                     Link(str(ln.get("title", "")), str(ln.get("url")))
                     for ln in _list(body.get("links")) if isinstance(ln, (str, dict))]
            steps.append(Conclude(str(body.get("summary", "")), tuple(map(str, evidence)), tuple(
                Command(fx["os"], fx["command"], str(fx.get("why", ""))) for fx in fixes),
                tuple(map(str, kb)), tuple(links)))
        elif kind == "ask" and isinstance(body, dict):
            steps.append(Ask(str(body.get("id")), str(body.get("text")),
                             tuple(str(c) for c in _list(body.get("choices")))))
        elif kind == "assert" and isinstance(body, dict):
            fields = body.get("fields")
            fields = fields if isinstance(fields, dict) else {}
            for fld, val in fields.items():
                _check_templates([val], where, rid, f"assert.{fld}", probs, aliases)
            steps.append(Assert(dict(fields)))
    return steps


def _list(value: Any) -> list[Any]:
    """`value` when the shape check let a list through, else nothing."""
    return value if isinstance(value, list) else []


def expand_lists(value: Any, lists: dict[str, list[Any]]) -> Any:
    """Replace `in: "@name"` by the list itself, so text an override adds to a
    rule keeps meaning when later files re-read that rule."""
    if isinstance(value, dict):
        return {k: (list(lists[v[1:]]) if k in ("in", "not_in") and isinstance(v, str)
                    and v.startswith("@") and v[1:] in lists else expand_lists(v, lists))
                for k, v in value.items()}
    if isinstance(value, list):
        return [expand_lists(v, lists) for v in value]
    return value


