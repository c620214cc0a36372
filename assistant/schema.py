"""JSON Schemas for rule files, rule test files and KB entries, for editors.

Generated from the fact catalogue and the categories, so they cannot drift:
`python -m assistant.schema` rewrites rules/schema/*.json (and, in a source
checkout, the fact reference docs/rule-facts.md), and a test fails when the
committed files differ from what this module generates. The loaders
remain the authority (they also check aliases, joins and templates); the
schemas give editors completion and early squiggles.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from assistant.engine.filespecs import kb_entry, rule_file, rule_test_file
from assistant.engine.spec import document_schema


def rules_schema() -> dict[str, Any]:
    return document_schema(rule_file(), "assistant rule file (format 1)")


def rule_tests_schema() -> dict[str, Any]:
    return document_schema(rule_test_file(), "assistant rule test file (format 1)")


def kb_schema() -> dict[str, Any]:
    return document_schema(kb_entry(), "assistant knowledge-base entry")


SCHEMAS = {"rules": rules_schema, "rule-tests": rule_tests_schema, "kb": kb_schema}


def render(name: str) -> str:
    return json.dumps(SCHEMAS[name](), indent=1, sort_keys=True) + "\n"


# The fact reference for people (docs/rule-facts.md), from a source checkout.
FACTS_DOC = Path(__file__).resolve().parent.parent / "docs" / "rule-facts.md"


def main(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name in SCHEMAS:
        (directory / f"{name}.schema.json").write_text(render(name))
    if FACTS_DOC.parent.is_dir():
        from assistant.facts.reference import reference

        FACTS_DOC.write_text(reference())


if __name__ == "__main__":
    from assistant.dirs import data_dir

    main(Path(sys.argv[1]) if len(sys.argv) > 1 else data_dir("rules") / "schema")
