"""Forms of address the parser once missed, one wording each: Python's
address tuples, socket paths with spaces, redis-py's socket, a server's
listen on a socket path, curl --unix-socket, PHP's MySQL drivers, Redis's
protected-mode refusal; and a paste's impossible value, which is never a
usage error (typed text's still is: tests/test_symptoms.py)."""

from __future__ import annotations

import pytest

from assistant.understand import symptoms

# (text, host, port, quoted) for Python's tuples.
TUPLES = [
    # asyncio, every client (websockets, aiohttp, asyncpg, redis.asyncio)
    ("OSError: Multiple exceptions: [Errno 111] Connect call failed ('::1', 8765, 0, 0), "
     "[Errno 111] Connect call failed ('127.0.0.1', 8765)", "::1", 8765, ["::1", "127.0.0.1"]),
    ("ConnectionRefusedError: [Errno 111] Connect call failed ('127.0.0.1', 8765)",
     "127.0.0.1", 8765, ["127.0.0.1"]),
    # asyncio's server (uvicorn, aiohttp): IPv6 and the wildcard
    ("ERROR:    [Errno 98] error while attempting to bind on address ('::', 8000, 0, 0): "
     "address already in use", "::", 8000, ["::"]),
    # as developers quote it in their notes (socketserver-style servers)
    ("OSError: [Errno 98] Address already in use: ('127.0.0.1', 3000)", "127.0.0.1", 3000,
     ["127.0.0.1"]),
    # Python binds '' to every address: no host, the port still counts
    ("OSError: [Errno 98] Address already in use: ('', 5000)", None, 5000, []),

    # redis.asyncio names the host it was given before asyncio's tuple
    ("redis.exceptions.ConnectionError: Error 111 connecting to localhost:6390. Connect call "
     "failed ('127.0.0.1', 6390).", "localhost", 6390, []),
]


@pytest.mark.parametrize("text,host,port,quoted", TUPLES)
def test_python_address_tuples(text: str, host: str | None, port: int, quoted: list[str]) -> None:
    t = symptoms.parse(text)
    assert (t.host, t.port, t.quoted, t.client) == (host, port, quoted, "python")


def test_socketservers_peer_is_not_the_port() -> None:
    """socketserver names the client's own (ephemeral) address."""
    t = symptoms.parse("Exception occurred during processing of request from ('127.0.0.1', "
                       "53422)\nConnectionResetError: [Errno 104] Connection reset by peer")
    assert (t.port, t.quoted) == (None, [])


def test_gunicorn_names_its_address_once_per_retry_quoted_once() -> None:
    line = "[2026-11-29 16:15:39 +0000] [2938] [ERROR] Connection in use: ('127.0.0.1', 8000)\n"
    t = symptoms.parse(line * 3)
    assert (t.host, t.port, t.error, t.role, t.quoted) == ("127.0.0.1", 8000, "in-use", "server",
                                                             ["127.0.0.1"])


# (text, path, error, client, role)
SOCKETS = [
    ('psql: error: connection to server on socket "/tmp/my dir/.s.PGSQL.5432" failed: No such '
     "file or directory", "/tmp/my dir/.s.PGSQL.5432", "missing", "psql", "client"),
    ("ERROR 2002 (HY000): Can't connect to local server through socket '/tmp/my dir/mysqld.sock' "
     "(2)", "/tmp/my dir/mysqld.sock", "missing", "mysql", "client"),
    ("error: dial unix /tmp/my dir/app.sock: connect: connection refused", "/tmp/my dir/app.sock",
     "refused", "go", "client"),
    ("listen unix /tmp/my dir/app.sock: bind: address already in use", "/tmp/my dir/app.sock",
     "in-use", "go", "server"),
    ("redis.exceptions.ConnectionError: Error 13 connecting to /tmp/f2redis/redis.sock. Permission "
     "denied.", "/tmp/f2redis/redis.sock", "permission", "python", "client"),
    ("redis.exceptions.ConnectionError: Error 2 connecting to /tmp/my dir/redis.sock. No such file "
     "or directory.", "/tmp/my dir/redis.sock", "missing", "python", "client"),
    ("redis.exceptions.ConnectionError: Error 111 connecting to /tmp/r/redis.sock. Connection "
     "refused.", "/tmp/r/redis.sock", "refused", "python", "client"),
    ("Error: listen EADDRINUSE: address already in use /tmp/my dir/app.sock\n    at Server."
     "setupListenHandle [as _listen2] (node:net:1886:21)", "/tmp/my dir/app.sock", "in-use", "node",
     "server"),
    # node's error object alone: the pipe's address, and port -1, which is not a port
    ("  code: 'EADDRINUSE',\n  errno: -98,\n  syscall: 'listen',\n  address: '/tmp/app.sock',\n"
     "  port: -1\n}", "/tmp/app.sock", "in-use", "node", "server"),
    ("$ curl -sS --unix-socket '/tmp/my dir/app.sock' http://localhost/health\ncurl: (7) Failed to "
     "connect to localhost port 80 after 0 ms: Couldn't connect to server", "/tmp/my dir/app.sock",
     None, "curl", "client"),  # curl's words for any failed connect(): the socket decides
]


