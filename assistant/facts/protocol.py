"""What the port speaks, learnt from one bounded exchange on a local address.

Gathered only when the failure is above TCP (the connect works but the
client failed, or its words say TLS, an empty reply, a foreign greeting).
Etiquette: one TCP connection to an address of this machine; read a
greeting first (SSH, MySQL/MariaDB, mail and FTP servers speak first); if
none comes within a short bound, send exactly one payload chosen by what
the client expected (a TLS ClientHello when it spoke plain HTTP, a minimal
HTTP request otherwise), read the answer, close. When the answer cannot
tell (a close without a byte, silence), the listener's process name can:
postgres and redis close on or ignore what is not theirs.
"""

from __future__ import annotations

import socket
import time
from typing import TYPE_CHECKING, Any, NamedTuple

from assistant.facts import own, wire
from assistant.facts.base import Collector, Context, Fact, FactType, Field, Summary
from assistant.facts.speaks import (
    CLIENT_NAMES,
    CLIENT_SPEAKS,
    SERVER_PROCESSES,
    SERVER_USERS,
    USUAL_PORTS,
    client_protocol,
)
from assistant.facts.system.socktable import dial_addresses, source
from assistant.understand.addresses import family_of, hostport, is_loopback, is_wildcard

if TYPE_CHECKING:
    from assistant.understand.symptoms import Target

SENT = ("nothing", "tls-hello", "http-request")

PROTOCOL = FactType("protocol", "What the port speaks, from one exchange on a local address.", {
    "address": Field("str", "the address talked to", example="127.0.0.1"),
    "port": Field("int", "the port"),
    "family": Field("int", "4 or 6"),
    "sent": Field("str", "what was sent after no greeting came (nothing: the port spoke first)",
                  SENT),
    "greeted": Field("bool", "the port spoke first (SSH, MySQL/MariaDB, mail, FTP)"),
    "speaks": Field("str", "what the port speaks", wire.SPEAKS),
    "protocol": Field("str", "what the port speaks, in words", example="PostgreSQL"),
    "by": Field("str", "how that is known: its answer, or (when the answer could not tell) "
                "its listener's process name, or the account owning the socket when the "
                "process is hidden", ("exchange", "process", "owner")),
    "detail": Field("str", "what the port said (status line, banner, version, TLS record)",
                    example="HTTP/1.0 200 OK (server: SimpleHTTP/0.6 Python/3.11.7)"),
    "status": Field("int", "the HTTP status code, when it answered HTTP", example=400),
    "process": Field("str", "the listening process, when visible", example="postgres"),
    "owner": Field("str", "the account owning the listening socket, when its process is hidden",
                   example="postgres"),
    "held_by": Field("str", "who listens, in words: the process, or a process of the socket's "
                     "owner", example="a process of user postgres"),
    "client_speaks": Field("str", "what the client spoke, from its scheme, name and words",
                           CLIENT_SPEAKS),
    "client_protocol": Field("str", "what the client spoke, in words", example="TLS (https)"),
    "usual_port": Field("int", "the usual port of what the client spoke", example=5432),
    "mismatch": Field("bool", "the port speaks a known protocol other than the client's"),
    "wanted_port": Field("int", "a port on this machine where a server of the client's "
                         "protocol listens (by process name)", example=5432),
    "wanted_process": Field("str", "that server's process (or its account, when hidden)",
                            example="postgres"),
    "ms": Field("int", "how long the exchange took"),
}, lambda f: f"{hostport(f.get('address'), f.get('port'))} speaks {f.get('speaks')}"
             f" ({f.get('detail') or 'no detail'})")


class Exchanged(NamedTuple):
    sent: str
    data: bytes
    greeted: bool
    ended: str  # eof | reset | limit | bound | done
    ms: int


def is_mismatch(client: str, speaks: str) -> bool:
    return client != "unknown" and speaks in wire.KNOWN and speaks != client


