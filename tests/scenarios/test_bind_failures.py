"""Bind failures, judged from the server's side, with real servers, real
error text and the real socket table."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import free_port, run_cli, run_script

NOBODY = ["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups"]
root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run servers as another user")


def output(argv: list[str], timeout: float = 20) -> str:
    p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    return p.stdout + p.stderr


def ask(text: str, *extra: str) -> dict:
    r = run_cli("--ask", text, "--json", *extra)
    assert "Traceback" not in r.err, r.err
    return r.json | {"exit": r.code}


@pytest.fixture
def procs() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for p in started:
        p.kill()
        p.wait(5)


def holder(procs: list, argv: list[str], port: int) -> subprocess.Popen[str]:
    """Start a process that holds `port`; wait until it is in the table."""
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    procs.append(p)
    deadline = time.time() + 10
    while time.time() < deadline:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                return p
        time.sleep(0.05)
    raise RuntimeError(f"{argv} did not take port {port}")


@root
@pytest.mark.root
def test_privileged_port_for_a_server_run_as_a_user_while_the_check_runs_as_root() -> None:
    cmd = [*NOBODY, sys.executable, "-m", "http.server", "--bind", "127.0.0.1", "80"]
    text = "$ python3 -m http.server --bind 127.0.0.1 80\n" + output(cmd)
    assert "Permission denied" in text
    rep = ask(text)
    top = rep["diagnoses"][0]
    assert (rep["exit"], top["rule"], top["category"]) == (1, "bind.privileged_port",
                                                           "privileged-port")
    assert rep["target"]["port"] == 80
    assert [q for q in rep["questions"] if q["id"] == "host"] == []


@root
@pytest.mark.root
def test_privileged_port_from_node_as_a_user() -> None:
    if not any(os.access(os.path.join(d, "node"), os.X_OK) for d in os.environ["PATH"].split(":")):
        pytest.skip("node is not installed")
    text = output([*NOBODY, "node", "-e", "require('http').createServer().listen(80, '127.0.0.1')"])
    assert "EACCES" in text
    rep = ask(text)
    assert rep["diagnoses"][0]["rule"] == "bind.privileged_port"


def test_time_wait_left_by_the_previous_run(tmp_path: Path) -> None:
    """A server that closes connections first, restarted without SO_REUSEADDR."""
    port = free_port()
    server = tmp_path / "srv.py"
    server.write_text(textwrap.dedent(f"""
        import socket, sys
        s = socket.socket()
        s.bind(("127.0.0.1", {port}))
        s.listen(8)
        if sys.argv[1:] == ["serve"]:
            for _ in range(3):
                c, _ = s.accept()
                c.close()
    """))
    first = subprocess.Popen([sys.executable, str(server), "serve"])
    for _ in range(3):
        for _ in range(100):
            try:
                c = socket.create_connection(("127.0.0.1", port), timeout=1)
                break
            except OSError:
                time.sleep(0.05)
        c.recv(1)  # the server closes first: its end waits in TIME_WAIT
        c.close()
    first.wait(10)
    text = f"$ python3 srv.py {port}\n" + output([sys.executable, str(server)])
    assert "Address already in use" in text
    rep = ask(text)
    top = rep["diagnoses"][0]
    assert (top["rule"], top["category"]) == ("bind.time_wait", "port-conflict")
    assert "TIME_WAIT" in top["summary"] and "time-wait" in top["kb"]


def kernel_at_least(major: int, minor: int) -> bool:
    release = os.uname().release.split("-")[0].split(".")
    return (int(release[0]), int(release[1])) >= (major, minor)


@pytest.mark.skipif(not kernel_at_least(6, 7), reason="Linux before 6.7 does not report "
                    "sockets bound without listening")
def test_a_socket_bound_without_listening_holds_the_port(procs: list) -> None:
    port = free_port()
    p = holder(procs, [sys.executable, "-c", "import socket,time; s=socket.socket(); "
                       f"s.bind(('127.0.0.1', {port})); time.sleep(60)"], port)
    code = f"import socket; s=socket.socket(); s.bind(('127.0.0.1', {port})); s.listen()"
    text = f'$ python3 -c "{code}"\n' + output([sys.executable, "-c", code])
    rep = ask(text)
    states = next(f for f in rep["findings"] if f["check"] == "socket_states")
    assert "bound without listening" in states["summary"], states
    top = rep["diagnoses"][0]
    assert (top["rule"], top["category"]) == ("bind.bound_not_listening", "port-conflict")
    assert str(p.pid) in top["summary"]


def test_your_own_copy_is_offered_a_kill_with_its_pid(procs: list) -> None:
    port = free_port()
    first = holder(procs, [sys.executable, "-m", "http.server", "--bind", "127.0.0.1",
                           str(port)], port)
    text = f"$ python3 -m http.server --bind 127.0.0.1 {port}\n" + output(
        [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port)])
    rep = ask(text)
    top = rep["diagnoses"][0]
    assert top["rule"] == "bind.stop_own_copy", rep["diagnoses"]
    assert f"kill {first.pid}" in [f["command"] for f in top["fix"]]


@root
@pytest.mark.root
def test_another_users_server_is_named_and_never_offered_a_kill(procs: list) -> None:
    """nobody's server holds the port; the failing server and the check run as
    a third user (uid 65533), who sees the socket's owner, not its process."""
    port = free_port()
    holder(procs, [*NOBODY, sys.executable, "-m", "http.server", "--bind", "127.0.0.1",
                   str(port)], port)
    me = ["setpriv", "--reuid", "65533", "--regid", "65533", "--clear-groups"]
    text = output([*me, sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port)])
    assert "Address already in use" in text
    r = run_script("--ask", f"$ python3 -m http.server --bind 127.0.0.1 {port}\n{text}", "--json",
                   wrapper=me)
    assert r.code == 1, r.err
    top = r.json["diagnoses"][0]
    assert (top["rule"], top["category"]) == ("bind.other_users_process", "port-conflict")
    assert "nobody" in top["summary"]
    assert not any("kill" in f["command"] for d in r.json["diagnoses"] for f in d["fix"])
    assert any(f["command"].startswith("sudo ss -ltnp") for f in top["fix"])


