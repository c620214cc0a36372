"""The chat: time to the first prompt, and RSS over 300 questions in one
process, driving the installed program in a pseudo-terminal (pexpect)."""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

PROMPT = r"\r?\n[^\n]{0,40}>"
QUESTIONS = ["cannot connect to 127.0.0.1:62893", "connect ECONNREFUSED ::1:3000",
             "Error: listen EADDRINUSE: address already in use :::8080",
             "what is the difference between localhost and 127.0.0.1?",
             "curl: (6) Could not resolve host: localhsot", "how do I find which app uses a port?",
             # follow-ups in plain words and explanations (issue 15): they keep
             # reports, re-run diagnoses and read the socket table again
             "try again", "what's using that port?", "/how", "how do I do that on a mac?"]


def rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as fh:
        return int(next(line for line in fh if line.startswith("VmRSS")).split()[1])


def spawn(home: str):  # type: ignore[no-untyped-def]
    import pexpect

    env = {"PATH": os.environ.get("PATH", ""), "HOME": home, "TERM": "xterm", "NO_COLOR": "1",
           # pexpect does not answer cursor-position requests; a terminal does at once
           "PROMPT_TOOLKIT_NO_CPR": "1"}
    return pexpect.spawn(str(Path(sys.executable).parent / "assistant"), env=env,
                         encoding="utf-8", timeout=30, dimensions=(40, 80))


def main(runs: int = 10, questions: int = 300) -> None:
    with tempfile.TemporaryDirectory() as home:
        first = []
        for _ in range(runs):
            t = time.perf_counter()
            child = spawn(home)
            child.expect(PROMPT)
            first.append((time.perf_counter() - t) * 1000)
            child.sendcontrol("d")
            child.expect(["\\$", __import__("pexpect").EOF])
            child.close()
        print(f"time to first prompt: median {statistics.median(first):.0f} ms "
              f"(min {min(first):.0f}, max {max(first):.0f}; {runs} runs)")
        child = spawn(home)
        child.expect(PROMPT)
        marks = {}
        for i in range(questions):
            q = QUESTIONS[i % len(QUESTIONS)]
            if i % 7 == 0:
                q = f"cannot connect to 127.0.0.1:{40000 + i}"
            child.sendline(q)
            child.expect(PROMPT)
            if child.after and "?" in child.before[-200:] and "skip" in child.before[-200:]:
                child.sendline("skip")
                child.expect(PROMPT)
            if i + 1 in (10, 100, 200, 300):
                marks[i + 1] = rss_kb(child.pid)
        child.sendcontrol("d")
        child.close()
        print("RSS after N questions: " + ", ".join(f"{n}: {kb / 1024:.1f} MB"
                                                    for n, kb in sorted(marks.items())))
        print(f"growth from question 10 to {questions}: "
              f"{(marks[questions] - marks[10]) / 1024:.1f} MB")


if __name__ == "__main__":
    main()
