"""Watch until fixed: run one diagnosis again about once a second, say only
what changed, and stop by itself once the connection works.

Shell-free: `watch(run, timeout)` yields a `Round` per diagnosis; `--ask
--watch` and the chat's `/watch` only print them. Each round is the whole
diagnosis (the same checks, each bounded), so a round can take longer than
the interval; the next one then starts at once.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from assistant.report import Report
from assistant.understand.addresses import hostport

INTERVAL = 1.0
DEFAULT_TIMEOUT = 60.0
MAX_TIMEOUT = 3600.0
MARKS = {"ok": "✓", "warning": "!", "problem": "✗", "unknown": "?"}
State = Literal["watching", "fixed", "timeout", "cannot-watch"]
# Fields that change from one round to the next without anything happening:
# how long a check took, a process flickering between running and sleeping.
_VOLATILE = frozenset({"ms", "status"})
_TIMING = re.compile(r" in \d+ ms")


@dataclass
class Round:
    n: int
    report: Report
    changes: list[str]  # lines that differ from the previous round (none on the first)
    state: State
    elapsed: float


def works(report: Report) -> bool:
    """The connection works now: a diagnosis that blames nothing."""
    return report.kind == "diagnosis" and not report.has_problem()


def working(report: Report, now: str = "") -> str:
    """`127.0.0.1:8081 accepts connections (uvicorn, pid 4242)`: what works."""
    probes = _facts(report, "probe")
    ok = next((f for f in probes if f.get("result") == "ok"), None)
    holder = next((f for f in _facts(report, "listeners") if f.get("pid")), None)
    who = f" ({holder.get('process') or 'a process'}, pid {holder['pid']})" if holder else ""
    if ok is not None:
        return f"{hostport(ok['address'], ok['port'])} {now}accepts connections{who}"
    t = report.target
    where = t.get("path") or hostport(t.get("host"), t.get("port"))
    return f"{where}: nothing is wrong {'any more' if now else 'there'}{who}"


def fixed_line(report: Report) -> str:
    """`127.0.0.1:8081 now accepts connections (uvicorn, pid 4242): fixed`."""
    return working(report, "now ") + ": fixed"


def changes(before: Report | None, after: Report) -> list[str]:
    """The finding lines and the conclusion that differ between two rounds."""
    if before is None:
        return []
    old = {f.check: _key(f.status, f.data) for f in before.findings}
    out = [f"{MARKS.get(f.status, '?')} {_TIMING.sub('', f.summary)}" for f in after.findings
           if old.get(f.check) != _key(f.status, f.data)]
    # A check that is no longer asked for is not news (the rules moved on).
    if _top(before) != _top(after) and not works(after):  # when it works, the end line says so
        out.append(f"now: {after.diagnoses[0].summary}" if after.diagnoses else
                   "now: no cause found")
    return out


def watch(run: Callable[[], Report], timeout: float = DEFAULT_TIMEOUT,
          interval: float = INTERVAL, clock: Callable[[], float] = time.monotonic,
          sleep: Callable[[float], None] = time.sleep) -> Iterator[Round]:
    """Rounds of `run()` until the connection works or `timeout` seconds pass.

    The last round's state says how it ended: `fixed`, `timeout`, or
    `cannot-watch` (the text is a question, or an address is missing).
    """
    start = clock()
    previous: Report | None = None
    n = 0
    while True:
        began = clock()
        report = run()
        n += 1
        elapsed = clock() - start
        state: State = "watching"
        if report.kind != "diagnosis":
            state = "cannot-watch"
        elif works(report):
            state = "fixed"
        elif elapsed + interval > timeout:
            state = "timeout"
        yield Round(n, report, changes(previous, report), state, elapsed)
        if state != "watching":
            return
        previous = report
        sleep(max(0.0, interval - (clock() - began)))


def _facts(report: Report, check: str) -> list[dict[str, Any]]:
    for f in report.findings:
        if f.check == check:
            return list(f.data.get("facts", []))
    return []


def _key(status: str, data: dict[str, Any]) -> tuple[str, str]:
    facts = [{k: v for k, v in f.items() if k not in _VOLATILE} for f in data.get("facts", [])]
    return status, repr(facts)


def _top(report: Report) -> tuple[str, str] | None:
    return (report.diagnoses[0].rule, report.diagnoses[0].summary) if report.diagnoses else None
