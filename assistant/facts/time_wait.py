"""TIME_WAIT across the machine: is any destination near running out of
client ports?

Each connection this machine closes first keeps its 4-tuple in TIME_WAIT
for a minute. New connections to the same address and port then need a
client port no TIME_WAIT socket holds; when those run short, connect()
fails with EADDRNOTAVAIL ("Cannot assign requested address"). A test suite
or a script hammering one local service is the usual way there.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING

from assistant.facts.base import Collector, Context, Fact, FactType, Field, Summary
from assistant.facts.system.procfs import read_text
from assistant.understand.addresses import hostport, is_loopback

if TYPE_CHECKING:
    from assistant.facts.system.linux import DiagRow
    from assistant.understand.symptoms import Target

TIME_WAIT_STATE = 6  # the kernel's number for TIME_WAIT (TCP_STATES)

TIME_WAIT = FactType("time_wait", "TCP sockets in TIME_WAIT on this machine, and the "
                     "destination holding most of the client ports.", {
    "total": Field("int", "sockets in TIME_WAIT"),
    "client": Field("int", "of those, the ones whose local port is an ephemeral (client) port"),
    "destination": Field("str", "the address and port most of those connected to",
                         example="127.0.0.1:5432"),
    "destination_count": Field("int", "how many client ports that destination holds"),
    "ephemeral_size": Field("int", "how many client ports there are", example=28232),
    "share": Field("int", "that destination's client ports as a percentage of all of them: "
                   "new connections to it fail near 100", example=12),
    "tw_reuse": Field("int", "net.ipv4.tcp_tw_reuse: 1 reuses TIME_WAIT ports for new "
                      "outgoing connections, 2 for loopback ones only, 0 never", (0, 1, 2)),
    "reused": Field("bool", "the kernel lets new connections to that destination take ports "
                    "still in TIME_WAIT (tcp_tw_reuse), so they do not run out"),
}, lambda f: f"{f.get('total')} in TIME_WAIT"
             + (f", {f.get('destination_count')} to {f.get('destination')} ({f.get('share')}% "
                "of the client ports)" if f.get("destination") else ""))


def time_wait_fact(rows: Iterable[DiagRow], eph: tuple[int, int], tw_reuse: int | None = None
                   ) -> Fact:
    """Pure: the time_wait fact from TIME_WAIT rows, the ephemeral range and
    net.ipv4.tcp_tw_reuse (None: not Linux)."""
    total = 0
    per: Counter[tuple[str, int]] = Counter()
    for r in rows:
        total += 1
        if eph[0] <= r.sport <= eph[1]:
            per[(r.remote, r.dport)] += 1
    size = eph[1] - eph[0] + 1
    fact: Fact = {"type": "time_wait", "total": total, "client": sum(per.values()),
                  "ephemeral_size": size, "share": 0, "tw_reuse": tw_reuse}
    if per:
        (addr, port), count = per.most_common(1)[0]
        fact.update(destination=hostport(addr, port), destination_count=count,
                    share=count * 100 // size,
                    reused=tw_reuse == 1 or (tw_reuse == 2 and is_loopback(addr)))
    return fact


def tw_reuse() -> int | None:
    text = read_text("/proc/sys/net/ipv4/tcp_tw_reuse")
    try:
        value = int((text or "").strip())
    except ValueError:
        return None
    return value if value in (0, 1, 2) else None


def _psutil_rows() -> list[DiagRow]:
    import psutil

    from assistant.facts.system.linux import DiagRow

    return [DiagRow(6 if ":" in c.laddr.ip else 4, "time-wait", c.laddr.ip, c.laddr.port,
                    c.raddr.ip, c.raddr.port, 0, 0, -1, 0)
            for c in psutil.net_connections(kind="tcp")
            if c.status == psutil.CONN_TIME_WAIT and c.laddr and c.raddr]


def collect(ctx: Context) -> list[Fact]:
    from assistant.facts.ports import ephemeral_range
    from assistant.facts.system import linux

    rows = linux.sockets_in(1 << TIME_WAIT_STATE) if linux.available() else _psutil_rows()
    return [time_wait_fact(rows, ephemeral_range(), tw_reuse())]


def summarise(facts: list[Fact], target: Target) -> Summary:
    f = facts[0] if facts else {}
    short = f.get("share", 0) >= 50 and not f.get("reused")
    return Summary("warning" if short else "ok", TIME_WAIT.describe(f))


COLLECTOR = Collector("time_wait", "Sockets in TIME_WAIT, and the destination holding most "
                      "client ports.", (TIME_WAIT,), collect, summarise, timeout=3.0,
                      asks=lambda t: "are closed connections piling up in TIME_WAIT?")
