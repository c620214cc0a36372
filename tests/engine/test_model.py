"""Typed rule steps and engine rule names: one type builds and parses each."""

from __future__ import annotations

import pytest

from assistant.engine.model import (
    Ask,
    Assert,
    Check,
    Conclude,
    RuleName,
    step_from_data,
    step_to_data,
)
from assistant.report import Command


@pytest.mark.parametrize("step", [
    Check(("listeners", "probe")),
    Assert({"name": "x", "port": 3}),
    Ask("client_location", "Where?", ("here", "there")),
    Conclude("s {t.port}", ("e",), (Command("linux", "ss -ltn", "why"), Command("any", "x")),
             ("kb-id",)),
])
def test_steps_round_trip_through_their_data_form(step: object) -> None:
    assert step_from_data(step_to_data(step)) == step  # type: ignore[arg-type]


def test_rule_names_build_and_parse() -> None:
    name = RuleName(12, 3)
    assert str(name) == "r12_3"
    assert RuleName.parse("r12_3") == name
    for other in ("__catch_all__", "r", "r1", "rx_1", "r1_", "q1_2", "r1_2_3"):
        assert RuleName.parse(other) is None, other
