"""Knowledge-base scale: start-up and question latency with thousands of entries.

Generates N synthetic entries (words drawn from the real entries, so the
vocabulary and lengths are realistic), then measures, each in a fresh
process so nothing is warm but the OS page cache:
- cold load: validate + index + write the cache (first run after a change);
- warm start-up: `kb.load` from the cache, median of several processes;
- question latency after start-up: median and p95 over the labelled questions;
- the whole command: `assistant --ask QUESTION --json` wall time.
"""

from __future__ import annotations

import json
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.knowledge import entries as kb  # noqa: E402
from assistant.knowledge.search import words  # noqa: E402

PROBE = """
import json, sys, time
t0 = time.perf_counter()
from pathlib import Path
from assistant.knowledge import entries as kb
base = kb.load([Path(d) for d in sys.argv[1].split(':')], Path(sys.argv[2]))
t1 = time.perf_counter()
questions = json.loads(sys.argv[3])
lat = []
for q in questions:
    s = time.perf_counter(); base.search(q, 5); lat.append((time.perf_counter() - s) * 1000)
print(json.dumps({"startup_ms": (t1 - t0) * 1000, "latency_ms": lat, "entries": len(base.entries)}))
"""


def generate(n: int, out: Path, seed: int = 7) -> None:
    rng = random.Random(seed)
    real = kb.load_entries()
    vocab = sorted({w for e in real for w in (e.question + " " + e.answer).lower().split()
                    if w.isalpha() and len(w) > 3})
    for i in range(n):
        pick = lambda k: " ".join(rng.choice(vocab) for _ in range(k))  # noqa: E731
        entry = {"id": f"gen-{i:05d}", "question": pick(8).capitalize() + "?",
                 "phrasings": [pick(5) for _ in range(4)], "tags": [pick(1) for _ in range(4)],
                 "answer": ". ".join(pick(12) for _ in range(7)) + ".",
                 "commands": [{"os": "linux", "command": f"ss -ltn 'sport = :{1024 + i}'",
                               "why": pick(4)}],
                 "sources": [{"title": "generated for the benchmark",
                              "url": "https://example.invalid/"}]}
        (out / f"gen-{i:05d}.yaml").write_text(yaml.safe_dump(entry, sort_keys=False))


def measure(dirs: list[Path], cache: Path, questions: list[str], runs: int) -> dict[str, float]:
    arg = ":".join(str(d) for d in dirs)
    shutil.rmtree(cache, ignore_errors=True)

    def probe() -> dict[str, object]:
        out = subprocess.run([sys.executable, "-c", PROBE, arg, str(cache), json.dumps(questions)],
                             capture_output=True, text=True, check=True, cwd=ROOT)
        return json.loads(out.stdout)  # type: ignore[no-any-return]

    cold = probe()
    warm = [probe() for _ in range(runs)]
    lat = [x for w in warm for x in w["latency_ms"]]  # type: ignore[union-attr]
    script = Path(sys.executable).parent / "assistant"
    env = {"PATH": "/usr/bin:/bin", "ASSISTANT_KB_PATH": ":".join(str(d) for d in dirs[1:]),
           "ASSISTANT_CACHE_DIR": str(cache), "HOME": str(cache)}
    cli = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run([str(script), "--ask", questions[0], "--json"], capture_output=True, env=env)
        cli.append((time.perf_counter() - t) * 1000)
    return {"entries": float(cold["entries"]), "cold_ms": float(cold["startup_ms"]),  # type: ignore[arg-type]
            "startup_ms": statistics.median(float(w["startup_ms"]) for w in warm),  # type: ignore[arg-type]
            "question_median_ms": statistics.median(lat),
            "question_p95_ms": sorted(lat)[int(0.95 * (len(lat) - 1))],
            "cli_median_ms": statistics.median(cli)}


def main(sizes: list[int], runs: int = 7) -> None:
    questions = [q["q"] for q in yaml.safe_load(
        (ROOT / "tests" / "data" / "kb_questions_final.yaml").read_text())]
    print(f"{'entries':>8} {'cold load':>10} {'start-up':>9} {'question':>9} {'q p95':>7} "
          f"{'--ask':>7}   (ms; start-up = load from cache in a fresh process, median of {runs})")
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            gen = Path(tmp) / "gen"
            gen.mkdir()
            extra = max(0, n - len(kb.load_entries()))
            generate(extra, gen)
            dirs = [kb.data_dir("kb")] + ([gen] if extra else [])
            r = measure(dirs, Path(tmp) / "cache", questions, runs)
            print(f"{int(r['entries']):>8} {r['cold_ms']:>10.0f} {r['startup_ms']:>9.1f} "
                  f"{r['question_median_ms']:>9.2f} {r['question_p95_ms']:>7.2f} "
                  f"{r['cli_median_ms']:>7.0f}")
    _ = words  # the tokenizer is what search uses; imported to fail early if it moved


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [46, 5000])
