"""A UNIX socket the client failed on: is it there, does anyone listen, may
this user connect, and where does the same service listen instead.

For a path target: the file (type, owner, group, mode), the listening
socket and its process (/proc/net/unix, the pid from /proc/*/fd), one
connect (nothing written), and the access the mode gives the user who ran
the client (the sudo user under sudo, nginx's worker for nginx). When the
socket does not answer, the same service elsewhere: PostgreSQL's socket in
another directory or for another port, another socket of MySQL, Docker,
PHP-FPM or Redis, or the service's TCP port. For a TCP target with nothing
listening: the service's UNIX socket, when it runs on that only.

Places are `unix_alternative` facts, never `listener` facts, so the TCP
rules do not read a UNIX socket as a TCP listener.
"""

from __future__ import annotations

import os
import re
import socket
import stat
from typing import TYPE_CHECKING, Any

from assistant.facts.base import Collector, Context, Fact, FactType, Field, Summary
from assistant.facts.listeners import PROCESS_FIELDS, holder
from assistant.facts.unix_services import (
    LABELS,
    PG_SOCKET,
    RELATIONS,
    SERVICE_NAMES,
    SERVICES,
    UNIT_DIRS,
    beside,
    real,
    service_of,
    socket_places,
    tcp_service,
    unit_of,
)
from assistant.understand.addresses import hostport, is_loopback, is_wildcard

if TYPE_CHECKING:
    from assistant.facts.system.unix import Creds
    from assistant.understand.symptoms import Target

UNIX_SOCKET = FactType("unix_socket", "The UNIX socket the client failed on, as it is now.", {
    "path": Field("str", "the socket's path", example="/var/run/docker.sock"),
    "dir": Field("str", "its directory", example="/var/run"),
    "name": Field("str", "its file name", example="docker.sock"),
    "port": Field("int", "the port a PostgreSQL socket names (.s.PGSQL.5432), or the port a "
                  "PHP DSN names beside host=localhost (the driver ignores it)"),
    "service": Field("str", "the server it belongs to, by its path or the client", SERVICE_NAMES),
    "label": Field("str", "that server's name for people", tuple(LABELS.values())),
    "unit": Field("str", "the service unit that usually runs it", example="postgresql"),
    "unit_found": Field("bool", "that unit (or init script) is installed here"),
    "file_type": Field("str", "what is at the path", ("socket", "directory", "file", "other",
                                                       "missing", "hidden")),
    "exists": Field("bool", "something is at the path"),
    "socket": Field("bool", "it is a socket"),
    "dir_exists": Field("bool", "its directory exists"),
    "owner": Field("str", "the file's owner", example="root"),
    "group": Field("str", "the file's group", example="docker"),
    "mode": Field("str", "the file's permission bits, octal", example="0660"),
    "owner_can": Field("bool", "the owner may connect (write bit)"),
    "group_can": Field("bool", "the group may connect"),
    "others_can": Field("bool", "everyone else may connect"),
    "listening": Field("bool", "a server listens on it (absent when it cannot be told)"),
    "listed": Field("bool", "the kernel's socket table lists it as listening"),
    **PROCESS_FIELDS,
    "status": Field("str", "the listening process's state, when visible", example="sleeping"),
    "stopped": Field("bool", "the listening process is stopped, traced, zombie or dead"),
    "probe": Field("str", "one connect from this process", (
        "ok", "missing", "refused", "permission", "not-socket", "timeout", "wrong-type",
        "error")),
    "probe_error": Field("str", "the system's words for the failed connect"),
    "subject": Field("str", "the user whose access is judged (the sudo user under sudo, "
                     "nginx's worker user for nginx)", example="dev"),
    "subject_source": Field("str", "where that user comes from", ("self", "sudo", "nginx")),
    "run_as": Field("str", "what runs a command as the socket's owner (a server's admin login "
                    "through its socket): nothing for the user running the assistant, else "
                    "sudo -u OWNER", example="sudo -u postgres ", verbatim=True),
    "subject_group": Field("str", "that user's primary group", example="www-data"),
    "as_root": Field("bool", "the assistant runs as root"),
    "access": Field("str", "what the mode gives the subject", ("allowed", "denied", "root")),
    "access_by": Field("str", "the permission class that applies", ("owner", "group", "other",
                                                                    "root")),
    "in_group": Field("bool", "the subject is in the socket's group (group database)"),
    "session_in_group": Field("bool", "the subject's running session has that group"),
    "stale_groups": Field("bool", "in the group, but the session started before joining it"),
    "dir_denied": Field("str", "a directory above the socket the subject cannot search"),
    "datadir": Field("str", "PostgreSQL: the data directory its socket's .lock file names "
                     "(a dead socket)", example="/srv/pg/data"),
    "pg_start": Field("str", "PostgreSQL, a cluster outside the packaged ones: pg_ctl start for "
                      "that data directory with the options it last ran with (postmaster.opts), "
                      "as its owner", example="/usr/lib/postgresql/15/bin/pg_ctl -D /srv/pg/data "
                      "-l /srv/pg/data/logfile -o '-p 7603' start", verbatim=True),
    "ss_path": Field("str", "the path as ss's filter reads it (a space escaped), quoted for sh: "
                     "ss -xl src {s.ss_path}", example="'/tmp/my\\ dir/app.sock'",
                     verbatim=True),
}, lambda f: f"socket {f.get('path')}: {f.get('file_type')}"
             + (", listening" if f.get("listening") else ", nobody listens"
                if f.get("listening") is False else "")
             + f", connect {f.get('probe')}")

