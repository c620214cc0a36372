"""How this machine's own names resolve: `localhost`, a name under
`.localhost`, and the machine's host name (a checkup has no target host).

Each is one getaddrinfo, as any program here would make it, run side by side
and bounded: a host name missing from the hosts file goes to DNS, which may
be slow or unreachable, and the checkup must stay quick.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from assistant.facts.base import Collector, Context, Fact, FactType, Field, Summary

if TYPE_CHECKING:
    from assistant.understand.symptoms import Target

# A name under .localhost nobody registers: does the resolver answer the
# whole .localhost domain with loopback (RFC 6761), as browsers do?
SUBDOMAIN = "assistant-check.localhost"
LOOKUP_TIMEOUT = 1.0  # each name, at most (less with --timeout); they run at the same time

LOCAL_NAME = FactType("local_name", "How one of this machine's own names resolves: localhost, "
                      "a name under .localhost, or the host name.", {
    "name": Field("str", "the name looked up", example="localhost"),
    "role": Field("str", "which name it is", ("localhost", "subdomain", "hostname")),
    "status": Field("str", "how resolving went", ("ok", "timeout", "failed")),
    "addresses": Field("str", "the addresses, comma-separated, in the resolver's order",
                       example="::1, 127.0.0.1"),
    "first": Field("str", "the first address: what a client that tries only one dials",
                   example="::1"),
    "order": Field("str", "the families in the resolver's order", ("4", "6", "4,6", "6,4")),
    "v4": Field("bool", "an IPv4 address came back"),
    "v6": Field("bool", "an IPv6 address came back"),
    "loopback": Field("bool", "every address is a loopback address"),
    "local": Field("bool", "every address belongs to this machine (loopback, or an address "
                   "of one of its interfaces)"),
    "error": Field("str", "the resolver's error"),
}, lambda f: f"{f.get('name')} resolves: {f.get('status')} {f.get('addresses', '')}".rstrip())


def _loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def name_fact(name: str, role: str, result: dict[str, Any],
              local_addresses: Callable[[], set[str]]) -> Fact:
    """Pure: the local_name fact from a resolver result ({status, addresses, error}).
    `local_addresses` is asked only when an address is not loopback."""
    addrs: list[str] = list(result.get("addresses") or [])
    fact: Fact = {"type": "local_name", "name": name, "role": role,
                  "status": result.get("status", "failed"), "error": result.get("error")}
    if not addrs:
        if fact["status"] == "ok":
            fact.update(status="failed", error="no address came back")
        return fact
    families: list[str] = []
    for a in addrs:
        fam = "6" if ":" in a else "4"
        if fam not in families:
            families.append(fam)
    loopback = all(_loopback(a) for a in addrs)
    ours = loopback or all(_loopback(a) or a.split("%", 1)[0] in local_addresses() for a in addrs)
    fact.update(addresses=", ".join(addrs), first=addrs[0], order=",".join(families),
                v4="4" in families, v6="6" in families, loopback=loopback, local=ours)
    return fact


def names_to_check(hostname: str) -> list[tuple[str, str]]:
    """(name, role) pairs: the host name only when it is a name of its own."""
    out = [("localhost", "localhost"), (SUBDOMAIN, "subdomain")]
    h = hostname.strip().rstrip(".")
    if h and h.lower() not in ("localhost", "localhost.localdomain") and \
            not h.lower().endswith(".localhost"):
        out.append((h, "hostname"))
    return out


def collect(ctx: Context) -> list[Fact]:
    from assistant.facts.system.resolver import local_addresses, resolve

    names = names_to_check(socket.gethostname())
    results: dict[str, dict[str, Any]] = {}
    bound = min(ctx.probe_timeout, LOOKUP_TIMEOUT)

    def look(name: str) -> None:
        results[name] = resolve(name, None, bound)

    threads = [threading.Thread(target=look, args=(n,), name=f"resolve-{r}", daemon=True)
               for n, r in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join(bound + 0.5)  # resolve() itself gives up after `bound`

    def ours() -> set[str]:
        found: set[str] = ctx.memo("local_addresses", local_addresses)
        return found

    timed_out = {"status": "timeout", "addresses": [], "error": "no answer in time"}
    return [name_fact(n, r, results.get(n, timed_out), ours) for n, r in names]


def summarise(facts: list[Fact], target: Target) -> Summary:
    bad = [f for f in facts if f.get("role") == "localhost" and not f.get("loopback")]
    parts = [f"{f['name']} -> {f.get('addresses') or f.get('status')}" for f in facts]
    return Summary("problem" if bad else "ok", "; ".join(parts))


COLLECTOR = Collector("local_names", "How localhost, a name under .localhost and this machine's "
                      "host name resolve.", (LOCAL_NAME,), collect, summarise, timeout=2.5,
                      asks=lambda t: "what do localhost and this machine's name resolve to?")
