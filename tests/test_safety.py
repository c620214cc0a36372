"""What the assistant never does: run a shell, run a fix, dial elsewhere."""

from __future__ import annotations

import ast
import socket
from pathlib import Path
from typing import Any

import pytest

from tests.support import run_cli

PKG = Path(__file__).resolve().parent.parent / "assistant"
FORBIDDEN_CALLS = {("os", "system"), ("os", "popen"), ("os", "execv"), ("os", "execvp"),
                   ("os", "spawnv"), ("subprocess", "getoutput"), ("subprocess", "getstatusoutput")}
SUBPROCESS = {"run", "Popen", "call", "check_call", "check_output"}


def calls() -> list[tuple[str, ast.Call]]:
    out = []
    for path in PKG.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                out.append((path.relative_to(PKG).as_posix(), node))
    return out


def test_no_shell_no_eval_and_fixed_argv_with_timeout() -> None:
    for rel, node in calls():
        f = node.func
        if isinstance(f, ast.Name):
            assert f.id not in ("eval", "exec", "compile", "__import__"), f"{rel}: {f.id}()"
        if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name):
            assert (f.value.id, f.attr) not in FORBIDDEN_CALLS, f"{rel}: {f.value.id}.{f.attr}"
            if f.value.id == "subprocess" and f.attr in SUBPROCESS:
                kw = {k.arg: k.value for k in node.keywords}
                assert "shell" not in kw or (isinstance(kw["shell"], ast.Constant)
                                             and kw["shell"].value is False), rel
                assert "timeout" in kw, f"{rel}: subprocess.{f.attr} without a timeout"
                argv = node.args[0] if node.args else None
                # a literal list, or the `argv` parameter of a runner whose own
                # callers pass literal lists (checked below)
                assert isinstance(argv, (ast.List, ast.Tuple)) or (
                    isinstance(argv, ast.Name) and argv.id == "argv"), \
                    f"{rel}: subprocess.{f.attr} argv must be a fixed list"
        if isinstance(f, ast.Name) and f.id == "run_command" and node.args:
            argv = node.args[0]
            assert isinstance(argv, ast.List) and all(
                isinstance(e, (ast.Constant, ast.Name)) for e in argv.elts), \
                f"{rel}: {f.id}() must get a fixed argument list"
    assert any(isinstance(n.func, ast.Name) and n.func.id == "run_command" for _, n in calls())


def test_fix_commands_are_only_text(monkeypatch: pytest.MonkeyPatch) -> None:
    """A diagnosis with fix commands runs none of them."""
    import subprocess

    ran: list[Any] = []
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: ran.append(a))
    monkeypatch.setattr(subprocess, "Popen", lambda *a, **k: ran.append(a))
    r = run_cli("--ask", "cannot connect to 127.0.0.1:1", "--json")
    assert r.json["diagnoses"][0]["fix"] and ran == []


def test_probe_dials_only_local_addresses(monkeypatch: pytest.MonkeyPatch) -> None:
    """A name that resolves to another machine is resolved, never dialled."""
    dialled: list[Any] = []
    real = socket.socket

    class Recording(real):  # type: ignore[misc, valid-type]
        def connect(self, address: Any) -> None:
            dialled.append(address)
            raise ConnectionRefusedError

    def fake_getaddrinfo(host: str, *a: Any, **k: Any) -> Any:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("203.0.113.7", 443))]

    from assistant.facts import probe

    monkeypatch.setattr(probe.socket, "socket", Recording)
    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    r = run_cli("--ask", "cannot connect to api.example.test:443", "--json")
    p = next(f for f in r.json["findings"] if f["check"] == "probe")
    assert "not probed" in p["summary"] and dialled == []
    r = run_cli("--ask", "cannot connect to 198.51.100.9:80", "--json")
    assert dialled == []
