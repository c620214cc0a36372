"""Where the assistant itself runs: a container, WSL, or a plain host.

Matters because loopback is per network namespace: inside a container,
localhost is the container; in WSL 2, it is the Linux VM."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from assistant.facts.base import Collector, Context, Fact, FactType, Field, Summary

if TYPE_CHECKING:
    from assistant.understand.symptoms import Target

ENVIRONMENT = FactType("environment", "Where the assistant runs (loopback is per network namespace).", {
    "container": Field("bool", "inside a container"),
    "kind": Field("str", "which kind: none, docker, podman, kubernetes, lxc, or what "
                  "the `container` variable says", example="docker"),
    "wsl": Field("bool", "inside WSL"),
    "vm": Field("bool", "inside a virtual machine (WSL 2's own VM aside)"),
    "hypervisor": Field("str", "which one, when the firmware says", example="QEMU"),
})

# What the firmware's vendor and product strings say, first match wins.
HYPERVISORS = (("qemu", "QEMU"), ("kvm", "KVM"), ("vmware", "VMware"), ("virtualbox", "VirtualBox"),
               ("innotek", "VirtualBox"), ("xen", "Xen"), ("amazon ec2", "Amazon EC2"),
               ("google compute engine", "Google Compute Engine"), ("parallels", "Parallels"),
               ("bhyve", "bhyve"), ("virtual machine", "Hyper-V"), ("apple virtualization", "Apple "
               "Virtualization"))


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
    firmware = " ".join(files.get(p, "") for p in DMI).lower()
    hypervisor = next((name for word, name in HYPERVISORS if word in firmware), None)
    # The CPU says so too (x86 `hypervisor` flag), without naming which.
    flagged = any(line.startswith("flags") and " hypervisor" in line
                  for line in files.get("/proc/cpuinfo", "").splitlines())
    return {"type": "environment", "container": kind != "none", "kind": kind, "wsl": wsl,
            "vm": not wsl and (hypervisor is not None or flagged), "hypervisor": hypervisor}


DMI = ("/sys/class/dmi/id/sys_vendor", "/sys/class/dmi/id/product_name")


def collect(ctx: Context) -> list[Fact]:
    files = {p: _read(p) for p in ("/proc/sys/kernel/osrelease", "/proc/1/cgroup", *DMI)}
    files["/proc/cpuinfo"] = _read("/proc/cpuinfo")[:8192]  # the first CPU's flags
    exists = {p for p in ("/.dockerenv", "/run/.containerenv") if os.path.exists(p)}
    return [classify(files, exists, ctx.env)]


def summarise(facts: list[Fact], target: Target) -> Summary:
    f = facts[0] if facts else {}
    where = ("inside a " + str(f.get("kind")) + " container" if f.get("container")
             else "in WSL" if f.get("wsl") else "on the host itself")
    return Summary("warning" if f.get("container") or f.get("wsl") else "ok", f"running {where}")


COLLECTOR = Collector("environment", "Whether the assistant runs in a container or WSL.",
                      (ENVIRONMENT,), collect, summarise, timeout=1.0,
                      asks=lambda t: "am I running inside a container or WSL?",
                      quick=lambda ctx: True)
