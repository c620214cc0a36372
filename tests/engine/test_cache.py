"""The rule cache: validated rules and compiled definitions keyed by content."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from assistant.dirs import data_dir, read_cache_lines
from assistant.engine.cache import LazyDefinitions, LazyRules, load_ruleset
from assistant.engine.compiler import compile_rules
from assistant.engine.loader import load_rules
from assistant.engine.sources import rule_files


def rules_copy(tmp_path: Path) -> list[Path]:
    d = tmp_path / "rules"
    shutil.copytree(data_dir("rules"), d)
    return rule_files(d)


def test_a_warm_load_gives_the_same_rules_and_definitions(tmp_path: Path) -> None:
    files = rules_copy(tmp_path)
    cache = tmp_path / "cache"
    cold, cold_defs = load_ruleset(files, cache)
    assert not isinstance(cold.rules, LazyRules)
    written = list(cache.glob("rules-*.jsonl"))
    assert len(written) == 1
    warm, warm_defs = load_ruleset(files, cache)
    assert isinstance(warm.rules, LazyRules) and isinstance(warm_defs, LazyDefinitions)
    enabled = list(cold.enabled())
    assert [r.id for r in warm.rules] == [r.id for r in enabled]
    for a, b in zip(warm.rules, enabled, strict=True):
        assert (a.steps, a.alternatives, a.exceptions, a.priority, a.supersedes) == \
            (b.steps, b.alternatives, b.exceptions, b.priority, b.supersedes)
    assert dict(warm_defs.items()) == compile_rules(enabled) == cold_defs
    assert warm.services == cold.services and warm.digest == cold.digest


def test_an_edit_misses_and_a_damaged_cache_rebuilds(tmp_path: Path) -> None:
    files = rules_copy(tmp_path)
    cache = tmp_path / "cache"
    load_ruleset(files, cache)
    first = next(cache.glob("rules-*.jsonl"))
    files[0].write_text(files[0].read_text() + "\n# edited\n")
    edited, _ = load_ruleset(files, cache)
    assert not isinstance(edited.rules, LazyRules)  # a miss: loaded from the files
    second = {p for p in cache.glob("rules-*.jsonl")} - {first}
    assert len(second) == 1
    damaged = second.pop()
    damaged.write_text("{not json")
    rebuilt, _ = load_ruleset(files, cache)
    assert [r.id for r in rebuilt.enabled()] == [r.id for r in load_rules(files).enabled()]
    read_cache_lines(damaged)  # and it was written again, whole
    # A file cut short (a full disk) is not read as a shorter rule set.
    damaged.write_bytes(damaged.read_bytes().rsplit(b"\n", 1)[0])
    with pytest.raises(ValueError):
        read_cache_lines(damaged)
    again, _ = load_ruleset(files, cache)
    assert [r.id for r in again.enabled()] == [r.id for r in rebuilt.enabled()]


def test_no_cache_directory_means_no_cache(tmp_path: Path) -> None:
    ruleset, defs = load_ruleset(rules_copy(tmp_path), None)
    assert not isinstance(ruleset.rules, LazyRules) and defs
