"""Real clients' wording, as pasted with the command that produced it."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from tests.support import free_port_without_neighbours, run_cli


def client(argv: list[str], timeout: float = 20) -> str:
    if shutil.which(argv[0]) is None:
        pytest.skip(f"{argv[0]} is not installed (.ci/run installs it)")
    p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                       stdin=subprocess.DEVNULL)
    return p.stdout + p.stderr


def diagnose(text: str) -> dict:
    r = run_cli("--ask", text, "--json", "--timeout", "0.5")
    assert "Traceback" not in r.err, r.err
    return r.json | {"exit": r.code}


@pytest.mark.parametrize("argv", [
    ["telnet", "localhost", "{port}"],
    ["nc", "-zv", "127.0.0.1", "{port}"],
    ["ssh", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-p", "{port}", "localhost"],
], ids=["telnet", "nc", "ssh"])
def test_terminal_clients_refused(argv: list[str]) -> None:
    port = free_port_without_neighbours()
    argv = [a.format(port=port) for a in argv]
    text = f"$ {' '.join(argv)}\n" + client(argv)
    rep = diagnose(text)
    assert rep["target"]["port"] == port, text
    top = rep["diagnoses"][0]
    assert (rep["exit"], top["category"]) == (1, "nothing-listening"), (text, rep["diagnoses"])
    # telnet's and ssh's "remote host" is their word for any peer, not another machine
    assert "remote-loopback" not in [d["category"] for d in rep["diagnoses"]
                                     if d["severity"] == "problem"]
    assert rep["questions"] == []


def test_a_service_name_as_the_port() -> None:
    text = "$ telnet localhost gopher\n" + client(["telnet", "localhost", "gopher"])
    if "Unknown service" in text or "bad port" in text.lower():
        pytest.skip("this system's services database has no gopher entry")
    rep = diagnose(text)
    assert rep["target"]["port"] == 70 and rep["diagnoses"][0]["category"] == "nothing-listening"


def test_kubectl_without_a_cluster(tmp_path) -> None:
    env = {**os.environ, "KUBECONFIG": str(tmp_path / "none"), "HOME": str(tmp_path)}
    if shutil.which("kubectl") is None:
        pytest.skip("kubectl is not installed (.ci/run installs kubernetes-client)")
    p = subprocess.run(["kubectl", "get", "pods"], capture_output=True, text=True, timeout=60,
                       env=env)
    text = "$ kubectl get pods\n" + p.stdout + p.stderr
    assert "8080" in text, text
    rep = diagnose(text)
    if rep["target"]["port"] == 8080 and any(f["check"] == "listeners" and "nothing" not in
                                               f["summary"] for f in rep["findings"]):
        pytest.skip("something listens on 8080 on this machine")
    assert rep["diagnoses"][0]["rule"] == "client.kubectl_no_cluster", rep["diagnoses"]
    assert any(f["command"] == "kubectl config current-context"
               for f in rep["diagnoses"][0]["fix"])


def test_the_container_hint_is_no_second_problem() -> None:
    port = free_port_without_neighbours()
    argv = ["curl", "-sS", f"http://127.0.0.1:{port}/"]
    rep = diagnose(f"$ {' '.join(argv)}\n" + client(argv))
    assert rep["diagnoses"][0]["category"] == "nothing-listening"
    assert [d["rule"] for d in rep["diagnoses"] if d["severity"] == "problem"] == \
        ["port.nothing_listening"]


@pytest.mark.skipif(not os.path.exists("/.dockerenv"), reason="not inside a docker container")
def test_inside_a_container_the_user_says_the_service_runs_on_the_host() -> None:
    port = free_port_without_neighbours()
    argv = ["psql", "-h", "localhost", "-p", str(port)]
    text = f"the database runs on the host machine\n$ {' '.join(argv)}\n" + client(argv)
    rep = diagnose(text)
    assert rep["diagnoses"][0]["rule"] == "container.service_on_host", rep["diagnoses"]
