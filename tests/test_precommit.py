"""The pre-commit hooks a team's repository uses to check and test its pack."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import yaml

from tests.support import run_script
from tests.test_team_rules import EXAMPLE

ROOT = Path(__file__).resolve().parent.parent
HOOKS = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())


def team_repo(tmp_path: Path) -> Path:
    """A team's repository: its pack where the hooks look by default, no trust."""
    repo = tmp_path / "repo"
    shutil.copytree(EXAMPLE, repo / ".assistant" / "rules.d")
    kb = repo / ".assistant" / "kb"
    kb.mkdir()
    (kb / "team-db-down.yaml").write_text(
        "id: team-db-down\nquestion: Why is the team database down?\nanswer: Run make db-up.\n"
        "related: [service-not-running]\n"
        "sources: [{title: Our runbook, url: 'https://wiki.example.com/db'}]\n")
    return repo


def run_hook(hook: dict, repo: Path, tmp_path: Path):  # type: ignore[no-untyped-def]
    argv = hook["entry"].split()[1:] + hook.get("args", [])
    assert hook["entry"].split()[0] == "assistant" and hook["pass_filenames"] is False
    env = {"HOME": str(tmp_path / "home"), "ASSISTANT_CACHE_DIR": str(tmp_path / "cache"),
           "XDG_DATA_HOME": str(tmp_path / "data"), "PATH": os.environ.get("PATH", "")}
    return run_script(*argv, env=env, cwd=repo)


def test_the_hooks_pass_on_a_good_pack_without_trusting_it(tmp_path: Path) -> None:
    repo = team_repo(tmp_path)
    assert [h["id"] for h in HOOKS] == ["assistant-rules-check", "assistant-rules-test",
                                        "assistant-kb-check"]
    for hook in HOOKS:
        r = run_hook(hook, repo, tmp_path)
        assert r.code == 0, (hook["id"], r.out, r.err)
        assert r.err == "", r.err  # the pack is named: no "not trusted" note
    assert run_hook(HOOKS[1], repo, tmp_path).out.strip().endswith("8 passed, 0 failed")


def test_the_hooks_fail_a_broken_pack_with_its_place(tmp_path: Path) -> None:
    repo = team_repo(tmp_path)
    rules = repo / ".assistant" / "rules.d" / "payments.yaml"
    rules.write_text(rules.read_text().replace("match: {port: 55432}", 'match: {port: "55432"}'))
    r = run_hook(HOOKS[0], repo, tmp_path)
    assert r.code == 2
    assert r.err == ("assistant: .assistant/rules.d/payments.yaml:21:41: payments.db_down: "
                            "match.port: target.port is a number: write 55432 without quotes\n")
