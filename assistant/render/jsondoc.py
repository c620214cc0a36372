"""The `--json` form: one object, schema 1 (README: JSON contract)."""

from __future__ import annotations

import json

from assistant.report import Report


def render(report: Report) -> str:
    return json.dumps(report.to_json(), indent=2, ensure_ascii=False)