UNIX_ALTERNATIVE = FactType("unix_alternative", "Where the same service listens instead.", {
    "relation": Field("str", "tcp: its TCP port; other-dir: its socket in another directory; "
                      "other-port: its socket for another port; other-socket: another socket "
                      "of the service; socket: (TCP target) it listens on this UNIX socket; "
                      "beside: (a server the path does not name) a listening socket in the "
                      "same directory",
                      RELATIONS),
    "service": Field("str", "the service", SERVICE_NAMES),
    "path": Field("str", "the socket's path", example="/tmp/.s.PGSQL.5432"),
    "dir": Field("str", "the socket's directory (psql -h DIR)", example="/tmp"),
    "port": Field("int", "the TCP port, or the port a PostgreSQL socket names"),
    "address": Field("str", "the TCP address bound", example="127.0.0.1"),
    "host": Field("str", "the address to dial for it", example="127.0.0.1"),
    "status": Field("str", "its process's state, when visible", example="sleeping"),
    "stopped": Field("bool", "its process is stopped, traced, zombie or dead"),
    "access": Field("str", "whether the user the question is about may connect to it (its "
                    "mode, owner and group): allowed, denied, or root", ("allowed", "denied",
                                                                       "root")),
    "owner": Field("str", "the socket file's owner: the server's account", example="postgres"),
    "run_as": Field("str", "what runs a command as the socket's owner (an admin login through "
                    "the socket: PostgreSQL's cluster owner): nothing for the user running the "
                    "assistant, else sudo -u OWNER", example="sudo -u postgres ", verbatim=True),
    "nginx_conf_dir": Field("str", "when nginx failed to reach it: the directory of that "
                            "running nginx's configuration file", example="/etc/nginx"),
    "nginx_reload": Field("str", "when nginx failed to reach it: the command that tests and "
                          "reloads that running nginx's configuration (its -p and -c), with "
                          "sudo only when needed",
                          example="sudo nginx -t && sudo nginx -s reload", verbatim=True),
    **PROCESS_FIELDS,
}, lambda f: ("listening beside it: " if f.get("relation") == "beside"
              else f"{f.get('service')} also at ")
             + (hostport(f.get("address"), f.get("port")) if f.get("relation") == "tcp"
                else str(f.get("path"))))


def mode_facts(st_mode: int) -> Fact:
    return {"mode": f"{stat.S_IMODE(st_mode):04o}", "owner_can": bool(st_mode & 0o200),
            "group_can": bool(st_mode & 0o020), "others_can": bool(st_mode & 0o002)}


def file_type(st_mode: int) -> str:
    if stat.S_ISSOCK(st_mode):
        return "socket"
    if stat.S_ISDIR(st_mode):
        return "directory"
    return "file" if stat.S_ISREG(st_mode) else "other"


def _process(info: dict[str, Any]) -> Fact:
    out: Fact = {k: info[k] for k in ("pid", "process", "cmdline", "user", "status") if k in info}
    if "status" in info:
        out["stopped"] = bool(info.get("stopped"))
    return out


