"""macOS and Windows: their tools' output parsed, and the whole diagnosis
with psutil refused and the tools answering from recorded output."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psutil
import pytest

from assistant.facts.system import linux as procfs
from assistant.facts.system import ostools as oscmd
from assistant.facts.system import platform
from assistant.facts.system import portable as procinfo
from assistant.facts.system import run as commands
from tests.support import run_cli

DATA = Path(__file__).parent / "data"


def read(name: str) -> str:
    return (DATA / name).read_text()


def test_parse_lsof() -> None:
    rows = oscmd.parse_lsof(read("lsof-macos.txt"))
    assert oscmd.Row("0.0.0.0", 5000, 611, "ControlCenter", "dev") in rows
    assert oscmd.Row("::1", 3999, 48213, "node", "dev") in rows
    assert oscmd.Row("127.0.0.1", 9222, 901, "Google Chrome", "dev") in rows


@pytest.mark.parametrize("name", ["netstat-macos.txt", "netstat-macos14.txt"])
def test_parse_netstat_macos(name: str) -> None:
    rows = {(r.address, r.port): r for r in oscmd.parse_netstat_macos(read(name))}
    assert rows[("127.0.0.1", 5432)].pid == 50112
    assert rows[("0.0.0.0", 5000)].pid == 611
    assert ("127.0.0.1", 52110) not in rows  # established, not listening


def test_parse_netstat_windows() -> None:
    rows = oscmd.parse_netstat_windows(read("netstat-windows.txt"))
    assert oscmd.Row("0.0.0.0", 80, 4, "System") in rows
    assert oscmd.Row("::1", 3999, 8844) in rows
    assert all(r.port != 52110 and r.port != 500 for r in rows)


def test_parse_excluded_and_firewall_state() -> None:
    assert oscmd.parse_excluded_ranges(read("netsh-excluded.txt")) == [
        (1311, 1410), (5357, 5357), (50000, 50059), (50160, 50259)]
    assert oscmd.parse_socketfilterfw(read("socketfilterfw-on.txt")) is True
    assert oscmd.parse_socketfilterfw(read("socketfilterfw-off.txt")) is False


RECORDED = {
    ("darwin", "lsof"): "lsof-macos.txt", ("win32", "netstat"): "netstat-windows.txt",
    ("win32", "netsh"): "netsh-excluded.txt",
    ("darwin", "/usr/libexec/ApplicationFirewall/socketfilterfw"): "socketfilterfw-on.txt",
}


@pytest.fixture
def pretend(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Run as if on another system where psutil may not list sockets."""

    def use(system: str) -> list[list[str]]:
        ran: list[list[str]] = []

        def fake_run(argv: list[str], timeout: float = 3.0) -> tuple[str | None, str | None]:
            ran.append(argv)
            name = RECORDED.get((system, argv[0]))
            return (read(name), None) if name else (None, f"{argv[0]} is not installed")

        def denied(*a: Any, **k: Any) -> Any:
            raise psutil.AccessDenied()

        monkeypatch.setattr(platform, "system", lambda: system)
        monkeypatch.setattr(procfs, "available", lambda: False)
        monkeypatch.setattr(psutil, "net_connections", denied)
        # other users' processes: psutil may not even read their names
        monkeypatch.setattr(procinfo, "describe", lambda pid: {"pid": pid} if pid else {})
        monkeypatch.setattr(commands, "run_command", fake_run)
        monkeypatch.setattr(oscmd, "run_command", fake_run)
        return ran

    return use


def test_macos_airplay_from_lsof(pretend: Any) -> None:
    ran = pretend("darwin")
    r = run_cli("--ask", "OSError: [Errno 48] Address already in use on port 5000", "--json")
    assert ["lsof", "-nP", "-iTCP", "-sTCP:LISTEN", "+c", "0"] in ran
    top = r.json["diagnoses"][0]
    assert top["rule"] == "macos.airplay_receiver" and "611" in top["summary"]
    assert not any(f["command"].startswith("kill") for d in r.json["diagnoses"] for f in d["fix"])
    text = run_cli("--ask", "OSError: [Errno 48] Address already in use on port 5000").out
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(("  Confirm", "  Fix")))
    fix = lines[start:]
    # this system's commands, confirming first; the rule has no other OS's
    assert fix[0] == "  Confirm, then fix:"
    assert fix[1] == "    macos    lsof -nP -iTCP:5000 -sTCP:LISTEN"
    assert [line.split()[0] for line in fix[1:] if line.startswith("    ") and not
            line.startswith("     ")] == ["macos", "macos", "any"]
    assert "--all-os" not in text


