"""Proxies as each client uses them: real clients, a dead proxy, a live server.

Each scenario starts a real `python -m http.server` on loopback (the server
the user wants), takes a free loopback port as a proxy that is not running,
runs the real client with the proxy variables, and asks the assistant about
the client's own output with the same variables in its environment. The
fixes it prints are pasted into a shell and must make the request work.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import free_port, run_cli, run_script

APPEND = ('export no_proxy="${no_proxy:-$NO_PROXY}" && '
          'export no_proxy="${no_proxy:+$no_proxy,}localhost,127.0.0.1,::1" '
          'NO_PROXY="${no_proxy:+$no_proxy,}localhost,127.0.0.1,::1"')
POWERSHELL = "$env:NO_PROXY = (@($env:NO_PROXY, 'localhost,127.0.0.1,::1') | Where-Object { $_ }) " \
             "-join ','"
# The interpreter running the tests (it has requests) is the `python3` of the clients.
PATH = f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"


def need(tool: str) -> None:
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed on this machine")


@pytest.fixture
def web(tmp_path: Path) -> Iterator[int]:
    """A real http.server on 127.0.0.1: the server the user wants."""
    (tmp_path / "index.html").write_text("<h1>the wanted server</h1>\n")
    for _ in range(5):
        port = free_port()
        proc = subprocess.Popen([sys.executable, "-m", "http.server", "--bind", "127.0.0.1",
                                 str(port)], cwd=tmp_path, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if proc.poll() is not None:
                    break
                time.sleep(0.05)
        if proc.poll() is None:
            yield port
            proc.kill()
            proc.wait(5)
            return
    raise RuntimeError("http.server did not start")


@pytest.fixture
def dead() -> str:
    """A proxy address where nothing listens (a proxy that is not running)."""
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture(scope="module")
def goget(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Go client: http.Get(os.Args[1]), built once."""
    need("go")
    d = tmp_path_factory.mktemp("goget")
    (d / "main.go").write_text(
        'package main\nimport ("fmt"; "net/http"; "os")\n'
        'func main() { r, err := http.Get(os.Args[1]); if err != nil { fmt.Println("error:", err);'
        ' os.Exit(1) }; fmt.Println(r.Status) }\n')
    env = {**os.environ, "HOME": str(d), "GOCACHE": str(d / "cache"), "GOPATH": str(d / "gopath"),
           "GO111MODULE": "off"}
    subprocess.run(["go", "build", "-o", str(d / "goget"), str(d / "main.go")], check=True,
                   env=env, timeout=300, capture_output=True)
    return d / "goget"


def client_env(tmp_path: Path, **variables: str) -> dict[str, str]:
    return {"PATH": PATH, "HOME": str(tmp_path), "LC_ALL": "C", **variables}


def run(argv: list[str], env: dict[str, str], timeout: float = 60) -> str:
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=timeout)
    return proc.stdout + proc.stderr


def ask(text: str, env: dict[str, str], *extra: str) -> tuple[int, dict[str, Any]]:
    r = run_cli("--ask", text, "--json", *extra, environ=env)
    assert r.err == "", r.err
    return r.code, r.json


def rules(rep: dict[str, Any]) -> list[str]:
    return [d["rule"] for d in rep["diagnoses"]]


def fix(rep: dict[str, Any], os_name: str) -> list[str]:
    return [f["command"] for f in rep["diagnoses"][0]["fix"] if f["os"] == os_name]


def paste(command: str, then: str, env: dict[str, str]) -> str:
    """Paste a printed command into bash, then run `then` in the same shell."""
    return run(["bash", "-c", f"{command}\n{then}"], env)


# --- the proxy is where the client failed --------------------------------------

