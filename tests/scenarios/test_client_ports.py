"""A client with no local port left (field trial 4,
python-requests-ephemeral-ports-exhausted-eaddrnotavail), built for real in a
private network namespace: its ephemeral range narrowed to two ports, both
held by open connections to a server on 127.0.0.1, then a real Python client
gets EADDRNOTAVAIL. It is not a firewall (what the assistant said before)."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import console_script

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(shutil.which("unshare") is None or shutil.which("ip") is None,
                       reason="needs unshare (util-linux) and ip (iproute2)"),
]

HOLD = ("import socket, sys, time; "
        "s = [socket.create_connection(('127.0.0.1', 8000)) for _ in range(2)]; "
        "print('held', flush=True); time.sleep(60)")
CLIENT = "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/')"
READY = "import socket; socket.create_connection(('127.0.0.1', 8000)).close()"
# The report's first Linux command (the confirm line).
PICK = ("import json; r = json.load(open('report.json')); "
        "print([f['command'] for f in r['diagnoses'][0]['fix'] if f['os'] == 'linux'][0])")


def test_no_local_port_left(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root for a private network namespace")
    py = shlex.quote(sys.executable)
    typed = shlex.quote("$ python3 -c " + shlex.quote(CLIENT))  # the paste shows the command
    script = f"""set -e
ip link set lo up
sysctl -qw net.ipv4.ip_local_port_range="40000 40001"
{py} -m http.server 8000 --bind 127.0.0.1 >/dev/null 2>&1 &
SERVER=$!
for i in $(seq 50); do {py} -c {shlex.quote(READY)} 2>/dev/null && break; sleep 0.1; done
sleep 1.5   # the readiness connects' ports out of TIME_WAIT reach (tw_reuse after 1 s)
{py} -c {shlex.quote(HOLD)} > held.txt &
HOLDER=$!
while ! grep -q held held.txt; do sleep 0.1; done
{{ echo {typed}; {py} -c {shlex.quote(CLIENT)} 2>&1 | tail -1; }} > out.txt || true
{console_script()} --ask "$(cat out.txt)" --json > report.json || true
FIX=$({py} -c {shlex.quote(PICK)})
sh -c "$FIX" > confirm.txt 2>&1 || true
kill $HOLDER $SERVER
"""
    proc = subprocess.run(["unshare", "-n", "sh", "-c", script], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path, env={**os.environ, "NO_COLOR": "1"})
    assert proc.returncode == 0, proc.stderr
    said = (tmp_path / "out.txt").read_text()
    assert "Cannot assign requested address" in said, said
    rep = json.loads((tmp_path / "report.json").read_text())
    top = rep["diagnoses"][0]
    assert (top["rule"], top["category"]) == ("client.no_local_port", "client-ports-exhausted")
    assert "40000-40001" in top["summary"]
    assert not [d for d in rep["diagnoses"] if d["category"] == "firewall"]
    # The printed confirm command, pasted: the two open connections.
    assert "2 ESTAB" in (tmp_path / "confirm.txt").read_text()
