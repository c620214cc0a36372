"""Rule-file errors: every error at once, with file:line:column, rule and field."""

from __future__ import annotations

import textwrap
import time
from pathlib import Path

import pytest

from assistant.engine.loader import load_rules
from assistant.errors import RuleFileError


def write(tmp_path: Path, text: str, name: str = "team.yaml") -> Path:
    p = tmp_path / name
    p.write_text(textwrap.dedent(text))
    return p


def errors_of(*paths: Path) -> list[str]:
    with pytest.raises(RuleFileError) as exc:
        load_rules(list(paths))
    return exc.value.problems


def test_all_errors_reported_with_positions(tmp_path: Path) -> None:
    p = write(tmp_path, """\
        format: 1
        rules:
          - id: team.one
            title: One
            category: nothing-listenin
            when:
              all:
                - {fact: listenr, as: l}
            then:
              - conclude: {summary: "x"}
          - id: team.two
            title: Two
            category: port-typo
            when:
              all:
                - {fact: target, as: t, match: {prot: 1}}
                - {fact: listener, match: {port: $q.port}}
            then:
              - conclude: {summary: "{t.nope}"}
    """)
    errs = errors_of(p)
    text = "\n".join(errs)
    assert f"{p}:5:" in text and "team.one: category" in text
    assert f"{p}:8:" in text and "unknown fact type 'listenr'" in text
    assert f"{p}:16:" in text and "team.two: match.prot" in text
    assert "$q.port" in text and "alias 'q'" in text
    assert "{t.nope}" in text
    # exactly these, in file order, each at its key
    assert [e.split(": ", 3)[0].rsplit(":", 2)[1:] + [e.split(": ")[2]] for e in errs] == [
        ["5", "5", "category"], ["8", "12", "fact"], ["16", "41", "match.prot"],
        ["17", "36", "match.port"], ["19", "20", "conclude.summary"]]


def test_redefinition_names_both_places(tmp_path: Path) -> None:
    a = write(tmp_path, """\
        format: 1
        rules:
          - {id: team.x, title: X, when: {all: [{fact: target}]}, then: [{check: listeners}]}
    """, "a.yaml")
    b = write(tmp_path, """\
        format: 1
        rules:
          - {id: team.x, title: X again, when: {all: [{fact: target}]}, then: [{check: probe}]}
    """, "b.yaml")
    errs = errors_of(a, b)
    assert any(str(b) in e and str(a) in e and "redefines" in e for e in errs)


def test_override_unknown_and_disable_without_reason(tmp_path: Path) -> None:
    p = write(tmp_path, """\
        format: 1
        rules:
          - {id: team.x, title: X, when: {all: [{fact: target}]}, then: [{check: listeners}]}
        overrides:
          - {id: team.nope, enabled: false, reason: gone}
          - {id: team.x, enabled: false}
    """)
    errs = "\n".join(errors_of(p))
    assert "team.nope" in errs and "no loaded file defines" in errs
    assert "needs a reason" in errs


def test_override_disables_and_appends(tmp_path: Path) -> None:
    p = write(tmp_path, """\
        format: 1
        rules:
          - {id: team.x, title: X, tags: [a], when: {all: [{fact: target}]}, then: [{check: listeners}]}
        overrides:
          - {id: team.x, append: {tags: [b]}}
          - {id: team.x, enabled: false, reason: "our VPN agent owns 1080"}
    """)
    rs = load_rules([p])
    rule = rs.by_id()["team.x"]
    assert rule.tags == ["a", "b"] and not rule.enabled
    assert rule.disabled_reason == "our VPN agent owns 1080"


@pytest.mark.parametrize("body,message", [
    ("!!python/object/apply:os.system ['echo pwned']", "not allowed"),
    ("a: &a [1,2]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
     "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
     "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n", "too many"),
    ("format: 1\nformat: 1\n", "duplicate key"),
    ("[" * 100 + "]" * 100, "nesting"),
    ("format: 1\nrules: [\n", "YAML syntax"),
])
def test_hostile_files_are_refused(tmp_path: Path, body: str, message: str) -> None:
    p = tmp_path / "bad.yaml"
    p.write_text(body)
    start = time.perf_counter()
    errs = errors_of(p)
    assert time.perf_counter() - start < 5
    assert message in "\n".join(errs)


def test_binary_file(tmp_path: Path) -> None:
    p = tmp_path / "bin.yaml"
    p.write_bytes(b"\x00\x01\xff\xfe" * 100)
    assert errors_of(p)


def test_yes_no_are_text_and_a_boolean_field_says_so(tmp_path: Path) -> None:
    p = write(tmp_path, """\
        format: 1
        rules:
          - id: team.q
            title: Q
            enabled: no
            when: {all: [{fact: target}]}
            then:
              - ask: {id: in_docker, text: "Does it run in docker?", choices: [yes, no]}
    """)
    errs = errors_of(p)
    assert errs == [f"{p}:5:5: team.q: enabled: must be true or false (`no` is text here, "
                    "as in YAML 1.2: write true or false)"]
    p.write_text(p.read_text().replace("enabled: no", "enabled: true"))
    ask = load_rules([p]).by_id()["team.q"].steps[0]
    assert ask.choices == ("yes", "no")  # type: ignore[union-attr]
