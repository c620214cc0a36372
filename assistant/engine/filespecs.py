"""The shape of rule files and rule test files, declared once.

From these the loader gets its positioned errors and `python -m
assistant.schema` the JSON Schemas for editors. Built on first use: the
catalogue and categories are read then, never at import of `--ask`'s path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from assistant.categories import CATEGORIES, SEVERITIES
from assistant.engine.operators import MAX_LIST, MAX_TEXT, OPERATORS
from assistant.engine.spec import (
    Anything,
    Bool,
    Const,
    Defs,
    Either,
    Enum,
    Int,
    Issue,
    Named,
    Never,
    Node,
    Obj,
    OneKey,
    Path,
    Scalar,
    Schema,
    Seq,
    Text,
    Variants,
    bool_message,
    did_you_mean,
)
from assistant.report import OS_NAMES

if TYPE_CHECKING:
    from assistant.facts.base import Field

ID = r"[a-z0-9_\-]{1,40}(?:\.[a-z0-9_\-]{1,40}){0,6}"
URL = r"https?://[^\s/]+\S*"
# What a rendered link may hold: the characters of RFC 3986, nothing a
# terminal or Markdown could take for something else.
LINK_URL = r"https?://[A-Za-z0-9\-._~%!$&'()*+,;=:@\[\]]+(?:[/?#][A-Za-z0-9\-._~%!$&'()*+,;=:@/?#]*)?"
LINK_FORM = "each link is an https:// address, or {title: ..., url: https://...}"
ALIAS = r"[a-z][a-z0-9_]{0,30}"
RULE_KEYS = ("id", "title", "description", "category", "priority", "severity", "enabled", "tags",
             "supersedes", "when", "exceptions", "then")
APPENDABLE = ("exceptions", "supersedes", "tags")
SERVICE_KEYS = ("name", "port", "process", "usual_port", "description")
STEP_KINDS = ("conclude", "assert", "check", "ask")


def _strings(message: str = "must be a list of strings") -> Seq:
    return Seq(Text(), message=message)


# --- values against the fact catalogue -------------------------------------------

KIND_WORDS = {"int": "a number", "bool": "true or false", "str": "text"}
ORDERING = ("lt", "lte", "gt", "gte")


def value_problem(where: str, fld: Field, value: Any) -> str | None:
    """Why `value` can never equal field `where` (`target.port`) of the
    catalogue, or None when it can: its JSON type, then its allowed values."""
    if fld.accepts(value):
        return None
    if isinstance(value, (dict, list)) or value is None:
        return f"{where} takes {KIND_WORDS[fld.kind]}, not {type(value).__name__}"
    if fld.kind == "int":
        if isinstance(value, str) and re.fullmatch(r"[+-]?\d+", value.strip()):
            return f"{where} is a number: write {value.strip()} without quotes"
        if isinstance(value, int) and not isinstance(value, bool):
            return (f"{where} is one of {', '.join(map(str, fld.values))}, never {value}"
                    + did_you_mean(str(value), map(str, fld.values)))
        return f"{where} is a number, not {value!r}"
    if fld.kind == "bool":
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return f"{where} is true or false: write {value.lower()} without quotes"
        return bool_message(value, f"{where} is true or false, not {value!r}")
    if not isinstance(value, str):
        shown = str(value).lower() if isinstance(value, bool) else str(value)
        return f"{where} is text: quote it, as in \"{shown}\""
    return (f"{where} has no value {value!r} (values: {', '.join(map(str, fld.values))})"
            + did_you_mean(value, fld.values, fld.synonyms))


@dataclass
class FieldValue(Node):
    """A value for one catalogue field; with `refs`, also `$alias.field` (the
    loader checks the join itself)."""

    where: str
    fld: Field
    refs: bool = False

    def check(self, value: Any, at: Path, out: list[Issue]) -> None:
        if self.refs and isinstance(value, str) and value.startswith("$"):
            return
        problem = value_problem(self.where, self.fld, value)
        if problem:
            out.append(Issue(at, problem))

    def schema(self, defs: Defs) -> Schema:
        base: Schema = {"type": {"int": "integer", "bool": "boolean", "str": "string"}[
            self.fld.kind]}
        if self.fld.values:
            base = {"enum": list(self.fld.values)}
        if not self.refs or base == {"type": "string"}:
            return base
        return {"anyOf": [base, {"type": "string", "pattern": r"^\$"}]}


@dataclass
class TextTest(Node):
    """The operand of a text operator: a bounded string; for `matches` a valid
    regular expression; on a field with fixed values, one some value passes."""

    where: str
    fld: Field
    op: str

    def check(self, value: Any, at: Path, out: list[Issue]) -> None:
        if not isinstance(value, str) or not 1 <= len(value) <= MAX_TEXT:
            out.append(Issue(at, f"`{self.op}` takes a string of 1 to {MAX_TEXT} characters"))
            return
        if self.op == "matches":
            problem = regex_problem(value)
            if problem:
                out.append(Issue(at, problem))
                return
        if self.fld.values and not any(OPERATORS[self.op].holds(v, value)
                                       for v in self.fld.values):
            out.append(Issue(at, f"no value of {self.where} {_VERBS[self.op]} {value!r}, so "
                             f"this never matches (values: {', '.join(map(str, self.fld.values))})"))

    def schema(self, defs: Defs) -> Schema:
        return {"type": "string", "minLength": 1, "maxLength": MAX_TEXT}


_VERBS = {"contains": "contains", "icontains": "contains (ignoring case)",
          "startswith": "starts with", "endswith": "ends with", "matches": "matches"}


def regex_problem(pattern: str) -> str | None:
    """Why `pattern` is not a Python regular expression, or None."""
    try:
        re.compile(pattern)
    except re.error as exc:
        return f"invalid regular expression: {exc.msg} at position {exc.pos} (Python `re` syntax)"
    return None


def _field_condition(fact: str, name: str, fld: Field) -> Node:
    """What `match: {name: ...}` takes on fact type `fact`: a value or
    `{operator: operand}`, each checked against the catalogue's field."""
    where = f"{fact}.{name}"
    ops: dict[str, Node] = {}
    for op, spec in OPERATORS.items():
        if fld.ops and op not in fld.ops:
            ops[op] = Never(f"{where} is matched with {', '.join(fld.ops)}, not `{op}`")
        elif spec.value == "text" and fld.kind != "str":
            ops[op] = Never(f"`{op}` works on text; {where} is {KIND_WORDS[fld.kind]}")
        elif op in ORDERING and fld.kind != "int":
            ops[op] = Never(f"`{op}` compares numbers; {where} is {KIND_WORDS[fld.kind]}")
        elif spec.value == "text":
            ops[op] = TextTest(where, fld, op)
        elif spec.value == "bool":
            ops[op] = Bool(message=f"`{op}` takes true or false")
        elif spec.value == "list":
            bad = f"`{op}` takes a list of 1 to {MAX_LIST} values or @list"
            ops[op] = Either(lambda v: isinstance(v, str), Text(pattern="@.+", message=bad),
                             Seq(FieldValue(where, fld), 1, MAX_LIST, message=bad))
        else:
            ops[op] = FieldValue(where, fld, refs=spec.refs)
    plain: Node = FieldValue(where, fld, refs=True)
    if fld.ops and "eq" not in fld.ops:
        plain = Never(f"{where} is matched with {', '.join(fld.ops)}, not a plain value")
    # Fields of one kind without their own values or operators share one
    # schema definition (the messages, which name the field, are not in it).
    shared = f"{fld.kind}-condition" if not fld.values and not fld.ops else \
        f"{where}-condition"
    return Named(shared, Either(lambda v: isinstance(v, dict),
                                Obj(ops, min_keys=1, message="empty condition",
                                    unknown="unknown operator {key!r} (operators: "
                                    + ", ".join(OPERATORS) + ")"), plain))


