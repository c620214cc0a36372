"""Listeners on ports a slip away from the asked one (a digit off, two
digits swapped, a few apart), held by a process told to use the port, or
(for a database or SSH client) servers of the client's own protocol on
another port.

Each says what its program speaks (by process name, or the account owning
the socket when the process is hidden), whether its bound address takes
what the client dials, and whether the client's own configuration names it
as another destination (nginx: another vhost's upstream). A neighbour that
speaks another protocol, that the client could not reach anyway, or that is
there on purpose is no slip: rules leave it out, and the best come first.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, NamedTuple

from assistant.facts.base import Collector, Context, Fact, FactType, Field, Summary
from assistant.facts.listeners import (
    PROCESS_FIELDS,
    RELATIONS,
    Describe,
    holder,
    owned,
    process_words,
    relation,
)
from assistant.facts.system.socktable import Listen, bindv6only, dial_addresses, source
from assistant.understand.addresses import hostport

if TYPE_CHECKING:
    from assistant.understand.symptoms import Target

# What a program speaks, for the ranking: the protocol check's table of
# servers, and web servers by name or by a word of their command line.
SPEAKS = ("http", "postgres", "mysql", "redis", "ssh", "mongodb")
_WEB_PROCESSES = ("nginx", "caddy", "httpd", "apache2", "lighttpd", "uvicorn", "gunicorn",
                  "hypercorn", "daphne", "php-fpm")
_WEB_WORDS = ("http.server", "uvicorn", "gunicorn", "runserver", "flask", "php -S", "vite",
              "next dev", "next start", "webpack", "http-server", "live-server")

NEAR_LISTENER = FactType("near_listener", "A listener on a port near the asked one.", {
    "address": Field("str", "the bound address"),
    "port": Field("int", "the near port", example=3001),
    "family": Field("int", "4 or 6", (4, 6)),
    **PROCESS_FIELDS,
    "relation": Field("str", "how the port is near the asked one (same-service: a server of "
                      "the client's own protocol, on any port)",
                      ("digit", "swap", "offset", "same-process", "same-service")),
    "distance": Field("int", "how far: 1 for a digit or a swap, else the difference"),
    "speaks": Field("str", "what its program speaks, by its process name or (hidden) the "
                    "account owning the socket; unknown when neither tells",
                    (*SPEAKS, "unknown"), example="postgres"),
    "mismatch": Field("bool", "it speaks a known protocol other than the client's: not the "
                      "server the client wanted"),
    "dialled": Field("str", "how its bound address relates to the addresses the client dials "
                     "(other-family, other-address: the client could not reach it there either)",
                     (*RELATIONS, "unknown")),
    "likely": Field("bool", "a slip people make: two digits swapped, a digit added or "
                    "dropped, a neighbouring digit, the next port or the one after (a dev "
                    "server that moved up), a port of the common web set for another, a "
                    "process told to use the asked port, or the client's own protocol for a "
                    "database or SSH (not HTTP: every web server speaks it). Another "
                    "program a few ports away, a far digit, or a port a server in the paste "
                    "says it listens on (the app's own port in its log), is only possible"),
    "configured": Field("bool", "the failing client's own configuration sends requests to this "
                        "port too (nginx: another proxy_pass or upstream server): there on "
                        "purpose, not a slip"),
}, lambda f: f"listener on near port {hostport(f.get('address'), f.get('port'))}"
             f"{process_words(f)} ({f.get('relation')})")


def speaks_of(info: Fact) -> str:
    """Pure: what a listener's program speaks, from describe() and its owner."""
    from assistant.facts.speaks import SERVER_PROCESSES, SERVER_USERS

    name = str(info.get("process") or "")
    if name:
        found = next((p for p, names in SERVER_PROCESSES.items() if name in names), None)
        if found is not None:
            return found
        cmd = str(info.get("cmdline") or "")
        if name in _WEB_PROCESSES or any(w in cmd for w in _WEB_WORDS):
            return "http"
        return "unknown"
    return SERVER_USERS.get(str(info.get("user") or ""), "unknown")


def near_relation(asked: int, other: int) -> tuple[str, int] | None:
    """Whether `other` is a plausible slip for `asked`: digit, swap, offset."""
    a, b = str(asked), str(other)
    if a == b:
        return None
    if len(a) == len(b):
        diffs = [i for i in range(len(a)) if a[i] != b[i]]
        if len(diffs) == 1:
            return ("digit", 1)
        if len(diffs) == 2 and diffs[1] == diffs[0] + 1 and a[diffs[0]] == b[diffs[1]] \
                and a[diffs[1]] == b[diffs[0]]:
            return ("swap", 1)
    elif abs(len(a) - len(b)) == 1:
        longer, shorter = (a, b) if len(a) > len(b) else (b, a)
        if any(longer[:i] + longer[i + 1:] == shorter for i in range(len(longer))):
            return ("digit", 1)
    if abs(asked - other) <= 10:
        return ("offset", abs(asked - other))
    return None


# Ports developers mix up by habit rather than by a slip of the finger.
WEB_PORTS = frozenset((80, 443, 3000, 3001, 4200, 5000, 5001, 5173, 8000, 8008, 8080, 8081,
                       8443, 8888, 9000))


def likely(asked: int, other: int, rel: tuple[str, int], same_protocol: bool) -> bool:
    """Pure: whether a near port is a slip people make (see the field's doc)."""
    kind, distance = rel
    if same_protocol or kind in ("swap", "same-process", "same-service"):
        return True
    if asked in WEB_PORTS and other in WEB_PORTS:
        return True
    if kind == "digit":
        a, b = str(asked), str(other)
        if len(a) != len(b):
            return True
        i = next(i for i in range(len(a)) if a[i] != b[i])
        return abs(int(a[i]) - int(b[i])) == 1
    return distance <= 2


