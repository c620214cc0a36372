"""Validated rule sets cached as JSON, keyed by the rule files' contents.

`--ask` then reads one JSON file instead of importing YAML, parsing and
validating every rule file. The key hashes each file's path and bytes plus
a salt for the rule format and catalogue, so any edit, added or removed
file misses the cache; a miss (or any damage) falls back to a full load.
Only rule sets that validated are written.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, overload

from assistant.dirs import read_cache_lines, write_cache
from assistant.engine.model import (
    DIGEST_SALT,
    Pattern,
    Ref,
    Rule,
    RuleSet,
    Test,
    digest_part,
    step_from_data,
    step_to_data,
)

# The code whose changes change what a cached rule set means: the fact
# catalogue (collectors' declarations) and the rule format (engine).
_CODE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def code_fingerprint() -> bytes:
    """Names, sizes and modification times of the facts and engine modules:
    cheap to read (no collector is imported), and any edit to them misses.
    os.scandir, not Path.rglob: a fifth of the time, on every question."""
    out = []
    stack = [os.path.join(_CODE, "facts"), os.path.join(_CODE, "engine")]
    while stack:
        folder = stack.pop()
        with os.scandir(folder) as entries:
            for e in entries:
                if e.name.endswith(".py") and e.is_file():
                    st = e.stat()
                    out.append(f"{e.path[len(_CODE) + 1:]}:{st.st_size}:{st.st_mtime_ns}")
                elif e.is_dir() and e.name != "__pycache__":
                    stack.append(e.path)
    return "\n".join(sorted(out)).encode()


def digest(paths: list[Path]) -> str:
    # BLAKE2 from the module built into CPython: hashlib would load OpenSSL's
    # libcrypto first, 3-7 ms of a question that takes 60 (the key needs no
    # particular algorithm, only the same one each time).
    try:
        from _blake2 import blake2b
    except ImportError:  # an interpreter built without it: hashlib's is the same
        from hashlib import blake2b
    h = blake2b(DIGEST_SALT, digest_size=32)
    h.update(code_fingerprint())
    for p in paths:
        h.update(digest_part(p, p.read_bytes()))
    return h.hexdigest()


def load_ruleset(paths: list[Path], cache: Path | None) -> tuple[RuleSet, dict[str, Any] | None]:
    """The rule set (and its compiled definitions when cached)."""
    key = digest(paths) if cache is not None else ""
    file = cache / f"rules-{key[:32]}.jsonl" if cache is not None else None
    if file is not None and _is_file(file):
        try:
            # The rules, most of the file, stay undecoded until one is used.
            data, data["rules"] = read_cache_lines(file)
            marks = {k: [tuple(t) for t in v] for k, v in data["marks"].items()}
            return (RuleSet(LazyRules(data["rules"]), data["files"], data["digest"],
                            data["selectors"], data["services"], marks),
                    LazyDefinitions(data["definitions"]))
        except (OSError, ValueError, KeyError, TypeError):
            pass  # rebuilt below
    from assistant.engine.applicable import selector
    from assistant.engine.compiler import compile_rules, text_marks
    from assistant.engine.loader import load_rules

    ruleset = load_rules(paths)
    enabled = list(ruleset.enabled())
    definitions = compile_rules(enabled)
    if file is not None:
        texts = []
        for r in enabled:
            d = r._asdict()
            d["raw"] = {}  # only overrides and `rules explain` need it; both read the files
            d["steps"] = [step_to_data(st) for st in r.steps]
            d["alternatives"] = [[_pattern_data(p) for p in alt] for alt in r.alternatives]
            d["exceptions"] = [_pattern_data(p) for p in r.exceptions]
            texts.append(json.dumps(d, separators=(",", ":")))
        write_cache(file, {"files": ruleset.files, "digest": ruleset.digest, "lines": len(texts),
                      "services": ruleset.services, "marks": text_marks(enabled),
                      "selectors": [selector(r) for r in enabled],
                      "definitions": {n: json.dumps(d, separators=(",", ":"))
                                      for n, d in definitions.items()}}, lines=texts)
    return ruleset, definitions


def _is_file(path: Path) -> bool:
    """is_file that says no for a cache it may not read (another user's)."""
    try:
        return path.is_file()
    except OSError:
        return False


class LazyRules(Sequence[Rule]):
    """Cached rules kept as JSON text, each decoded when first used: a
    question about one port touches a few of a team's thousands of rules."""

    def __init__(self, raw: list[bytes]):
        self._raw = raw
        self._done: dict[int, Rule] = {}

    def __len__(self) -> int:
        return len(self._raw)

    @overload
    def __getitem__(self, i: int) -> Rule: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[Rule]: ...

    def __getitem__(self, i: int | slice) -> Rule | Sequence[Rule]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        rule = self._done.get(i)
        if rule is None:
            rule = self._done[i] = _rule(json.loads(self._raw[i]))
        return rule


class LazyDefinitions(dict[str, Any]):
    """Compiled durable definitions kept as JSON text until registered."""

    def __getitem__(self, name: str) -> Any:
        value = super().__getitem__(name)
        if isinstance(value, str):
            value = json.loads(value)
            super().__setitem__(name, value)
        return value

    def items(self) -> Any:
        return [(n, self[n]) for n in self.keys()]

    def parse_many(self, names: list[str]) -> dict[str, Any]:
        """Several definitions in one parse (one call into the JSON decoder
        instead of one per rule); the engine only reads them."""
        texts = []
        for name in names:
            value = super().__getitem__(name)
            texts.append(value if isinstance(value, str) else json.dumps(value))
        return dict(zip(names, json.loads("[" + ",".join(texts) + "]"), strict=True))


def _pattern_data(p: Pattern) -> dict[str, Any]:
    """A pattern as JSON; a join's Ref as {"alias", "field"}."""
    return {"alias": p.alias, "fact": p.fact, "negated": p.negated,
            "tests": [{"field": t.field, "op": t.op,
                       "value": t.value._asdict() if isinstance(t.value, Ref) else t.value}
                      for t in p.tests]}


def _rule(r: dict[str, Any]) -> Rule:
    def pattern(p: dict[str, Any]) -> Pattern:
        tests = [Test(t["field"], t["op"], Ref(**t["value"]) if isinstance(t["value"], dict)
                      else t["value"]) for t in p["tests"]]
        return Pattern(p["alias"], p["fact"], tests, p["negated"])

    r["alternatives"] = [[pattern(p) for p in alt] for alt in r["alternatives"]]
    r["exceptions"] = [pattern(p) for p in r["exceptions"]]
    r["steps"] = [step_from_data(st) for st in r["steps"]]
    return Rule(**r)
