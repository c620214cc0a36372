"""What real clients printed in real situations, read back: the address, the
error kind, the client, whose failure it is, the proxy in between, signals."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from assistant.understand import symptoms

CASES = yaml.safe_load((Path(__file__).parents[1] / "data" / "field_texts.yaml").read_text())
FIELDS = ("host", "port", "path", "error", "client", "role", "via", "remote")


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_field_text(case: dict[str, Any]) -> None:
    t = symptoms.parse(case["text"])
    got = {k: getattr(t, k) for k in FIELDS if getattr(t, k) is not None}
    want = {k: v for k, v in case["expect"].items() if k != "signals"}
    assert got == want
    assert t.signals == case["expect"].get("signals", [])


def test_the_field_texts_cover_every_category() -> None:
    from assistant.categories import CATEGORIES
    from assistant.dirs import data_dir
    from assistant.engine.loader import load_rules
    from assistant.engine.sources import rule_files

    # Categories only checkup rules conclude (`assistant doctor`) have no
    # client output to read: no connection failed.
    rules = load_rules(rule_files(data_dir("rules"))).rules
    diagnosing = {r.category for r in rules if not r.id.startswith("doctor.")}
    checkup_only = {r.category for r in rules if r.id.startswith("doctor.")} - diagnosing
    assert checkup_only == {"exposed"}
    assert {c["category"] for c in CASES} >= set(CATEGORIES) - {"firewall", "remote-loopback"} \
        - checkup_only
