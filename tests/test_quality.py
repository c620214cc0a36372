"""House rules that keep the layers clean, plus lint and types."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parent.parent / "assistant"


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module.split(".")[0])
    return out


@pytest.mark.parametrize("module,allowed", [
    ("durable", {"engine/runtime.py"}),
    ("durable_rules_engine", {"engine/runtime.py"}),
    ("psutil", {"facts/"}),
    ("prompt_toolkit", {"cli/chat.py"}),
    ("mcp", {"cli/mcp.py"}),
    ("pydantic", {"cli/mcp.py"}),
    ("anyio", {"cli/mcp.py"}),
    ("argcomplete", {"cli/shell.py"}),
])
def test_only_one_layer_imports(module: str, allowed: set[str]) -> None:
    for path in PKG.rglob("*.py"):
        rel = path.relative_to(PKG).as_posix()
        if module in imports_of(path):
            assert any(rel == a or rel.startswith(a) for a in allowed if a.endswith("/")) or \
                rel in allowed, f"{rel} imports {module}"


def test_ask_does_not_load_the_repl_or_slow_modules_it_does_not_need(tmp_path: Path) -> None:
    """The seed question with a warm cache: no chat, no YAML, no tools, no
    tempfile (each was milliseconds of every --ask; see README 'Measured')."""
    code = ("import sys, io\nfrom assistant.cli import main, Env\n"
            "main(['--ask', 'cannot connect to 127.0.0.1:62893', '--json'], "
            "Env(stdout=io.StringIO(), stdin=io.StringIO(), "
            f"environ={{'ASSISTANT_CACHE_DIR': {str(tmp_path)!r}}}))\n"
            "import json; print(json.dumps(sorted(sys.modules)))")
    subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    mods = set(json.loads(out.stdout.strip().splitlines()[-1]))
    for slow in ("prompt_toolkit", "assistant.cli.chat", "yaml", "assistant.engine.loader",
                 "assistant.kb", "subprocess", "tempfile", "psutil", "argcomplete",
                 "assistant.cli.shell", "mcp", "pydantic", "anyio", "assistant.cli.mcp",
                 # durable's Python layer and what it imported (about 10 ms)
                 "durable", "logging", "inspect", "random"):
        assert slow not in mods, slow


def test_import_is_cheap_and_side_effect_free() -> None:
    code = ("import sys; import assistant.cli, assistant.session, assistant.understand.symptoms; "
            "print('durable_rules_engine' in sys.modules, 'psutil' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_every_package_is_listed_for_the_wheel() -> None:
    import tomllib

    listed = set(tomllib.loads((PKG.parent / "pyproject.toml").read_text())
                 ["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(PKG.parent).parts) for p in PKG.rglob("__init__.py")}
    assert found <= listed, f"add to pyproject packages: {sorted(found - listed)}"


def test_no_import_cycles_between_modules() -> None:
    """Module-level imports form no cycle (imports inside functions and
    TYPE_CHECKING blocks are how a layer reaches a later one lazily)."""
    mods = {".".join(p.with_suffix("").parts[-len(p.relative_to(PKG.parent).parts):])
            .removesuffix(".__init__"): p for p in PKG.rglob("*.py")}
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for m, p in mods.items():
        for node in ast.parse(p.read_text()).body:
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                graph[m] |= {x for x in (node.module, *(f"{node.module}.{a.name}"
                                                        for a in node.names)) if x in mods}
    state: dict[str, int] = {}

    def visit(m: str, path: list[str]) -> None:
        state[m] = 1
        for n in graph[m]:
            assert state.get(n) != 1, " -> ".join([*path[path.index(n):], n])
            if n not in state:
                visit(n, [*path, n])
        state[m] = 2

    for m in graph:
        if m not in state:
            visit(m, [m])
