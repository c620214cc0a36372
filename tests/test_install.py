"""A non-editable install into a fresh venv works from any directory, on
every Python 3.10-3.13 this machine has (CI requires 3.13 through
ASSISTANT_REQUIRE_PYTHONS)."""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


def interpreters() -> dict[str, str]:
    found: dict[str, str] = {f"{sys.version_info[0]}.{sys.version_info[1]}": sys.executable}
    for minor in range(10, 14):
        v = f"3.{minor}"
        if v in found:
            continue
        cands = sorted(glob.glob(os.path.expanduser(f"~/.pyenv/versions/{v}.*/bin/python{v}")))
        cands.append(shutil.which(f"python{v}") or "")
        for c in cands:
            # pyenv shims answer for every version, then refuse to run most
            if c and os.path.exists(c) and "/shims/" not in c:
                found[v] = c
                break
    return found


FOUND = interpreters()
REQUIRED = [v for v in os.environ.get("ASSISTANT_REQUIRE_PYTHONS", "").split(",") if v]


VARIANTS = sorted(set(FOUND) | set(REQUIRED)) + (["3.13-plain"] if "3.13" in FOUND else [])


@pytest.mark.parametrize("variant", VARIANTS)
def test_wheel_install_runs_seed_question(variant: str, tmp_path: Path) -> None:
    """`-plain`: a bare `pip install .` on 3.13, without our compile flag; the
    engine adapter then loads durable-rules lazily (see engine/runtime.py)."""
    version = variant.split("-")[0]
    plain = variant.endswith("-plain")
    if version not in FOUND:
        if version in REQUIRED:
            pytest.fail(f"Python {version} is required here but not installed")
        pytest.skip(f"Python {version} is not installed")
    python = FOUND[version]
    venv_dir = tmp_path / "venv"
    subprocess.run([python, "-m", "venv", str(venv_dir)], check=True)
    env = dict(os.environ)
    if version == "3.13" and not plain:
        env["CPPFLAGS"] = "-DPyEval_CallObject=PyObject_CallObject"
    pip = [str(venv_dir / "bin" / "python"), "-m", "pip", "install", "-q",
           "--disable-pip-version-check"]
    if version == "3.13":
        subprocess.run(pip + ["--no-cache-dir", "durable-rules==2.0.28"], check=True, env=env,
                       timeout=900)
    # A copy of the source, so the install cannot lean on this checkout.
    src = tmp_path / "src"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(".venv*", ".git", "__pycache__",
                                                             "*.egg-info", "build", ".pytest_cache"))
    subprocess.run(pip + [str(src)], check=True, env=env, timeout=900)
    shutil.rmtree(src)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    proc = subprocess.run([str(venv_dir / "bin" / "assistant"), "--ask",
                           "cannot connect to 127.0.0.1:62893", "--json"], cwd=elsewhere,
                          capture_output=True, text=True, timeout=60,
                          env={"PATH": os.environ["PATH"], "HOME": str(tmp_path)})
    assert "Traceback" not in proc.stderr, proc.stderr
    rep = json.loads(proc.stdout)
    assert rep["kind"] == "diagnosis" and rep["target"]["port"] == 62893
    assert rep["diagnoses"], "the installed rules produced no diagnosis"
    kb = subprocess.run([str(venv_dir / "bin" / "assistant"), "kb", "check"], cwd=elsewhere,
                        capture_output=True, text=True, timeout=60)
    assert kb.returncode == 0, kb.stderr
    rules = subprocess.run([str(venv_dir / "bin" / "assistant"), "rules", "test"], cwd=elsewhere,
                           capture_output=True, text=True, timeout=60)
    assert rules.returncode == 0 and " 0 failed" in rules.stdout, rules.stdout
    schemas = subprocess.run([str(venv_dir / "bin" / "assistant"), "rules", "schema"],
                             cwd=elsewhere, capture_output=True, text=True, timeout=60)
    paths = [line.split(": ", 1)[1] for line in schemas.stdout.splitlines()]
    assert len(paths) == 3 and all(Path(p).is_file() for p in paths), schemas.stdout
    # Without the optional extra, the MCP server names it (and nothing breaks).
    mcp = subprocess.run([str(venv_dir / "bin" / "assistant"), "mcp"], cwd=elsewhere,
                         capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert mcp.returncode == 2 and "pip install 'assistant[mcp]'" in mcp.stderr, mcp.stderr
