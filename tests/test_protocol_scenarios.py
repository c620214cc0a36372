"""Above TCP, for real: real servers (http.server, openssl s_server, nginx,
redis, PostgreSQL, sshd, a listener that never accepts), the error text of
the real client, then the assistant on that text."""

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

from tests import realservers as rs
from tests.support import console_script, run_cli, run_script


def client(*argv: str, timeout: float = 60, env: dict[str, str] | None = None) -> str:
    """What the terminal shows: the command line, then the client's output."""
    program = shutil.which(argv[0]) if argv[0] != sys.executable else argv[0]
    if program is None:
        pytest.skip(f"{argv[0]} is not installed")
    # No proxy variable: the clients must reach the loopback servers themselves.
    clean = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    proc = subprocess.run([program, *argv[1:]], capture_output=True, text=True, timeout=timeout,
                          env={**clean, **(env or {})}, stdin=subprocess.DEVNULL)
    shown = "python3" if argv[0] == sys.executable else argv[0]
    return f"$ {shlex.join([shown, *argv[1:]])}\n{proc.stdout}{proc.stderr}"


def ask(text: str) -> tuple[int, dict[str, Any]]:
    r = run_cli("--ask", text, "--json")
    assert r.err == "", r.err
    return r.code, r.json


def top(rep: dict[str, Any]) -> tuple[str, str]:
    d = rep["diagnoses"][0]
    return d["category"], d["rule"]


def commands(rep: dict[str, Any]) -> list[str]:
    return [f["command"] for f in rep["diagnoses"][0]["fix"]]


def listening_process(port: int) -> str | None:
    import psutil

    pid = next((c.pid for c in psutil.net_connections("tcp")
                if c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port), None)
    return psutil.Process(pid).name() if pid else None


def protocol(rep: dict[str, Any]) -> dict[str, Any]:
    found = next(f for f in rep["findings"] if f["check"] == "protocol")
    return dict(found["data"]["facts"][0])


# --- TLS to a plain HTTP port -------------------------------------------------

def test_curl_https_to_plain_http() -> None:
    with rs.http_server() as s:
        text = client("curl", "-sS", f"https://127.0.0.1:{s.port}/")
        assert "wrong version number" in text
        code, rep = ask(text)
    assert (code, top(rep)) == (1, ("protocol-mismatch", "protocol.tls_to_plain"))
    assert commands(rep)[0] == f'curl -v "http://127.0.0.1:{s.port}/"'
    assert protocol(rep)["sent"] == "http-request" and protocol(rep)["status"] == 200
    assert not rep["questions"]


def test_ipv6_fix_pastes_into_every_shell() -> None:
    """`http://[::1]:N/` unquoted is a glob to zsh ("no matches found"): the
    printed command works pasted into zsh, bash and dash alike."""
    with rs.http_server(bind="::1") as s:
        text = client("curl", "-sS", f"https://[::1]:{s.port}/")
        code, rep = ask(text)
        assert (code, top(rep)) == (1, ("protocol-mismatch", "protocol.tls_to_plain"))
        fix = commands(rep)[0]
        assert fix == f'curl -v "http://[::1]:{s.port}/"'
        for shell in ("zsh", "bash", "dash"):
            path = shutil.which(shell)
            if path is None:
                pytest.skip(f"{shell} is not installed")
            pasted = subprocess.run([path, "-c", fix], capture_output=True, text=True, timeout=30)
            assert pasted.returncode == 0 and "200 OK" in pasted.stderr, (shell, pasted.stderr)


def test_python_requests_https_to_plain_http() -> None:
    pytest.importorskip("requests")
    with rs.http_server() as s:
        text = client(sys.executable, "-c",
                      f"import requests; requests.get('https://localhost:{s.port}/')")
        assert "WRONG_VERSION_NUMBER" in text
        code, rep = ask(text)
    assert (code, top(rep)) == (1, ("protocol-mismatch", "protocol.tls_to_plain"))
    assert commands(rep)[0] == f'curl -v "http://localhost:{s.port}/"'


def test_node_https_to_plain_http() -> None:
    with rs.http_server() as s:
        text = client("node", "-e", f"require('https').get('https://127.0.0.1:{s.port}/', "
                      "r => console.log(r.statusCode)).on('error', e => { console.error(e); "
                      "process.exit(1) })")
        assert "EPROTO" in text
        code, rep = ask(text)
    assert (code, top(rep)) == (1, ("protocol-mismatch", "protocol.tls_to_plain"))


