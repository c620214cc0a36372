"""Servers that are not where the client or the server itself looks, built for
real in private network namespaces: a server told to listen on ::1 where IPv6
is off, and a server running in another network namespace (what a container
without a published port looks like from the host)."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support import console_script, run_cli
from tests.unixsupport import assistant_as, need_root

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(shutil.which("unshare") is None or shutil.which("ip") is None,
                       reason="needs unshare (util-linux) and ip (iproute2)"),
]

NOBODY = "setpriv --reuid=65534 --regid=65534 --clear-groups"


def rules(rep: dict[str, Any]) -> list[str]:
    return [d["rule"] for d in rep["diagnoses"]]


def in_private_net(script: str, tmp_path: Path) -> str:
    proc = subprocess.run(["unshare", "-n", "sh", "-c", "set -e\nip link set lo up\n" + script],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path,
                          env={**os.environ, "NO_COLOR": "1", "HOME": str(tmp_path)})
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.stdout


def test_node_told_to_listen_on_ipv6_loopback_with_ipv6_off(tmp_path: Path) -> None:
    """ipv6-disabled-node-listen-eaddrnotavail, in a namespace whose IPv6 is off."""
    need_root()
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    tmp_path.chmod(0o777)
    server = ("require('http').createServer((q, s) => s.end('ok'))"
              ".listen(3000, process.env.HOST, () => console.log('listening'))")
    script = f"""
sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.lo.disable_ipv6=1
{{ echo '$ HOST=::1 npm start'; HOST=::1 {NOBODY} {node} -e {shlex.quote(server)} 2>&1 || true; }} > out.txt
cat out.txt > /dev/stderr
{NOBODY} env HOME={tmp_path} {console_script()} --ask "$(cat out.txt)" --json > user.json || true
{console_script()} --ask "$(cat out.txt)" --json || true
"""
    out = in_private_net(script, tmp_path)
    text = (tmp_path / "out.txt").read_text()
    assert "listen EADDRNOTAVAIL" in text and "::1" in text
    root = json.loads(out)
    user = json.loads((tmp_path / "user.json").read_text())
    for rep in (root, user):
        assert rep["target"]["port"] == 3000 and rep["target"]["host"] == "::1"
        top = rep["diagnoses"][0]
        assert (top["rule"], top["category"]) == ("bind.ipv6_off", "address-family-mismatch")
        assert "IPv6 is turned off" in top["summary"]
        assert "port.nothing_listening" not in rules(rep)
        assert any("127.0.0.1" in f["command"] for f in top["fix"])
    # The printed fix, run as printed (root here, so without sudo), lets it start.
    fix = next(f["command"] for f in root["diagnoses"][0]["fix"]
               if f["command"].startswith("sudo sysctl -w"))
    started = in_private_net(f"""
sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.lo.disable_ipv6=1
{fix.removeprefix("sudo ")} > /dev/null
sleep 1
HOST=::1 timeout 3 {node} -e {shlex.quote(server)} || true
""", tmp_path)
    assert "listening" in started


def test_a_client_in_a_namespace_whose_loopback_is_down(tmp_path: Path) -> None:
    """Field trial 3, python-urllib-in-unshare-n-lo-down: `unshare -n` leaves
    lo down; the connect fails as unreachable before any server is asked,
    which is not 'nothing listens'. The printed fix, run there, lets a server
    on 127.0.0.1 answer."""
    need_root()
    tmp_path.chmod(0o777)
    client = ("import urllib.request; "
              "print(urllib.request.urlopen('http://127.0.0.1:8000/health').status)")
    typed = shlex.quote("$ python3 -c " + shlex.quote(client))  # the paste shows the command
    run_client = f"{NOBODY} {sys.executable} -c {shlex.quote(client)}"
    script = f"""
{{ echo {typed}; {run_client} 2>&1 || true; }} > out.txt
{NOBODY} env HOME={tmp_path} {console_script()} --ask "$(cat out.txt)" --json > user.json || true
"""
    proc = subprocess.run(["unshare", "-n", "sh", "-c", script], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path, env={**os.environ, "HOME": str(tmp_path)})
    assert "Traceback" not in proc.stderr, proc.stderr
    assert "Network is unreachable" in (tmp_path / "out.txt").read_text()
    rep = json.loads((tmp_path / "user.json").read_text())
    top = rep["diagnoses"][0]
    assert (top["rule"], top["category"]) == ("loopback.down", "loopback-interface")
    assert "port.nothing_listening" not in rules(rep)
    fix = next(f["command"] for f in top["fix"] if f["command"].startswith("sudo ip link set"))
    served = subprocess.run(
        ["unshare", "-n", "sh", "-c", f"""{fix.removeprefix("sudo ")}
{sys.executable} -m http.server 8000 --bind 127.0.0.1 >/dev/null 2>&1 & sleep 1
{sys.executable} -c "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:8000/').status)"
kill $!"""], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert served.stdout.strip() == "200", served.stderr


def in_other_namespace(argv: list[str], env: dict[str, str] | None = None,
                       ) -> subprocess.Popen[bytes]:
    """A process in a private network namespace of its own (lo up), like a
    container's; its pid is the server's (sh execs it)."""
    return subprocess.Popen(["unshare", "-n", "sh", "-c", 'ip link set lo up && exec "$@"', "sh",
                             *argv], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, **(env or {})}, cwd="/tmp")


def listening_in(pid: int, port: int) -> bool:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/net/tcp") as fh:
                if f":{port:04X} 00000000:0000 0A" in fh.read():
                    return True
        except OSError:
            pass
        time.sleep(0.05)
    return False


def curl_refused(port: int) -> str:
    from tests.scenarios.clients import client

    text = client("curl", "-sS", f"http://127.0.0.1:{port}/")
    assert "(7)" in text, text
    return text


def test_server_in_another_network_namespace() -> None:
    """server-in-other-netns-curl-from-host: python's http.server in a namespace
    of its own; curl from this one is refused."""
    need_root()
    from tests.support import free_port_without_neighbours

    port = free_port_without_neighbours()
    server = in_other_namespace([sys.executable, "-m", "http.server", str(port), "--bind",
                                 "127.0.0.1"])
    try:
        assert listening_in(server.pid, port)
        text = curl_refused(port)
        r = run_cli("--ask", text, "--json")
        root = r.json
        user_code, user = assistant_as(text, 64000, 64000)
    finally:
        server.kill()
        server.wait(5)
    for code, rep, how in ((r.code, root, "namespace"), (user_code, user, "command-line")):
        top = rep["diagnoses"][0]
        assert (code, top["rule"], top["category"]) == (1, "netns.listens_elsewhere",
                                                        "nothing-listening"), rules(rep)
        assert f"pid {server.pid}" in top["summary"] and "another" in top["summary"]
        assert "port.nothing_listening" not in rules(rep)
        found = next(f for f in rep["findings"] if f["check"] == "other_namespaces")
        assert found["data"]["facts"][0]["found_by"] == how
    assert f"sudo nsenter -t {server.pid} -n ss -ltnp 'sport = :{port}'" in [
        f["command"] for f in root["diagnoses"][0]["fix"]]


def test_root_finds_a_server_whose_command_line_names_no_port() -> None:
    """A container's server takes its port from the environment: only the
    namespace scan (root) finds it."""
    need_root()
    from tests.support import free_port_without_neighbours

    port = free_port_without_neighbours()
    code = ("import http.server, os; http.server.ThreadingHTTPServer(('127.0.0.1', "
            "int(os.environ['APP_PORT'])), http.server.SimpleHTTPRequestHandler).serve_forever()")
    server = in_other_namespace([sys.executable, "-c", code], env={"APP_PORT": str(port)})
    try:
        assert listening_in(server.pid, port)
        text = curl_refused(port)
        root = run_cli("--ask", text, "--json").json
        _, user = assistant_as(text, 64000, 64000)
    finally:
        server.kill()
        server.wait(5)
    assert rules(root)[0] == "netns.listens_elsewhere"
    assert "netns.listens_elsewhere" not in rules(user)
    assert rules(user)[0] == "port.nothing_listening"


def test_subdomain_of_localhost_with_python_requests(tmp_path: Path) -> None:
    """subdomain-localhost-python-requests: curl answers app.localhost itself,
    python's requests asks glibc, which does not know it. The printed hosts
    line, added to a private copy of /etc/hosts, makes requests work."""
    need_root()
    py = "/usr/bin/python3"
    if subprocess.run([py, "-c", "import requests"], capture_output=True).returncode != 0:
        pytest.skip("no python3-requests")
    tmp_path.chmod(0o777)
    hosts = tmp_path / "hosts"
    hosts.write_text("127.0.0.1 localhost\n")
    resolv = tmp_path / "resolv.conf"
    resolv.write_text("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")
    get = "import requests; print(requests.get('http://app.localhost:8443/').status_code)"
    setup = f"""
mount --bind {hosts} /etc/hosts
mount --bind {resolv} /etc/resolv.conf
{sys.executable} -m http.server 8443 --bind 127.0.0.1 >/dev/null 2>&1 &
SERVER=$!
for i in $(seq 50); do
  {py} -c 'import socket; socket.create_connection(("127.0.0.1", 8443))' 2>/dev/null && break
  sleep 0.1
done
"""
    out = in_private_namespaces(setup + f"""
{{ {NOBODY} {py} -c {shlex.quote(get)} 2>&1 || true; }} | tail -n 1 > out.txt
curl -sS -o /dev/null -w '%{{http_code}}' http://app.localhost:8443/ > curl.txt || true
{NOBODY} env HOME={tmp_path} {console_script()} --ask "$(cat out.txt)" --json || true
kill $SERVER  # sh -c has no job control: %1 would leave it running
""", tmp_path)
    text = (tmp_path / "out.txt").read_text()
    assert "app.localhost" in text and "name resolution" in text, text
    assert (tmp_path / "curl.txt").read_text() == "200"  # curl resolves *.localhost itself
    rep = json.loads(out)
    top = rep["diagnoses"][0]
    assert (top["rule"], top["category"]) == ("name.localhost_subdomain", "name-resolution")
    assert "curl" in top["summary"] and "hosts file" in top["summary"]
    assert "localhost-subdomains" in top["kb"]
    fix = next(f["command"] for f in top["fix"] if f["os"] == "linux" and "tee" in f["command"])
    assert fix == "echo '127.0.0.1 app.localhost' | sudo tee -a /etc/hosts"
    after = in_private_namespaces(setup + f"""
{fix.replace("sudo ", "")} > /dev/null
{NOBODY} {py} -c {shlex.quote(get)} 2>&1 || true
kill $SERVER  # sh -c has no job control: %1 would leave it running
""", tmp_path)
    assert after.strip() == "200", after


def in_private_namespaces(script: str, tmp_path: Path) -> str:
    proc = subprocess.run(["unshare", "-n", "-m", "--propagation", "private", "sh", "-c",
                           "ip link set lo up\n" + script], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path, env={**os.environ, "NO_COLOR": "1"})
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.stdout
