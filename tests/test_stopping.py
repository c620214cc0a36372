"""'kill it' in the chat: what is never offered, the confirmation, and a real
stop of a real server after an explicit yes (and not before)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from assistant import stopping
from assistant.facts.services import FORWARDERS
from assistant.facts.system import processes
from tests.test_repl import chat, text

RULES = Path(__file__).parent.parent / "rules"


@pytest.mark.parametrize(("holder", "words"), [
    (stopping.Holder(1, "systemd", 80), "part of the operating system"),
    (stopping.Holder(4, "System", 445), "part of the operating system"),
    (stopping.Holder(999999, "docker-proxy", 8080), "forwards the port to a container"),
    (stopping.Holder(999999, "ControlCenter", 5000), "is a system process"),
    (stopping.Holder(999999, "postgres", 5432, unit="postgresql@15-main.service"),
     "sudo systemctl stop postgresql@15-main.service"),
    (stopping.Holder(os.getpid(), "python3", 3000), "this assistant or the shell"),
    (stopping.Holder(os.getppid(), "bash", 3000), "this assistant or the shell"),
])
def test_never_offered(holder: stopping.Holder, words: str) -> None:
    reason = stopping.refusal(holder)
    assert reason is not None and words in reason


def test_the_lists_match_the_rules() -> None:
    lists = yaml.safe_load((RULES / "platforms.yaml").read_text())["lists"]
    assert tuple(lists["system_holders"]) == stopping.SYSTEM_HOLDERS
    assert "docker-proxy" in FORWARDERS


def test_another_users_process_explains_sudo(server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    s = server("127.0.0.1")
    holder = stopping.Holder(s.pid, "python3", s.port)
    assert stopping.refusal(holder) is None
    me = processes.identity(s.pid)
    assert me is not None and me.uid is not None
    monkeypatch.setattr(stopping, "_uid", lambda: me.uid + 4242)  # pretend to be someone else
    said = stopping.needs_sudo(holder)
    assert said is not None and f"sudo kill {s.pid}" in said and "only its owner or root" in said
    assert s.proc.poll() is None  # explained, never run


def test_a_reused_pid_is_left_alone(server: Any) -> None:
    s = server("127.0.0.1")
    seen = processes.identity(s.pid)
    assert seen is not None
    other = seen._replace(started=(seen.started or 0) - 1000)  # as if it started elsewhen
    said = stopping.stop(stopping.Holder(s.pid, "python3", s.port), other)
    assert said.startswith(f"pid {s.pid} is now a different process")
    assert s.proc.poll() is None


def test_kill_it_asks_and_stops_only_after_yes(tmp_path: Path, server: Any) -> None:
    s = server("127.0.0.1")
    c, out = chat(tmp_path)
    c.handle(f"Error: listen EADDRINUSE: address already in use 127.0.0.1:{s.port}")
    out.clear()
    c.handle("kill it")
    assert c.offer is not None
    assert out[-1].startswith("Stop python") and f"(pid {s.pid}, user " in out[-1]
    assert out[-1].replace("\n  ", " ").endswith(
        f"listening on port {s.port}? It gets SIGTERM, a polite request to exit (unsaved work "
        "in it may be lost). [yes / no]")
    out.clear()
    c.handle("no")
    assert out == ["OK, I left it alone."] and c.offer is None
    time.sleep(0.2)
    assert s.proc.poll() is None  # still running
    c.handle("kill it")
    out.clear()
    c.handle("yes")
    assert out[0].startswith("Stopped python") and \
        out[0].endswith(f"(pid {s.pid}): port {s.port} is free now.")
    assert s.proc.wait(5) is not None
    out.clear()
    c.handle("what's using that port?")
    assert out == [f"Nothing listens on port {s.port} right now."]


def test_kill_it_with_nothing_on_the_port(tmp_path: Path) -> None:
    from tests.support import free_port_without_neighbours

    port = free_port_without_neighbours()
    c, out = chat(tmp_path)
    c.handle("kill it")
    assert "describe the problem or paste the error first" in text(out).replace("\n  ", " ")
    c.handle(f"cannot connect to 127.0.0.1:{port}")
    out.clear()
    c.handle("kill it")
    assert out == [f"Nothing holds port {port}, so there is nothing to stop."]
    assert c.offer is None
