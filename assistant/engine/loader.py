"""Rule files (format 1) to the intermediate form, with every error at once.

Each error names `file:line:column: rule-id: field: message`. The shape of
a file is checked by its spec (engine/filespecs.py), which reports every
shape error; engine/ruleparse.py builds each rule from what is well-shaped;
this module reads the files, shares lists across one pack (the rule files of
one folder), merges the files in order (redefinitions, services declared
twice, overrides) and has every reference resolved against the whole rule
set (engine/references.py). Nothing in a rule file is executed: values are
matched, templated or shown, never run.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from pathlib import Path
from typing import Any

from assistant.engine import references, yamlsafe
from assistant.engine.filespecs import RULE_KEYS
from assistant.engine.model import DIGEST_SALT, Rule, RuleSet, digest_part
from assistant.engine.ruleparse import Problems, Where, expand_lists, parse_rule
from assistant.engine.spec import did_you_mean
from assistant.errors import RuleFileError


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


def load_rules(paths: list[Path], kb_ids: Collection[str] | None = None) -> RuleSet:
    """Load, validate and merge rule files (later files override earlier).

    With `kb_ids`, every knowledge-base id a conclusion names must be one of
    them (an error at its place in the `kb:` list otherwise)."""
    rules: dict[str, Rule] = {}
    services: dict[str, dict[str, Any]] = {}
    pending_overrides: list[Override] = []
    digest = hashlib.sha256(DIGEST_SALT)
    files: list[Problems] = []
    seen: set[Path] = set()
    for path in paths:
        if path.resolve() in seen:
            continue  # one file named twice (a folder on the path twice) is read once
        seen.add(path.resolve())
        probs = Problems(str(path), None)
        files.append(probs)
        try:
            text = read_text(path)
            digest.update(digest_part(path, text.encode()))
            probs.loaded = yamlsafe.load(text)
        except (OSError, yamlsafe.YamlError) as exc:
            probs.items.append(f"{path}:{getattr(exc, 'line', 1)}:{getattr(exc, 'column', 1)}: "
                               f"-: file: {exc}")
            probs.at.append((0, 0))
            continue
        probs.shape(probs.loaded.data)
    _pack_lists(files)
    for probs in files:
        if probs.loaded is None:
            continue
        for rule, at in _parse_file(probs, pending_overrides, services):
            if rule.id in rules:
                probs.add(at + ("id",), rule.id, "id", f"redefines rule {rule.id!r} from "
                          f"{rules[rule.id].source}; use `overrides:` to change it")
                continue
            rules[rule.id] = rule
    for ov, probs, where in pending_overrides:
        _apply_override(ov, rules, probs, where)
    references.resolve(files, rules, services, kb_ids)
    problems = [text for probs in files for text in probs.in_order()]
    if problems:
        raise RuleFileError(problems)
    return RuleSet(list(rules.values()), [p.path for p in files], digest.hexdigest(),
                   services=list(services.values()))


def _pack_lists(files: list[Problems]) -> None:
    """Lists are shared by the rule files of one folder (a pack): each file
    sees every list its folder's files define; a name defined twice in one
    pack is an error at the second definition."""
    packs: dict[Path, dict[str, tuple[list[Any], str]]] = {}
    for probs in files:
        data = probs.loaded.data if probs.loaded else None
        lists = data.get("lists") if isinstance(data, dict) else None
        pack = packs.setdefault(Path(probs.path).resolve().parent, {})
        for name, values in (lists.items() if isinstance(lists, dict) else ()):
            if ("lists", name) in probs.bad or not isinstance(values, list):
                continue
            where = f"{probs.path}:{probs.where(('lists', name))[0]}"
            if name in pack:
                probs.add(("lists", name), None, f"lists.{name}", f"list {name!r} is already "
                          f"defined at {pack[name][1]} (lists are shared by the rule files of "
                          "one folder)")
                continue
            pack[name] = (values, where)
    for probs in files:
        pack = packs[Path(probs.path).resolve().parent]
        probs.lists = {name: values for name, (values, _) in pack.items()}


def _parse_file(probs: Problems, overrides: list[Override],
                services: dict[str, dict[str, Any]]) -> list[tuple[Rule, Where]]:
    data = probs.loaded.data if probs.loaded else None
    if not isinstance(data, dict):
        return []
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
        overrides.append((ov, probs, ("overrides", i)))
    return out


def _services(raw: Any, probs: Problems, seen: dict[str, dict[str, Any]]) -> None:
    """`services:` declarations: data for the `services` check, no code."""
    for i, svc in enumerate(raw if isinstance(raw, list) else []):
        at = ("services", i)
        if at in probs.bad or not isinstance(svc, dict):
            continue
        name = svc["name"]
        line = probs.where(at)[0]
        if name in seen:
            probs.add(at + ("name",), name, "services.name",
                      f"service {name!r} is already declared at {seen[name]['source']}")
            continue
        seen[name] = {**svc, "source": f"{probs.path}:{line}"}


def _apply_override(ov: dict[str, Any], rules: dict[str, Rule], probs: Problems,
                    at: Where) -> None:
    """Apply one well-shaped override to the rules loaded so far."""
    rid = ov["id"]
    if rid not in rules:
        probs.add(at + ("id",), rid, "id", "overrides a rule that no loaded file defines"
                  + did_you_mean(rid, rules))
        return
    rule = rules[rid]
    where = f"{probs.path}:{probs.where(at)[0]}"
    if "enabled" in ov:
        if ov["enabled"] is False and not str(ov.get("reason", "")).strip():
            probs.add(at + ("reason",), rid, "reason", "disabling a rule needs a reason")
            return
        enabled = bool(ov["enabled"])
        rule = rule._replace(enabled=enabled,
                             disabled_reason=None if enabled else str(ov["reason"]),
                             disabled_by=None if enabled else where)
    raw = dict(rule.raw)
    for key, value in (ov.get("replace") or {}).items():
        raw[key] = expand_lists(value, probs.lists)
    for key, value in (ov.get("append") or {}).items():
        raw[key] = list(raw.get(key, [])) + expand_lists(value, probs.lists)
    if "replace" in ov or "append" in ov:
        new = parse_rule(raw, at, probs, probs.lists)
        if new is None:
            rules[rid] = rule
            return
        rule = new._replace(enabled=rule.enabled, disabled_reason=rule.disabled_reason,
                            disabled_by=rule.disabled_by, source=rule.source,
                            changed_by=rule.changed_by,
                            replaced_by=[*rule.replaced_by,
                                         *([where] if "replace" in ov else [])])
    rules[rid] = rule._replace(changed_by=[*rule.changed_by, where])


__all__ = ["RULE_KEYS", "load_rules", "parse_rule", "read_text"]
