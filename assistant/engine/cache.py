"""Validated rule sets cached as JSON, keyed by the rule files' contents.

`--ask` then reads one JSON file instead of importing YAML, parsing and
validating every rule file. The key hashes each file's path and bytes plus
a salt for the rule format and catalogue, so any edit, added or removed
file misses the cache; a miss (or any damage) falls back to a full load.
Only rule sets that validated are written.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

from assistant.engine.model import DIGEST_SALT, Pattern, Ref, Rule, RuleSet, Test, digest_part
from assistant.facts.catalogue import FACT_TYPES


def digest(paths: list[Path]) -> str:
    h = hashlib.sha256(DIGEST_SALT)
    h.update(json.dumps(FACT_TYPES, sort_keys=True).encode())
    for p in paths:
        h.update(digest_part(p, p.read_bytes()))
    return h.hexdigest()


def load_ruleset(paths: list[Path], cache: Path | None) -> tuple[RuleSet, dict[str, Any] | None]:
    """The rule set (and its compiled definitions when cached)."""
    key = digest(paths) if cache is not None else ""
    file = cache / f"rules-{key[:32]}.json" if cache is not None else None
    if file is not None and file.is_file():
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
            return _ruleset(data["ruleset"]), data["definitions"]
        except (OSError, ValueError, KeyError, TypeError):
            pass  # rebuilt below
    from assistant.engine.compiler import compile_rules
    from assistant.engine.loader import load_rules

    ruleset = load_rules(paths)
    definitions = compile_rules(ruleset.enabled())
    if file is not None:
        _write(file, {"ruleset": asdict(ruleset), "definitions": definitions})
    return ruleset, definitions


def _ruleset(data: dict[str, Any]) -> RuleSet:
    def pattern(p: dict[str, Any]) -> Pattern:
        tests = [Test(t["field"], t["op"], Ref(**t["value"]) if isinstance(t["value"], dict)
                      else t["value"]) for t in p["tests"]]
        return Pattern(p["alias"], p["fact"], tests, p["negated"])

    rules = []
    for r in data["rules"]:
        r = dict(r)
        r["alternatives"] = [[pattern(p) for p in alt] for alt in r["alternatives"]]
        r["exceptions"] = [pattern(p) for p in r["exceptions"]]
        rules.append(Rule(**r))
    return RuleSet(rules, data["files"], data["digest"])


def _write(file: Path, data: dict[str, Any]) -> None:
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=file.parent, prefix=".rules-", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, separators=(",", ":"))
        os.replace(tmp, file)
    except OSError:
        pass  # no cache is slower, not wrong
