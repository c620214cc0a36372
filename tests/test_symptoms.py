"""The symptom parser on real client wording.

Clients present on the machine produce their own error text here (curl,
wget, Node.js, Python, Java, psql); the others are recorded wording from
their documentation and issue trackers.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from assistant.errors import InputError
from assistant.understand import symptoms
from tests.support import free_port

# (text, host, port, error, client)
RECORDED = [
    ("curl: (7) Failed to connect to localhost port 3000: Connection refused",
     "localhost", 3000, "refused", "curl"),
    ("curl: (28) Failed to connect to 127.0.0.1 port 8080 after 3001 ms: Timeout was reached",
     "127.0.0.1", 8080, "timeout", "curl"),
    ("curl: (52) Empty reply from server", None, None, "reset", "curl"),
    ("curl: (56) Recv failure: Connection reset by peer", None, None, "reset", "curl"),
    # urllib3 1.x
    ("urllib3.exceptions.NewConnectionError: <urllib3.connection.HTTPConnection object at "
     "0x7f3c2c1d5f10>: Failed to establish a new connection: [Errno 111] Connection refused\n"
     "requests.exceptions.ConnectionError: HTTPConnectionPool(host='localhost', port=8000): Max "
     "retries exceeded with url: /api (Caused by NewConnectionError('<urllib3.connection."
     "HTTPConnection object at 0x7f3c2c1d5f10>: Failed to establish a new connection: [Errno 111] "
     "Connection refused'))", "localhost", 8000, "refused", "python"),
    ("psycopg2.OperationalError: could not connect to server: Connection refused\n"
     "\tIs the server running on host \"localhost\" (127.0.0.1) and accepting\n"
     "\tTCP/IP connections on port 5432?", "localhost", 5432, "refused", "python"),
    ("redis.exceptions.ConnectionError: Error 111 connecting to localhost:6379. Connection refused.",
     "localhost", 6379, "refused", "python"),
    ("ConnectionRefusedError: [Errno 111] Connection refused", None, None, "refused", "python"),
    ("AggregateError [ECONNREFUSED]: \n    at internalConnectMultiple (node:net:1118:18)\n"
     "  code: 'ECONNREFUSED',\n  [errors]: [\n    Error: connect ECONNREFUSED ::1:3000\n"
     "        at createConnectionError (node:net:1648:14) {\n      errno: -111,\n"
     "      address: '::1',\n      port: 3000\n    },\n    Error: connect ECONNREFUSED "
     "127.0.0.1:3000\n", "::1", 3000, "refused", "node"),
    ("Error: listen EACCES: permission denied 0.0.0.0:80", "0.0.0.0", 80, "permission", "node"),
    ("Exception in thread \"main\" java.net.ConnectException: Connection refused\n"
     "\tat java.base/sun.nio.ch.Net.pollConnect(Native Method)", None, None, "refused", "java"),
    ("java.net.BindException: Address already in use\n\tat java.base/sun.nio.ch.Net.bind0"
     "(Native Method)", None, None, "in-use", "java"),
    ("io.netty.channel.AbstractChannel$AnnotatedConnectException: Connection refused: "
     "localhost/127.0.0.1:8080", "localhost", 8080, "refused", "java"),
    ("org.postgresql.util.PSQLException: Connection to localhost:5432 refused. Check that the "
     "hostname and port are correct", "localhost", 5432, "refused", "java"),
    ("java.net.UnknownHostException: localhsot", "localhsot", None, "unresolved", "java"),
    # requests' raise_for_status(), here for a 502 from a proxy that cannot reach localhost
    ("requests.exceptions.HTTPError: 502 Server Error: Bad Gateway for url: "
     "http://localhost:58645/", "localhost", 58645, "http-status", "python"),
    ("Get \"http://127.0.0.1:8080/\": dial tcp 127.0.0.1:8080: connect: connection refused",
     "127.0.0.1", 8080, "refused", "go"),
    ("dial tcp [::1]:8080: connect: connection refused", "::1", 8080, "refused", "go"),
    ("dial tcp: lookup localhsot: no such host", "localhsot", None, "unresolved", "go"),
    ("listen tcp :8080: bind: address already in use", None, 8080, "in-use", "go"),
    ("listen tcp :80: bind: permission denied", None, 80, "permission", "go"),
    ("dial tcp 127.0.0.1:9000: i/o timeout", "127.0.0.1", 9000, "timeout", "go"),
    ("System.Net.Sockets.SocketException (10061): No connection could be made because the target "
     "machine actively refused it. [::ffff:127.0.0.1]:5000", "::ffff:127.0.0.1", 5000, "refused",
     "dotnet"),
    ("System.Net.Http.HttpRequestException: Connection refused (localhost:5000)\n ---> "
     "System.Net.Sockets.SocketException (111): Connection refused", "localhost", 5000, "refused",
     "dotnet"),
    ("System.Net.Sockets.SocketException (10048): Only one usage of each socket address "
     "(protocol/network address/port) is normally permitted.", None, None, "in-use", "dotnet"),
    ("System.Net.Sockets.SocketException (10013): An attempt was made to access a socket in a way "
     "forbidden by its access permissions.", None, None, "permission", "dotnet"),
    ("ERROR 2003 (HY000): Can't connect to MySQL server on '127.0.0.1:3306' (111)",
     "127.0.0.1", 3306, "refused", "mysql"),
    ("ERROR 2003 (HY000): Can't connect to MySQL server on '127.0.0.1' (10061)",
     "127.0.0.1", 3306, "refused", "mysql"),
    ("ERROR 2005 (HY000): Unknown MySQL server host 'localhsot' (-2)", "localhsot", 3306,
     "unresolved", "mysql"),
    ("Could not connect to Redis at 127.0.0.1:6379: Connection refused", "127.0.0.1", 6379,
     "refused", "redis-cli"),
    ("This site can’t be reached\nlocalhost refused to connect.\nERR_CONNECTION_REFUSED",
     "localhost", None, "refused", "chrome"),
    ("Unable to connect\n\nFirefox can’t establish a connection to the server at localhost:3000.",
     "localhost", 3000, "refused", "firefox"),
    ("No connection could be made because the target machine actively refused it. (os error 10061)",
     None, None, "refused", None),
    ("the app at http://127.0.0.1:62893 returns HTTP/1.1 502 Bad Gateway", "127.0.0.1", 62893,
     "http-status", None),
    ("cannot connect to 127.0.0.1:62893", "127.0.0.1", 62893, None, None),
    ("postgres won't accept connections on port 5432", None, 5432, None, None),
    ("https://localhost/ is not working", "localhost", 443, None, None),
    ("curl http://[::1]:8080/health hangs", "::1", 8080, "hang", "curl"),
    ("django.db.utils.OperationalError: connection to server at \"localhost\" (::1), port 5432 "
     "failed: Connection refused", "localhost", 5432, "refused", "python"),
    ("Address already in use - bind(2) for \"127.0.0.1\" port 3000 (Errno::EADDRINUSE)",
     "127.0.0.1", 3000, "in-use", "ruby"),
    ("Web server failed to start. Port 8080 was already in use.", None, 8080, "in-use", "java"),
    ("Error response from daemon: driver failed programming external connectivity on endpoint db: "
     "Bind for 0.0.0.0:5432 failed: port is already allocated", "0.0.0.0", 5432, "in-use", "docker"),
    ("ssh: connect to host localhost port 22: Connection refused", "localhost", 22, "refused", "ssh"),
    ("nc: connect to 127.0.0.1 port 8080 (tcp) failed: Connection refused", "127.0.0.1", 8080,
     "refused", "nc"),
    ("telnet: Unable to connect to remote host: Connection refused", None, None, "refused", "telnet"),
    ("GET http://localhost:3000/api/users net::ERR_CONNECTION_REFUSED", "localhost", 3000,
     "refused", "chrome"),
    ("[HPM] Error occurred while proxying request localhost:3000/api to http://localhost:8080/ "
     "[ECONNREFUSED]", "localhost", 8080, "refused", "node"),
    ("Connection refused: /127.0.0.1:9092", "127.0.0.1", 9092, "refused", None),
    ("kafka: Connection to node -1 (localhost/127.0.0.1:9092) could not be established.",
     "localhost", 9092, None, "java"),
    ("why is port 3000 refused", None, 3000, "refused", None),
    ("I started my flask app but http://127.0.0.1:5000 gives 404", "127.0.0.1", 5000,
     "http-status", None),
    ("The connection was reset", None, None, "reset", None),
    ("upstream connect error or disconnect/reset before headers. reset reason: connection failure",
     None, None, "refused", "envoy"),
]


def test_client_reported_dial_address_is_kept() -> None:
    t = symptoms.parse(RECORDED[-16][0])
    assert t.quoted == ["::1"]
    t = symptoms.parse("Connecting to localhost (localhost)|::1|:3000... failed: Connection refused.")
    assert (t.host, t.port, t.quoted) == ("localhost", 3000, ["::1"])


@pytest.mark.parametrize("text,host,port,error,client", RECORDED)
def test_recorded_wording(text: str, host: str | None, port: int | None, error: str | None,
                          client: str | None) -> None:
    t = symptoms.parse(text)
    assert (t.host, t.port, t.error, t.client) == (host, port, error, client)


def test_aggregate_error_quotes_both_families() -> None:
    t = symptoms.parse(RECORDED[8][0])
    assert t.quoted == ["::1", "127.0.0.1"]


def test_credentials_in_url_are_extracted_not_kept() -> None:
    t = symptoms.parse("psql postgresql://bob:hunter2@db.local:5433/app fails: connection refused")
    assert (t.host, t.port, t.scheme) == ("db.local", 5433, "postgresql")
    assert "hunter2" not in repr(t.to_json())


def test_stack_frames_are_not_addresses() -> None:
    t = symptoms.parse("TypeError: x is undefined\n    at main (/app/server.js:42:7)\n"
                       "    at node:internal/main:12:3")
    assert t.host is None and t.port is None


@pytest.mark.parametrize("text,message", [
    ("", "nothing to diagnose"),
    ("   \n\t ", "nothing to diagnose"),
    ("connect to localhost:0", "port 0"),
    ("cannot reach port -5", "out of range"),
    ("cannot connect to http://[::zz]:80/", "not a valid IPv6"),
    ("cannot connect to 300.400.1.1:80", "not a valid IPv4"),
])
def test_bad_input_is_a_clear_error(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        symptoms.parse(text)


def test_huge_input_is_refused_quickly() -> None:
    with pytest.raises(InputError, match="KB"):
        symptoms.parse("x" * (symptoms.MAX_INPUT + 1))


def test_100_kb_of_text_still_finds_the_address() -> None:
    text = ("lorem ipsum " * 8000) + "connect ECONNREFUSED 127.0.0.1:4000"
    assert len(text) > 90_000
    t = symptoms.parse(text)
    assert (t.host, t.port, t.error) == ("127.0.0.1", 4000, "refused")


def test_control_characters_are_neutralised() -> None:
    t = symptoms.parse("\x1b[31mcurl: (7) Failed to connect to \x00localhost port 3000\x07")
    assert t.host == "localhost" and t.port == 3000


def test_proxy_variables_on_the_pasted_command_line() -> None:
    """What the client ran with, whatever the assistant's shell has."""
    from assistant.understand.commands import env_assignments

    assert env_assignments("$ http_proxy=http://127.0.0.1:3128 no_proxy=localhost curl -sS "
                           "http://localhost:8000/ PORT=1") == {
        "http_proxy": "http://127.0.0.1:3128", "no_proxy": "localhost"}
    assert env_assignments("$ env -u HTTP_PROXY --unset=https_proxy python3 app.py") == {
        "HTTP_PROXY": None, "https_proxy": None}
    assert env_assignments("$ export NO_PROXY=localhost http_proxy=http://p:3128\n$ unset "
                           "http_proxy\n$ curl x") == {"NO_PROXY": "localhost",
                                                       "http_proxy": None}
    cleared = env_assignments("$ env -i HTTPS_PROXY=http://p:1 curl https://x/")
    assert cleared["HTTPS_PROXY"] == "http://p:1" and cleared["http_proxy"] is None
    assert env_assignments("$ FOO=1 curl http://localhost/") == {}
    # Options that override the variables for one command.
    assert env_assignments("$ curl --noproxy localhost -x http://127.0.0.1:3128 "
                           "http://localhost:8000/") == {
        "no_proxy": "localhost", "NO_PROXY": "localhost",
        "http_proxy": "http://127.0.0.1:3128", "https_proxy": "http://127.0.0.1:3128"}
    assert env_assignments("$ wget --no-proxy -O- http://localhost:8000/")["http_proxy"] is None
    t = symptoms.parse("$ curl -x http://127.0.0.1:3128 http://localhost:8000/\ncurl: (7) Failed "
                       "to connect to 127.0.0.1 port 3128 after 0 ms: Couldn't connect to server")
    assert (t.host, t.port, t.via) == ("localhost", 8000, "127.0.0.1:3128")
    assert t.proxy_env["http_proxy"] == "http://127.0.0.1:3128"
    assert symptoms.parse("$ curl --noproxy '*' http://localhost:8000/\ncurl: (7) Failed to "
                          "connect to localhost port 8000").proxy_env["no_proxy"] == "*"
    t = symptoms.parse("$ REQUEST_METHOD=GET HTTP_PROXY=http://127.0.0.1:3128 python3 app.py\n"
                       "urllib.error.URLError: <urlopen error [Errno 111] Connection refused>")
    assert t.proxy_env == {"REQUEST_METHOD": "GET", "HTTP_PROXY": "http://127.0.0.1:3128"}
    assert (t.client, t.library) == ("python", "urllib")


