"""Where things live: the built-in data, the user's XDG directories, and
the one way files are written (atomically, private to the user)."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

_PKG = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """`rules` or `kb`: shipped inside the package as `builtin_rules` and
    `builtin_kb` (names no module has), or at the repository's top level in
    a source checkout (editable install)."""
    inside = _PKG / f"builtin_{name}"
    if inside.is_dir():
        return inside
    return _PKG.parent / name


def _xdg(environ: Mapping[str, str], variable: str, *fallback: str) -> Path | None:
    if environ.get(variable):
        return Path(environ[variable])
    return Path(environ["HOME"]).joinpath(*fallback) if environ.get("HOME") else None


def config_home(environ: Mapping[str, str]) -> Path | None:
    """$XDG_CONFIG_HOME, else ~/.config."""
    return _xdg(environ, "XDG_CONFIG_HOME", ".config")


def data_home(environ: Mapping[str, str]) -> Path | None:
    """$XDG_DATA_HOME, else ~/.local/share."""
    return _xdg(environ, "XDG_DATA_HOME", ".local", "share")


def state_dir(environ: Mapping[str, str]) -> Path | None:
    """$XDG_STATE_HOME/assistant, else ~/.local/state/assistant (chat history)."""
    base = _xdg(environ, "XDG_STATE_HOME", ".local", "state")
    return base / "assistant" if base else None


def cache_dir(environ: Mapping[str, str]) -> Path | None:
    """$ASSISTANT_CACHE_DIR, else $XDG_CACHE_HOME/assistant, else ~/.cache/assistant."""
    if environ.get("ASSISTANT_CACHE_DIR"):
        return Path(environ["ASSISTANT_CACHE_DIR"])
    base = _xdg(environ, "XDG_CACHE_HOME", ".cache")
    return base / "assistant" if base else None


def atomic_write(path: Path, text: str, prefix: str = ".tmp-") -> None:
    """Write `text` to `path` all at once (mode 0600): a reader sees the old
    file or the new one, never half of it. Raises OSError."""
    import tempfile  # here: it pulls in shutil, bz2 and lzma, which --ask never needs

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=prefix, suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_cache(path: Path, data: Any, stale_after: float = 3600.0,
                lines: list[str] | None = None) -> None:
    """Write a cache file atomically, and remove caches of the same kind
    (same name prefix) that other fingerprints left over an hour ago.
    With `lines` (each one JSON text, so without a newline), the file is the
    JSON of `data` on its first line and then one line each, for a reader
    that decodes only what it uses (read_cache_lines).
    Failing to write is not an error: no cache is slower, not wrong."""
    kind = path.name.split("-", 1)[0]
    text = json.dumps(data, separators=(",", ":"))
    if lines is not None:
        text = "\n".join([text, *lines])
    try:
        atomic_write(path, text, prefix=f".{kind}-")
        now = time.time()
        for old in path.parent.glob(f"{kind}-*.json*"):
            if old != path and old.stat().st_mtime < now - stale_after:
                old.unlink(missing_ok=True)
    except OSError:
        pass


def read_cache_lines(path: Path) -> tuple[Any, list[bytes]]:
    """A file write_cache wrote with `lines`: its data, and the lines still
    encoded. ValueError when it is not whole (the count is the writer's)."""
    blob = path.read_bytes()
    end = blob.find(b"\n")
    head = json.loads(blob if end < 0 else blob[:end])
    lines = [] if end < 0 else blob[end + 1:].split(b"\n")
    if not isinstance(head, dict) or head.get("lines") != len(lines):
        raise ValueError("damaged cache file")
    return head, lines
