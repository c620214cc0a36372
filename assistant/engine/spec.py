"""A small declarative language for the shape of YAML files.

One spec yields both the errors a user sees (every one at once, each at
the path of the bad value, so the loader can name file:line:column) and the
JSON Schema editors use. engine/filespecs.py declares rule files and rule
test files with it; what needs more than shape (aliases in scope, joins,
templates, lists, overrides) is checked by the loader on top.

A node's `message` replaces the generic wording where a user deserves a
sentence about the field ("each fix is {os: ..., command: ...}").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

Path = tuple[Any, ...]
Schema = dict[str, Any]


class Issue(NamedTuple):
    path: Path
    message: str


class Defs:
    """Named sub-schemas collected while rendering (`#/definitions/NAME`)."""

    def __init__(self) -> None:
        self.schemas: dict[str, Schema] = {}


class Node:
    """A value's expected shape."""

    message: str | None = None

    def check(self, value: Any, at: Path, out: list[Issue]) -> None:
        raise NotImplementedError

    def schema(self, defs: Defs) -> Schema:
        raise NotImplementedError

    def fail(self, at: Path, out: list[Issue], default: str) -> None:
        out.append(Issue(at, self.message or default))


# What YAML 1.1 (PyYAML's default) reads as booleans; text in these files,
# which are read with YAML 1.2 core semantics (engine/yamlsafe.py).
YAML11_BOOLS = frozenset(("yes", "no", "on", "off", "y", "n"))


def bool_message(value: Any, default: str) -> str:
    """`default`, plus why `yes` is not a boolean here."""
    if isinstance(value, str) and value.lower() in YAML11_BOOLS:
        return f"{default} (`{value}` is text here, as in YAML 1.2: write true or false)"
    return default


def _folded(text: str) -> str:
    return text.lower().replace("_", "-").replace(" ", "-")


def suggestions(value: Any, candidates: Iterable[Any],
                synonyms: Iterable[tuple[str, str]] = ()) -> list[str]:
    """What `value` was probably meant to be, best first: a synonym, the same
    word spelt with `_` or capitals, a candidate inside it or it inside a
    candidate, then close spellings."""
    import difflib

    names = [str(c) for c in candidates]
    text = _folded(str(value))
    out = [want for said, want in synonyms if _folded(said) == text and want in names]
    out += [n for n in names if _folded(n) == text]
    if len(text) >= 2:
        out += [n for n in names if len(n) >= 3 and (_folded(n) in text or text in _folded(n))]
    scored = sorted(((difflib.SequenceMatcher(None, text, _folded(n)).ratio(), n)
                     for n in names), reverse=True)
    # Close spellings, but only those about as close as the closest.
    out += [n for score, n in scored if score >= 0.6 and score >= scored[0][0] - 0.05]
    return list(dict.fromkeys(out))[:3]


def did_you_mean(value: Any, candidates: Iterable[Any],
                 synonyms: Iterable[tuple[str, str]] = ()) -> str:
    """`; did you mean 'x'?` (or two), or nothing when nothing is close."""
    found = suggestions(value, candidates, synonyms)
    if not found:
        return ""
    return "; did you mean " + " or ".join(repr(f) for f in found[:2]) + "?"


def _plain(value: Any) -> bool:
    return isinstance(value, (str, int, float)) and not isinstance(value, bool) or \
        isinstance(value, bool)


@dataclass
class Text(Node):
    pattern: str | None = None
    min_len: int = 0
    max_len: int | None = None
    message: str | None = None

    def check(self, value: Any, at: Path, out: list[Issue]) -> None:
        if not isinstance(value, str):
            self.fail(at, out, "must be text")
        elif len(value.strip()) < self.min_len or (self.max_len and len(value) > self.max_len):
            self.fail(at, out, f"must be text of {self.min_len} to {self.max_len} characters")
        elif self.pattern and not re.fullmatch(self.pattern, value):
            self.fail(at, out, f"must match {self.pattern}")

    def schema(self, defs: Defs) -> Schema:
        out: Schema = {"type": "string"}
        if self.pattern:
            out["pattern"] = f"^{self.pattern}$"
        if self.min_len:
            out["minLength"] = self.min_len
        if self.max_len:
            out["maxLength"] = self.max_len
        return out


@dataclass
class Enum(Node):
    """One of fixed values; `message` may use {value!r} and {values}."""

    values: Iterable[Any]
    message: str | None = None
    ordered: bool = False  # keep the declared order in the schema

    def check(self, value: Any, at: Path, out: list[Issue]) -> None:
        values = list(self.values)
        if not _plain(value) or value not in values:
            text = self.message or "must be one of {values}"
            out.append(Issue(at, text.format(value=value, values=", ".join(map(str, values)))))

    def schema(self, defs: Defs) -> Schema:
        values = list(self.values)
        return {"enum": values if self.ordered else sorted(values)}


