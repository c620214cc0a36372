"""The JSON Schema of the schema-1 report (README "JSON contract"), for
programs that read `--json` and for the MCP `diagnose` tool's output schema.

Written by hand from `Report.to_json`; tests validate real reports of every
kind and the golden files against it. Objects allow keys beyond those listed:
the contract may grow (categories and keys are only ever added), and a
reader written against this schema must keep working when it does.
"""

from __future__ import annotations

from typing import Any

from assistant.categories import CATEGORIES, SEVERITIES
from assistant.report import OS_NAMES, SCHEMA

_STR = {"type": "string"}
_STRS = {"type": "array", "items": _STR}
_OPT_STR = {"type": ["string", "null"]}


def _object(doc: str, props: dict[str, Any], optional: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"type": "object", "description": doc, "properties": props,
            "required": [k for k in props if k not in optional]}


def report_schema() -> dict[str, Any]:
    """The report, as `assistant --ask TEXT --json` prints it."""
    target = _object("What the text names: host as written, port, scheme, error kind, client.", {
        "host": _OPT_STR, "port": {"type": ["integer", "null"]}, "scheme": _OPT_STR,
        "error": {**_OPT_STR, "description": "refused | timeout | reset | in-use | permission | "
                  "unresolved | tls | missing | hang | http-status | null"},
        "client": {**_OPT_STR, "description": "curl, node, python, psql, ... or null"},
        "path": {**_STR, "description": "the UNIX socket the client failed on"},
    }, optional=("path",))
    command = _object("A command that confirms or fixes it, on one OS.", {
        "os": {"enum": list(OS_NAMES)}, "command": _STR, "why": _STR})
    finding = _object("One check the rules asked for, and what it found; in a checkup "
                      "(kind `checkup`), one line of it.", {
        "id": {**_STR, "description": "checkup: the rule behind the line (`check.NAME` when "
               "that check could not tell)"},
        "check": {**_STR, "description": "the check; in a checkup, its area: names, loopback, "
                  "proxy, ports, team, environment"},
        "status": {"enum": ["ok", "problem", "warning", "unknown"]},
        "summary": _STR,
        "fix": {"type": "array", "items": command,
                "description": "checkup: for a problem or a warning, the fix on this system "
                "(its OS and `any`)"},
        "data": {"type": "object", "description": "the facts gathered and the time taken (ms); "
                 "in a checkup, the evidence, processes and knowledge-base ids"},
    }, optional=("id", "fix"))
    process = _object("A process behind the diagnosis (a listener's owner).", {
        "pid": {"type": "integer"}, "name": _OPT_STR, "cmdline": _STR, "user": _STR,
    }, optional=("name", "cmdline", "user"))
    diagnosis = _object("A conclusion: why the connection fails, with evidence and fixes.", {
        "rule": {**_STR, "description": "the rule that concluded (see list_rules)"},
        "category": {"enum": list(CATEGORIES), "description": "the stable vocabulary "
                     "(README 'Diagnosis categories'); categories are only ever added"},
        "severity": {"enum": list(SEVERITIES)},
        "summary": _STR, "evidence": _STRS,
        "processes": {"type": "array", "items": process},
        "fix": {"type": "array", "items": command},
        "kb": {**_STRS, "description": "knowledge-base entry ids with background"},
    })
    answer = _object("A knowledge-base answer.", {
        "kb": _STR, "question": _STR, "answer": _STR,
        "score": {"type": "number", "description": "confidence 0..1: the share of the "
                  "question's words the entry covers (0.3 or more answers)"},
    })
    question = _object("Something the assistant needs to know: answer it with answers={id: value}.", {
        "id": _STR, "text": _STR,
        "choices": {**_STRS, "description": "the valid answers, when there is a fixed set"},
    })
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        **_object("An assistant report, schema 1 (the `--json` contract).", {
            "schema": {"const": SCHEMA},
            "kind": {"enum": ["diagnosis", "answer", "needs-input", "checkup"],
                     "description": "needs-input: answer `questions` and call again; checkup: "
                     "`assistant doctor`, its lines in `findings`"},
            "input": {**_STR, "description": "the text, credentials redacted"},
            "target": target,
            "findings": {"type": "array", "items": finding},
            "diagnoses": {"type": "array", "items": diagnosis,
                          "description": "ranked, most likely first"},
            "answers": {"type": "array", "items": answer},
            "questions": {"type": "array", "items": question},
            "trace": {"type": "array", "items": {"type": "object"},
                      "description": "the rules that fired and the facts they matched"},
        }),
    }
