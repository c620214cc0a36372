"""The reference of every fact type and field rules may match, generated
from the catalogue: `assistant rules facts` prints it, `python -m
assistant.schema` writes it to docs/rule-facts.md (a test keeps it in sync).
"""

from __future__ import annotations

from assistant.facts.base import Field
from assistant.facts.catalogue import CHECKS, PROVIDER, TYPES

KINDS = {"int": "number", "bool": "true/false", "str": "text"}
# Where the facts no check gathers come from.
ASSERTED_BY = {
    "target": "the session, from the pasted text (and `--answer host=` / `port=`)",
    "symptom": "the session, from the pasted text",
    "signal": "the session, one per wording found in the pasted text",
    "answer": "the user's answers (the chat, or `--answer ID=VALUE`)",
    "checked": "the driver, after each check's facts",
    "note": "rules, with `assert` steps",
}


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _values(fld: Field) -> str:
    if fld.values:
        return ", ".join(f"`{v}`" for v in fld.values)
    return "`true`, `false`" if fld.kind == "bool" else "any " + KINDS[fld.kind]


def _example(fld: Field) -> str:
    if fld.example is not None:
        return f"`{fld.example}`"
    if fld.values:
        return f"`{fld.values[0]}`"
    return "`true`" if fld.kind == "bool" else ""


def where_from(name: str) -> str:
    if name in PROVIDER:
        return f"the `{PROVIDER[name]}` check (a rule asks for it: `- check: {PROVIDER[name]}`)"
    return ASSERTED_BY.get(name, "asserted")


def fact_reference(name: str) -> str:
    """One fact type's section, in Markdown."""
    t = TYPES[name]
    out = [f"## `{name}`", "", t.doc, "", f"Provided by {where_from(name)}.", "",
           "| field | type | values | example | meaning |", "|---|---|---|---|---|"]
    for fname, fld in t.fields.items():
        doc = fld.doc + (f" (match with {', '.join(fld.ops)})" if fld.ops else "")
        out.append(f"| `{fname}` | {KINDS[fld.kind]} | {_cell(_values(fld))} | "
                   f"{_cell(_example(fld))} | {_cell(doc)} |")
    return "\n".join(out) + "\n"


def reference() -> str:
    """The whole page."""
    from assistant.engine.operators import OPERATORS

    ops = "\n".join(f"| `{op.name}` | {_cell(op.doc)} | {_operand(op.name)} |"
                    for op in OPERATORS.values())
    checks = ", ".join(f"`{c}`" for c in CHECKS)
    head = f"""# Facts rules can match

Generated from the fact catalogue (`assistant/facts/`) by `python -m
assistant.schema`; `assistant rules facts [TYPE]` prints the same. Do not edit
by hand.

A pattern is `{{fact: TYPE, as: ALIAS, match: {{FIELD: CONDITION}}}}`. A
condition is a value (equality) or `{{OPERATOR: OPERAND}}`; `rules check`
refuses a value of the wrong type (`port: "5432"`), a value a field never
takes (`kind: ipv5`, with "did you mean"), and an operator its type cannot
take (`contains` on a number). Facts a check gathers exist only once a rule
ran that check ({checks}).

| operator | meaning | operand |
|---|---|---|
{ops}

Numbers take `eq ne lt lte gt gte in not_in exists`; true/false fields
`eq ne in not_in exists`; text every operator but the orderings (`lt`, ...).

Text operators are evaluated in Python before the engine sees a fact:
`matches` is Python's `re.search`, so it finds the pattern anywhere in the
text unless you anchor it (`^uvicorn`, `kafka\\.Kafka$`), and `(?i)` ignores
case. On the command line `uvicorn (app)`, `uvicorn`, `uvicorn.*`,
`^uvicorn`, `\\(app\\)$` and `uvicorn \\(app\\)` all match; `uvicorn (` is
an invalid pattern, which `rules check` reports. Joins (`$alias.field`) take
a field of an earlier pattern; in `not:` only equality joins are allowed.

"""
    return head + "\n".join(fact_reference(n) for n in TYPES)


def _operand(op: str) -> str:
    from assistant.engine.operators import OPERATORS

    kind = OPERATORS[op].value
    refs = " or `$alias.field`" if OPERATORS[op].refs else ""
    return {"list": "a list of values, or `\"@name\"` (a list under `lists:`)",
            "bool": "`true` or `false`", "text": "text (numbers and true/false fields: no)",
            "scalar": "a value of the field's type" + refs}[kind]
