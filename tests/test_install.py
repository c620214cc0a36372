"""Installing as a user would, then the seed question from another directory.

Each route README's "Install" gives, run for real into throwaway
directories from a copy of the tree, with fresh package caches so the rule
engine is really compiled by the compiler named: pip on every Python 3.10+
this machine has, pip --user, pipx and uv tool; clang 16 (Debian's
`clang-16`) with README's one variable on 3.13 and on the default Python;
and no C compiler at all, where dev.py compiles with zig or says what to
install. CI requires some through ASSISTANT_REQUIRE_PYTHONS (e.g. "3.13")
and ASSISTANT_REQUIRE_COMPILERS (e.g. "clang-16").
"""

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
SEED = "cannot connect to 127.0.0.1:62893"
# README's one variable for Python 3.13 and newer (see docs/engine.md, "Installing").
DEFINE = {"CPPFLAGS": "-DPyEval_CallObject=PyObject_CallObject"}
DEFAULT = f"{sys.version_info[0]}.{sys.version_info[1]}"


def interpreters() -> dict[str, str]:
    # The interpreter itself, not this virtual environment's (pip --user is
    # refused inside one, and dev.py would nest environments).
    found: dict[str, str] = {DEFAULT: getattr(sys, "_base_executable", sys.executable)}
    for minor in range(10, 16):
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
COMPILERS = [c for c in os.environ.get("ASSISTANT_REQUIRE_COMPILERS", "").split(",") if c]


def python(version: str) -> str:
    if version not in FOUND:
        if version in REQUIRED:
            pytest.fail(f"Python {version} is required here but not installed")
        pytest.skip(f"Python {version} is not installed")
    return FOUND[version]


def compiler(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        if name in COMPILERS:
            pytest.fail(f"{name} is required here but not on PATH")
        pytest.skip(f"{name} is not on PATH")
    return path


def source_copy(tmp_path: Path) -> Path:
    """A copy of the tree, so an install cannot lean on this checkout."""
    src = tmp_path / "src"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(
        ".venv*", ".git", "__pycache__", "*.egg-info", "build", ".pytest_cache", ".mypy_cache",
        ".ruff_cache"))
    return src


def user_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of a new user: own HOME, empty package caches."""
    env = dict(os.environ, HOME=str(tmp_path / "home"), PIP_CACHE_DIR=str(tmp_path / "pip-cache"),
               UV_CACHE_DIR=str(tmp_path / "uv-cache"), UV_PYTHON_DOWNLOADS="never",
               PIP_DISABLE_PIP_VERSION_CHECK="1")
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(extra)
    return env


def check_seed_question(command: Path, tmp_path: Path, env: dict[str, str] | None = None) -> None:
    """The seed question, the rules' own tests and the KB check, from elsewhere."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(exist_ok=True)
    e = {"PATH": os.environ["PATH"], "HOME": str(tmp_path / "home"), **(env or {})}
    proc = subprocess.run([str(command), "--ask", SEED, "--json"], cwd=elsewhere,
                          capture_output=True, text=True, timeout=60, env=e)
    assert "Traceback" not in proc.stderr, proc.stderr
    rep = json.loads(proc.stdout)
    assert (proc.returncode, rep["kind"], rep["target"]["port"]) == (1, "diagnosis", 62893)
    assert rep["diagnoses"][0]["category"] == "nothing-listening", rep["diagnoses"]
    kb = subprocess.run([str(command), "kb", "check"], cwd=elsewhere, capture_output=True,
                        text=True, timeout=60, env=e)
    assert kb.returncode == 0, kb.stderr
    rules = subprocess.run([str(command), "rules", "test"], cwd=elsewhere, capture_output=True,
                           text=True, timeout=60, env=e)
    assert rules.returncode == 0 and " 0 failed" in rules.stdout, rules.stdout
    schemas = subprocess.run([str(command), "rules", "schema"], cwd=elsewhere,
                             capture_output=True, text=True, timeout=60, env=e)
    paths = [line.split(": ", 1)[1] for line in schemas.stdout.splitlines()]
    assert len(paths) == 3 and all(Path(p).is_file() for p in paths), schemas.stdout
    # Without the optional extra, the MCP server names it (and nothing breaks).
    mcp = subprocess.run([str(command), "mcp"], cwd=elsewhere, capture_output=True, text=True,
                         timeout=60, stdin=subprocess.DEVNULL, env=e)
    assert mcp.returncode == 2 and "pip install 'local-connection-assistant[mcp]'" in mcp.stderr, \
        mcp.stderr


