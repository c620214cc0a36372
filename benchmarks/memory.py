"""Memory: peak RSS of one `--ask`, and RSS growth of one Session over 300
questions (what the REPL does: one process, one engine session reused)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LOOP = r"""
import os, sys, json
from assistant.session import Session
def rss_kb():
    with open(f"/proc/{os.getpid()}/status") as fh:
        return int(next(l for l in fh if l.startswith("VmRSS")).split()[1])
qs = ["cannot connect to 127.0.0.1:62893", "connect ECONNREFUSED ::1:3000",
      "Error: listen EADDRINUSE: address already in use :::8080",
      "what is the difference between localhost and 127.0.0.1?",
      "curl: (6) Could not resolve host: localhsot", "how do I find which app uses a port?"]
s = Session()
marks = {}
for i in range(300):
    q = qs[i % len(qs)]
    if i % 7 == 0:
        q = f"cannot connect to 127.0.0.1:{40000 + i}"   # a new port: a new question shape
    s.ask(q)
    if i + 1 in (10, 100, 200, 300):
        marks[i + 1] = rss_kb()
print(json.dumps(marks))
"""


def main() -> None:
    script = str(Path(sys.executable).parent / "assistant")
    code = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], capture_output=True);"
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", code, script, "--ask",
                          "cannot connect to 127.0.0.1:62893", "--json"],
                         capture_output=True, text=True, check=True)
    print(f"peak RSS of assistant --ask SEED --json: {int(out.stdout) / 1024:.1f} MB")
    out = subprocess.run([sys.executable, "-c", LOOP], capture_output=True, text=True, check=True,
                         cwd=ROOT, env={**os.environ, "NO_COLOR": "1"})
    marks = {int(k): v for k, v in __import__("json").loads(out.stdout).items()}
    print("one Session, 300 questions (RSS after N): " + ", ".join(
        f"{n}: {kb / 1024:.1f} MB" for n, kb in sorted(marks.items())))
    print(f"growth from question 10 to 300: {(marks[300] - marks[10]) / 1024:.1f} MB")


if __name__ == "__main__":
    main()
