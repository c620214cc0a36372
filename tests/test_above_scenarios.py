"""The second field trial's protocol mismatches above TCP, for real: each
starts the real server, runs the real client, and asks the assistant about
its words (as the trial's user pasted them: the command line, then the
output). The printed fixes are run where they can be.

psql-sslmode-require-server-no-ssl, mysql-ssl-to-mariadb-without-tls,
redis-cli-tls-to-plain, grpc-python-to-http1-server,
curl-http2-prior-knowledge-to-http1, redis-protected-mode-lan-ip,
curl-https_proxy-tinyproxy-connect-403, node-server-crashes-on-request-curl.
"""

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
from tests.test_protocol_scenarios import client, protocol, top

GRPC_CLIENT = """
import grpc, sys
channel = grpc.insecure_channel(sys.argv[1])
say_hello = channel.unary_unary('/helloworld.Greeter/SayHello')
print(say_hello(b'', timeout=5))
"""


def ask(text: str, environ: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    env = {"PATH": os.environ.get("PATH", ""), **(environ or {})}
    r = run_cli("--ask", text, "--json", environ=env)
    assert r.err == "", r.err
    return r.code, r.json


def rules(rep: dict[str, Any]) -> list[str]:
    return [d["rule"] for d in rep["diagnoses"]]


def fixes(rep: dict[str, Any], os_name: str) -> list[str]:
    return [f["command"] for f in rep["diagnoses"][0]["fix"] if f["os"] == os_name]


# --- the client requires TLS, the database has none ---------------------------

def test_psql_sslmode_require_to_a_server_without_ssl_console_script() -> None:
    with rs.postgres(listen="::1") as pg:
        url = f"postgresql://postgres@[::1]:{pg.port}/postgres"
        text = client("psql", f"{url}?sslmode=require", "-c", "select 1")
        assert "server does not support SSL, but SSL was required" in text
        r = run_script("--ask", text, "--json")
        # The fix the diagnosis names: sslmode=prefer connects.
        fixed = client("psql", f"{url}?sslmode=prefer", "-c", "select 1")
    assert r.code == 1, r.err
    d = r.json["diagnoses"][0]
    assert (d["category"], d["rule"]) == ("protocol-mismatch", "protocol.pg_tls_required")
    assert "sslmode=prefer" in d["summary"] and "ssl on in the server" in d["summary"]
    assert any("ssl = on" in f["command"] for f in d["fix"])
    assert "port.reachable_service" not in rules(r.json)
    assert "(1 row)" in fixed


def test_mysql_error_2026_to_mariadb_without_tls() -> None:
    with rs.mariadb() as my:
        argv = ["mysql", "--no-defaults", "-h", "127.0.0.1", "-P", str(my.port), "-u", "root"]
        text = client(*argv, "--ssl-verify-server-cert", "-e", "select 1")
        assert "ERROR 2026 (HY000)" in text and "SSL is required, but the server does not " \
            "support it" in text
        code, rep = ask(text)
        fixed = client(*argv, "-e", "select 1")  # without the option that requires TLS
    assert (code, top(rep)) == (1, ("protocol-mismatch", "protocol.mysql_tls_required"))
    assert "--ssl-verify-server-cert" in rep["diagnoses"][0]["summary"]
    assert protocol(rep)["speaks"] == "mysql"  # the probe heard the MariaDB handshake
    assert fixed.split()[-2:] == ["1", "1"]


# --- TLS to a plain Redis -------------------------------------------------------

@pytest.mark.parametrize("said", ["\nit just hangs with --tls, prints nothing until I press "
                                  "Ctrl-C\n", ""])
def test_redis_cli_tls_to_plain_redis(said: str) -> None:
    with rs.redis_server() as r:
        hung = client("timeout", "-s", "INT", "3", "redis-cli", "--tls", "-h", "127.0.0.1", "-p",
                      str(r.port), "ping")
        # What the terminal shows: the command, nothing, then the user's ^C.
        text = f"$ redis-cli --tls -h 127.0.0.1 -p {r.port} ping\n^C\n{said}"
        assert "PONG" not in hung
        code, rep = ask(text)
        fix = fixes(rep, "linux")[0]
        pasted = subprocess.run(shlex.split(fix), capture_output=True, text=True, timeout=30)
    assert (code, top(rep)) == (1, ("protocol-mismatch", "protocol.redis_tls_to_plain"))
    assert protocol(rep)["speaks"] == "redis" and protocol(rep)["by"] == "exchange"
    assert fix == f"redis-cli -h 127.0.0.1 -p {r.port} ping"
    assert pasted.stdout.strip() == "PONG"
    assert not rep["questions"]


# --- HTTP/2 without negotiation to an HTTP/1.x server -------------------------

def test_grpc_python_to_an_http1_server() -> None:
    pytest.importorskip("grpc")
    with rs.http_server() as s:
        out = client(sys.executable, "-c", GRPC_CLIENT, f"localhost:{s.port}")
        assert "Failed parsing HTTP/2" in out
        # The trial's paste was the traceback alone.
        text = out[out.index("Traceback"):]
        code, rep = ask(text)
    assert (code, top(rep)) == (1, ("protocol-mismatch", "protocol.http2_to_http1"))
    p = protocol(rep)
    assert (p["client_speaks"], p["speaks"], p["sent"]) == ("http2", "http", "http-request")
    assert p["detail"].startswith("HTTP/1.0 200 OK")
    assert "gRPC" in rep["diagnoses"][0]["summary"]
    assert rep["questions"] == []  # the client reached a server: where it runs is not asked


def test_curl_http2_prior_knowledge_to_an_http1_server() -> None:
    with rs.http_server() as s:
        text = client("curl", "-sS", "--http2-prior-knowledge", f"http://127.0.0.1:{s.port}/")
        # http.server answers the preface with a 400 and closes: curl reads
        # nothing, or its own send fails first, by timing.
        assert "curl: (52) Empty reply from server" in text or "curl: (55) Send failure" in text
        code, rep = ask(text)
        fix = fixes(rep, "any")[0]
        pasted = subprocess.run(shlex.split(fix), capture_output=True, text=True, timeout=30)
    assert (code, top(rep)) == (1, ("protocol-mismatch", "protocol.http2_to_http1"))
    assert "--http2-prior-knowledge" in rep["diagnoses"][0]["summary"]
    assert fix == f'curl -v "http://127.0.0.1:{s.port}/"'
    assert pasted.returncode == 0 and "HTTP/1.0 200 OK" in pasted.stderr


# --- Redis's protected mode, reached on a LAN address ---------------------------

REDIS_NETNS = """set -e
ip link set lo up
ip addr add 10.203.0.1/32 dev lo
redis-server --port 6379 --bind '* -::*' --protected-mode yes --save '' --appendonly no \\
  --dir {d} --daemonize yes --pidfile {d}/redis.pid --logfile {d}/redis.log
for i in $(seq 50); do redis-cli ping >/dev/null 2>&1 && break; sleep 0.1; done
OUT=$(redis-cli -h 10.203.0.1 ping)
printf '%s\\n' "$OUT" > {d}/client.txt
TEXT=$(printf '$ redis-cli -h 10.203.0.1 ping\\n%s\\n' "$OUT")
{assistant} --ask "$TEXT" --json > {d}/report.json || true
{assistant} --ask "$OUT" --json > {d}/alone.json || true
FIX=$({python} -c {pick} {d}/report.json)
sh -c "$FIX" > {d}/fixed.txt 2>&1 || true
redis-cli shutdown nosave || true
"""
# The report's first linux fix, run inside the namespace.
PICK = ("import json, sys; r = json.load(open(sys.argv[1])); "
        "print([f['command'] for f in r['diagnoses'][0]['fix'] if f['os'] == 'linux'][0])")


@pytest.mark.root
def test_redis_protected_mode_on_a_lan_address(tmp_path: Path) -> None:
    """redis-cli -h <this machine's LAN address>: Redis refuses it (protected
    mode) though it runs here. Only a private network namespace may have a
    LAN-style address (10.203.0.1 on its lo); server, client, assistant and
    the printed fix all run in it."""
    if os.geteuid() != 0 or shutil.which("unshare") is None or shutil.which("ip") is None:
        pytest.skip("needs root, unshare and ip for a private network namespace")
    rs.need("redis-server")
    rs.need("redis-cli")
    script = REDIS_NETNS.format(d=tmp_path, assistant=console_script(),
                                python=shlex.quote(sys.executable), pick=shlex.quote(PICK))
    proc = subprocess.run(["unshare", "-n", "sh", "-c", script], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "NO_COLOR": "1"})
    assert proc.returncode == 0, proc.stderr
    said = (tmp_path / "client.txt").read_text()
    assert said.startswith("DENIED Redis is running in protected mode"), proc.stderr
    rep = json.loads((tmp_path / "report.json").read_text())
    d = rep["diagnoses"][0]
    assert (d["category"], d["rule"]) == ("reachable", "protocol.redis_protected_mode")
    assert "protected mode" in d["summary"] and "127.0.0.1" in d["summary"]
    assert "-DENIED" in protocol(rep)["detail"]  # its own probe was refused the same way
    assert fixes(rep, "linux")[0] == "redis-cli -h 127.0.0.1 -p 6379 ping"
    assert (tmp_path / "fixed.txt").read_text().strip() == "PONG"  # the printed fix works
    unsafe = [f for f in d["fix"] if "protected-mode no" in f["command"]]
    assert unsafe and all("WARNING" in f["why"] for f in unsafe)
    # The DENIED line alone (field trial 3): no address, yet protected mode is named.
    alone = json.loads((tmp_path / "alone.json").read_text())
    d = alone["diagnoses"][0]
    assert (d["category"], d["rule"]) == ("reachable", "protocol.redis_protected_mode_text_only")
    assert fixes(alone, "linux")[0] == "redis-cli -h 127.0.0.1 -p 6379 ping"