def _dial_host(address: str) -> str:
    if is_wildcard(address):
        return "::1" if ":" in address else "127.0.0.1"
    return address


class _Look:
    """What one collection reads once: the socket table, pids, the subject."""

    def __init__(self, ctx: Context):
        from assistant.facts.system import linux, unix
        from assistant.facts.system.procfs import all_pids
        from assistant.facts.system.socktable import source

        self.ctx, self.unix, self.linux = ctx, unix, linux
        self.rows = unix.table()
        self.src = source(ctx)
        self.who: Creds | None = unix.subject(ctx.env, ctx.target.client, all_pids,
                                              ctx.target.client_pid)

    def describe(self, inode: int, pid: int | None = None) -> Fact:
        if pid is None and inode and self.linux.available():
            pid = self.linux.pids_for_inodes([inode]).get(inode)
        return _process(self.src.describe(pid)) if pid else {}

    def owned(self, service: str) -> set[int]:
        """Listening inodes held by the service's processes (when we may look)."""
        if not self.linux.available() or not self.rows:
            return set()
        pids = self.unix.comm_pids(SERVICES[service].processes)
        if not pids:
            return set()
        inodes = [r.inode for r in self.rows if r.listening]
        return set(self.linux.pids_for_inodes(inodes, pids))

    def known(self, service: str, port: int | None) -> list[str]:
        """The service's usual socket paths (its daemon may sit in another
        network namespace, e.g. rootless Docker, and miss the table)."""
        uid = self.who.uid if self.who else os.getuid()
        home = os.path.expanduser(f"~{self.who.name}") if self.who else os.path.expanduser("~")
        out = []
        for p in SERVICES[service].known:
            p = p.format(uid=uid, home=home)
            out.append(f"{p}/.s.PGSQL.{port or 5432}" if service == "postgres" else p)
        return out

    def places(self, service: str, port: int | None, exclude: str | None,
               relation: str | None, missing: bool = False) -> list[Fact]:
        """The service's UNIX sockets that answer, as unix_alternative facts.
        `missing`: nothing is at the asked path (not even a stale file)."""
        rows = self.rows or []
        facts: list[Fact] = []
        found = socket_places(service, port, rows, self.owned(service), exclude)
        if service == "postgres" and missing and not any(
                pg_port == port for _, pg_port, _ in found):
            # No PostgreSQL for this port anywhere: the clusters running on
            # other ports are the ones the user may mean (psql's default 5432
            # while the only server runs on 7601 with its own socket directory).
            found = socket_places(service, port, rows, self.owned(service), exclude, any_port=True)
        listed = {real(p) for p, _, _ in found}
        for p in self.known(service, port):
            rp = real(p)
            if rp in listed or (exclude and rp == real(exclude)) or not _is_socket(p):
                continue
            # Not in the table: only a connect that succeeds says someone listens.
            if self.unix.connect(p, socket.SOCK_STREAM, min(self.ctx.probe_timeout, 1.0))[0] == "ok":
                listed.add(rp)
                m = PG_SOCKET.match(os.path.basename(p))
                found.append((p, int(m.group(1)) if m else None,
                              self.unix.UnixRow(p, 0, socket.SOCK_STREAM, True)))
        for p, pg_port, row in found:
            if relation is not None:
                rel = relation
            elif service == "postgres":
                rel = "other-dir" if pg_port == port else "other-port"
            else:
                rel = "other-socket"
            fact: Fact = {"type": "unix_alternative", "relation": rel, "service": service,
                          "path": p, "dir": os.path.dirname(p), "port": pg_port}
            fact.update(self.describe(row.inode, row.pid))
            try:
                st = os.stat(p)
            except OSError:
                facts.append(fact)
                continue
            fact.update(run_as(self.unix.names(st.st_uid, st.st_gid)[0]))
            if self.who is not None:
                fact["access"] = self.unix.judge(st.st_mode, st.st_uid, st.st_gid,
                                                 self.who).access
            facts.append(fact)
        # The ones this user may connect to first: another user's 0700 socket
        # is no way in (field trial 10: root's Redis socket led for ana).
        facts.sort(key=lambda f: f.get("access") == "denied")
        return facts

    def beside(self, path: str) -> list[Fact]:
        """Listening sockets beside a path nobody serves, as unix_alternative facts."""
        facts: list[Fact] = []
        for row in beside(path, self.rows or []):
            fact: Fact = {"type": "unix_alternative", "relation": "beside", "service": "unknown",
                          "path": row.path, "dir": os.path.dirname(row.path)}
            fact.update(self.describe(row.inode, row.pid))
            facts.append(fact)
        return facts

    def tcp(self, service: str, ports: tuple[int, ...]) -> list[Fact]:
        """The service on its TCP port(s): listeners whose process is the
        service's, or cannot be seen (another user's)."""
        rows = self.src.with_pids([r for r in self.src.table() if r.port in ports])
        facts: list[Fact] = []
        for r in rows:
            info = _process(self.src.describe(r.pid))
            name = str(info.get("process", ""))
            if name and not name.startswith(SERVICES[service].processes):
                continue
            if not (is_loopback(r.address) or is_wildcard(r.address)):
                continue  # a listener on another interface's address: not ours to suggest
            facts.append({"type": "unix_alternative", "relation": "tcp", "service": service,
                          "port": r.port, "address": r.address, "host": _dial_host(r.address),
                          **info})
        return facts


