"""Benchmarks (not part of the test run): `python3 dev.py bench [latency|kb]`.

kb: knowledge-base start-up and question latency at 46 and 5,000 entries
(benchmarks/kb_scale.py).

latency: wall time of `assistant --ask "cannot connect to 127.0.0.1:62893"
--json` as a subprocess, median of N runs, next to the same interpreter's
`python -c "import psutil"` (the floor) and `lsof -nP -i :62893` (a peer).
"""

from __future__ import annotations

import argparse
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


def latency(runs: int) -> None:
    script = str(Path(sys.executable).parent / "assistant")
    rows = [("assistant --ask SEED --json", [script, "--ask", SEED, "--json"]),
            ("python -c 'import psutil' (floor)", [sys.executable, "-c", "import psutil"])]
    if shutil.which("lsof"):
        rows.append(("lsof -nP -i :62893 (peer)", ["lsof", "-nP", "-i", ":62893"]))
    print(f"machine: {platform.machine()}, {platform.system()} {platform.release()}, "
          f"Python {platform.python_version()}; {runs} runs each, milliseconds")
    print(f"{'command':<36} {'median':>8} {'min':>8} {'max':>8}")
    for name, argv in rows:
        t = timed(argv, runs)
        print(f"{name:<36} {statistics.median(t):8.1f} {min(t):8.1f} {max(t):8.1f}")


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("which", nargs="*", default=["latency", "kb"], choices=["latency", "kb"])
    p.add_argument("--runs", type=int, default=21)
    args = p.parse_args()
    if "latency" in args.which:
        latency(args.runs)
    if "kb" in args.which:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import kb_scale

        print()
        kb_scale.main([46, 5000])