def test_curl_bare_line_is_the_dead_http_proxy(web: int, dead: str, tmp_path: Path) -> None:
    need("curl")
    env = client_env(tmp_path, http_proxy=dead)
    url = f"http://localhost:{web}/"
    out = run(["curl", "-sS", url], env)
    assert f"Failed to connect to 127.0.0.1 port {dead.rsplit(':', 1)[1]}" in out
    code, rep = ask(out, env)
    assert code == 1
    assert rules(rep)[0] == "client.proxy_down" and rep["diagnoses"][0]["category"] == "proxy"
    assert "port.nothing_listening" not in rules(rep)  # the proxy's port, not the server's
    assert "exceptions: no_proxy and NO_PROXY are unset" in rep["diagnoses"][0]["evidence"]
    assert fix(rep, "linux")[0] == APPEND and fix(rep, "windows")[0] == POWERSHELL
    assert fix(rep, "linux")[1] == "unset http_proxy" and fix(rep, "any") == []
    # Pasted after exceptions someone already set: they stay, and curl goes direct.
    env_before = {**env, "NO_PROXY": "example.com", "no_proxy": "example.com"}
    shown = paste(APPEND, f"echo \"$no_proxy\"; curl -sS -o /dev/null -w '%{{http_code}}' {url}",
                  env_before)
    assert shown == "example.com,localhost,127.0.0.1,::1\n200"
    # Field trial 11: only the upper-case one set. curl reads the lower-case
    # one first, so both must carry the union, or localhost goes to the proxy.
    env_upper = {**env, "NO_PROXY": "example.com"}
    env_upper.pop("no_proxy", None)
    shown = paste(APPEND, "echo \"$no_proxy|$NO_PROXY\"; "
                  f"curl -sS -o /dev/null -w '%{{http_code}}' {url}", env_upper)
    assert shown == "example.com,localhost,127.0.0.1,::1|example.com,localhost,127.0.0.1,::1\n200"


def test_curl_with_its_command_line_names_the_url(web: int, dead: str, tmp_path: Path) -> None:
    need("curl")
    env = client_env(tmp_path, http_proxy=dead)
    url = f"http://localhost:{web}/"
    text = f"$ curl -sS {url}\n" + run(["curl", "-sS", url], env)
    code, rep = ask(text, env)
    assert code == 1 and rules(rep)[0] == "client.proxy_failed"
    assert rep["target"]["host"] == "localhost" and rep["target"]["port"] == web
    oneshot = fix(rep, "linux")[1]
    assert oneshot == f"curl --noproxy localhost -sS {url}"  # the user's command, its options kept
    assert "the wanted server" in run(shlex.split(oneshot), env)
    assert "port.reachable" in rules(rep)  # the server itself is fine


def test_curl_https_proxy_without_a_scheme_in_the_text(web: int, dead: str,
                                                       tmp_path: Path) -> None:
    need("curl")
    env = client_env(tmp_path, https_proxy=dead)
    out = run(["curl", "-sS", f"https://localhost:{web}/"], env)
    code, rep = ask(out, env)
    assert rep["target"]["scheme"] is None
    assert code == 1 and rules(rep)[0] == "client.proxy_down"
    assert rep["diagnoses"][0]["summary"].startswith(f"127.0.0.1:{dead.rsplit(':', 1)[1]} is "
                                                     "the proxy in https_proxy (read by curl)")


def test_wget_reads_http_proxy(web: int, dead: str, tmp_path: Path) -> None:
    need("wget")
    env = client_env(tmp_path, http_proxy=dead)
    url = f"http://localhost:{web}/"
    out = run(["wget", "-t", "1", "-O-", url], env)
    code, rep = ask(out, env)
    assert code == 1 and rules(rep)[0] == "client.proxy_failed"
    assert fix(rep, "linux")[0] == APPEND
    oneshot = fix(rep, "linux")[1]
    assert oneshot == f"wget --no-proxy -O- {url}"
    assert "the wanted server" in run(shlex.split(oneshot), env)


