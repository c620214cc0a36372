"""Broken rule files as new users write them from the README: `rules check`
reports each mistake at its line with a clear message, and nothing else.

A line ending in `# ✗ TEXT` must get an error at that line containing TEXT
(tests/data/broken_rules/: one mistake per folder; tests/data/broken_packs/:
a web team's and a data team's packs with several)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support import run_cli
from tests.test_team_rules import env_for

DATA = Path(__file__).parent / "data"
FOLDERS = sorted([*(DATA / "broken_rules").iterdir(), *(DATA / "broken_packs").iterdir()])
FOLDERS = [f for f in FOLDERS if f.is_dir()]
ERROR = re.compile(r"^(?:assistant: )?(\S+?\.yaml):(\d+):\d+: (.*)$")


def marked(folder: Path) -> dict[tuple[str, int], str]:
    out = {}
    for path in sorted(folder.glob("*.yaml")):
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if "# ✗ " in line:
                out[(str(path), n)] = line.split("# ✗ ", 1)[1].strip()
    return out


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda f: f"{f.parent.name}/{f.name}")
def test_each_mistake_is_reported_at_its_line(folder: Path, tmp_path: Path) -> None:
    expected = marked(folder)
    assert expected, f"{folder} marks no mistake"
    r = run_cli("rules", "check", str(folder), environ=env_for(tmp_path))
    assert r.code == 2, r.out
    got: dict[tuple[str, int], list[str]] = {}
    for line in r.err.splitlines():
        m = ERROR.match(line)
        if m:
            got.setdefault((m.group(1), int(m.group(2))), []).append(m.group(3))
        else:
            assert line.startswith("assistant: note: "), line
    assert set(got) == set(expected), (sorted(got), sorted(expected))
    for where, fragment in expected.items():
        assert any(fragment in message for message in got[where]), (where, fragment, got[where])


def test_the_catalogue_covers_the_mistakes_of_the_issue() -> None:
    names = {f.name for f in FOLDERS}
    assert {"quoted-port", "kind-ipv5", "client-postgres", "error-connection-refused",
            "relation-underscore", "family-5", "bool-yes", "choice-true", "invalid-regex",
            "supersedes-typo", "test-unknown-rule", "kb-typo", "list-typo", "web",
            "data"} <= names
    assert sum(len(marked(f)) for f in FOLDERS) >= 50
