"""The shape of rule files and rule test files, declared once.

From these the loader gets its positioned errors and `python -m
assistant.schema` the JSON Schemas for editors. Built on first use: the
catalogue and categories are read then, never at import of `--ask`'s path.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from assistant.categories import CATEGORIES, SEVERITIES
from assistant.engine.operators import MAX_LIST, MAX_TEXT, OPERATORS
from assistant.engine.spec import (
    Bool,
    Const,
    Either,
    Enum,
    Int,
    Named,
    Node,
    Obj,
    OneKey,
    Scalar,
    Seq,
    Text,
    Variants,
)
from assistant.report import OS_NAMES

ID = r"[a-z0-9_\-]{1,40}(?:\.[a-z0-9_\-]{1,40}){0,6}"
ALIAS = r"[a-z][a-z0-9_]{0,30}"
RULE_KEYS = ("id", "title", "description", "category", "priority", "severity", "enabled", "tags",
             "supersedes", "when", "exceptions", "then")
APPENDABLE = ("exceptions", "supersedes", "tags")
SERVICE_KEYS = ("name", "port", "process", "usual_port", "description")
STEP_KINDS = ("conclude", "assert", "check", "ask")


def _strings(message: str = "must be a list of strings") -> Seq:
    return Seq(Text(), message=message)


def _operator_value(name: str) -> Node:
    kind = OPERATORS[name].value
    if kind == "list":
        bad = f"`{name}` takes a list of 1 to {MAX_LIST} values or @list"
        return Either(lambda v: isinstance(v, str), Text(pattern="@.+", message=bad),
                      Seq(Scalar(message=f"`{name}` values must be scalars"), 1, MAX_LIST,
                          message=bad))
    if kind == "bool":
        return Bool(message=f"`{name}` takes true or false")
    if kind == "text":
        return Text(min_len=1, max_len=MAX_TEXT,
                    message=f"`{name}` takes a string of 1 to {MAX_TEXT} characters")
    return Scalar()


def _condition() -> Node:
    ops = Obj({name: _operator_value(name) for name in OPERATORS}, min_keys=1,
              message="empty condition",
              unknown="unknown operator {key!r} (operators: " + ", ".join(OPERATORS) + ")")
    return Named("condition", Either(lambda v: isinstance(v, dict), ops, Scalar()))


@cache
def rule_file() -> Node:
    from assistant.facts.catalogue import CHECKS, FACT_TYPES

    pattern = Named("pattern", Obj(
        {"fact": Enum(FACT_TYPES, "unknown fact type {value!r} (known: {values})"),
         "as": Text(ALIAS, message="alias must be a lower-case identifier"),
         "match": Obj(values=_condition(),
                      message="must map fields to values or {operator: value}")},
        required=("fact",),
        message="a pattern is {fact: TYPE, as: ALIAS, match: {...}} or {not: pattern}",
        missing="a pattern is {{fact: TYPE, as: ALIAS, match: {{...}}}} or {{not: pattern}}",
        unknown="unknown pattern key (fact, as, match)",
        variants=Variants("fact", FACT_TYPES, "match",
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
    check_name = Enum(CHECKS, "unknown check {value!r} (known: {values})")
    steps = Seq(OneKey({
        "conclude": Obj({"summary": Text(message="needs `summary:` text"),
                         "evidence": Seq(Text(), message="must be a list of text"),
                         "fix": Seq(fix, message="must be a list"),
                         "kb": _strings("must be a list of kb ids")},
                        required=("summary",), message="needs `summary:` text",
                        missing="needs `summary:` text",
                        unknown="unknown key (summary, evidence, fix, kb)"),
        "check": Either(lambda v: isinstance(v, list), Seq(check_name), check_name),
        "ask": Obj({"id": Text(), "text": Text(), "choices": Seq(Scalar(),
                                                                  message="`choices` must be a list")},
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

    fact = Obj(values=Scalar(), required=("type",),
               fields={"type": Enum(FACT_TYPES, "unknown fact type {value!r} (known: {values})")},
               message="a fact is {type: TYPE, field: value, ...}",
               missing="a fact needs `type:`",
               variants=Variants("type", FACT_TYPES, None,
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
                  "url": Text(r"https?://[^\s/]+\S*", message="required: an absolute http:// or "
                              "https:// address without spaces")},
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
    """The field name an error names: `title`, `match.port`, `conclude.fix`."""
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
