"""Where the built-in rules and knowledge base are, installed or not."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

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
