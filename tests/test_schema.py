"""The JSON Schemas for editors: in sync with the code, and right about files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant import schema
from assistant.dirs import data_dir
from assistant.engine import yamlsafe
from tests.support import run_cli

jsonschema = pytest.importorskip("jsonschema")
ROOT = Path(__file__).resolve().parent.parent
SCHEMA_DIR = data_dir("rules") / "schema"


def validator(name: str):  # type: ignore[no-untyped-def]
    return jsonschema.Draft7Validator(json.loads((SCHEMA_DIR / f"{name}.schema.json").read_text()))


@pytest.mark.parametrize("name", list(schema.SCHEMAS))
def test_committed_schema_is_generated(name: str) -> None:
    assert (SCHEMA_DIR / f"{name}.schema.json").read_text() == schema.render(name), \
        "run: python -m assistant.schema"


def files(pattern: str) -> list[Path]:
    return sorted(ROOT.glob(pattern))


@pytest.mark.parametrize("path", [p for p in files("rules/*.yaml") + files("examples/*/rules.d/*.yaml")
                                  if not p.name.endswith(".test.yaml")], ids=str)
def test_rule_files_validate(path: Path) -> None:
    errors = list(validator("rules").iter_errors(yamlsafe.load(path.read_text()).data))
    assert not errors, [e.message for e in errors][:3]
    assert path.read_text().startswith("# yaml-language-server: $schema=")


@pytest.mark.parametrize("path", files("rules/*.test.yaml") + files("examples/*/rules.d/*.test.yaml"),
                         ids=str)
def test_rule_test_files_validate(path: Path) -> None:
    errors = list(validator("rule-tests").iter_errors(yamlsafe.load(path.read_text()).data))
    assert not errors, [e.message for e in errors][:3]


@pytest.mark.parametrize("path", files("kb/*.yaml"), ids=str)
def test_kb_entries_validate(path: Path) -> None:
    assert not list(validator("kb").iter_errors(yamlsafe.load(path.read_text()).data))


@pytest.mark.parametrize("doc", [
    {"format": 1, "rules": [{"id": "x.y", "title": "t", "when": {"all": [
        {"fact": "listener", "match": {"prot": 1}}]}, "then": [{"check": "probe"}]}]},
    {"format": 1, "rules": [{"id": "x.y", "title": "t", "category": "sad",
                             "when": {"all": [{"fact": "target"}]}, "then": [{"check": "probe"}]}]},
    {"format": 1, "rules": [{"id": "x.y", "title": "t", "when": {"all": [{"fact": "target"}]},
                             "then": [{"run": "rm -rf /"}]}]},
    {"format": 2},
])
def test_schema_rejects_what_the_loader_rejects(doc: dict) -> None:
    assert list(validator("rules").iter_errors(doc))


def test_rules_schema_command() -> None:
    r = run_cli("rules", "schema")
    assert r.code == 0
    for line in r.out.splitlines():
        assert Path(line.split(": ", 1)[1]).is_file()


def test_committed_fact_reference_is_generated() -> None:
    from assistant.facts.reference import reference

    assert (ROOT / "docs" / "rule-facts.md").read_text() == reference(), \
        "run: python -m assistant.schema"


def test_rules_facts_prints_the_reference() -> None:
    from assistant.facts.catalogue import TYPES

    r = run_cli("rules", "facts")
    assert r.code == 0 and r.out == (ROOT / "docs" / "rule-facts.md").read_text()
    assert all(f"## `{name}`" in r.out for name in TYPES)
    r = run_cli("rules", "facts", "symptom")
    assert r.code == 0 and r.out.startswith("## `symptom`\n")
    assert "| `text` | text | any text |" in r.out and "| `client` | text | `python`," in r.out
    r = run_cli("rules", "facts", "sympton")
    assert r.code == 2 and "did you mean 'symptom'?" in r.err