def test_python_requests_reads_upper_case_HTTP_PROXY_console_script(web: int, dead: str,
                                                                   tmp_path: Path) -> None:
    pytest.importorskip("requests")
    env = client_env(tmp_path, HTTP_PROXY=dead)
    url = f"http://localhost:{web}/"
    out = run(["python3", "-c", f"import requests; requests.get('{url}', timeout=5)"], env)
    assert "ProxyError" in out
    r = run_script("--ask", out, "--json", env=env)
    assert r.code == 1 and r.err == ""
    top = r.json["diagnoses"][0]
    assert (top["rule"], top["category"]) == ("client.proxy_failed", "proxy")
    assert "read by Python requests" in top["summary"]
    oneshot = [f["command"] for f in top["fix"] if f["os"] == "linux"][1]
    assert oneshot.startswith("env -u HTTP_PROXY python3 -c")
    assert paste(oneshot, "", env).strip() == "200"


def test_python_requests_https_through_the_dead_proxy(web: int, dead: str,
                                                     tmp_path: Path) -> None:
    pytest.importorskip("requests")
    env = client_env(tmp_path, HTTPS_PROXY=dead)
    out = run(["python3", "-c", f"import requests; requests.get('https://localhost:{web}/', "
               "timeout=5)"], env)
    code, rep = ask(out, env)
    assert rep["target"]["host"] == "localhost" and rep["target"]["port"] == web
    assert code == 1 and rules(rep)[0] == "client.proxy_failed"


def test_python_urllib_names_no_address_then_the_user_does(web: int, dead: str,
                                                         tmp_path: Path) -> None:
    env = client_env(tmp_path, HTTP_PROXY=dead)
    url = f"http://localhost:{web}/"
    # The URL comes from argv: Python 3.13 echoes a -c source line in the
    # traceback, and a literal URL there would name the address after all.
    out = run(["python3", "-c", "import sys, urllib.request; urllib.request.urlopen(sys.argv[1])",
               url], env)
    assert url not in out
    assert "urlopen error [Errno 111] Connection refused" in out
    # The text names no address; HTTP_PROXY is read by urllib, so its address
    # is checked (field trial 5): the refused connect was the proxy's.
    code, rep = ask(out, env)
    assert code == 1 and rules(rep)[0] == "client.proxy_down", rules(rep)
    assert rep["target"]["port"] == int(dead.rsplit(":", 1)[1])
    code, rep = ask(out, env, "--answer", "host=localhost", "--answer", f"port={web}")
    assert code == 1 and rules(rep)[0] == "client.proxy_refused_server_up"
    assert "read by Python urllib" in rep["diagnoses"][0]["summary"]
    assert "port.reachable" not in rules(rep)


def test_go_through_a_dead_proxy_to_a_host_that_is_not_local(goget: Path, dead: str,
                                                             tmp_path: Path) -> None:
    # 192.0.2.10 (documentation range) is never contacted: Go sends to the proxy.
    env = client_env(tmp_path, HTTP_PROXY=dead)
    out = run([str(goget), "http://192.0.2.10:8000/"], env)
    assert "proxyconnect tcp" in out
    code, rep = ask(out, env)
    assert code == 1 and rules(rep)[0] == "client.proxy_failed_remote"
    assert fix(rep, "linux")[0] == f"ss -ltn 'sport = :{dead.rsplit(':', 1)[1]}'"


# --- a live proxy that cannot reach this machine's localhost -----------------

@pytest.fixture
def proxy_502() -> Iterator[str]:
    """A running proxy that answers 502 to everything (as a remote proxy does for
    `localhost`, which is itself)."""
    import threading

    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)

    def serve() -> None:
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 11\r\n"
                             b"Connection: close\r\n\r\nBad Gateway")

    threading.Thread(target=serve, daemon=True).start()
    yield f"http://127.0.0.1:{srv.getsockname()[1]}"
    srv.close()


def test_a_502_for_a_port_where_nothing_listens_came_from_the_proxy(proxy_502: str,
                                                                   tmp_path: Path) -> None:
    need("curl")
    env = client_env(tmp_path, http_proxy=proxy_502)
    url = f"http://localhost:{free_port()}/"  # nothing listens there
    out = run(["curl", "-sS", "-f", url], env)
    assert out.strip() == "curl: (22) The requested URL returned error: 502"
    code, rep = ask(f"$ curl -sS -f {url}\n{out}", env)
    # The stand-in proxy listens on loopback, as a proxy on this machine
    # (tinyproxy, cntlm) does: the server is what is missing (field trial 5).
    assert code == 1 and rules(rep)[0] == "client.local_proxy_relayed", rules(rep)
    top = rep["diagnoses"][0]
    assert top["category"] == "nothing-listening" and "Start the server" in top["summary"]
    assert "client.proxy_answered" not in rules(rep)


