"""Linux fast path: listening sockets and process details from the kernel.

psutil.net_connections builds the whole connection table, reading every fd
of every process: with 10,000 open sockets that is most of a diagnosis. A
question needs a few listeners, so this module asks sock_diag netlink for
listening sockets only (or reads /proc/net/tcp{,6}), then looks up only the
inodes it needs in /proc/*/fd. Everything degrades to "not visible" on permission errors;
callers fall back to psutil when /proc is not there.
"""

from __future__ import annotations

import os
import socket
import struct
from collections.abc import Iterable
from typing import Any, NamedTuple

from assistant.facts.system.procfs import all_pids, read_text
from assistant.understand.redact import clean

LISTEN = "0A"
MAX_CMDLINE = 65536  # characters of a command line read and kept
_STATES = {"R": "running", "S": "sleeping", "D": "disk-sleep", "T": "stopped",
           "t": "tracing-stop", "Z": "zombie", "X": "dead", "I": "idle", "W": "waking",
           "P": "parked"}
STOPPED = {"stopped", "tracing-stop", "zombie", "dead"}


def available() -> bool:
    return os.path.exists("/proc/net/tcp")


def _addr(hexaddr: str, family: int) -> str:
    raw = bytes.fromhex(hexaddr)
    # The kernel prints each 32-bit word in host (little-endian) order.
    words = struct.unpack("<" + "I" * (len(raw) // 4), raw)
    packed = struct.pack(">" + "I" * len(words), *words)
    return socket.inet_ntop(socket.AF_INET if family == 4 else socket.AF_INET6, packed)


def parse_listeners(text: str, family: int) -> list[tuple[str, int, int, int]]:
    """Pure: (address, port, uid, inode) for LISTEN rows of /proc/net/tcp text."""
    rows = []
    for line in text.splitlines()[1:]:
        # Cheap test first: with thousands of connections, few rows listen.
        head = line.split(None, 4)
        if len(head) < 5 or head[3] != LISTEN:
            continue
        f = line.split()
        if len(f) < 10:
            continue
        host, _, port = f[1].partition(":")
        address = _addr(host, family)
        if family == 6 and address.startswith("::ffff:") and "." in address:
            address = address[7:]  # IPv4-mapped
        rows.append((address, int(port, 16), int(f[7]), int(f[9])))
    return rows


def listeners() -> list[tuple[str, int, int, int, int]]:
    """(address, port, family, uid, inode) for every listening TCP socket.

    sock_diag netlink asks the kernel for listening sockets only (what `ss`
    does): constant time however many connections exist. /proc/net/tcp is
    the fallback; the kernel renders every socket into it (27 ms for 10,000).
    """
    try:
        return _netlink_listeners()
    except OSError:
        return _proc_listeners()


NETLINK_SOCK_DIAG = 4
SOCK_DIAG_BY_FAMILY = 20
NLMSG_ERROR, NLMSG_DONE = 2, 3
TCP_LISTEN = 10
# The kernel's TCP states (include/net/tcp_states.h), as `ss` names them.
TCP_STATES = {1: "established", 2: "syn-sent", 3: "syn-recv", 4: "fin-wait-1",
              5: "fin-wait-2", 6: "time-wait", 7: "close", 8: "close-wait", 9: "last-ack",
              10: "listen", 11: "closing", 12: "syn-recv", 13: "bound"}
# Every state, and (bit 13, Linux 6.7+) sockets bound but not listening, which
# no other table shows; older kernels ignore the bit.
ALL_STATES = (1 << 14) - 1


class DiagRow(NamedTuple):
    """One TCP socket as sock_diag (or /proc/net/tcp) reports it."""

    family: int       # 4 or 6
    state: str        # TCP_STATES name
    local: str
    sport: int
    remote: str
    dport: int
    rqueue: int       # listen: connections waiting for accept(); else unread bytes
    wqueue: int       # listen: the backlog (accept queue size); else unsent bytes
    uid: int
    inode: int


def _netlink_listeners() -> list[tuple[str, int, int, int, int]]:
    return [(r.local, r.sport, r.family, r.uid, r.inode)
            for fam in (socket.AF_INET, socket.AF_INET6)
            for r in _diag_dump(fam, 1 << TCP_LISTEN)]


def _mapped(address: str) -> str:
    return address[7:] if address.startswith("::ffff:") and "." in address else address


def _diag_dump(family: int, states: int) -> list[DiagRow]:
    """One SOCK_DIAG_BY_FAMILY dump of the TCP sockets in `states` (a bit mask)."""
    # inet_diag_req_v2: family, protocol, ext, pad, states, then a zeroed sockid
    req = struct.pack("=BBBBI", family, socket.IPPROTO_TCP, 0, 0, states) + bytes(48)
    header = struct.pack("=IHHII", 16 + len(req), SOCK_DIAG_BY_FAMILY, 0x1 | 0x300, 1, 0)
    rows: list[DiagRow] = []
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_SOCK_DIAG) as sock:
        sock.settimeout(1.0)
        sock.sendto(header + req, (0, 0))
        while True:
            data = sock.recv(1 << 16)
            if not data:
                return rows
            off = 0
            while off + 16 <= len(data):
                length, kind = struct.unpack_from("=IH", data, off)
                if kind == NLMSG_DONE:
                    return rows
                if kind == NLMSG_ERROR or length < 16:
                    raise OSError("sock_diag refused the request")
                # inet_diag_msg: family, state, timer, retrans, sockid (sport,
                # dport, src[16], dst[16], if, cookie), expires, rqueue, wqueue,
                # uid, inode
                msg = off + 16
                fam, state = data[msg], data[msg + 1]
                sport, dport = struct.unpack_from(">HH", data, msg + 4)
                size = 4 if fam == socket.AF_INET else 16
                local = _mapped(socket.inet_ntop(fam, data[msg + 8:msg + 8 + size]))
                remote = _mapped(socket.inet_ntop(fam, data[msg + 24:msg + 24 + size]))
                rq, wq, uid, inode = struct.unpack_from("=IIII", data, msg + 56)
                if state == 7 and states & (1 << 13):
                    state = 13  # the kernel reports a bound-inactive socket as CLOSE
                rows.append(DiagRow(6 if ":" in local else 4, TCP_STATES.get(state, str(state)),
                                    local, sport, remote, dport, rq, wq, uid, inode))
                off += (length + 3) & ~3


def sockets_on_port(port: int) -> list[DiagRow]:
    """Every TCP socket whose local or remote port is `port`, in any state."""
    try:
        rows = [r for fam in (socket.AF_INET, socket.AF_INET6)
                for r in _diag_dump(fam, ALL_STATES)]
    except OSError:
        rows = _proc_rows()
    return [r for r in rows if port in (r.sport, r.dport)]


def sockets_in(states: int) -> list[DiagRow]:
    """Every TCP socket in `states` (a mask of TCP_STATES numbers), both families."""
    try:
        return [r for fam in (socket.AF_INET, socket.AF_INET6) for r in _diag_dump(fam, states)]
    except OSError:
        names = {name for n, name in TCP_STATES.items() if states & (1 << n)}
        return [r for r in _proc_rows() if r.state in names]


def listen_queues(port: int) -> dict[int, int]:
    """inode -> connections waiting in the accept queue, for the sockets
    listening on `port` (one cheap dump of listeners only)."""
    try:
        rows = [r for fam in (socket.AF_INET, socket.AF_INET6)
                for r in _diag_dump(fam, 1 << TCP_LISTEN)]
    except OSError:
        rows = [r for r in _proc_rows() if r.state == "listen"]
    return {r.inode: r.rqueue for r in rows if r.sport == port and r.inode}


def parse_rows(text: str, family: int) -> list[DiagRow]:
    """Pure: every row of /proc/net/tcp{,6} text."""
    rows = []
    for line in text.splitlines()[1:]:
        f = line.split()
        if len(f) < 10:
            continue
        lhost, _, lport = f[1].partition(":")
        rhost, _, rport = f[2].partition(":")
        tx, _, rx = f[4].partition(":")
        local = _mapped(_addr(lhost, family))
        state = TCP_STATES.get(int(f[3], 16), f[3])
        rows.append(DiagRow(6 if ":" in local else 4, state, local, int(lport, 16),
                            _mapped(_addr(rhost, family)), int(rport, 16), int(rx, 16),
                            int(tx, 16), int(f[7]), int(f[9])))
    return rows


def _proc_rows() -> list[DiagRow]:
    out: list[DiagRow] = []
    for family, path in ((4, "/proc/net/tcp"), (6, "/proc/net/tcp6")):
        try:
            with open(path) as fh:
                out += parse_rows(fh.read(), family)
        except OSError:
            continue
    return out


def _proc_listeners() -> list[tuple[str, int, int, int, int]]:
    out = []
    read = 0
    for family, path in ((4, "/proc/net/tcp"), (6, "/proc/net/tcp6")):
        try:
            with open(path) as fh:
                text = fh.read()
            read += 1
        except OSError:
            continue  # no IPv6, or hidden: the other family still counts
        for address, port, uid, inode in parse_listeners(text, family):
            out.append((address, port, 6 if ":" in address else 4, uid, inode))
    if not read:
        # Nothing read is not "nothing listens": let the caller fall back.
        raise OSError("neither /proc/net/tcp nor /proc/net/tcp6 is readable")
    return out


def pids_for_inodes(inodes: Iterable[int], pids: Iterable[int] | None = None) -> dict[int, int]:
    """inode -> pid for socket inodes, scanning fds only until all are found."""
    want = {f"socket:[{i}]": i for i in inodes if i}
    found: dict[int, int] = {}
    if not want:
        return found
    for pid in (pids if pids is not None else all_pids()):
        fd_dir = f"/proc/{pid}/fd"
        try:
            fds = os.listdir(fd_dir)
        except OSError:
            continue  # exited, or not ours to read
        for fd in fds:
            try:
                target = os.readlink(f"{fd_dir}/{fd}")
            except OSError:
                continue
            inode = want.get(target)
            if inode is not None and inode not in found:
                found[inode] = pid
                if len(found) == len(want):
                    return found
    return found


def pids_mentioning(token: str, limit: int = 20) -> list[int]:
    """Processes whose command line contains `token` as a whole word."""
    out = []
    needle = token.encode()
    for pid in all_pids():
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                args = fh.read(8192).split(b"\0")
        except OSError:
            continue
        if any(_word_in(needle, a) for a in args):
            out.append(pid)
            if len(out) >= limit:
                break
    return out


def _word_in(needle: bytes, arg: bytes) -> bool:
    start = arg.find(needle)
    while start != -1:
        end = start + len(needle)
        before = arg[start - 1:start] if start else b""
        after = arg[end:end + 1]
        if not before.isdigit() and not after.isdigit():
            return True
        start = arg.find(needle, start + 1)
    return False


def describe(pid: int | None) -> dict[str, Any]:
    """name, cmdline, user, status for `pid` from /proc; missing when denied."""
    if not pid:
        return {}
    out: dict[str, Any] = {"pid": pid}
    base = f"/proc/{pid}"
    cmd: list[str] = []
    try:
        with open(f"{base}/cmdline", "rb") as fh:
            cmd = [a.decode("utf-8", "replace") for a in fh.read(MAX_CMDLINE).split(b"\0") if a]
        # Command lines can carry passwords (`--password=...`): redact. Kept
        # whole (up to the read bound): a JVM's main class comes after
        # thousands of characters of options, and rules match it.
        out["cmdline"] = clean(" ".join(cmd))[:MAX_CMDLINE]
    except OSError:
        pass
    try:
        with open(f"{base}/status") as fh:
            status = fh.read(4096)
        for line in status.splitlines():
            key, _, value = line.partition(":")
            if key == "Name":
                name = value.strip()
                exe = os.path.basename(cmd[0]) if cmd else ""
                # comm is cut at 15 characters; the command's basename is not
                out["process"] = exe if len(name) == 15 and exe.startswith(name) else name
            elif key == "State":
                out["status"] = _STATES.get(value.strip()[:1], value.strip())
            elif key == "Uid":
                out["user"] = _user(int(value.split()[0]))
    except (OSError, ValueError, IndexError):
        pass
    out["stopped"] = out.get("status") in STOPPED
    unit = service_unit(pid)
    if unit:
        out["unit"] = unit
    return out


def service_unit(pid: int) -> str | None:
    """The systemd system service a process belongs to (from its cgroup), if any:
    the thing to stop, rather than the pid (systemd would restart it)."""
    text = read_text(f"/proc/{pid}/cgroup", 4096)
    return None if text is None else unit_from_cgroup(text)


def unit_from_cgroup(text: str) -> str | None:
    """Pure: `postgresql@15-main.service` from `0::/system.slice/postgresql@15-main.service`."""
    for line in text.splitlines():
        path = line.rsplit(":", 1)[-1]
        parts = path.split("/")
        if "system.slice" in parts:
            after = parts[parts.index("system.slice") + 1:]
            if after and after[0].endswith((".service", ".socket")):
                return after[0]
    return None


def user_name(uid: int) -> str:
    """The name for a uid (the uid itself when it has none)."""
    return _user(uid)


def _user(uid: int) -> str:
    import pwd

    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)
