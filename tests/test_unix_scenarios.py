"""UNIX sockets, live: a Python UNIX server, a real Go client and the real
Docker CLI, clients run as another user where permissions are the point,
the assistant run in-process as root and as that user through its console
script."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import run_cli
from tests.unixsupport import (
    NOBODY,
    as_user,
    assistant_as,
    need,
    need_root,
    open_dir,
    run,
    start_unix_server,
    top,
)

GO_DIAL = """package main

import (
	"fmt"
	"net"
	"os"
)

func main() {
	c, err := net.Dial("unix", os.Args[1])
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	c.Close()
	fmt.Println("connected to", os.Args[1])
}
"""


@pytest.fixture(scope="module")
def godial() -> Iterator[str]:
    """A real Go client (net.Dial("unix", PATH)), built once, runnable by anyone."""
    need("go")
    d = open_dir("godial-")
    (d / "main.go").write_text(GO_DIAL)
    env = {"HOME": str(d), "GOCACHE": str(d / "cache"), "GOPATH": str(d / "gopath")}
    code, out = run(["go", "build", "-o", str(d / "godial"), str(d / "main.go")], env=env,
                    timeout=300, cwd=str(d))
    assert code == 0, out
    yield str(d / "godial")
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def sockdir() -> Iterator[Path]:
    d = open_dir("unixsock-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


def ask(text: str) -> tuple[int, dict]:
    r = run_cli("--ask", text, "--json")
    return r.code, r.json


def test_missing_socket_nothing_created_it(godial: str, sockdir: Path) -> None:
    path = str(sockdir / "app.sock")
    code, out = run([godial, path])
    assert code == 1 and "connect: no such file or directory" in out
    code, rep = ask(out)
    assert rep["target"]["path"] == path and rep["target"]["error"] == "missing"
    assert top(rep) == ("unix.nothing_at_path", "nothing-listening") and code == 1
    finding = next(f for f in rep["findings"] if f["check"] == "unix_socket")
    assert finding["status"] == "problem" and "missing" in finding["summary"]


def test_stale_socket_after_the_server_was_killed(godial: str, sockdir: Path) -> None:
    srv = start_unix_server(str(sockdir / "app.sock"), 0o666)
    srv.kill()
    assert os.path.exists(srv.path)  # SIGKILL leaves the file
    code, out = run([godial, srv.path])
    assert "connect: connection refused" in out
    code, rep = ask(out)
    assert top(rep) == ("unix.stale_socket", "nothing-listening") and code == 1
    assert any(f["command"] == f"sudo rm {srv.path}" for f in rep["diagnoses"][0]["fix"])


def test_the_same_text_once_the_server_is_back(godial: str, sockdir: Path) -> None:
    path = str(sockdir / "app.sock")
    _, out = run([godial, path])
    srv = start_unix_server(path, 0o666)
    try:
        code, rep = ask(out)
        assert top(rep) == ("unix.reachable", "reachable") and code == 0
        assert rep["diagnoses"][0]["processes"][0]["pid"] == srv.pid
    finally:
        srv.kill()


@pytest.mark.root
def test_root_only_socket_and_an_ordinary_client(godial: str, sockdir: Path) -> None:
    need_root()
    srv = start_unix_server(str(sockdir / "app.sock"), 0o600)  # root's, like go-unix-permission-denied
    try:
        code, out = run(as_user() + [godial, srv.path])
        assert code == 1 and "connect: permission denied" in out
        # as root the connect works: the mode says who else may connect
        code, rep = ask(out)
        assert top(rep) == ("unix.root_view", "socket-permission") and code == 1
        assert "0600" in rep["diagnoses"][0]["summary"]
        # as the user who failed (through the installed console script)
        code, rep = assistant_as(out)
        assert top(rep) == ("unix.permission", "socket-permission") and code == 1
        assert rep["diagnoses"][0]["summary"].startswith("nobody may not connect")
        # under sudo, judged for the invoking user
        r = run_cli("--ask", out, "--json", environ={"PATH": os.environ.get("PATH", ""),
                                                      "SUDO_UID": str(NOBODY), "SUDO_USER": "nobody"})
        assert (r.json["diagnoses"][0]["rule"], r.code) == ("unix.permission", 1)
    finally:
        srv.kill()


@pytest.mark.root
def test_a_directory_on_the_way_is_closed(godial: str, sockdir: Path) -> None:
    need_root()
    inner = sockdir / "private"
    inner.mkdir(mode=0o700)
    srv = start_unix_server(str(inner / "app.sock"), 0o666)
    try:
        code, out = run(as_user() + [godial, srv.path])
        assert "connect: permission denied" in out
        code, rep = assistant_as(out)
        assert top(rep) == ("unix.dir_denied", "socket-permission") and code == 1
        assert str(inner) in rep["diagnoses"][0]["summary"]
    finally:
        srv.kill()


# --- the Docker CLI against a fake daemon socket ---------------------------

DOCKER = shutil.which("docker") or "/usr/local/bin/docker"
GROUP = "adm"  # a group `nobody` is not in, present on Debian and Ubuntu


def docker_ps(sock: str, prefix: list[str]) -> str:
    code, out = run(prefix + [DOCKER, "ps"], env={"DOCKER_HOST": f"unix://{sock}"})
    assert code == 1, out
    return out


@pytest.mark.root
def test_docker_socket_of_a_group_the_user_is_not_in(sockdir: Path) -> None:
    need_root()
    need(DOCKER)
    srv = start_unix_server(str(sockdir / "docker.sock"), 0o660, f"root:{GROUP}")
    try:
        out = docker_ps(srv.path, as_user())
        assert "permission denied while trying to connect to the Docker daemon socket" in out
        code, rep = ask(out)
        assert rep["target"]["path"] == srv.path and rep["target"]["error"] == "permission"
        assert top(rep) == ("unix.docker_root_view", "socket-permission") and code == 1
        code, rep = assistant_as(out)
        assert top(rep) == ("unix.docker_group", "socket-permission") and code == 1
        fixes = [f["command"] for f in rep["diagnoses"][0]["fix"]]
        assert f"sudo usermod -aG {GROUP} $USER" in fixes and f"newgrp {GROUP}" in fixes
        assert not any("chmod 666" in f for f in fixes)
    finally:
        srv.kill()


@pytest.mark.root
def test_docker_group_joined_but_this_session_predates_it(sockdir: Path) -> None:
    """The group database lists the user (usermod -aG happened), the running
    session has no such group: a private mount namespace shows the process an
    /etc/group that lists `nobody` in the socket's group."""
    need_root()
    need(DOCKER, "unshare")
    srv = start_unix_server(str(sockdir / "docker.sock"), 0o660, f"root:{GROUP}")
    group_file = sockdir / "group"
    lines = Path("/etc/group").read_text().splitlines()
    group_file.write_text("\n".join(
        (ln + ("," if not ln.endswith(":") else "") + "nobody") if ln.startswith(f"{GROUP}:") else ln
        for ln in lines) + "\n")
    group_file.chmod(0o644)
    stale = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
             'mount --bind "$0" /etc/group && exec "$@"', str(group_file)]
    try:
        out = docker_ps(srv.path, stale + as_user())
        assert "connect: permission denied" in out
        code, rep = assistant_as(out, prefix=stale)
        assert top(rep) == ("unix.stale_groups", "socket-permission") and code == 1
        assert any(f["command"] == f"newgrp {GROUP}" for f in rep["diagnoses"][0]["fix"])
    finally:
        srv.kill()


