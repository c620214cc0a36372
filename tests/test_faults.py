"""Faults at every place the system can refuse us: the answer degrades to
"unknown, because ..." and the command still exits with a defined code."""

from __future__ import annotations

import builtins
import os
import socket
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from assistant.facts.system import linux as procfs
from assistant.facts.system import resolver as resolve
from tests.support import free_port_without_neighbours, run_cli

SEED = "cannot connect to 127.0.0.1:{}"


def ask_json(text: str, *extra: str, environ: dict[str, str] | None = None) -> tuple[int, Any]:
    r = run_cli("--ask", text, "--json", "--timeout", "0.5", *extra, environ=environ)
    assert "Traceback" not in r.err, r.err
    return r.code, (r.json if r.out.strip() else None)


def finding(rep: dict[str, Any], check: str) -> dict[str, Any]:
    return next(f for f in rep["findings"] if f["check"] == check)


def no_proc(monkeypatch: pytest.MonkeyPatch) -> None:
    """Take the Linux fast path away: psutil's path is what other systems use."""
    monkeypatch.setattr(procfs, "available", lambda: False)


@pytest.mark.parametrize("exc", [psutil.AccessDenied(), psutil.NoSuchProcess(1),
                                 psutil.ZombieProcess(1), PermissionError("no")])
def test_connection_table_refused(monkeypatch: pytest.MonkeyPatch, exc: Exception) -> None:
    port = free_port_without_neighbours()
    no_proc(monkeypatch)

    def boom(*a: Any, **k: Any) -> Any:
        raise exc

    monkeypatch.setattr(psutil, "net_connections", boom)
    code, rep = ask_json(SEED.format(port))
    listeners = finding(rep, "listeners")
    assert listeners["status"] == "unknown" and "unknown, because" in listeners["summary"]
    # Absence was not established, so nothing may be concluded from it.
    assert "nothing-listening" not in [d["category"] for d in rep["diagnoses"]]
    assert (code, [d["rule"] for d in rep["diagnoses"]]) == (0, []), rep["diagnoses"]


@pytest.mark.parametrize("exc", [psutil.AccessDenied(), psutil.NoSuchProcess(1),
                                 psutil.ZombieProcess(1)])
def test_process_details_refused_psutil(monkeypatch: pytest.MonkeyPatch, server: Any,
                                        exc: Exception) -> None:
    no_proc(monkeypatch)
    s = server("127.0.0.1")

    def boom(self: Any, *a: Any, **k: Any) -> Any:
        raise exc

    for name in ("name", "cmdline", "username", "status"):
        monkeypatch.setattr(psutil.Process, name, boom)
    code, rep = ask_json(f"Error: listen EADDRINUSE: address already in use :::{s.port}")
    top = rep["diagnoses"][0]
    assert top["category"] == "port-conflict"
    assert "a process" in top["summary"] or str(s.pid) in top["summary"]
    assert code == 1


def test_process_exits_mid_scan_procfs(monkeypatch: pytest.MonkeyPatch, server: Any) -> None:
    """Every /proc/PID file vanishes under us (the process exited)."""
    s = server("127.0.0.1")
    real_open, real_readlink = builtins.open, os.readlink

    def gone_open(path: Any, *a: Any, **k: Any) -> Any:
        if str(path).startswith(f"/proc/{s.pid}/"):
            raise FileNotFoundError(path)
        return real_open(path, *a, **k)

    def gone_readlink(path: Any, *a: Any, **k: Any) -> Any:
        if str(path).startswith(f"/proc/{s.pid}/"):
            raise FileNotFoundError(path)
        return real_readlink(path, *a, **k)

    monkeypatch.setattr(builtins, "open", gone_open)
    monkeypatch.setattr(os, "readlink", gone_readlink)
    code, rep = ask_json(f"Error: listen EADDRINUSE: address already in use :::{s.port}")
    top = rep["diagnoses"][0]
    assert code == 1 and top["category"] == "port-conflict"
    # the holder's process is unknown: named as such, and never offered a kill
    assert "a process" in top["summary"]
    assert not any("kill" in f["command"] for f in top["fix"])


def test_netlink_refused_falls_back_to_proc_text(monkeypatch: pytest.MonkeyPatch,
                                                 server: Any) -> None:
    s = server("::1")

    def refused(*a: Any, **k: Any) -> Any:
        raise PermissionError("sock_diag not allowed here")

    monkeypatch.setattr(procfs, "_netlink_listeners", refused)
    code, rep = ask_json(SEED.format(s.port))
    assert rep["diagnoses"][0]["category"] == "address-family-mismatch"
    assert code == 1


