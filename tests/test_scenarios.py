"""Real servers on loopback, the real socket table, the real CLI."""

from __future__ import annotations

import os
import signal
import time

import psutil
import pytest

from tests.support import free_port_without_neighbours, run_cli, run_script


def categories(report: dict) -> list[str]:
    return [d["category"] for d in report["diagnoses"]]


def test_seed_question_nothing_listening() -> None:
    port = free_port_without_neighbours()
    r = run_cli("--ask", f"cannot connect to 127.0.0.1:{port}", "--json")
    assert r.code == 1, r.err
    rep = r.json
    assert rep["kind"] == "diagnosis"
    assert rep["target"]["host"] == "127.0.0.1" and rep["target"]["port"] == port
    assert categories(rep)[0] == "nothing-listening"
    assert "service-not-running" in rep["diagnoses"][0]["kb"]
    probe = next(f for f in rep["findings"] if f["check"] == "probe")
    assert probe["status"] == "problem" and "refused" in probe["summary"]


def test_reachable_names_the_listening_process(server) -> None:
    s = server("127.0.0.1")
    r = run_cli("--ask", f"curl: (52) Empty reply from server http://127.0.0.1:{s.port}/", "--json")
    rep = r.json
    assert rep["target"]["error"] == "reset" and rep["target"]["client"] == "curl"
    assert categories(rep)[0] == "reachable"
    assert rep["diagnoses"][0]["processes"][0]["pid"] == s.pid
    assert r.code == 0


def test_ipv6_only_listener_ipv4_dialled(server) -> None:
    s = server("::1")
    rep = run_cli("--ask", f"cannot connect to 127.0.0.1:{s.port}", "--json").json
    assert categories(rep)[0] == "address-family-mismatch"
    assert rep["diagnoses"][0]["processes"][0]["pid"] == s.pid
    assert "ipv6-ipv4-localhost" in rep["diagnoses"][0]["kb"]


def test_node_dials_ipv6_but_server_on_ipv4(server) -> None:
    s = server("127.0.0.1")
    rep = run_cli("--ask", f"Error: connect ECONNREFUSED ::1:{s.port}\n    at TCPConnectWrap.afterConnect"
                  " [as oncomplete] (node:net:1555:16)", "--json").json
    assert rep["target"] == {"host": "::1", "port": s.port, "scheme": None, "error": "refused",
                             "client": "node"}
    assert categories(rep)[0] == "address-family-mismatch"


def test_localhost_to_ipv6_only_server(server) -> None:
    s = server("::1")
    rep = run_cli("--ask", f"curl http://localhost:{s.port}/ fails", "--json").json
    assert rep["target"]["host"] == "localhost"
    top = categories(rep)[0]
    # localhost resolves to 127.0.0.1 only on hosts files without ::1; with
    # ::1 listed, the dual resolution reaches the server.
    assert top in ("address-family-mismatch", "reachable")
    if "::1" not in [a for f in rep["findings"] if f["check"] == "probe"
                     for a in [x["address"] for x in f["data"]["facts"]]]:
        assert top == "address-family-mismatch"


def test_bound_to_127_0_0_2(server) -> None:
    s = server("127.0.0.2")
    rep = run_cli("--ask", f"requests.exceptions.ConnectionError: HTTPConnectionPool(host='127.0.0.1', "
                  f"port={s.port}): Max retries exceeded", "--json").json
    assert rep["target"]["client"] == "python"
    assert categories(rep)[0] == "wrong-bind-address"
    assert "127.0.0.2" in rep["diagnoses"][0]["summary"]


def test_stopped_server(server) -> None:
    s = server("127.0.0.1")
    os.kill(s.pid, signal.SIGSTOP)
    for _ in range(50):
        if psutil.Process(s.pid).status() == psutil.STATUS_STOPPED:
            break
        time.sleep(0.02)
    rep = run_cli("--ask", f"curl http://127.0.0.1:{s.port}/ hangs forever", "--json").json
    assert rep["target"]["error"] == "hang"
    assert categories(rep)[0] == "process-stopped"
    assert rep["diagnoses"][0]["processes"][0]["pid"] == s.pid
    assert "reachable" not in categories(rep)


