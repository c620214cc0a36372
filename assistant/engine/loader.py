"""Rule files (format 1) to the intermediate form, with every error at once.

Each error names `file:line:column: rule-id: field: message`. Nothing in a
rule file is executed: values are matched, templated or shown, never run.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

from assistant.categories import CATEGORIES, SEVERITIES
from assistant.engine import yamlsafe
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
from assistant.engine.operators import MAX_LIST, MAX_TEXT, OPERATORS
from assistant.errors import RuleFileError
from assistant.facts.catalogue import CHECKS, FACT_TYPES
from assistant.report import Command

RULE_KEYS = {"id", "title", "description", "category", "priority", "severity", "enabled", "tags",
             "supersedes", "when", "exceptions", "then"}
OVERRIDE_KEYS = {"id", "enabled", "reason", "replace", "append"}
APPENDABLE = {"exceptions", "tags", "supersedes"}
STEP_KINDS = {"conclude", "assert", "check", "ask"}
OS_NAMES = {"linux", "macos", "windows", "any"}
_ID = re.compile(r"[a-z0-9_\-]{1,40}(?:\.[a-z0-9_\-]{1,40}){0,6}")
_ALIAS = re.compile(r"[a-z][a-z0-9_]{0,30}")
_REF = re.compile(r"\$([a-z][a-z0-9_]{0,30})\.([a-z_][a-z0-9_]{0,40})")


class Problems:
    """Collects errors for one file."""

    def __init__(self, path: str, loaded: yamlsafe.Loaded | None):
        self.path, self.loaded = path, loaded
        self.items: list[str] = []
        self.lists: dict[str, list[Any]] = {}

    def add(self, where: tuple[Any, ...], rule_id: str | None, fld: str, message: str) -> None:
        line, col = self.loaded.where(where) if self.loaded else (1, 1)
        self.items.append(f"{self.path}:{line}:{col}: {rule_id or '-'}: {fld}: {message}")


def read_text(path: Path) -> str:
    data = path.read_bytes()
    if len(data) > yamlsafe.MAX_BYTES:
        raise yamlsafe.YamlError(f"file is {len(data) // 1024} KB; the limit is "
                                 f"{yamlsafe.MAX_BYTES // 1024} KB")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise yamlsafe.YamlError("file is not UTF-8 text") from None


def load_rules(paths: list[Path]) -> RuleSet:
    """Load, validate and merge rule files (later files override earlier)."""
    problems: list[str] = []
    rules: dict[str, Rule] = {}
    services: dict[str, dict[str, Any]] = {}
    pending_overrides: list[tuple[dict[str, Any], Problems, tuple[Any, ...]]] = []
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
        for rule in _parse_file(loaded, probs, pending_overrides, services):
            if rule.id in rules:
                probs.add((), rule.id, "id", f"redefines rule {rule.id!r} from "
                          f"{rules[rule.id].source}; use `overrides:` to change it")
                continue
            rules[rule.id] = rule
        problems.extend(probs.items)
    for ov, probs, where in pending_overrides:
        _apply_override(ov, rules, probs, where)
        problems.extend(probs.items)
        probs.items = []
    if problems:
        raise RuleFileError(problems)
    return RuleSet(list(rules.values()), [str(p) for p in paths], digest.hexdigest(),
                   services=list(services.values()))


def _parse_file(loaded: yamlsafe.Loaded, probs: Problems,
                overrides: list[tuple[dict[str, Any], Problems, tuple[Any, ...]]],
                services: dict[str, dict[str, Any]] | None = None) -> list[Rule]:
    data = loaded.data
    if not isinstance(data, dict):
        probs.add((), None, "file", "a rule file is a mapping with `format: 1` and `rules:`")
        return []
    for key in data:
        if key not in ("format", "lists", "rules", "overrides", "services"):
            probs.add((key,), None, str(key), "unknown top-level key "
                      "(expected format, lists, services, rules, overrides)")
    if data.get("format") != 1:
        probs.add(("format",), None, "format", "must be 1")
    lists = data.get("lists") or {}
    if not isinstance(lists, dict) or not all(isinstance(v, list) for v in lists.values()):
        probs.add(("lists",), None, "lists", "must map names to lists of values")
        lists = {}
    _services(data.get("services"), probs, services if services is not None else {})
    out: list[Rule] = []
    raw_rules = data.get("rules") or []
    if not isinstance(raw_rules, list):
        probs.add(("rules",), None, "rules", "must be a list of rules")
        raw_rules = []
    for i, raw in enumerate(raw_rules):
        rule = parse_rule(raw, ("rules", i), probs, lists)
        if rule is not None:
            out.append(rule)
    raw_ov = data.get("overrides") or []
    if not isinstance(raw_ov, list):
        probs.add(("overrides",), None, "overrides", "must be a list")
        raw_ov = []
    for i, ov in enumerate(raw_ov):
        ov_probs = Problems(probs.path, loaded)
        ov_probs.lists = lists  # an override's patterns may use its own file's lists
        overrides.append((ov, ov_probs, ("overrides", i)))
    return out


SERVICE_KEYS: dict[str, type] = {"name": str, "port": int, "process": str, "usual_port": int,
                                 "description": str}


def _services(raw: Any, probs: Problems, seen: dict[str, dict[str, Any]]) -> None:
    """`services:` declarations: data for the `services` check, no code."""
    if raw is None:
        return
    if not isinstance(raw, list):
        probs.add(("services",), None, "services", "must be a list of {name, port, ...}")
        return
    for i, svc in enumerate(raw):
        at = ("services", i)
        if not isinstance(svc, dict):
            probs.add(at, None, "services", "each service is {name, port, process, usual_port, "
                      "description}")
            continue
        name = svc.get("name")
        bad = False
        for key, value in svc.items():
            kind = SERVICE_KEYS.get(key)
            if kind is None:
                probs.add(at + (key,), name, f"services.{key}",
                          f"unknown key (allowed: {', '.join(SERVICE_KEYS)})")
                bad = True
            elif not isinstance(value, kind) or isinstance(value, bool):
                probs.add(at + (key,), name, f"services.{key}", f"must be {kind.__name__}")
                bad = True
            elif isinstance(value, int) and key in ("port", "usual_port") and not 1 <= value <= 65535:
                probs.add(at + (key,), name, f"services.{key}", "must be a port, 1 to 65535")
                bad = True
        if not isinstance(name, str) or not _ID.fullmatch(name) or "port" not in svc:
            probs.add(at, name if isinstance(name, str) else None, "services",
                      "needs `name` (lower-case, e.g. team-db) and `port`")
            continue
        if bad:
            continue
        line = probs.loaded.where(at)[0] if probs.loaded else 1
        where = f"{probs.path}:{line}"
        if name in seen:
            probs.add(at + ("name",), name, "services.name",
                      f"service {name!r} is already declared at {seen[name]['source']}")
            continue
        seen[name] = {**svc, "source": where}


def parse_rule(raw: Any, at: tuple[Any, ...], probs: Problems,
               lists: dict[str, list[Any]]) -> Rule | None:
    """Validate one rule mapping; None (with problems recorded) when invalid."""
    before = len(probs.items)
    if not isinstance(raw, dict):
        probs.add(at, None, "rule", "each rule is a mapping")
        return None
    rid = raw.get("id")
    if not isinstance(rid, str) or not _ID.fullmatch(rid):
        probs.add(at + ("id",), None, "id", "required: dotted lower-case id, e.g. port.nothing_listening")
        rid = None
    for key in raw:
        if key not in RULE_KEYS:
            probs.add(at + (key,), rid, str(key), f"unknown key (allowed: {', '.join(sorted(RULE_KEYS))})")
    title = raw.get("title")
    if not isinstance(title, str) or not title.strip():
        probs.add(at + ("title",), rid, "title", "required: a short sentence")
    category = raw.get("category")
    if category is not None and category not in CATEGORIES:
        probs.add(at + ("category",), rid, "category",
                  f"unknown category {category!r} (one of: {', '.join(CATEGORIES)})")
    priority = raw.get("priority", 50)
    if not isinstance(priority, int) or isinstance(priority, bool) or not 0 <= priority <= 100:
        probs.add(at + ("priority",), rid, "priority", "must be an integer from 0 to 100")
        priority = 50
    severity = raw.get("severity", "problem")
    if severity not in SEVERITIES:
        probs.add(at + ("severity",), rid, "severity", f"must be one of {', '.join(SEVERITIES)}")
    enabled = raw.get("enabled", True)
    if not isinstance(enabled, bool):
        probs.add(at + ("enabled",), rid, "enabled", "must be true or false")
    for key in ("tags", "supersedes"):
        val = raw.get(key, [])
        if not isinstance(val, list) or not all(isinstance(v, str) for v in val):
            probs.add(at + (key,), rid, key, "must be a list of strings")

    alternatives: list[list[Pattern]] = []
    aliases: dict[str, str] = {}
    when = raw.get("when")
    if not isinstance(when, dict) or len(when) != 1 or next(iter(when)) not in ("all", "any"):
        probs.add(at + ("when",), rid, "when", "required: `all:` or `any:` with a list of patterns")
    else:
        mode = next(iter(when))
        items = when[mode]
        if not isinstance(items, list) or not items:
            probs.add(at + ("when", mode), rid, f"when.{mode}", "must be a non-empty list of patterns")
        elif mode == "all":
            pats = _patterns(items, at + ("when", "all"), rid, probs, lists, aliases)
            alternatives.append(pats)
        else:
            for j, item in enumerate(items):
                alt_aliases: dict[str, str] = {}
                pats = _patterns([item], at + ("when", "any"), rid, probs, lists, alt_aliases,
                                 index_base=j)
                alternatives.append(pats)
                # Later steps may only name aliases every alternative defines.
                aliases = alt_aliases if j == 0 else {k: v for k, v in aliases.items()
                                                        if alt_aliases.get(k) == v}
    exceptions: list[Pattern] = []
    raw_exc = raw.get("exceptions", [])
    if not isinstance(raw_exc, list):
        probs.add(at + ("exceptions",), rid, "exceptions", "must be a list of patterns")
    else:
        for j, item in enumerate(raw_exc):
            p = _pattern(item, at + ("exceptions", j), rid, probs, lists, dict(aliases), f"x{j}")
            if p is not None:
                p.negated = True
                exceptions.append(p)
    steps = _steps(raw.get("then"), at + ("then",), rid, probs, aliases, category)
    if len(probs.items) > before or rid is None:
        return None
    line, _ = probs.loaded.where(at) if probs.loaded else (1, 1)
    return Rule(id=rid, title=str(title).strip(), description=str(raw.get("description", "")).strip(),
                category=category, priority=priority, severity=severity, enabled=enabled,
                tags=list(raw.get("tags", [])), supersedes=list(raw.get("supersedes", [])),
                alternatives=alternatives, exceptions=exceptions, steps=steps,
                source=f"{probs.path}:{line}", raw=dict(raw))


def _patterns(items: list[Any], at: tuple[Any, ...], rid: str | None, probs: Problems,
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


def _pattern(item: Any, at: tuple[Any, ...], rid: str | None, probs: Problems,
             lists: dict[str, list[Any]], aliases: dict[str, str], auto: str) -> Pattern | None:
    if not isinstance(item, dict) or "fact" not in item:
        probs.add(at, rid, "pattern", "a pattern is {fact: TYPE, as: ALIAS, match: {...}} or {not: pattern}")
        return None
    for key in item:
        if key not in ("fact", "as", "match"):
            probs.add(at + (key,), rid, str(key), "unknown pattern key (fact, as, match)")
    fact = item["fact"]
    if fact not in FACT_TYPES:
        probs.add(at + ("fact",), rid, "fact",
                  f"unknown fact type {fact!r} (known: {', '.join(sorted(FACT_TYPES))})")
        return None
    alias = item.get("as", f"_{auto}")
    if "as" in item and (not isinstance(alias, str) or not _ALIAS.fullmatch(alias)):
        probs.add(at + ("as",), rid, "as", "alias must be a lower-case identifier")
        return None
    if alias in aliases:
        probs.add(at + ("as",), rid, "as", f"alias {alias!r} is already used in this rule")
    fields = FACT_TYPES[fact]
    tests: list[Test] = []
    match = item.get("match", {}) or {}
    if not isinstance(match, dict):
        probs.add(at + ("match",), rid, "match", "must map fields to values or {operator: value}")
        return None
    for fld, cond in match.items():
        where = at + ("match", fld)
        if fld not in fields:
            probs.add(where, rid, f"match.{fld}",
                      f"fact {fact!r} has no field {fld!r} (fields: {', '.join(sorted(fields))})")
            continue
        ops = cond if isinstance(cond, dict) else {"eq": cond}
        if not ops:
            probs.add(where, rid, f"match.{fld}", "empty condition")
        for op, value in ops.items():
            if op not in OPERATORS:
                probs.add(where, rid, f"match.{fld}",
                          f"unknown operator {op!r} (operators: {', '.join(OPERATORS)})")
                continue
            value = _value(value, op, where, rid, fld, probs, lists, aliases)
            if value is not _BAD:
                tests.append(Test(fld, op, value))
    return Pattern(alias, fact, tests)


_BAD = object()


def _value(value: Any, op: str, where: tuple[Any, ...], rid: str | None, fld: str,
           probs: Problems, lists: dict[str, list[Any]], aliases: dict[str, str]) -> Any:
    """The value of `fld: {op: value}`, checked against the operator's kind."""
    kind = OPERATORS[op].value
    if kind == "list":
        if isinstance(value, str) and value.startswith("@"):
            if value[1:] not in lists:
                probs.add(where, rid, f"match.{fld}", f"unknown list {value!r} (define it under `lists:`)")
                return _BAD
            value = lists[value[1:]]
        if not isinstance(value, list) or not value or len(value) > MAX_LIST:
            probs.add(where, rid, f"match.{fld}", f"`{op}` takes a list of 1 to {MAX_LIST} values or @list")
            return _BAD
        if not all(isinstance(v, (str, int, float, bool)) for v in value):
            probs.add(where, rid, f"match.{fld}", f"`{op}` values must be scalars")
            return _BAD
        return list(value)
    if kind == "bool":
        if not isinstance(value, bool):
            probs.add(where, rid, f"match.{fld}", f"`{op}` takes true or false")
            return _BAD
        return value
    if isinstance(value, str) and value.startswith("$"):
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
                      f"{ref_field!r}")
            return _BAD
        if not OPERATORS[op].refs:
            probs.add(where, rid, f"match.{fld}", f"`{op}` cannot take a reference")
            return _BAD
        return Ref(alias, ref_field)
    if kind == "text":
        if not isinstance(value, str) or not value or len(value) > MAX_TEXT:
            probs.add(where, rid, f"match.{fld}", f"`{op}` takes a string of 1 to {MAX_TEXT} characters")
            return _BAD
        return value
    if not isinstance(value, (str, int, float, bool)) or value is None:
        probs.add(where, rid, f"match.{fld}", "value must be a string, number or boolean")
        return _BAD
    return value


