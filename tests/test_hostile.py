"""Hostile files: rule files, rule test files and KB entries that try to run
code, explode, or are not text. Each gives exit 2 with a clear message, runs
nothing, and stays within bounded time and memory (a real subprocess)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support import console_script

PWNED = "/tmp/assistant-hostile-pwned"
HOSTILE = {
    "python-tag": f"!!python/object/apply:os.system ['touch {PWNED}']\n",
    "python-name": "format: 1\nrules: !!python/name:os.system\n",
    "billion-laughs": ("a: &a [lol,lol,lol,lol,lol,lol,lol,lol,lol]\n"
                       + "".join(f"{c}: &{c} [*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p}]\n"
                                 for p, c in zip("abcdefgh", "bcdefghi", strict=True))),
    "deep-nesting": "x: " + "[" * 5000 + "]" * 5000 + "\n",
    "duplicate-keys": "format: 1\nformat: 1\nrules: []\n",
    "binary": "\x00\x01\x02garbage\xff",
    "huge": "format: 1\nrules:\n" + "  - {id: x, title: t}\n" * 200_000,
    "not-utf8": None,
}


def write(path: Path, kind: str) -> None:
    if kind == "not-utf8":
        path.write_bytes(b"format: 1\nrules: [\xff\xfe]\n")
    else:
        path.write_text(HOSTILE[kind], encoding="latin-1" if kind == "binary" else "utf-8")


def run_bounded(*argv: str, env: dict[str, str] | None = None) -> tuple[int, str, float, int]:
    """Run the installed command under a 512 MB address-space limit."""
    code = ("import resource, subprocess, sys\n"
            "resource.setrlimit(resource.RLIMIT_AS, (512 << 20, 512 << 20))\n"
            "p = subprocess.run(sys.argv[1:], capture_output=True, text=True, timeout=60)\n"
            "sys.stderr.write(p.stderr); sys.stdout.write(p.stdout)\n"
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)\n"
            "sys.exit(p.returncode)")
    start = time.perf_counter()
    p = subprocess.run([sys.executable, "-c", code, str(console_script()), *argv],
                       capture_output=True, text=True, timeout=120,
                       env={"PATH": os.environ.get("PATH", ""), "HOME": "/tmp", **(env or {})})
    lines = p.stderr.strip().splitlines()
    return p.returncode, "\n".join(lines[:-1]), time.perf_counter() - start, int(lines[-1])


@pytest.fixture(autouse=True)
def no_pwned() -> None:
    if os.path.exists(PWNED):
        os.remove(PWNED)
    yield
    assert not os.path.exists(PWNED), "a hostile file ran code"


@pytest.mark.parametrize("kind", list(HOSTILE))
def test_hostile_rule_file(tmp_path: Path, kind: str) -> None:
    write(tmp_path / "team.yaml", kind)
    code, err, seconds, rss_kb = run_bounded("rules", "check", "--rules", str(tmp_path))
    assert code == 2, err
    assert "team.yaml" in err and "Traceback" not in err
    assert seconds < 20 and rss_kb < 400_000


@pytest.mark.parametrize("kind", list(HOSTILE))
def test_hostile_rule_test_file(tmp_path: Path, kind: str) -> None:
    write(tmp_path / "team.test.yaml", kind)
    code, err, seconds, rss_kb = run_bounded("rules", "test", "--rules", str(tmp_path))
    assert code == 2, err
    assert "team.test.yaml" in err and "Traceback" not in err
    assert seconds < 20 and rss_kb < 400_000


@pytest.mark.parametrize("kind", list(HOSTILE))
def test_hostile_kb_entry(tmp_path: Path, kind: str) -> None:
    write(tmp_path / "team-entry.yaml", kind)
    code, err, seconds, rss_kb = run_bounded("kb", "check", str(tmp_path))
    assert code == 2, err
    assert "team-entry.yaml" in err and "Traceback" not in err
    assert seconds < 20 and rss_kb < 400_000


def test_hostile_kb_entry_during_a_question(tmp_path: Path) -> None:
    write(tmp_path / "team-entry.yaml", "python-tag")
    code, err, _, _ = run_bounded("--ask", "what is localhost?",
                                  env={"ASSISTANT_KB_PATH": str(tmp_path)})
    assert code == 2 and "not allowed" in err
