"""Listeners on the port in other network namespaces (containers, `ip netns`).

Nothing listens on the port here, yet the server may be running: inside a
container without a published port, or in a namespace made with `ip netns`
or `unshare -n`, where 127.0.0.1 is that namespace's own. Bounded and cheap:
- as root, every process's namespace link (/proc/PID/ns/net) is read; for
  at most MAX_NAMESPACES other namespaces, one member's /proc/PID/net/tcp{,6}
  shows that namespace's sockets (sock_diag only answers for our own);
- as an ordinary user, other users' namespace links are closed, but their
  /proc/PID/net/tcp is not: the processes whose command line names the port
  (at most 20) are looked at the same way.
The scan also says whether it saw every namespace, and whether a container
runtime runs here, so a user can be told it may be a container.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from assistant.facts.base import Collector, Context, Fact, FactType, Field, Summary
from assistant.facts.listeners import PROCESS_FIELDS, holder, owned
from assistant.facts.system.procfs import all_pids
from assistant.understand.addresses import hostport

if TYPE_CHECKING:
    from assistant.understand.symptoms import Target

MAX_NAMESPACES = 64
MAX_MEMBERS = 256  # processes of one namespace whose fds are searched for the socket's owner
RUNTIMES = ("dockerd", "containerd", "podman", "conmon", "crun", "runc", "lxc-start", "lxd",
            "systemd-nspawn", "kubelet", "k3s", "containerd-shim", "containerd-shim-runc-v2",
            "rootlessport", "slirp4netns", "pasta")

NETNS_LISTENER = FactType("netns_listener", "A socket listening on the port in another network "
                          "namespace: a container, or a namespace from ip netns or unshare.", {
    "address": Field("str", "the bound address (in that namespace)", example="127.0.0.1"),
    "port": Field("int", "the port"),
    "family": Field("int", "4 or 6", (4, 6)),
    **PROCESS_FIELDS,
    "netns": Field("str", "the namespace, as /proc/PID/ns/net names it (absent when this user "
                   "may not read it)", example="net:[4026532180]"),
    "found_by": Field("str", "how it was found: every namespace looked at (root), or a process "
                      "whose command line names the port", ("namespace", "command-line")),
}, lambda f: f"listener {hostport(f.get('address'), f.get('port'))} in another network "
             f"namespace" + (f", pid {f['pid']} ({f.get('process')})" if f.get("pid") else ""))

NETNS_SCAN = FactType("netns_scan", "How far other network namespaces could be looked at.", {
    "namespaces": Field("int", "other network namespaces whose sockets were read"),
    "complete": Field("bool", "every process's namespace could be read (root): nothing is "
                      "hidden"),
    "runtime": Field("str", "a container runtime running here (dockerd, containerd, podman...)",
                     example="dockerd"),
}, lambda f: f"{f.get('namespaces')} other network namespace(s) read"
             + ("" if f.get("complete") else " (not all visible)"))


def _readlink(path: str) -> str | None:
    try:
        return os.readlink(path)
    except OSError:
        return None


def _listening(pid: int, port: int) -> list[tuple[str, int, int, int]]:
    """(address, family, uid, inode) of sockets listening on `port` in pid's namespace."""
    from assistant.facts.system.linux import parse_listeners

    out = []
    for family, name in ((4, "tcp"), (6, "tcp6")):
        try:
            with open(f"/proc/{pid}/net/{name}") as fh:
                text = fh.read()
        except OSError:
            continue
        out += [(a, 6 if ":" in a else 4, uid, inode)
                for a, p, uid, inode in parse_listeners(text, family) if p == port]
    return out


def _runtime(pids: list[int]) -> str | None:
    for pid in pids:
        try:
            with open(f"/proc/{pid}/comm") as fh:
                name = fh.read().strip()
        except OSError:
            continue
        if name in RUNTIMES or name.startswith("containerd-shim"):
            return name
    return None


def collect(ctx: Context) -> list[Fact]:
    port = ctx.target.port
    if port is None or port > 65535:
        return []
    from assistant.facts.system import linux

    if not linux.available():
        return [{"type": "unknown", "reason": "other network namespaces are a Linux notion"}]
    own = _readlink("/proc/self/ns/net")
    from assistant.facts.system.socktable import source

    # This namespace's listening sockets, as the listeners check read them.
    here = {r.inode for r in source(ctx).table() if r.inode}
    pids = all_pids()
    members: dict[str, list[int]] = {}
    hidden = 0
    for pid in pids:
        try:
            ns = os.readlink(f"/proc/{pid}/ns/net")
        except PermissionError:
            hidden += 1  # another user's process, as an ordinary user
            continue
        except OSError:
            continue  # exited meanwhile
        if ns != own:
            members.setdefault(ns, []).append(pid)
    facts: list[Fact] = []
    seen: set[int] = set()
    looked = 0
    for ns, in_ns in list(members.items())[:MAX_NAMESPACES]:
        looked += 1
        for address, family, uid, inode in _listening(in_ns[0], port):
            if inode in here or inode in seen:
                continue
            seen.add(inode)
            pid = linux.pids_for_inodes([inode], in_ns[:MAX_MEMBERS]).get(inode, in_ns[0])
            facts.append(_fact(address, port, family, uid, pid, ns, "namespace"))
    if hidden:
        # Another user's namespace link is closed to us, its socket table is
        # not: look where a process names the port on its command line.
        me = os.getpid()
        for pid in linux.pids_mentioning(str(port)):
            if pid == me or any(pid in m for m in members.values()):
                continue
            for address, family, uid, inode in _listening(pid, port):
                if inode in here or inode in seen:
                    continue
                seen.add(inode)
                facts.append(_fact(address, port, family, uid, pid, None, "command-line"))
    scan: Fact = {"type": "netns_scan", "namespaces": looked, "complete": hidden == 0,
                  "runtime": _runtime(pids)}
    return [*facts, scan]


def _fact(address: str, port: int, family: int, uid: int, pid: int, ns: str | None,
          how: str) -> Fact:
    from assistant.facts.system import linux

    info = linux.describe(pid)
    fact: Fact = {"type": "netns_listener", "address": address, "port": port, "family": family,
                  "netns": ns, "found_by": how,
                  **{k: v for k, v in info.items() if k in PROCESS_FIELDS}}
    return owned(fact, uid)


def summarise(facts: list[Fact], target: Target) -> Summary:
    found = [f for f in facts if f["type"] == "netns_listener"]
    if found:
        return Summary("warning", "; ".join(
            f"{hostport(f['address'], f['port'])} listens in another network namespace "
            f"({holder(f)})" for f in found))
    scan = next((f for f in facts if f["type"] == "netns_scan"), {})
    # Root is refused too, for processes of another user namespace (a container's).
    hidden = (" (some processes' namespaces could not be read)"
              if getattr(os, "geteuid", lambda: -1)() == 0
              else " (others' namespaces are hidden from this user)")
    return Summary("ok", f"nothing on port {target.port} in {scan.get('namespaces', 0)} other "
                   "network namespace(s)" + ("" if scan.get("complete") else hidden))


COLLECTOR = Collector("other_namespaces", "Listeners on the port in other network namespaces "
                      "(containers, ip netns), bounded.", (NETNS_LISTENER, NETNS_SCAN), collect,
                      summarise, timeout=3.0,
                      asks=lambda t: f"does another network namespace listen on {t.port}?")