def test_curl_says_its_proxy_tunnel_failed() -> None:
    t = symptoms.parse("$ curl -sS https://localhost:8443/\ncurl: (56) CONNECT tunnel failed, "
                       "response 502")
    assert (t.host, t.port, t.scheme, t.signals) == ("localhost", 8443, "https", ["proxy"])


def test_python_library_and_requests_https_through_a_proxy() -> None:
    t = symptoms.parse("requests.exceptions.ConnectionError: HTTPConnectionPool(host='localhost', "
                       "port=8000): Max retries exceeded")
    assert (t.library, t.via) == ("requests", None)
    # Through a proxy to https://, urllib3 names the server as its pool and
    # the proxy as the connection that failed, in either order.
    tail = ("requests.exceptions.ProxyError: HTTPSConnectionPool(host='localhost', port=8443): "
            "Max retries exceeded with url: / (Caused by ProxyError('Unable to connect to "
            "proxy', NewConnectionError(\"HTTPSConnection(host='127.0.0.1', port=3128): Failed "
            "to establish a new connection: [Errno 111] Connection refused\")))")
    for text in (tail, "urllib3.exceptions.NewConnectionError: HTTPSConnection(host='127.0.0.1', "
                       "port=3128): Failed to establish a new connection\n" + tail):
        t = symptoms.parse(text)
        assert (t.host, t.port, t.scheme, t.via) == ("localhost", 8443, "https", "127.0.0.1:3128")