def test_curl_says_its_tunnel_through_the_proxy_failed(web: int, proxy_502: str,
                                                       tmp_path: Path) -> None:
    need("curl")
    env = client_env(tmp_path, https_proxy=proxy_502)
    url = f"https://localhost:{web}/"
    out = run(["curl", "-sS", url], env)
    assert "CONNECT tunnel failed, response 502" in out or "502 from proxy" in out
    code, rep = ask(f"$ curl -sS {url}\n{out}", env)
    # The proxy answered CONNECT with a status: said so, not "reset".
    assert code == 1 and rules(rep)[0] == "client.proxy_tunnel_refused"
    assert "client.proxy_in_the_way" not in rules(rep)
    assert "port.reachable" not in rules(rep)


# --- controls: a client that does not use the variable is told nothing -------

@pytest.mark.parametrize("variables", [{"HTTP_PROXY": "dead"},
                                       {"http_proxy": "dead", "no_proxy": "localhost,127.0.0.1"}])
def test_curl_going_direct_is_not_told_about_a_proxy(web: int, dead: str, tmp_path: Path,
                                                    variables: dict[str, str]) -> None:
    need("curl")
    env = client_env(tmp_path, **{k: dead if v == "dead" else v for k, v in variables.items()})
    url = f"http://localhost:{web}/"
    argv = ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}\n", url]
    out = run(argv, env)
    assert out == "200\n"
    code, rep = ask(f"$ {shlex.join(argv)}\n{out}", env)
    assert code == 0 and rules(rep) == ["port.reachable"]
    assert not [f for f in rep["findings"] if f["check"] == "proxy" and f["status"] != "ok"]


def test_node_fetch_ignores_HTTP_PROXY_and_is_not_told(web: int, dead: str,
                                                       tmp_path: Path) -> None:
    need("node")
    env = client_env(tmp_path, HTTP_PROXY=dead, http_proxy=dead, NODE_USE_ENV_PROXY="1")
    url = f"http://localhost:{web}/"
    script = f"fetch('{url}').then(r => console.log(r.status))"
    version = run(["node", "--version"], env).strip()
    if int(version.lstrip("v").split(".")[0]) >= 24:
        pytest.skip(f"node {version} honours NODE_USE_ENV_PROXY")
    out = run(["node", "-e", script], env)  # Node 18 adds a warning that fetch is experimental
    assert "200" in out.splitlines()
    code, rep = ask(f"$ node -e {shlex.quote(script)}\n{out}", {**env, "NODE_USE_ENV_PROXY": ""})
    assert code == 0 and rules(rep) == ["port.reachable"]


def test_go_never_proxies_localhost_and_is_not_blamed(goget: Path, web: int, dead: str,
                                                      tmp_path: Path) -> None:
    env = client_env(tmp_path, HTTP_PROXY=dead)
    url = f"http://localhost:{web}/"
    out = run([str(goget), url], env)
    assert out == "200 OK\n"
    code, rep = ask(f"$ goget {url}\n{out}", env)
    # Nothing names the client: the note says which clients the variable would
    # affect (Python's), ranked last, and never Go.
    assert code == 0 and rules(rep) == ["port.reachable", "client.proxy_may_capture"]
    note = rep["diagnoses"][1]
    assert note["severity"] == "info" and "Python requests, Python urllib" in note["summary"]
    assert "Go never sends localhost to a proxy" in " ".join(note["evidence"])


