"""UNIX-domain sockets: the kernel's table, a connect probe, and who may connect.

Linux lists every socket of the network namespace in /proc/net/unix; a
listening one has __SO_ACCEPTCON in its flags. Its inode is the socket's
(not the file's), the same number /proc/PID/fd links name, so the owning
process is found as for TCP (`linux.pids_for_inodes`). Elsewhere psutil's
unix connections give paths and pids (macOS: root only).

Who may connect is the file's mode read the way the kernel does: connect()
needs write permission on the socket file and search permission on every
directory above it; the owner class applies when the uid matches, else the
group class when any of the process's groups matches, else "other".
"""

from __future__ import annotations

import errno
import os
import socket
import stat
from collections.abc import Callable, Iterable, Mapping
from typing import NamedTuple

from assistant.facts.system.procfs import all_pids

SO_ACCEPTCON = 0x10000
SS_UNCONNECTED = "01"
SOCK_TYPES = {"0001": socket.SOCK_STREAM, "0002": socket.SOCK_DGRAM, "0005": socket.SOCK_SEQPACKET}
PROBE_RESULTS = ("ok", "missing", "refused", "permission", "not-socket", "timeout", "wrong-type",
                 "error")


class UnixRow(NamedTuple):
    """One bound UNIX socket of the table."""

    path: str
    inode: int
    stype: int          # socket.SOCK_STREAM, ...
    listening: bool
    pid: int | None = None


def parse_proc_net_unix(text: str) -> list[UnixRow]:
    """Pure: bound, path-named sockets of /proc/net/unix text (abstract and
    unnamed sockets are left out: no file, nothing a client dials by path)."""
    rows = []
    for line in text.splitlines()[1:]:
        # Num RefCount Protocol Flags Type St Inode Path (the path may hold spaces)
        f = line.split(None, 7)
        if len(f) < 8 or not f[7].startswith("/"):
            continue
        try:
            flags, inode = int(f[3], 16), int(f[6])
        except ValueError:
            continue
        listening = bool(flags & SO_ACCEPTCON) and f[5] == SS_UNCONNECTED
        rows.append(UnixRow(f[7].rstrip("\n"), inode, SOCK_TYPES.get(f[4], socket.SOCK_STREAM),
                            listening))
    return rows


def table() -> list[UnixRow] | None:
    """Every path-bound UNIX socket of this network namespace, or None when
    the system does not tell (then the connect probe decides)."""
    try:
        with open("/proc/net/unix") as fh:
            return parse_proc_net_unix(fh.read())
    except OSError:
        pass
    try:
        import psutil

        rows: list[UnixRow] = []
        for c in psutil.net_connections(kind="unix"):
            if isinstance(c.laddr, str) and c.laddr.startswith("/") and not c.raddr:
                # psutil does not say which one listens: a bound socket with
                # no peer is the best guess, and the probe confirms it.
                rows.append(UnixRow(c.laddr, 0, int(c.type), True, c.pid))
        return rows
    except Exception:  # noqa: BLE001 - psutil refused (macOS without root) or absent
        return None


def connect(path: str, stype: int, timeout: float) -> tuple[str, str | None]:
    """One connect to `path`, then close: nothing is written. (result, strerror)."""
    sock = socket.socket(socket.AF_UNIX, stype)
    sock.settimeout(timeout)
    try:
        sock.connect(path)
        return "ok", None
    except FileNotFoundError as exc:
        return "missing", exc.strerror
    except ConnectionRefusedError as exc:
        return "refused", exc.strerror
    except PermissionError as exc:
        return "permission", exc.strerror
    except (TimeoutError, BlockingIOError) as exc:
        # A full accept queue: EAGAIN on a UNIX socket, not a wait.
        return "timeout", str(exc) or "no answer"
    except OSError as exc:
        if exc.errno == errno.EPROTOTYPE:
            return "wrong-type", exc.strerror
        if exc.errno == errno.ENOTDIR:
            return "missing", exc.strerror
        return "error", exc.strerror or str(exc)
    finally:
        sock.close()


class Creds(NamedTuple):
    """Whose access is judged: the account, and the groups its process has."""

    name: str
    uid: int
    gid: int
    member: frozenset[int]            # groups the account is in (group database, primary too)
    session: frozenset[int] | None    # groups the client's process has; None: not known
    source: str                       # self | sudo | nginx


class Access(NamedTuple):
    access: str         # allowed | denied | root
    by: str             # owner | group | other | root
    in_group: bool      # the account is in the socket's group
    session_in_group: bool | None
    stale_groups: bool  # in the group by the database, not in this session's groups


def judge(mode: int, uid: int, gid: int, who: Creds, bit: int = 2) -> Access:
    """Pure: may `who` write (bit 2; search: bit 1) a file of this mode and owner?"""
    in_group = gid in who.member
    session_has = None if who.session is None else gid in who.session
    stale = in_group and session_has is False
    if who.uid == 0:
        return Access("root", "root", in_group, session_has, False)
    groups = who.session if who.session is not None else who.member
    if uid == who.uid:
        by, shift = "owner", 6
    elif gid in groups:
        by, shift = "group", 3
    else:
        by, shift = "other", 0
    allowed = bool(mode >> shift & bit)
    return Access("allowed" if allowed else "denied", by, in_group, session_has, stale)


