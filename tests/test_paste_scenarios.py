"""Field corpus 2's "parser did not find the host, port or path" and "usage
error" situations, live: the real server or socket, the real client's text
(uvicorn, gunicorn, an asyncio client, redis-py, PHP's PDO and mysqli, curl
--unix-socket, node as a server on a socket path, psql and mysql on a path
with a space), then the assistant on exactly that text. Redis's protected-
mode refusal needs a non-loopback client; its text is the one recorded in
/work/field2 (tests/data/field_texts.yaml)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support import free_port, free_port_without_neighbours, run_cli, run_script
from tests.test_unix_databases import My, my  # noqa: F401  (the MariaDB fixture)
from tests.unixsupport import (
    ROOT,
    as_user,
    assistant_as,
    killing,
    need,
    need_root,
    open_dir,
    run,
    start_unix_server,
    top,
    wait_listening,
)

PYTHON = sys.executable


def ask(text: str) -> tuple[int, dict[str, Any]]:
    r = run_cli("--ask", text, "--json")
    return r.code, r.json


def fixes(report: dict[str, Any], rank: int = 0) -> list[str]:
    return [f["command"] for f in report["diagnoses"][rank]["fix"]]


def sh(command: str) -> subprocess.CompletedProcess[str]:
    """A printed fix, pasted into sh; without its sudo (the quoting is what is
    tried here, and a test machine may have no sudo)."""
    if command.startswith("sudo "):
        command = command[len("sudo "):]
    return subprocess.run(["sh", "-c", command], capture_output=True, text=True, timeout=30)


def wait_port(port: int, seconds: float = 30.0) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError(f"nothing came to listen on 127.0.0.1:{port}")


@pytest.fixture
def appdir() -> Iterator[Path]:
    d = open_dir("pasteapp-")
    (d / "asgi.py").write_text(
        "async def app(scope, receive, send):\n"
        "    if scope['type'] == 'http':\n"
        "        await send({'type': 'http.response.start', 'status': 200, 'headers': []})\n"
        "        await send({'type': 'http.response.body', 'body': b'hello'})\n")
    (d / "wsgi.py").write_text(
        "def app(environ, start_response):\n"
        "    start_response('200 OK', [])\n"
        "    return [b'hello']\n")
    yield d
    shutil.rmtree(d, ignore_errors=True)


# --- Python's (host, port) tuples ------------------------------------------------

def test_uvicorn_port_held_by_its_own_earlier_copy(appdir: Path) -> None:
    """bind-uvicorn-own-earlier-copy: the port is in the tuple only."""
    pytest.importorskip("uvicorn")
    port = free_port()
    argv = [PYTHON, "-m", "uvicorn", "asgi:app", "--port", str(port)]
    first = subprocess.Popen(argv, cwd=appdir, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, start_new_session=True)
    with killing(first):
        wait_port(port)
        code, out = run(argv, cwd=str(appdir), timeout=60)
        assert code != 0
        assert f"error while attempting to bind on address ('127.0.0.1', {port})" in out
        code, rep = ask(out)
        assert (rep["target"]["host"], rep["target"]["port"]) == ("127.0.0.1", port)
        assert top(rep) == ("bind.stop_own_copy", "port-conflict") and code == 1
        assert f"kill {first.pid}" in fixes(rep)


def test_gunicorn_log_piped_into_the_assistant(appdir: Path) -> None:
    """bind-gunicorn-port-held-by-other-user, README's `... 2>&1 | assistant`:
    gunicorn's own lines name the port only as ('127.0.0.1', PORT)."""
    pytest.importorskip("gunicorn")
    port = free_port()
    # As root the holder is another user's, as in the field; otherwise our own.
    holder = subprocess.Popen((as_user() if ROOT else []) + [
        PYTHON, "-m", "http.server", str(port), "--bind", "127.0.0.1"], cwd="/tmp",
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    with killing(holder):
        wait_port(port)
        code, log = run([PYTHON, "-m", "gunicorn", "-b", f"127.0.0.1:{port}", "wsgi:app"],
                        cwd=str(appdir), timeout=60)
        assert code != 0 and f"Connection in use: ('127.0.0.1', {port})" in log
        r = run_script("--json", stdin=log)
        assert r.code == 1, r.err
        assert (r.json["target"]["port"], r.json["target"]["error"]) == (port, "in-use")
        expected = "bind.other_users_process" if ROOT else "bind.stop_own_copy"
        assert top(r.json) == (expected, "port-conflict")


ASYNCIO_CLIENT = ("import asyncio, sys\n"
                  "asyncio.run(asyncio.open_connection(sys.argv[1], int(sys.argv[2])))\n")


def test_asyncio_client_refused() -> None:
    """asyncio's wording, which websockets, aiohttp and redis.asyncio pass on."""
    port = free_port_without_neighbours()
    code, out = run([PYTHON, "-c", ASYNCIO_CLIENT, "127.0.0.1", str(port)])
    line = out.strip().splitlines()[-1]
    assert line == f"ConnectionRefusedError: [Errno 111] Connect call failed ('127.0.0.1', {port})"
    r = run_script("--ask", line, "--json")  # the line people copy, through the console script
    assert (r.json["target"]["host"], r.json["target"]["port"]) == ("127.0.0.1", port)
    assert top(r.json) == ("port.nothing_listening", "nothing-listening") and r.code == 1


@pytest.mark.root
def test_asyncio_client_refused_on_both_families(tmp_path: Path) -> None:
    """websockets-python-localhost-both-families-refused: localhost on ::1 and
    127.0.0.1 (Debian's default hosts file, mounted in a private namespace)."""
    need_root()
    need("unshare")
    hosts = tmp_path / "hosts"
    hosts.write_text("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n")
    port = free_port_without_neighbours()
    code, out = run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                     'mount --bind "$0" /etc/hosts && exec "$@"', str(hosts),
                     PYTHON, "-c", ASYNCIO_CLIENT, "localhost", str(port)])
    line = out.strip().splitlines()[-1]
    if "Multiple exceptions" not in line:
        pytest.skip(f"this machine has no IPv6 loopback to refuse on: {line}")
    assert f"Connect call failed ('::1', {port}, 0, 0)" in line
    code, rep = ask(line)
    assert (rep["target"]["host"], rep["target"]["port"]) == ("::1", port)
    assert top(rep) == ("port.nothing_listening", "nothing-listening") and code == 1