def _check_templates(texts: list[Any], where: tuple[Any, ...], rid: str | None, fld: str,
                     probs: Problems, aliases: dict[str, str]) -> None:
    for text in texts:
        if not isinstance(text, str):
            probs.add(where, rid, fld, "must be text")
            continue
        for alias, ref_field, _ in TEMPLATE_REF.findall(text):
            if alias not in aliases:
                probs.add(where, rid, fld, f"{{{alias}.{ref_field}}} names an unknown alias")
            elif ref_field not in FACT_TYPES[aliases[alias]]:
                probs.add(where, rid, fld, f"{{{alias}.{ref_field}}}: fact {aliases[alias]!r} has "
                          f"no field {ref_field!r}")


def _steps(raw: Any, at: tuple[Any, ...], rid: str | None, probs: Problems,
           aliases: dict[str, str], category: str | None) -> list[Step]:
    if not isinstance(raw, list) or not raw:
        probs.add(at, rid, "then", "required: a list of steps (conclude, assert, check, ask)")
        return []
    steps: list[Step] = []
    for i, step in enumerate(raw):
        where = at + (i,)
        if not isinstance(step, dict) or len(step) != 1 or next(iter(step)) not in STEP_KINDS:
            probs.add(where, rid, "then", "each step is one of conclude, assert, check, ask")
            continue
        kind, body = next(iter(step.items()))
        where = where + (kind,)
        if kind == "check":
            names = body if isinstance(body, list) else [body]
            for name in names:
                if name not in CHECKS:
                    probs.add(where, rid, "then.check",
                              f"unknown check {name!r} (known: {', '.join(sorted(CHECKS))})")
            steps.append(Check(tuple(names)))
        elif kind == "conclude":
            if category is None:
                probs.add(where, rid, "category", "a rule that concludes needs a category")
            if not isinstance(body, dict) or not isinstance(body.get("summary"), str):
                probs.add(where, rid, "then.conclude", "needs `summary:` text")
                continue
            for key in body:
                if key not in ("summary", "evidence", "fix", "kb"):
                    probs.add(where + (key,), rid, f"conclude.{key}",
                              "unknown key (summary, evidence, fix, kb)")
            evidence = body.get("evidence", [])
            fixes = body.get("fix", [])
            kb = body.get("kb", [])
            if not isinstance(evidence, list):
                probs.add(where + ("evidence",), rid, "conclude.evidence", "must be a list of text")
                evidence = []
            if not isinstance(kb, list) or not all(isinstance(k, str) for k in kb):
                probs.add(where + ("kb",), rid, "conclude.kb", "must be a list of kb ids")
                kb = []
            if not isinstance(fixes, list):
                probs.add(where + ("fix",), rid, "conclude.fix", "must be a list")
                fixes = []
            commands: list[Command] = []
            for j, fx in enumerate(fixes):
                if not isinstance(fx, dict) or fx.get("os") not in OS_NAMES \
                        or not isinstance(fx.get("command"), str):
                    probs.add(where + ("fix", j), rid, "conclude.fix",
                              "each fix is {os: linux|macos|windows|any, command: ..., why: ...}")
                    continue
                _check_templates([fx["command"], fx.get("why", "")], where + ("fix", j), rid,
                                 "conclude.fix", probs, aliases)
                commands.append(Command(fx["os"], fx["command"], str(fx.get("why", ""))))
            _check_templates([body["summary"]], where + ("summary",), rid, "conclude.summary",
                             probs, aliases)
            _check_templates(evidence, where + ("evidence",), rid, "conclude.evidence", probs, aliases)
            steps.append(Conclude(body["summary"], tuple(evidence), tuple(commands), tuple(kb)))
        elif kind == "ask":
            if not isinstance(body, dict) or not isinstance(body.get("id"), str) \
                    or not isinstance(body.get("text"), str):
                probs.add(where, rid, "then.ask", "needs `id:` and `text:`")
                continue
            choices = body.get("choices", [])
            if not isinstance(choices, list):
                probs.add(where, rid, "then.ask", "`choices` must be a list")
                choices = []
            steps.append(Ask(body["id"], body["text"], tuple(str(c) for c in choices)))
        elif kind == "assert":
            if not isinstance(body, dict) or body.get("fact") != "note" \
                    or not isinstance(body.get("fields", {}), dict):
                probs.add(where, rid, "then.assert", "asserts {fact: note, fields: {...}}")
                continue
            for fld, val in body.get("fields", {}).items():
                if fld not in FACT_TYPES["note"]:
                    probs.add(where, rid, f"assert.{fld}", "note has no such field")
                _check_templates([val] if isinstance(val, str) else [], where, rid,
                                 f"assert.{fld}", probs, aliases)
            steps.append(Assert(dict(body.get("fields", {}))))
    return steps


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


