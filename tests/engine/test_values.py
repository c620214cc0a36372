"""Match values, list values, joins and test facts checked against the fact
catalogue: a rule that could never match is an error at its key."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from assistant.engine.loader import load_rules
from assistant.engine.ruletests import load_cases
from assistant.errors import RuleFileError


def rule_with(tmp_path: Path, pattern: str, lists: str = "") -> Path:
    p = tmp_path / "team.yaml"
    p.write_text(textwrap.dedent("""\
        format: 1
        {lists}
        rules:
          - id: team.r
            title: R
            when:
              all:
                - {{fact: target, as: t}}
                - {pattern}
            then: [{{check: listeners}}]
    """).format(pattern=pattern, lists=lists))
    return p


def only_error(path: Path) -> str:
    with pytest.raises(RuleFileError) as exc:
        load_rules([path])
    assert len(exc.value.problems) == 1, exc.value.problems
    return exc.value.problems[0]


@pytest.mark.parametrize("pattern,message", [
    ('{fact: target, match: {port: "5432"}}', "target.port is a number: write 5432 without quotes"),
    ("{fact: target, match: {kind: ipv5}}",
     "target.kind has no value 'ipv5' (values: ipv4, ipv6, name, invalid, unix, none); did you "
     "mean 'ipv6' or 'ipv4'?"),
    ("{fact: symptom, match: {client: postgres}}", "did you mean 'psql'?"),
    ("{fact: symptom, match: {error: connection-refused}}", "did you mean 'refused'?"),
    ("{fact: listener, match: {relation: other_family}}", "did you mean 'other-family'?"),
    ("{fact: target, match: {family: 5}}", "target.family is one of 0, 4, 6, never 5"),
    ("{fact: listener, match: {stopped: 'false'}}",
     "listener.stopped is true or false: write false without quotes"),
    ("{fact: listener, match: {stopped: no}}",
     "listener.stopped is true or false, not 'no' (`no` is text here"),
    ("{fact: answer, match: {value: true}}", 'answer.value is text: quote it, as in "true"'),
    ("{fact: listener, match: {process: 5432}}", 'listener.process is text: quote it, as in "5432"'),
    ("{fact: target, match: {port: {in: [5432, '5433']}}}",
     "target.port is a number: write 5433 without quotes"),
    ("{fact: target, match: {port: {contains: '54'}}}", "`contains` works on text; target.port is a number"),
    ("{fact: listener, match: {process: {gt: a}}}", "`gt` compares numbers; listener.process is text"),
    ("{fact: symptom, match: {error: {contains: connection}}}",
     "no value of symptom.error contains 'connection', so this never matches"),
    ("{fact: listener, match: {cmdline: {matches: 'uvicorn ('}}}",
     "invalid regular expression: missing ), unterminated subpattern at position 8"),
    ("{fact: listener, match: {port: $t.host}}",
     "'$t.host' is text and listener.port is a number: they are never equal"),
    ("{fact: listener, match: {port: $t.prot}}", "did you mean 'port'?"),
    ("{fact: listener, match: {prot: 1}}", "fact 'listener' has no field 'prot'"),
])
def test_a_value_that_cannot_match_is_an_error(tmp_path: Path, pattern: str, message: str) -> None:
    assert message in only_error(rule_with(tmp_path, pattern))


def test_the_error_is_at_the_bad_key(tmp_path: Path) -> None:
    p = rule_with(tmp_path, '{fact: target, match: {host: localhost, port: "5432"}}')
    assert only_error(p).startswith(f"{p}:9:51: team.r: match.port: ")


def test_list_values_are_checked_against_the_field(tmp_path: Path) -> None:
    p = rule_with(tmp_path, "{fact: symptom, match: {client: {in: '@dbs'}}}",
                  "lists: {dbs: [psql, postgres]}")
    assert "list '@dbs': symptom.client has no value 'postgres'" in only_error(p)


def test_good_values_load(tmp_path: Path) -> None:
    for pattern in ("{fact: target, match: {port: 5432, family: 4, kind: {in: [ipv4, ipv6]}}}",
                    "{fact: symptom, match: {client: {startswith: py}, error: refused}}",
                    "{fact: listener, match: {cmdline: {matches: '^uvicorn'}, port: $t.port}}",
                    "{fact: checked, match: {name: listeners, status: ok}}"):
        assert load_rules([rule_with(tmp_path, pattern)]).by_id()["team.r"]


def test_checked_names_a_check(tmp_path: Path) -> None:
    p = rule_with(tmp_path, "{fact: checked, match: {name: listener}}")
    assert "did you mean 'listeners' or 'near_listeners'?" in only_error(p)


def test_test_facts_are_checked_against_the_catalogue(tmp_path: Path) -> None:
    p = tmp_path / "team.test.yaml"
    p.write_text(textwrap.dedent("""\
        format: 1
        tests:
          - name: t
            given:
              facts:
                - {type: target, port: "80", kind: ipv5}
              checks:
                listeners: [{type: listener, port: 80, relation: other_family, stopped: no}]
    """))
    with pytest.raises(RuleFileError) as exc:
        load_cases(p)
    errs = exc.value.problems
    assert [e.split(": ", 1)[0].rsplit(":", 2)[1] for e in errs] == ["6", "6", "8", "8"]
    assert "write 80 without quotes" in errs[0] and "did you mean 'ipv6' or 'ipv4'" in errs[1]
    assert "did you mean 'other-family'" in errs[2] and "`no` is text here" in errs[3]
