"""The server answered and refused the login or the session (field trial 4:
mysql-wrong-password-not-network, redis-cli-noauth-password-required,
psql-too-many-clients-already): real servers, real clients, and the
assistant naming the answer instead of "the problem is above TCP". No
network cause is invented, and a password on the pasted command line never
comes back."""

from __future__ import annotations

import subprocess
import time

import psycopg2  # type: ignore[import-untyped]
import pytest

from tests import realservers as rs
from tests.support import free_port
from tests.test_protocol_scenarios import ask, client, top
from tests.test_unix_databases import My, my  # noqa: F401  (the MariaDB fixture)


def test_mysql_wrong_password(my: My) -> None:  # noqa: F811
    my.start(str(my.root / "sock" / "mysql.sock"), "--bind-address=127.0.0.1")
    said = client("mysql", "--no-defaults", "-h", "127.0.0.1", "-P", str(my.port), "-u", "root",
                  "-pNotThePassword1", "-e", "select 1")
    assert "ERROR 1045 (28000)" in said
    code, rep = ask(said)
    # Its own socket is found through its process: the admin listing uses it.
    assert (code, top(rep)) == (0, ("reachable", "answer.mysql_access_denied_socket"))
    assert "NotThePassword1" not in str(rep)
    # The account the server refused, in the retry command (field trial 8: -u USER).
    assert f"mysql -h 127.0.0.1 -P {my.port} -u root -p" in [
        f["command"] for f in rep["diagnoses"][0]["fix"]]


def test_mysql_unknown_database(my: My) -> None:  # noqa: F811
    """mariadb-unknown-database-shopdb (field trial 5), with the prompt's line
    the trial pasted: the password prompt's next line is not a password."""
    my.start(str(my.root / "sock" / "mysql.sock"), "--bind-address=127.0.0.1")
    said = client("mysql", "--no-defaults", "-h", "127.0.0.1", "-P", str(my.port), "-u", "root",
                  "shopdb", "-e", "select 1")
    assert "ERROR 1049 (42000): Unknown database 'shopdb'" in said
    code, rep = ask(said.replace("\n", "\nEnter password: \n", 1))
    assert (code, top(rep)) == (0, ("reachable", "answer.mysql_unknown_db"))
    assert "ERROR 1049" in rep["input"]  # not masked as a password
    shown = subprocess.run(["mysql", "--no-defaults", "-h", "127.0.0.1", "-P", str(my.port),
                            "-u", "root", "-e", "SHOW DATABASES"], capture_output=True, text=True,
                           timeout=30)
    assert "mysql" in shown.stdout and "shopdb" not in shown.stdout


def test_postgres_unknown_database_and_no_pg_hba_line() -> None:
    with rs.postgres("nobody") as pg:
        said = client("psql", "-h", "127.0.0.1", "-p", str(pg.port), "-U", "postgres", "-d",
                      "shopdb", "-c", "select 1")
        assert 'database "shopdb" does not exist' in said
        code, rep = ask(said)
        assert (code, top(rep)) == (0, ("reachable", "answer.pg_unknown_db"))
        # pg_hba.conf with TLS-only lines for TCP, the server without TLS:
        # psql-uri-pg_hba-hostssl-only-server-ssl-off (field trial 5).
        admin = psycopg2.connect(host="127.0.0.1", port=pg.port, user="postgres",
                                 dbname="postgres")
        admin.autocommit = True
        cur = admin.cursor()
        cur.execute("SHOW hba_file")
        hba = cur.fetchone()[0]
        subprocess.run(["sh", "-c", f"printf 'local all all trust\\nhostssl all all "
                        f"127.0.0.1/32 trust\\n' > {hba}"], check=True, timeout=30)
        cur.execute("SELECT pg_reload_conf()")
        admin.close()
        time.sleep(0.5)
        said = client("psql", f"postgresql://postgres@127.0.0.1:{pg.port}/postgres", "-c",
                      "select 1")
        assert "no pg_hba.conf entry" in said and "no encryption" in said, said
        code, rep = ask(said)
    assert (code, top(rep)) == (0, ("reachable", "answer.pg_hba_no_entry"))
    assert "answer.pg_auth_failed" not in [d["rule"] for d in rep["diagnoses"]]


def test_redis_wants_a_password() -> None:
    with rs.redis_server("--requirepass", "s3cret-pass") as srv:
        said = client("redis-cli", "-p", str(srv.port), "get", "session:42")
        assert "NOAUTH Authentication required" in said
        code, rep = ask(said)
        assert (code, top(rep)) == (0, ("reachable", "answer.redis_auth"))
        # The printed command, with the password typed at its prompt: PONG.
        cmd = next(f["command"] for f in rep["diagnoses"][0]["fix"] if "--askpass" in f["command"])
        done = subprocess.run(["sh", "-c", cmd], input="s3cret-pass\n", capture_output=True,
                              text=True, timeout=30)
        assert done.stdout.strip().endswith("PONG"), done.stdout + done.stderr


