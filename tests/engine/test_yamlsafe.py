"""Rule, test and KB files are read with YAML 1.2 core semantics."""

from __future__ import annotations

import math

import pytest

from assistant.engine import yamlsafe


def test_yes_and_no_stay_text() -> None:
    data = yamlsafe.load("choices: [yes, no, on, off, y, n, Yes, NO]\n").data
    assert data == {"choices": ["yes", "no", "on", "off", "y", "n", "Yes", "NO"]}


@pytest.mark.parametrize("text,value", [
    ("true", True), ("False", False), ("TRUE", True), ("~", None), ("null", None), ("", None),
    ("017", 17), ("0o17", 15), ("0x1f", 31), ("-3", -3), ("+4", 4), ("1.5", 1.5),
    ("1e3", 1000.0), ("1:30", "1:30"), ("'5432'", "5432"), ("5432", 5432), ("0b11", "0b11"),
    ("1_000", "1_000"), ("2001-12-14", "2001-12-14"),
])
def test_core_schema_scalars(text: str, value: object) -> None:
    got = yamlsafe.load(f"v: {text}\n").data["v"]
    assert got == value and type(got) is type(value)


def test_infinity_and_nan() -> None:
    data = yamlsafe.load("a: .inf\nb: -.Inf\nc: .nan\n").data
    assert data["a"] == math.inf and data["b"] == -math.inf and math.isnan(data["c"])


def test_keys_are_text_or_numbers() -> None:
    assert yamlsafe.load("yes: 1\ntrue: 2\n5: 3\n").data == {"yes": 1, "true": 2, 5: 3}


def test_a_bad_explicit_tag_is_an_error_at_its_place() -> None:
    with pytest.raises(yamlsafe.YamlError) as exc:
        yamlsafe.load("a: 1\nb: !!int five\n")
    assert (exc.value.line, exc.value.column) == (2, 4) and "!!int" in str(exc.value)