def test_a_port_out_of_range_from_the_server_command() -> None:
    text = output([sys.executable, "-c", "import socket; s=socket.socket(); "
                   "s.bind(('127.0.0.1', 70000))"])
    assert "OverflowError" in text
    rep = ask('$ python3 -c "import socket; s=socket.socket(); s.bind((\\"127.0.0.1\\", 70000))"\n'
              + text)
    assert [d["rule"] for d in rep["diagnoses"]] == ["port.out_of_range"]
    assert rep["exit"] == 1 and "4464" in rep["diagnoses"][0]["evidence"][0]


def test_flask_told_to_listen_on_an_address_this_machine_lacks(tmp_path: Path) -> None:
    """bind-flask-run-host-192.168.1.50-eaddrnotavail (field trial 5): Flask
    says only "Cannot assign requested address". Run in a private network
    namespace, as the trial did (TEST-NET's 192.0.2.10 is nobody's)."""
    if os.geteuid() != 0:
        pytest.skip("needs root for a private network namespace (unshare -n)")
    if subprocess.run([sys.executable, "-c", "import flask"], capture_output=True).returncode:
        pytest.skip("python3 without flask")
    (tmp_path / "app.py").write_text("from flask import Flask\napp = Flask(__name__)\n")
    run = (f"cd {tmp_path} && {sys.executable} -m flask --app app run --host 192.0.2.10 "
           "--port 7230")
    said = output(["unshare", "-n", "sh", "-c", "ip link set lo up; " + run])
    assert "Cannot assign requested address" in said, said
    alone = ask(said)
    assert alone["diagnoses"][0]["rule"] == "bind.address_not_here_said", alone["diagnoses"]
    pasted = ask(f"$ flask --app app run --host 192.0.2.10 --port 7230\n{said}")
    assert pasted["diagnoses"][0]["rule"] == "bind.address_not_here", pasted["diagnoses"]
    assert "192.0.2.10 is not an address of this machine" in pasted["diagnoses"][0]["summary"]
