"""Where the built-in rules and knowledge base are, installed or not."""

from __future__ import annotations

from pathlib import Path

_PKG = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """`rules` or `kb`: inside the package when installed from a wheel, at the
    repository's top level in a source checkout (editable install)."""
    inside = _PKG / name
    if inside.is_dir():
        return inside
    return _PKG.parent / name