@cache
def match_fields() -> dict[str, dict[str, Node | None]]:
    """fact type -> field -> the node for `match: {field: ...}`."""
    from assistant.facts.catalogue import TYPES

    return {t.name: {name: _field_condition(t.name, name, fld) for name, fld in t.fields.items()}
            for t in TYPES.values()}


@cache
def fact_fields() -> dict[str, dict[str, Node | None]]:
    """fact type -> field -> the node for a value in a test's fact."""
    from assistant.facts.catalogue import TYPES

    return {t.name: {name: FieldValue(f"{t.name}.{name}", fld) for name, fld in t.fields.items()}
            for t in TYPES.values()}


@cache
def rule_file() -> Node:
    from assistant.facts.catalogue import CHECKS, FACT_TYPES

    pattern = Named("pattern", Obj(
        {"fact": Enum(FACT_TYPES, "unknown fact type {value!r} (known: {values})"),
         "as": Text(ALIAS, message="alias must be a lower-case identifier"),
         "match": Obj(values=Anything(),
                      message="must map fields to values or {operator: value}")},
        required=("fact",),
        message="a pattern is {fact: TYPE, as: ALIAS, match: {...}} or {not: pattern}",
        missing="a pattern is {{fact: TYPE, as: ALIAS, match: {{...}}}} or {{not: pattern}}",
        unknown="unknown pattern key (fact, as, match)",
        variants=Variants("fact", match_fields(), "match",
                          "fact {value!r} has no field {key!r} (fields: {keys})")))
    item = Either(lambda v: isinstance(v, dict) and set(v) == {"not"},
                  Obj({"not": pattern}), pattern)
    patterns = Seq(item, 1, message="must be a non-empty list of patterns")
    when = Obj({"all": patterns, "any": patterns}, min_keys=1, max_keys=1,
               message="required: `all:` or `any:` with a list of patterns",
               unknown="required: `all:` or `any:` with a list of patterns")
    fix = Obj({"os": Enum(OS_NAMES, ordered=True), "command": Text(), "why": Text()},
              required=("os", "command"), collapse=True,
              message="each fix is {os: linux|macos|windows|any, command: ..., why: ...}")
    url = Text(LINK_URL, message="must be an absolute http:// or https:// address (printable "
               "characters of a URL only, no spaces)")
    link = Either(lambda v: isinstance(v, str), url,
                  Obj({"title": Text(min_len=1, message="required text"), "url": url},
                      required=("url",), message=LINK_FORM, missing="required: an https:// address",
                      unknown="unknown key (title, url)"))
    check_name = Enum(CHECKS, "unknown check {value!r} (known: {values})")
    steps = Seq(OneKey({
        "conclude": Obj({"summary": Text(message="needs `summary:` text"),
                         "evidence": Seq(Text(), message="must be a list of text"),
                         "fix": Seq(fix, message="must be a list"),
                         "kb": _strings("must be a list of kb ids"),
                         "links": Seq(link, message=LINK_FORM)},
                        required=("summary",), message="needs `summary:` text",
                        missing="needs `summary:` text",
                        unknown="unknown key (summary, evidence, fix, kb, links)"),
        "check": Either(lambda v: isinstance(v, list), Seq(check_name), check_name),
        "ask": Obj({"id": Text(), "text": Text(), "choices": Seq(
                       Either(lambda v: isinstance(v, bool), Never(
                           "a choice is the text the user answers: quote true and false"),
                              Scalar()), message="`choices` must be a list")},
                   required=("id", "text"), message="needs `id:` and `text:`",
                   missing="needs `id:` and `text:`"),
        "assert": Obj({"fact": Const("note"),
                       "fields": Obj(values=Scalar(), keys=Enum(FACT_TYPES["note"],
                                                               "note has no field {value!r}"))},
                      required=("fact",), collapse=True,
                      message="asserts {fact: note, fields: {...}}"),
    }, message="each step is one of " + ", ".join(STEP_KINDS)), 1,
        message="required: a list of steps (conclude, assert, check, ask)")
    props: dict[str, Node] = {
        "id": Text(ID, message="required: dotted lower-case id, e.g. port.nothing_listening"),
        "title": Text(min_len=1, message="required: a short sentence"),
        "description": Text(),
        "category": Enum(CATEGORIES, "unknown category {value!r} (one of: {values})",
                         ordered=True),
        "priority": Int(0, 100, message="must be an integer from 0 to 100"),
        "severity": Enum(SEVERITIES, ordered=True),
        "enabled": Bool(),
        "tags": _strings(),
        "supersedes": _strings(),
        "when": when,
        "exceptions": Seq(pattern, message="must be a list of patterns"),
        "then": steps,
    }
    rule = Obj(props, required=("id", "title", "when", "then"),
               message="each rule is a mapping",
               missing="required: {key}",
               unknown="unknown key (allowed: " + ", ".join(sorted(RULE_KEYS)) + ")")
    override = Obj({
        "id": Text(ID), "enabled": Bool(), "reason": Text(),
        "replace": Obj({k: v for k, v in props.items() if k != "id"},
                       unknown="not a replaceable rule key"),
        "append": Obj({"exceptions": Seq(pattern, message="only lists can be appended"),
                       "supersedes": _strings("only lists can be appended"),
                       "tags": _strings("only lists can be appended")},
                      unknown="only lists can be appended (" + ", ".join(APPENDABLE) + ")"),
    }, required=("id",), message="each override is {id: RULE, enabled|replace|append: ...}",
        missing="each override is {{id: RULE, enabled|replace|append: ...}}",
        unknown="unknown override key (" + ", ".join(
            sorted(("id", "enabled", "reason", "replace", "append"))) + ")")
    port = Int(1, 65535, message="must be a port, 1 to 65535")
    service = Obj({"name": Text(ID, message="needs `name` (lower-case, e.g. team-db) and `port`"),
                   "port": port, "usual_port": port,
                   "process": Text(message="must be str"),
                   "description": Text(message="must be str")},
                  required=("name", "port"),
                  message="each service is {name, port, process, usual_port, description}",
                  missing="needs `name` (lower-case, e.g. team-db) and `port`",
                  unknown="unknown key (allowed: " + ", ".join(SERVICE_KEYS) + ")")
    return Obj({
        "format": Const(1, message="must be 1"),
        "lists": Obj(values=Seq(Scalar(), message="must map names to lists of values"),
                     message="must map names to lists of values"),
        "services": Seq(service, message="must be a list of {name, port, ...}"),
        "rules": Seq(rule, message="must be a list of rules"),
        "overrides": Seq(override, message="must be a list"),
    }, required=("format",), missing="must be 1",
        message="a rule file is a mapping with `format: 1` and `rules:`",
        unknown="unknown top-level key (expected format, lists, services, rules, overrides)",
        doc="assistant rule file (format 1)")


