"""Every command the assistant prints, rendered as a user sees it, linted.

The rules' fixes are rendered through each case of every built-in
*.test.yaml (the facts a rule really concludes on), the knowledge base's
commands as written; tests/commandlint.py says what a pasted command must
get right. The linter itself is tested first, on the commands issue 17
found wanting.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assistant.engine import driver
from assistant.engine.driver import Compiled
from assistant.facts.base import CheckResult
from assistant.knowledge.entries import load_entries
from tests.commandlint import Fix, lint
from tests.test_rule_files import CASES, RULESET

BAD = [
    (Fix("windows", "netstat -ano | findstr :3000"), "also matches port 30000"),
    (Fix("windows", "netstat -ano -p tcp | findstr /C:\":3000 \""), "hides IPv6"),
    (Fix("windows", "netstat -ano | findstr LISTENING"), "translated"),
    (Fix("windows", "net stop winnat && net start winnat", "as administrator"), "PowerShell 5.1"),
    (Fix("windows", "net stop w3svc", "if it is IIS"), "elevated"),
    (Fix("windows", "taskkill /PID 1234"), "/F"),
    (Fix("linux", 'export NO_PROXY="${NO_PROXY:+$NO_PROXY,}localhost" '
                  'no_proxy="${no_proxy:+$no_proxy,}localhost"'), "read no_proxy first"),
    (Fix("windows", "setx NO_PROXY localhost,127.0.0.1"), "replaces the user's value"),
    (Fix("windows", "curl -v http://localhost:3000/"), "curl.exe"),
    (Fix("windows", "Get-NetFirewallRule -Enabled True | Get-NetFirewallPortFilter | "
                    "Where-Object LocalPort -eq 3000"), "rule's name and action"),
    (Fix("linux", "ss -ltnp | grep 3000"), "also matches port 30000"),
    (Fix("linux", "ss -ltnp 'sport = :3000'"), "sudo"),
    (Fix("linux", "lsof -i :3000"), "sudo"),
    (Fix("macos", "sudo lsof -i :3000"), "-nP"),
    (Fix("macos", "ss -ltn 'sport = :3000'"), "does not exist on macOS"),
    (Fix("macos", "netstat -an | grep -E '3000.*LISTEN'"), "also matches port 30000"),
    (Fix("linux", "export NO_PROXY=localhost,127.0.0.1,::1"), "replaces the user's value"),
    (Fix("any", "env | grep -i _proxy"), "Windows has no env"),
    (Fix("any", "curl -v http://localhost:3000/"), "curl.exe"),
    (Fix("any", "docker run -p 3000:3000 app", "publish the port"), "without saying so"),
    (Fix("any", "start the server bound to 0.0.0.0", "every interface"), "loopback-only form"),
    (Fix("linux", "kill ?"), "missing"),
    (Fix("linux", "podman ps --format '{{.Ports}}' | grep ':3000'"), "also matches port 30000"),
]

GOOD = [
    Fix("windows", "netstat -ano | findstr /C:\":3000 \""),
    Fix("windows", "netstat -ano | findstr /L /C:\"0.0.0.0:0 \" /C:\"[::]:0 \""),
    Fix("windows", "Get-NetTCPConnection -LocalPort 3000 -State Listen"),
    Fix("windows", "net stop winnat", "as administrator"),
    Fix("windows", "taskkill /PID 1234 /F"),
    Fix("windows", "docker ps --format '{{.Names}}  {{.Ports}}' | Select-String -SimpleMatch "
                   "':3000->'"),
    Fix("linux", "sudo ss -ltnp 'sport = :3000'"),
    Fix("linux", "ss -tan 'sport = :3000'"),
    Fix("macos", "sudo lsof -nP -iTCP:3000 -sTCP:LISTEN"),
    Fix("macos", "netstat -an -p tcp | grep -E '[.]3000 .*TIME_WAIT'"),
    Fix("linux", "export NO_PROXY=\"${NO_PROXY:+$NO_PROXY,}localhost\""),
    Fix("linux", "docker ps --format '{{.Names}}  {{.Ports}}' | grep -F ':3000->'"),
    Fix("any", "curl -v http://localhost:3000/", "see the answer (PowerShell 5.1: curl.exe)"),
]


@pytest.mark.parametrize("fix,problem", BAD, ids=[b[0].command[:40] for b in BAD])
def test_linter_finds_what_failed_users(fix: Fix, problem: str) -> None:
    found = lint(fix)
    assert any(problem in p for p in found), found


@pytest.mark.parametrize("fix", GOOD, ids=[g.command[:40] for g in GOOD])
def test_linter_passes_working_commands(fix: Fix) -> None:
    assert lint(fix) == []


def concluded(compiled: Compiled, case: dict[str, Any]) -> Iterator[tuple[str, Any, bool]]:
    """(rule file, diagnosis, about a UNIX socket) for each conclusion of a case."""
    given = case.get("given", {}) or {}
    provided = given.get("checks") or {}
    unknown = given.get("unknown_checks") or []

    def checks(names: list[str]) -> list[CheckResult]:
        return [CheckResult(n, "unknown", [], 0.0, "simulated") if n in unknown else
                CheckResult(n, "ok", [dict(f) for f in provided.get(n, [])], 0.0) for n in names]

    facts = [dict(f) for f in given.get("facts", [])]
    # UNIX sockets (the target, or one a check found) mean a POSIX system:
    # its 'any' lines may use export and friends.
    unix = any(f.get("type") == "target" and f.get("path") for f in facts) or any(
        name.startswith("unix") for name in provided)
    answers = {str(k): str(v) for k, v in (given.get("answers") or {}).items()}
    for c in driver.run(compiled, facts, checks, answers).conclusions:
        yield Path(c.rule.source.split(":")[0]).stem, c.diagnosis, unix


def test_every_builtin_fix_passes_the_linter() -> None:
    compiled = Compiled(RULESET)
    problems: set[tuple[str, str]] = set()
    linted: set[str] = set()
    for _path, case in CASES:
        for stem, d, unix in concluded(compiled, case):
            for i, fx in enumerate(d.fix):
                fix = Fix(fx.os, fx.command, fx.why)
                earlier = [Fix(f.os, f.command, f.why) for f in d.fix[:i]]
                for p in lint(fix, earlier, d.category, unix):
                    problems.add((stem, f"{d.rule}: {p}: [{fx.os}] {fx.command}"))
                linted.add(d.rule)
    assert not problems, "\n".join(m for _, m in sorted(problems))
    # Every rule that prints a fix was rendered by some case.
    with_fixes = {r.id for r in RULESET.rules if any(
        getattr(s, "fix", None) for s in r.steps)}
    assert with_fixes - linted == set()


def test_every_kb_command_passes_the_linter() -> None:
    problems = []
    for e in load_entries():
        for i, c in enumerate(e.commands):
            earlier = [Fix(x.os, x.command, x.why) for x in e.commands[:i]]
            for p in lint(Fix(c.os, c.command, c.why), earlier):
                problems.append(f"{e.id}: {p}: [{c.os}] {c.command}")
    assert problems == [], "\n".join(problems)
