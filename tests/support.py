"""Test helpers: real servers on loopback, and running the CLI."""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.cli import Env, main

# A tiny server: bind, listen, print the port, accept and close forever.
SERVER = textwrap.dedent("""
    import socket, sys
    host, port, family, v6only = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4] == "1"
    fam = socket.AF_INET6 if family == "6" else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if fam == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1 if v6only else 0)
    s.bind((host, port))
    s.listen(64)
    print(s.getsockname()[1], flush=True)
    while True:
        c, _ = s.accept()
        c.close()
""")


@dataclass
class Server:
    proc: subprocess.Popen[str]
    port: int
    host: str

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGCONT)
            self.proc.kill()
            self.proc.wait(5)


def start_server(host: str = "127.0.0.1", port: int = 0, v6only: bool = True) -> Server:
    family = "6" if ":" in host else "4"
    proc = subprocess.Popen([sys.executable, "-c", SERVER, host, str(port), family,
                             "1" if v6only else "0"], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.strip():
        proc.kill()
        raise RuntimeError(f"server on {host}:{port} did not start")
    return Server(proc, int(line), host)


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on right now (bound and released at once)."""
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(fam) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def port_taken(port: int) -> bool:
    """Something holds `port` on 127.0.0.1 (or the port cannot be bound)."""
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def free_port_without_neighbours() -> int:
    """A free port whose near misses (±10, digit slips) also have no listener."""
    import psutil

    listening = {c.laddr.port for c in psutil.net_connections("tcp") if c.status == "LISTEN"}
    from assistant.facts.near import near_relation

    for _ in range(200):
        p = free_port()
        if not any(near_relation(p, q) for q in listening):
            return p
    raise RuntimeError("no quiet port found")


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def json(self) -> dict[str, Any]:
        return json.loads(self.out)  # type: ignore[no-any-return]


def run_cli(*argv: str, stdin: str = "", environ: dict[str, str] | None = None,
            cwd: Path | None = None) -> Result:
    """Run the CLI in-process with captured streams."""
    out, err = io.StringIO(), io.StringIO()
    env = Env(stdin=io.StringIO(stdin), stdout=out, stderr=err,
              environ=environ if environ is not None else {"PATH": os.environ.get("PATH", "")},
              cwd=cwd)
    code = main(list(argv), env)
    return Result(code, out.getvalue(), err.getvalue())


def console_script() -> Path:
    """The installed `assistant` next to this interpreter."""
    path = Path(sys.executable).parent / "assistant"
    if not path.exists():
        raise RuntimeError(f"console script not installed at {path}")
    return path


def run_script(*argv: str, env: dict[str, str] | None = None, timeout: float = 60,
               stdin: str | None = None, wrapper: list[str] | None = None,
               cwd: Path | None = None) -> Result:
    """Run the installed console script as a user would (`wrapper`, e.g. setpriv,
    runs it as another user; its HOME and cache are then /tmp)."""
    e = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp"),
         "NO_COLOR": "1"}
    if wrapper:
        e.update(HOME="/tmp", ASSISTANT_CACHE_DIR=f"/tmp/assistant-cache-{os.getpid()}-w")
    e.update(env or {})
    proc = subprocess.run([*(wrapper or []), str(console_script()), *argv], capture_output=True,
                          text=True, timeout=timeout, env=e, cwd=cwd,
                          input=stdin if stdin is not None else "")
    return Result(proc.returncode, proc.stdout, proc.stderr)