# --- the proxy refuses CONNECT with 403 --------------------------------------------

def test_curl_through_tinyproxy_that_answers_connect_with_403(tmp_path: Path) -> None:
    with rs.https_server({"health": "ok\n"}) as app, rs.tinyproxy() as proxy:
        env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path),
               "https_proxy": f"http://127.0.0.1:{proxy.port}", "no_proxy": "localhost"}
        url = f"https://127.0.0.1:{app.port}/health"
        argv = ["curl", "-sS", url, "-k"]
        out = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=30)
        assert out.stderr.strip() == "curl: (56) CONNECT tunnel failed, response 403"
        text = f"$ {shlex.join(argv)}\n{out.stderr}"
        code, rep = ask(text, env)
        d = rep["diagnoses"][0]
        oneshot = fixes(rep, "linux")[1]
        pasted = subprocess.run(["bash", "-c", oneshot], capture_output=True, text=True, env=env,
                                timeout=30)
        export = fixes(rep, "linux")[0]
        again = subprocess.run(["bash", "-c", f"{export}\n{shlex.join(argv)}"],
                               capture_output=True, text=True, env=env, timeout=30)
    assert (code, d["category"], d["rule"]) == (1, "proxy", "client.proxy_forbidden")
    assert "403 Forbidden" in d["summary"] and "reset" not in d["summary"]
    assert "client.proxy_in_the_way" not in rules(rep)
    # The user's -k and path stay: pasted, it gets the page (it failed with (60) before).
    assert oneshot == f"curl --noproxy 127.0.0.1 -sS {url} -k"
    assert (pasted.returncode, pasted.stdout) == (0, "ok\n"), pasted.stderr
    assert (again.returncode, again.stdout) == (0, "ok\n"), again.stderr
    windows = fixes(rep, "windows")[-1]
    assert windows == f'curl.exe --noproxy "*" -sS {url} -k'


