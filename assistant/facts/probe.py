"""A TCP connect probe to each address the target resolves to.

Etiquette: connect only (no bytes sent), bounded timeout, and only to
addresses of this machine (loopback or a local interface); anything else is
reported as skipped, never dialled.
"""

from __future__ import annotations

import errno
import socket
import threading
import time
from typing import TYPE_CHECKING, Any

from assistant.facts import own
from assistant.facts.base import Collector, Context, Fact, FactType, Field, Summary
from assistant.facts.system.resolver import local_addresses
from assistant.facts.system.socktable import dial_addresses
from assistant.understand.addresses import family_of, hostport, is_loopback, is_wildcard

if TYPE_CHECKING:
    from assistant.understand.symptoms import Target

RESULTS = ("ok", "refused", "reset", "timeout", "unreachable", "error", "skipped")

PROBE = FactType("probe", "One TCP connect to an address the client would dial.", {
    "address": Field("str", "the dialled address", example="127.0.0.1"),
    "family": Field("int", "4 or 6", (4, 6)),
    "port": Field("int", "the port"),
    "result": Field("str", "how the connect ended", RESULTS),
    "ms": Field("int", "how long it took"),
    "error": Field("str", "the system's words for the failure"),
    "loopback": Field("bool", "the address is a loopback address"),
    "no_local_port": Field("bool", "the connect to an IPv4 loopback address failed with "
                           "EADDRNOTAVAIL: no free local (ephemeral) port for it"),
}, lambda f: f"connect {hostport(f.get('address'), f.get('port'))}: {f.get('result')} "
             f"in {f.get('ms', 0)} ms")


def connect(address: str, port: int, timeout: float) -> tuple[str, int, str | None, int | None]:
    """(result, elapsed ms, error, errno) for one TCP connect."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    start = time.perf_counter()
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    number: int | None = None
    try:
        sock.connect((address, port))
        own.mark(sock)
        result, err = "ok", None
    except ConnectionRefusedError as exc:
        result, err = "refused", exc.strerror
    except ConnectionResetError as exc:
        result, err = "reset", exc.strerror
    except TimeoutError:
        result, err = "timeout", f"no answer in {timeout:g} s"
    except OSError as exc:
        unreachable = {errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EADDRNOTAVAIL}
        result = "unreachable" if exc.errno in unreachable else "error"
        err, number = exc.strerror or str(exc), exc.errno
    finally:
        sock.close()
    return result, int((time.perf_counter() - start) * 1000), err, number


def collect(ctx: Context) -> list[Fact]:
    port = ctx.target.port
    if port is None:
        return []
    dials = dial_addresses(ctx)
    if not dials:
        return []
    local: set[str] | None = None
    facts: list[Fact] = []
    threads = []
    for address in dials:
        fact: Fact = {"type": "probe", "address": address, "family": family_of(address),
                      "port": port, "loopback": is_loopback(address)}
        facts.append(fact)
        if not (fact["loopback"] or is_wildcard(address)):
            local = local if local is not None else local_addresses()
            if address.split("%", 1)[0] not in local:
                fact.update(result="skipped", ms=0,
                            error="not an address of this machine: not probed")
                continue

        def work(f: dict[str, Any] = fact, a: str = address) -> None:
            f["result"], f["ms"], f["error"], number = connect(a, port, ctx.probe_timeout)
            if number == errno.EADDRNOTAVAIL and f["family"] == 4 and f["loopback"]:
                # 127.0.0.0/8 is always this machine's: what is missing is a
                # local port to connect from (for ::1 it is IPv6 being off).
                f["no_local_port"] = True

        t = threading.Thread(target=work, daemon=True)
        t.start()
        threads.append(t)
    for t in threads:
        t.join(ctx.probe_timeout + 1.0)
    for f in facts:
        f.setdefault("result", "timeout")
    return facts


def summarise(facts: list[Fact], target: Target) -> Summary:
    if not facts:
        return Summary("unknown", "no address to probe")
    parts = [f"{hostport(f['address'], f['port'])} {f['result']}"
             + (f" in {f.get('ms', 0)} ms" if f["result"] != "skipped" else f" ({f.get('error')})")
             for f in facts]
    ok = any(f["result"] == "ok" for f in facts)
    return Summary("ok" if ok else "problem", "connect: " + "; ".join(parts))


COLLECTOR = Collector("probe", "One bounded TCP connect to each address the client dials.",
                      (PROBE,), collect, summarise, timeout=5.0,
                      # two rounds of connects (each bounded) and thread start-up
                      timeout_for=lambda ctx: max(5.0, ctx.probe_timeout * 2 + 1.0),
                      asks=lambda t: f"does {hostport(t.host, t.port)} take a connection?")