def test_port_conflict_names_the_holder(server) -> None:
    s = server("127.0.0.1")
    text = (f"Error: listen EADDRINUSE: address already in use :::{s.port}\n"
            f"    at Server.setupListenHandle [as _listen2] (node:net:1872:16)")
    r = run_cli("--ask", text, "--json")
    rep = r.json
    assert rep["target"]["error"] == "in-use" and rep["target"]["port"] == s.port
    assert categories(rep)[0] == "port-conflict"
    assert rep["diagnoses"][0]["processes"][0]["pid"] == s.pid
    assert r.code == 1


def test_port_typo(server) -> None:
    s = server("127.0.0.1")
    asked = s.port + 1 if s.port < 65535 else s.port - 1
    rep = run_cli("--ask", f"curl: (7) Failed to connect to localhost port {asked} after 0 ms: "
                  "Couldn't connect to server", "--json").json
    if categories(rep)[0] != "port-typo":  # the neighbour port may be taken by chance
        pytest.skip(f"port {asked} is in use by something else")
    assert str(s.port) in rep["diagnoses"][0]["summary"]
    assert rep["diagnoses"][0]["processes"][0]["pid"] == s.pid


def test_host_typo_name() -> None:
    rep = run_cli("--ask", "curl: (6) Could not resolve host: localhsot", "--json").json
    assert categories(rep)[0] == "host-typo"
    assert "localhost" in rep["diagnoses"][0]["summary"]


def test_host_typo_letter_for_digit() -> None:
    rep = run_cli("--ask", "cannot connect to 127.0.0.l:8080", "--json").json
    assert rep["target"]["host"] == "127.0.0.l"
    assert categories(rep)[0] == "host-typo"


def test_proxy_captures_localhost(server) -> None:
    s = server("127.0.0.1")
    env = {"PATH": os.environ.get("PATH", ""), "http_proxy": "http://user:s3cret@proxy.invalid:3128"}
    r = run_cli("--ask", f"curl: (56) Recv failure: Connection reset by peer http://localhost:{s.port}/",
                "--json", environ=env)
    rep = r.json
    assert categories(rep)[0] == "proxy"
    assert "s3cret" not in r.out


def test_proxy_bypassed_by_no_proxy(server) -> None:
    s = server("127.0.0.1")
    env = {"PATH": "", "http_proxy": "http://proxy.invalid:3128", "no_proxy": "localhost,127.0.0.1"}
    rep = run_cli("--ask", f"curl http://localhost:{s.port}/ returns 502 Bad Gateway", "--json",
                  environ=env).json
    assert "proxy" not in categories(rep)
    assert categories(rep)[0] == "reachable"


def test_privileged_port_as_unprivileged_user() -> None:
    if os.geteuid() == 0:
        pytest.skip("runs as root: covered by the namespace test that drops privileges")
    with open("/proc/sys/net/ipv4/ip_unprivileged_port_start") as fh:
        start = int(fh.read())
    if start <= 80:
        pytest.skip("this system lets everyone bind port 80")
    rep = run_cli("--ask", "Error: listen EACCES: permission denied 0.0.0.0:80", "--json").json
    assert categories(rep)[0] == "privileged-port"


def test_installed_script_seed_question() -> None:
    port = free_port_without_neighbours()
    r = run_script("--ask", f"cannot connect to 127.0.0.1:{port}", "--json")
    assert r.code == 1, r.err
    assert r.err == ""
    assert r.json["diagnoses"][0]["category"] == "nothing-listening"


def test_installed_script_piped_stdin(server) -> None:
    s = server("127.0.0.1")
    r = run_script(stdin=f"Error: listen EADDRINUSE: address already in use 127.0.0.1:{s.port}\n")
    assert r.code == 1, r.err
    assert "Diagnosis" in r.out and str(s.pid) in r.out


