#!/usr/bin/env python3
"""Task runner: sets up what is missing, then runs one task. Stdlib only.

    python3 dev.py ask ["TEXT"]   set up .venv, then assistant --ask (the seed question by default)
    python3 dev.py test [ARGS]    set up .venv with test tools, then lint, types and the whole test suite
    python3 dev.py lint           ruff and mypy only (what the pre-commit hooks run)
    python3 dev.py bench          benchmarks (not part of the test run)
    python3 dev.py fuzz [N]       the property tests with N examples each (default 5000)

Needs only Python 3.10-3.13 and a C compiler (durable-rules builds from source).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
SEED = "cannot connect to 127.0.0.1:62893"
# Lint and type commands, the same here, in .ci/run (through `test`) and in
# .pre-commit-config.yaml.
LINT = [["ruff", "check", "assistant", "tests", "dev.py", "benchmarks"], ["mypy"]]


def bin_path(name: str) -> Path:
    return VENV / ("Scripts" if os.name == "nt" else "bin") / name


def build_env() -> dict[str, str]:
    """durable-rules 2.0.28 calls PyEval_CallObject, gone in Python 3.13; the
    replacement has the same signature, so map it at compile time."""
    env = dict(os.environ)
    if sys.version_info >= (3, 13):
        env["CPPFLAGS"] = (env.get("CPPFLAGS", "") + " -DPyEval_CallObject=PyObject_CallObject").strip()
    return env


def pip(*args: str) -> None:
    subprocess.run([str(bin_path("python")), "-m", "pip", "install", "-q",
                    "--disable-pip-version-check", *args], check=True, env=build_env())


def setup(test: bool) -> None:
    """Create .venv and install the project (editable) when anything changed."""
    if not sys.version_info[:2] >= (3, 10):
        sys.exit(f"dev.py: Python 3.10 or newer is needed (this is {sys.version.split()[0]})")
    stamp_src = (ROOT / "pyproject.toml").read_bytes() + (b"test" if test else b"run")
    stamp = hashlib.sha256(stamp_src + sys.version.encode()).hexdigest()
    marker = VENV / f".installed-{'test' if test else 'run'}"
    if marker.exists() and marker.read_text() == stamp and bin_path("assistant").exists():
        return
    if not bin_path("python").exists():
        print("dev.py: creating .venv", file=sys.stderr)
        venv.create(VENV, with_pip=True)
    print("dev.py: installing the project into .venv (builds durable-rules once)", file=sys.stderr)
    if sys.version_info >= (3, 13):
        # No cached wheel: one built without the define would not import.
        pip("--no-cache-dir", "durable-rules==2.0.28")
    # The test tools are the `test` extra in pyproject.toml, listed only there.
    # compat mode: a plain .pth path entry instead of an import hook, which
    # cost every command ~9 ms at start-up.
    pip("--config-settings", "editable_mode=compat", "-e", f"{ROOT}[test]" if test else str(ROOT))
    marker.write_text(stamp)


def main(argv: list[str]) -> int:
    task = argv[0] if argv else "help"
    if task == "ask":
        setup(test=False)
        text = " ".join(argv[1:]) or SEED
        return subprocess.run([str(bin_path("assistant")), "--ask", text]).returncode
    if task in ("test", "lint"):
        setup(test=True)
        for cmd in LINT:
            code = subprocess.run([str(bin_path(cmd[0])), *cmd[1:]], cwd=ROOT).returncode
            if code:
                print(f"dev.py: `{' '.join(cmd)}` failed", file=sys.stderr)
                return code
        if task == "lint":
            return 0
        return subprocess.run([str(bin_path("python")), "-m", "pytest", *argv[1:]],
                              cwd=ROOT).returncode
    if task == "bench":
        setup(test=True)
        return subprocess.run([str(bin_path("python")), str(ROOT / "benchmarks" / "run.py"),
                               *argv[1:]], cwd=ROOT).returncode
    if task == "fuzz":
        setup(test=True)
        n = argv[1] if len(argv) > 1 else "5000"
        env = dict(os.environ, HYPOTHESIS_PROFILE="long", FUZZ_EXAMPLES=n)
        return subprocess.run([str(bin_path("python")), "-m", "pytest", "-q", "-p",
                               "no:cacheprovider", "tests/test_fuzz.py", "-k", "total or credential",
                               "--hypothesis-show-statistics"], cwd=ROOT, env=env).returncode
    print(__doc__)
    return 0 if task in ("help", "-h", "--help") else 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
