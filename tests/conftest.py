from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import SERVER, Server, start_server


@pytest.fixture
def server() -> Iterator[Any]:
    """Factory: start real servers on loopback; all are killed afterwards."""
    started: list[Server] = []

    def make(host: str = "127.0.0.1", port: int = 0, v6only: bool = True) -> Server:
        s = start_server(host, port, v6only)
        started.append(s)
        return s

    yield make
    for s in started:
        s.stop()


@pytest.fixture
def named_server(tmp_path: Path) -> Iterator[Any]:
    """Start a loopback server whose process has a given name (a symlink to
    the interpreter: the kernel names a process after the file it ran)."""
    procs: list[subprocess.Popen[str]] = []

    def start(name: str, *args: str) -> int:
        exe = tmp_path / name
        if not exe.exists():
            exe.symlink_to(sys.executable)
        proc = subprocess.Popen([str(exe), "-c", SERVER, "127.0.0.1", "0", "4", "1", *args],
                                stdout=subprocess.PIPE, text=True)
        procs.append(proc)
        assert proc.stdout is not None
        return int(proc.stdout.readline())

    yield start
    for p in procs:
        p.kill()
        p.wait(5)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: Any) -> Any:
    """In CI (ASSISTANT_REQUIRE_ROOT_TESTS=1) a skipped root test is a failure."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and item.get_closest_marker("root") and \
            os.environ.get("ASSISTANT_REQUIRE_ROOT_TESTS") == "1":
        report.outcome = "failed"
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.longrepr = f"root test skipped where it must run: {reason}"