def test_docker_host_names_a_socket_nobody_serves(sockdir: Path) -> None:
    need(DOCKER)
    sock = str(sockdir / "x.sock")
    code, out = run([DOCKER, "ps"], env={"DOCKER_HOST": f"unix://{sock}", "HOME": str(sockdir)})
    assert code == 1 and "Cannot connect to the Docker daemon at unix://" in out
    code, rep = ask(out)
    rules = [d["rule"] for d in rep["diagnoses"]]
    if "unix.docker_other_socket" in rules:
        pytest.skip("a Docker daemon runs on this machine: the answer is to use it")
    assert top(rep) == ("unix.docker_not_running", "nothing-listening") and code == 1


def test_docker_output_without_an_endpoint_means_its_default_socket() -> None:
    header = "CONTAINER ID   IMAGE     COMMAND   CREATED   STATUS    PORTS     NAMES\n"
    env = {"PATH": os.environ.get("PATH", "")}
    rep = run_cli("--ask", header, "--json", environ=env).json
    assert rep["target"]["path"] == "/var/run/docker.sock" and rep["target"]["client"] == "docker"
    assert rep["kind"] == "diagnosis"
    # DOCKER_HOST names the socket the CLI really used
    rep = run_cli("--ask", "$ docker ps\n" + header, "--json",
                  environ={**env, "DOCKER_HOST": "unix:///run/user/1000/docker.sock"}).json
    assert rep["target"]["path"] == "/run/user/1000/docker.sock"
    # another kind of endpoint, or a question: no socket to look at
    rep = run_cli("--ask", header, "--json", environ={**env, "DOCKER_HOST": "ssh://me@box"}).json
    assert "path" not in rep["target"]
    rep = run_cli("--ask", "how do I run docker ps without sudo?", "--json", environ=env).json
    assert "path" not in rep["target"] and rep["kind"] != "diagnosis"


NODE_DIAL = "require('net').connect(process.argv[1]).on('error', e => console.error(e.stack))"


def test_node_on_a_socket_missing_then_left_over(sockdir: Path) -> None:
    need("node")
    path = str(sockdir / "app.sock")
    _, out = run(["node", "-e", NODE_DIAL, path])
    assert f"connect ENOENT {path}" in out
    code, rep = ask(out)
    assert top(rep) == ("unix.nothing_at_path", "nothing-listening") and code == 1
    start_unix_server(path, 0o666).kill()
    _, out = run(["node", "-e", NODE_DIAL, path])
    assert f"connect ECONNREFUSED {path}" in out
    code, rep = ask(out)
    assert top(rep) == ("unix.stale_socket", "nothing-listening") and code == 1


@pytest.mark.root
def test_node_on_a_socket_of_another_group(sockdir: Path) -> None:
    need_root()
    need("node")
    srv = start_unix_server(str(sockdir / "app.sock"), 0o660, f"root:{GROUP}")
    try:
        _, out = run(as_user() + ["node", "-e", NODE_DIAL, srv.path])
        assert f"connect EACCES {srv.path}" in out
        code, rep = assistant_as(out)
        assert top(rep) == ("unix.not_in_group", "socket-permission") and code == 1
        assert f"sudo usermod -aG {GROUP} $USER" in [f["command"] for f in rep["diagnoses"][0]["fix"]]
    finally:
        srv.kill()
