#!/usr/bin/env python3
"""Task runner: sets up what is missing, then runs one task. Stdlib only.

    python3 dev.py ask ["TEXT"]   set up .venv, then assistant --ask (the seed question by default)
    python3 dev.py test [ARGS]    set up .venv with test tools, then lint, types and the whole test suite
    python3 dev.py lint           ruff and mypy only (what the pre-commit hooks run)
    python3 dev.py man            write docs/man/ from the argparse definition
    python3 dev.py bench          benchmarks (not part of the test run)
    python3 dev.py fuzz [N]       the property tests with N examples each (default 5000)

Needs Python 3.10 or newer (tested on 3.10-3.15). The rule engine,
durable-rules, is compiled once; with no C compiler on PATH (Linux), zig
from the package index compiles it. DEV_VENV=DIR uses DIR instead of .venv
(CI keeps one per Python). A set-up that cannot finish says what to install
and exits 4; otherwise the exit code is the task's (`ask`: assistant's own,
1 when a problem was diagnosed, as for the seed question).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import platform
import shlex
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("DEV_VENV") or ROOT / ".venv").absolute()
SEED = "cannot connect to 127.0.0.1:62893"
TESTED = ((3, 10), (3, 15))  # also in README ("Install") and pyproject's classifiers
DURABLE = "durable-rules==2.0.28"
# Python 3.13 removed PyEval_CallObject, which durable-rules 2.0.28 calls; the
# replacement has the same signature. GCC 14 and clang 16 refuse the
# undeclared call, so the engine is compiled with this define (MSVC reads
# extra options from CL, where '#' stands for '=').
DEFINE = "-DPyEval_CallObject=PyObject_CallObject"
# Lint and type commands, the same here, in .ci/run (through `test`) and in
# .pre-commit-config.yaml.
LINT = [["ruff", "check", "assistant", "tests", "tools", "dev.py", "benchmarks"], ["mypy"]]


EXIT_SETUP = 4  # not one of assistant's own exit codes (0-3, 130)


class SetupError(Exception):
    """Something the user has to do: printed as it is, without a traceback."""


def bin_path(name: str) -> Path:
    return VENV / ("Scripts" if os.name == "nt" else "bin") / name


def this_python() -> str:
    return f"Python {platform.python_version()} ({sys.executable})"


def os_hint(need: str) -> str:
    """What to install for `need` ("compiler", "headers" or "venv"), for this OS."""
    v = f"{sys.version_info[0]}.{sys.version_info[1]}"
    if sys.platform == "darwin":
        return "  xcode-select --install          (the Command Line Tools: clang and the headers)"
    if os.name == "nt":
        return ("  Microsoft C++ Build Tools, workload 'Desktop development with C++':\n"
                "  https://visualstudio.microsoft.com/visual-cpp-build-tools/")
    try:
        release = dict(line.split("=", 1) for line in Path("/etc/os-release").read_text().splitlines()
                       if "=" in line)
    except OSError:
        release = {}
    family = f"{release.get('ID', '')} {release.get('ID_LIKE', '')}".replace('"', "").split()
    debian = {"compiler": f"sudo apt install build-essential python{v}-dev",
              "headers": f"sudo apt install python{v}-dev",
              "venv": f"sudo apt install python{v}-venv"}[need]
    fedora = {"compiler": "sudo dnf install gcc python3-devel",
              "headers": "sudo dnf install python3-devel", "venv": "sudo dnf install python3"}[need]
    alpine = {"compiler": "apk add build-base python3-dev", "headers": "apk add python3-dev",
              "venv": "apk add python3"}[need]
    lines = {"debian": f"  Debian, Ubuntu:  {debian}", "fedora": f"  Fedora, RHEL:    {fedora}",
             "alpine": f"  Alpine:          {alpine}"}
    for key, names in (("debian", {"debian", "ubuntu"}), ("fedora", {"fedora", "rhel", "centos"}),
                       ("alpine", {"alpine"})):
        if names & set(family):
            return lines[key]
    return "\n".join(lines.values())


def check_python() -> None:
    if sys.version_info[:2] < TESTED[0]:
        raise SetupError(f"dev.py: Python 3.10 or newer is needed; this is {this_python()}")
    if sys.version_info[:2] > TESTED[1]:
        print(f"dev.py: note: {this_python()} is newer than the versions this project is tested on "
              f"(3.{TESTED[0][1]}-3.{TESTED[1][1]}); if the set-up fails, use one of those",
              file=sys.stderr)


def venv_problem() -> str | None:
    """Why the existing environment cannot be used (None: it can)."""
    py = bin_path("python")
    cfg = VENV / "pyvenv.cfg"
    if not py.exists() or not cfg.exists():
        return "is incomplete"
    fields = dict(line.split("=", 1) for line in cfg.read_text().splitlines() if "=" in line)
    fields = {k.strip(): v.strip() for k, v in fields.items()}
    made_by = fields.get("version") or fields.get("version_info", "")
    base = Path(getattr(sys, "_base_executable", sys.executable)).resolve().parent
    if made_by != platform.python_version() or Path(fields.get("home", "")).resolve() != base:
        return f"was made by Python {made_by} in {fields.get('home')}, not by {this_python()}"
    if subprocess.run([str(py), "-m", "pip", "--version"], capture_output=True).returncode:
        return "has no working pip"
    return None


def make_venv() -> None:
    if VENV.exists():
        why = venv_problem()
        if why is None:
            return
        if not (VENV / "pyvenv.cfg").exists() and any(VENV.iterdir()):
            raise SetupError(f"dev.py: {VENV} exists and is not a virtual environment; move it away")
        print(f"dev.py: {VENV.name} {why}; making it again", file=sys.stderr)
        shutil.rmtree(VENV)
    if importlib.util.find_spec("ensurepip") is None:
        raise SetupError(f"dev.py: {this_python()} cannot make a virtual environment with pip "
                         f"(no ensurepip). Install it:\n{os_hint('venv')}")
    print(f"dev.py: creating {VENV.name} with {this_python()}", file=sys.stderr)
    try:
        venv.create(VENV, with_pip=True)
    except (subprocess.CalledProcessError, OSError) as exc:
        shutil.rmtree(VENV, ignore_errors=True)  # never leave a half-made one behind
        raise SetupError(f"dev.py: creating {VENV} failed ({exc}). Install:\n{os_hint('venv')}")


def pip(*args: str, env: dict[str, str] | None = None) -> None:
    cmd = [str(bin_path("python")), "-m", "pip", "install", "-q", "--disable-pip-version-check", *args]
    if subprocess.run(cmd, env=env).returncode:
        raise SetupError(f"dev.py: `pip install {' '.join(args)}` failed (pip's message is above)")


def compiler_env() -> dict[str, str]:
    """The environment to compile durable-rules in: the define, and a compiler.

    setuptools calls CC, else the compiler this Python was built with. When
    neither is on PATH, any `cc`, `gcc` or `clang` will do; failing those (on
    Linux), zig's C compiler from the package index.
    """
    env = dict(os.environ)
    if sys.version_info >= (3, 13):
        env["CPPFLAGS"] = f"{env.get('CPPFLAGS', '')} {DEFINE}".strip()
    if os.name == "nt":  # setuptools finds MSVC itself; MSVC reads CL, not CPPFLAGS
        if sys.version_info >= (3, 13):
            env["CL"] = f"{env.get('CL', '')} /DPyEval_CallObject#PyObject_CallObject".strip()
        return env
    include = Path(sysconfig.get_paths()["include"])
    if not (include / "Python.h").exists():
        raise SetupError(f"dev.py: the C headers of {this_python()} are missing ({include}/Python.h); "
                         f"the rule engine cannot be compiled without them. Install:\n{os_hint('headers')}")
    wanted = env.get("CC") or sysconfig.get_config_var("CC") or "cc"
    if env.get("CC") and not shutil.which(shlex.split(wanted)[0]):
        raise SetupError(f"dev.py: CC={wanted} is not on PATH")
    for cc in (wanted, "cc", "gcc", "clang"):
        if shutil.which(shlex.split(cc)[0]):
            if cc != wanted:
                env["CC"] = cc
            # The engine is archived first: Debian's Python names its GCC's
            # gcc-ar, absent when another compiler is the one installed.
            archiver = env.get("AR") or sysconfig.get_config_var("AR") or "ar"
            if not shutil.which(shlex.split(archiver)[0]) and shutil.which("ar"):
                env["AR"] = "ar"
            return env
    if not sys.platform.startswith("linux"):
        raise SetupError("dev.py: no C compiler found to build the rule engine. Install:\n"
                         + os_hint("compiler"))
    print("dev.py: no C compiler on PATH; compiling the rule engine with zig's (pip package ziglang)",
          file=sys.stderr)
    try:
        pip("ziglang")
    except SetupError:
        raise SetupError("dev.py: no C compiler on PATH, and zig could not be installed either. "
                         f"Install a compiler:\n{os_hint('compiler')}") from None
    # The zig binary itself: pip's isolated build hides this environment's
    # packages from Python processes it starts, so `python -m ziglang` fails there.
    where = subprocess.run([str(bin_path("python")), "-c", "import ziglang; print(ziglang.__file__)"],
                           capture_output=True, text=True).stdout.strip()
    if not where:
        raise SetupError("dev.py: zig was installed but does not import. Install a compiler:\n"
                         + os_hint("compiler"))
    zig = shlex.quote(str(Path(where).parent / ("zig.exe" if os.name == "nt" else "zig")))
    # LDSHARED too: this Python's link line may carry flags zig's linker refuses.
    env.update(CC=f"{zig} cc", AR=f"{zig} ar", LDSHARED=f"{zig} cc -shared")
    return env


def install_engine() -> None:
    """Compile durable-rules into the environment, unless it is there."""
    probe = "import importlib.util, sys; sys.exit(importlib.util.find_spec('durable_rules_engine') is None)"
    if subprocess.run([str(bin_path("python")), "-c", probe]).returncode == 0:
        return
    env = compiler_env()
    # No cached wheel: one compiled without the define only loads lazily.
    extra = ["--no-cache-dir"] if sys.version_info >= (3, 13) else []
    try:
        pip(*extra, DURABLE, env=env)
    except SetupError:
        raise SetupError(f"dev.py: compiling the rule engine ({DURABLE}) with {this_python()} failed; "
                         f"the compiler's message is above. A C compiler and the Python headers:\n"
                         f"{os_hint('compiler')}") from None
    if "ziglang" in env.get("CC", ""):  # 400 MB no longer needed
        subprocess.run([str(bin_path("python")), "-m", "pip", "uninstall", "-q", "-y", "ziglang"])


def setup(test: bool) -> None:
    """Create the environment and install the project (editable) when anything changed."""
    check_python()
    stamp_src = (ROOT / "pyproject.toml").read_bytes() + (b"test" if test else b"run")
    stamp = hashlib.sha256(stamp_src + sys.version.encode()).hexdigest()
    marker = VENV / f".installed-{'test' if test else 'run'}"
    if marker.exists() and marker.read_text() == stamp and bin_path("assistant").exists():
        return
    make_venv()
    print(f"dev.py: installing the project into {VENV.name} (builds durable-rules once)", file=sys.stderr)
    install_engine()
    # The test tools are the `test` extra in pyproject.toml, listed only there.
    # compat mode: a plain .pth path entry instead of an import hook, which
    # cost every command ~9 ms at start-up.
    pip("--config-settings", "editable_mode=compat", "-e", f"{ROOT}[test]" if test else str(ROOT))
    marker.write_text(stamp)


def run(*cmd: str, env: dict[str, str] | None = None) -> int:
    return subprocess.run(list(cmd), cwd=ROOT, env=env).returncode


def main(argv: list[str]) -> int:
    task = argv[0] if argv else "help"
    py = str(bin_path("python"))
    if task == "ask":
        setup(test=False)
        return run(str(bin_path("assistant")), "--ask", " ".join(argv[1:]) or SEED)
    if task in ("test", "lint"):
        setup(test=True)
        for cmd in LINT:
            if code := run(str(bin_path(cmd[0])), *cmd[1:]):
                print(f"dev.py: `{' '.join(cmd)}` failed", file=sys.stderr)
                return code
        return 0 if task == "lint" else run(py, "-m", "pytest", *argv[1:])
    if task == "man":
        setup(test=True)
        return run(py, "-m", "assistant.cli.manpage", "--write", str(ROOT / "docs" / "man"))
    if task == "bench":
        setup(test=True)
        return run(py, str(ROOT / "benchmarks" / "run.py"), *argv[1:])
    if task == "fuzz":
        setup(test=True)
        n = argv[1] if len(argv) > 1 else "5000"
        env = dict(os.environ, HYPOTHESIS_PROFILE="long", FUZZ_EXAMPLES=n)
        return run(py, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_fuzz.py", "-k",
                   "total or credential", "--hypothesis-show-statistics", env=env)
    print(__doc__)
    return 0 if task in ("help", "-h", "--help") else 2


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except SetupError as exc:
        print(exc, file=sys.stderr)
        sys.exit(EXIT_SETUP)
    except KeyboardInterrupt:
        sys.exit(130)