def dir_denied(path: str, who: Creds,
               stat_fn: Callable[[str], os.stat_result] = os.stat) -> str | None:
    """Pure but for `stat_fn`: the first directory above `path` that `who`
    cannot search (connect() then fails with EACCES however the socket is set)."""
    if who.uid == 0:
        return None
    parts = os.path.dirname(path).split("/")
    for i in range(1, len(parts) + 1):
        d = "/".join(parts[:i]) or "/"
        try:
            st = stat_fn(d)
        except OSError:
            return None  # missing below here: "missing" says it better
        if not stat.S_ISDIR(st.st_mode):
            return None
        if judge(st.st_mode, st.st_uid, st.st_gid, who, bit=1).access == "denied":
            return d
    return None


class Ids(NamedTuple):
    uid: int
    gid: int
    groups: frozenset[int]
    ppid: int


def _status_ids(pid: int) -> Ids | None:
    """Real uid, real gid, groups (with the primary) and parent of a process, from /proc."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            text = fh.read(8192)
    except OSError:
        return None
    fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
    try:
        uid = int(fields["Uid"].split()[0])
        gid = int(fields["Gid"].split()[0])
        groups = frozenset(int(g) for g in fields.get("Groups", "").split())
        ppid = int(fields.get("PPid", "0").strip() or 0)
    except (KeyError, ValueError, IndexError):
        return None
    return Ids(uid, gid, groups | {gid}, ppid)


def _member(name: str, gid: int) -> frozenset[int]:
    try:
        return frozenset(os.getgrouplist(name, gid)) | {gid}
    except (OSError, AttributeError):
        return frozenset({gid})


def _account(uid: int) -> tuple[str, int] | None:
    import pwd

    try:
        pw = pwd.getpwuid(uid)
    except KeyError:
        return None
    return pw.pw_name, pw.pw_gid


def _sudo_session(uid: int) -> frozenset[int] | None:
    """The groups of the shell that ran sudo: the nearest ancestor process
    running as the invoking user (the groups its login session really has)."""
    pid = os.getppid()
    for _ in range(12):
        if pid <= 1:
            return None
        ids = _status_ids(pid)
        if ids is None:
            return None
        if ids.uid == uid:
            return ids.groups
        pid = ids.ppid
    return None


def _nginx_worker(pids: Iterable[int], named: int | None) -> Creds | None:
    """nginx connects to its upstreams from its worker processes, which run as
    the configured `user` (www-data), not as root like the master. The worker
    its log line names first; else the first worker found."""
    for pid in ([named] if named else []) + [p for p in pids if p != named]:
        try:
            with open(f"/proc/{pid}/comm") as fh:
                if fh.read().strip() != "nginx":
                    continue
        except OSError:
            continue
        ids = _status_ids(pid)
        if ids is None or ids.uid == 0:
            continue
        account = _account(ids.uid)
        name = account[0] if account else str(ids.uid)
        return Creds(name, ids.uid, ids.gid, _member(name, ids.gid), ids.groups, "nginx")
    return None


def subject(env: Mapping[str, str], client: str | None,
            pids: Callable[[], Iterable[int]], client_pid: int | None = None) -> Creds | None:
    """Whose access to judge; None when nothing is known (no pwd module).

    nginx: its worker's user. As root under sudo: the invoking user, with the
    groups of the shell that ran sudo. Otherwise this process itself.
    """
    if client == "nginx":
        worker = _nginx_worker(pids(), client_pid)
        if worker is not None:
            return worker
    if not hasattr(os, "geteuid"):
        return None
    euid = os.geteuid()
    sudo_uid = env.get("SUDO_UID", "")
    if euid == 0 and sudo_uid.isdigit() and int(sudo_uid) != 0:
        uid = int(sudo_uid)
        account = _account(uid)
        if account is not None:
            name, gid = account
            return Creds(name, uid, gid, _member(name, gid), _sudo_session(uid), "sudo")
    account = _account(euid)
    name = account[0] if account else str(euid)
    gid = os.getegid()
    session = frozenset(os.getgroups()) | {gid}
    return Creds(name, euid, gid, _member(name, gid), session, "self")


def names(uid: int, gid: int) -> tuple[str, str]:
    """Owner and group names of a file (numbers when the databases lack them)."""
    import grp
    import pwd

    try:
        owner = pwd.getpwuid(uid).pw_name
    except KeyError:
        owner = str(uid)
    try:
        group = grp.getgrgid(gid).gr_name
    except KeyError:
        group = str(gid)
    return owner, group


def as_owner(owner: str) -> str:
    """`sudo -u OWNER ` (shell-quoted), or nothing when OWNER is the user
    running the assistant: the prefix that runs a command as that account."""
    import shlex

    me = names(os.geteuid(), os.getegid())[0]
    return "" if owner == me else f"sudo -u {shlex.quote(owner)} "


def comm_pids(prefixes: tuple[str, ...], limit: int = 16) -> list[int]:
    """Processes whose name (comm) starts with one of `prefixes` (readable by all)."""
    out: list[int] = []
    for pid in all_pids():
        try:
            with open(f"/proc/{pid}/comm") as fh:
                name = fh.read().strip()
        except OSError:
            continue
        if name.startswith(prefixes):
            out.append(pid)
            if len(out) >= limit:
                break
    return out
