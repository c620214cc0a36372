"""An app server on a UNIX socket while the client dials a TCP port (field
trial 3, gunicorn-unix-bind-curl-tcp-8000): a real gunicorn started with
`--bind unix:PATH`, a real curl refused on 127.0.0.1, the assistant on curl's
words (as the user who runs both, and with gunicorn's own log in the paste),
and the printed `curl --unix-socket` fix run as printed."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import free_port, run_cli
from tests.unixsupport import ROOT, as_user, assistant_as, open_dir, run

WSGI = '''def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello from the socket\\n"]
'''


def ask(text: str) -> dict[str, Any]:
    r = run_cli("--ask", text, "--json")
    return r.json


def top(rep: dict[str, Any]) -> tuple[str, str]:
    d = rep["diagnoses"][0]
    return d["rule"], d["category"]


@pytest.fixture
def gunicorn_on_socket() -> Iterator[tuple[Path, str, list[str]]]:
    """gunicorn --bind unix:PATH, as nobody when run as root (so the user who
    asks runs it, as in the field), with the log it wrote."""
    pytest.importorskip("gunicorn")
    d = open_dir("gunisock-")
    (d / "wsgi.py").write_text(WSGI)
    prefix: list[str] = []
    if ROOT:
        os.chmod(d, 0o777)
        prefix = as_user()
    sock = str(d / "app.sock")
    log = d / "gunicorn.log"
    argv = [sys.executable, "-m", "gunicorn", "--bind", f"unix:{sock}", "--chdir", str(d),
            "--control-socket", str(d / "ctl"), "wsgi:app"]
    with open(log, "w") as out:
        proc = subprocess.Popen(prefix + argv, stdout=out, stderr=subprocess.STDOUT, cwd=d,
                                start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while "Listening at" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert "Listening at" in log.read_text(), log.read_text()
        yield d, sock, argv
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=30)
        shutil.rmtree(d, ignore_errors=True)


def test_gunicorn_on_a_socket_and_curl_on_tcp(gunicorn_on_socket: tuple[Path, str, list[str]]
                                              ) -> None:
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    d, sock, argv = gunicorn_on_socket
    port = free_port()
    cmd = ["curl", "-sS", f"http://127.0.0.1:{port}/"]
    _, out = run(cmd)
    assert "Failed to connect to 127.0.0.1 port" in out
    said = f"$ {shlex.join(cmd)}\n{out}"
    code, rep = assistant_as(said) if ROOT else (1, ask(said))
    assert code == 1 and top(rep) == ("unix.app_on_socket_not_port", "wrong-bind-address")
    assert sock in rep["diagnoses"][0]["summary"]
    assert "port.nothing_listening" not in [x["rule"] for x in rep["diagnoses"]]
    # The printed fix, pasted: the app answers through its socket.
    fix = next(f["command"] for f in rep["diagnoses"][0]["fix"] if f["os"] == "linux")
    shown = subprocess.run(["sh", "-c", fix], capture_output=True, text=True, timeout=30)
    assert shown.stdout == "hello from the socket\n", shown.stderr
    # gunicorn's own log and command in the paste (paste2): curl's TCP address
    # is what failed, not the socket gunicorn announces.
    logged = f"$ {shlex.join(argv)} &\n{(d / 'gunicorn.log').read_text()}{said}"
    rep = ask(logged)
    assert (rep["target"]["port"], rep["target"].get("path")) == (port, None)
    assert top(rep) == ("unix.app_on_socket_not_port", "wrong-bind-address")