class Client(NamedTuple):
    """What the ranking knows of the failing client."""

    speaks: str = "unknown"           # protocol.client_protocol's answer
    dials: tuple[str, ...] = ()       # the addresses it dials
    configured: frozenset[int] = frozenset()  # ports its own configuration names
    v6only: bool = False
    announced: frozenset[int] = frozenset()  # ports a server in the paste says it listens on


def near_from(table: Iterable[Listen], port: int, describe: Describe,
              mentioning: set[int] | None = None, client: Client | None = None) -> list[Fact]:
    """Pure: near-miss listener facts for `port`, the likeliest first.

    `mentioning`: pids of processes whose command line names the asked port
    (told to use it, listening elsewhere: relation `same-process`).
    """
    client = client or Client()
    # An https client wants a web server too: which one has TLS is not known here.
    wanted = "http" if client.speaks == "tls" else client.speaks
    facts: list[Fact] = []
    seen: set[tuple[int, int | None]] = set()
    for row in table:
        if row.port == port or (row.port, row.pid) in seen:
            continue
        info = describe(row.pid)
        owned_info = owned(dict(info), row.uid)
        speaks = speaks_of(owned_info)
        rel = near_relation(port, row.port)
        if rel is None and row.pid and row.pid in (mentioning or set()):
            rel = ("same-process", abs(port - row.port))
        if rel is None and speaks == wanted and speaks in SAME_SERVICE:
            rel = ("same-service", abs(port - row.port))
        if rel is None:
            continue
        if wanted in SAME_SERVICE and speaks not in ("unknown", wanted):
            continue  # an HTTP server is no slip for ssh or psql (field trial 11)
        seen.add((row.port, row.pid))
        fact: Fact = {"type": "near_listener", "address": row.address, "port": row.port,
                      "family": row.family, "relation": rel[0], "distance": rel[1],
                      "speaks": speaks,
                      "mismatch": wanted != "unknown" and speaks != "unknown" and speaks != wanted,
                      "dialled": relation(row.address, row.family, client.dials, client.v6only),
                      # Speaking the client's protocol makes a near port likely
                      # for a database or SSH; every web server speaks HTTP
                      # (field trial 9: an unrelated nginx 8 ports away).
                      "likely": likely(port, row.port, rel,
                                       speaks == wanted and wanted in SAME_SERVICE)
                      and row.port not in client.announced,
                      "configured": row.port in client.configured}
        fact.update({k: v for k, v in info.items() if k in PROCESS_FIELDS})
        facts.append(owned(fact, row.uid))
    facts.sort(key=lambda f: rank(f, port))
    return facts[:10]


# Protocols whose servers are found on any port (a database or SSH client
# aimed at the default port while its server runs on another).
SAME_SERVICE = ("postgres", "mysql", "redis", "ssh", "mongodb")


def rank(f: Fact, asked: int) -> tuple[int, int, int, int, int, int, int]:
    """Likeliest first: the client's protocol, reachable, not there on purpose, nearest.

    Among equal slips the numerically nearer port wins: 42023 before 2024 for
    42024 (a CI machine's unrelated listener on 2024 was named first).
    """
    return (bool(f["mismatch"]), f["dialled"] in ("other-family", "other-address"),
            bool(f["configured"]), f["relation"] == "same-service",
            f["speaks"] == "unknown", f["distance"], abs(f["port"] - asked))


def collect(ctx: Context) -> list[Fact]:
    port = ctx.target.port
    if port is None:
        return []
    from assistant.facts.speaks import client_protocol

    src = source(ctx)
    speaks = client_protocol(ctx.target)
    table = src.table()
    near = src.with_pids([r for r in table if r.port != port and near_relation(port, r.port)])
    mentioned = src.mentioning(port)
    others = near + mentioned
    if speaks in SAME_SERVICE:
        # Every other listener may be the client's server on another port:
        # its pid is looked up (bounded by the table, done once per question).
        known = {r.inode for r in others if r.inode}
        others += src.with_pids([r for r in table if r.port != port and r not in others
                                 and not (r.inode and r.inode in known)])
    configured: frozenset[int] = frozenset()
    if ctx.target.client == "nginx":
        from assistant.facts.nginxconf import running

        nginx = running(ctx.target.client_pid)
        configured = frozenset(nginx.sends_to - {port})
        # nginx's own ports are where the request came in, never a slip for
        # its upstream (field trial 5: 7190 offered for an upstream on 7191).
        own = nginx.listens - {port}
        others = [r for r in others if r.port not in own]
    client = Client(speaks, tuple(dial_addresses(ctx)), configured, bindv6only(),
                    frozenset(ctx.target.announced))
    return near_from(others, port, src.describe, {r.pid for r in mentioned if r.pid}, client)


def summarise(facts: list[Fact], target: Target) -> Summary:
    if not facts:
        return Summary("ok", f"no listener on a port near {target.port}")
    parts = [f"{f['port']} ({f['relation']}, {holder(f)})" for f in facts[:3]]
    return Summary("warning", "near ports with listeners: " + "; ".join(parts))


COLLECTOR = Collector("near_listeners", "Listeners on near-miss ports of the asked one.",
                      (NEAR_LISTENER,), collect, summarise, timeout=3.0,
                      asks=lambda t: f"is something listening on a port close to {t.port}?")
