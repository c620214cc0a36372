"""The fact types rules may match, derived from the collectors and the
session's own facts. Pure data, importable without psutil: the rule loader,
the compiler, the schema and the trace all read it from here."""

from __future__ import annotations

from assistant.facts.asserted import ASSERTED
from assistant.facts.base import Fact, FactType
from assistant.facts.collectors import COLLECTORS

TYPES: dict[str, FactType] = {t.name: t for t in ASSERTED}
for _c in COLLECTORS:
    for _t in _c.provides:
        if _t.name in TYPES:
            raise RuntimeError(f"fact type {_t.name!r} is declared twice")
        TYPES[_t.name] = _t

# `checked` facts name a check: only the collectors' names can match.
TYPES["checked"].fields["name"] = TYPES["checked"].fields["name"]._replace(
    values=tuple(c.name for c in COLLECTORS))

# field name -> JSON type ("str", "int", "bool"), per fact type
FACT_TYPES: dict[str, dict[str, str]] = {
    name: {f: spec.kind for f, spec in t.fields.items()} for name, t in TYPES.items()}

# check name -> fact types it provides. A rule's `check` step names one of these.
CHECKS: dict[str, tuple[str, ...]] = {c.name: tuple(t.name for t in c.provides)
                                      for c in COLLECTORS}

# fact type -> the check that gathers it (absent for facts the session asserts)
PROVIDER: dict[str, str] = {t: name for name, types in CHECKS.items() for t in types}


def fact_line(fact: Fact) -> str:
    """A short human description of a fact, for traces and evidence."""
    t = TYPES.get(str(fact.get("type")))
    if t is None:
        shown = ", ".join(f"{k}={v}" for k, v in fact.items() if k not in ("type", "sid", "_n"))
        return f"{fact.get('type')} {shown}"
    return t.describe(fact)