def test_proc_net_unreadable_is_unknown_not_empty(monkeypatch: pytest.MonkeyPatch,
                                                  server: Any) -> None:
    """Without netlink and /proc/net (psutil reads it too) nothing is known
    about listeners: no "nothing listens" may be concluded from that."""
    s = server("::1")

    def refused(*a: Any, **k: Any) -> Any:
        raise PermissionError("sandboxed")

    real_open = builtins.open

    def no_net(path: Any, *a: Any, **k: Any) -> Any:
        if str(path).startswith("/proc/net/"):
            raise PermissionError(path)
        return real_open(path, *a, **k)

    monkeypatch.setattr(procfs, "_netlink_listeners", refused)
    monkeypatch.setattr(builtins, "open", no_net)
    code, rep = ask_json(SEED.format(s.port))
    assert finding(rep, "listeners")["status"] == "unknown"
    assert "nothing-listening" not in [d["category"] for d in rep["diagnoses"]]
    assert (code, [d["rule"] for d in rep["diagnoses"]]) == (0, []), rep["diagnoses"]


def test_name_resolution_hangs(monkeypatch: pytest.MonkeyPatch) -> None:
    def hang(*a: Any, **k: Any) -> Any:
        time.sleep(30)
        raise socket.gaierror("gave up")

    monkeypatch.setattr(socket, "getaddrinfo", hang)
    monkeypatch.setattr(resolve, "RESOLVE_TIMEOUT", 0.5)
    start = time.perf_counter()
    code, rep = ask_json("cannot connect to api.dev.test:8080")
    assert time.perf_counter() - start < 10
    res = finding(rep, "resolution")
    assert res["status"] == "problem" and "no answer" in res["summary"]
    assert code == 1 and rep["diagnoses"][0]["category"] == "name-resolution"


@pytest.fixture
def black_hole(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every probe connect waits out its timeout, as a DROP rule makes it."""
    from assistant.facts import probe

    real = socket.socket

    class BlackHole(real):  # type: ignore[misc, valid-type]
        def connect(self, address: Any) -> None:
            time.sleep(self.gettimeout() or 0)
            raise TimeoutError("timed out")

    monkeypatch.setattr(probe.socket, "socket", BlackHole)


def test_probe_black_holed(black_hole: None, server: Any) -> None:
    """Connects that never answer end at the --timeout bound."""
    s = server("127.0.0.1")
    start = time.perf_counter()
    code, rep = ask_json(f"curl http://127.0.0.1:{s.port}/ hangs")
    assert time.perf_counter() - start < 10
    p = finding(rep, "probe")
    assert "timeout" in p["summary"] and p["status"] == "problem"
    assert "reachable" not in [d["category"] for d in rep["diagnoses"]]
    # the real accept queue is not full and no filter drops: nothing to blame
    assert finding(rep, "socket_states")["status"] == "ok"
    assert (code, rep["diagnoses"]) == (0, [])


def test_unreadable_rule_file(tmp_path: Path) -> None:
    (tmp_path / "team.yaml").mkdir()  # reading it fails: IsADirectoryError
    r = run_cli("--ask", "cannot connect to 127.0.0.1:1", "--rules", str(tmp_path))
    assert r.code == 2 and "team.yaml" in r.err and "Traceback" not in r.err


def test_unreadable_kb_entry(tmp_path: Path) -> None:
    (tmp_path / "team-entry.yaml").mkdir()
    r = run_cli("--ask", "what is localhost?", environ={"PATH": "", "ASSISTANT_KB_PATH": str(tmp_path)})
    assert r.code == 2 and "team-entry.yaml" in r.err and "Traceback" not in r.err


@pytest.mark.parametrize("failure", ["missing", "failing"])
def test_packet_filter_tools_missing_or_failing(monkeypatch: pytest.MonkeyPatch, server: Any,
                                                black_hole: None, failure: str) -> None:
    """A listener whose connects time out, and nft/iptables absent or broken:
    the firewall check is unknown, and a firewall is only the likely cause."""
    import shutil

    from assistant.facts.firewall import reader as firewall

    s = server("127.0.0.1")
    if failure == "missing":
        real_which = shutil.which
        monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None
                            if "tables" in name or name == "nft" else real_which(name, *a, **k))
    else:
        monkeypatch.setattr(firewall, "run_command",
                            lambda argv, timeout=3.0: (None, f"`{argv[0]}` failed: exit 1"))
    monkeypatch.setattr(firewall, "legacy_loaded", lambda family: True)
    code, rep = ask_json(f"curl http://127.0.0.1:{s.port}/ hangs")
    fw = finding(rep, "firewall")
    assert fw["status"] == "unknown"
    assert ("not installed" if failure == "missing" else "failed") in fw["summary"]
    assert rep["diagnoses"][0]["rule"] == "firewall.likely"
