"""The safety review of issue 17, as tests over the whole built-in rule set.

A port held by someone else is the situation where a pasted fix can do
harm: each holder below is put through every built-in rule (as the engine
would see it for an EADDRINUSE), and every diagnosis's fixes are checked:
never a kill for PID 1, a systemd service, a port forwarder, a system
process or another user's process; the owner and the service manager named
where the holder is not the user's own; kill offered for the user's own
stale copy.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from assistant.engine import driver
from assistant.engine.driver import Compiled
from assistant.facts.base import CheckResult
from assistant.report import Diagnosis
from tests.test_rule_files import RULESET

KILL = re.compile(r"(^|\s|;)(sudo\s+)?(kill|pkill|killall|taskkill|Stop-Process)\b")


def listener(**over: Any) -> dict[str, Any]:
    base = {"type": "listener", "address": "127.0.0.1", "port": 3000, "family": 4,
            "pid": 4242, "process": "node", "user": "dev", "mine": True,
            "relation": "unknown", "stopped": False, "wildcard": False, "loopback": True}
    return {**base, **over}


HOLDERS = {
    "pid 1 (systemd socket activation)": listener(pid=1, process="systemd", user="root",
                                                  mine=False),
    "pid 1 seen as the user's own (in a container)": listener(pid=1, process="node", mine=True),
    "sshd in a service": listener(process="sshd", user="root", mine=False, unit="ssh.service"),
    "postgres in a service": listener(process="postgres", user="postgres", mine=False,
                                      unit="postgresql@15-main.service"),
    "nginx, the user's own but in a service": listener(process="nginx", mine=True,
                                                       unit="nginx.service"),
    "another user's server": listener(process="python3", user="alice", mine=False, uid=1001),
    "another user's, name hidden": {k: v for k, v in listener(user="alice", mine=False).items()
                                    if k not in ("pid", "process")},
    "docker-proxy": listener(process="docker-proxy", user="root", mine=False),
    "rootless podman's forwarder, the user's own": listener(process="rootlessport", mine=True),
    "macOS ControlCenter, the user's own": listener(process="ControlCenter", mine=True,
                                                    port=5000),
    "Windows http.sys (System, pid 4)": listener(pid=4, process="System", user="SYSTEM",
                                                 mine=False, port=80),
    "Windows svchost": listener(pid=1004, process="svchost.exe", user="NETWORK SERVICE",
                                mine=False, port=135),
}


def diagnoses(holder: dict[str, Any]) -> list[Diagnosis]:
    port = holder["port"]
    facts = [{"type": "target", "host": "127.0.0.1", "port": port, "kind": "ipv4",
              "family": 4, "address": "127.0.0.1", "loopback": True, "wildcard": False},
             {"type": "symptom", "role": "server", "error": "in-use", "client": "node"}]

    def checks(names: list[str]) -> list[CheckResult]:
        given = {"listeners": [holder]}
        return [CheckResult(n, "ok", [dict(f) for f in given.get(n, [])], 0.0) for n in names]

    out = driver.run(Compiled(RULESET), facts, checks, {})
    assert not out.errors, out.errors
    return [c.diagnosis for c in out.conclusions]


def kills(ds: list[Diagnosis]) -> list[str]:
    return [f"{d.rule}: {f.command}" for d in ds for f in d.fix if KILL.search(f.command)]


@pytest.mark.parametrize("name", [n for n in HOLDERS])
def test_no_kill_for_a_holder_that_is_not_the_users_stale_copy(name: str) -> None:
    ds = diagnoses(HOLDERS[name])
    assert ds, "a held port must get a diagnosis"
    assert kills(ds) == []


@pytest.mark.parametrize("name", ["sshd in a service", "postgres in a service",
                                  "nginx, the user's own but in a service"])
def test_a_service_is_stopped_through_its_manager_and_named(name: str) -> None:
    h = HOLDERS[name]
    top = diagnoses(h)[0]
    assert h["unit"] in top.summary and h["user"] in top.summary
    assert f"sudo systemctl stop {h['unit']}" in [f.command for f in top.fix]


def test_pid_1_is_the_init_systems_socket_unit() -> None:
    top = diagnoses(HOLDERS["pid 1 (systemd socket activation)"])[0]
    assert top.rule == "bind.held_by_init" and "Never kill pid 1" in top.summary
    assert "systemctl list-sockets --all" in [f.command for f in top.fix]


def test_another_users_process_names_the_owner() -> None:
    for name in ("another user's server", "another user's, name hidden"):
        top = diagnoses(HOLDERS[name])[0]
        assert top.rule == "bind.other_users_process" and "user alice" in top.summary, name
        assert "not yours to stop" in top.summary


def test_forwarders_and_system_holders_get_their_own_rule_first() -> None:
    expect = {"docker-proxy": "container.port_published",
              "rootless podman's forwarder, the user's own": "container.port_published",
              "macOS ControlCenter, the user's own": "macos.airplay_receiver",
              "Windows http.sys (System, pid 4)": "windows.http_sys"}
    for name, rule in expect.items():
        assert [d.rule for d in diagnoses(HOLDERS[name])][0] == rule, name


def test_the_users_own_stale_copy_may_be_killed_by_pid() -> None:
    """The one case where kill is the fix: the user's own process, outside any
    service manager (the test above would pass for a rule set with no kill)."""
    ds = diagnoses(listener())
    assert ds[0].rule == "bind.stop_own_copy"
    assert kills(ds) == ["bind.stop_own_copy: kill 4242", "bind.stop_own_copy: kill 4242",
                         "bind.stop_own_copy: Stop-Process -Id 4242"]
