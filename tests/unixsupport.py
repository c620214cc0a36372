"""Helpers for the UNIX-socket scenarios: real servers on sockets in private
directories, real clients run as another user, the assistant run as one."""

from __future__ import annotations

import glob
import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support import console_script

NOBODY = 65534
ROOT = hasattr(os, "geteuid") and os.geteuid() == 0

# A UNIX stream server: bind, set owner and mode, listen, say so, accept and close.
UNIX_SERVER = textwrap.dedent("""
    import grp, os, pwd, socket, sys
    path, mode = sys.argv[1], int(sys.argv[2], 8)
    if os.path.lexists(path):
        os.unlink(path)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    if len(sys.argv) > 3:
        user, group = sys.argv[3].split(":")
        os.chown(path, pwd.getpwnam(user).pw_uid, grp.getgrnam(group).gr_gid)
    os.chmod(path, mode)
    s.listen(16)
    print("ready", flush=True)
    while True:
        c, _ = s.accept()
        c.close()
""")


def need(*tools: str) -> None:
    for tool in tools:
        if shutil.which(tool) is None and not os.path.exists(tool):
            pytest.skip(f"{tool} is not installed on this machine")


def need_root() -> None:
    if not ROOT:
        pytest.skip("needs root (another user's socket, a client run as another user)")


def open_dir(prefix: str) -> Path:
    """A private directory under /tmp that other users may enter (mode 0755):
    pytest's tmp_path is 0700 and would deny them before any socket does."""
    d = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    d.chmod(0o755)
    return d


@dataclass
class UnixServer:
    proc: subprocess.Popen[str]
    path: str

    @property
    def pid(self) -> int:
        return self.proc.pid

    def kill(self) -> None:
        """SIGKILL: the socket file stays behind, as after a crash."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)


def start_unix_server(path: str, mode: int = 0o666, owner: str | None = None) -> UnixServer:
    argv = [sys.executable, "-c", UNIX_SERVER, path, f"{mode:o}"] + ([owner] if owner else [])
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    if proc.stdout.readline().strip() != "ready":
        proc.kill()
        raise RuntimeError(f"UNIX server on {path} did not start")
    return UnixServer(proc, path)


def as_user(uid: int = NOBODY, gid: int = NOBODY, home: str = "/tmp") -> list[str]:
    """argv prefix: run as that user with no supplementary groups (root only)."""
    return ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", "env",
            f"HOME={home}"]


def run(argv: list[str], env: dict[str, str] | None = None, timeout: float = 60,
        cwd: str | None = None) -> tuple[int, str]:
    """A real client: its exit code and everything it printed."""
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, cwd=cwd or "/tmp",
                          env={**os.environ, **(env or {})})
    return proc.returncode, proc.stdout + proc.stderr


def assistant_as(text: str, uid: int = NOBODY, gid: int = NOBODY,
                 prefix: list[str] | None = None) -> tuple[int, dict[str, Any]]:
    """The installed console script run as another user, in `--json`."""
    home = open_dir("asst-home-")
    os.chown(home, uid, gid)
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(home), "NO_COLOR": "1"}
    argv = (prefix or []) + as_user(uid, gid, str(home)) + [
        f"PATH={env['PATH']}", str(console_script()), "--ask", text, "--json"]
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=90, env=env, cwd="/tmp")
        assert proc.stdout, proc.stderr
        return proc.returncode, json.loads(proc.stdout)
    finally:
        shutil.rmtree(home, ignore_errors=True)


def top(report: dict[str, Any]) -> tuple[str, str]:
    d = report["diagnoses"][0]
    return d["rule"], d["category"]


def user_ids(name: str) -> tuple[int, int]:
    pw = pwd.getpwnam(name)
    return pw.pw_uid, pw.pw_gid


def wait_for(path: str, seconds: float = 30.0) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if os.path.exists(path):
            return True
        time.sleep(0.1)
    return False


def wait_listening(path: str, seconds: float = 30.0) -> bool:
    """Until a connect to `path` succeeds (a stale file is there before)."""
    import socket

    end = time.monotonic() + seconds
    while time.monotonic() < end:
        with socket.socket(socket.AF_UNIX) as s:
            try:
                s.connect(path)
                return True
            except OSError:
                time.sleep(0.1)
    return False


def listening_sockets(pattern: str) -> list[str]:
    """Listening UNIX sockets whose path matches `pattern` (glob), machine-wide:
    other servers of a service make "not running" a different diagnosis."""
    from assistant.facts.system.unix import table

    rows = table() or []
    import fnmatch

    return [r.path for r in rows if r.listening and fnmatch.fnmatch(r.path, pattern)]


def binary(*patterns: str) -> str:
    """The first existing file among glob patterns (versioned server paths)."""
    for p in patterns:
        found = sorted(glob.glob(p), reverse=True)
        if found:
            return found[0]
    pytest.skip(f"none of {', '.join(patterns)} is installed")
    raise AssertionError  # unreachable: skip raises


@contextmanager
def killing(proc: subprocess.Popen[Any]) -> Iterator[subprocess.Popen[Any]]:
    """Kill the process group of `proc` (started with start_new_session) at the end."""
    try:
        yield proc
    finally:
        if proc.poll() is None:
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
