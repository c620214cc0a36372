"""Benchmarks (not part of the test run): `python3 dev.py bench [WHICH...]`.

latency  the seed question next to the floor and lsof (below)
sockets  the same with 10,000 open TCP sockets (socket_scale.py)
rules    load + diagnose at 10/100/1,000/2,000 team rules (rules_scale.py)
kb       knowledge-base start-up and question latency at 46 / 5,000 entries (kb_scale.py)
memory   peak RSS of --ask, RSS growth of one Session over 300 questions (memory.py)
repl     the chat: time to first prompt, RSS over 300 questions in a pty (repl.py)
mcp      `assistant mcp` cold start to its first answered diagnose (mcp_start.py)
doctor   `assistant doctor` warm, cold and with 200 listeners; each check (doctor.py)

latency: wall time of `assistant --ask "cannot connect to 127.0.0.1:62893"
--json` as a subprocess, median of N runs, next to the same interpreter's
`python -c "import psutil"` (the floor) and `lsof -nP -i :62893` (a peer).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

SEED = "cannot connect to 127.0.0.1:62893"


def timed(argv: list[str], runs: int) -> list[float]:
    out = []
    subprocess.run(argv, capture_output=True)  # warm the page cache once
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, capture_output=True)
        out.append((time.perf_counter() - start) * 1000)
    return out


def _once(argv: list[str]) -> tuple[float, float]:
    """(wall ms, CPU ms of the child) for one run, output discarded."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, _, usage = os.wait4(proc.pid, 0)
    return (time.perf_counter() - start) * 1000, (usage.ru_utime + usage.ru_stime) * 1000


def latency(runs: int) -> None:
    script = str(Path(sys.executable).parent / "assistant")
    rows = [("assistant --ask SEED --json", [script, "--ask", SEED, "--json"]),
            ("python -c 'import psutil' (floor)", [sys.executable, "-c", "import psutil"])]
    if shutil.which("lsof"):
        rows.append(("lsof -nP -i :62893 (peer)", ["lsof", "-nP", "-i", ":62893"]))
    print(f"machine: {platform.machine()}, {platform.system()} {platform.release()}, "
          f"Python {platform.python_version()}; {runs} runs each, interleaved, milliseconds")
    for _, argv in rows:
        _once(argv)  # warm the page cache and the rule cache once
    # Interleaved rounds: every command sees the same load on a shared machine.
    times: list[list[tuple[float, float]]] = [[] for _ in rows]
    for _ in range(runs):
        for i, (_, argv) in enumerate(rows):
            times[i].append(_once(argv))
    print(f"{'command':<36} {'median':>8} {'min':>8} {'max':>8} {'CPU':>8}")
    for (name, _), t in zip(rows, times, strict=True):
        wall = [w for w, _ in t]
        print(f"{name:<36} {statistics.median(wall):8.1f} {min(wall):8.1f} {max(wall):8.1f} "
              f"{statistics.median([c for _, c in t]):8.1f}")
    over = statistics.median([w for w, _ in times[0]]) - statistics.median([w for w, _ in times[1]])
    print(f"the seed question takes {over:.1f} ms over the floor (median against median)")


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    kinds = ["latency", "sockets", "rules", "kb", "memory", "repl", "mcp", "doctor"]
    p.add_argument("which", nargs="*", choices=kinds + [[]], help=" ".join(kinds))
    p.add_argument("--runs", type=int, default=21)
    args = p.parse_args()
    args.which = args.which or kinds
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    for n, which in enumerate(args.which):
        if n:
            print()
        if which == "latency":
            latency(args.runs)
        elif which == "sockets":
            import socket_scale

            socket_scale.main(10_000, 15)
        elif which == "rules":
            import rules_scale

            rules_scale.main([10, 100, 1000, 2000])
        elif which == "kb":
            import kb_scale

            kb_scale.main([46, 5000])
        elif which == "memory":
            import memory

            memory.main()
        elif which == "mcp":
            import mcp_start

            mcp_start.main(args.runs)
        elif which == "doctor":
            import doctor

            doctor.main(args.runs)
        else:
            import repl

            repl.main()
