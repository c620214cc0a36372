"""The compiler's intermediate form: independent of durable-rules."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

# `{alias.field}` or `{alias.field|text if the field is missing}` in rule text
TEMPLATE_REF = re.compile(r"\{([a-z][a-z0-9_]{0,30})\.([a-z_][a-z0-9_]{0,40})(?:\|([^{}\n]{0,80}))?\}")

OPERATORS = ("eq", "ne", "lt", "lte", "gt", "gte", "in", "not_in", "exists", "contains",
             "icontains", "startswith", "endswith", "matches")


@dataclass(frozen=True)
class Ref:
    """`$alias.field`: a join to a field of an earlier pattern."""

    alias: str
    field: str


@dataclass
class Test:
    __test__ = False  # not a pytest class

    field: str
    op: str
    value: Any  # scalar, list (in/not_in), bool (exists) or Ref


@dataclass
class Pattern:
    alias: str
    fact: str
    tests: list[Test]
    negated: bool = False


@dataclass
class Rule:
    id: str
    title: str
    description: str
    category: str | None
    priority: int
    severity: str
    enabled: bool
    tags: list[str]
    supersedes: list[str]
    # One or more alternatives (a `when: any:` becomes several); each is a
    # conjunction of patterns.
    alternatives: list[list[Pattern]]
    exceptions: list[Pattern]
    steps: list[dict[str, Any]]
    source: str  # file:line
    raw: dict[str, Any] = field(default_factory=dict)
    disabled_reason: str | None = None
    changed_by: list[str] = field(default_factory=list)


@dataclass
class RuleSet:
    rules: Sequence[Rule]
    files: list[str]
    digest: str  # hash of every file's bytes: the compile cache key
    # From the cache: the rules are the enabled ones only, decoded on use,
    # with their selectors (engine/select.py) precomputed.
    selectors: list[Any] | None = None
    # Team services declared under `services:` (name, port, process, ...).
    services: list[dict[str, Any]] = field(default_factory=list)

    def enabled(self) -> Sequence[Rule]:
        if self.selectors is not None:
            return self.rules
        return [r for r in self.rules if r.enabled]

    def by_id(self) -> dict[str, Rule]:
        return {r.id: r for r in self.rules}


# Part of every rule-set digest: a change to the fact catalogue or to how
# rules compile must not reuse a cache built before it.
DIGEST_SALT = b"rules-format-1/cache-4"


def digest_part(path: Any, data: bytes) -> bytes:
    """What one file contributes to a rule-set digest (its path and bytes)."""
    return str(path).encode() + b"\0" + data + b"\0"