# --- plain HTTP to a TLS port -------------------------------------------------

def test_curl_http_to_openssl_s_server() -> None:
    with rs.tls_server() as s:
        text = client("curl", "-sS", f"http://127.0.0.1:{s.port}/")
        assert "Empty reply from server" in text
        code, rep = ask(text)
    assert (code, top(rep)) == (1, ("protocol-mismatch", "protocol.plain_to_tls"))
    assert commands(rep)[0] == f'curl -vk "https://127.0.0.1:{s.port}/"'
    assert protocol(rep)["sent"] == "tls-hello" and protocol(rep)["speaks"] == "tls"
    # The client reached a server: where it runs is not asked.
    assert rep["questions"] == []


def test_python_requests_http_to_tls() -> None:
    pytest.importorskip("requests")
    with rs.tls_server() as s:
        text = client(sys.executable, "-c",
                      f"import requests; requests.get('http://127.0.0.1:{s.port}/')")
        assert "RemoteDisconnected" in text
        code, rep = ask(text)
    assert (code, top(rep)) == (1, ("protocol-mismatch", "protocol.plain_to_tls"))


def test_nginx_says_plain_http_to_its_https_port() -> None:
    with rs.nginx() as n:
        page = client("curl", "-sS", f"http://127.0.0.1:{n.tls_port}/")
        assert "The plain HTTP request was sent to HTTPS port" in page
        failed = client("curl", "-fsS", f"http://127.0.0.1:{n.tls_port}/")
        assert "returned error: 400" in failed
        for text in (page, failed):
            code, rep = ask(text)
            assert (code, top(rep)) == (1, ("protocol-mismatch", "protocol.plain_to_tls"))
            assert commands(rep)[0] == f'curl -vk "https://127.0.0.1:{n.tls_port}/"'
        # The fix, pasted, gets nginx's answer over TLS.
        pasted = subprocess.run(shlex.split(commands(rep)[0]), capture_output=True, text=True,
                                timeout=30)
        assert pasted.returncode == 0 and pasted.stdout == "ok\n"


def test_nginx_bad_gateway_is_the_upstream() -> None:
    """Field trial 5: the 502 is followed to nginx's running configuration,
    whose upstream has nothing listening; the log command is that nginx's."""
    with rs.nginx() as n:
        text = client("curl", "-sS", "-i", f"http://127.0.0.1:{n.front_port}/index.php")
        assert "502 Bad Gateway" in text
        code, rep = ask(text)
        assert (code, top(rep)) == (1, ("nothing-listening", "http.upstream_not_listening"))
        summary = rep["diagnoses"][0]["summary"]
        assert f"nothing listens on its upstream 127.0.0.1:{n.upstream_port}" in summary
        log_command = f"tail -n 20 {n.error_log}"
        assert log_command in commands(rep)
        # Pasted, the log command shows nginx's own words about that upstream.
        shown = subprocess.run(shlex.split(log_command), capture_output=True, text=True,
                               timeout=30)
        assert f"127.0.0.1:{n.upstream_port}" in shown.stdout
    assert "port.reachable" not in [d["rule"] for d in rep["diagnoses"]]
    assert "http.bad_gateway" not in [d["rule"] for d in rep["diagnoses"]]


def test_https_kept_when_the_port_does_speak_tls() -> None:
    """A certificate error is no protocol mismatch: it is the certificate
    (self-signed here), and the commands keep https."""
    with rs.tls_server() as s:
        text = client("curl", "-sS", f"https://127.0.0.1:{s.port}/")
        assert "certificate" in text
        code, rep = ask(text)
    # Its certificate (CN=localhost, no subjectAltName) is not for 127.0.0.1
    # either: trusting it would fail next on the name, so it is to be replaced.
    assert (code, top(rep)) == (1, ("tls-certificate", "cert.untrusted_other_name"))
    assert any(c.startswith(f"openssl s_client -connect 127.0.0.1:{s.port} ")
               for c in commands(rep))
    assert not [d for d in rep["diagnoses"] if d["category"] == "protocol-mismatch"]


# --- HTTP to a database, database clients to the wrong server ------------------

def test_curl_http_to_redis() -> None:
    with rs.redis_server() as r:
        text = client("curl", "-sS", f"http://127.0.0.1:{r.port}/")
        assert "Empty reply from server" in text
        code, rep = ask(text)
    assert (code, top(rep)) == (1, ("protocol-mismatch", "protocol.http_to_service"))
    assert "Redis" in rep["diagnoses"][0]["summary"]
    assert protocol(rep)["by"] == "process"


