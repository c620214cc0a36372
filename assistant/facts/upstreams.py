"""The upstreams of the nginx that answered 502 on the asked port.

A 502 or 504 from nginx means nginx is fine and what it passes requests to
is not. The running master's configuration (its command line's -p and -c,
includes followed; nginxconf.front_end) names the server blocks listening
on the asked port and their proxy_pass, fastcgi_pass... targets; for each
one on this machine the socket tables say whether anything listens there.
Read only: no request is sent to the upstream, nothing is run.
"""

from __future__ import annotations

import contextlib
import os
import shlex
from typing import TYPE_CHECKING, Any

from assistant.facts.base import Collector, Context, Fact, FactType, Field, Summary
from assistant.understand.addresses import family_of, hostport, is_loopback, is_wildcard

if TYPE_CHECKING:
    from assistant.facts.nginxconf import FrontEnd
    from assistant.facts.system.socktable import Listen
    from assistant.understand.symptoms import Target

MAX_UPSTREAMS = 8
_LOCAL_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost")

UPSTREAM = FactType("upstream", "Where the front end listening on the target port (nginx) "
                    "sends requests, from its running configuration.", {
    "front": Field("str", "the front end's program", ("nginx",)),
    "conf": Field("str", "its configuration file (from the master's command line)",
                  example="/etc/nginx/nginx.conf"),
    "error_log": Field("str", "its error log file", example="/var/log/nginx/error.log"),
    "log_command": Field("str", "the command that shows that log's last lines, with sudo only "
                         "when the user running the assistant may not read it",
                         example="tail -n 20 /var/log/nginx/error.log", verbatim=True),
    "directive": Field("str", "the directive that names it",
                       ("proxy_pass", "fastcgi_pass", "uwsgi_pass", "scgi_pass", "grpc_pass",
                        "memcached_pass")),
    "address": Field("str", "the upstream's host as written (absent for a UNIX socket)",
                     example="127.0.0.1"),
    "port": Field("int", "its port", example=8000),
    "path": Field("str", "its UNIX socket's path", example="/run/php/php8.2-fpm.sock"),
    "upstream": Field("str", "the upstream in one word: host:port or unix:PATH",
                      example="127.0.0.1:8000"),
    "local": Field("bool", "it is on this machine (a loopback address, localhost, a socket)"),
    "exists": Field("bool", "the socket file exists (a UNIX socket upstream)"),
    "listening": Field("bool", "something listens there now (local upstreams only)"),
    "accepts": Field("bool", "a listener there takes the address nginx dials (a TCP upstream "
                     "on this machine)"),
    "beside": Field("str", "a listening UNIX socket in the same directory as a socket upstream "
                    "nothing listens on (php8.2-fpm.sock beside php8.1-fpm.sock)",
                    example="/run/php/php8.2-fpm.sock"),
    "pid": Field("int", "the process listening there, when visible", example=4242),
    "process": Field("str", "its name", example="python3"),
    "stopped": Field("bool", "that process is stopped (kill -STOP, a debugger): nginx's "
                     "connection waits, then times out (504)"),
    "pgid": Field("int", "that process's group (Ctrl-Z stops a job's whole group: a server's "
                  "master and workers)", example=4240),
    "access": Field("str", "whether nginx's worker user may connect to the socket upstream "
                    "(its mode, owner and group)", ("allowed", "denied", "root")),
    "worker_user": Field("str", "nginx's worker user (the configuration's `user`)",
                         example="www-data"),
    "worker_group": Field("str", "that user's primary group", example="www-data"),
    "dir_denied": Field("str", "a directory above the socket upstream that nginx's worker "
                        "user may not enter (connect fails however the socket is set)",
                        example="/srv/app"),
    "owner": Field("str", "the socket upstream's owner", example="root"),
    "group": Field("str", "the socket upstream's group", example="root"),
    "mode": Field("str", "the socket upstream's mode", example="0700"),
    "reload_command": Field("str", "the command that reloads this nginx's configuration, its "
                            "-p and -c included, with sudo only when needed",
                            example="nginx -s reload", verbatim=True),
}, lambda f: f"{f.get('front')} passes requests to {f.get('upstream')} ({f.get('directive')})"
             + ("" if not f.get("local") else ", listening" if f.get("listening")
                else ", nothing listens there"))


def _nginx_worker(ctx: Context, port: int) -> tuple[bool, int | None]:
    """(an nginx holds the port, one of its pids) from the listening sockets;
    a hidden owner (another user's nginx) gives (True, None) when nginx runs."""
    from assistant.facts.system.socktable import source

    src = source(ctx)
    rows = src.with_pids([r for r in src.table() if r.port == port])
    for r in rows:
        if r.pid and src.describe(r.pid).get("process") == "nginx":
            return True, r.pid
    return any(r.pid is None for r in rows), None


def _takes(row: Listen, host: str) -> bool:
    """Pure: a listener bound to row.address takes connections nginx makes to `host`."""
    if host.lower() in _LOCAL_NAMES:
        return is_loopback(row.address) or is_wildcard(row.address)
    if row.address == host:
        return True
    return is_wildcard(row.address) and (row.family == family_of(host) or row.family == 6)


