"""`assistant doctor`: wall time of the whole checkup as a fresh process.

Method: the installed console script run as a subprocess (`assistant doctor
--json`, output discarded), N times; the median, min and max wall time, and
the median CPU time (user + system of the process and what it ran), which a
busy shared machine inflates less.
Warm: the rule cache exists (one run before timing, as after any first use).
Cold: an empty cache directory for every run (rule files parsed, validated
and compiled). Busy: the warm run again while a helper process holds 200
listening sockets on 127.0.0.1 (every listener is read; the filter walk
covers at most 8 ports). Beside them, the interpreter floor (`python -c
"import psutil"`) and `assistant --ask SEED --json`. Then, in one process,
how long each check took in a warm checkup (they run side by side, so the
slowest bounds the round).
"""

from __future__ import annotations

import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SEED = "cannot connect to 127.0.0.1:62893"
HOLDER = """
import socket, sys, time
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    socks.append(s)
print("ready", flush=True)
time.sleep(600)
"""


def timed(argv: list[str], runs: int, env: dict[str, str], fresh_cache: bool = False
          ) -> tuple[list[float], list[float]]:
    """Wall times and CPU times (user + system, the process and its children)
    in ms. On a shared machine the CPU time moves less than the wall time."""
    wall, cpu = [], []
    for _ in range(runs):
        e = dict(env)
        if fresh_cache:
            e["ASSISTANT_CACHE_DIR"] = tempfile.mkdtemp(prefix="doctor-bench-")
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(argv, capture_output=True, env=e, timeout=60)
        wall.append((time.perf_counter() - start) * 1000)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append((after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000)
    return wall, cpu


def row(name: str, times: tuple[list[float], list[float]]) -> None:
    wall, cpu = times
    print(f"{name:<44} {statistics.median(wall):8.1f} {min(wall):8.1f} {max(wall):8.1f} "
          f"{statistics.median(cpu):8.1f}")


def per_check() -> None:
    from assistant.facts.base import CheckResult
    from assistant.session import Session

    seen: list[CheckResult] = []
    Session().checkup()  # the rule cache, warm
    start = time.perf_counter()
    Session().checkup(lambda name, res: seen.append(res) if res is not None else None)
    total = (time.perf_counter() - start) * 1000
    print(f"in one process, a warm checkup: {total:.1f} ms; each check (side by side):")
    for r in sorted(seen, key=lambda r: -r.ms):
        print(f"  {r.name:<16} {r.ms:7.1f} ms  {r.status}")


def main(runs: int) -> None:
    script = str(Path(sys.executable).parent / "assistant")
    cache = tempfile.mkdtemp(prefix="doctor-bench-warm-")
    env = {**os.environ, "ASSISTANT_CACHE_DIR": cache, "NO_COLOR": "1"}
    doctor = [script, "doctor", "--json"]
    subprocess.run(doctor, capture_output=True, env=env, timeout=60)  # warm the cache
    print(f"machine: {platform.machine()}, {platform.system()} {platform.release()}, "
          f"{os.cpu_count()} cores, Python {platform.python_version()}; {runs} fresh "
          "processes each, wall time (and the median CPU time) in milliseconds")
    print(f"load average {os.getloadavg()[0]:.2f}")
    print(f"{'command':<44} {'median':>8} {'min':>8} {'max':>8} {'cpu med':>8}")
    row("assistant doctor --json (warm cache)", timed(doctor, runs, env))
    row("assistant doctor --json (cold: empty cache)", timed(doctor, runs, env, True))
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, "200"], stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        row("assistant doctor --json (200 listeners)", timed(doctor, runs, env))
    finally:
        holder.kill()
        holder.wait(5)
    row("assistant --ask SEED --json", timed([script, "--ask", SEED, "--json"], runs, env))
    row("python -c 'import psutil' (floor)", timed([sys.executable, "-c", "import psutil"],
                                                   runs, env))
    print()
    os.environ["ASSISTANT_CACHE_DIR"] = cache
    per_check()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 21)
