"""The port's TCP sockets by state, and how full each listener's accept queue is.

Answers two questions the listener table cannot: "address already in use,
but nothing listens" (sockets left in TIME_WAIT or another state by a
previous run still hold the local port) and "it listens, but connections
hang" (the accept queue is full: the process is alive and never calls
accept()). On Linux from sock_diag netlink (or /proc/net/tcp); elsewhere
psutil gives the states, not the queues.

A queue that still holds connections a moment later is one nobody empties:
the process behind it is stopped or stuck, which every user can see here
(sock_diag shows every listener's queue) even when the process is hidden.
Each queue is its own socket: two SO_REUSEPORT listeners on one address have
one queue each, and each queue names the process that holds its socket.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from assistant.facts.base import Collector, Context, Fact, FactType, Field, Summary
from assistant.facts.listeners import PROCESS_FIELDS, holder, owned
from assistant.understand.addresses import hostport

if TYPE_CHECKING:
    from assistant.facts.system.linux import DiagRow
    from assistant.understand.symptoms import Target

# Counted states, as `ss` names them; field names use underscores.
STATES = ("established", "syn-sent", "syn-recv", "fin-wait-1", "fin-wait-2", "time-wait",
          "close-wait", "last-ack", "closing")

SOCKET_STATES = FactType("socket_states", "The port's TCP sockets counted by state (both ends).", {
    "port": Field("int", "the port"),
    **{s.replace("-", "_"): Field("int", f"sockets in {s.upper().replace('-', '_')} on the port")
       for s in STATES},
    "local": Field("int", "non-listening sockets whose local port is the port: each keeps "
                   "a bind without SO_REUSEADDR from succeeding"),
    "local_time_wait": Field("int", "of those, the ones in TIME_WAIT (left by a previous run)"),
    "bound": Field("int", "sockets bound to the port but neither listening nor connected "
                   "(a process called bind() and not listen(); Linux 6.7+ shows them)"),
}, lambda f: f"port {f.get('port')}: " + (", ".join(
    [f"{f[s.replace('-', '_')]} {s.upper().replace('-', '_')}" for s in STATES
     if f.get(s.replace("-", "_"))] + ([f"{f['bound']} bound without listening"]
                                        if f.get("bound") else []))
    or "no sockets besides listeners"))

BOUND_SOCKET = FactType("bound_socket", "A socket bound to the port without listening: it "
                        "holds the port, yet no listener table shows it.", {
    "address": Field("str", "the bound address"),
    "port": Field("int", "the port"),
    "family": Field("int", "4 or 6", (4, 6)),
    **PROCESS_FIELDS,
}, lambda f: f"socket bound to {hostport(f.get('address'), f.get('port'))} without listening"
             + (f", pid {f['pid']} ({f.get('process')})" if f.get("pid") else ""))

ACCEPT_QUEUE = FactType("accept_queue", "A listening socket's accept queue (Linux), with the "
                        "process that holds the socket when visible.", {
    "address": Field("str", "the bound address"),
    "port": Field("int", "the port"),
    "family": Field("int", "4 or 6", (4, 6)),
    "queued": Field("int", "connections completed and waiting for accept()"),
    "backlog": Field("int", "the queue's size (listen()'s backlog, capped by somaxconn)"),
    "full": Field("bool", "the queue is full: new connections wait or time out"),
    "unanswered": Field("bool", "connections were still waiting when the queue was read again "
                        f"{0.3:g} s later: nothing accepts them (the process is stopped or "
                        "stuck), whoever may see the process"),
    "inode": Field("int", "the listening socket's inode: one queue per socket, so two "
                   "SO_REUSEPORT listeners on one address are told apart"),
    "sockets": Field("int", "how many sockets listen on this address and port (more than one: "
                     "SO_REUSEPORT, the kernel spreads new connections over them)"),
    **PROCESS_FIELDS,
    "status": Field("str", "the holding process's state", example="stopped"),
    "stopped": Field("bool", "the holding process is stopped, traced, zombie or dead"),
}, lambda f: f"accept queue {hostport(f.get('address'), f.get('port'))}: "
             f"{f.get('queued')}/{f.get('backlog')}" + (" (full)" if f.get("full") else "")
             + (", unanswered" if f.get("unanswered") else ""))

# How long to wait before reading a non-empty queue again: a process that
# accepts at all empties it within milliseconds.
SETTLE = 0.3


def state_facts(rows: Iterable[DiagRow], port: int,
                later: Mapping[int, int] | None = None) -> list[Fact]:
    """Pure: the socket_states fact and one accept_queue fact per listening socket.

    `later`: inode -> queued, read again SETTLE seconds after `rows` (None:
    not read again, as when every queue was empty).
    """
    counts: Counter[str] = Counter()
    local = local_tw = bound = 0
    queues: list[Fact] = []
    rows = list(rows)
    per_address = Counter(r.local for r in rows if r.state == "listen" and r.sport == port)
    for r in rows:
        if r.state == "bound":
            bound += r.sport == port
            local += r.sport == port
            continue
        if r.state == "listen":
            if r.sport == port:
                again = (later or {}).get(r.inode, 0)
                queues.append({"type": "accept_queue", "address": r.local, "port": port,
                               "family": r.family, "queued": r.rqueue, "backlog": r.wqueue,
                               "full": r.wqueue > 0 and r.rqueue >= r.wqueue,
                               "unanswered": r.rqueue > 0 and again > 0,
                               "inode": r.inode or None, "sockets": per_address[r.local]})
            continue
        counts[r.state] += 1
        if r.sport == port:
            local += 1
            local_tw += r.state == "time-wait"
    fact: Fact = {"type": "socket_states", "port": port, "local": local,
                  "local_time_wait": local_tw, "bound": bound}
    fact.update({s.replace("-", "_"): counts.get(s, 0) for s in STATES})
    return [fact, *queues]


def _psutil_rows(port: int) -> list[DiagRow]:
    """States (not queues) from psutil, where the kernel's tables are not readable."""
    import psutil

    from assistant.facts.system.linux import DiagRow

    rows = []
    for c in psutil.net_connections(kind="tcp"):
        lport = c.laddr.port if c.laddr else 0
        rport = c.raddr.port if c.raddr else 0
        if port not in (lport, rport):
            continue
        state = str(c.status).lower().replace("_", "-").replace("fin-wait1", "fin-wait-1") \
            .replace("fin-wait2", "fin-wait-2")
        rows.append(DiagRow(6 if ":" in (c.laddr.ip if c.laddr else "") else 4, state,
                            c.laddr.ip if c.laddr else "", lport,
                            c.raddr.ip if c.raddr else "", rport, 0, 0, -1, 0))
    return rows


