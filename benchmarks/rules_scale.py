"""Rule-set scale: load + diagnose at 10, 100, 1,000 and 2,000 team rules.

Each size is a generated rule pack (benchmarks/gen_rules.py) added with
--rules to the built-in rules. For each: the first run after a change (cold:
parse, validate, compile, write the cache) and warm runs (cache hit), wall
time of `assistant --rules DIR --ask ... --json` as a subprocess, median of
N, with peak RSS.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gen_rules import gen  # noqa: E402


def run(argv: list[str], env: dict[str, str]) -> float:
    t = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, env=env)
    ms = (time.perf_counter() - t) * 1000
    if proc.returncode not in (0, 1):
        raise RuntimeError(proc.stderr.decode()[-500:])
    return ms


def main(sizes: list[int], runs: int = 7) -> None:
    script = str(Path(sys.executable).parent / "assistant")
    print(f"{'team rules':>10} {'cold ms':>8} {'warm ms':>8} {'peak RSS':>9}   "
          f"(--ask about a port the pack covers; median of {runs} warm runs)")
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            pack, cache = Path(tmp) / "rules", Path(tmp) / "cache"
            gen(n, pack)
            env = {"PATH": "/usr/bin:/bin", "ASSISTANT_CACHE_DIR": str(cache), "HOME": tmp}
            argv = [script, "--rules", str(pack), "--ask",
                    f"cannot connect to 127.0.0.1:{20000 + min(n - 1, 4)}", "--json"]
            cold = run(argv, env)
            warm = [run(argv, env) for _ in range(runs)]
            # peak RSS of one more warm run, alone, in a fresh child accounting
            rss = peak_rss(argv, env)
            shutil.rmtree(cache, ignore_errors=True)
        print(f"{n:>10} {cold:>8.0f} {statistics.median(warm):>8.0f} {rss / 1024:>7.1f} MB")


def peak_rss(argv: list[str], env: dict[str, str]) -> int:
    code = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], capture_output=True, "
            f"env={env!r}); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True)
    return int(out.stdout.strip())


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [10, 100, 1000, 2000])
