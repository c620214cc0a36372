"""Socket-table scale: the seed question with 10,000 TCP sockets open.

A helper process (not the assistant) opens N/2 loopback connections to its
own listener, so the machine holds N established sockets owned by another
process. The seed question (nothing listens on its port) and a question
about a live listener are timed with and without them, next to
`lsof -nP -i :PORT`. Traffic stays on loopback; the helper exits at the end.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HELPER = r"""
import resource, socket, sys
n = int(sys.argv[1])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
want = n + 256
if soft < want:
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard) if hard > 0 else want, hard))
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(4096)
port = srv.getsockname()[1]
keep = []
for _ in range(n // 2):
    c = socket.create_connection(("127.0.0.1", port))
    s, _ = srv.accept()
    keep += [c, s]
print(port, len(keep), flush=True)
# Then answer as the pasted text says: accept and close (curl's "Empty reply").
# A listener that stops accepting would be a stopped server, and the
# question would time the protocol check's 2 s wait for a byte.
import threading
def serve():
    while True:
        s, _ = srv.accept()
        s.close()
threading.Thread(target=serve, daemon=True).start()
sys.stdin.read()
"""


def timed(argv: list[str], runs: int) -> float:
    subprocess.run(argv, capture_output=True)
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(argv, capture_output=True)
        out.append((time.perf_counter() - t) * 1000)
    return statistics.median(out)


def main(n: int = 10_000, runs: int = 15) -> None:
    script = str(Path(sys.executable).parent / "assistant")
    seed = [script, "--ask", "cannot connect to 127.0.0.1:62893", "--json"]
    lsof = ["lsof", "-nP", "-i", ":62893"] if shutil.which("lsof") else None
    def scenario(connections: int) -> tuple[dict[str, float], str]:
        helper = subprocess.Popen([sys.executable, "-c", HELPER, str(connections)],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            assert helper.stdout is not None
            port, opened = helper.stdout.readline().split()
            live = [script, "--ask", f"curl: (52) Empty reply from server http://127.0.0.1:{port}/",
                    "--json"]
            got = {"seed": timed(seed, runs), "live": timed(live, runs)}
            if lsof:
                got["lsof"] = timed(lsof, runs)
                got["lsof_live"] = timed(["lsof", "-nP", "-i", f":{port}"], runs)
        finally:
            helper.kill()
            helper.wait()
        return got, opened

    base, _ = scenario(0)
    loaded, opened = scenario(n)
    rows = [("assistant --ask SEED --json", "seed"),
            ("assistant --ask (live listener, pid lookup)", "live"),
            ("lsof -nP -i :62893", "lsof"), ("lsof -nP -i :LIVEPORT", "lsof_live")]
    print(f"{opened} established TCP sockets held by another process; {runs} runs, median ms; "
          f"{os.cpu_count()} cpus")
    print(f"{'command':<46} {'without':>9} {'with':>9}")
    for name, key in rows:
        if key in base:
            print(f"{name:<46} {base[key]:>9.1f} {loaded[key]:>9.1f}")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))
