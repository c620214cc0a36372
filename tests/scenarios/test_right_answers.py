"""Right answers without noise, with real servers and real clients: no UNIX-socket
knowledge-base answer after a TCP psql failure, the missing hosts line given as
a fix, no false "Redis is on TCP instead" after a socket permission error, no
question about where the client runs once the port's protocol explains the
failure, and "another port" in the server's own command-line form."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import realservers as rs
from tests.scenarios.clients import ask, client, rules
from tests.support import console_script
from tests.unixsupport import as_user, assistant_as, need_root, open_dir, wait_listening

STRANGER = 64000


def fixes(rep: dict[str, Any]) -> list[str]:
    return [f["command"] for f in rep["diagnoses"][0]["fix"]]


def ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.root
def test_psql_refused_gets_no_unix_socket_answer() -> None:
    """psql-h-127-server-ipv6-only: psql's own closing question is not the user's."""
    need_root()
    if not ipv6_loopback():
        pytest.skip("no ::1 here")
    with rs.postgres("nobody", listen="::1") as pg:
        text = client("psql", "-h", "127.0.0.1", "-p", str(pg.port), "-U", "postgres", "-c",
                      "select 1")
        assert "Is the server running on that host and accepting TCP/IP connections?" in text
        code, rep = ask(text.split("\n", 1)[1])  # the output alone, as pasted in the trial
    assert (code, rules(rep)[0]) == (1, "address.family_mismatch")
    assert rep["answers"] == []


HOSTS_V6_ONLY = "::1 localhost ip6-localhost ip6-loopback\n"


@pytest.mark.root
def test_hosts_file_without_the_ipv4_localhost_line(tmp_path: Path) -> None:
    """hosts-localhost-v6-only-psql: localhost maps to ::1 only, PostgreSQL listens
    on 127.0.0.1. The fix restores the line (in a private copy of /etc/hosts)."""
    need_root()
    psql = shutil.which("psql")
    if psql is None or shutil.which("unshare") is None:
        pytest.skip("needs psql and unshare")
    tmp_path.chmod(0o777)
    hosts = tmp_path / "hosts"
    hosts.write_text(HOSTS_V6_ONLY)
    hosts.chmod(0o644)
    with rs.postgres("nobody") as pg:
        cmd = [psql, "-h", "localhost", "-p", str(pg.port), "-U", "postgres", "-c", "select 1"]

        def in_mount_ns(body: str) -> str:
            proc = subprocess.run(
                ["unshare", "-m", "--propagation", "private", "sh", "-c",
                 f"mount --bind {hosts} /etc/hosts\n{body}"], capture_output=True, text=True,
                timeout=120, cwd=tmp_path, env={**os.environ, "NO_COLOR": "1"})
            assert "Traceback" not in proc.stderr, proc.stderr
            return proc.stdout

        out = in_mount_ns(f"""
{shlex.join(cmd)} > psql.txt 2>&1 || true
setpriv --reuid={STRANGER} --regid={STRANGER} --clear-groups env HOME={tmp_path} \
  {console_script()} --ask "$(cat psql.txt)" --json || true