def test_python_under_cgi_ignores_upper_case_HTTP_PROXY(web: int, dead: str,
                                                       tmp_path: Path) -> None:
    pytest.importorskip("requests")
    env = client_env(tmp_path, HTTP_PROXY=dead, REQUEST_METHOD="GET")
    url = f"http://localhost:{web}/"
    code_line = f"import requests; print(requests.get('{url}').status_code)"
    out = run(["python3", "-c", code_line], env)
    assert out == "200\n"
    code, rep = ask(f"$ python3 -c {shlex.quote(code_line)}\n{out}", env)
    assert code == 0 and rules(rep) == ["port.reachable"]


def test_chromium_never_proxies_localhost(web: int, dead: str, tmp_path: Path) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("chromium is not installed on this machine")
    env = client_env(tmp_path, http_proxy=dead, HTTP_PROXY=dead)
    url = f"http://localhost:{web}/"
    out = run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", url], env,
              timeout=120)
    assert "the wanted server" in out
    code, rep = ask(f"$ chromium --headless --dump-dom {url}\n(the page loads)", env)
    assert rep["target"]["client"] == "chrome"
    assert code == 0 and rules(rep) == ["port.reachable"]


# --- Go proxies a local name that is not `localhost` (root: a private hosts file)

@pytest.mark.root
@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0,
                    reason="needs root for network and mount namespaces (unshare -n -m)")
@pytest.mark.skipif(shutil.which("unshare") is None or shutil.which("ip") is None,
                    reason="needs unshare (util-linux) and ip (iproute2)")
def test_go_proxies_a_local_name_and_the_printed_fix_works(goget: Path, tmp_path: Path) -> None:
    """`vm` is 127.0.0.1 in the hosts file, but Go only spares `localhost` and
    loopback literals: the request goes to the dead proxy. In a private
    network namespace (ports 8000 and 3128 are this test's own)."""
    from tests.test_namespaces import in_namespace

    wait = "import socket; socket.create_connection(('127.0.0.1', 8000))"
    first_linux_fix = ('import json; r = json.load(open("report.json")); '
                       'print([f["command"] for f in r["diagnoses"][0]["fix"] '
                       'if f["os"] == "linux"][0])')
    (tmp_path / "index.html").write_text("<h1>the wanted server</h1>\n")
    body = f"""
cd {tmp_path}
{sys.executable} -m http.server --bind 127.0.0.1 8000 >/dev/null 2>&1 &
SPID=$!
trap 'kill $SPID' EXIT
for i in $(seq 50); do {sys.executable} -c "{wait}" 2>/dev/null && break; sleep 0.1; done
export HTTP_PROXY=http://127.0.0.1:3128
OUT=$({goget} http://vm:8000/ 2>&1) || true
$ASSISTANT --ask "$OUT" --json > report.json || true
FIX=$({sys.executable} -c '{first_linux_fix}')
eval "$FIX"
echo "$OUT"
echo "after the fix: $({goget} http://vm:8000/ 2>&1)"
cat report.json
"""
    before, after, report = in_namespace(tmp_path, body, hosts="127.0.0.1 localhost\n"
                                         "127.0.0.1 vm\n").split("\n", 2)
    assert before == ('error: Get "http://vm:8000/": proxyconnect tcp: dial tcp 127.0.0.1:3128: '
                      "connect: connection refused")
    assert after == "after the fix: 200 OK"
    rep = json.loads(report)
    assert rep["target"]["host"] == "vm" and rep["target"]["client"] == "go"
    top = rep["diagnoses"][0]
    assert (top["rule"], top["category"]) == ("client.proxy_failed", "proxy")
    assert [f["command"] for f in top["fix"] if f["os"] == "linux"][0] == APPEND.replace(
        "::1\"", "::1,vm\"")


def test_requests_with_a_socks_proxy_and_no_pysocks(tmp_path: Path) -> None:
    """proxy-python-requests-ALL_PROXY-socks-no-pysocks (field trial 5)."""
    if subprocess.run([sys.executable, "-c", "import socks"], capture_output=True).returncode == 0:
        pytest.skip("PySocks is installed here: requests would use the proxy")
    env = client_env(tmp_path, ALL_PROXY=f"socks5h://127.0.0.1:{free_port()}")
    code = f"import requests; requests.get('http://127.0.0.1:{free_port()}/')"
    out = run([sys.executable, "-c", code], env)
    assert "Missing dependencies for SOCKS support" in out
    exit_code, rep = ask(out.strip().splitlines()[-1], env)
    assert (exit_code, rules(rep)[0]) == (1, "client.requests_socks_missing"), rules(rep)