def test_postgres_without_a_free_connection_slot() -> None:
    with rs.postgres("nobody", extra=("-c", "max_connections=3",
                                      "-c", "superuser_reserved_connections=1")) as pg:
        held = []
        try:
            # Two ordinary slots; the third is a superuser's. A non-superuser
            # role fills the two, then psql as that role is turned away.
            admin = psycopg2.connect(host="127.0.0.1", port=pg.port, user="postgres",
                                     dbname="postgres")
            admin.autocommit = True
            admin.cursor().execute("CREATE ROLE app LOGIN")
            admin.close()
            for _ in range(2):
                held.append(psycopg2.connect(host="127.0.0.1", port=pg.port, user="app",
                                             dbname="postgres"))
            time.sleep(0.2)
            said = client("psql", "-h", "127.0.0.1", "-p", str(pg.port), "-U", "app", "-d",
                          "postgres", "-c", "select 1")
            assert "too many clients already" in said or "reserved" in said, said
            code, rep = ask(said)
            assert (code, top(rep)) == (0, ("reachable", "answer.pg_too_many_clients"))
            # The printed query, as the superuser on the reserved slot: who holds them.
            query = rep["diagnoses"][0]["fix"][0]["command"]
            shown = subprocess.run(["sh", "-c", query], capture_output=True, text=True,
                                   timeout=30)
            assert " app " in shown.stdout, shown.stdout + shown.stderr
        finally:
            for c in held:
                c.close()


WS_CLIENT = ("import asyncio, sys, websockets\n"
             "async def main():\n"
             "    async with websockets.connect(sys.argv[1], open_timeout=5) as ws:\n"
             "        await ws.send('hi')\n"
             "asyncio.run(main())\n")


# An HTTP/1.1 application answering every path with 200 (http.server speaks
# HTTP/1.0, which websockets rejects before looking at the status).
HTTP11 = ("import http.server, sys\n"
          "class H(http.server.BaseHTTPRequestHandler):\n"
          "    protocol_version = 'HTTP/1.1'\n"
          "    def do_GET(self):\n"
          "        body = b'hello\\n'\n"
          "        self.send_response(200)\n"
          "        self.send_header('Content-Length', str(len(body)))\n"
          "        self.end_headers()\n"
          "        self.wfile.write(body)\n"
          "http.server.HTTPServer(('127.0.0.1', int(sys.argv[1])), H).serve_forever()\n")


def test_a_websocket_client_at_a_plain_http_path() -> None:
    """websockets-client-to-plain-http-endpoint: an HTTP server answers the
    handshake with a plain status; the printed handshake by hand shows it."""
    import sys

    pytest.importorskip("websockets")
    port = free_port()
    with rs.started([sys.executable, "-c", HTTP11, str(port)], port, "http/1.1 server") as srv:
        url = f"ws://127.0.0.1:{srv.port}/ws"
        said = client(sys.executable, "-c", WS_CLIENT, url)
        assert "server rejected WebSocket connection: HTTP" in said, said
        code, rep = ask(said)
        assert (code, top(rep)) == (1, ("protocol-mismatch", "protocol.ws_not_upgraded"))
        cmd = rep["diagnoses"][0]["fix"][0]["command"].replace("/PATH", "/ws")
        shown = subprocess.run(["sh", "-c", cmd], capture_output=True, text=True, timeout=30)
        first = shown.stdout.splitlines()[0] if shown.stdout else ""
        assert first.startswith("HTTP/") and " 101 " not in first, shown.stdout + shown.stderr


WS_ECHO = ("import asyncio, sys, websockets\n"
           "async def echo(ws):\n"
           "    async for m in ws:\n"
           "        await ws.send(m)\n"
           "async def main():\n"
           "    async with websockets.serve(echo, '127.0.0.1', int(sys.argv[1])):\n"
           "        await asyncio.Future()\n"
           "asyncio.run(main())\n")


def test_nginx_drops_a_websockets_upgrade() -> None:
    """Field trial 9 (ws-nginx-no-upgrade): nginx proxies /ws/ to a websockets
    server without the Upgrade headers; the backend answers 426. The answer
    names the two proxy_set_header lines; added and reloaded, the client works."""
    import sys

    pytest.importorskip("websockets")
    binary = rs.need("nginx", "/usr/sbin/nginx")
    back, front = free_port(), free_port()
    with rs.started([sys.executable, "-c", WS_ECHO, str(back)], back, "websockets server"), \
            rs.private_dir() as d:
        location = f"location /ws/ {{ proxy_pass http://127.0.0.1:{back}; proxy_http_version 1.1; }}"
        conf = d / "nginx.conf"
        conf.write_text(rs.nginx_config(d, f"server {{ listen 127.0.0.1:{front}; {location} }}"))
        with rs.started(rs.nginx_argv(binary, d), front, "nginx") as srv:
            url = f"ws://127.0.0.1:{srv.port}/ws/"
            said = client(sys.executable, "-c", WS_CLIENT, url)
            assert "HTTP 426" in said, said
            code, rep = ask(said)
            # Its configuration read (field trial 10): the reload is this nginx's own.
            assert (code, top(rep)) == (1, ("protocol-mismatch",
                                            "protocol.ws_upgrade_dropped_nginx_conf"))
            fix = [f["command"] for f in rep["diagnoses"][0]["fix"]]
            lines = fix[0].split(": ", 1)[1]
            assert "proxy_set_header Upgrade $http_upgrade;" in lines
            conf.write_text(conf.read_text().replace("proxy_http_version 1.1;", lines))
            reload = next(c for c in fix if "-s reload" in c).removeprefix("sudo ")
            assert str(d) in reload, reload
            done = subprocess.run(["sh", "-c", reload], capture_output=True, text=True, timeout=30)
            assert done.returncode == 0, done.stderr
            for _ in range(50):
                done = subprocess.run([sys.executable, "-c", WS_CLIENT, url], capture_output=True,
                                      text=True, timeout=30)
                if done.returncode == 0:
                    break
                time.sleep(0.1)
            assert done.returncode == 0, done.stderr
