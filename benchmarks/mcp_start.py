"""Cold start of `assistant mcp`, as an agent meets it: the SDK's stdio client
(already imported, as in an agent) starts the installed command, does the
initialize handshake, and calls `diagnose` on the seed question. Wall time
from spawning the process to the answered call, median of N fresh processes.

Also the server's CPU time (user + system, from its rusage once it exited),
which a busy machine stretches less than wall time.

Rows: with the rule and KB caches warm (every start after the first), with
an empty cache directory each time (the first start after an install or an
edit), and `python -c "import mcp.server.mcpserver"` (the SDK's import alone,
which the server cannot avoid).
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import anyio
from mcp import Client, StdioServerParameters

SEED = "cannot connect to 127.0.0.1:62893"


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (usage.ru_utime + usage.ru_stime) * 1000


async def _once(env: dict[str, str]) -> tuple[float, float, float]:
    cpu = _children_cpu()
    params = StdioServerParameters(command=str(Path(sys.executable).parent / "assistant"),
                                   args=["mcp"], env=env)
    start = time.perf_counter()
    async with Client(params, mode="legacy") as client:
        ready = time.perf_counter() - start
        result = await client.call_tool("diagnose", {"text": SEED})
        answered = time.perf_counter() - start
    assert not result.is_error and result.structured_content is not None
    assert result.structured_content["diagnoses"][0]["rule"] == "port.nothing_listening"
    return ready * 1000, answered * 1000, _children_cpu() - cpu


def _row(name: str, times: list[float]) -> None:
    print(f"{name:<44} {statistics.median(times):8.1f} {min(times):8.1f} {max(times):8.1f}")


def main(runs: int = 21) -> None:
    print(f"assistant mcp cold start, {runs} fresh processes each, milliseconds")
    print(f"{'':<44} {'median':>8} {'min':>8} {'max':>8}")
    with tempfile.TemporaryDirectory() as tmp:
        warm = {"ASSISTANT_CACHE_DIR": os.path.join(tmp, "warm")}
        anyio.run(_once, warm)  # fill the cache, warm the page cache
        got = [anyio.run(_once, warm) for _ in range(runs)]
        _row("spawn to initialized (warm cache)", [g[0] for g in got])
        _row("spawn to first diagnose answered (warm)", [g[1] for g in got])
        _row("server CPU time, start to exit (warm)", [g[2] for g in got])
        cold = [anyio.run(_once, {"ASSISTANT_CACHE_DIR": os.path.join(tmp, f"cold{i}")})
                for i in range(runs)]
        _row("spawn to first diagnose answered (no cache)", [g[1] for g in cold])
    floor = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import mcp.server.mcpserver"], check=True)
        floor.append((time.perf_counter() - start) * 1000)
    _row("python -c 'import mcp.server.mcpserver'", floor)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 21)