@dataclass
class Const(Node):
    value: Any
    message: str | None = None

    def check(self, value: Any, at: Path, out: list[Issue]) -> None:
        if value != self.value or isinstance(value, bool) != isinstance(self.value, bool):
            self.fail(at, out, f"must be {self.value}")

    def schema(self, defs: Defs) -> Schema:
        return {"const": self.value}


@dataclass
class Int(Node):
    minimum: int | None = None
    maximum: int | None = None
    message: str | None = None

    def check(self, value: Any, at: Path, out: list[Issue]) -> None:
        if not isinstance(value, int) or isinstance(value, bool) or \
                (self.minimum is not None and value < self.minimum) or \
                (self.maximum is not None and value > self.maximum):
            self.fail(at, out, f"must be an integer from {self.minimum} to {self.maximum}")

    def schema(self, defs: Defs) -> Schema:
        out: Schema = {"type": "integer"}
        if self.minimum is not None:
            out["minimum"] = self.minimum
        if self.maximum is not None:
            out["maximum"] = self.maximum
        return out


@dataclass
class Bool(Node):
    message: str | None = None

    def check(self, value: Any, at: Path, out: list[Issue]) -> None:
        if not isinstance(value, bool):
            out.append(Issue(at, bool_message(value, self.message or "must be true or false")))

    def schema(self, defs: Defs) -> Schema:
        return {"type": "boolean"}


@dataclass
class Never(Node):
    """A key that is known but not allowed here, with the reason."""

    message: str

    def check(self, value: Any, at: Path, out: list[Issue]) -> None:
        out.append(Issue(at, self.message))

    def schema(self, defs: Defs) -> Schema:
        return {"not": {}}


@dataclass
class Anything(Node):
    """Any value: another node (a variant's) checks it."""

    def check(self, value: Any, at: Path, out: list[Issue]) -> None:
        return None

    def schema(self, defs: Defs) -> Schema:
        return {}


@dataclass
class Scalar(Node):
    message: str | None = None

    def check(self, value: Any, at: Path, out: list[Issue]) -> None:
        if not _plain(value):
            self.fail(at, out, "value must be a string, number or boolean")

    def schema(self, defs: Defs) -> Schema:
        return {"type": ["string", "number", "boolean"]}


@dataclass
class Seq(Node):
    item: Node
    min_items: int = 0
    max_items: int | None = None
    message: str | None = None

    def check(self, value: Any, at: Path, out: list[Issue]) -> None:
        if not isinstance(value, list) or len(value) < self.min_items or \
                (self.max_items is not None and len(value) > self.max_items):
            self.fail(at, out, "must be a list")
            return
        for i, v in enumerate(value):
            self.item.check(v, at + (i,), out)

    def schema(self, defs: Defs) -> Schema:
        out: Schema = {"type": "array", "items": self.item.schema(defs)}
        if self.min_items:
            out["minItems"] = self.min_items
        if self.max_items is not None:
            out["maxItems"] = self.max_items
        return out


@dataclass
class Variants:
    """The keys allowed under `field`, and the node for each key's value,
    depend on the value of `on` (a pattern's `match` keys on its `fact`, a
    test fact's keys on its `type`). A key whose node is None is only named."""

    on: str
    keys: Mapping[str, Mapping[str, Node | None]]
    field: str | None = None  # None: the object's own keys
    message: str = "{on} {value!r} has no field {key!r} (fields: {keys})"
    extra: tuple[str, ...] = ()  # keys always allowed (the `on` key itself)


