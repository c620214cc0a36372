"""The compiler's intermediate form: independent of durable-rules."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, NamedTuple

from assistant.report import Command, Link, Severity

# `{alias.field}` or `{alias.field|text if the field is missing}` in rule text
TEMPLATE_REF = re.compile(r"\{([a-z][a-z0-9_]{0,30})\.([a-z_][a-z0-9_]{0,40})(?:\|([^{}\n]{0,80}))?\}")



class Ref(NamedTuple):
    """`$alias.field`: a join to a field of an earlier pattern."""

    alias: str
    field: str


# Records are NamedTuples, not dataclasses: every question defines these
# classes at start, and a dataclass costs ten times as much to define.

class Test(NamedTuple):
    field: str
    op: str
    value: Any  # scalar, list (in/not_in), bool (exists) or Ref


Test.__test__ = False  # type: ignore[attr-defined]  # not a pytest class


class Pattern(NamedTuple):
    alias: str
    fact: str
    tests: list[Test]
    negated: bool = False


# --- steps: what a rule does when it fires (`then:`) ----------------------------

class Check(NamedTuple):
    """Gather these checks' facts (slow work runs between rounds)."""

    names: tuple[str, ...]


class Assert(NamedTuple):
    """Assert a `note` fact; string values are templates."""

    fields: dict[str, Any]


class Ask(NamedTuple):
    """Ask the user a question (unless it is already answered)."""

    id: str
    text: str
    choices: tuple[str, ...] = ()


class Conclude(NamedTuple):
    """A diagnosis: summary, evidence and fix commands are templates."""

    summary: str
    evidence: tuple[str, ...] = ()
    fix: tuple[Command, ...] = ()
    kb: tuple[str, ...] = ()
    links: tuple[Link, ...] = ()


Step = Check | Assert | Ask | Conclude


def step_to_data(step: Step) -> dict[str, Any]:
    """The rule-file form of a step (`{kind: body}`): for caches and `explain`."""
    if isinstance(step, Check):
        return {"check": list(step.names)}
    if isinstance(step, Assert):
        return {"assert": {"fact": "note", "fields": dict(step.fields)}}
    if isinstance(step, Ask):
        return {"ask": {"id": step.id, "text": step.text, "choices": list(step.choices)}}
    return {"conclude": {"summary": step.summary, "evidence": list(step.evidence),
                         "fix": [c.to_json() for c in step.fix], "kb": list(step.kb),
                         "links": [link.to_json() for link in step.links]}}


def step_from_data(data: dict[str, Any]) -> Step:
    """Inverse of step_to_data, for data already validated."""
    kind, body = next(iter(data.items()))
    if kind == "check":
        return Check(tuple(body))
    if kind == "assert":
        return Assert(dict(body["fields"]))
    if kind == "ask":
        return Ask(body["id"], body["text"], tuple(body.get("choices", ())))
    return Conclude(body["summary"], tuple(body.get("evidence", ())),
                    tuple(Command(c["os"], c["command"], c.get("why", "")) for c in body.get("fix", ())),
                    tuple(body.get("kb", ())),
                    tuple(Link(ln["title"], ln["url"]) for ln in body.get("links", ())))


# --- names shared with the engine adapter ------------------------------------------

CATCH_ALL = "__catch_all__"   # the rule that keeps unmatched facts from raising
GUARD_PREFIX = "g_"           # alias of a pattern the compiler adds (a check's `checked`)
ERROR_KEY = "__error__"       # what the runtime reports when an action failed
SEQ_KEY = "_n"                # a serial number that keeps identical facts distinct
SESSION_KEY = "sid"           # the engine's session id, on every fact


class RuleName(NamedTuple):
    """The engine's name for one alternative of one rule: `r{index}_{alternative}`."""

    position: int     # the rule's index in the rule set
    alternative: int  # which `when: any:` alternative

    def __str__(self) -> str:
        return f"r{self.position}_{self.alternative}"

    @classmethod
    def parse(cls, name: str) -> RuleName | None:
        """The RuleName in `name`, or None for the catch-all (or anything else)."""
        head, sep, tail = name[1:].partition("_")
        if not name.startswith("r") or not sep or not head.isdigit() or not tail.isdigit():
            return None
        return cls(int(head), int(tail))


class Rule(NamedTuple):
    """A rule as loaded. Never changed in place: an override makes a new one
    (`_replace`), so list fields may share their empty defaults."""

    id: str
    title: str
    description: str
    category: str | None
    priority: int
    severity: Severity
    enabled: bool
    tags: list[str]
    supersedes: list[str]
    # One or more alternatives (a `when: any:` becomes several); each is a
    # conjunction of patterns.
    alternatives: list[list[Pattern]]
    exceptions: list[Pattern]
    steps: list[Step]
    source: str  # file:line
    raw: dict[str, Any] = {}
    disabled_reason: str | None = None
    changed_by: list[str] = []
    disabled_by: str | None = None  # file:line of the override that disabled it
    replaced_by: list[str] = []  # overrides that replaced keys

    def kb_ids(self) -> list[str]:
        """The knowledge-base ids its conclusions name."""
        return [k for s in self.steps if isinstance(s, Conclude) for k in s.kb]

    def checks(self) -> list[str]:
        """The checks it asks for."""
        return [c for s in self.steps if isinstance(s, Check) for c in s.names]


class RuleSet(NamedTuple):
    rules: Sequence[Rule]
    files: list[str]
    digest: str  # hash of every file's bytes: the compile cache key
    # From the cache: the rules are the enabled ones only, decoded on use,
    # with their selectors (engine/select.py) precomputed.
    selectors: list[Any] | None = None
    # Team services declared under `services:` (name, port, process, ...).
    services: list[dict[str, Any]] = []
    # From the cache: the text tests of the enabled rules (compiler.text_marks).
    marks: dict[str, list[tuple[str, str, str, str]]] | None = None

    def enabled(self) -> Sequence[Rule]:
        if self.selectors is not None:
            return self.rules
        return [r for r in self.rules if r.enabled]

    def by_id(self) -> dict[str, Rule]:
        return {r.id: r for r in self.rules}


# Part of every rule-set digest: a change to the fact catalogue or to how
# rules compile must not reuse a cache built before it.
DIGEST_SALT = b"rules-format-1/cache-7"


def digest_part(path: Any, data: bytes) -> bytes:
    """What one file contributes to a rule-set digest (its path and bytes)."""
    return str(path).encode() + b"\0" + data + b"\0"
