"""Compile rules one at a time in a child process, where a hang or a crash
of the engine cannot take `assistant rules check` with it.

The child (`python -m assistant.engine.isolate`) reads [[name, definitions],
...] as JSON on stdin and prints `start N`, then `ok N` or `error N message`
for each. The parent runs it with a timeout; after a timeout the rule that
started and never finished is the one that hangs the engine, and the child
is started again after it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

PER_RULE_SECONDS = 5.0


def check(items: list[tuple[str, dict[str, Any]]]) -> dict[str, str]:
    """Rule name -> problem, for every rule the engine refuses or hangs on."""
    problems: dict[str, str] = {}
    start = 0
    while start < len(items):
        batch = items[start:]
        payload = json.dumps([[n, d] for n, d in batch])
        try:
            proc = subprocess.run([sys.executable, "-m", "assistant.engine.isolate"],
                                  input=payload, capture_output=True, text=True,
                                  timeout=PER_RULE_SECONDS + 0.05 * len(batch))
            out, finished = proc.stdout, True
        except subprocess.TimeoutExpired as exc:
            raw = exc.stdout or ""
            out, finished = raw.decode() if isinstance(raw, bytes) else raw, False
        last_started = -1
        for line in out.splitlines():
            word, _, rest = line.partition(" ")
            index, _, message = rest.partition(" ")
            if word == "start":
                last_started = int(index)
            elif word == "error":
                problems[batch[int(index)][0]] = message
        if finished:
            if last_started < len(batch) - 1 or "done" not in out:
                # the child died (a crash in the C engine) after `last_started`
                culprit = max(last_started, 0)
                problems[batch[culprit][0]] = "the rule engine crashed compiling this rule"
                start += culprit + 1
                continue
            break
        culprit = max(last_started, 0)
        problems[batch[culprit][0]] = (f"the rule engine did not finish compiling this rule "
                                       f"within {PER_RULE_SECONDS:g} s (it hangs)")
        start += culprit + 1
    return problems


def _child() -> None:
    from assistant.engine import runtime

    items = json.loads(sys.stdin.read())
    for i, (_name, definitions) in enumerate(items):
        print(f"start {i}", flush=True)
        try:
            runtime.compile_check(f"isolate_{i}", definitions)
            print(f"ok {i}", flush=True)
        except Exception as exc:  # noqa: BLE001 - reported to the parent as text
            print(f"error {i} {str(exc).splitlines()[0][:200]}", flush=True)
    print("done", flush=True)


if __name__ == "__main__":
    _child()