@cache
def rule_test_file() -> Node:
    from assistant.facts.catalogue import CHECKS, FACT_TYPES

    fact = Obj(values=Anything(), required=("type",),
               fields={"type": Enum(FACT_TYPES, "unknown fact type {value!r} (known: {values})")},
               message="a fact is {type: TYPE, field: value, ...}",
               missing="a fact needs `type:`",
               variants=Variants("type", fact_fields(), None,
                                 "fact type {value!r} has no field {key!r} (fields: {keys})",
                                 extra=("type",)))
    facts = Seq(fact, message="must be a list of facts")
    check = Enum(CHECKS, "unknown check {value!r} (known: {values})")
    ids = _strings("must be a list of rule ids")
    case = Obj({
        "name": Text(min_len=1, message="each test needs a name"),
        "given": Obj({"facts": facts,
                      "answers": Obj(values=Scalar(), message="must map question ids to answers"),
                      "checks": Obj(values=facts, keys=check,
                                    message="must map check names to lists of facts"),
                      "unknown_checks": Seq(check, message="must be a list of check names")},
                     message="given is a mapping"),
        "expect": Obj({"top": Text(), "diagnoses": ids, "absent": ids, "fired": ids,
                       "not_fired": ids, "asked": _strings("must be a list of question ids"),
                       "nothing": Bool()}, message="expect is a mapping"),
    }, required=("name",), missing="each test needs a name", message="each test is a mapping")
    return Obj({"format": Const(1, message="must be 1"),
                "tests": Seq(case, message="must be a list of tests")},
               required=("format", "tests"),
               message="a test file is {format: 1, tests: [...]}",
               missing="a test file is {{format: 1, tests: [...]}}",
               unknown="unknown top-level key (expected format, tests)",
               doc="assistant rule test file (format 1)")


