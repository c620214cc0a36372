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
from typing import Any

from assistant.addresses import family_of, is_loopback, is_wildcard
from assistant.facts.registry import Context, Fact
from assistant.facts.sockets import dial_addresses


def local_addresses() -> set[str]:
    import psutil

    out: set[str] = set()
    try:
        for addrs in psutil.net_if_addrs().values():
            for a in addrs:
                if a.family in (socket.AF_INET, socket.AF_INET6):
                    out.add(a.address.split("%", 1)[0])
    except (OSError, psutil.Error):
        pass
    return out


def connect(address: str, port: int, timeout: float) -> tuple[str, int, str | None]:
    """(result, elapsed ms, error) for one TCP connect."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    start = time.perf_counter()
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect((address, port))
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
        err = exc.strerror or str(exc)
    finally:
        sock.close()
    return result, int((time.perf_counter() - start) * 1000), err


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
            f["result"], f["ms"], f["error"] = connect(a, port, ctx.probe_timeout)

        t = threading.Thread(target=work, daemon=True)
        t.start()
        threads.append(t)
    for t in threads:
        t.join(ctx.probe_timeout + 1.0)
    for f in facts:
        f.setdefault("result", "timeout")
    return facts