def _apply_override(ov: Any, rules: dict[str, Rule], probs: Problems, at: tuple[Any, ...]) -> None:
    if not isinstance(ov, dict) or not isinstance(ov.get("id"), str):
        probs.add(at, None, "overrides", "each override is {id: RULE, enabled|replace|append: ...}")
        return
    rid = ov["id"]
    for key in ov:
        if key not in OVERRIDE_KEYS:
            probs.add(at + (key,), rid, str(key),
                      f"unknown override key ({', '.join(sorted(OVERRIDE_KEYS))})")
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
    lists = probs.lists
    for key, value in (ov.get("replace") or {}).items():
        if key not in RULE_KEYS - {"id"}:
            probs.add(at + ("replace", key), rid, f"replace.{key}", "not a replaceable rule key")
            return
        raw[key] = _expand_lists(value, lists)
    for key, value in (ov.get("append") or {}).items():
        if key not in APPENDABLE or not isinstance(value, list):
            probs.add(at + ("append", key), rid, f"append.{key}",
                      f"only lists can be appended ({', '.join(sorted(APPENDABLE))})")
            return
        raw[key] = list(raw.get(key, [])) + _expand_lists(value, lists)
    if "replace" in ov or "append" in ov:
        new = parse_rule(raw, at, probs, probs.lists)
        if new is None:
            return
        new.enabled, new.disabled_reason = rule.enabled, rule.disabled_reason
        new.source, new.changed_by = rule.source, rule.changed_by
        rule = rules[rid] = new
    rule.changed_by.append(where)