# --- live clients ------------------------------------------------------------

def _run(argv: list[str], timeout: float = 30) -> str:
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "LC_ALL": "C", "NO_PROXY": "*", "no_proxy": "*"})
    return proc.stdout + proc.stderr


def _need(tool: str) -> None:
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed on this machine")


def test_live_curl() -> None:
    _need("curl")
    port = free_port()
    t = symptoms.parse(_run(["curl", "-sS", f"http://127.0.0.1:{port}/"]))
    assert (t.host, t.port, t.error, t.client) == ("127.0.0.1", port, "refused", "curl")
    t = symptoms.parse(_run(["curl", "-sS", f"http://[::1]:{port}/"]))
    assert (t.host, t.port, t.error) == ("::1", port, "refused")
    t = symptoms.parse(_run(["curl", "-sS", "http://localhsot:3000/"]))
    assert (t.host, t.error, t.client) == ("localhsot", "unresolved", "curl")


def test_live_wget() -> None:
    _need("wget")
    port = free_port()
    t = symptoms.parse(_run(["wget", "-O-", "-t", "1", f"http://localhost:{port}/"]))
    assert (t.host, t.port, t.error, t.client) == ("localhost", port, "refused", "wget")
    t = symptoms.parse(_run(["wget", "-O-", "-t", "1", "http://localhsot:3000/"]))
    assert (t.host, t.error, t.client) == ("localhsot", "unresolved", "wget")


