"""50 `--ask` runs at once, sharing one cold cache directory, all correct."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from assistant.dirs import read_cache_lines
from tests.support import console_script, free_port_without_neighbours


def test_fifty_at_once(tmp_path: Path, server) -> None:
    s = server("::1")
    quiet = free_port_without_neighbours()
    cases = [
        (f"cannot connect to 127.0.0.1:{quiet}", "nothing-listening"),
        (f"cannot connect to 127.0.0.1:{s.port}", "address-family-mismatch"),
        (f"Error: listen EADDRINUSE: address already in use :::{s.port}", "port-conflict"),
        ("what is the difference between localhost and 127.0.0.1?", "localhost-vs-127-0-0-1"),
        ("curl: (6) Could not resolve host: localhsot", "host-typo"),
    ]
    env = {"PATH": os.environ.get("PATH", ""), "ASSISTANT_CACHE_DIR": str(tmp_path / "cache"),
           "HOME": str(tmp_path)}
    procs = []
    for i in range(50):
        text, want = cases[i % len(cases)]
        procs.append((want, subprocess.Popen([str(console_script()), "--ask", text, "--json"],
                                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                             text=True, env=env)))
    for want, p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode in (0, 1), err
        assert "Traceback" not in err
        rep = json.loads(out)
        got = rep["diagnoses"][0]["category"] if rep["diagnoses"] else rep["answers"][0]["kb"]
        assert got == want
    # the caches they raced to write are whole and usable
    written = list((tmp_path / "cache").iterdir())
    assert any(f.suffix == ".jsonl" for f in written)
    for f in written:
        if f.suffix == ".jsonl":
            read_cache_lines(f)
        elif f.suffix == ".json":
            json.loads(f.read_text())