def collect(ctx: Context) -> list[Fact]:
    port = ctx.target.port
    if port is None:
        return []
    from assistant.facts.system import linux

    if linux.available():
        from assistant.facts import own

        mine = own.ports()
        # The probe's and the exchange's own connections (both their ends).
        rows = [r for r in linux.sockets_on_port(port)
                if not (r.state not in ("listen", "bound")
                        and ((r.sport == port and r.dport in mine)
                             or (r.dport == port and r.sport in mine)))]
        listening = [r for r in rows if r.state == "listen" and r.sport == port]
        later = None
        if any(r.rqueue > 0 for r in listening):
            # Read the queues again a moment later: connections still there
            # are ones nobody accepts (a stopped or stuck process).
            time.sleep(SETTLE)
            later = linux.listen_queues(port)
        bound = [r for r in rows if r.state == "bound" and r.sport == port]
        pids = linux.pids_for_inodes(r.inode for r in bound + listening)
        holders = [owned({"type": "bound_socket", "address": r.local, "port": port,
                          "family": r.family, **{k: v for k, v in linux.describe(
                              pids.get(r.inode)).items() if k in PROCESS_FIELDS}}, r.uid)
                   for r in bound]
        facts = state_facts(rows, port, later)
        uids = {r.inode: r.uid for r in listening}
        for f in facts:
            if f["type"] == "accept_queue" and f.get("inode"):
                info = linux.describe(pids.get(f["inode"]))
                f.update({k: v for k, v in info.items()
                          if k in PROCESS_FIELDS or k in ("status", "stopped")})
                if "pid" not in info:
                    f.pop("stopped", None)  # not known: hidden is not "running"
                owned(f, uids.get(f["inode"]))
        return facts + holders
    facts = state_facts(_psutil_rows(port), port)
    return [f for f in facts if f["type"] != "accept_queue"]


def summarise(facts: list[Fact], target: Target) -> Summary:
    states = next((f for f in facts if f["type"] == "socket_states"), None)
    queues = [f for f in facts if f["type"] == "accept_queue"]
    parts = [SOCKET_STATES.describe(states)] if states else []
    parts += [ACCEPT_QUEUE.describe(q) + (f" ({holder(q)})" if len(queues) > 1 else "")
              for q in queues]
    parts += [BOUND_SOCKET.describe(b) for b in facts if b["type"] == "bound_socket"]
    full = any(q.get("full") or q.get("unanswered") for q in queues)
    # Sockets on the port itself (TIME_WAIT from earlier connections, a
    # previous run's probes among them) only matter to a server that could
    # not bind it; a client's connections leave them all the time.
    held = bool(states and states.get("local")) and target.role == "server"
    return Summary("warning" if full or held else "ok", "; ".join(parts) or "no sockets")


COLLECTOR = Collector("socket_states", "The port's sockets by TCP state, listeners' accept "
                      "queues, and sockets bound without listening.",
                      (SOCKET_STATES, ACCEPT_QUEUE, BOUND_SOCKET), collect, summarise, timeout=3.0,
                      asks=lambda t: f"what else is going on on port {t.port}?")