KB_ID = r"[a-z0-9][a-z0-9\-]{1,60}"
KB_KEYS = ("id", "question", "phrasings", "tags", "answer", "commands", "related", "sources")
SOURCE_FORM = "{{title: ..., url: https://...}}"


@cache
def kb_entry() -> Node:
    """One knowledge-base entry (one YAML file)."""
    source = Obj({"title": Text(min_len=1, message="required text"),
                  "url": Text(URL, message="required: an absolute http:// or https:// address "
                              "without spaces")},
                 required=("title", "url"), missing="required text",
                 message="each source is a mapping {title: ..., url: https://...}")
    command = Obj({"os": Enum(OS_NAMES, ordered=True), "command": Text(), "why": Text()},
                  required=("os", "command"), collapse=True,
                  message="each is {os: linux|macos|windows|any, command: ..., why: ...}")
    return Obj({
        "id": Text(KB_ID, message="required: lower-case words joined by '-'"),
        "question": Text(min_len=1, message="required text"),
        "answer": Text(min_len=1, message="required text"),
        "phrasings": _strings(), "tags": _strings(), "related": _strings(),
        "commands": Seq(command, message="each is {os: linux|macos|windows|any, command: ..., "
                                         "why: ...}"),
        "sources": Seq(source, 1, message="must be a non-empty list of {title: ..., url: "
                                          "https://...}"),
    }, required=("id", "question", "answer", "sources"),
        message="an entry is a mapping with id, question and answer",
        missing={"id": "required: lower-case words joined by '-'", "question": "required text",
                 "answer": "required text",
                 "sources": f"required: a list of {SOURCE_FORM}, primary sources first"},
        doc="assistant knowledge-base entry")