def pip_into_venv(version: str, tmp_path: Path, env: dict[str, str]) -> Path:
    venv_dir = tmp_path / "venv"
    subprocess.run([python(version), "-m", "venv", str(venv_dir)], check=True)
    src = source_copy(tmp_path)
    proc = subprocess.run([str(venv_dir / "bin" / "python"), "-m", "pip", "install", "-q", str(src)],
                          env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # pip builds in the tree: nothing of the build may stay there.
    assert not (src / "build").exists() and not list(src.glob("*.egg-info"))
    return venv_dir / "bin"


PIP_VARIANTS = sorted(set(FOUND) | set(REQUIRED))


@pytest.mark.parametrize("version", PIP_VARIANTS)
def test_pip_install_runs_seed_question(version: str, tmp_path: Path) -> None:
    """`pip install` with the system's default compiler; README's variable from 3.13 on."""
    newer = tuple(int(n) for n in version.split(".")) >= (3, 13)
    env = user_env(tmp_path, **(DEFINE if newer else {}))
    bin_dir = pip_into_venv(version, tmp_path, env)
    check_seed_question(bin_dir / "assistant", tmp_path)
    check_seed_question(bin_dir / "lc-assistant", tmp_path)


def test_pip_install_without_the_variable_on_313_with_gcc_12(tmp_path: Path) -> None:
    """GCC before 14 only warns about the undeclared call: the engine then
    loads lazily (engine/runtime.py), so a bare install still works there."""
    cc = subprocess.run(["cc", "-dumpversion"], capture_output=True, text=True)
    if cc.returncode or int(cc.stdout.split(".")[0]) >= 14 or "clang" in \
            subprocess.run(["cc", "--version"], capture_output=True, text=True).stdout:
        pytest.skip("cc is not GCC 13 or older")
    bin_dir = pip_into_venv("3.13", tmp_path, user_env(tmp_path))
    check_seed_question(bin_dir / "assistant", tmp_path)


@pytest.mark.parametrize("version", sorted({"3.13", DEFAULT}))
def test_clang16_with_readme_variable(version: str, tmp_path: Path) -> None:
    """clang 16 (Xcode 15's, Debian's clang-16) as the compiler: README's pip line."""
    env = user_env(tmp_path, CC=compiler("clang-16"), **DEFINE)
    bin_dir = pip_into_venv(version, tmp_path, env)
    check_seed_question(bin_dir / "assistant", tmp_path)


def test_clang16_without_the_variable_fails_on_313(tmp_path: Path) -> None:
    """Why README has the variable: without it clang 16 refuses durable-rules on 3.13."""
    env = user_env(tmp_path, CC=compiler("clang-16"))
    subprocess.run([python("3.13"), "-m", "venv", str(tmp_path / "v")], check=True)
    proc = subprocess.run([str(tmp_path / "v" / "bin" / "pip"), "install", "-q", "durable-rules==2.0.28"],
                          env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode != 0
    assert "call to undeclared function 'PyEval_CallObject'" in proc.stdout + proc.stderr


def test_pip_user_install_puts_command_and_man_page_in_user_base(tmp_path: Path) -> None:
    base = tmp_path / "userbase"
    env = user_env(tmp_path, PYTHONUSERBASE=str(base), **DEFINE)
    src = source_copy(tmp_path)
    proc = subprocess.run([python("3.13"), "-m", "pip", "install", "-q", "--user",
                           "--no-warn-script-location", str(src)], env=env, capture_output=True,
                          text=True, timeout=900)
    if "externally-managed-environment" in proc.stderr:
        pytest.skip("this Python is externally managed (README: use pipx or a venv)")
    assert proc.returncode == 0, proc.stderr
    assert (base / "share" / "man" / "man1" / "lc-assistant.1").is_file()
    check_seed_question(base / "bin" / "lc-assistant", tmp_path, {"PYTHONUSERBASE": str(base)})


def tool(name: str) -> list[str]:
    """pipx and uv from the test extra, run by this interpreter's environment."""
    if name == "uv":
        path = Path(sys.executable).parent / "uv"
        if not path.exists():
            pytest.skip("uv is not installed (the test extra has it)")
        return [str(path)]
    if subprocess.run([sys.executable, "-m", "pipx", "--version"], capture_output=True).returncode:
        pytest.skip("pipx is not installed (the test extra has it)")
    return [sys.executable, "-m", "pipx"]


def test_pipx_install_with_clang16(tmp_path: Path) -> None:
    """README's pipx line on 3.13 with clang 16; pipx links the man pages."""
    pipx = tmp_path / "pipx"
    env = user_env(tmp_path, CC=compiler("clang-16"), PIPX_HOME=str(pipx / "home"),
                   PIPX_BIN_DIR=str(pipx / "bin"), PIPX_MAN_DIR=str(pipx / "man"), **DEFINE)
    proc = subprocess.run([*tool("pipx"), "install", "--python", python("3.13"),
                           str(source_copy(tmp_path))], env=env, capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (pipx / "man" / "man1" / "lc-assistant.1").exists()
    check_seed_question(pipx / "bin" / "lc-assistant", tmp_path)


def test_uv_tool_install_with_clang16(tmp_path: Path) -> None:
    uv = tmp_path / "uv"
    env = user_env(tmp_path, CC=compiler("clang-16"), UV_TOOL_DIR=str(uv / "tools"),
                   UV_TOOL_BIN_DIR=str(uv / "bin"), **DEFINE)
    proc = subprocess.run([*tool("uv"), "tool", "install", "--python", python("3.13"),
                           str(source_copy(tmp_path))], env=env, capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    check_seed_question(uv / "bin" / "assistant", tmp_path)


def no_compiler_path(tmp_path: Path) -> str:
    """A PATH with the tools dev.py's children need and no C compiler, linker or ar."""
    bare = tmp_path / "bare-bin"
    bare.mkdir()
    for name in ("uname", "sh", "ldconfig"):  # platform and ctypes look these up
        found = shutil.which(name)
        if found:
            (bare / name).symlink_to(found)
    for name in ("cc", "gcc", "clang", "clang-16", "ar", "ld"):
        assert not (bare / name).exists()
    return str(bare)


def test_dev_py_without_a_compiler_compiles_with_zig(tmp_path: Path) -> None:
    """The quickstart on a machine with no C compiler (Linux): zig from the
    package index compiles the engine, and the seed question is answered."""
    if not sys.platform.startswith("linux"):
        pytest.skip("the zig fallback is for Linux")
    src = source_copy(tmp_path)
    env = dict(os.environ, PATH=no_compiler_path(tmp_path))  # HOME kept: pip's cache
    for var in ("CC", "DEV_VENV"):  # CI's second pass sets DEV_VENV
        env.pop(var, None)
    proc = subprocess.run([python("3.13"), "dev.py", "ask"], cwd=src, env=env, capture_output=True,
                          text=True, timeout=1800)
    assert "Traceback" not in proc.stderr, proc.stderr
    assert "no C compiler on PATH; compiling the rule engine with zig's" in proc.stderr
    assert proc.returncode == 1, proc.stdout + proc.stderr  # 1: a problem was diagnosed
    assert "nothing listens on port 62893" in proc.stdout
    check_seed_question(src / ".venv" / "bin" / "assistant", tmp_path)


def test_dev_py_without_a_compiler_or_zig_says_what_to_install(tmp_path: Path) -> None:
    """No compiler and no package index: one message naming the packages, no traceback,
    and the environment it made stays usable (pip works) for the next try."""
    src = source_copy(tmp_path)
    env = dict(os.environ, PATH=no_compiler_path(tmp_path), PIP_NO_INDEX="1", PIP_FIND_LINKS="",
               PIP_CONFIG_FILE=os.devnull)
    for var in ("CC", "DEV_VENV"):
        env.pop(var, None)
    proc = subprocess.run([python(DEFAULT), "dev.py", "ask"], cwd=src, env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 4  # dev.py's set-up failure, not a diagnosis
    assert "Traceback" not in proc.stderr, proc.stderr
    assert "no C compiler on PATH, and zig could not be installed either" in proc.stderr
    assert "build-essential" in proc.stderr or "gcc" in proc.stderr or "xcode" in proc.stderr
    assert subprocess.run([str(src / ".venv" / "bin" / "python"), "-m", "pip", "--version"],
                          capture_output=True).returncode == 0


def test_dev_py_remakes_a_venv_of_another_python_or_without_pip(tmp_path: Path) -> None:
    other = next((v for v in sorted(FOUND) if v != DEFAULT), None)
    if other is None:
        pytest.skip("needs a second Python")
    src = source_copy(tmp_path)
    subprocess.run([FOUND[other], "-m", "venv", "--without-pip", str(src / ".venv")], check=True)
    sys.path.insert(0, str(src))
    try:
        import dev

        dev.VENV = src / ".venv"
        why = dev.venv_problem()
        assert why is not None and f"Python {other}" in why, why
        dev.make_venv()
        assert dev.venv_problem() is None
        shutil.rmtree(next((src / ".venv" / "lib").glob("python*/site-packages/pip")))
        assert dev.venv_problem() == "has no working pip"
        dev.make_venv()
        assert dev.venv_problem() is None
    finally:
        sys.path.remove(str(src))
        sys.modules.pop("dev", None)
