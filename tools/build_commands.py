"""Setuptools commands for this project's own build (named in pyproject.toml).

pip, pipx and uv build a source tree in place, so setuptools' scratch
directories (`build/`, `*.egg-info`) used to stay behind in the checkout,
and a file deleted from the tree lived on in `build/lib` and shipped in the
next wheel. These commands put that scratch space in one temporary
directory per build process, removed when the process ends: a wheel holds
exactly what the tree holds now.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

from setuptools.command.build import build as _build
from setuptools.command.egg_info import egg_info as _egg_info

_scratch: list[str] = []


def scratch() -> str:
    """The build process's own temporary directory (created on first use)."""
    if not _scratch:
        path = tempfile.mkdtemp(prefix="lca-build-")
        atexit.register(shutil.rmtree, path, True)
        _scratch.append(path)
    return _scratch[0]


class Build(_build):
    def initialize_options(self) -> None:
        super().initialize_options()
        self.build_base = os.path.join(scratch(), "build")


class EggInfo(_egg_info):
    def initialize_options(self) -> None:
        super().initialize_options()
        # An explicit egg_base (dist_info and editable_wheel set their own)
        # still wins: this is only the default.
        self.egg_base = scratch()