def test_urllib_refused_without_a_proxy_variable_asks_the_address(web: int, dead: str,
                                                                   tmp_path: Path) -> None:
    """The same urllib words with the proxy variable gone: nothing names an
    address, so it is asked (the proxy guess needs the variable)."""
    env = client_env(tmp_path, http_proxy=dead)
    # The URL from argv: Python 3.13 echoes a -c source line in the traceback.
    out = run([sys.executable, "-c", "import sys, urllib.request; urllib.request.urlopen("
               "sys.argv[1])", f"http://127.0.0.1:{web}/"], env)
    assert "<urlopen error [Errno 111] Connection refused>" in out and str(web) not in out
    # Without the variable the same words name nothing to check: the address is asked.
    exit_code, rep = ask(out, client_env(tmp_path))
    assert exit_code == 3 and {q["id"] for q in rep["questions"]} >= {"host", "port"}


@pytest.mark.parametrize("program", ["wget", "curl"])
def test_tinyproxy_here_answers_for_a_port_where_nothing_listens(program: str,
                                                                 tmp_path: Path) -> None:
    """proxy-curl-http_proxy-tinyproxy-up-backend-down (field trial 5) and its
    wget twin (field trial 6): tinyproxy on this machine tried the port and
    answered 500; the server is what is missing, not "never tried"."""
    from tests import realservers as rs

    need(program)
    with rs.tinyproxy() as proxy:
        env = client_env(tmp_path, http_proxy=f"http://127.0.0.1:{proxy.port}")
        url = f"http://localhost:{free_port()}/health"
        argv = ["wget", "-O-", url] if program == "wget" else ["curl", "-sS", "-f", url]
        out = run(argv, env)
        assert "500" in out, out
        code, rep = ask(f"$ {shlex.join(argv)}\n{out}", env)
    assert (code, rules(rep)[0]) == (1, "client.local_proxy_relayed"), rules(rep)
    assert "client.proxy_failed" not in rules(rep)
    fixes = [f["command"] for f in rep["diagnoses"][0]["fix"]]
    assert not any(" -O- -O-" in f for f in fixes)
    if program == "wget":
        # Field trial 7: wget's output alone (its request line names the URL),
        # asked in this shell and in one without the variable.
        code, rep = ask(out, env)
        assert (code, rules(rep)[0]) == (1, "client.local_proxy_relayed"), rules(rep)
        code, rep = ask(out, client_env(tmp_path))
        assert (code, rules(rep)[0]) == (1, "client.unnamed_local_proxy_relayed"), rules(rep)


def test_requests_through_a_proxy_set_only_where_the_program_runs(web: int, dead: str,
                                                                 tmp_path: Path) -> None:
    """Field trial 8: HTTP_PROXY came from the program's own environment (a
    .env file), not this shell: the answer named curl's and wget's files.
    Now Python's own ways, and NO_PROXY in that environment works."""
    pytest.importorskip("requests")
    program = f"import requests; print(requests.get('http://localhost:{web}/', timeout=5).status_code)"
    out = run(["python3", "-c", program], client_env(tmp_path, HTTP_PROXY=dead))
    assert "ProxyError" in out
    code, rep = ask(out, client_env(tmp_path))  # the assistant's shell has no proxy variable
    assert code == 1 and rules(rep)[0] == "client.proxy_elsewhere_python"
    assert not any("curlrc" in c for c in fix(rep, "linux"))
    fixed = client_env(tmp_path, HTTP_PROXY=dead, NO_PROXY="localhost,127.0.0.1,::1")
    assert run(["python3", "-c", program], fixed).strip() == "200"
