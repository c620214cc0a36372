"""Rule files (format 1) to the intermediate form, with every error at once.

Each error names `file:line:column: rule-id: field: message`. The shape of
a file is checked by its spec (engine/filespecs.py), which reports every
shape error; this module builds rules from what is well-shaped and adds
what a shape cannot say: aliases in scope, joins to real fields, templates,
lists, a category for rules that conclude, services declared twice,
redefinitions and overrides. Nothing in a rule file is executed: values are
matched, templated or shown, never run.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

from assistant.engine import yamlsafe
from assistant.engine.compiler import MAX_VARIANTS, variant_count
from assistant.engine.filespecs import KIND_WORDS, RULE_KEYS, label, owner, rule_file, value_problem
from assistant.engine.model import (
    DIGEST_SALT,
    TEMPLATE_REF,
    Ask,
    Assert,
    Check,
    Conclude,
    Pattern,
    Ref,
    Rule,
    RuleSet,
    Step,
    Test,
    digest_part,
)
from assistant.engine.operators import OPERATORS
from assistant.engine.spec import did_you_mean, issues
from assistant.errors import RuleFileError
from assistant.facts.catalogue import CHECKS, FACT_TYPES, TYPES
from assistant.report import OS_NAMES, Command

_REF = re.compile(r"\$([a-z][a-z0-9_]{0,30})\.([a-z_][a-z0-9_]{0,40})")
Where = tuple[Any, ...]


class Problems:
    """Collects errors for one file; knows which parts are badly shaped."""

    def __init__(self, path: str, loaded: yamlsafe.Loaded | None):
        self.path, self.loaded = path, loaded
        self.items: list[str] = []
        self.lists: dict[str, list[Any]] = {}
        self.bad: set[Where] = set()  # (section, index) of items with shape errors
        self._at: list[tuple[int, int]] = []

    def add(self, where: Where, rule_id: str | None, fld: str, message: str) -> None:
        line, col = self.loaded.where(where) if self.loaded else (1, 1)
        self.items.append(f"{self.path}:{line}:{col}: {rule_id or '-'}: {fld}: {message}")
        self._at.append((line, col))

    def in_order(self) -> list[str]:
        """The problems in the order of their place in the file."""
        return [text for _, text in sorted(zip(self._at, self.items, strict=True),
                                           key=lambda pair: pair[0])]

    def shape(self, data: Any) -> None:
        """Report every shape error of the file and remember where they are."""
        for issue in issues(rule_file(), data):
            self.add(issue.path, owner(data, issue.path), label(issue.path), issue.message)
            self.bad.add(issue.path[:2])


def read_text(path: Path) -> str:
    data = path.read_bytes()
    if len(data) > yamlsafe.MAX_BYTES:
        raise yamlsafe.YamlError(f"file is {len(data) // 1024} KB; the limit is "
                                 f"{yamlsafe.MAX_BYTES // 1024} KB")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise yamlsafe.YamlError("file is not UTF-8 text") from None


Override = tuple[dict[str, Any], Problems, Where]


def load_rules(paths: list[Path]) -> RuleSet:
    """Load, validate and merge rule files (later files override earlier)."""
    problems: list[str] = []
    rules: dict[str, Rule] = {}
    services: dict[str, dict[str, Any]] = {}
    pending_overrides: list[Override] = []
    digest = hashlib.sha256(DIGEST_SALT)
    for path in paths:
        try:
            text = read_text(path)
            digest.update(digest_part(path, text.encode()))
            loaded = yamlsafe.load(text)
        except (OSError, yamlsafe.YamlError) as exc:
            line, col = getattr(exc, "line", 1), getattr(exc, "column", 1)
            problems.append(f"{path}:{line}:{col}: -: file: {exc}")
            continue
        probs = Problems(str(path), loaded)
        for rule, at in _parse_file(loaded, probs, pending_overrides, services):
            if rule.id in rules:
                probs.add(at + ("id",), rule.id, "id", f"redefines rule {rule.id!r} from "
                          f"{rules[rule.id].source}; use `overrides:` to change it")
                continue
            rules[rule.id] = rule
        problems.extend(probs.in_order())
    for ov, probs, where in pending_overrides:
        _apply_override(ov, rules, probs, where)
        problems.extend(probs.items)
        probs.items = []
    if problems:
        raise RuleFileError(problems)
    return RuleSet(list(rules.values()), [str(p) for p in paths], digest.hexdigest(),
                   services=list(services.values()))


def _parse_file(loaded: yamlsafe.Loaded, probs: Problems, overrides: list[Override],
                services: dict[str, dict[str, Any]]) -> list[tuple[Rule, Where]]:
    data = loaded.data
    probs.shape(data)
    if not isinstance(data, dict):
        return []
    lists = data.get("lists") if ("lists",) not in probs.bad else None
    probs.lists = lists if isinstance(lists, dict) else {}
    _services(data.get("services"), probs, services)
    out: list[tuple[Rule, Where]] = []
    raw_rules = data.get("rules")
    for i, raw in enumerate(raw_rules if isinstance(raw_rules, list) else []):
        rule = parse_rule(raw, ("rules", i), probs, probs.lists, ("rules", i) not in probs.bad)
        if rule is not None:
            out.append((rule, ("rules", i)))
    raw_ov = data.get("overrides")
    for i, ov in enumerate(raw_ov if isinstance(raw_ov, list) else []):
        if ("overrides", i) in probs.bad or not isinstance(ov, dict):
            continue
        ov_probs = Problems(probs.path, loaded)
        ov_probs.lists = probs.lists  # an override's patterns may use its own file's lists
        overrides.append((ov, ov_probs, ("overrides", i)))
    return out


def _services(raw: Any, probs: Problems, seen: dict[str, dict[str, Any]]) -> None:
    """`services:` declarations: data for the `services` check, no code."""
    for i, svc in enumerate(raw if isinstance(raw, list) else []):
        at = ("services", i)
        if at in probs.bad or not isinstance(svc, dict):
            continue
        name = svc["name"]
        line = probs.loaded.where(at)[0] if probs.loaded else 1
        if name in seen:
            probs.add(at + ("name",), name, "services.name",
                      f"service {name!r} is already declared at {seen[name]['source']}")
            continue
        seen[name] = {**svc, "source": f"{probs.path}:{line}"}


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
            p.negated = True
            exceptions.append(p)
    _check_filter_joins(alternatives, exceptions, at, rid, probs)
    if any(variant_count(alt, exceptions) > MAX_VARIANTS for alt in alternatives):
        probs.add(at + ("exceptions",), rid, "exceptions", "too many joins (`$alias.field`) in "
                  "exceptions on the facts this rule matches: each one doubles the rule; "
                  f"at most {MAX_VARIANTS} combinations")
    category = raw.get("category")
    steps = _steps(raw.get("then"), at + ("then",), rid, probs, aliases, category)
    if len(probs.items) > before or rid is None or not well_shaped:
        return None
    line, _ = probs.loaded.where(at) if probs.loaded else (1, 1)
    return Rule(id=rid, title=str(raw["title"]).strip(),
                description=str(raw.get("description", "")).strip(), category=category,
                priority=raw.get("priority", 50), severity=raw.get("severity", "problem"),
                enabled=raw.get("enabled", True), tags=list(raw.get("tags", [])),
                supersedes=list(raw.get("supersedes", [])), alternatives=alternatives,
                exceptions=exceptions, steps=steps, source=f"{probs.path}:{line}", raw=dict(raw))


def _check_filter_joins(alternatives: list[list[Pattern]], exceptions: list[Pattern], at: Where,
                        rid: str | None, probs: Problems) -> None:
    """An exception on a fact type the rule matches becomes part of that
    pattern; the engine joins only to patterns before it."""
    for j, exc in enumerate(exceptions):
        for alt in alternatives:
            order = [p.alias for p in alt]
            for bound in (p for p in alt if not p.negated and p.fact == exc.fact):
                late = [t.value.alias for t in exc.tests if isinstance(t.value, Ref)
                        and order.index(t.value.alias) >= order.index(bound.alias)]
                if late:
                    probs.add(at + ("exceptions", j), rid, "exceptions", f"this exception "
                              f"filters the {exc.fact} fact `{bound.alias}` and joins to "
                              f"`{late[0]}`, which comes after it: move `{late[0]}`'s pattern "
                              f"above `{bound.alias}`'s")
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
        p.negated = negated
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
    return Pattern(alias, fact, tests)


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
            steps.append(Conclude(str(body.get("summary", "")), tuple(map(str, evidence)), tuple(
                Command(fx["os"], fx["command"], str(fx.get("why", ""))) for fx in fixes),
                tuple(map(str, kb))))
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


def _expand_lists(value: Any, lists: dict[str, list[Any]]) -> Any:
    """Replace `in: "@name"` by the list itself, so text an override adds to a
    rule keeps meaning when later files re-read that rule."""
    if isinstance(value, dict):
        return {k: (list(lists[v[1:]]) if k in ("in", "not_in") and isinstance(v, str)
                    and v.startswith("@") and v[1:] in lists else _expand_lists(v, lists))
                for k, v in value.items()}
    if isinstance(value, list):
        return [_expand_lists(v, lists) for v in value]
    return value


def _apply_override(ov: dict[str, Any], rules: dict[str, Rule], probs: Problems,
                    at: Where) -> None:
    """Apply one well-shaped override to the rules loaded so far."""
    rid = ov["id"]
    if rid not in rules:
        probs.add(at + ("id",), rid, "id", "overrides a rule that no loaded file defines")
        return
    rule = rules[rid]
    where = f"{probs.path}:{probs.loaded.where(at)[0] if probs.loaded else 1}"
    if "enabled" in ov:
        if ov["enabled"] is False and not str(ov.get("reason", "")).strip():
            probs.add(at + ("reason",), rid, "reason", "disabling a rule needs a reason")
            return
        rule.enabled = bool(ov["enabled"])
        rule.disabled_reason = None if rule.enabled else str(ov["reason"])
    raw = dict(rule.raw)
    for key, value in (ov.get("replace") or {}).items():
        raw[key] = _expand_lists(value, probs.lists)
    for key, value in (ov.get("append") or {}).items():
        raw[key] = list(raw.get(key, [])) + _expand_lists(value, probs.lists)
    if "replace" in ov or "append" in ov:
        new = parse_rule(raw, at, probs, probs.lists)
        if new is None:
            return
        new.enabled, new.disabled_reason = rule.enabled, rule.disabled_reason
        new.source, new.changed_by = rule.source, rule.changed_by
        rule = rules[rid] = new
    rule.changed_by.append(where)


__all__ = ["RULE_KEYS", "load_rules", "parse_rule", "read_text"]
