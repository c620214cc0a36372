"""The wheel as pip builds it from this checkout: only tracked files, the
metadata users and indexes read, no build warnings, nothing left in the tree."""

from __future__ import annotations

import email
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import assistant
from assistant.engine.runtime import TESTED_PYTHONS

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow  # pip builds wheels (and fetches setuptools)
# Where pyproject.toml's package-dir and data-files put tracked files in the wheel.
IN_WHEEL = [("assistant/builtin_rules/", "rules/"), ("assistant/builtin_kb/", "kb/"),
            ("assistant/", "assistant/")]


def tracked() -> set[str]:
    out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True)
    if out.returncode:
        pytest.skip("not a git checkout")
    return set(out.stdout.split("\0")) - {""}


def origin(name: str, dist_info: str, data: str) -> str | None:
    """The tree path a wheel entry comes from; None for generated metadata."""
    if name.startswith(f"{data}/data/share/man/man1/"):
        return "docs/man/" + name.rsplit("/", 1)[1]
    if name.startswith(f"{dist_info}/licenses/"):
        return name.removeprefix(f"{dist_info}/licenses/")
    if name.startswith(f"{dist_info}/"):
        return None
    for prefix, tree in IN_WHEEL:
        if name.startswith(prefix):
            return tree + name.removeprefix(prefix)
    return name


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """`pip wheel` on the checkout itself (pip builds in the tree), verbosely."""
    before = {p.name for p in ROOT.iterdir()}
    out = tmp_path_factory.mktemp("wheel")
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # its own warning, not the project's
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-v", "-w", str(out),
                           str(ROOT)], capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    left = {p.name for p in ROOT.iterdir()} - before
    assert not left, f"the build left {left} in the tree"
    wheel = next(out.glob("*.whl"))
    return wheel, proc.stdout + proc.stderr


def test_every_file_in_the_wheel_comes_from_the_tracked_tree(built: tuple[Path, str]) -> None:
    wheel, _ = built
    files = tracked()
    names = zipfile.ZipFile(wheel).namelist()
    dist_info = next(n.split("/")[0] for n in names if n.endswith(".dist-info/METADATA"))
    data = dist_info.replace(".dist-info", ".data")
    strays = [n for n in names if (o := origin(n, dist_info, data)) is not None and o not in files]
    assert not strays, f"in the wheel but not tracked: {strays}"
    # and what must be there is
    for need in ("assistant/cli/main.py", "assistant/builtin_rules/gather.yaml",
                 f"{data}/data/share/man/man1/lc-assistant.1", f"{dist_info}/licenses/LICENSE"):
        assert need in names, need


def test_wheel_metadata(built: tuple[Path, str]) -> None:
    wheel, _ = built
    z = zipfile.ZipFile(wheel)
    meta = email.message_from_bytes(z.read(next(n for n in z.namelist()
                                                if n.endswith(".dist-info/METADATA"))))
    assert meta["Name"] == "local-connection-assistant"
    assert meta["Version"] == assistant.__version__
    assert meta["License-Expression"] == "MIT" and meta["License-File"] == "LICENSE"
    assert meta["Requires-Python"] == ">=3.10"
    assert not [c for c in meta.get_all("Classifier") if c.startswith("License ::")]
    versions = {c.rsplit(" :: ", 1)[1] for c in meta.get_all("Classifier")
                if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)}
    lo, hi = TESTED_PYTHONS
    assert versions == {f"3.{m}" for m in range(lo[1], hi[1] + 1)}
    assert meta.get_all("Project-URL")
    entry_points = z.read(next(n for n in z.namelist() if n.endswith("entry_points.txt"))).decode()
    assert "assistant = assistant.cli:main_exit" in entry_points
    assert "lc-assistant = assistant.cli:main_exit" in entry_points


def test_build_prints_no_warning(built: tuple[Path, str]) -> None:
    _, log = built
    # pip's own WARNING lines are about this machine's index settings, not the build.
    warnings = [line for line in log.splitlines() if re.search(r"warn|deprecat", line, re.I)
                and not line.lstrip().startswith("WARNING: Location")]
    assert not warnings, "\n".join(warnings)


def test_tested_versions_agree() -> None:
    """dev.py, the runtime's message, the classifiers and README name the same range."""
    sys.path.insert(0, str(ROOT))
    try:
        import dev
    finally:
        sys.path.remove(str(ROOT))
    assert dev.TESTED == TESTED_PYTHONS
    lo, hi = TESTED_PYTHONS
    assert f"Python 3.{lo[1]}–3.{hi[1]}" in (ROOT / "README.md").read_text()


def test_readme_install_lines_are_the_ones_tests_run() -> None:
    readme = (ROOT / "README.md").read_text()
    var = "CPPFLAGS=-DPyEval_CallObject=PyObject_CallObject"
    for line in (f"{var} pipx install local-connection-assistant",
                 f"{var} uv tool install local-connection-assistant",
                 f"{var} python3 -m pip install --user local-connection-assistant"):
        assert line in readme, line


def test_no_build_directory_is_shipped_from(tmp_path: Path) -> None:
    """A stale build/lib once shipped a deleted module: a build/ in the tree is never read."""
    src = tmp_path / "src"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(".venv*", ".git", "__pycache__",
                                                             "*.egg-info", "build"))
    stale = src / "build" / "lib" / "assistant"
    stale.mkdir(parents=True)
    (stale / "deleted_module.py").write_text("raise SystemExit('stale')\n")
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out),
                           str(src)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    names = zipfile.ZipFile(next(out.glob("*.whl"))).namelist()
    assert "assistant/deleted_module.py" not in names
    assert (stale / "deleted_module.py").exists()  # and the user's directory is left alone