def test_installed_script_text_output(server) -> None:
    s = server("::1")
    r = run_script("--ask", f"cannot connect to 127.0.0.1:{s.port}")
    assert r.code == 1
    assert "✗" in r.out and "  Confirm, then fix:" in r.out.splitlines()
    commands = _command_oses(r.out)
    assert commands[0] == "linux" and set(commands) == {"linux", "any"}  # this machine first
    assert "    For macOS and Windows: add --all-os" in r.out.splitlines()
    assert "\x1b[" not in r.out  # NO_COLOR is set
    every = run_script("--ask", f"cannot connect to 127.0.0.1:{s.port}", "--all-os")
    assert set(_command_oses(every.out)) == {"linux", "macos", "windows", "any"}
    assert "--all-os" not in every.out


def _command_oses(out: str) -> list[str]:
    """The OS column of the fix commands in a text report."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(("  Confirm", "  Fix")))
    return [line.split()[0] for line in lines[start + 1:] if line.startswith("    ")
            and not line.startswith("     ") and line.split()[0] in ("linux", "macos", "windows",
                                                                       "any")]


def test_libpq_reports_it_dialled_ipv6(server) -> None:
    """psycopg2/libpq name the address they dialled; it beats our resolver."""
    s = server("127.0.0.1")
    rep = run_cli("--ask", f'django.db.utils.OperationalError: connection to server at "localhost" '
                  f"(::1), port {s.port} failed: Connection refused", "--json").json
    assert rep["target"]["host"] == "localhost"
    assert categories(rep)[0] == "address-family-mismatch"
    assert "::1" in rep["diagnoses"][0]["summary"]


def test_phone_reaching_loopback_gets_diagnosis_and_answer() -> None:
    r = run_cli("--ask", "can my phone reach 127.0.0.1 on my laptop?", "--json")
    rep = r.json
    assert rep["kind"] == "diagnosis" and categories(rep)[0] == "remote-loopback"
    assert "loopback-remote-access" in [a["kb"] for a in rep["answers"]]
    assert any("0.0.0.0" in f["command"] for f in rep["diagnoses"][0]["fix"])


def test_container_client_in_the_question(server) -> None:
    s = server("127.0.0.1")
    rep = run_cli("--ask", f"my app inside a docker container cannot connect to localhost:{s.port}",
                  "--json").json
    assert categories(rep)[0] == "remote-loopback"
    assert "a container" in rep["diagnoses"][0]["summary"]


def _forwarder(tmp_path, server_factory):  # type: ignore[no-untyped-def]
    """A real listener whose process is named docker-proxy (a copy of python)."""
    import shutil as sh
    import sys as _sys

    from tests import support

    exe = tmp_path / "docker-proxy"
    sh.copy(_sys.executable, exe)
    proc = support.subprocess.Popen([str(exe), "-c", support.SERVER, "127.0.0.1", "0", "4", "1"],
                                    stdout=support.subprocess.PIPE, text=True)
    return support.Server(proc, int(proc.stdout.readline()), "127.0.0.1")


def test_port_published_by_a_container_forwarder(tmp_path, server) -> None:
    fwd = _forwarder(tmp_path, server)
    try:
        rep = run_cli("--ask", f"Error: listen EADDRINUSE: address already in use :::{fwd.port}",
                      "--json").json
        top = rep["diagnoses"][0]
        assert top["rule"] == "container.port_published"
        assert "docker-proxy" in top["summary"]
        assert not any(f["command"].startswith("kill") for d in rep["diagnoses"] for f in d["fix"])
        # the app behind it: the forwarder accepts and closes at once, and the
        # protocol check gets not a byte: nothing answers behind it
        rep = run_cli("--ask", f"curl: (52) Empty reply from server http://localhost:{fwd.port}/",
                      "--json").json
        assert rep["diagnoses"][0]["rule"] == "container.nothing_behind_forwarder"
        assert "container.app_not_answering" not in [d["rule"] for d in rep["diagnoses"]]
    finally:
        fwd.stop()