def exchange(address: str, port: int, payload: bytes | None, greeting_wait: float,
             reply_wait: float, connect_timeout: float) -> Exchanged:
    """One connection: wait for a greeting, else send `payload` once, read
    until the answer can be classified, close. Raises OSError when the
    connect fails."""
    start = time.perf_counter()
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.settimeout(connect_timeout)
        sock.connect((address, port))
        own.mark(sock)
        data, ended = _read(sock, b"", time.perf_counter() + greeting_wait, True)
        greeted = bool(data)
        sent = "nothing"
        if not greeted and ended == "bound" and payload is not None:
            try:
                sock.sendall(payload)
                sent = "tls-hello" if payload[:1] == b"\x16" else "http-request"
            except OSError:
                ended = "reset"
            else:
                data, ended = _read(sock, b"", time.perf_counter() + reply_wait, False)
        elif greeted and ended == "bound":
            ended = "done"
    return Exchanged(sent, data, greeted, ended, int((time.perf_counter() - start) * 1000))


def _read(sock: socket.socket, data: bytes, deadline: float, greeting: bool) -> tuple[bytes, str]:
    """Read until the bytes classify, the peer closes, the limit or the deadline."""
    while len(data) < wire.LIMIT:
        left = deadline - time.perf_counter()
        if left <= 0:
            return data, "bound"
        sock.settimeout(left)
        try:
            chunk = sock.recv(wire.LIMIT - len(data))
        except TimeoutError:
            return data, "bound"
        except OSError:
            return data, "reset"
        if not chunk:
            return data, "eof"
        data += chunk
        if wire.classify(data, greeting, final=False) is not None:
            return data, "done"
    return data, "limit"


def verdict_of(ex: Exchanged) -> wire.Verdict:
    """Pure: what the exchange says the port speaks."""
    if ex.data:
        found = wire.classify(ex.data, ex.greeted, final=True)
        if found is not None:
            return found
    if ex.ended in ("eof", "reset"):
        return wire.Verdict("closed", ("it reset the connection" if ex.ended == "reset"
                                       else "it closed the connection") + " without a byte")
    return wire.Verdict("silent", "not a byte within the bound")


_SENT_WORDS = {"tls-hello": "TLS ClientHello", "http-request": "HTTP request", "nothing": ""}


def protocol_fact(ex: Exchanged, address: str, port: int, client: str,
                  holder: Holder) -> Fact:
    """Pure: the fact for one exchange, who listens, and what the client spoke."""
    verdict = verdict_of(ex)
    speaks, by = verdict.speaks, "exchange"
    known = holder.speaks()
    if speaks in ("unknown", "closed", "silent") and known is not None:
        speaks, by = known, "process" if holder.process else "owner"
    fact: Fact = {"type": "protocol", "address": address, "port": port,
                  "family": family_of(address), "sent": ex.sent, "greeted": ex.greeted,
                  "speaks": speaks, "protocol": wire.NAMES[speaks], "by": by,
                  "detail": verdict.detail, "status": verdict.status, "process": holder.process,
                  "owner": holder.owner, "held_by": holder.words(), "client_speaks": client,
                  "client_protocol": CLIENT_NAMES[client], "usual_port": USUAL_PORTS.get(client),
                  "mismatch": is_mismatch(client, speaks), "ms": ex.ms}
    return fact


def _is_local(address: str) -> bool:
    if is_loopback(address) or is_wildcard(address):
        return True
    from assistant.facts.system.resolver import local_addresses

    return address.split("%", 1)[0] in local_addresses()


class Holder(NamedTuple):
    """Who holds a listening socket: its process when visible, else the
    socket's owner (the kernel's table shows every socket's uid)."""

    process: str | None
    owner: str | None

    def speaks(self) -> str | None:
        """The protocol its program speaks, by process name or owner account."""
        if self.process:
            return next((p for p, names in SERVER_PROCESSES.items() if self.process in names),
                        None)
        return SERVER_USERS.get(self.owner or "")

    def words(self) -> str | None:
        if self.process:
            return self.process
        return f"a process of user {self.owner}" if self.owner else None