@pytest.mark.parametrize("text,path,error,client,role", SOCKETS)
def test_socket_paths(text: str, path: str, error: str | None, client: str, role: str) -> None:
    t = symptoms.parse(text)
    assert (t.path, t.host, t.error, t.client, t.role) == (path, None, error, client, role)


def test_curl_without_unix_socket_is_tcp() -> None:
    t = symptoms.parse("$ curl -sS http://localhost/health\ncurl: (7) Failed to connect to "
                       "localhost port 80 after 0 ms: Couldn't connect to server")
    assert (t.path, t.host, t.port) == (None, "localhost", 80)


PDO = "PHP Fatal error:  Uncaught PDOException: SQLSTATE[HY000] [2002] {} in /app/db.php:2\n"


@pytest.mark.parametrize("text,path,assumed,host,port", [
    # no connection string: "No such file" says the driver used a socket
    (PDO.format("No such file or directory"), "/var/run/mysqld/mysqld.sock", True, None, None),
    # host=localhost means the socket; the DSN's port is kept to find the server on TCP
    (PDO.format("No such file or directory")
     + "$pdo = new PDO('mysql:host=localhost;port=3307;dbname=app', 'u', 'p');",
     "/var/run/mysqld/mysqld.sock", True, None, 3307),
    (PDO.format("Connection refused") + '$pdo = new PDO("mysql:unix_socket=/tmp/my dir/m.sock;'
     'dbname=app", "u", "p");', "/tmp/my dir/m.sock", False, None, None),
    (PDO.format("Connection refused") + "new PDO('mysql:host=127.0.0.1;port=3307', 'u', 'p');",
     None, False, "127.0.0.1", 3307),
    ("PHP Fatal error:  Uncaught mysqli_sql_exception: No such file or directory in /app/db.php:2"
     "\n$db = new mysqli('localhost', 'root', '', 'app', 3306);", "/var/run/mysqld/mysqld.sock",
     True, None, 3306),
    ("PHP Fatal error:  Uncaught mysqli_sql_exception: Connection refused in /app/db.php:2\n"
     "$db = mysqli_connect('10.0.0.5', $user, $password);", None, False, "10.0.0.5", 3306),
])
def test_php_mysql_drivers(text: str, path: str | None, assumed: bool, host: str | None,
                           port: int | None) -> None:
    t = symptoms.parse(text)
    assert (t.client, t.path, t.assumed_path, t.host, t.port) == ("php", path, assumed, host, port)
    if path is None:
        assert t.scheme == "mysql"  # no rule offers curl http:// for it


def test_php_refused_without_a_dsn_names_no_address() -> None:
    """TCP or a dead socket: only the DSN can tell."""
    t = symptoms.parse(PDO.format("Connection refused"))
    assert (t.client, t.error, t.path, t.host, t.port) == ("php", "refused", None, None, None)


def test_redis_protected_mode_alone_is_redis_on_its_port() -> None:
    t = symptoms.parse("DENIED Redis is running in protected mode because protected mode is "
                       "enabled and no password is set for the default user.")
    assert (t.client, t.host, t.port, t.assumed_port) == ("redis-cli", None, 6379, True)


@pytest.mark.parametrize("text,host,port,kind", [
    ("Error: listen EADDRINUSE: address already in use :::0\n    at Server.setupListenHandle",
     "::", None, "ipv6"),
    ("curl: (7) Failed to connect to localhost port 0 after 0 ms: Couldn't connect to server",
     "localhost", None, "name"),
    ("$ nc -zv 127.0.0.1 -5\nnc: port number invalid: -5", "127.0.0.1", None, "ipv4"),
    # a paste's impossible address: the name checks say it does not resolve
    ("curl: (6) Could not resolve host: 300.400.1.1", "300.400.1.1", None, "invalid"),
])
def test_a_paste_impossible_value_is_no_usage_error(text: str, host: str, port: int | None,
                                                    kind: str) -> None:
    t = symptoms.parse(text)
    assert (t.host, t.port) == (host, port)
    assert t.parsed is not None and t.parsed.kind == kind


def test_python_file_not_found_is_no_name_lookup() -> None:
    """`FileNotFoundError` holds the letters of node's ENOTFOUND."""
    t = symptoms.parse("FileNotFoundError: [Errno 2] No such file or directory\n\nDuring handling "
                       "of the above exception, another exception occurred:\n\nredis.exceptions."
                       "ConnectionError: Error 2 connecting to /tmp/r/redis.sock. No such file or "
                       "directory.")
    assert (t.error, t.path, t.client) == ("missing", "/tmp/r/redis.sock", "python")