""")
        text = (tmp_path / "psql.txt").read_text()
        assert '"localhost" (::1)' in text and "refused" in text
        rep = json.loads(out)
        top = rep["diagnoses"][0]
        assert (top["rule"], top["category"]) == ("name.localhost_ipv4_missing",
                                                  "address-family-mismatch"), rules(rep)
        assert "127.0.0.1 localhost" in top["summary"]
        assert rep["answers"] == []
        fix = next(c for c in fixes(rep) if "tee" in c)
        assert fix == "echo '127.0.0.1 localhost' | sudo tee -a /etc/hosts"
        after = in_mount_ns(f"{fix.replace('sudo ', '')} > /dev/null\n{shlex.join(cmd)} 2>&1")
    assert "(1 row)" in after, after
    assert "127.0.0.1 localhost" in hosts.read_text()


REDIS_NODE = ('require("net").createConnection({path: process.argv[1]})'
              '.on("connect", () => { console.log("connected"); process.exit(0) })')


@pytest.fixture
def redis_socket_and_tcp() -> Iterator[str]:
    """Redis on a socket only its group may use, and another Redis on TCP 6379."""
    need_root()
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed")
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", 6379)) == 0:
            pytest.skip("6379 is taken on this machine")
    root = open_dir("rdsock-")
    shutil.chown(root, "redis", "redis")
    sock = str(root / "redis.sock")
    as_redis = ["setpriv", "--reuid=redis", "--regid=redis", "--init-groups"]
    common = ["--save", "", "--appendonly", "no", "--daemonize", "no", "--dir", str(root)]
    on_socket = subprocess.Popen([*as_redis, server, "--port", "0", "--unixsocket", sock,
                                  "--unixsocketperm", "770", *common],
                                 stdout=subprocess.DEVNULL, start_new_session=True)
    on_tcp = subprocess.Popen([*as_redis, server, "--bind", "127.0.0.1", "--port", "6379",
                               "--dbfilename", "tcp.rdb", *common],
                              stdout=subprocess.DEVNULL, start_new_session=True)
    try:
        assert wait_listening(sock, 30)
        rs.wait_listening(6379, on_tcp, "redis-server")  # type: ignore[arg-type]
        yield sock
    finally:
        for p in (on_socket, on_tcp):
            p.kill()
            p.wait(10)
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.root
def test_node_eacces_on_a_redis_socket_is_not_redis_on_tcp(redis_socket_and_tcp: str) -> None:
    """node-connect-eacces-redis-socket: a Redis serves the socket (and refuses
    this user); another Redis on 6379 is no 'listens on TCP instead'."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    text = client(node, "-e", REDIS_NODE, redis_socket_and_tcp,
                  prefix=as_user(STRANGER, STRANGER)).split("\n", 1)[1]
    assert f"connect EACCES {redis_socket_and_tcp}" in text
    code, rep = assistant_as(text, STRANGER, STRANGER)
    assert (code, rep["diagnoses"][0]["category"]) == (1, "socket-permission"), rules(rep)
    assert "unix.redis_on_tcp" not in rules(rep)


TLS_SERVER = textwrap.dedent("""
    import http.server, ssl, sys
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(sys.argv[1], sys.argv[2])
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    print(srv.server_address[1], flush=True)
    srv.serve_forever()
""")


