"""The Linux fixes the assistant prints, pasted into a shell and run for real.

Each scenario makes the situation in a private network namespace (only `lo`,
fixed ports, a decoy listener on a port that contains the asked one), asks
the installed assistant, takes the Linux commands of its first diagnosis,
runs them with bash as printed, and checks what they show or change. `sudo`
is a shim that runs its arguments (the tests run as root, where that is
what sudo does); another user is `setpriv` to an unprivileged uid.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import SERVER, console_script

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0,
                       reason="needs root for network namespaces (unshare -n) and setpriv"),
    pytest.mark.skipif(any(shutil.which(t) is None for t in ("unshare", "setpriv", "ss", "ip")),
                       reason="needs unshare, setpriv (util-linux), ss and ip (iproute2)"),
]

NOBODY = 65534
OTHER = 65533  # a second unprivileged uid: "you", looking at nobody's server

# Runs inside the namespace: helpers for the scenarios below.
PRELUDE = textwrap.dedent("""
    import atexit, json, os, socket, subprocess, sys, time
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    PROCS = []
    # Servers left running would hold the test's output pipes open.
    atexit.register(lambda: [p.kill() for p in PROCS if p.poll() is None])
    SERVER, ASSISTANT, SHIM = sys.argv[1], sys.argv[2], sys.argv[3]
    ENV = {**os.environ, "PATH": SHIM + ":" + os.environ["PATH"], "NO_COLOR": "1"}

    def serve(port, user=None, host="127.0.0.1"):
        pre = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups"] if user else []
        p = subprocess.Popen(pre + [sys.executable, SERVER, host, str(port), "4", "1"],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        PROCS.append(p)
        assert p.stdout.readline().strip() == str(port)
        return p

    def ask(text):
        r = subprocess.run([ASSISTANT, "--ask", text, "--json"], capture_output=True,
                           text=True, env=ENV, timeout=60)
        return json.loads(r.stdout)

    def linux_fixes(report):
        return [f["command"] for f in report["diagnoses"][0]["fix"] if f["os"] == "linux"]

    def paste(command, user=None):
        pre = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups"] if user else []
        r = subprocess.run(pre + ["bash", "-c", command], capture_output=True, text=True,
                           env=ENV, timeout=30)
        return r.returncode, r.stdout + r.stderr

    def can_bind(port):
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False
        finally:
            s.close()
""")


@pytest.fixture
def tmp_path() -> Iterator[Path]:
    """A directory the unprivileged users may read (pytest's own is root's, 0700)."""
    path = Path(tempfile.mkdtemp(prefix="advice-live-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def in_namespace(tmp_path: Path, body: str) -> dict[str, Any]:
    """Run PRELUDE + body (Python) in a fresh network namespace; the body
    prints one JSON object, returned here."""
    server = tmp_path / "server.py"
    server.write_text(SERVER)
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "sudo").write_text('#!/bin/sh\nexec "$@"\n')
    (shim / "sudo").chmod(0o755)
    for p in (tmp_path, server, shim):  # the unprivileged users run the server and the shim
        p.chmod(p.stat().st_mode | 0o755)
    script = PRELUDE + textwrap.dedent(body)
    proc = subprocess.run(["unshare", "-n", sys.executable, "-c", script, str(server),
                           str(console_script()), str(shim)],
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_own_stale_copy_is_freed_by_the_printed_kill(tmp_path: Path) -> None:
    out = in_namespace(tmp_path, """
        old, decoy = serve(3000), serve(30000)
        rep = ask("Error: listen EADDRINUSE: address already in use 127.0.0.1:3000")
        kill = [c for c in linux_fixes(rep) if c.startswith("kill ")]
        before = can_bind(3000)
        code, _ = paste(kill[0])
        old.wait(5)
        print(json.dumps({"top": rep["diagnoses"][0]["rule"], "kill": kill, "pid": old.pid,
                          "before": before, "after": can_bind(3000), "code": code,
                          "decoy": decoy.poll() is None}))
    """)
    assert out["top"] == "bind.stop_own_copy" and out["kill"] == [f"kill {out['pid']}"]
    assert (out["before"], out["code"], out["after"]) == (False, 0, True)
    assert out["decoy"]  # the listener on 30000 was not touched


def test_another_users_holder_is_shown_only_with_the_printed_sudo(tmp_path: Path) -> None:
    out = in_namespace(tmp_path, f"""
        theirs, decoy = serve(3000, user={NOBODY}), serve(30000, user={NOBODY})
        rep = ask("Error: listen EADDRINUSE: address already in use 127.0.0.1:3000")
        ss = [c for c in linux_fixes(rep) if "ss " in c][0]
        _, with_sudo = paste(ss)
        _, without = paste(ss.removeprefix("sudo "), user={OTHER})
        print(json.dumps({{"top": rep["diagnoses"][0]["rule"], "summary":
                          rep["diagnoses"][0]["summary"], "ss": ss, "pid": theirs.pid,
                          "with": with_sudo, "without": without}}))
    """)
    assert out["top"] == "bind.other_users_process" and "user nobody" in out["summary"]
    assert out["ss"] == "sudo ss -ltnp 'sport = :3000'"
    assert f"pid={out['pid']}," in out["with"] and "127.0.0.1:3000 " in out["with"]
    assert ":30000" not in out["with"]  # the filter is exact
    assert "pid=" not in out["without"]  # why the printed command says sudo


def test_nothing_listening_confirm_shows_nothing_beside_a_longer_port(tmp_path: Path) -> None:
    out = in_namespace(tmp_path, """
        decoy = serve(43001)  # holds "3000" in its digits, and is no near miss of it
        rep = ask("curl: (7) Failed to connect to 127.0.0.1 port 3000 after 0 ms: "
                  "Couldn't connect to server")
        ss = [c for c in linux_fixes(rep) if "ss " in c][0]
        code, shown = paste(ss)
        print(json.dumps({"top": rep["diagnoses"][0]["rule"], "ss": ss, "shown": shown,
                          "code": code}))
    """)
    assert out["top"] == "port.nothing_listening" and out["ss"] == "ss -ltn 'sport = :3000'"
    assert out["code"] == 0 and out["shown"].splitlines()[0].startswith("State")
    assert len(out["shown"].splitlines()) == 1  # the header only: 43001 is not 3000


def test_time_wait_confirm_shows_the_previous_runs_sockets(tmp_path: Path) -> None:
    out = in_namespace(tmp_path, """
        s = socket.socket(); s.bind(("127.0.0.1", 3000)); s.listen()
        c = socket.create_connection(("127.0.0.1", 3000)); a, _ = s.accept()
        a.close(); time.sleep(0.2); c.close(); s.close()  # the server side closed first
        rep = ask("Error: listen EADDRINUSE: address already in use 127.0.0.1:3000")
        ss = [c for c in linux_fixes(rep) if "ss " in c][0]
        _, shown = paste(ss)
        print(json.dumps({"top": rep["diagnoses"][0]["rule"], "ss": ss, "shown": shown}))
    """)
    assert out["top"] == "bind.time_wait" and out["ss"] == "ss -tan 'sport = :3000'"
    rows = out["shown"].splitlines()[1:]
    assert rows and all(r.startswith("TIME-WAIT") and "127.0.0.1:3000 " in r for r in rows)


def test_a_stopped_server_answers_after_the_printed_kill_cont(tmp_path: Path) -> None:
    out = in_namespace(tmp_path, """
        srv = serve(3000)
        os.kill(srv.pid, 19)  # SIGSTOP, as Ctrl-Z does
        rep = ask("curl: (28) Operation timed out after 5001 milliseconds with 0 bytes "
                  "received, http://127.0.0.1:3000/")
        fixes = linux_fixes(rep)
        _, before = paste(fixes[1])
        code, _ = paste(fixes[0])
        _, after = paste(fixes[1])
        c = socket.create_connection(("127.0.0.1", 3000), timeout=5)
        answered = c.recv(1) == b""  # the server accepted and closed it
        print(json.dumps({"top": rep["diagnoses"][0]["rule"], "fixes": fixes, "pid": srv.pid,
                          "before": before, "after": after, "code": code,
                          "answered": answered}))
    """)
    pid = out["pid"]
    assert out["top"] == "process.stopped"
    assert out["fixes"][:2] == [f"kill -CONT {pid}", f"ps -o pid,stat,cmd -p {pid}"]
    assert f"{pid} T" in " ".join(out["before"].split()) and out["code"] == 0
    assert f"{pid} S" in " ".join(out["after"].split()) and out["answered"]


@pytest.mark.skipif(shutil.which("setcap") is None or shutil.which("getcap") is None,
                    reason="needs setcap and getcap (libcap2-bin)")
def test_setcap_on_the_resolved_binary_lets_it_bind_port_80(tmp_path: Path) -> None:
    """The printed setcap resolves the symlink (setcap refuses symlinks); the
    binary then binds port 80 as an unprivileged user, and only that file."""
    real = Path(os.path.realpath(sys.executable))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shutil.copy2(real, bin_dir / "devserver-real")
    (bin_dir / "devserver").symlink_to(bin_dir / "devserver-real")
    bin_dir.chmod(0o755)
    out = in_namespace(tmp_path, f"""
        ENV["PATH"] = {str(bin_dir)!r} + ":" + ENV["PATH"]
        rep = ask("Error: listen EACCES: permission denied 127.0.0.1:80")
        setcap = [c for c in linux_fixes(rep) if "setcap" in c][0]
        bind80 = "devserver -c 'import socket; socket.socket().bind((\\"127.0.0.1\\", 80))'"
        before, _ = paste(bind80, user={NOBODY})
        on_link, said = paste("setcap cap_net_bind_service=+ep {bin_dir}/devserver")
        code, _ = paste(setcap.replace("SERVER", "devserver"))
        after, _ = paste(bind80, user={NOBODY})
        print(json.dumps({{"top": rep["diagnoses"][0]["rule"], "setcap": setcap,
                          "before": before, "after": after, "code": code, "on_link": on_link,
                          "said": said}}))
    """)
    assert out["top"] == "bind.privileged_port"
    assert out["setcap"] == ("sudo setcap 'cap_net_bind_service=+ep' "
                             "\"$(readlink -f \"$(command -v SERVER)\")\"")
    assert out["on_link"] != 0 and "Invalid file" in out["said"]  # why readlink -f
    assert (out["before"], out["code"], out["after"]) == (1, 0, 0)
    assert subprocess.run(["getcap", str(real)], capture_output=True, text=True).stdout == ""