@pytest.mark.parametrize("text,host,port,role,signals,port_name", [
    # field trial 5: Go's own check of a listen address, and nc's
    ("2026/11/29 20:27:52 starting server on :72000\n"
     "2026/11/29 20:27:52 listen tcp: address 72000: invalid port",
     None, 72000, "server", ["bad-port"], None),
    ("dial tcp: address 127.0.0.1:99999: invalid port", "127.0.0.1", 99999, "client",
     ["bad-port"], None),
    ("$ nc -v -w 3 127.0.0.1 72800\nnc: port number too large: 72800", "127.0.0.1", 72800,
     "client", ["bad-port"], None),
    # a service name where the URL's port goes: not the scheme's default 80
    ("$ curl -sS http://localhost:http-alt/app.py\n"
     "curl: (3) URL using bad/illegal format or missing URL", "localhost", 8080, "client",
     ["curl-bad-url", "url-port-name"], "http-alt"),
    ("curl http://localhost:nosuchservice/", "localhost", None, "client", ["url-port-name"],
     "nosuchservice"),
    ("curl http://user:secret@localhost:8000/", "localhost", 8000, "client", [], None),
    # an IPv6 address without its brackets: the last digits are the port
    ("$ curl -sS http://::1:7105/\ncurl: (3) URL using bad/illegal format or missing URL",
     "::1", 7105, "client", ["curl-bad-url", "ipv6-unbracketed"], None),
    ("requests.exceptions.InvalidURL: Failed to parse: http://::1:7105/", "::1", 7105, "client",
     ["ipv6-unbracketed"], None),
    ("curl http://[::1]:7105/", "::1", 7105, "client", [], None),
    # node's fetch (undici) names the address only in its socket object
    ("TypeError: fetch failed\n  [cause]: SocketError: other side closed\n"
     "    code: 'UND_ERR_SOCKET',\n    socket: {\n      localAddress: '127.0.0.1',\n"
     "      localPort: 41928,\n      remoteAddress: '127.0.0.1',\n      remotePort: 6379,\n",
     "127.0.0.1", 6379, "client", ["empty-reply"], None),
])
def test_ports_a_program_refused(text: str, host: str | None, port: int | None, role: str,
                                 signals: list[str], port_name: str | None) -> None:
    t = symptoms.parse(text)
    assert (t.host, t.port, t.role, t.signals, t.port_name) == (host, port, role, signals,
                                                                port_name)


@pytest.mark.parametrize(("line", "login"), [
    ("psql -h /tmp -p 7601 -d postgres", " -d postgres"),
    ("psql -h 127.0.0.1 -p 7601 -U app appdb", " -U app -d appdb"),
    ("psql -h /srv/run appdb app", " -U app -d appdb"),
    ("sudo -u postgres psql -Uapp -d 'my db'", " -U app -d 'my db'"),
    ("psql -X -h /tmp -c 'select 1' -U postgres", " -U postgres"),
    ("psql -h /tmp -p 5432", None),
    ("psql postgresql://app@localhost/db", None),   # a URL: not split into options
    ("psql 'host=/tmp dbname=x'", None),
    ("mysql -u app -p appdb", None),
])
def test_a_pasted_psql_commands_role_and_database(line: str, login: str | None) -> None:
    from assistant.understand.commands import psql_login

    assert psql_login([line]) == login


@pytest.mark.parametrize("banner", [
    "2026-11-30 03:05:52.267  INFO 4242 --- [main] o.s.b.w.e.tomcat.TomcatWebServer : "
    "Tomcat started on port(s): 7760 (http) with context path ''",
    "[main] INFO reactor.netty.http.server.HttpServer - Netty started on port 7760",
    "Server listening on port 7760",
])
def test_a_banner_naming_its_port_in_words_is_announced(banner: str) -> None:
    text = (f"{banner}\nCalling payments service at http://localhost:7761/api/payments\n"
            "java.net.ConnectException: Connection refused")
    t = symptoms.parse(text)
    assert (t.port, t.announced) == (7761, [7760])


def test_the_target_urls_path_is_kept_for_printed_requests() -> None:
    """Field trial 11: `curl -v http://localhost:7785/` was printed for a
    failing /api/orders, and answered 200: all well, said the retry."""
    t = symptoms.parse("$ curl -sS http://localhost:7785/api/orders?id=3\n"
                       "curl: (52) Empty reply from server")
    assert (t.port, t.url_path) == (7785, "/api/orders?id=3")
    assert symptoms.parse("curl: (7) Failed to connect to localhost port 7785").url_path is None


def test_urllib3s_pool_names_the_servers_scheme() -> None:
    """Field trial 12: through a proxy, requests named the https server only as
    HTTPSConnectionPool; the printed Python retry used http:// to its TLS port."""
    t = symptoms.parse("requests.exceptions.ProxyError: HTTPSConnectionPool(host='localhost', "
                       "port=7931): Max retries exceeded with url: / (Caused by ProxyError("
                       "'Unable to connect to proxy', OSError('Tunnel connection failed: 403 "
                       "Access violation')))")
    assert (t.host, t.port, t.scheme) == ("localhost", 7931, "https")
