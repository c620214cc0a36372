"""Every reference resolves, or is an error at its place with "did you mean":
supersedes, override ids, questions and choices, services, notes, KB ids, the
check that gathers a fact, and lists shared by one pack's files."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from assistant.dirs import data_dir
from assistant.engine.loader import load_rules
from assistant.engine.sources import rule_files
from assistant.errors import RuleFileError
from assistant.knowledge.entries import load_entries

BUILTIN = rule_files(data_dir("rules"))
KB = {e.id for e in load_entries()}


def write(d: Path, name: str, text: str) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    p = d / name
    p.write_text(textwrap.dedent(text))
    return p


def errors(*paths: Path, kb: set[str] | None = None) -> list[str]:
    with pytest.raises(RuleFileError) as exc:
        load_rules([*BUILTIN, *paths], kb)
    return exc.value.problems


RULE = """\
    format: 1
    services:
      - {{name: team-db, port: 55432, process: postgres}}
    rules:
      - id: team.r
        title: R
        category: nothing-listening
        {extra}
        when:
          all:
            - {{fact: target, as: t}}
            - {pattern}
        then:
          - ask: {{id: in_docker, text: "Does it run in docker?", choices: [yes, no]}}
          - assert: {{fact: note, fields: {{name: team_seen}}}}
          - conclude: {{summary: x, kb: [{kb}]}}
"""


def rule(tmp_path: Path, pattern: str = "{fact: symptom}", extra: str = "",
         kb: str = "service-not-running") -> Path:
    return write(tmp_path / "team", "team.yaml", RULE.format(pattern=pattern, extra=extra, kb=kb))


def test_a_good_rule_loads(tmp_path: Path) -> None:
    p = rule(tmp_path, "{fact: answer, match: {id: in_docker, value: yes}}",
             "supersedes: [port.nothing_listening]")
    assert load_rules([*BUILTIN, p], KB).by_id()["team.r"]


@pytest.mark.parametrize("pattern,extra,line,message", [
    ("{fact: symptom}", "supersedes: [port.nothing_listenning]", 8,
     "supersedes: no rule 'port.nothing_listenning' is loaded; did you mean "
     "'port.nothing_listening'?"),
    ("{fact: answer, match: {id: in_dokcer}}", "", 12,
     "match.id: no rule asks question 'in_dokcer'"),
    ("{fact: answer, match: {id: in_docker, value: 'Yes'}}", "", 12,
     "match.value: question 'in_docker' offers the choice 'yes', and the answer is that text "
     "exactly, never 'Yes'"),
    ("{fact: service, match: {name: team_db}}", "", 12,
     "match.name: no service 'team_db' is declared (services: team-db); did you mean 'team-db'?"),
    ("{fact: note, match: {name: team_sen}}", "", 12,
     "match.name: no rule asserts a note named 'team_sen'"),
])
def test_unresolved_references(tmp_path: Path, pattern: str, extra: str, line: int,
                               message: str) -> None:
    p = rule(tmp_path, pattern, extra)
    (err,) = errors(p)
    assert err.startswith(f"{p}:{line}:") and message in err, err


def test_kb_ids_are_checked_at_the_kb_line(tmp_path: Path) -> None:
    p = rule(tmp_path, kb="service-not-runing")
    assert errors(p, kb=KB) == [
        f"{p}:16:37: team.r: conclude.kb: unknown knowledge-base id 'service-not-runing'; "
        "did you mean 'service-not-running'?"]


def test_an_override_of_a_missing_id_suggests_the_right_one(tmp_path: Path) -> None:
    p = write(tmp_path / "team", "o.yaml", """\
        format: 1
        overrides:
          - {id: client.proxy_capture, enabled: false, reason: ours}
    """)
    assert errors(p) == [f"{p}:3:6: client.proxy_capture: id: overrides a rule that no loaded "
                         "file defines; did you mean 'client.proxy_captures'?"]


def test_a_gathered_fact_needs_a_rule_that_runs_its_check(tmp_path: Path) -> None:
    p = write(tmp_path / "team", "g.yaml", """\
        format: 1
        overrides:
          - {id: gather.services, enabled: false, reason: we declare no services}
          - {id: doctor.gather, enabled: false, reason: nor run checkups}
        rules:
          - id: team.svc
            title: S
            category: nothing-listening
            when: {all: [{fact: service, match: {listening: false}}]}
            then: [{conclude: {summary: x}}]
    """)
    errs = [e for e in errors(p) if str(p) in e]
    assert errs == [f"{p}:9:19: team.svc: fact: service facts come from the `services` check, "
                    "which no enabled rule runs: add `- check: services` to a rule's `then:`"]


def test_lists_are_shared_by_one_packs_files(tmp_path: Path) -> None:
    pack = tmp_path / "pack"
    write(pack, "lists.yaml", "format: 1\nlists:\n  ours: [docker-proxy, envoy]\n")
    uses = write(pack, "rules.yaml", """\
        format: 1
        rules:
          - id: team.fwd
            title: F
            when: {all: [{fact: listener, match: {process: {in: "@ours"}}}]}
            then: [{check: probe}]
    """)
    assert load_rules([*BUILTIN, pack / "lists.yaml", uses]).by_id()["team.fwd"]
    # Another folder does not see them, and the error says why.
    other = write(tmp_path / "other", "rules.yaml", uses.read_text())
    (err,) = errors(pack / "lists.yaml", other)
    assert err.startswith(f"{other}:5:") and "unknown list '@ours' (lists are shared by the rule " \
        "files of one folder" in err
    # One name twice in a pack is an error at the second.
    dup = write(pack, "more.yaml", "format: 1\nlists:\n  ours: [x]\n")
    (err,) = errors(pack / "lists.yaml", dup, uses)
    assert err.startswith(f"{dup}:3:3: -: lists.ours: list 'ours' is already defined at "
                          f"{pack / 'lists.yaml'}:3")


def test_an_override_may_append_to_a_rule_that_uses_its_own_packs_list(tmp_path: Path) -> None:
    """The built-in container rules use the built-in @forwarders list; a team
    override re-reads them in its own pack."""
    p = write(tmp_path / "team", "o.yaml", """\
        format: 1
        overrides:
          - id: container.port_published
            append: {tags: [team]}
    """)
    assert "team" in load_rules([*BUILTIN, p]).by_id()["container.port_published"].tags


def test_the_same_file_twice_is_read_once(tmp_path: Path) -> None:
    p = rule(tmp_path)
    rs = load_rules([*BUILTIN, p, tmp_path / "team" / ".." / "team" / "team.yaml"])
    assert rs.files.count(str(p)) == 1 and len(rs.files) == len(BUILTIN) + 1
