"""One spec per file kind: the loader's errors and the JSON Schema agree."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from assistant.engine import yamlsafe
from assistant.engine.filespecs import label, rule_file, rule_test_file
from assistant.engine.spec import document_schema, issues
from tests.support import run_cli

jsonschema = pytest.importorskip("jsonschema")
ROOT = Path(__file__).resolve().parents[2]
RULE = {"id": "x.y", "title": "t", "when": {"all": [{"fact": "target"}]},
        "then": [{"check": "probe"}]}


def schema_errors(node, doc) -> list:  # type: ignore[no-untyped-def]
    schema = json.loads(json.dumps(document_schema(node, "t")))
    return list(jsonschema.Draft7Validator(schema).iter_errors(doc))


BAD_RULE_FILES = [
    {"format": 2},
    {"rules": []},
    {"format": 1, "rulez": []},
    {"format": 1, "rules": [{**RULE, "category": "sad"}]},
    {"format": 1, "rules": [{**RULE, "priority": 101}]},
    {"format": 1, "rules": [{**RULE, "priority": True}]},
    {"format": 1, "rules": [{**RULE, "then": [{"run": "rm -rf /"}]}]},
    {"format": 1, "rules": [{**RULE, "then": []}]},
    {"format": 1, "rules": [{**RULE, "when": {"all": [{"fact": "listener",
                                                       "match": {"prot": 1}}]}}]},
    {"format": 1, "rules": [{**RULE, "when": {"all": [{"fact": "listener",
                                                       "match": {"port": {"between": 1}}}]}}]},
    {"format": 1, "rules": [{**RULE, "when": {"all": [{"fact": "listener",
                                                       "match": {"port": {"in": 5}}}]}}]},
    {"format": 1, "rules": [{**RULE, "when": {"all": [{"fact": "listener",
                                                       "match": {"cmdline": {"contains": ""}}}]}}]},
    {"format": 1, "rules": [{**RULE, "when": {"all": [], "any": []}}]},
    {"format": 1, "rules": [{**RULE, "then": [{"conclude": {"summary": "s",
                                                            "fix": [{"os": "beos", "command": "x"}]}}]}]},
    {"format": 1, "rules": [{**RULE, "then": [{"check": "portscan"}]}]},
    {"format": 1, "rules": [{**RULE, "then": [{"assert": {"fact": "note", "fields": {"x": 1}}}]}]},
    {"format": 1, "services": [{"name": "db", "port": 70000}]},
    {"format": 1, "overrides": [{"id": "x.y", "append": {"title": ["t"]}}]},
    {"format": 1, "overrides": [{"id": "x.y", "replace": {"id": "z"}}]},
]


@pytest.mark.parametrize("doc", BAD_RULE_FILES, ids=[json.dumps(d)[:60] for d in BAD_RULE_FILES])
def test_bad_rule_files_fail_both_the_loader_spec_and_the_schema(doc: dict) -> None:
    assert issues(rule_file(), doc)
    assert schema_errors(rule_file(), doc)


@pytest.mark.parametrize("path", sorted(p for p in [*ROOT.glob("rules/*.yaml"),
                                                    *ROOT.glob("examples/*/*/*.yaml")]),
                         ids=lambda p: p.name)
def test_shipped_files_pass_both(path: Path) -> None:
    node = rule_test_file() if path.name.endswith(".test.yaml") else rule_file()
    doc = yamlsafe.load(path.read_text()).data  # as the loader reads it (YAML 1.2)
    assert issues(node, doc) == []
    assert schema_errors(node, doc) == []


@pytest.mark.parametrize("path,expected", [
    (("rules", 0, "title"), "title"),
    (("rules", 0, "when", "all", 0, "fact"), "fact"),
    (("rules", 0, "when", "all", 0, "match", "port", "between"), "match.port"),
    (("rules", 0, "then", 2, "conclude", "fix", 0), "conclude.fix"),
    (("rules", 0, "then", 1), "then"),
    (("services", 3, "port"), "services.port"),
    (("overrides", 0, "replace", "priority"), "replace.priority"),
    (("format",), "format"),
    ((), "file"),
])
def test_error_labels(path: tuple, expected: str) -> None:
    assert label(path) == expected


def test_every_test_file_error_at_once_at_its_key(tmp_path: Path) -> None:
    p = tmp_path / "team.test.yaml"
    p.write_text(textwrap.dedent("""\
        format: 1
        tests:
          - name: one
            given:
              facts:
                - {type: target, prot: 1}
                - {type: sympton}
              checks: {portscan: []}
            expect: {top: x, absnt: [y]}
          - given: {}
    """))
    r = run_cli("rules", "test", str(p))
    assert r.code == 2, r.err
    for where, text in ((f"{p}:6:", "has no field 'prot'"), (f"{p}:7:", "'sympton'"),
                        (f"{p}:8:", "unknown check 'portscan'"), (f"{p}:9:", "absnt"),
                        (f"{p}:10:", "needs a name")):
        assert any(line.startswith(("assistant: " + where, where)) and text in line
                   for line in r.err.splitlines()), (where, text, r.err)