def test_redis_cli_to_http_port_with_redis_elsewhere() -> None:
    with rs.http_server() as s, rs.redis_server() as r:
        text = client("redis-cli", "-p", str(s.port), "ping")
        assert "Protocol error" in text
        code, rep = ask(text)
    assert (code, top(rep)) == (1, ("protocol-mismatch", "protocol.wrong_server_elsewhere"))
    d, p = rep["diagnoses"][0], protocol(rep)
    assert "plain HTTP" in d["summary"] and f"port {p['wanted_port']}" in d["summary"]
    # Ours, or another redis-server this machine runs on a lower port.
    assert p["wanted_process"] == "redis-server"
    assert p["wanted_port"] == r.port or listening_process(p["wanted_port"]) == "redis-server"
    assert commands(rep)[0] == f"connect redis-cli to port {p['wanted_port']} instead of {s.port}"


def test_psql_to_http_port() -> None:
    with rs.http_server() as s:
        text = client("psql", "-h", "127.0.0.1", "-p", str(s.port), "-U", "postgres", "-c",
                      "select 1", env={"PGCONNECT_TIMEOUT": "3"})
        assert "timeout expired" in text
        code, rep = ask(text)
    assert (code, top(rep)[0]) == (1, "protocol-mismatch")
    assert top(rep)[1] in ("protocol.wrong_server", "protocol.wrong_server_elsewhere")
    assert "PostgreSQL" in rep["diagnoses"][0]["summary"]


def test_mysql_to_http_port() -> None:
    with rs.http_server() as s:
        text = client("mysql", "--connect-timeout=3", "-h", "127.0.0.1", "-P", str(s.port),
                      "-u", "root", "-e", "select 1")
        assert "reading initial communication packet" in text
        code, rep = ask(text)
    assert (code, top(rep)[0]) == (1, "protocol-mismatch")
    assert "MySQL" in rep["diagnoses"][0]["summary"]


def test_postgres_answers_http_and_database_clients() -> None:
    with rs.postgres() as pg:
        curl = client("curl", "-sS", f"http://127.0.0.1:{pg.port}/")
        redis_cli = client("redis-cli", "-p", str(pg.port), "ping")
        mysql = client("mysql", "--connect-timeout=3", "-h", "127.0.0.1", "-P", str(pg.port),
                       "-u", "root", "-e", "select 1")
        reports = [ask(t) for t in (curl, redis_cli, mysql)]
    (c1, curl_rep), (c2, redis_rep), (c3, mysql_rep) = reports
    assert (c1, top(curl_rep)) == (1, ("protocol-mismatch", "protocol.http_to_service"))
    assert "PostgreSQL" in curl_rep["diagnoses"][0]["summary"]
    for code, rep in ((c2, redis_rep), (c3, mysql_rep)):
        assert (code, top(rep)[0]) == (1, "protocol-mismatch")
        assert protocol(rep)["speaks"] == "postgres"
        assert "PostgreSQL" in rep["diagnoses"][0]["summary"]


def test_an_ordinary_user_tells_postgres_by_its_sockets_owner() -> None:
    """As an ordinary user the assistant cannot see the pid of PostgreSQL
    running as `postgres`; the kernel's table still shows the socket's owner."""
    if os.geteuid() != 0:
        pytest.skip("needs root to run PostgreSQL and the assistant as two other users")
    prefix, _ = rs.as_user("nobody")
    script = str(console_script())
    if subprocess.run([*prefix, script, "--version"], capture_output=True,
                      timeout=60).returncode != 0:
        pytest.skip("the installed assistant is not readable by nobody")
    with rs.postgres(user="postgres") as pg, rs.private_dir("nobody") as cache:
        text = client("curl", "-sS", f"http://127.0.0.1:{pg.port}/")
        proc = subprocess.run([*prefix, script, "--ask", text, "--json"], capture_output=True,
                              text=True, timeout=60,
                              env={"PATH": os.environ.get("PATH", ""), "HOME": str(cache),
                                   "ASSISTANT_CACHE_DIR": str(cache)})
    rep = json.loads(proc.stdout)
    assert (proc.returncode, top(rep)) == (1, ("protocol-mismatch", "protocol.http_to_service"))
    p = protocol(rep)
    assert (p["speaks"], p["by"], p["owner"]) == ("postgres", "owner", "postgres")
    assert "process" not in p