# --- redis-py on a UNIX socket ------------------------------------------------------

REDIS_PY = "import redis, sys; redis.Redis(unix_socket_path=sys.argv[1]).ping()"


@pytest.fixture
def redis_sock() -> Iterator[tuple[subprocess.Popen[str], str]]:
    """Redis on a socket of mode 0770, as user redis when run as root."""
    need("redis-server")
    pytest.importorskip("redis")
    root = open_dir("rdpy-")
    prefix: list[str] = []
    if ROOT:
        from tests.unixsupport import user_ids

        try:
            uid, gid = user_ids("redis")
        except KeyError:
            pytest.skip("no redis account (the redis-server package creates it)")
        os.chown(root, uid, gid)
        prefix = as_user(uid, gid, str(root))
    sock = str(root / "redis.sock")
    proc = subprocess.Popen(prefix + [
        "redis-server", "--port", "0", "--unixsocket", sock, "--unixsocketperm", "770",
        "--dir", str(root), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL, start_new_session=True, text=True)
    with killing(proc):
        assert wait_listening(sock, 30)
        yield proc, sock
    shutil.rmtree(root, ignore_errors=True)


@pytest.mark.root
def test_redis_py_on_a_socket_of_another_group(redis_sock: tuple[subprocess.Popen[str], str]
                                               ) -> None:
    """redis-py-unix-socket-permission."""
    need_root()
    _, sock = redis_sock
    _, out = run(as_user() + [PYTHON, "-c", REDIS_PY, sock])
    last = out.strip().splitlines()[-1]
    assert last == (f"redis.exceptions.ConnectionError: Error 13 connecting to {sock}. "
                    "Permission denied.")
    code, rep = assistant_as(last)  # as the user who failed
    assert rep["target"]["path"] == sock
    assert top(rep) == ("unix.not_in_group", "socket-permission") and code == 1
    assert "redis:redis 0770" in rep["diagnoses"][0]["summary"]
    code, rep = ask(out)  # the whole traceback, as root
    assert top(rep) == ("unix.root_view", "socket-permission") and code == 1


@pytest.mark.root
def test_curl_unix_socket_of_another_group(redis_sock: tuple[subprocess.Popen[str], str]
                                           ) -> None:
    """Field trial 3, curl-unix-socket-permission-denied: curl's "Couldn't
    connect to server" is its text for a denied connect too, so it is no
    refusal (which would mean the permission check passed)."""
    need_root()
    need("curl")
    _, sock = redis_sock
    cmd = ["curl", "-sS", "--unix-socket", sock, "http://localhost/info"]
    _, out = run(as_user() + cmd)
    assert "Couldn't connect to server" in out
    code, rep = assistant_as("$ " + " ".join(cmd) + "\n" + out)
    assert rep["target"]["path"] == sock and rep["target"]["error"] is None
    assert top(rep) == ("unix.not_in_group", "socket-permission") and code == 1


def test_redis_py_on_a_dead_then_missing_socket(redis_sock: tuple[subprocess.Popen[str], str]
                                                ) -> None:
    proc, sock = redis_sock
    os.killpg(proc.pid, 9)
    proc.wait(10)
    for errno, error in (("111", "refused"), ("2", "missing")):
        _, out = run([PYTHON, "-c", REDIS_PY, sock])
        assert f"Error {errno} connecting to {sock}." in out
        code, rep = ask(out)
        assert rep["target"]["path"] == sock and rep["target"]["error"] == error
        # not running, or (another Redis of this machine) running elsewhere
        assert rep["diagnoses"][0]["category"] in ("nothing-listening", "wrong-bind-address")
        assert code == 1
        if os.path.exists(sock):
            os.unlink(sock)  # then: the file is gone too


# --- PHP's MySQL drivers ------------------------------------------------------------

PHP_DEFAULT_SOCKET = "/var/run/mysqld/mysqld.sock"


def need_php_mysql() -> None:
    need("php")
    mods = run(["php", "-m"])[1].lower().split()
    if "pdo_mysql" not in mods or "mysqli" not in mods:
        pytest.skip("PHP without pdo_mysql and mysqli (Debian: php-mysql)")
    default = run(["php", "-r", 'echo ini_get("pdo_mysql.default_socket");'])[1].strip()
    if default != PHP_DEFAULT_SOCKET:
        pytest.skip(f"this PHP's default MySQL socket is {default}, not {PHP_DEFAULT_SOCKET}")
    if os.path.exists(PHP_DEFAULT_SOCKET) and wait_listening(PHP_DEFAULT_SOCKET, 0.5):
        pytest.skip("a MariaDB of this machine answers on PHP's default socket")


def php(code: str, cwd: Path) -> str:
    (cwd / "db.php").write_text("<?php\n" + code + "\n")
    rc, out = run(["php", "db.php"], cwd=str(cwd))
    assert rc == 255, out
    return out


def test_php_pdo_with_localhost_uses_the_socket(my: My, appdir: Path) -> None:  # noqa: F811
    """php-pdo-mysql-localhost-means-socket."""
    need_php_mysql()
    sock = str(my.root / "sock" / "mysqld.sock")
    my.start(sock, "--bind-address=127.0.0.1")
    dsn_line = f"$pdo = new PDO('mysql:host=localhost;port={my.port};dbname=mysql', 'root', '');"
    out = php(dsn_line, appdir)
    assert "SQLSTATE[HY000] [2002] No such file or directory" in out
    # PHP's output alone: its default socket, and the server's other socket
    code, rep = ask(out)
    assert (rep["target"]["path"], rep["target"]["client"]) == (PHP_DEFAULT_SOCKET, "php")
    rules = [d["rule"] for d in rep["diagnoses"]]
    assert "unix.php_mysql_other_socket" in rules and code == 1
    socket_fix = next(f for f in fixes(rep, rules.index("unix.php_mysql_other_socket"))
                      if f.startswith("in the DSN:"))
    assert f"mysql:unix_socket={sock}" in socket_fix
    # with the DSN line: TCP on the DSN's port first
    code, rep = ask(out + "\n" + dsn_line)
    assert top(rep) == ("unix.php_mysql_on_tcp", "wrong-bind-address") and code == 1
    tcp_fix = next(f for f in fixes(rep) if f.startswith("in the DSN:"))
    assert f"mysql:host=127.0.0.1;port={my.port}" in tcp_fix
    assert not any("curl" in f for d in rep["diagnoses"] for f in (x["command"] for x in d["fix"]))
    # the printed fixes work
    for dsn in (f"mysql:host=127.0.0.1;port={my.port}", f"mysql:unix_socket={sock}"):
        rc, said = run(["php", "-r", f'new PDO("{dsn}", "root", ""); echo "connected";'])
        assert (rc, said.strip()) == (0, "connected")
    shown = sh(next(f for f in fixes(rep) if f.startswith("php -r")))
    assert shown.stdout.strip() == PHP_DEFAULT_SOCKET


def test_php_mysqli_with_localhost_and_a_reachable_tcp_port(my: My, appdir: Path  # noqa: F811
                                                            ) -> None:
    need_php_mysql()
    sock = str(my.root / "sock" / "mysqld.sock")
    my.start(sock, "--bind-address=127.0.0.1")
    line = f"$db = new mysqli('localhost', 'root', '', 'mysql', {my.port});"
    out = php(line, appdir)
    assert "mysqli_sql_exception: No such file or directory" in out
    code, rep = ask(out + "\n" + line)
    assert top(rep) == ("unix.php_mysql_on_tcp", "wrong-bind-address") and code == 1
    # over TCP, a wrong password: the port works, and no rule says curl http:// to it
    line = f"$pdo = new PDO('mysql:host=127.0.0.1;port={my.port}', 'nobody', 'wrong');"
    out = php(line, appdir)
    assert "SQLSTATE[HY000] [1045]" in out
    code, rep = ask(out + "\n" + line)
    assert (rep["target"]["host"], rep["target"]["port"], rep["target"]["scheme"]) == (
        "127.0.0.1", my.port, "mysql")
    assert rep["diagnoses"] and rep["diagnoses"][0]["category"] != "nothing-listening"
    assert not any("curl" in x["command"] for d in rep["diagnoses"] for x in d["fix"])


# --- curl --unix-socket ------------------------------------------------------------------

def curl_unix(path: str) -> str:
    cmd = ["curl", "-sS", "--unix-socket", path, "http://localhost/health"]
    _, out = run(cmd)
    assert "Failed to connect to localhost port 80" in out
    return "$ " + " ".join(cmd) + "\n" + out


def test_curl_unix_socket_left_over_then_renamed() -> None:
    """curl-unix-socket-stale-file, curl-unix-socket-wrong-path."""
    need("curl")
    d = open_dir("curlunix-")
    try:
        stale = str(d / "app.sock")
        start_unix_server(stale).kill()
        code, rep = ask(curl_unix(stale))
        assert (rep["target"]["path"], rep["target"]["port"]) == (stale, None)
        assert top(rep) == ("unix.stale_socket", "nothing-listening") and code == 1
        live = start_unix_server(str(d / "api-v2.sock"))
        try:
            r = run_script("--ask", curl_unix(str(d / "api.sock")), "--json")
            assert top(r.json) == ("unix.other_socket_beside", "wrong-bind-address") and r.code == 1
            assert r.json["diagnoses"][0]["processes"][0]["pid"] == live.pid
            assert f"--unix-socket {live.path}" in fixes(r.json)[0]
            listed = sh(f"ls -l {live.path}")
            assert listed.returncode == 0 and listed.stdout.startswith("s")
        finally:
            live.kill()
    finally:
        shutil.rmtree(d, ignore_errors=True)


# --- a server on a socket path -----------------------------------------------------------

NODE_SERVER = ("require('http').createServer((q, r) => r.end('hello'))"
               ".listen(process.argv[1], () => console.log('listening'))")


def test_node_cannot_listen_on_a_left_over_socket_file() -> None:
    """bind-node-unix-socket-stale-file: node's `port: -1` was a usage error
    (exit 2, nothing on stdout with --json)."""
    need("node")
    d = open_dir("nodelisten-")
    try:
        path = str(d / "app.sock")
        start_unix_server(path).kill()  # the file stays, nobody listens
        code, out = run(["node", "-e", NODE_SERVER, path], timeout=30)
        assert code != 0 and f"listen EADDRINUSE: address already in use {path}" in out
        assert "port: -1" in out
        r = run_script("--ask", out, "--json")
        assert r.code == 1 and r.err == "", r.err
        assert (r.json["target"]["path"], r.json["target"]["port"]) == (path, None)
        assert top(r.json) == ("unix.bind_stale_file", "port-conflict")
        assert sh(next(f for f in fixes(r.json) if f.startswith("rm "))).returncode == 0
        code, rep = ask(out)  # the same text once the file is gone: try again
        assert top(rep) == ("unix.bind_path_free_now", "port-conflict") and code == 1
        # the fix works: the server starts now
        server = subprocess.Popen(["node", "-e", NODE_SERVER, path], stdout=subprocess.PIPE,
                                  text=True, start_new_session=True)
        with killing(server):
            assert server.stdout is not None and server.stdout.readline().strip() == "listening"
            # and a second copy is told who holds the path
            code, out = run(["node", "-e", NODE_SERVER, path], timeout=30)
            assert "EADDRINUSE" in out
            code, rep = ask(out)
            assert top(rep) == ("unix.bind_in_use", "port-conflict") and code == 1
            assert rep["diagnoses"][0]["processes"][0]["pid"] == server.pid
    finally:
        shutil.rmtree(d, ignore_errors=True)


@pytest.mark.parametrize("argv,wording", [
    (["node", "-e", "require('http').createServer().listen(-1)"], "Received type number (-1)"),
    ([PYTHON, "-c", "import socket; socket.socket().bind(('127.0.0.1', -1))"],
     "port must be 0-65535"),
])
def test_a_port_no_socket_can_have_is_a_diagnosis(argv: list[str], wording: str) -> None:
    """Was `assistant: port -1 is out of range` (exit 2, no JSON)."""
    need(argv[0])
    code, out = run(argv)
    assert code != 0 and wording in out
    r = run_script("--ask", out, "--json")
    assert r.code == 1 and r.json["target"]["port"] is None
    assert top(r.json) == ("port.out_of_range_said", "port-typo")


# --- socket paths with a space ---------------------------------------------------------

@pytest.fixture
def spaced() -> Iterator[Path]:
    d = open_dir("spaced-") / "my dir"
    d.mkdir(mode=0o755)
    yield d
    shutil.rmtree(d.parent, ignore_errors=True)


def test_psql_and_mysql_name_a_socket_in_a_directory_with_a_space(spaced: Path) -> None:
    need("psql", "mysql")
    port = free_port()
    _, out = run(["psql", "-X", "-h", str(spaced), "-p", str(port), "-c", "select 1"])
    pg = f"{spaced}/.s.PGSQL.{port}"
    assert f'on socket "{pg}" failed' in out
    code, rep = ask(out)
    assert (rep["target"]["path"], rep["target"]["port"]) == (pg, port)
    my_sock = str(spaced / "mysqld.sock")
    _, out = run(["mysql", "--no-defaults", f"--socket={my_sock}", "-e", "select 1"])
    assert f"through socket '{my_sock}'" in out
    code, rep = ask(out)
    assert rep["target"]["path"] == my_sock and rep["kind"] == "diagnosis"


def test_printed_fixes_work_for_a_socket_in_a_directory_with_a_space(spaced: Path) -> None:
    """The values are quoted for sh, and for ss's own filter parser."""
    need("mysql", "ss")
    path = str(spaced / "mysqld.sock")
    srv = start_unix_server(path)  # answers, then closes: mysql gets no greeting
    try:
        cmd = f"$ mysql --no-defaults --socket='{path}' -e 'select 1'"
        _, out = run(["mysql", "--no-defaults", f"--socket={path}", "-e", "select 1"])
        code, rep = ask(cmd + "\n" + out)
        assert rep["target"]["path"] == path
        assert top(rep) == ("unix.reachable", "reachable") and code == 0
        linux = [f["command"] for f in rep["diagnoses"][0]["fix"] if f["os"] == "linux"]
        assert len(linux) == 2
        for command in linux:  # ls -l '...', sudo ss -xlp src '...\ ...'
            done = sh(command)
            assert done.returncode == 0 and path in done.stdout, (command, done.stderr)
    finally:
        srv.kill()
    # the left-over file: ss shows only its header, and the file can be removed
    port = free_port()
    psql_dir_sock = str(spaced / f".s.PGSQL.{port}")
    start_unix_server(psql_dir_sock).kill()
    _, out = run(["psql", "-X", "-h", str(spaced), "-p", str(port), "-c", "select 1"])
    code, rep = ask(out)
    assert rep["target"]["path"] == psql_dir_sock and rep["target"]["error"] == "refused"
    ss = next(f for f in fixes(rep) if f.startswith("ss -xl src "))
    done = sh(ss)
    assert done.returncode == 0 and "syntax error" not in done.stderr
    assert len(done.stdout.strip().splitlines()) == 1  # the header only: nobody listens


# --- Redis's protected-mode refusal, alone --------------------------------------------

def test_redis_protected_mode_text_alone_is_diagnosed_on_redis_port() -> None:
    """redis-protected-mode-lan-ip paste2, the real text recorded there (the
    refusal needs a client from a non-loopback address)."""
    cases = yaml.safe_load((Path(__file__).parent / "data" / "field_texts.yaml").read_text())
    text = next(c["text"] for c in cases if c["name"] == "field2-redis-protected-mode-denied-alone")
    code, rep = ask(text)
    assert rep["kind"] == "diagnosis" and code in (0, 1)
    assert (rep["target"]["port"], rep["target"]["client"]) == (6379, "redis-cli")


# --- curl (3): the URL itself (field trial 8) ------------------------------------------

def curl_pasted(line: str, says: str) -> tuple[int, dict[str, Any]]:
    """Run a curl command line in sh, check its error names `says`, and ask
    about the line and the error as a user pastes them."""
    done = subprocess.run(["sh", "-c", line], capture_output=True, text=True, timeout=30)
    assert says in done.stderr, done.stderr
    return ask(f"$ {line}\n{done.stderr}")


def connects(command: str) -> bool:
    """A printed fix, pasted into sh, exits 0 (curl connected and was answered)."""
    return subprocess.run(["sh", "-c", command], capture_output=True, timeout=30).returncode == 0


def test_curl_url_with_a_space_while_the_server_listens() -> None:
    """`curl "http://localhost:PORT /api"` while the server is up: curl
    rejected the URL; the server being reachable is beside the point."""
    need("curl")
    from tests.realservers import http_server

    with http_server() as srv:
        code, rep = curl_pasted(f'curl -sS "http://localhost:{srv.port} /api"', "(3)")
        assert top(rep) == ("client.url_has_space", "host-typo") and code == 1
        assert connects(fixes(rep)[0])  # the printed fix connects


def test_curl_6_to_localhost_while_the_server_listens_on_ipv4_only() -> None:
    """Field trial 8: `curl -6` dials ::1 whatever the resolver says; the
    server on 127.0.0.1 accepts our probe of localhost, so only the flag
    tells what curl dialled."""
    need("curl")
    from tests.realservers import http_server

    with http_server("127.0.0.1") as srv:
        code, rep = curl_pasted(f"curl -6 -sS http://localhost:{srv.port}/", "(7)")
        assert top(rep) == ("address.family_forced_ipv6", "address-family-mismatch") and code == 1
        assert "-6" in rep["diagnoses"][0]["summary"]


RESETTER = """
import socket, sys
s = socket.socket()
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(16)
print("ready", flush=True)
while True:
    c, _ = s.accept()
    c.recv(64)
    c.close()  # data left unread: the kernel answers with a reset
"""


def test_server_that_resets_an_upload() -> None:
    """Field trial 8 (Go's 'read: connection reset by peer'): the port
    accepts and the server aborts the connection: say so, and do not ask
    where a client runs whose own words show a loopback-to-loopback pair."""
    need("curl")
    port = free_port()
    proc = subprocess.Popen([PYTHON, "-c", RESETTER, str(port)], stdout=subprocess.PIPE, text=True,
                            start_new_session=True)
    with killing(proc):
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        body = "a" * 200_000
        done = subprocess.run(["curl", "-sS", "-X", "POST", "--data-binary", "@-",
                               f"http://127.0.0.1:{port}/upload"], input=body,
                              capture_output=True, text=True, timeout=30)
        assert "reset" in done.stderr.lower(), done.stderr
        code, rep = ask(f"$ curl -sS -X POST --data-binary @- http://127.0.0.1:{port}/upload\n"
                        + done.stderr)
        assert top(rep) == ("port.server_resets", "reachable")
        go = (f'upload failed: Post "http://127.0.0.1:{port}/upload": read tcp '
              f"127.0.0.1:34532->127.0.0.1:{port}: read: connection reset by peer")
        code, rep = ask(go)
        assert top(rep) == ("port.server_resets", "reachable") and not rep["questions"]


def test_an_apps_own_port_in_its_log_is_no_slip_for_its_dependency() -> None:
    """Field trial 8: a service's log announces its own port (7721) and fails
    to reach its auth service on the next one (7722): nothing listens on the
    dependency's port; the app's own port is no "did you mean"."""
    from tests.realservers import http_server

    own = free_port_without_neighbours()  # own+1, its neighbour, is quiet too
    dep = own + 1
    with http_server("127.0.0.1", own):
        log = (f"INFO  [orders-api] loading config (APP_PORT={own}, AUTH_URL=http://localhost:{dep})\n"
               f"INFO  [orders-api] HTTP server listening on http://127.0.0.1:{own}\n"
               "WARNING [auth] fetching JWKS failed (attempt 1/3): URLError(ConnectionRefusedError"
               "(111, 'Connection refused')); retrying in 1s\n"
               f"ERROR [auth] could not load signing keys from http://localhost:{dep}\n")
        code, rep = ask(log)
        assert rep["target"]["port"] == dep
        assert top(rep) == ("port.nothing_listening", "nothing-listening") and code == 1
        assert "port.typo" not in [d["rule"] for d in rep["diagnoses"]]


def test_unbracketed_ipv6_url_while_the_server_listens_on_ipv4_only() -> None:
    """Field trial 8: the bracket advice was right, but its command was then
    refused: the server listened on 127.0.0.1 only."""
    need("curl")
    from tests.realservers import http_server

    with http_server("127.0.0.1") as srv:
        code, rep = curl_pasted(f'curl -sS "http://::1:{srv.port}/"', "(3)")
        assert top(rep) == ("host.ipv6_unbracketed_ipv4_server", "host-typo") and code == 1
        linux = [f["command"] for f in rep["diagnoses"][0]["fix"] if f["os"] == "linux"]
        assert connects(linux[0])  # the printed fix connects
