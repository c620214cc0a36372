"""Where the built-in rules and knowledge base are, installed or not."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

_PKG = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """`rules` or `kb`: inside the package when installed from a wheel, at the
    repository's top level in a source checkout (editable install)."""
    inside = _PKG / name
    if inside.is_dir():
        return inside
    return _PKG.parent / name


def rule_files(directory: Path) -> list[Path]:
    """Rule files in a directory, test files excluded, in name order."""
    return sorted(p for p in directory.glob("*.yaml") if not p.name.endswith(".test.yaml"))


def cache_dir(environ: Mapping[str, str]) -> Path | None:
    """$ASSISTANT_CACHE_DIR, else the XDG cache directory, else none."""
    if environ.get("ASSISTANT_CACHE_DIR"):
        return Path(environ["ASSISTANT_CACHE_DIR"])
    base = environ.get("XDG_CACHE_HOME") or (str(Path(environ["HOME"]) / ".cache")
                                            if environ.get("HOME") else "")
    return Path(base) / "assistant" if base else None


def write_cache(path: Path, data: Any, stale_after: float = 3600.0) -> None:
    """Write a cache file atomically (mode 0600), and remove caches of the same
    kind (same name prefix) that other fingerprints left over an hour ago.
    Failing to write is not an error: no cache is slower, not wrong."""
    import tempfile  # here: it pulls in shutil, bz2 and lzma, which a cache hit never needs

    kind = path.name.split("-", 1)[0]
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{kind}-", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, separators=(",", ":"))
        os.replace(tmp, path)
        now = time.time()
        for old in path.parent.glob(f"{kind}-*.json"):
            if old != path and old.stat().st_mtime < now - stale_after:
                old.unlink(missing_ok=True)
    except OSError:
        pass