def test_curl_http_to_sshd_and_ssh_to_http() -> None:
    with rs.sshd() as ssh_server, rs.http_server() as web:
        curl = client("curl", "-sS", f"http://127.0.0.1:{ssh_server.port}/")
        assert "HTTP/0.9" in curl
        code, rep = ask(curl)
        assert (code, top(rep)) == (1, ("protocol-mismatch", "protocol.http_to_service"))
        assert protocol(rep)["speaks"] == "ssh" and protocol(rep)["greeted"] is True
        ssh = client("ssh", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-p",
                     str(web.port), "localhost", "true")
        assert "kex_exchange_identification" in ssh
        code, rep = ask(ssh)
    # "Connection closed by remote host" is not a client on another machine.
    assert (code, top(rep)) == (1, ("protocol-mismatch", "protocol.wrong_server_elsewhere"))
    p = protocol(rep)
    assert p["wanted_process"] == "sshd"
    assert p["wanted_port"] == ssh_server.port or listening_process(p["wanted_port"]) == "sshd"
    assert "remote-loopback" not in [d["category"] for d in rep["diagnoses"]]


# --- a listener that never accepts --------------------------------------------

def test_full_accept_queue_is_a_process_not_accepting() -> None:
    with rs.never_accepting() as s:
        text = client("curl", "-sS", "--max-time", "3", f"http://127.0.0.1:{s.port}/")
        assert "(28)" in text
        r = run_script("--ask", text, "--json")
    assert r.code == 1, r.err
    d = r.json["diagnoses"][0]
    assert (d["category"], d["rule"]) == ("process-stopped", "process.not_accepting")
    assert d["processes"][0]["pid"] == s.pid
    assert f"ss -ltn 'sport = :{s.port}'" in [f["command"] for f in d["fix"]]


# --- a forwarder with nothing behind it ---------------------------------------

def test_docker_proxy_with_its_container_gone() -> None:
    with rs.gone_forwarder() as f:
        text = client("curl", "-sS", f"http://127.0.0.1:{f.port}/")
        # (52) when it closes before curl's request arrives, (56) after.
        assert "curl: (52) Empty reply" in text or "curl: (56) Recv failure" in text
        code, rep = ask(text)
    assert (code, top(rep)) == (0, ("reachable", "container.nothing_behind_forwarder"))
    assert "container.app_not_answering" not in [d["rule"] for d in rep["diagnoses"]]


# --- browsers that refuse a port ----------------------------------------------