def test_live_node() -> None:
    _need("node")
    port = free_port()
    out = _run(["node", "-e", f"require('http').get('http://127.0.0.1:{port}/')"
                ".on('error', e => console.error(e.stack))"])
    t = symptoms.parse(out)
    assert (t.host, t.port, t.error, t.client) == ("127.0.0.1", port, "refused", "node")
    out = _run(["node", "-e", f"const n=require('net');n.createServer().listen({port},()=>"
                f"n.createServer().listen({port}).on('error',e=>{{console.error(e.stack);"
                "process.exit(0)}))"])
    t = symptoms.parse(out)
    assert (t.host, t.port, t.error, t.client) == ("::", port, "in-use", "node")
    out = _run(["node", "-e", "require('http').get('http://localhsot:3000/')"
                ".on('error', e => console.error(e.stack))"])
    t = symptoms.parse(out)
    assert (t.host, t.error, t.client) == ("localhsot", "unresolved", "node")


def test_live_python_socket_and_urllib(tmp_path: Path) -> None:
    port = free_port()
    # The URL on a line of its own: tracebacks quote the failing line (of a
    # script always, of `-c` code since 3.13), and that line names no address.
    code = textwrap.dedent(f"""
        import urllib.request
        url = "http://127.0.0.1:{port}/"
        urllib.request.urlopen(url)
    """)
    # urllib's own message names no address: the error and client are all there is.
    t = symptoms.parse(_run([sys.executable, "-c", code]))
    assert (t.host, t.port, t.error, t.client) == (None, None, "refused", "python")
    # A script whose failing line holds the URL: the quoted line gives the target.
    script = tmp_path / "fetch.py"
    script.write_text(f'import urllib.request\nurllib.request.urlopen("http://127.0.0.1:{port}/")\n')
    t = symptoms.parse(_run([sys.executable, str(script)]))
    assert (t.host, t.port, t.error, t.client) == ("127.0.0.1", port, "refused", "python")
    code = f"import socket; socket.create_connection(('localhost', {port}))"
    t = symptoms.parse(_run([sys.executable, "-c", code]))
    assert (t.error, t.client) == ("refused", "python")
    code = textwrap.dedent(f"""
        import socket
        a = socket.socket(); a.bind(("127.0.0.1", {port})); a.listen()
        b = socket.socket(); b.bind(("127.0.0.1", {port}))
    """)
    t = symptoms.parse(_run([sys.executable, "-c", code]))
    assert (t.error, t.client) == ("in-use", "python")


