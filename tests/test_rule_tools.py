"""`rules test` and `rules check` for team packs: skipped built-in cases with
their reason, one test file alone with the rules beside it, invalid test
files counted, test files checked against the rules, warnings."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from tests.support import run_cli
from tests.test_team_rules import EXAMPLE, env_for, write

README_OVERRIDES = """\
    format: 1
    overrides:
      - {id: client.proxy_captures, enabled: false, reason: "our proxy bypasses localhost"}
      - {id: port.reachable, replace: {priority: 30}}
"""


def summary(out: str) -> str:
    return out.strip().splitlines()[-1]


def test_cases_of_a_disabled_or_replaced_builtin_are_skipped_with_the_reason(tmp_path: Path
                                                                            ) -> None:
    team = write(tmp_path / "team", "team.yaml", README_OVERRIDES)
    env = env_for(tmp_path)
    r = run_cli("rules", "test", "--rules", str(team.parent), environ=env)
    assert r.code == 0, r.out
    skips = [ln for ln in r.out.splitlines() if ln.startswith("SKIP ")]
    disabled = [ln for ln in skips if ln.endswith(
        f": client.proxy_captures is disabled by {team}:3 (our proxy bypasses localhost)")]
    assert any(ln.startswith("SKIP proxy.test.yaml: http_proxy captures localhost") for ln in
               disabled)
    assert any(ln.startswith("SKIP listeners.test.yaml: ") and ln.endswith(
        f"port.reachable is replaced by {team}:4 (run with --all to run it anyway)")
        for ln in skips)
    assert re.fullmatch(rf"\d+ passed, 0 failed, {len(skips)} skipped", summary(r.out))
    # Asked for, the replaced rule's cases run too; the disabled rule's then fail.
    r = run_cli("rules", "test", "--all", "--rules", str(team.parent), environ=env)
    assert r.code == 1 and "SKIP" not in r.out
    # exactly the disabled rule's cases fail
    fails = [ln.split(": ", 2)[1] for ln in r.out.splitlines() if ln.startswith("FAIL ")]
    assert sorted(fails) == sorted(ln.split(": ", 2)[1] for ln in disabled)
    assert re.fullmatch(rf"\d+ passed, {len(disabled)} failed", summary(r.out))


def test_a_test_file_alone_loads_the_rules_beside_it(tmp_path: Path) -> None:
    r = run_cli("rules", "test", str(EXAMPLE / "payments.test.yaml"), environ=env_for(tmp_path))
    assert r.code == 0, r.err
    lines = r.out.strip().splitlines()
    assert len(lines) == 9 and all(ln.startswith("PASS payments.test.yaml: ") for ln in lines[:8])
    assert lines[-1] == "8 passed, 0 failed"


def test_an_invalid_test_file_is_counted_and_every_error_is_at_its_key(tmp_path: Path) -> None:
    pack = tmp_path / "pack"
    shutil.copytree(EXAMPLE, pack)
    bad = write(pack, "bad.test.yaml", """\
        format: 1
        tests:
          - name: two mistakes
            given:
              facts:
                - {type: target, host: localhost, port: '8080'}
                - {type: symptom, error: refused, prot: 8080}
            expect: {top: payments.legacy_api_port}
    """)
    r = run_cli("rules", "test", str(bad), environ=env_for(tmp_path))
    assert r.code == 2 and summary(r.out) == "0 passed, 0 failed, 1 invalid test file"
    errs = r.err.splitlines()
    assert len(errs) == 2 and errs[0] == (f"assistant: {bad}:6:43: two mistakes: given.facts.port: "
                                          "target.port is a number: write 8080 without quotes")
    assert errs[1].startswith(f"{bad}:7:") and "fact type 'symptom' has no field 'prot'" in errs[1]
    # The whole folder: the other file's cases run, the bad one is counted.
    r = run_cli("rules", "test", str(pack), environ=env_for(tmp_path))
    assert r.code == 2 and summary(r.out) == "8 passed, 0 failed, 1 invalid test file"


def test_check_validates_the_tests_beside_the_rules(tmp_path: Path) -> None:
    pack = tmp_path / "pack"
    shutil.copytree(EXAMPLE, pack)
    t = pack / "payments.test.yaml"
    t.write_text(t.read_text().replace("top: payments.legacy_api_port", "top: payments.legacy_port"))
    r = run_cli("rules", "check", str(pack), environ=env_for(tmp_path))
    assert r.code == 2
    assert re.search(rf"^assistant: {re.escape(str(t))}:\d+:\d+: the old API port: expect.top: "
                     r"no rule 'payments.legacy_port' is loaded; did you mean "
                     r"'payments.legacy_api_port'\?$", r.err, re.M), r.err
    r = run_cli("rules", "check", str(EXAMPLE), environ=env_for(tmp_path))
    assert r.code == 0 and re.fullmatch(r"\d+ rules, 4 services in \d+ files; 8 test cases in 1 "
                                        r"test file: ok\n", r.out), r.out


def test_warnings_for_a_rule_without_tests_and_a_folder_without_rules(tmp_path: Path) -> None:
    team = write(tmp_path / "team", "team.yaml", """\
        format: 1
        rules:
          - {id: team.untested, title: T, when: {all: [{fact: target}]}, then: [{check: probe}]}
    """)
    env = env_for(tmp_path)
    r = run_cli("rules", "check", "--rules", str(team.parent), environ=env)
    assert r.code == 0
    assert r.err == (f"assistant: warning: {team}:3: team.untested has no test: add a case naming "
                     f"it to {team.with_name('team.test.yaml')}\n")
    r = run_cli("rules", "check", "--rules", str(EXAMPLE.parent), environ=env)
    assert r.code == 0 and r.err == (
        f"assistant: note: {EXAMPLE.parent}: no rule files (*.yaml other than *.test.yaml) in "
        f"this folder, so it adds no rules; did you mean {EXAMPLE}?\n")


def test_one_folder_named_twice_is_loaded_once(tmp_path: Path) -> None:
    env = env_for(tmp_path, ASSISTANT_RULES_PATH=str(EXAMPLE))
    r = run_cli("rules", "check", "--rules", str(EXAMPLE), environ=env)
    assert r.code == 0, r.err
    r = run_cli("--rules", str(EXAMPLE), "--ask", "cannot connect to localhost:8080", "--json",
                environ=env)
    assert r.code in (0, 1) and "redefines" not in r.err


def test_kb_check_of_a_team_folder_resolves_built_in_entries(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    entry = write(kb, "team-db-down.yaml", """\
        id: team-db-down
        question: Why is the team database down?
        answer: Nobody ran make db-up.
        related: [service-not-running, service-not-runing]
        sources:
          - {title: Our runbook, url: "https://wiki.example.com/db"}
    """)
    env = env_for(tmp_path)
    r = run_cli("kb", "check", str(kb), environ=env)
    assert r.code == 2 and r.err == (
        f"assistant: {entry}:4:32: related: no entry 'service-not-runing'; did you mean "
        "'service-not-running'?\n")
    entry.write_text(entry.read_text().replace(", service-not-runing", ""))
    r = run_cli("kb", "check", str(kb), environ=env)
    assert (r.code, r.out, r.err) == (0, "1 entries: ok\n", "")
    # Named in ASSISTANT_KB_PATH too, it is read once (no duplicate ids).
    r = run_cli("kb", "check", str(kb), environ=env_for(tmp_path, ASSISTANT_KB_PATH=str(kb)))
    assert (r.code, r.out) == (0, "1 entries: ok\n")


def test_explain_shows_the_text_tests_the_driver_evaluates(tmp_path: Path) -> None:
    from tests.test_team_rules import ROOT

    web = ROOT / "examples" / "team-web" / "rules.d"
    r = run_cli("rules", "explain", "web.redis_not_started", "--rules", str(web),
                environ=env_for(tmp_path))
    assert r.code == 0
    mark = re.search(r"^  (m_[0-9a-f]{12}): symptom\.text matches 'ECONNREFUSED \(127\\\\\.0\\\\\.0"
                     r"\\\\\.1\|::1\):6379'$", r.out, re.M)
    assert mark and '"$ex": {\n' in r.out and f'"{mark.group(1)}": 1' in r.out
