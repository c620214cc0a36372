"""Stopped servers, for real: PostgreSQL, sshd and nginx's upstream frozen with
SIGSTOP, and a pair of SO_REUSEPORT servers with one frozen. The real client
times out; the assistant runs as root (who sees the process state) and as an
ordinary user (who sees only the listener's accept queue, never "it was not
listening yet")."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests import realservers as rs
from tests.scenarios.clients import ask, client, rules
from tests.unixsupport import assistant_as, need_root

# An account that owns none of the servers: their processes are hidden from it.
STRANGER = 64000


@contextmanager
def stopped(pid: int) -> Iterator[None]:
    """SIGSTOP `pid` until the block ends (then SIGCONT, so it can be stopped)."""
    os.kill(pid, signal.SIGSTOP)
    try:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            with open(f"/proc/{pid}/stat") as fh:
                if fh.read().rsplit(")", 1)[1].split()[0] == "T":
                    break
            time.sleep(0.02)
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


def as_stranger(text: str) -> tuple[int, dict[str, Any]]:
    return assistant_as(text, uid=STRANGER, gid=STRANGER)


@pytest.mark.root
def test_stopped_postgres_psql_timeout() -> None:
    need_root()
    with rs.postgres("nobody") as pg, stopped(pg.pid):
        text = client("psql", "-h", "127.0.0.1", "-p", str(pg.port), "-U", "postgres", "-c",
                      "select 1", env={"PGCONNECT_TIMEOUT": "2"})
        assert "timeout expired" in text
        code, user = as_stranger(text)
        root_code, root = ask(text)
    # The ordinary user cannot see postgres's state; its unanswered queue says it.
    assert (code, user["diagnoses"][0]["category"]) == (1, "process-stopped")
    assert rules(user)[0] == "process.queue_unanswered", rules(user)
    assert "port.accepts_now" not in rules(user)
    assert "nobody" in user["diagnoses"][0]["summary"]
    queue = next(f for f in user["findings"] if f["check"] == "socket_states")
    assert "unanswered" in queue["summary"]
    # Root sees the process itself: stopped, with the pid to resume.
    assert (root_code, rules(root)[0]) == (1, "process.stopped")
    assert f"kill -CONT {pg.pid}" in [f["command"] for f in root["diagnoses"][0]["fix"]]
    assert "port.accepts_now" not in rules(root)
    assert "process.queue_unanswered" not in rules(root)


@pytest.mark.root
def test_nc_says_succeeded_to_a_stopped_postgres() -> None:
    """nc-zv-localhost-5432-postgres-sigstopped (field trials 4 and 5): nc's
    "succeeded" alone. The kernel completed the connect; the queue says
    nobody accepts it."""
    need_root()
    with rs.postgres("nobody") as pg, stopped(pg.pid):
        text = client("nc", "-zv", "localhost", str(pg.port))
        assert "succeeded" in text, text
        code, user = as_stranger(text)
        root_code, root = ask(text)
    assert (code, rules(user)[0]) == (1, "process.queue_unanswered"), rules(user)
    assert (root_code, rules(root)[0]) == (1, "process.stopped"), rules(root)
    for rep in (user, root):
        assert "port.reachable" not in rules(rep) and "port.reachable_service" not in rules(rep)


@pytest.mark.root
def test_stopped_sshd_banner_exchange_timeout() -> None:
    need_root()
    with rs.sshd() as sshd, stopped(sshd.pid):
        text = client("ssh", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o",
                      "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=3", "-p",
                      str(sshd.port), "127.0.0.1", "true")
        assert "banner exchange" in text
        code, user = as_stranger(text)
    assert code == 1
    assert rules(user)[0] == "process.queue_unanswered", rules(user)
    assert not {"port.accepts_now", "port.reachable_service"} & set(rules(user))
    assert user["questions"] == []


@pytest.mark.root
def test_stopped_upstream_behind_nginx_error_log() -> None:
    need_root()
    nginx = rs.need("nginx", "/usr/sbin/nginx")
    with rs.http_server() as app, rs.private_dir() as d, stopped(app.pid):
        front = rs.free_port()
        (d / "nginx.conf").write_text(rs.nginx_config(d, f"""
  server {{ listen 127.0.0.1:{front};
           location / {{ proxy_pass http://127.0.0.1:{app.port}; proxy_read_timeout 2s; }} }}"""))
        with rs.started(rs.nginx_argv(nginx, d), front, "nginx"):
            answer = client("curl", "-sS", "-i", f"http://127.0.0.1:{front}/")
            assert "504" in answer
            line = (d / "error.log").read_text().strip().splitlines()[-1]
        assert "upstream timed out" in line
        code, user = as_stranger(f"$ tail -n1 /var/log/nginx/error.log\n{line}")
        root_code, root = ask(line)
    assert user["target"]["port"] == app.port
    assert (code, rules(user)[0]) == (1, "process.queue_unanswered"), rules(user)
    assert "port.accepts_now" not in rules(user)
    assert (root_code, rules(root)[0]) == (1, "process.stopped")
    assert "port.accepts_now" not in rules(root)


REUSEPORT = textwrap.dedent("""
    import http.server, socket, sys
    class Server(http.server.ThreadingHTTPServer):
        def server_bind(self):
            self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            super().server_bind()
    srv = Server(("127.0.0.1", int(sys.argv[1])), http.server.SimpleHTTPRequestHandler)
    srv.socket.listen(5)
    print("ready", flush=True)
    srv.serve_forever()
""")


@pytest.fixture
def reuseport_pair(tmp_path: Path) -> Iterator[tuple[int, list[subprocess.Popen[str]]]]:
    port = rs.free_port()
    procs = []
    try:
        for _ in range(2):
            p = subprocess.Popen([sys.executable, "-c", REUSEPORT, str(port)], cwd=tmp_path,
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            procs.append(p)
            assert p.stdout is not None and p.stdout.readline().strip() == "ready"
        yield port, procs
    finally:
        for p in procs:
            os.kill(p.pid, signal.SIGCONT)
            p.kill()
            p.wait(5)


def fill(port: int, count: int = 12) -> list[socket.socket]:
    """Connections that wait: some land in the stopped server's queue (the
    healthy one gives each a thread), so the curl loop below meets it too."""
    held = []
    for _ in range(count):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
        held.append(s)
    time.sleep(0.2)
    return held


@pytest.mark.root
def test_reuseport_pair_with_one_stopped(reuseport_pair: tuple[int, list[Any]]) -> None:
    need_root()
    port, (healthy, frozen) = reuseport_pair
    with stopped(frozen.pid):
        held = fill(port)
        try:
            loop = [client("curl", "-sS", "-m", "2", "-o", "/dev/null", "-w", "%{http_code}\\n",
                           f"http://127.0.0.1:{port}/") for _ in range(6)]
            text = "\n".join(loop)
            assert "(28)" in text, text
            root_code, root = ask(text)
            code, user = as_stranger(text)
        finally:
            for s in held:
                s.close()
    assert (root_code, rules(root)[0]) == (1, "process.reuseport_one_stuck"), rules(root)
    top = root["diagnoses"][0]
    assert f"pid {frozen.pid}" in top["summary"] and f"pid {healthy.pid}" in top["summary"]
    assert top["summary"].index(f"pid {frozen.pid}") < top["summary"].index(f"pid {healthy.pid}")
    stopped_dx = next(d for d in root["diagnoses"] if d["rule"] == "process.stopped")
    assert f"kill -CONT {frozen.pid}" in [f["command"] for f in stopped_dx["fix"]]
    # The healthy copy is never blamed for the full queue.
    assert "process.not_accepting" not in rules(root)
    assert "port.accepts_now" not in rules(root)
    # An ordinary user sees both sockets (processes hidden) and which one is stuck.
    assert (code, rules(user)[0]) == (1, "process.reuseport_one_stuck"), rules(user)
    assert "2 sockets listen" in user["diagnoses"][0]["summary"]
    listeners = next(f for f in user["findings"] if f["check"] == "listeners")
    assert len(listeners["data"]["facts"]) == 2