def run_as(owner: str) -> Fact:
    """`owner`, and `run_as`: the prefix that runs a command as that account
    (nothing for the user running the assistant; a hand-started cluster's
    owner, not the packaged `postgres`: field trial 10)."""
    from assistant.facts.system.unix import as_owner

    if not owner or owner.isdigit():
        return {}
    return {"owner": owner, "run_as": as_owner(owner)}


def ss_path(path: str) -> str:
    """`path` for `ss -xl src PATH` pasted into sh: ss joins its arguments and
    parses them as one filter, where only a backslash keeps a space in a word
    (`src '/tmp/my dir/a.sock'` is a syntax error to it)."""
    import shlex

    return shlex.quote(re.sub(r"([\\\s])", r"\\\1", path))


def _is_socket(path: str) -> bool:
    try:
        return stat.S_ISSOCK(os.stat(path).st_mode)
    except OSError:
        return False


def _installed() -> set[str]:
    out: set[str] = set()
    for d in UNIT_DIRS:
        try:
            out.update(n.removesuffix(".service") for n in os.listdir(d))
        except OSError:
            continue
    return out


def path_facts(ctx: Context, look: _Look) -> list[Fact]:
    target = ctx.target
    path = str(target.path)
    unix = look.unix
    service = service_of(path, target.client)
    unit, unit_found = unit_of(service, path, _installed())
    fact: Fact = {"type": "unix_socket", "path": path, "ss_path": ss_path(path),
                  "dir": os.path.dirname(path),
                  "name": os.path.basename(path), "port": target.port, "service": service,
                  "label": LABELS[service], "unit": unit,
                  "unit_found": unit_found if unit else None,
                  "dir_exists": os.path.isdir(os.path.dirname(path)),
                  "as_root": os.geteuid() == 0}
    st: os.stat_result | None = None
    try:
        st = os.stat(path)
        kind = file_type(st.st_mode)
    except FileNotFoundError:
        kind = "missing"
    except OSError:
        kind = "hidden"  # a directory above is not searchable by us
    fact["file_type"] = kind
    if kind != "hidden":
        fact.update(exists=kind != "missing", socket=kind == "socket")
    listed = [r for r in look.rows or [] if r.listening and real(r.path) == real(path)]
    stype = listed[0].stype if listed else socket.SOCK_STREAM
    if kind == "socket":
        fact["probe"], fact["probe_error"] = unix.connect(path, stype, ctx.probe_timeout)
    else:
        fact["probe"] = {"missing": "missing", "hidden": "permission"}.get(kind, "not-socket")
    if look.rows is not None:
        fact["listed"] = bool(listed)
    if fact["probe"] == "ok" or listed:
        fact["listening"] = True
    elif kind == "socket" and (look.rows is not None or fact["probe"] == "refused"):
        fact["listening"] = False
    if listed:
        fact.update(look.describe(listed[0].inode, listed[0].pid))
    if st is not None:
        owner, group = unix.names(st.st_uid, st.st_gid)
        fact.update(owner=owner, group=group, **mode_facts(st.st_mode))
        fact.update(run_as(owner))
    who = look.who
    if who is not None:
        fact.update(subject=who.name, subject_source=who.source,
                    subject_group=unix.names(who.uid, who.gid)[1])
        if st is not None and kind == "socket":
            acc = unix.judge(st.st_mode, st.st_uid, st.st_gid, who)
            fact.update(access=acc.access, access_by=acc.by, in_group=acc.in_group,
                        session_in_group=acc.session_in_group, stale_groups=acc.stale_groups)
        fact["dir_denied"] = unix.dir_denied(path, who)
    if service == "postgres" and fact.get("listening") is False:
        from assistant.facts.pgcluster import stale_cluster

        fact.update(stale_cluster(path))
    facts = [fact]
    if fact["probe"] != "ok" and service != "unknown":
        facts += look.places(service, target.port, path, None, kind == "missing")
        if service == "postgres" and target.port:
            ports: tuple[int, ...] = (target.port,)
        else:  # the port a PHP DSN names, then the service's own
            ports = tuple(dict.fromkeys((*((target.port,) if target.port else ()),
                                         *SERVICES[service].ports)))
        facts += look.tcp(service, ports)
    elif fact["probe"] != "ok" and target.role == "client":
        # A server the path does not name: did it move its socket beside it?
        facts += look.beside(path)
    return facts