def test_live_python_requests() -> None:
    requests = pytest.importorskip("requests")
    port = free_port()
    try:
        requests.get(f"http://localhost:{port}/x", timeout=2, proxies={"http": None})
    except requests.exceptions.ConnectionError as exc:
        text = f"requests.exceptions.ConnectionError: {exc}"
    t = symptoms.parse(text)
    assert (t.host, t.port, t.error, t.client) == ("localhost", port, "refused", "python")


def test_live_python_redis() -> None:
    redis = pytest.importorskip("redis")
    port = free_port()
    try:
        redis.Redis(host="localhost", port=port, socket_connect_timeout=2).ping()
    except redis.exceptions.ConnectionError as exc:
        text = f"redis.exceptions.ConnectionError: {exc}"
    t = symptoms.parse(text)
    assert (t.host, t.port, t.error, t.client) == ("localhost", port, "refused", "python")


def test_live_psycopg2() -> None:
    psycopg2 = pytest.importorskip("psycopg2")
    port = free_port()
    try:
        psycopg2.connect(host="localhost", port=port, user="x", dbname="y", connect_timeout=2)
    except psycopg2.OperationalError as exc:
        text = f"psycopg2.OperationalError: {exc}"
    t = symptoms.parse(text)
    assert (t.host, t.port, t.error, t.client) == ("localhost", port, "refused", "python")


def test_live_psql() -> None:
    _need("psql")
    port = free_port()
    t = symptoms.parse(_run(["psql", "-h", "localhost", "-p", str(port), "-U", "x", "-d", "y"]))
    assert (t.host, t.port, t.error, t.client) == ("localhost", port, "refused", "psql")
    t = symptoms.parse(_run(["psql", "-h", "localhsot", "-p", str(port)]))
    assert (t.host, t.error, t.client) == ("localhsot", "unresolved", "psql")


def test_live_redis_cli() -> None:
    _need("redis-cli")
    port = free_port()
    t = symptoms.parse(_run(["redis-cli", "-p", str(port), "ping"]))
    assert (t.host, t.port, t.error, t.client) == ("127.0.0.1", port, "refused", "redis-cli")
    t = symptoms.parse(_run(["redis-cli", "-h", "localhsot", "ping"]))
    assert (t.host, t.port, t.error, t.client) == ("localhsot", 6379, "unresolved", "redis-cli")