@dataclass
class Obj(Node):
    """A mapping with known keys (`fields`), or with free keys (`values`)."""

    fields: dict[str, Node] = field(default_factory=dict)
    required: tuple[str, ...] = ()
    values: Node | None = None        # the node for every value of a free-key mapping
    keys: Node | None = None          # the node for every key of a free-key mapping
    min_keys: int = 0
    max_keys: int | None = None
    message: str | None = None        # not a mapping (or too few / many keys)
    unknown: str | None = None        # an unknown key; may use {key!r} and {keys}
    missing: str | Mapping[str, str] | None = None  # a required key is missing ({key}),
    # or one message per key
    collapse: bool = False            # any problem inside is one `message` here
    variants: Variants | None = None
    doc: str = ""

    def check(self, value: Any, at: Path, out: list[Issue]) -> None:
        if not isinstance(value, dict) or len(value) < self.min_keys or \
                (self.max_keys is not None and len(value) > self.max_keys):
            self.fail(at, out, "must be a mapping")
            return
        inner: list[Issue] = []
        for key in self.required:
            if key not in value:
                # At the missing key's path: its position is its parent's,
                # its name is the field the message is about.
                text = (self.missing.get(key) if isinstance(self.missing, Mapping)
                        else self.missing) or "required key `{key}` is missing"
                inner.append(Issue(at + (key,), text.format(key=key)))
        for key, v in value.items():
            node = self.fields.get(key) if self.fields else None
            if node is None and self.values is None:
                text = self.unknown or "unknown key (allowed: {keys})"
                inner.append(Issue(at + (key,), text.format(key=key, keys=", ".join(
                    sorted(self.fields)))))
                continue
            if node is None and self.keys is not None:
                self.keys.check(key, at + (key,), inner)
            (node or self.values).check(v, at + (key,), inner)  # type: ignore[union-attr]
        if self.variants is not None:
            inner += self._variant_issues(value, at)
        if inner and self.collapse:
            self.fail(at, out, "is not valid")
        else:
            out += inner

    def _variant_issues(self, value: dict[str, Any], at: Path) -> list[Issue]:
        var = self.variants
        assert var is not None
        chosen = value.get(var.on)
        if not isinstance(chosen, str) or chosen not in var.keys:
            return []  # the `on` field's own node reports it
        allowed = set(var.keys[chosen]) | set(var.extra)
        target = value.get(var.field) if var.field else value
        if not isinstance(target, dict):
            return []
        base = at + ((var.field,) if var.field else ())
        out: list[Issue] = []
        for k, v in target.items():
            if k not in allowed:
                out.append(Issue(base + (k,), var.message.format(
                    on=var.on, value=chosen, key=k, keys=", ".join(sorted(var.keys[chosen])))
                    + did_you_mean(k, var.keys[chosen])))
                continue
            node = var.keys[chosen].get(k)
            if node is not None:
                node.check(v, base + (k,), out)
        return out

    def schema(self, defs: Defs) -> Schema:
        out: Schema = {"type": "object"}
        if self.doc:
            out["description"] = self.doc
        if self.required:
            out["required"] = list(self.required)
        if self.fields:
            out["properties"] = {k: n.schema(defs) for k, n in self.fields.items()}
        out["additionalProperties"] = self.values.schema(defs) if self.values else False
        if self.keys is not None:
            out["propertyNames"] = self.keys.schema(defs)
        if self.min_keys:
            out["minProperties"] = self.min_keys
        if self.max_keys is not None:
            out["maxProperties"] = self.max_keys
        if self.variants is not None:
            var = self.variants
            out["allOf"] = [{"if": {"properties": {var.on: {"const": name}}},
                             "then": ({"properties": {var.field: _variant(keys, (), defs)}}
                                      if var.field else _variant(keys, var.extra, defs))}
                            for name, keys in var.keys.items()]
        return out


def _variant(keys: Mapping[str, Node | None], extra: tuple[str, ...], defs: Defs) -> Schema:
    out: Schema = {"propertyNames": {"enum": [*extra, *sorted(keys)]}}
    props = {k: n.schema(defs) for k, n in sorted(keys.items()) if n is not None}
    if props:
        out["properties"] = props
    return out


@dataclass
class OneKey(Node):
    """A mapping with exactly one key, which picks the node for its value
    (`{conclude: ...}`, `{check: ...}`)."""

    options: dict[str, Node]
    message: str | None = None

    def check(self, value: Any, at: Path, out: list[Issue]) -> None:
        if not isinstance(value, dict) or len(value) != 1 or next(iter(value)) not in self.options:
            self.fail(at, out, f"must be one of {', '.join(self.options)}")
            return
        key, v = next(iter(value.items()))
        self.options[key].check(v, at + (key,), out)

    def schema(self, defs: Defs) -> Schema:
        return {"oneOf": [{"type": "object", "required": [k], "additionalProperties": False,
                           "properties": {k: n.schema(defs)}} for k, n in self.options.items()]}


@dataclass
class Either(Node):
    """Pick a node by the value's own shape: `when(value)` chooses `then`,
    otherwise `other` (a condition is a scalar or `{op: value}`)."""

    when: Callable[[Any], bool]
    then: Node
    other: Node

    def check(self, value: Any, at: Path, out: list[Issue]) -> None:
        (self.then if self.when(value) else self.other).check(value, at, out)

    def schema(self, defs: Defs) -> Schema:
        return {"oneOf": [self.other.schema(defs), self.then.schema(defs)]}


@dataclass
class Named(Node):
    """A node rendered once under `#/definitions/NAME` and referred to."""

    name: str
    node: Node

    def check(self, value: Any, at: Path, out: list[Issue]) -> None:
        self.node.check(value, at, out)

    def schema(self, defs: Defs) -> Schema:
        if self.name not in defs.schemas:
            defs.schemas[self.name] = {}  # reserve: recursion refers before it is done
            defs.schemas[self.name] = self.node.schema(defs)
        return {"$ref": f"#/definitions/{self.name}"}


def document_schema(node: Node, title: str) -> Schema:
    """The whole JSON Schema (draft 7) for a file of shape `node`."""
    defs = Defs()
    body = node.schema(defs)
    out: Schema = {"$schema": "http://json-schema.org/draft-07/schema#", "title": title, **body}
    if defs.schemas:
        out["definitions"] = defs.schemas
    return out


def issues(node: Node, value: Any) -> list[Issue]:
    """Every shape problem of `value`, in document order."""
    out: list[Issue] = []
    node.check(value, (), out)
    return out