def _log_command(path: str) -> str:
    readable = os.access(path, os.R_OK) or os.geteuid() == 0
    return ("" if readable else "sudo ") + f"tail -n 20 {shlex.quote(path)}"


def upstream_facts(fe: FrontEnd, table: list[Listen], unix_listening: set[str],
                   exists: set[str], root: bool = False) -> list[Fact]:
    """Pure: one fact per upstream, judged against the socket tables."""
    from assistant.facts.nginxconf import reload_command

    reload = reload_command(fe.prefix, fe.conf, root)
    out: list[Fact] = []
    for u in fe.upstreams[:MAX_UPSTREAMS]:
        fact: Fact = {"type": "upstream", "front": "nginx", "conf": fe.conf,
                      "directive": u.directive, "reload_command": reload}
        if fe.error_log:
            fact["error_log"] = fe.error_log
            fact["log_command"] = _log_command(fe.error_log)
        if u.path is not None:
            listening = u.path in unix_listening
            fact.update({"path": u.path, "upstream": f"unix:{u.path}", "local": True,
                         "exists": u.path in exists, "listening": listening})
            folder = os.path.dirname(u.path)
            beside = sorted(p for p in unix_listening if os.path.dirname(p) == folder)
            if not listening and beside:
                fact["beside"] = beside[0]
        elif u.host is not None and u.port is not None:
            local = u.host.lower() in _LOCAL_NAMES or is_loopback(u.host)
            fact.update({"address": u.host, "port": u.port, "local": local,
                         "upstream": hostport(u.host, u.port)})
            if local:
                on_port = [r for r in table if r.port == u.port]
                fact["listening"] = bool(on_port)
                fact["accepts"] = any(_takes(r, u.host) for r in on_port)
        else:
            continue
        out.append(fact)
    return out


def collect(ctx: Context) -> list[Fact]:
    port = ctx.target.port
    if port is None or port > 65535:
        return []
    from assistant.facts import nginxconf
    from assistant.facts.system import linux, unix
    from assistant.facts.system.socktable import source

    if not linux.available():
        return [{"type": "unknown", "reason": "a running nginx's files are read on Linux only"}]
    held, worker = _nginx_worker(ctx, port)
    if not held:
        return []
    fe = nginxconf.front_end(port, worker)
    if fe is None:
        return []
    rows = unix.table() or []
    paths = {u.path for u in fe.upstreams if u.path}
    facts = upstream_facts(fe, source(ctx).table(), {r.path for r in rows if r.listening},
                           {p for p in paths if os.path.exists(p)}, os.geteuid() == 0)
    _enrich(ctx, facts, rows, worker)
    return facts


def _enrich(ctx: Context, facts: list[Fact], rows: list[Any], worker: int | None) -> None:
    """The upstream's process (a stopped one makes nginx time out: 504) and,
    for a socket upstream, whether nginx's worker user may connect to it
    (a 0700 socket of root's: 502 with "13: Permission denied" in its log)."""
    from assistant.facts.system import linux, unix
    from assistant.facts.system.procfs import all_pids
    from assistant.facts.system.socktable import source

    src = source(ctx)
    who = unix.subject({}, "nginx", all_pids, worker)
    for f in facts:
        if not f.get("local") or not f.get("listening"):
            continue
        pid: int | None = None
        if f.get("path"):
            inode = next((r.inode for r in rows if r.listening and r.path == f["path"]), 0)
            pid = linux.pids_for_inodes([inode]).get(inode) if inode else None
            try:
                st = os.stat(f["path"])
            except OSError:
                st = None
            if st is not None and who is not None and who.source == "nginx":
                owner, group = unix.names(st.st_uid, st.st_gid)
                denied_dir = unix.dir_denied(f["path"], who)
                f.update(access="denied" if denied_dir else
                         unix.judge(st.st_mode, st.st_uid, st.st_gid, who).access,
                         worker_user=who.name, worker_group=unix.names(who.uid, who.gid)[1],
                         owner=owner, group=group, mode=f"{st.st_mode & 0o777:04o}")
                if denied_dir:
                    f["dir_denied"] = denied_dir
        else:
            port_rows = src.with_pids([r for r in src.table() if r.port == f.get("port")])
            pid = next((r.pid for r in port_rows if r.pid), None)
        info = src.describe(pid) if pid else {}
        if pid and info:
            f.update(pid=pid, process=info.get("process"), stopped=bool(info.get("stopped")))
            with contextlib.suppress(OSError):  # it exited meanwhile
                f["pgid"] = os.getpgid(pid)


def summarise(facts: list[Fact], target: Target) -> Summary:
    if not facts:
        return Summary("ok", f"no nginx configuration names an upstream for port {target.port}")
    down = [f for f in facts if f.get("local") and not f.get("listening")]
    text = "; ".join(UPSTREAM.describe(f) for f in facts[:3])
    return Summary("problem" if down else "ok", text)


COLLECTOR = Collector("upstreams", "Where the nginx on the target port sends requests (its "
                      "running configuration), and whether anything listens there.",
                      (UPSTREAM,), collect, summarise, timeout=3.0,
                      asks=lambda t: f"where does the server on {t.port} pass requests, and "
                      "does anything listen there?")