def test_live_mysql_client() -> None:
    _need("mysql")
    port = free_port()
    t = symptoms.parse(_run(["mysql", "-h", "127.0.0.1", "-P", str(port), "-u", "x"]))
    # MariaDB's client names the host but not the port: its default is assumed, and said
    assert (t.host, t.error, t.client) == ("127.0.0.1", "refused", "mysql")
    assert (t.port, t.assumed_port) == (3306, True)
    t = symptoms.parse(f"$ mysql -h 127.0.0.1 -P {port} -u x\n" + _run(
        ["mysql", "-h", "127.0.0.1", "-P", str(port), "-u", "x"]))
    assert (t.port, t.assumed_port) == (port, False)  # the pasted command line says
    t = symptoms.parse(_run(["mysql", "-h", "localhsot", "-P", str(port)]))
    assert (t.host, t.error, t.client) == ("localhsot", "unresolved", "mysql")


def test_live_go(tmp_path) -> None:
    _need("go")
    port = free_port()
    src = tmp_path / "main.go"
    src.write_text('package main\nimport ("fmt"; "net"; "os")\n'
                   'func main() { _, err := net.Dial("tcp", os.Args[1]); fmt.Println(err) }\n')
    env_home = {"HOME": str(tmp_path), "GOCACHE": str(tmp_path / "cache"), "GOPATH": str(tmp_path)}
    def go(addr: str) -> str:
        proc = subprocess.run(["go", "run", str(src), addr], capture_output=True, text=True,
                              timeout=300, env={**os.environ, **env_home})
        return proc.stdout + proc.stderr
    t = symptoms.parse(go(f"[::1]:{port}"))
    assert (t.host, t.port, t.error, t.client) == ("::1", port, "refused", "go")
    t = symptoms.parse(go("localhsot:3000"))
    assert (t.host, t.error, t.client) == ("localhsot", "unresolved", "go")


def test_live_java(tmp_path) -> None:
    _need("java")
    port = free_port()
    src = tmp_path / "Dial.java"
    src.write_text(textwrap.dedent(f"""
        public class Dial {{
            public static void main(String[] a) throws Exception {{
                new java.net.Socket("127.0.0.1", {port});
            }}
        }}
    """))
    t = symptoms.parse(_run(["java", str(src)], timeout=120))
    assert (t.error, t.client) == ("refused", "java")


def test_prefilter_needles_never_hide_a_match() -> None:
    """Each pattern is tried only when one of its needles occurs: check that
    every match of every pattern, on all the wording above, contains one."""
    corpus = [t for t, *_ in RECORDED] + [
        "Error: listen EADDRINUSE: address already in use :::3000",
        "Connecting to localhost (localhost)|::1|:3000... failed: Connection refused.",
        "ERROR 2002 (HY000): Can't connect to server on '127.0.0.1' (115)",
        "listen tcp :80: bind: permission denied", "nc: connect to 127.0.0.1 port 1 (tcp) failed",
    ]
    from assistant.understand import patterns as pt

    patterns = ([p for _, p in pt.ERRORS] + [p for _, p in pt.CLIENTS]
                + [p for p, _, _ in pt.EXPLICIT]
                + [pt.URL, pt.HOSTPORT, pt.PORT_PHRASE, pt.BARE_HOST, pt.DIALLED])
    checked = 0
    for text in corpus:
        for p in patterns:
            for m in p.rx.finditer(text):
                checked += 1
                # a needle inside the match itself, so no text can match without one
                assert p.applies(m.group(0).lower()), (p.src, m.group(0))
    assert checked > 50


def test_every_error_kind_has_its_pattern() -> None:
    from typing import get_args

    from assistant.understand.patterns import ERROR_KINDS, ERRORS, ErrorKind

    assert [k for k, _ in ERRORS] == list(get_args(ErrorKind))
    assert ERROR_KINDS[-1] == "unspecified"


@pytest.mark.parametrize("text,remote", [
    ("kex_exchange_identification: Connection closed by remote host", None),
    ("An existing connection was forcibly closed by the remote host. (10054)", None),
    ("curl localhost:3000 from a remote host fails", "another machine"),
    ("can't reach 127.0.0.1:8000 from another machine", "another machine"),
])
def test_the_server_closing_is_not_a_remote_client(text: str, remote: str | None) -> None:
    assert symptoms.parse(text).remote == remote