def collect(ctx: Context) -> list[Fact]:
    if not hasattr(os, "geteuid") or not hasattr(socket, "AF_UNIX"):
        return [{"type": "unknown", "reason": "this system has no UNIX sockets to look at"}]
    look = _Look(ctx)
    if ctx.target.path is not None:
        return _for_nginx(ctx, path_facts(ctx, look))
    service = tcp_service(ctx.target)
    if service is None or ctx.target.port is None:
        return []
    port = ctx.target.port if service == "postgres" else None
    return _for_nginx(ctx, look.places(service, port, None, "socket"))


def _for_nginx(ctx: Context, facts: list[Fact]) -> list[Fact]:
    """nginx failed to reach its upstream: the fixes edit and reload that
    running nginx's configuration (its own -p and -c), not /etc/nginx's."""
    alternatives = [f for f in facts if f["type"] == "unix_alternative"]
    if ctx.target.client != "nginx" or not alternatives:
        return facts
    from assistant.facts.nginxconf import master_of, reload_command

    found = master_of(ctx.target.client_pid)
    if found is None:
        return facts
    prefix, conf = found
    reload = reload_command(prefix, conf, os.geteuid() == 0, test=True)
    for f in alternatives:
        f.update(nginx_conf_dir=os.path.dirname(conf), nginx_reload=reload)
    return facts


def summarise(facts: list[Fact], target: Target) -> Summary:
    sock = next((f for f in facts if f["type"] == "unix_socket"), None)
    alts = [f for f in facts if f["type"] == "unix_alternative"]
    where = "; ".join(("listening beside it: " if a["relation"] == "beside"
                       else f"{a['service']} at ")
                      + (hostport(a.get("address"), a.get("port"))
                         if a["relation"] == "tcp" else a["path"])
                      + f" ({holder(a)}"
                      # another user's 0700 socket is no way in: say so beside it
                      + (", not open to this user)" if a.get("access") == "denied" else ")")
                      for a in alts)
    if sock is None:
        if not alts:
            return Summary("ok", "no UNIX socket of the service answers either")
        return Summary("warning", f"listening on a UNIX socket instead: {where}")
    parts = [f"{sock['path']}: {sock['file_type']}"]
    if sock.get("mode"):
        parts.append(f"{sock.get('owner')}:{sock.get('group')} {sock['mode']}")
    if sock.get("listening"):
        parts.append(f"listening ({holder(sock)})")
    elif sock.get("listening") is False:
        parts.append("nobody listens")
    parts.append(f"connect {sock['probe']}")
    if sock.get("access") == "denied":
        parts.append(f"{sock.get('subject')} may not connect")
    text = ", ".join(parts) + (f"; instead: {where}" if where else "")
    ok = sock["probe"] == "ok" and sock.get("access") != "denied"
    return Summary("ok" if ok else "problem", text)


COLLECTOR = Collector("unix_socket", "The UNIX socket the client failed on: file, listener, "
                      "access, and where its service listens instead.",
                      (UNIX_SOCKET, UNIX_ALTERNATIVE), collect, summarise, timeout=4.0,
                      timeout_for=lambda ctx: max(4.0, ctx.probe_timeout * 2 + 1.0),
                      asks=lambda t: f"is anything serving {t.path}?")
