"""Team services declared in rule files, with who listens on their ports now."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from assistant.facts.base import Collector, Context, Fact, FactType, Field, Summary
from assistant.facts.listeners import Describe
from assistant.facts.system.socktable import Listen, source
from assistant.understand.addresses import is_loopback, is_wildcard

if TYPE_CHECKING:
    from assistant.understand.symptoms import Target

SERVICE = FactType("service", "A service a team declared (`services:`), with its live state.", {
    "name": Field("str", "the declared name", example="team-db"),
    "port": Field("int", "the declared port"),
    "process": Field("str", "the declared process: a name, or a word of the command line",
                     example="postgres"),
    "usual_port": Field("int", "the port such a service usually has"),
    "description": Field("str", "the declared description"),
    "listening": Field("bool", "something listens on the declared port"),
    "owner": Field("str", "the process that listens there", example="docker-proxy"),
    "owner_pid": Field("int", "its pid"),
    "owner_ok": Field("bool", "it is the declared process, or a port forwarder in front of the "
                      "service (see forwarded)"),
    "forwarded": Field("bool", "a port forwarder (docker-proxy, rootlessport, ...) holds the port "
                       "on the service's behalf: a container publishes it"),
    "addresses": Field("str", "the addresses it listens on", example="127.0.0.1, ::1"),
    "local": Field("bool", "it listens on a loopback address or on every interface: "
                   "localhost reaches it"),
    "ephemeral": Field("bool", "the declared port is inside the ephemeral (client) port range "
                       "and not reserved: an outgoing connection may take it first"),
    "ephemeral_range": Field("str", "that range", example="32768-60999"),
    "elsewhere": Field("str", "not listening on its port: the ports where its declared process "
                       "listens instead", example="5433"),
})

# Processes that hold a host port on behalf of a container or VM: the
# service's front door, not a stranger. The same names as the `forwarders`
# list of rules/containers.yaml (a test keeps them equal).
FORWARDERS = ("docker-proxy", "rootlessport", "rootlessport-child", "gvproxy", "vpnkit",
              "vpnkit-bridge", "com.docker.backend", "com.docker.vpnkit", "wslrelay",
              "slirp4netns", "pasta", "pasta.avx2", "conmon", "podman", "qemu-system-x86_64",
              "limactl")


def process_matches(expected: str, info: dict[str, Any]) -> bool:
    """Pure: whether a process is the declared `process:`. It is when its name
    is that name, or starts with it (Linux cuts names to 15 characters;
    `postgres` is also `postgres: 15/main`), or the command line has it as a
    word (`kafka.Kafka` in a JVM's `java ... kafka.Kafka server.properties`,
    `uvicorn` in `python -m uvicorn app:main`). Case is ignored."""
    want = expected.casefold()
    name = str(info.get("process") or "").casefold()
    if name == want or name.startswith(want):
        return True
    word = re.compile(r"(?<![\w.-])" + re.escape(want) + r"(?![\w-])")
    return bool(word.search(str(info.get("cmdline") or "").casefold()))


def owner_ok(expected: str | None, info: dict[str, Any]) -> bool:
    """Pure: whether a listener's process is the one the service declares (or
    a forwarder in front of it)."""
    if not expected:
        return True
    if not info.get("process") and not info.get("cmdline"):
        return True  # not visible to us: do not accuse it
    return forwarded(info) or process_matches(expected, info)


def forwarded(info: dict[str, Any]) -> bool:
    return str(info.get("process") or "") in FORWARDERS


def service_facts(services: list[dict[str, Any]], table: list[Listen],
                  describe: Describe, ephemeral: Callable[[int], str | None] = lambda _p: None,
                  elsewhere: Callable[[str], list[int]] = lambda _p: []) -> list[Fact]:
    """Pure: one `service` fact per declaration, from a socket table.
    `ephemeral(port)` gives the ephemeral range holding an unreserved port;
    `elsewhere(process)`, the ports where such a process listens."""
    facts: list[Fact] = []
    for svc in services:
        rows = [r for r in table if r.port == svc["port"]]
        fact: Fact = {"type": "service", "name": svc["name"], "port": svc["port"],
                      "process": svc.get("process"), "usual_port": svc.get("usual_port"),
                      "description": svc.get("description"), "listening": bool(rows)}
        inside = ephemeral(svc["port"])
        fact.update(ephemeral=inside is not None, ephemeral_range=inside)
        if rows:
            info = describe(rows[0].pid)
            addrs = list(dict.fromkeys(r.address for r in rows))
            fact.update(owner=info.get("process"), owner_pid=info.get("pid"),
                        owner_ok=owner_ok(svc.get("process"), info),
                        forwarded=forwarded(info), addresses=", ".join(addrs),
                        local=any(is_loopback(a) or is_wildcard(a) for a in addrs))
        elif svc.get("process"):
            moved = [p for p in elsewhere(svc["process"]) if p != svc["port"]]
            fact["elsewhere"] = ", ".join(map(str, moved)) or None
        facts.append(fact)
    return facts


def collect(ctx: Context) -> list[Fact]:
    if not ctx.services:
        return []
    from assistant.facts.port_ranges import parse_reserved, reserved, reserved_ports
    from assistant.facts.ports import ephemeral_range

    src = source(ctx)
    ports = {s["port"] for s in ctx.services}
    rows = src.with_pids([r for r in src.table() if r.port in ports])
    eph, held = ephemeral_range(), parse_reserved(reserved_ports())

    def inside(port: int) -> str | None:
        return f"{eph[0]}-{eph[1]}" if eph[0] <= port <= eph[1] and not reserved(port, held) \
            else None

    def elsewhere(process: str) -> list[int]:
        # Only for a service that is not on its port: every listener's process.
        everyone = ctx.memo("listen_pids", lambda: src.with_pids(list(src.table())))
        return sorted({r.port for r in everyone
                       if r.pid and process_matches(process, src.describe(r.pid))})

    return service_facts(ctx.services, rows, src.describe, inside, elsewhere)


def summarise(facts: list[Fact], target: Target) -> Summary:
    if not facts:
        return Summary("ok", "no team services declared")
    parts = []
    bad = False
    for f in facts:
        if not f.get("listening"):
            parts.append(f"{f['name']} on {f['port']}: not running")
            bad = bad or f.get("port") == target.port
        else:
            owner = f.get("owner") or "a process"
            ok = f.get("owner_ok", True)
            bad = bad or (not ok and f.get("port") == target.port)
            how = " (forwarding to a container)" if f.get("forwarded") else ""
            parts.append(f"{f['name']} on {f['port']}: {owner}{how}"
                         + ("" if ok else " (unexpected)"))
    return Summary("warning" if bad else "ok", "team services: " + "; ".join(parts))


COLLECTOR = Collector("services", "The team's declared services and who listens on their ports.",
                      (SERVICE,), collect, summarise, timeout=3.0,
                      asks=lambda t: f"does a team service use port {t.port}?",
                      quick=lambda ctx: not ctx.services)