def test_go_plain_http_to_a_tls_port_asks_no_question(tmp_path: Path) -> None:
    """go-http-to-tls-port: the probe's TLS answer explains the reset; where the
    client runs changes nothing, so it is not asked."""
    if shutil.which("go") is None:
        pytest.skip("go is not installed")
    (tmp_path / "main.go").write_text(
        'package main\nimport ("log"; "net/http"; "os")\n'
        "func main() { r, err := http.Get(os.Args[1]); if err != nil { log.Fatal(err) }; "
        "log.Println(r.Status) }\n")
    env = {**os.environ, "HOME": str(tmp_path), "GOCACHE": str(tmp_path / "cache"),
           "GOPATH": str(tmp_path / "gopath"), "GO111MODULE": "off"}
    subprocess.run(["go", "build", "-o", str(tmp_path / "gofetch"), str(tmp_path / "main.go")],
                   check=True, env=env, timeout=300, capture_output=True)
    cert, key = rs.certificate(tmp_path)
    server = subprocess.Popen([sys.executable, "-c", TLS_SERVER, str(cert), str(key)],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        out = subprocess.run([str(tmp_path / "gofetch"), f"http://localhost:{port}/health"],
                             capture_output=True, text=True, timeout=30).stderr
        assert "connection reset by peer" in out or "malformed HTTP response" in out, out
        code, rep = ask(out)
    finally:
        server.kill()
        server.wait(5)
    assert (code, rules(rep)[0]) == (1, "protocol.plain_to_tls")
    assert rep["questions"] == [] and rep["kind"] == "diagnosis"


# --- "another port", in the server's own form --------------------------------

def held(port: int, prefix: list[str] | None = None) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([*(prefix or []), sys.executable, "-m", "http.server", str(port),
                             "--bind", "127.0.0.1"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, cwd="/tmp")
    rs.wait_listening(port, proc, "http.server")  # type: ignore[arg-type]
    return proc


def starts(command: str, port: int) -> bool:
    """The printed command, run as printed (in /tmp), listens on `port`."""
    proc = subprocess.Popen(shlex.split(command), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, cwd="/tmp", start_new_session=True)
    try:
        rs.wait_listening(port, proc, command)  # type: ignore[arg-type]
        return True
    finally:
        os.killpg(proc.pid, 9)
        proc.wait(5)


@pytest.fixture
def holder_port() -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """A port held by another user's server, the next one free."""
    need_root()
    for _ in range(20):
        port = rs.free_port()
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port + 1))
                break
            except OSError:
                continue
    proc = held(port, ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"])
    try:
        yield port, proc
    finally:
        proc.kill()
        proc.wait(5)


@pytest.mark.root
def test_php_builtin_server_gets_php_s_not_port_option(holder_port: tuple[int, Any]) -> None:
    php = shutil.which("php")
    if php is None:
        pytest.skip("php is not installed")
    port, _ = holder_port
    text = client("php", "-S", f"0.0.0.0:{port}", timeout=10)
    assert "Failed to listen on" in text
    code, rep = ask(text)
    assert (code, rules(rep)[0]) == (1, "bind.other_users_process")
    fix = f"php -S 127.0.0.1:{port + 1}"
    assert fix in fixes(rep) and not any("--port" in c for c in fixes(rep))
    assert starts(fix, port + 1)


@pytest.mark.root
def test_python_http_server_gets_its_positional_port(holder_port: tuple[int, Any]) -> None:
    port, _ = holder_port
    text = client(sys.executable, "-m", "http.server", str(port), timeout=10)
    assert "Address already in use" in text
    code, rep = ask(text)
    assert (code, rules(rep)[0]) == (1, "bind.other_users_process")
    fix = f"python3 -m http.server {port + 1} --bind 127.0.0.1"
    assert fix in fixes(rep)
    assert starts(fix.replace("python3", sys.executable, 1), port + 1)


@pytest.mark.root
def test_node_app_configured_by_port_gets_port_variable(holder_port: tuple[int, Any]) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    port, _ = holder_port
    app = "require('http').createServer((q, s) => s.end('ok')).listen(process.env.PORT)"
    out = subprocess.run([node, "-e", app], capture_output=True, text=True, timeout=10,
                         env={**os.environ, "PORT": str(port)}, cwd="/tmp")
    text = f"$ PORT={port} node -e {shlex.quote(app)}\n{out.stdout}{out.stderr}"
    assert "EADDRINUSE" in text
    code, rep = ask(text)
    assert (code, rules(rep)[0]) == (1, "bind.other_users_process")
    fix = f"PORT={port + 1} node -e {shlex.quote(app)}"
    assert fix in fixes(rep)
    proc = subprocess.Popen(["sh", "-c", fix.replace("node", node, 1)], cwd="/tmp",
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        rs.wait_listening(port + 1, proc, "node")  # type: ignore[arg-type]
    finally:
        os.killpg(proc.pid, 9)
        proc.wait(5)


def test_no_command_pasted_gets_a_neutral_wording(server: Any) -> None:
    s = server("127.0.0.1")
    code, rep = ask(f"Error: listen EADDRINUSE: address already in use 127.0.0.1:{s.port}")
    assert rules(rep)[0] in ("bind.stop_own_copy", "bind.port_in_use")
    assert "start your server on another port (its own port option or setting)" in [
        f["command"] for d in rep["diagnoses"] for f in d["fix"]]
    assert not any("--port" in f["command"] for d in rep["diagnoses"] for f in d["fix"])
