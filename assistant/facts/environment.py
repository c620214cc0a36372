"""Where the assistant itself runs: a container, WSL, or a plain host.

Matters because loopback is per network namespace: inside a container,
localhost is the container; in WSL 2, it is the Linux VM."""

from __future__ import annotations

import os
from collections.abc import Mapping

from assistant.facts.registry import Context, Fact


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.read(65536)
    except OSError:
        return ""


def classify(files: Mapping[str, str], exists: set[str], environ: Mapping[str, str]) -> Fact:
    """Pure: the environment fact from file contents and markers."""
    osrelease = files.get("/proc/sys/kernel/osrelease", "").lower()
    cgroup = files.get("/proc/1/cgroup", "")
    wsl = "microsoft" in osrelease or "wsl" in osrelease or "WSL_DISTRO_NAME" in environ
    kind = "none"
    if "/.dockerenv" in exists:
        kind = "docker"
    elif "/run/.containerenv" in exists:
        kind = "podman"
    elif environ.get("KUBERNETES_SERVICE_HOST") or "kubepods" in cgroup:
        kind = "kubernetes"
    elif "docker" in cgroup or "containerd" in cgroup:
        kind = "docker"
    elif "/lxc/" in cgroup or environ.get("container") == "lxc":
        kind = "lxc"
    elif environ.get("container"):  # set by systemd-nspawn, podman and others
        kind = environ["container"]
    return {"type": "environment", "container": kind != "none", "kind": kind, "wsl": wsl}


def collect(ctx: Context) -> list[Fact]:
    files = {p: _read(p) for p in ("/proc/sys/kernel/osrelease", "/proc/1/cgroup")}
    exists = {p for p in ("/.dockerenv", "/run/.containerenv") if os.path.exists(p)}
    return [classify(files, exists, ctx.env)]