def test_macos_ipv6_only_listener_from_lsof(pretend: Any) -> None:
    pretend("darwin")
    r = run_cli("--ask", "cannot connect to 127.0.0.1:3999", "--json", "--timeout", "0.3")
    top = r.json["diagnoses"][0]
    assert top["category"] == "address-family-mismatch" and "48213" in str(top["processes"])


def test_windows_http_sys_and_excluded_range(pretend: Any) -> None:
    ran = pretend("win32")
    r = run_cli("--ask", "System.Net.Sockets.SocketException (10048): Only one usage of each "
                "socket address (protocol/network address/port) is normally permitted. port 80",
                "--json")
    top = r.json["diagnoses"][0]
    assert top["rule"] == "windows.http_sys"
    assert any("netsh http show servicestate" in f["command"] for f in top["fix"])
    assert not any("taskkill" in f["command"] for d in r.json["diagnoses"] for f in d["fix"])
    r = run_cli("--ask", "System.Net.Sockets.SocketException (10013): An attempt was made to "
                "access a socket in a way forbidden by its access permissions. port 50010", "--json")
    assert r.json["diagnoses"][0]["rule"] == "windows.excluded_port"
    assert "50000-50059" in r.json["diagnoses"][0]["summary"]
    assert ["netstat", "-ano"] in ran


def test_tools_missing_too_is_unknown(pretend: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    pretend("darwin")
    monkeypatch.setattr(oscmd, "run_command", lambda argv, timeout=3.0: (None, "not installed"))
    r = run_cli("--ask", "cannot connect to 127.0.0.1:3999", "--json", "--timeout", "0.3")
    listeners = next(f for f in r.json["findings"] if f["check"] == "listeners")
    assert listeners["status"] == "unknown"
    assert "nothing-listening" not in [d["category"] for d in r.json["diagnoses"]]


def test_macos_firewall_warning_for_a_phone(pretend: Any) -> None:
    pretend("darwin")
    r = run_cli("--ask", "my phone cannot open localhost:3999", "--json", "--timeout", "0.3")
    rules = [d["rule"] for d in r.json["diagnoses"]]
    assert rules[0] == "remote.loopback_from_text" and "macos.app_firewall_on" in rules


def test_macos_privileged_only_for_a_specific_address(pretend: Any) -> None:
    """macOS 10.14+: port 80 on 127.0.0.1 needs root, on the wildcard it does not."""
    pretend("darwin")
    r = run_cli("--ask", "Error: listen EACCES: permission denied 127.0.0.1:80", "--json")
    top = r.json["diagnoses"][0]
    assert (top["rule"], top["category"]) == ("bind.privileged_address_macos", "privileged-port")
    assert "bind.privileged_port" not in [d["rule"] for d in r.json["diagnoses"]]
    info = next(f for f in r.json["findings"] if f["check"] == "port_info")
    assert "privileged below 1024" in info["summary"]
    assert not any("setcap" in f["command"] or "sysctl" in f["command"] for f in top["fix"])
    r = run_cli("--ask", "Error: listen EACCES: permission denied 0.0.0.0:80", "--json")
    assert "privileged-port" not in [d["category"] for d in r.json["diagnoses"]]


def test_port_info_wildcard_exemption_is_macos_only() -> None:
    from assistant.facts.ports import port_facts

    mac = port_facts(80, (49152, 65535), 1024, False, wildcard_exempt=True, host="127.0.0.1")[0]
    assert mac["privileged"] is True and mac["wildcard_exempt"] is True
    for wild in ("0.0.0.0", "::"):
        assert port_facts(80, (49152, 65535), 1024, False, True, wild)[0]["privileged"] is False
    assert port_facts(80, (49152, 65535), 1024, False, True, None)[0]["privileged"] is True
    linux = port_facts(80, (32768, 60999), 1024, False, wildcard_exempt=False, host="0.0.0.0")[0]
    assert linux["privileged"] is True