# --- the server died handling the request -------------------------------------------

def test_curl_empty_reply_from_a_server_that_crashed_on_it() -> None:
    with rs.crashing_on_request() as app:
        text = client("curl", "-sS", f"http://127.0.0.1:{app.port}/api/hello")
        assert "curl: (52) Empty reply from server" in text
        app.proc.wait(10)  # it died of the request
        crash = app.proc.stdout.read().decode() if app.proc.stdout else ""
        assert "TypeError" in crash
        code, rep = ask(text)
    assert (code, top(rep)) == (1, ("nothing-listening", "port.died_on_request"))
    d = rep["diagnoses"][0]
    assert "died while handling the request" in d["summary"]
    assert "exits at start-up" not in json.dumps(d)
    assert {"port.nothing_listening", "port.typo"}.isdisjoint(rules(rep))


def test_the_same_port_refused_without_an_empty_reply_is_nothing_listening() -> None:
    with rs.crashing_on_request() as app:
        port = app.port
    time.sleep(0.2)
    text = client("curl", "-sS", f"http://127.0.0.1:{port}/api/hello")
    assert "curl: (7)" in text
    code, rep = ask(text)
    assert "port.died_on_request" not in rules(rep)
    assert top(rep)[0] in ("nothing-listening", "port-typo")


# --- Redis at its maxclients limit (field trial 3) ----------------------------------

def test_redis_at_its_maxclients_limit() -> None:
    """redis-cli-maxclients-reached: Redis takes one client; one connection
    held open, redis-cli gets '-ERR max number of clients reached'."""
    import socket

    with rs.redis_server("--maxclients", "1") as srv:
        # The one slot, taken and confirmed with a PING (a readiness check's
        # connection may still hold it for a moment: then Redis refuses ours).
        for _ in range(50):
            held = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
            held.sendall(b"PING\r\n")
            if held.recv(64).startswith(b"+PONG"):
                break
            held.close()
            time.sleep(0.1)
        try:
            said = client("redis-cli", "-p", str(srv.port), "ping")
            assert "ERR max number of clients reached" in said
            code, rep = ask(said)
            assert top(rep) == ("reachable", "protocol.redis_maxclients")
            # The printed count, pasted: the one connection held open.
            count = subprocess.run(["sh", "-c", fixes(rep, "linux")[0]], capture_output=True,
                                   text=True, timeout=30)
            assert count.stdout.strip() == "1", count.stderr
            # A client whose words do not say it: the protocol check met it.
            code, rep = ask(f"cannot connect to redis at 127.0.0.1:{srv.port}")
            assert top(rep) == ("reachable", "protocol.redis_maxclients_seen")
        finally:
            held.close()
