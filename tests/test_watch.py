"""Watch until fixed: rounds, what changed, how it ends; and for real, with a
server started while `assistant --ask ... --watch` runs."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from typing import Any

from assistant import watch
from assistant.report import Diagnosis, Finding, Report
from tests.support import console_script, free_port_without_neighbours


def report(listening: bool, ms: float = 1.0) -> Report:
    target = {"host": "127.0.0.1", "port": 8081, "scheme": None, "error": "refused",
              "client": None}
    if listening:
        findings = [Finding("listeners", "ok", "listening: 127.0.0.1:8081 (uvicorn, pid 4242)",
                            {"facts": [{"address": "127.0.0.1", "port": 8081, "pid": 4242,
                                        "process": "uvicorn", "status": "running"}], "ms": ms}),
                    Finding("probe", "ok", f"connect: 127.0.0.1:8081 ok in {int(ms)} ms",
                            {"facts": [{"address": "127.0.0.1", "port": 8081, "result": "ok",
                                        "ms": int(ms)}], "ms": ms})]
        return Report("diagnosis", "x", target, findings)
    findings = [Finding("listeners", "problem", "nothing listens on port 8081",
                        {"facts": [], "ms": ms}),
                Finding("probe", "problem", f"connect: 127.0.0.1:8081 refused in {int(ms)} ms",
                        {"facts": [{"address": "127.0.0.1", "port": 8081, "result": "refused",
                                    "ms": int(ms)}], "ms": ms})]
    return Report("diagnosis", "x", target, findings, [Diagnosis(
        "port.nothing_listening", "nothing-listening", "problem", "Nothing listens on 8081.",
        [], [], [], [])])


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_rounds_say_only_what_changed_and_stop_when_it_works() -> None:
    clock = Clock()
    # timings differ every round; only the third round changes something
    reports = iter([report(False, 1), report(False, 3), report(True, 2)])
    rounds = list(watch.watch(lambda: next(reports), timeout=30, clock=clock, sleep=clock.sleep))
    assert [r.state for r in rounds] == ["watching", "watching", "fixed"]
    assert rounds[0].changes == [] and rounds[1].changes == []
    assert rounds[2].changes == ["✓ listening: 127.0.0.1:8081 (uvicorn, pid 4242)",
                                 "✓ connect: 127.0.0.1:8081 ok"]
    assert clock.slept == [1.0, 1.0]
    assert watch.fixed_line(rounds[2].report) == \
        "127.0.0.1:8081 now accepts connections (uvicorn, pid 4242): fixed"


def test_a_process_flickering_between_states_is_no_change() -> None:
    before, after = report(True), report(True)
    after.findings[0].data["facts"][0]["status"] = "sleeping"
    assert watch.changes(before, after) == []


def test_timeout_and_what_cannot_be_watched() -> None:
    clock = Clock()
    rounds = list(watch.watch(lambda: report(False), timeout=3, clock=clock, sleep=clock.sleep))
    # rounds at 0, 1, 2 and 3 s: the last one that fits in 3 s says so
    assert [r.state for r in rounds] == ["watching", "watching", "watching", "timeout"]
    needs = Report("needs-input", "x", {})
    assert [r.state for r in watch.watch(lambda: needs, timeout=3, clock=clock,
                                         sleep=clock.sleep)] == ["cannot-watch"]


def test_watch_ends_with_0_when_a_real_server_starts(server: Any) -> None:
    port = free_port_without_neighbours()
    begin = time.monotonic()
    proc = subprocess.Popen(
        [str(console_script()), "--ask", f"curl: (7) Failed to connect to 127.0.0.1 port {port}: "
         "Connection refused", "--watch", "30"], stdout=subprocess.PIPE, text=True,
        env={"PATH": "/usr/bin:/bin", "NO_COLOR": "1", "HOME": "/tmp"})
    assert proc.stdout is not None
    lines: list[str] = []
    try:
        # The first round's report is printed whole; the server starts after it.
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))
            if line.startswith("Watching"):
                break
        s = server("127.0.0.1", port)
        rest, _ = proc.communicate(timeout=40)
    finally:
        if proc.poll() is None:
            proc.kill()
    lines += rest.splitlines()
    out = "\n".join(lines)
    assert proc.returncode == 0, out
    assert time.monotonic() - begin < 15  # it ended by itself, long before the 30 s
    assert "Diagnosis  [nothing-listening · port.nothing_listening]" in lines
    assert "Watching (every second, up to 30 s; Ctrl-C stops): only changes are shown." in lines
    assert re.fullmatch(rf"127\.0\.0\.1:{port} now accepts connections \(python[0-9.]*, pid "
                        rf"{s.pid}\): fixed", lines[-1]), lines[-1]
    changed = [ln for ln in lines if ln.startswith("  after ")]
    assert any(f"✓ connect: 127.0.0.1:{port} ok" in ln for ln in changed), out


def test_watch_times_out_with_the_usual_exit_code() -> None:
    port = free_port_without_neighbours()
    proc = subprocess.run(
        [str(console_script()), "--ask", f"cannot connect to 127.0.0.1:{port}", "--watch", "2",
         "--json"], capture_output=True, text=True, timeout=30,
        env={"PATH": "/usr/bin:/bin", "NO_COLOR": "1", "HOME": "/tmp"})
    assert proc.returncode == 1
    import json

    doc = json.loads(proc.stdout)  # one object, the last round's report
    assert doc["schema"] == 1 and doc["diagnoses"][0]["category"] == "nothing-listening"


def test_watch_needs_ask_and_sane_seconds() -> None:
    from tests.support import run_cli

    r = run_cli("--watch")
    assert r.code == 2 and "--watch needs --ask TEXT" in r.err
    r = run_cli("--ask", "cannot connect to 127.0.0.1:9", "--watch", "0")
    assert r.code == 2 and "--watch takes seconds between 0 and 3600" in r.err


if sys.platform != "linux":  # the real-server tests read /proc
    del test_watch_ends_with_0_when_a_real_server_starts