def kb_label(path: tuple[Any, ...]) -> str:
    """`question`, `sources[2].url`: the field a KB error names."""
    if not path:
        return "entry"
    return str(path[0]) + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path[1:])


# Parents whose name belongs in an error's field name (`conclude.fix`).
_PARENTS = {"services", "conclude", "then", "replace", "append", "given", "expect", "checks",
            "ask", "assert", "fields", "lists"}


def label(path: tuple[Any, ...]) -> str:
    """The field name an error names: `title`, `match.port`, `conclude.fix`;
    in a test case the whole way down: `given.facts.port`, `expect.top`."""
    if path[:1] == ("tests",) and len(path) > 2:
        return ".".join(p for p in path[2:] if isinstance(p, str))
    names = [p for p in path[2:] if isinstance(p, str)] if path[:1] in (
        ("rules",), ("overrides",), ("tests",)) else [p for p in path if isinstance(p, str)]
    if not names:
        return str(path[0]) if path else "file"
    if "match" in names:
        i = len(names) - 1 - names[::-1].index("match")
        return f"match.{names[i + 1]}" if i + 1 < len(names) else "match"
    if len(names) > 1 and names[-2] in _PARENTS:
        return f"{names[-2]}.{names[-1]}"
    return names[-1]


def owner(data: Any, path: tuple[Any, ...]) -> str | None:
    """The rule (or service, or test) an error belongs to, for the message."""
    if len(path) < 2 or not isinstance(data, dict) or not isinstance(path[1], int):
        return None
    items = data.get(path[0])
    if not isinstance(items, list) or path[1] >= len(items) or not isinstance(items[path[1]], dict):
        return None
    item: dict[str, Any] = items[path[1]]
    for key in ("id", "name"):
        if isinstance(item.get(key), str):
            return str(item[key])
    return None
