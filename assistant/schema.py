"""JSON Schemas for rule files, rule test files and KB entries, for editors.

Generated from the fact catalogue and the categories, so they cannot drift:
`python -m assistant.schema` rewrites rules/schema/*.json, and a test fails
when the committed files differ from what this module generates. The loaders
remain the authority (they also check aliases, joins and templates); the
schemas give editors completion and early squiggles.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from assistant.categories import CATEGORIES, SEVERITIES
from assistant.engine.model import OPERATORS
from assistant.facts.catalogue import CHECKS, FACT_TYPES

DRAFT = "http://json-schema.org/draft-07/schema#"
SCALAR = {"type": ["string", "number", "boolean"]}
ID = "^[a-z0-9_\\-]{1,40}(\\.[a-z0-9_\\-]{1,40}){0,6}$"
OS = {"enum": ["linux", "macos", "windows", "any"]}


def _condition() -> dict[str, Any]:
    ops: dict[str, Any] = {}
    for op in OPERATORS:
        if op in ("in", "not_in"):
            ops[op] = {"oneOf": [{"type": "array", "items": SCALAR, "minItems": 1,
                                  "maxItems": 256},
                                 {"type": "string", "pattern": "^@"}]}
        elif op == "exists":
            ops[op] = {"type": "boolean"}
        else:
            ops[op] = SCALAR
    return {"oneOf": [SCALAR, {"type": "object", "minProperties": 1,
                               "additionalProperties": False, "properties": ops}]}


def _pattern() -> dict[str, Any]:
    by_fact = [{"if": {"properties": {"fact": {"const": fact}}},
                "then": {"properties": {"match": {"propertyNames": {"enum": sorted(fields)}}}}}
               for fact, fields in FACT_TYPES.items()]
    return {"type": "object", "required": ["fact"], "additionalProperties": False,
            "properties": {"fact": {"enum": sorted(FACT_TYPES)},
                           "as": {"type": "string", "pattern": "^[a-z][a-z0-9_]{0,30}$"},
                           "match": {"type": "object",
                                     "additionalProperties": {"$ref": "#/definitions/condition"}}},
            "allOf": by_fact}


def rules_schema() -> dict[str, Any]:
    fix = {"type": "object", "required": ["os", "command"], "additionalProperties": False,
           "properties": {"os": OS, "command": {"type": "string"}, "why": {"type": "string"}}}
    steps = {"oneOf": [
        {"type": "object", "required": ["conclude"], "additionalProperties": False,
         "properties": {"conclude": {
             "type": "object", "required": ["summary"], "additionalProperties": False,
             "properties": {"summary": {"type": "string"},
                            "evidence": {"type": "array", "items": {"type": "string"}},
                            "fix": {"type": "array", "items": fix},
                            "kb": {"type": "array", "items": {"type": "string"}}}}}},
        {"type": "object", "required": ["check"], "additionalProperties": False,
         "properties": {"check": {"oneOf": [
             {"enum": sorted(CHECKS)}, {"type": "array", "items": {"enum": sorted(CHECKS)}}]}}},
        {"type": "object", "required": ["ask"], "additionalProperties": False,
         "properties": {"ask": {"type": "object", "required": ["id", "text"],
                                "additionalProperties": False,
                                "properties": {"id": {"type": "string"}, "text": {"type": "string"},
                                               "choices": {"type": "array"}}}}},
        {"type": "object", "required": ["assert"], "additionalProperties": False,
         "properties": {"assert": {"type": "object", "required": ["fact"],
                                   "additionalProperties": False,
                                   "properties": {"fact": {"const": "note"},
                                                  "fields": {"type": "object", "propertyNames": {
                                                      "enum": sorted(FACT_TYPES["note"])}}}}}},
    ]}
    item = {"oneOf": [{"$ref": "#/definitions/pattern"},
                      {"type": "object", "required": ["not"], "additionalProperties": False,
                       "properties": {"not": {"$ref": "#/definitions/pattern"}}}]}
    rule_props: dict[str, Any] = {
        "id": {"type": "string", "pattern": ID}, "title": {"type": "string", "minLength": 1},
        "description": {"type": "string"}, "category": {"enum": list(CATEGORIES)},
        "priority": {"type": "integer", "minimum": 0, "maximum": 100},
        "severity": {"enum": list(SEVERITIES)}, "enabled": {"type": "boolean"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "supersedes": {"type": "array", "items": {"type": "string"}},
        "when": {"type": "object", "minProperties": 1, "maxProperties": 1,
                 "additionalProperties": False,
                 "properties": {"all": {"type": "array", "minItems": 1, "items": item},
                                "any": {"type": "array", "minItems": 1, "items": item}}},
        "exceptions": {"type": "array", "items": {"$ref": "#/definitions/pattern"}},
        "then": {"type": "array", "minItems": 1, "items": steps},
    }
    rule = {"type": "object", "required": ["id", "title", "when", "then"],
            "additionalProperties": False, "properties": rule_props}
    partial = {k: v for k, v in rule_props.items() if k != "id"}
    override = {"type": "object", "required": ["id"], "additionalProperties": False,
                "properties": {"id": {"type": "string", "pattern": ID},
                               "enabled": {"type": "boolean"}, "reason": {"type": "string"},
                               "replace": {"type": "object", "additionalProperties": False,
                                           "properties": partial},
                               "append": {"type": "object", "additionalProperties": False,
                                          "properties": {k: {"type": "array"} for k in
                                                         ("exceptions", "tags", "supersedes")}}}}
    service = {"type": "object", "required": ["name", "port"], "additionalProperties": False,
               "properties": {"name": {"type": "string", "pattern": ID},
                              "port": {"type": "integer", "minimum": 1, "maximum": 65535},
                              "usual_port": {"type": "integer", "minimum": 1, "maximum": 65535},
                              "process": {"type": "string"}, "description": {"type": "string"}}}
    return {"$schema": DRAFT, "title": "assistant rule file (format 1)", "type": "object",
            "required": ["format"], "additionalProperties": False,
            "properties": {"format": {"const": 1},
                           "lists": {"type": "object", "additionalProperties": {
                               "type": "array", "items": SCALAR}},
                           "services": {"type": "array", "items": service},
                           "rules": {"type": "array", "items": rule},
                           "overrides": {"type": "array", "items": override}},
            "definitions": {"pattern": _pattern(), "condition": _condition()}}


def rule_tests_schema() -> dict[str, Any]:
    fact = {"type": "object", "required": ["type"],
            "properties": {"type": {"enum": sorted(FACT_TYPES)}},
            "allOf": [{"if": {"properties": {"type": {"const": t}}},
                       "then": {"propertyNames": {"enum": ["type", *sorted(f)]}}}
                      for t, f in FACT_TYPES.items()]}
    ids = {"type": "array", "items": {"type": "string"}}
    case = {"type": "object", "required": ["name"], "additionalProperties": False,
            "properties": {
                "name": {"type": "string"},
                "given": {"type": "object", "additionalProperties": False, "properties": {
                    "facts": {"type": "array", "items": fact},
                    "answers": {"type": "object", "additionalProperties": SCALAR},
                    "checks": {"type": "object", "propertyNames": {"enum": sorted(CHECKS)},
                               "additionalProperties": {"type": "array", "items": fact}},
                    "unknown_checks": {"type": "array", "items": {"enum": sorted(CHECKS)}}}},
                "expect": {"type": "object", "additionalProperties": False, "properties": {
                    "top": {"type": "string"}, "diagnoses": ids, "absent": ids, "fired": ids,
                    "not_fired": ids, "asked": ids, "nothing": {"type": "boolean"}}}}}
    return {"$schema": DRAFT, "title": "assistant rule test file (format 1)", "type": "object",
            "required": ["format", "tests"], "additionalProperties": False,
            "properties": {"format": {"const": 1}, "tests": {"type": "array", "items": case}}}


def kb_schema() -> dict[str, Any]:
    strings = {"type": "array", "items": {"type": "string"}}
    return {"$schema": DRAFT, "title": "assistant knowledge-base entry", "type": "object",
            "required": ["id", "question", "answer", "sources"], "additionalProperties": False,
            "properties": {
                "id": {"type": "string", "pattern": "^[a-z0-9][a-z0-9\\-]{1,60}$"},
                "sources": {"type": "array", "minItems": 1, "items": {
                    "type": "object", "required": ["title", "url"], "additionalProperties": False,
                    "properties": {"title": {"type": "string", "minLength": 1, "pattern": "\\S"},
                                   "url": {"type": "string", "pattern": "^https?://[^\\s/]+\\S*$"}}}},
                "question": {"type": "string", "minLength": 1},
                "answer": {"type": "string", "minLength": 1},
                "phrasings": strings, "tags": strings, "related": strings,
                "commands": {"type": "array", "items": {
                    "type": "object", "required": ["os", "command"], "additionalProperties": False,
                    "properties": {"os": OS, "command": {"type": "string"},
                                   "why": {"type": "string"}}}}}}


SCHEMAS = {"rules": rules_schema, "rule-tests": rule_tests_schema, "kb": kb_schema}


def render(name: str) -> str:
    return json.dumps(SCHEMAS[name](), indent=1, sort_keys=True) + "\n"


def main(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name in SCHEMAS:
        (directory / f"{name}.schema.json").write_text(render(name))


if __name__ == "__main__":
    from assistant.paths import data_dir

    main(Path(sys.argv[1]) if len(sys.argv) > 1 else data_dir("rules") / "schema")