def test_chromium_refuses_an_unsafe_port() -> None:
    import socket

    def chromium() -> str:
        text = client("chromium", "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom",
                      "http://127.0.0.1:6000/")
        assert "ERR_UNSAFE_PORT" in text
        return text

    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", 6000)) == 0:
            pytest.skip("port 6000 is in use on this machine")
    web = subprocess.Popen([sys.executable, "-m", "http.server", "6000", "--bind", "127.0.0.1"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:  # a server there: the browser's list alone is the cause
        for _ in range(100):
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", 6000)) == 0:
                    break
            time.sleep(0.05)
        code, rep = ask(chromium())
        assert (code, top(rep)) == (1, ("client-blocked-port", "client.unsafe_port"))
        assert [d["category"] for d in rep["diagnoses"]] == ["client-blocked-port"]
        assert "chromium --explicitly-allowed-ports=6000" in commands(rep)
    finally:
        web.kill()
        web.wait(5)
    # Field trial 11: nothing there either, so allowing the port would only
    # turn it into "connection refused": both are said, the ordinary port first.
    code, rep = ask(chromium())
    assert (code, top(rep)) == (1, ("client-blocked-port", "client.unsafe_port_nothing_listening"))
    assert "chromium --explicitly-allowed-ports=6000" not in commands(rep)


def test_firefox_restricted_page_without_a_port() -> None:
    code, rep = ask("This address is restricted\nThis address uses a network port which is "
                    "normally used for purposes other than Web browsing. Firefox has canceled "
                    "the request for your protection.")
    assert (code, rep["kind"], top(rep)) == (1, "diagnosis", ("client-blocked-port",
                                                               "client.unsafe_port_firefox"))
    assert rep["questions"] == []
    assert any("network.security.ports.banned.override" in c for c in commands(rep))


def test_nginx_502_fastcgi_socket_beside_the_served_one() -> None:
    """nginx-fastcgi-pass-php8.1-sock-fpm-is-8.2 (field trials 5 and 6): nginx
    names php8.1's socket, a server listens on php8.2's beside it (here a
    stand-in listening on that path). The answer names the served socket, and
    its reload command, pasted, reloads this nginx (-p and -c included)."""
    import socket as socketlib

    binary = rs.need("nginx", "/usr/sbin/nginx")
    front = rs.free_port()
    with rs.private_dir() as d:
        (d / "run").mkdir()
        served = socketlib.socket(socketlib.AF_UNIX, socketlib.SOCK_STREAM)
        served.bind(str(d / "run" / "php8.2-fpm.sock"))
        served.listen(8)
        try:
            (d / "nginx.conf").write_text(rs.nginx_config(d, f"""
  server {{ listen 127.0.0.1:{front};
           location / {{ fastcgi_pass unix:{d}/run/php8.1-fpm.sock; }} }}"""))
            with rs.started(rs.nginx_argv(binary, d), front, "nginx"):
                text = client("curl", "-sS", "-i", f"http://127.0.0.1:{front}/index.php")
                assert "502 Bad Gateway" in text
                code, rep = ask(text)
                assert (code, top(rep)) == (1, ("nothing-listening",
                                                "http.upstream_socket_beside")), rep["diagnoses"]
                assert f"{d}/run/php8.2-fpm.sock beside it" in rep["diagnoses"][0]["summary"]
                reload = next(c for c in commands(rep) if c.endswith("-s reload"))
                assert f"-c {d}/nginx.conf" in reload
                done = subprocess.run(shlex.split(reload.removeprefix("sudo ")),
                                      capture_output=True, text=True, timeout=30)
                assert done.returncode == 0, done.stderr
        finally:
            served.close()


def test_nginx_502_upstream_on_the_other_loopback() -> None:
    """proxy_pass http://127.0.0.1:PORT while the app listens on ::1 only (a
    Node server told 'localhost'): the port listens, the address does not."""
    binary = rs.need("nginx", "/usr/sbin/nginx")
    front = rs.free_port()
    with rs.http_server("::1") as app, rs.private_dir() as d:
        (d / "nginx.conf").write_text(rs.nginx_config(d, f"""
  server {{ listen 127.0.0.1:{front};
           location / {{ proxy_pass http://127.0.0.1:{app.port}; }} }}"""))
        with rs.started(rs.nginx_argv(binary, d), front, "nginx"):
            text = client("curl", "-sS", "-i", f"http://127.0.0.1:{front}/")
            assert "502 Bad Gateway" in text
            code, rep = ask(text)
    assert (code, top(rep)) == (1, ("wrong-bind-address", "http.upstream_other_address")), \
        rep["diagnoses"]
    assert f"upstream 127.0.0.1:{app.port}" in rep["diagnoses"][0]["summary"]
    assert "http.upstream_listening" not in [d["rule"] for d in rep["diagnoses"]]


def test_ssh_host_key_changed(tmp_path: Path) -> None:
    """Field trial 13: ssh's "REMOTE HOST IDENTIFICATION HAS CHANGED" was read
    as a client on another machine. It is this sshd with another key; the
    printed ssh-keyscan line shows the fingerprint ssh printed."""
    for tool in ("ssh", "ssh-keygen", "ssh-keyscan"):
        rs.need(tool)
    old = tmp_path / "old"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(old)], check=True,
                   capture_output=True, timeout=30)
    with rs.sshd() as s:
        known = tmp_path / "known_hosts"
        known.write_text(f"[127.0.0.1]:{s.port} {(tmp_path / 'old.pub').read_text()}")
        text = client("ssh", "-o", f"UserKnownHostsFile={known}", "-o", "StrictHostKeyChecking=yes",
                      "-o", "BatchMode=yes", "-p", str(s.port), "127.0.0.1", "true")
        assert "REMOTE HOST IDENTIFICATION HAS CHANGED" in text
        code, rep = ask(text)
        assert (code, top(rep)) == (0, ("reachable", "answer.ssh_host_key_changed"))
        assert rep["questions"] == []  # not "a client on another machine"
        scan = next(c for c in commands(rep) if c.startswith("ssh-keyscan"))
        shown = subprocess.run(["sh", "-c", scan], capture_output=True, text=True, timeout=30)
        printed = next(w for w in text.split() if w.startswith("SHA256:")).rstrip(".")
        assert printed in shown.stdout, (scan, shown.stdout)
