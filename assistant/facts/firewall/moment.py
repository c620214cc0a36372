"""What the moment says about conditional rules, read only when a rule asks:
the connections open now (for connlimit and `ct count`), an xt_recent list,
and a connect made as the user an owner rule names."""

from __future__ import annotations

import ipaddress
import os

from assistant.facts.firewall.conditions import World
from assistant.facts.firewall.model import Me
from assistant.facts.system.run import run_command

OPEN = {"ESTABLISHED", "SYN_RECV", "SYN-RECV", "FIN_WAIT1", "FIN_WAIT2", "FIN-WAIT-1",
        "FIN-WAIT-2", "CLOSE_WAIT", "CLOSE-WAIT", "LAST_ACK", "LAST-ACK", "CLOSING"}

# A connect as another user, in a separate process started by setpriv. It
# prints one word, like the probe's results.
CONNECT = """
import socket, sys
a, p, t = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
s = socket.socket(socket.AF_INET6 if ':' in a else socket.AF_INET)
s.settimeout(t)
try:
    s.connect((a, p)); print('ok')
except ConnectionRefusedError: print('refused')
except ConnectionResetError: print('reset')
except TimeoutError: print('timeout')
except OSError as e: print('unreachable' if e.errno in (101, 113) else 'error')
"""


def connections(saddr: str, prefix: int, dport: int) -> int | None:
    """TCP connections open now from `saddr`/`prefix` to local port `dport`."""
    from assistant.facts.system import linux

    try:
        net = ipaddress.ip_network(f"{saddr}/{prefix}", strict=False)
        rows = linux.sockets_on_port(dport)
    except (OSError, ValueError):
        return None
    count = 0
    for r in rows:
        if r.sport != dport or r.state.upper() not in OPEN:
            continue
        try:
            if ipaddress.ip_address(r.remote) in net:
                count += 1
        except (ValueError, TypeError):
            continue
    return count


def recent(name: str) -> str | None:
    if "/" in name or name.startswith("."):
        return None
    for base in ("/proc/net/xt_recent", "/proc/net/ipt_recent"):
        try:
            with open(f"{base}/{name}") as fh:
                return fh.read(1 << 16)
        except OSError:
            continue
    return None


def hashlimit(name: str, family: int) -> str | None:
    if "/" in name or name.startswith("."):
        return None
    try:
        with open(f"/proc/net/{'ipt' if family == 4 else 'ip6t'}_hashlimit/{name}") as fh:
            return fh.read(1 << 16)
    except OSError:
        return None


def me() -> Me:
    """This assistant's own user, groups and cgroup (v2): whom its probe speaks for."""
    cgroup = ""
    try:
        with open("/proc/self/cgroup") as fh:
            for line in fh:
                if line.startswith("0::"):
                    cgroup = line[3:].strip()
    except OSError:
        pass
    return Me(os.geteuid(), frozenset({os.getegid(), *os.getgroups()}), cgroup)


def world() -> World:
    return World(connections=connections, recent=recent, hashlimit=hashlimit)


def connect_as(uid: int, gid: int, address: str, port: int, timeout: float) -> str | None:
    """One connect made as `uid`/`gid` (root only, through setpriv): ok,
    refused, timeout, ... or None when it cannot be done."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0 or uid < 0 and gid < 0:
        return None
    from assistant.understand.addresses import is_loopback

    if not is_loopback(address):
        return None  # the same etiquette as the probe's: loopback only
    import pwd

    if uid < 0:
        uid = 65534  # a gid rule: any unprivileged user with that group
    if gid < 0:
        try:
            gid = pwd.getpwuid(uid).pw_gid
        except KeyError:
            gid = 65534
    user, group, wait, dport = str(uid), str(gid), f"{timeout:g}", str(port)
    out, _ = run_command(["setpriv", "--reuid", user, "--regid", group, "--clear-groups", "--",
                          "python3", "-I", "-S", "-c", CONNECT, address, dport, wait],
                         timeout=timeout + 2.0)
    word = (out or "").strip()
    return word if word in ("ok", "refused", "reset", "timeout", "unreachable", "error") else None
