"""Which system the facts come from; one place, so tests can pretend."""

from __future__ import annotations

import sys


def system() -> str:
    """'linux', 'darwin', 'win32', ... (sys.platform)."""
    return sys.platform
