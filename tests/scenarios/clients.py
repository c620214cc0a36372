"""Running a real client as a user would, and what its terminal shows."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from typing import Any

import pytest

from tests.support import run_cli


def client(*argv: str, timeout: float = 60, env: dict[str, str] | None = None,
           prefix: list[str] | None = None) -> str:
    """The command line, then the client's output (skip when it is not installed).
    `prefix` runs it another way (setpriv as another user, `ip netns exec`)."""
    program = shutil.which(argv[0]) if argv[0] != sys.executable else argv[0]
    if program is None:
        pytest.skip(f"{argv[0]} is not installed")
    # No proxy variable: the clients must reach the loopback servers themselves.
    clean = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    proc = subprocess.run([*(prefix or []), program, *argv[1:]], capture_output=True, text=True,
                          timeout=timeout, env={**clean, **(env or {})}, stdin=subprocess.DEVNULL,
                          cwd="/tmp")
    shown = "python3" if argv[0] == sys.executable else argv[0]
    return f"$ {shlex.join([shown, *argv[1:]])}\n{proc.stdout}{proc.stderr}"


def ask(text: str) -> tuple[int, dict[str, Any]]:
    """The assistant in-process on `text`: exit code and JSON report (nothing on stderr)."""
    r = run_cli("--ask", text, "--json")
    assert r.err == "", r.err
    return r.code, r.json


def rules(rep: dict[str, Any]) -> list[str]:
    return [d["rule"] for d in rep["diagnoses"]]
