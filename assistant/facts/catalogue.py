"""The fact types rules may match, derived from the collectors and the
session's own facts. Pure data, importable without psutil: the rule loader,
the compiler, the schema and the trace all read it from here.

The full tables (TYPES, FACT_TYPES, CHECKS, PROVIDER) are built on first use,
which imports every collector; a question's trace lines only need the
collectors that ran (fact_line).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from assistant.facts.asserted import ASSERTED
from assistant.facts.base import Fact, FactType
from assistant.facts.collectors import all_collectors, loaded


@cache
def _tables() -> dict[str, Any]:
    types: dict[str, FactType] = {t.name: t for t in ASSERTED}
    collectors = all_collectors()
    for c in collectors:
        for t in c.provides:
            if t.name in types:
                raise RuntimeError(f"fact type {t.name!r} is declared twice")
            types[t.name] = t
    # `checked` facts name a check: only the collectors' names can match.
    types["checked"] = types["checked"]._replace(fields={
        **types["checked"].fields,
        "name": types["checked"].fields["name"]._replace(values=tuple(c.name for c in collectors))})
    checks = {c.name: tuple(t.name for t in c.provides) for c in collectors}
    return {
        "TYPES": types,
        # field name -> JSON type ("str", "int", "bool"), per fact type
        "FACT_TYPES": {name: {f: spec.kind for f, spec in t.fields.items()}
                       for name, t in types.items()},
        # check name -> fact types it provides (a rule's `check` step names one)
        "CHECKS": checks,
        # fact type -> the check that gathers it (absent for facts the session asserts)
        "PROVIDER": {t: name for name, provided in checks.items() for t in provided},
    }


def __getattr__(name: str) -> Any:
    if name in ("TYPES", "FACT_TYPES", "CHECKS", "PROVIDER"):
        return _tables()[name]
    raise AttributeError(name)


_ASSERTED = {t.name: t for t in ASSERTED}


def fact_type(name: str) -> FactType | None:
    """The declaration of a fact type: from the session's types or a collector
    already loaded (they made the facts), else from the whole catalogue."""
    found = _ASSERTED.get(name)
    if found is None:
        found = next((t for c in loaded() for t in c.provides if t.name == name), None)
    if found is None:
        found = _tables()["TYPES"].get(name)
    return found


def fact_line(fact: Fact) -> str:
    """A short human description of a fact, for traces and evidence."""
    t = fact_type(str(fact.get("type")))
    if t is None:
        shown = ", ".join(f"{k}={v}" for k, v in fact.items() if k not in ("type", "sid", "_n"))
        return f"{fact.get('type')} {shown}"
    return t.describe(fact)
