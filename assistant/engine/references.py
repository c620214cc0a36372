"""References across a rule set, resolved once every file is loaded.

A rule names other things: rules (`supersedes`), a question (an `answer`
pattern's id, and one of its choices), a declared service, a note some rule
asserts, knowledge-base entries, and, by matching a gathered fact, the check
that gathers it. A name that does not resolve makes a rule that silently
does nothing, so each is an error at its place, with "did you mean".
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from assistant.engine.model import Ask, Assert, Check, Rule, Step
from assistant.engine.spec import did_you_mean

if TYPE_CHECKING:
    from assistant.engine.ruleparse import Problems

# Questions the session itself asks (and answers given with --answer).
SESSION_QUESTIONS = ("host", "port", "topic")


class Reference(NamedTuple):
    kind: str  # rule | question | choice | service | note | kb | gathered
    value: Any
    where: tuple[Any, ...]  # its path in the file
    rule: str | None
    field: str
    context: Any = None  # the question of a choice; the fact type of a gathered fact


class Known(NamedTuple):
    """What the loaded rule set declares, for resolving references."""

    rules: Collection[str]
    questions: Mapping[str, tuple[str, ...]]  # id -> choices
    services: Collection[str]
    notes: Collection[str] | None  # None: some note's name is a template
    checks: Collection[str]  # checks some enabled rule runs
    kb: Collection[str] | None  # None: not checked here


def known(rules: Mapping[str, Rule], services: Collection[str],
          kb_ids: Collection[str] | None,
          dropped: Collection[tuple[str | None, list[Step]]] = ()) -> Known:
    """What the rule set declares; `dropped` are (id, steps) of rules not built
    because of their own errors: what they declare still counts."""
    questions: dict[str, tuple[str, ...]] = dict.fromkeys(SESSION_QUESTIONS, ())
    notes: set[str] | None = set()
    for steps in [r.steps for r in rules.values()] + [st for _, st in dropped]:
        for step in steps:
            if isinstance(step, Ask):
                questions.setdefault(step.id, step.choices)
            elif isinstance(step, Assert) and notes is not None:
                name = step.fields.get("name")
                if isinstance(name, str) and "{" in name:
                    notes = None  # a templated name could be anything
                elif name is not None:
                    notes.add(str(name))
    checks = {c for r in rules.values() if r.enabled for c in r.checks()}
    checks |= {c for _, steps in dropped for st in steps if isinstance(st, Check) for c in st.names}
    ids = list(rules) + [rid for rid, _ in dropped if rid is not None]
    return Known(ids, questions, list(services), notes, checks, kb_ids)


def _folded(text: str) -> str:
    return " ".join(text.casefold().replace("_", " ").replace("-", " ").split())


def problem(ref: Reference, k: Known) -> str | None:
    """Why `ref` does not resolve, or None."""
    v = ref.value
    if ref.kind == "rule" and v not in k.rules:
        return f"no rule {v!r} is loaded" + did_you_mean(v, k.rules)
    if ref.kind == "question" and v not in k.questions:
        return (f"no rule asks question {v!r} (questions: {', '.join(sorted(k.questions))})"
                + did_you_mean(v, k.questions))
    if ref.kind == "choice":
        # Answers given with --answer may be any text; in the chat a choice
        # is answered as written, so only a near miss of one is a mistake.
        choices = k.questions.get(str(ref.context), ())
        near = [c for c in choices if _folded(c) == _folded(str(v)) and c != v]
        if near:
            return (f"question {ref.context!r} offers the choice {near[0]!r}, and the answer is "
                    f"that text exactly, never {v!r}")
    if ref.kind == "service" and v not in k.services:
        if not k.services:
            return f"no service is declared (`services:`), so none is named {v!r}"
        return (f"no service {v!r} is declared (services: {', '.join(sorted(k.services))})"
                + did_you_mean(v, k.services))
    if ref.kind == "note" and k.notes is not None and v not in k.notes:
        return (f"no rule asserts a note named {v!r}" + (
            f" (notes: {', '.join(sorted(k.notes))})" if k.notes else "")
                + did_you_mean(v, k.notes))
    if ref.kind == "kb" and k.kb is not None and v not in k.kb:
        return f"unknown knowledge-base id {v!r}" + did_you_mean(v, k.kb)
    if ref.kind == "gathered" and v not in k.checks:
        return (f"{ref.context} facts come from the `{v}` check, which no enabled rule runs: "
                f"add `- check: {v}` to a rule's `then:`")
    return None


def resolve(files: list[Problems], rules: Mapping[str, Rule], services: Collection[str],
            kb_ids: Collection[str] | None) -> None:
    """Add a problem for every reference that does not resolve (each once:
    an override re-reads the rules it changes)."""
    k = known(rules, services, kb_ids, [d for probs in files for d in probs.dropped])
    seen: set[tuple[str, str, str | None, str]] = set()
    for probs in files:
        for ref in probs.refs:
            if ref.kind == "gathered" and ref.rule not in rules:
                continue  # a rule not built: whether it could match is moot
            key = (ref.kind, repr(ref.value), ref.rule, ref.field)
            if key in seen:
                continue
            seen.add(key)
            text = problem(ref, k)
            if text:
                probs.add(ref.where, ref.rule, ref.field, text)
