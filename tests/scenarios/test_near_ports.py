"""Near-miss ports judged by what could have been meant, with real servers and
real clients: an HTTP client's slip next to PostgreSQL and an HTTP app, nginx
with other vhosts' upstreams next door, a server that crashed on the request
beside an unrelated neighbour, mysql's default 3306 with MariaDB on 3307.
The assistant runs as root and as an ordinary user who sees no process."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests import realservers as rs
from tests.scenarios.clients import ask, client, rules
from tests.support import free_port_without_neighbours, port_taken
from tests.unixsupport import as_user, assistant_as, need_root, wait_listening

STRANGER = 64000


def slip(port: int, position: int, step: int = 5) -> int:
    """`port` with the digit at `position` changed (a one-digit slip; step 1:
    the neighbouring key, as in the trial's 8433 for 8443)."""
    digits = list(str(port))
    d = int(digits[position])
    digits[position] = str(d + step if d + step <= 9 else d - step)
    return int("".join(digits))


def quiet_port(*offsets: int) -> int:
    """A free port without listening neighbours, whose `offsets` are bindable too."""
    for _ in range(50):
        port = free_port_without_neighbours()
        if all(0 < port + o < 65536 and not port_taken(port + o) for o in offsets):
            return port
    raise RuntimeError("no quiet port found")


def python_with(module: str) -> str:
    """The system's Python when it has `module` (Debian's python3-httpx)."""
    for py in ("/usr/bin/python3", shutil.which("python3") or ""):
        if py and subprocess.run([py, "-c", f"import {module}"], capture_output=True).returncode == 0:
            return py
    pytest.skip(f"no python3 with {module} (apt: python3-{module})")
    raise AssertionError


@pytest.mark.root
def test_http_client_slip_means_the_http_app_not_postgres() -> None:
    """httpx-refused-transposed-port: 8433 for 8443, PostgreSQL on 5433 too."""
    need_root()
    py = python_with("httpx")
    for _ in range(50):
        typed = quiet_port()
        app, db = slip(typed, -1, 1), slip(typed, 1)
        if max(app, db) < 65536:  # a slip of 61xxx's second digit is no port
            break
    if port_taken(app) or port_taken(db):
        pytest.skip(f"{app} or {db} is taken right now")
    with rs.http_server(port=app), rs.postgres("postgres", port=db):
        code = f"import httpx; print(httpx.get('http://127.0.0.1:{typed}/api').status_code)"
        out = client(py, "-c", code, prefix=as_user(STRANGER, STRANGER))
        assert "httpx.ConnectError" in out and "Connection refused" in out
        # What the trial pasted: the command and the last line.
        text = out.splitlines()[0] + "\n" + out.strip().splitlines()[-1]
        user_code, user = assistant_as(text, STRANGER, STRANGER)
        root_code, root = ask(text)
    for exit_code, rep in ((user_code, user), (root_code, root)):
        assert (exit_code, rules(rep)[0]) == (1, "port.typo"), rules(rep)
        top = rep["diagnoses"][0]
        assert f"did you mean {app}?" in top["summary"]
        assert not any(str(db) in line for line in top["evidence"] + [top["summary"]])
        near = next(f for f in rep["findings"] if f["check"] == "near_listeners")
        by_port = {f["port"]: f for f in near["data"]["facts"]}
        assert by_port[db]["speaks"] == "postgres" and by_port[db]["mismatch"] is True


@pytest.mark.root
def test_nginx_upstream_down_beside_other_vhosts_upstreams() -> None:
    """nginx-proxy-upstream-refused-errorlog: 9101 is down; 9102 (another vhost's
    app, on ::1 only) and 9103 (a third vhost's, in an included file) are not
    slips for it."""
    need_root()
    nginx = rs.need("nginx", "/usr/sbin/nginx")
    u1 = quiet_port(1, 2)
    u2, u3 = u1 + 1, u1 + 2
    with rs.http_server("::1", port=u2), rs.http_server(port=u3), rs.private_dir() as d:
        d.chmod(0o755)  # readable by every user, as /etc/nginx is
        f1, f2, f3 = rs.free_port(), rs.free_port(), rs.free_port()
        (d / "more").mkdir()
        (d / "more" / "third.conf").write_text(
            f"server {{ listen 127.0.0.1:{f3}; location / {{ proxy_pass http://127.0.0.1:{u3}; }} }}")
        (d / "nginx.conf").write_text(rs.nginx_config(d, f"""
  server {{ listen 127.0.0.1:{f1}; location / {{ proxy_pass http://127.0.0.1:{u1}/; }} }}
  server {{ listen 127.0.0.1:{f2}; location / {{ proxy_pass http://127.0.0.1:{u2}/; }} }}
  include {d}/more/*.conf;"""))
        with rs.started(rs.nginx_argv(nginx, d), f1, "nginx"):
            assert "502" in client("curl", "-sS", "-i", f"http://127.0.0.1:{f1}/")
            line = (d / "error.log").read_text().strip().splitlines()[-1]
            assert "Connection refused" in line and f":{u1}/" in line
            text = f"$ tail -n1 /var/log/nginx/error.log\n{line}"
            root_code, root = ask(text)
            user_code, user = assistant_as(text, STRANGER, STRANGER)
    for exit_code, rep in ((root_code, root), (user_code, user)):
        assert rep["target"]["port"] == u1
        assert (exit_code, rules(rep)[0]) == (1, "port.nothing_listening"), rules(rep)
        assert "port.typo" not in rules(rep)
        near = {f["port"]: f for f in next(
            f for f in rep["findings"] if f["check"] == "near_listeners")["data"]["facts"]}
        assert near[u2]["dialled"] == "other-family"
        assert near[u3]["configured"] is True


@pytest.mark.root
def test_nginx_502_names_its_upstream_and_its_own_port_is_no_slip() -> None:
    """curl-nginx-502-upstream-down (field trial 5): nginx on 7190 proxies to
    7191, where nothing listens. curl's 502 is followed to the upstream; the
    error log's line is not told "did you mean 7190", nginx's own port."""
    need_root()
    nginx = rs.need("nginx", "/usr/sbin/nginx")
    upstream = quiet_port(-1)
    front = upstream - 1
    with rs.private_dir() as d:
        d.chmod(0o755)  # readable by every user, as /etc/nginx is
        (d / "nginx.conf").write_text(rs.nginx_config(d, f"""
  server {{ listen 127.0.0.1:{front}; location / {{ proxy_pass http://127.0.0.1:{upstream}; }} }}"""))
        with rs.started(rs.nginx_argv(nginx, d), front, "nginx"):
            out = client("curl", "-sS", "-i", f"http://127.0.0.1:{front}/api/health")
            assert "502 Bad Gateway" in out
            (d / "error.log").chmod(0o644)
            line = (d / "error.log").read_text().strip().splitlines()[-1]
            pasted = f"$ curl -sS -i http://127.0.0.1:{front}/api/health\n{out}"
            answers = [ask(pasted), assistant_as(pasted, STRANGER, STRANGER)]
            logs = [ask(line), assistant_as(line, STRANGER, STRANGER)]
    for code, rep in answers:
        assert (code, rules(rep)[0]) == (1, "http.upstream_not_listening"), rules(rep)
        assert f"upstream 127.0.0.1:{upstream} (proxy_pass in {d}/nginx.conf)" in \
            rep["diagnoses"][0]["summary"]
        assert f"tail -n 20 {d}/error.log" in [c["command"] for c in rep["diagnoses"][0]["fix"]]
    for code, rep in logs:
        assert rep["target"]["port"] == upstream
        assert (code, rules(rep)[0]) == (1, "port.nothing_listening"), rules(rep)
        assert "port.typo" not in rules(rep)


CRASHING = """
require('http').createServer((req, res) => { const cfg = undefined; res.end(cfg.greeting) })
  .listen(+process.argv[1], '127.0.0.1', () => console.log('ready'))
"""


def test_server_crashed_on_the_request_beside_an_unrelated_neighbour() -> None:
    """node-server-crashes-on-request-curl, first run: 3006 listened next door."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    port = quiet_port(1)
    with rs.http_server(port=port + 1):
        proc = subprocess.Popen([node, "-e", CRASHING, str(port)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
            text = client("curl", "-sS", f"http://127.0.0.1:{port}/api/hello")
            assert "(52) Empty reply from server" in text
            proc.wait(10)
            assert proc.stderr is not None and "TypeError" in proc.stderr.read()
            code, rep = ask(text)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)
    assert (code, rules(rep)[0]) == (1, "port.died_on_request"), rules(rep)
    assert rep["diagnoses"][0]["category"] == "nothing-listening"
    assert not {"port.typo", "port.nothing_listening"} & set(rules(rep))


@contextmanager
def mariadb(port: int) -> Iterator[Path]:
    """MariaDB on 127.0.0.1:`port` and a UNIX socket in a private directory."""
    for tool in ("mariadbd", "mariadb-install-db", "mysql"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")
    root = Path(tempfile.mkdtemp(prefix="assistant-my-"))
    root.chmod(0o755)
    user = ["--user=mysql"] if os.geteuid() == 0 else []
    if user:
        shutil.chown(root, "mysql", "mysql")
    try:
        subprocess.run(["mariadb-install-db", "--no-defaults", f"--datadir={root / 'data'}",
                        "--auth-root-authentication-method=normal", "--skip-test-db", *user],
                       check=True, capture_output=True, timeout=180)
        sock = root / "mysqld.sock"
        proc = subprocess.Popen(["mariadbd", "--no-defaults", f"--datadir={root / 'data'}",
                                 f"--socket={sock}", "--bind-address=127.0.0.1", f"--port={port}",
                                 f"--pid-file={root / 'my.pid'}", f"--log-error={root / 'err.log'}",
                                 *user], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        try:
            assert wait_listening(str(sock), 60), (root / "err.log").read_text()
            rs.wait_listening(port, proc, "mariadbd")  # type: ignore[arg-type]
            yield sock
        finally:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.root
def test_mysql_default_port_with_mariadb_on_3307() -> None:
    """mysql-default-3306-server-on-3307: networking is on, on another port."""
    need_root()
    if port_taken(3306) or port_taken(3307):
        pytest.skip("3306 or 3307 is in use on this machine")
    with mariadb(3307):
        time.sleep(0.2)
        text = client("mysql", "--no-defaults", "-h", "127.0.0.1", "-u", "root", "-e", "select 1")
        assert "Can't connect to server on '127.0.0.1'" in text
        root_code, root = ask(text)
        user_code, user = assistant_as(text, STRANGER, STRANGER)
    for exit_code, rep in ((root_code, root), (user_code, user)):
        assert rep["target"]["port"] == 3306
        assert (exit_code, rules(rep)[0]) == (1, "port.typo"), rules(rep)
        assert "did you mean 3307?" in rep["diagnoses"][0]["summary"]
        assert "unix.mysql_socket_only" not in rules(rep)
