"""Team rules: the search path, trust, overrides, services, and the tools."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tests.support import console_script, free_port_without_neighbours, run_cli

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "team-payments" / "rules.d"


def env_for(tmp: Path, **extra: str) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp / "home"),
            "XDG_DATA_HOME": str(tmp / "data"), "XDG_CONFIG_HOME": str(tmp / "config"),
            "ASSISTANT_CACHE_DIR": str(tmp / "cache"), **extra}


def write(d: Path, name: str, text: str) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    p = d / name
    p.write_text(textwrap.dedent(text))
    return p


DISABLE = """\
    format: 1
    overrides:
      - id: port.nothing_listening
        enabled: false
        reason: our services start lazily on first connect
"""


def categories(r: Any) -> list[str]:
    return [d["rule"] for d in r.json["diagnoses"]]


def test_project_rules_need_trust_and_new_trust_after_a_change(tmp_path: Path) -> None:
    project = tmp_path / "project"
    rules = write(project / ".assistant" / "rules.d", "team.yaml", DISABLE)
    cwd = project / "src" / "deep"
    cwd.mkdir(parents=True)
    env = env_for(tmp_path)
    port = free_port_without_neighbours()
    ask = ("--ask", f"cannot connect to 127.0.0.1:{port}", "--json")

    r = run_cli(*ask, environ=env, cwd=cwd)
    assert "not trusted" in r.err and "port.nothing_listening" in categories(r)

    t = run_cli("rules", "trust", environ=env, cwd=cwd)
    assert t.code == 0 and "trusted" in t.out
    r = run_cli(*ask, environ=env, cwd=cwd)
    assert r.err == "" and "port.nothing_listening" not in categories(r)

    rules.write_text(rules.read_text() + "\n# edited\n")
    r = run_cli(*ask, environ=env, cwd=cwd)
    assert "changed since it was trusted" in r.err and "port.nothing_listening" in categories(r)

    assert run_cli("rules", "untrust", environ=env, cwd=cwd).code == 0


def test_user_config_and_env_and_cli_order(tmp_path: Path) -> None:
    user = write(tmp_path / "config" / "assistant" / "rules.d", "mine.yaml", DISABLE)
    env = env_for(tmp_path)
    port = free_port_without_neighbours()
    r = run_cli("--ask", f"cannot connect to 127.0.0.1:{port}", "--json", environ=env,
                cwd=tmp_path)
    assert "port.nothing_listening" not in categories(r)
    listing = run_cli("rules", "list", "--all", environ=env, cwd=tmp_path).out
    line = next(ln for ln in listing.splitlines() if ln.startswith("port.nothing_listening"))
    assert "DISABLED: our services start lazily" in line and str(user) in line

    # A later directory redefining an id is an error naming both places.
    later = write(tmp_path / "later", "dup.yaml", """\
        format: 1
        rules:
          - {id: team.same, title: T, when: {all: [{fact: target}]}, then: [{check: probe}]}
    """)
    write(tmp_path / "earlier", "dup.yaml", """\
        format: 1
        rules:
          - {id: team.same, title: T, when: {all: [{fact: target}]}, then: [{check: probe}]}
    """)
    env2 = env_for(tmp_path, ASSISTANT_RULES_PATH=str(tmp_path / "earlier"))
    r = run_cli("rules", "check", "--rules", str(later.parent), environ=env2, cwd=tmp_path)
    assert r.code == 2
    assert str(tmp_path / "earlier" / "dup.yaml") in r.err and str(later) in r.err


def test_override_of_unknown_rule_names_its_place(tmp_path: Path) -> None:
    p = write(tmp_path / "team", "o.yaml", """\
        format: 1
        overrides:
          - {id: port.no_such_rule, enabled: false, reason: x}
    """)
    r = run_cli("rules", "check", "--rules", str(p.parent), environ=env_for(tmp_path))
    assert r.code == 2 and f"{p}:3:" in r.err and "port.no_such_rule" in r.err


def test_declared_services_live(tmp_path: Path, server: Any) -> None:
    s = server("127.0.0.1")
    down = free_port_without_neighbours()
    usual = free_port_without_neighbours()
    team = write(tmp_path / "team", "svc.yaml", f"""\
        format: 1
        services:
          - {{name: team-db, port: {down}, process: postgres, description: the dev DB}}
          - {{name: team-api, port: {s.port}, process: postgres, usual_port: {usual}}}
    """)
    env = env_for(tmp_path)
    r = run_cli("--rules", str(team.parent), "--ask", f"cannot connect to localhost:{down}",
                "--json", environ=env)
    assert r.json["diagnoses"][0]["rule"] == "service.not_running"
    assert "team-db" in r.json["diagnoses"][0]["summary"]
    # the port is held, but by python, not the declared postgres
    r = run_cli("--rules", str(team.parent), "--ask", f"cannot connect to localhost:{s.port}",
                "--json", environ=env)
    top = r.json["diagnoses"][0]
    assert top["rule"] == "service.wrong_owner" and str(s.pid) in top["summary"]
    r = run_cli("--rules", str(team.parent), "--ask", f"cannot connect to localhost:{usual}",
                "--json", environ=env)
    assert r.json["diagnoses"][0]["rule"] == "service.usual_port"
    assert str(s.port) in r.json["diagnoses"][0]["summary"]


def test_bad_team_file_reports_every_error_at_once(tmp_path: Path) -> None:
    p = write(tmp_path / "team", "bad.yaml", """\
        format: 1
        services:
          - {name: Team DB, port: 99999}
        rules:
          - id: team.a
            title: A
            category: nothing-listening
            when:
              all:
                - {fact: listner}
            then: [{conclude: {summary: "{x.port}"}}]
          - id: team.b
            title: B
            when: {all: [{fact: target, match: {port: {between: [1, 2]}}}]}
            then: [{check: portscan}]
    """)
    r = run_cli("rules", "check", "--rules", str(p.parent), environ=env_for(tmp_path))
    assert r.code == 2 and "Traceback" not in r.err
    for expected in (f"{p}:3:", "services.port", f"{p}:10:", "listner", f"{p}:14:",
                     "between", f"{p}:15:", "portscan"):
        assert expected in r.err, expected


def test_example_pack_checks_and_tests(tmp_path: Path) -> None:
    env = env_for(tmp_path)
    r = run_cli("rules", "check", "--rules", str(EXAMPLE), environ=env)
    assert r.code == 0, r.err
    r = run_cli("rules", "test", "--rules", str(EXAMPLE), environ=env)
    assert r.code == 0 and r.out.strip().endswith(" 0 failed"), r.out
    # A failing case is reported like a test runner, with its place, exit 1.
    copy = tmp_path / "pack"
    shutil.copytree(EXAMPLE, copy)
    t = copy / "payments.test.yaml"
    t.write_text(t.read_text().replace("top: payments.legacy_api_port", "top: port.typo"))
    r = run_cli("rules", "test", "--rules", str(copy), environ=env)
    assert r.code == 1 and f"FAIL {t}:" in r.out


def test_explain_shows_origin_overrides_and_engine_form(tmp_path: Path) -> None:
    r = run_cli("rules", "explain", "port.typo", "--rules", str(EXAMPLE), environ=env_for(tmp_path))
    assert r.code == 0
    assert "defined at" in r.out and "(built-in)" in r.out
    assert "changed by" in r.out and "payments.yaml" in r.out
    assert '"$and"' in r.out and "1080" in r.out


def test_two_thousand_team_rules_diagnose(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from gen_rules import gen

    pack = tmp_path / "pack"
    gen(2000, pack)
    env = {"PATH": os.environ.get("PATH", ""), "ASSISTANT_CACHE_DIR": str(tmp_path / "c"),
           "HOME": str(tmp_path)}
    for _ in range(2):  # cold (builds the cache), then warm
        p = subprocess.run([str(console_script()), "--rules", str(pack), "--ask",
                            "cannot connect to 127.0.0.1:20004", "--json"],
                           capture_output=True, text=True, timeout=120, env=env)
        assert p.returncode == 1, p.stderr
        assert "team.r4" in p.stdout


def test_isolated_compile_names_a_rule_that_hangs_the_engine(monkeypatch: pytest.MonkeyPatch
                                                              ) -> None:
    from assistant.engine import isolate

    monkeypatch.setattr(isolate, "PER_RULE_SECONDS", 2)
    catch = {"all": [{"m": {"$ex": {"type": 1}}}], "pri": 65000}
    hangs = {f"r{i}": {"all": [{"s": {"$and": [{"type": "symptom"}, {"kind": f"k{i}"}]}}],
                       "pri": 1} for i in range(513)}
    ok = {"a": {"all": [{"s": {"type": "target"}}], "pri": 1}, "__catch_all__": catch}
    bad = {"b": {"all": [{"s": {"$gtx": {"port": 1}}}], "pri": 1}, "__catch_all__": catch}
    found = isolate.check([("first", ok), ("hangs", {**hangs, "__catch_all__": catch}),
                           ("refused", bad), ("last", ok)])
    assert set(found) == {"hangs", "refused"}
    assert "hangs" in found["hangs"] and "202" in found["refused"]


def test_readme_rule_example_is_valid(tmp_path: Path) -> None:
    """The rule file a new user copies from the README must load and compile."""
    import re

    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("### A rule file"):]
    example = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert example is not None
    write(tmp_path / "team", "readme.yaml", example.group(1))
    r = run_cli("rules", "check", "--rules", str(tmp_path / "team"), environ=env_for(tmp_path))
    assert r.code == 0, r.err
    assert "1 services" in r.out


@pytest.mark.parametrize("pack", ["team-web", "team-data"])
def test_other_example_packs_check_and_test_without_warnings(tmp_path: Path, pack: str) -> None:
    rules = ROOT / "examples" / pack / "rules.d"
    env = env_for(tmp_path)
    r = run_cli("rules", "check", str(rules), environ=env)
    assert (r.code, r.err) == (0, ""), r.err
    r = run_cli("rules", "test", str(rules), environ=env)
    assert r.code == 0 and r.err == "" and re.fullmatch(r"\d+ passed, 0 failed",
                                                        r.out.strip().splitlines()[-1]), r.out