def _holder(src: Any, row: Any) -> Holder:
    process = src.describe(row.pid).get("process") if row.pid else None
    owner = None
    if process is None and row.uid is not None:
        import pwd

        try:
            owner = pwd.getpwuid(row.uid).pw_name
        except KeyError:
            owner = None
    return Holder(process, owner)


def _holders(ctx: Context, port: int, address: str,
             client: str) -> tuple[Holder, tuple[int, str] | None]:
    """Who listens on `port` (the row bound to `address` first), and for the
    client's protocol, another port where its server listens."""
    src = source(ctx)
    rows = src.table()
    here = sorted(src.with_pids([r for r in rows if r.port == port]),
                  key=lambda r: r.address != address)
    holder = _holder(src, here[0]) if here else Holder(None, None)
    wanted = None
    if client in SERVER_PROCESSES:
        # The usual port first, then the lowest.
        usual = USUAL_PORTS.get(client)
        for r in sorted(src.with_pids([r for r in rows if r.port != port]),
                        key=lambda r: (r.port != usual, r.port)):
            other = _holder(src, r)
            if other.speaks() == client:
                wanted = (r.port, other.words() or "")
                break
    return holder, wanted


def greeting_wait(ctx: Context) -> float:
    """Servers that speak first do so at once; a loaded machine gets a margin."""
    return min(1.0, max(0.3, ctx.probe_timeout / 3))


def collect(ctx: Context) -> list[Fact]:
    port = ctx.target.port
    if port is None or port > 65535:
        return []
    client = client_protocol(ctx.target)
    payload: bytes | None = None
    last = "no address to talk to"
    # At most two connects (a name's two families), so the bound holds.
    for address in dial_addresses(ctx)[:2]:
        if not _is_local(address):
            last = f"{address} is not an address of this machine: not contacted"
            continue
        if payload is None:
            name = ctx.target.host if ctx.target.parsed and ctx.target.parsed.kind == "name" \
                else None
            payload = wire.client_hello(name) if client == "http" else wire.HTTP_REQUEST
        try:
            ex = exchange(address, port, payload, greeting_wait(ctx), ctx.probe_timeout,
                          ctx.probe_timeout)
        except OSError as exc:
            last = f"connecting to {hostport(address, port)} failed: {exc.strerror or exc}"
            continue
        holder, wanted = _holders(ctx, port, address, client)
        fact = protocol_fact(ex, address, port, client, holder)
        if wanted is not None:
            fact.update(wanted_port=wanted[0], wanted_process=wanted[1])
        return [fact]  # one exchange, on the first address that accepts
    return [{"type": "unknown", "reason": last}]


def summarise(facts: list[Fact], target: Target) -> Summary:
    if not facts:
        return Summary("unknown", "no port to talk to")
    f = facts[0]
    where = hostport(f["address"], f["port"])
    said = (f"its greeting: {f.get('detail')}" if f.get("greeted") else
            f"to our {_SENT_WORDS[f['sent']]}: {f.get('detail')}" if f["sent"] != "nothing" else
            str(f.get("detail")))
    if f["speaks"] in ("closed", "silent", "unknown"):
        return Summary("ok", f"{where} told nothing about its protocol ({said})")
    how = {"process": f", by its process {f.get('process')}",
           "owner": f", by its socket's owner {f.get('owner')}"}.get(f.get("by", ""), "")
    line = f"{where} speaks {f['protocol']}{how} ({said})"
    if f.get("mismatch"):
        return Summary("problem", f"{line}; the client spoke {f['client_protocol']}")
    return Summary("ok", line)


COLLECTOR = Collector("protocol", "What the port speaks: one bounded exchange on a local address "
                      "(a greeting read, or one TLS ClientHello or minimal HTTP request).",
                      (PROTOCOL,), collect, summarise, timeout=5.0,
                      # up to two connects, the greeting wait and the answer's bound
                      timeout_for=lambda ctx: ctx.probe_timeout * 3 + greeting_wait(ctx) + 1.0,
                      asks=lambda t: f"what does port {t.port} speak?")
