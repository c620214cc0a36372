"""The match operators, in one table: what value each takes, its engine
form, its Python meaning (the pre-filter), its negation and its schema.

The compiler, the pre-filter (engine/applicable.py), the loader and the JSON
Schema all read this table, so an operator cannot mean one thing to the
engine and another to the code that decides which rules to register.

Text operators (contains, icontains, startswith, endswith, matches) are
evaluated in Python, before a fact reaches the engine: the driver adds a
mark field (`m_` and a hash of field, operator and operand) to each fact a
text test holds for, and the engine only tests that the mark exists. So
`matches` is Python's `re.search` (anywhere in the text unless anchored),
never the engine's whole-string Lua-like dialect, and a text test can be
negated (`$nex`) like any other, also inside a pattern (an exception).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any, Literal, NamedTuple

ValueKind = Literal["scalar", "list", "bool", "text"]
SCALAR_SCHEMA: dict[str, Any] = {"type": ["string", "number", "boolean"]}
MAX_LIST = 256
MAX_TEXT = 200



class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()  # the fact has no such field


def mark_name(field: str, op: str, value: str) -> str:
    """The field a fact carries when `field op value` holds for it."""
    import hashlib

    digest = hashlib.sha1(f"{field}\0{op}\0{value}".encode(), usedforsecurity=False)
    return "m_" + digest.hexdigest()[:12]


@lru_cache(maxsize=4096)
def regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _search(text: str, pattern: str) -> bool:
    return regex(pattern).search(text) is not None


def _marked(op: str) -> Callable[[str, Any], dict[str, Any]]:
    return lambda field, value: {"$ex": {mark_name(field, op, value): 1}}


class Operator(NamedTuple):
    name: str
    doc: str
    value: ValueKind
    refs: bool                                   # takes `$alias.field`
    engine: Callable[[str, Any], dict[str, Any]]  # durable test for (field, value)
    # Python meaning, for the pre-filter: (fact value or MISSING, rule value)
    # -> holds; None when Python cannot decide the engine's answer (keep the rule).
    holds: Callable[[Any, Any], bool | None]
    negation: str | None = None  # the operator meaning NOT this one, if any
    marked: bool = False  # evaluated in Python; the engine tests the fact's mark

    def schema(self) -> dict[str, Any]:
        if self.value == "list":
            return {"oneOf": [{"type": "array", "items": SCALAR_SCHEMA, "minItems": 1,
                               "maxItems": MAX_LIST},
                              {"type": "string", "pattern": "^@"}]}
        if self.value == "bool":
            return {"type": "boolean"}
        if self.value == "text":
            return {"type": "string", "minLength": 1, "maxLength": MAX_TEXT}
        return SCALAR_SCHEMA


def _present(fn: Callable[[Any, Any], bool | None], absent: bool | None
             ) -> Callable[[Any, Any], bool | None]:
    """Apply `fn` to a present field; `absent` is the engine's answer without it."""
    def holds(value: Any, arg: Any) -> bool | None:
        if value is MISSING:
            return absent
        try:
            return fn(value, arg)
        except TypeError:
            return None  # e.g. "a" < 3: the engine's coercions decide
    return holds


def _compare(symbol: str) -> Callable[[str, Any], dict[str, Any]]:
    return lambda field, value: {symbol: {field: value}}


def _in(field: str, values: Any) -> dict[str, Any]:
    # The engine has no `in`: an `$or` of equalities.
    if len(values) == 1:
        return {field: values[0]}
    return {"$or": [{field: v} for v in values]}


def _not_in(field: str, values: Any) -> dict[str, Any]:
    if len(values) == 1:
        return {"$neq": {field: values[0]}}
    return {"$and": [{"$neq": {field: v}} for v in values]}


def _text(fn: Callable[[str, str], bool]) -> Callable[[Any, Any], bool | None]:
    return _present(lambda v, a: fn(str(v), str(a)), absent=False)


# The engine's `$neq` fails on an absent field (docs/engine.md), so
# ne and not_in keep such a fact out; the pre-filter cannot be sure of the
# join-free meaning there and keeps the rule (None).
OPERATORS: dict[str, Operator] = {op.name: op for op in (
    Operator("eq", "equal to", "scalar", True, lambda f, v: {f: v},
             _present(lambda a, b: bool(a == b), absent=False), "ne"),
    Operator("ne", "not equal to (a fact without the field does not match)", "scalar", True,
             _compare("$neq"), _present(lambda a, b: bool(a != b), absent=None), "eq"),
    Operator("lt", "less than", "scalar", True, _compare("$lt"),
             _present(lambda a, b: bool(a < b), absent=False), "gte"),
    Operator("lte", "less than or equal to", "scalar", True, _compare("$lte"),
             _present(lambda a, b: bool(a <= b), absent=False), "gt"),
    Operator("gt", "greater than", "scalar", True, _compare("$gt"),
             _present(lambda a, b: bool(a > b), absent=False), "lte"),
    Operator("gte", "greater than or equal to", "scalar", True, _compare("$gte"),
             _present(lambda a, b: bool(a >= b), absent=False), "lt"),
    Operator("in", "one of a list (or @list)", "list", False, _in,
             _present(lambda a, b: a in b, absent=False), "not_in"),
    Operator("not_in", "none of a list (a fact without the field does not match)", "list",
             False, _not_in, _present(lambda a, b: a not in b, absent=None), "in"),
    Operator("exists", "the field is present (true) or absent (false)", "bool", False,
             lambda f, v: {("$ex" if v else "$nex"): {f: 1}},
             lambda a, b: (a is not MISSING) == b, "exists"),
    Operator("contains", "text containing this (case-sensitive)", "text", False,
             _marked("contains"), _text(lambda a, b: b in a), marked=True),
    Operator("icontains", "text containing this, ignoring case", "text", False,
             _marked("icontains"), _text(lambda a, b: b.casefold() in a.casefold()), marked=True),
    Operator("startswith", "text starting with this", "text", False,
             _marked("startswith"), _text(lambda a, b: a.startswith(b)), marked=True),
    Operator("endswith", "text ending with this", "text", False,
             _marked("endswith"), _text(lambda a, b: a.endswith(b)), marked=True),
    Operator("matches", "a Python regular expression found anywhere in the text (re.search; "
             "anchor with ^ and $, (?i) ignores case)", "text", False,
             _marked("matches"), _text(_search), marked=True),
)}

NAMES: tuple[str, ...] = tuple(OPERATORS)


def negated(op: str, value: Any) -> tuple[str, Any] | None:
    """(operator, value) meaning NOT (op value), or None when not expressible."""
    neg = OPERATORS[op].negation
    if neg is None:
        return None
    return (neg, not value) if op == "exists" else (neg, value)
