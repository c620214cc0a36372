"""This machine's port ranges: where the kernel picks client ports, which
ports it keeps out of that pick, and from where any user may bind.

A server whose port lies in the ephemeral range can find it taken by an
outgoing connection at random (EADDRINUSE one morning, fine the next); the
port_info check answers that for one port, this for the whole machine.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from assistant.facts.base import Collector, Context, Fact, FactType, Field, Summary
from assistant.facts.ports import can_bind_privileged, ephemeral_range, unprivileged_start
from assistant.facts.system.procfs import read_text

if TYPE_CHECKING:
    from assistant.understand.symptoms import Target

# Ports development servers and databases usually take (Node/Rails, Angular,
# Flask/AirPlay, Vite, PostgreSQL, Redis, Django, the alternates, Jupyter,
# PHP-FPM, Node's inspector): the ones an ephemeral range should not cover.
DEV_PORTS = (3000, 3001, 4200, 5000, 5173, 5432, 6379, 8000, 8080, 8443, 8888, 9000, 9229)

PORT_RANGES = FactType("port_ranges", "Where the kernel picks client (ephemeral) ports, which "
                       "it reserves, and the unprivileged port start.", {
    "ephemeral_low": Field("int", "the first ephemeral port", example=32768),
    "ephemeral_high": Field("int", "the last ephemeral port", example=60999),
    "ephemeral_range": Field("str", "the range as text", example="32768-60999"),
    "ephemeral_size": Field("int", "how many ports it holds", example=28232),
    "reserved": Field("str", "ports kept out of the pick (ip_local_reserved_ports)",
                      example="8080,9000-9010"),
    "dev_ports_inside": Field("str", "usual development ports inside the range and not "
                              "reserved", example="3000,5432,8080"),
    "unprivileged_start": Field("int", "the first port any user may bind", example=1024),
    "can_bind_privileged": Field("bool", "this process may bind below it"),
}, lambda f: f"ephemeral {f.get('ephemeral_range')}, unprivileged from "
             f"{f.get('unprivileged_start')}")


def parse_reserved(text: str) -> list[tuple[int, int]]:
    """Pure: `8080,9000-9010` -> [(8080, 8080), (9000, 9010)]."""
    out = []
    for part in text.replace("\n", ",").split(","):
        lo, _, hi = part.strip().partition("-")
        if lo.isdigit() and (not hi or hi.isdigit()):
            out.append((int(lo), int(hi or lo)))
    return out


def reserved(port: int, ranges: list[tuple[int, int]]) -> bool:
    return any(lo <= port <= hi for lo, hi in ranges)


def range_fact(eph: tuple[int, int], reserved_text: str, start: int, can_bind: bool) -> Fact:
    """Pure: the port_ranges fact."""
    held = parse_reserved(reserved_text)
    inside = [p for p in DEV_PORTS if eph[0] <= p <= eph[1] and not reserved(p, held)]
    return {"type": "port_ranges", "ephemeral_low": eph[0], "ephemeral_high": eph[1],
            "ephemeral_range": f"{eph[0]}-{eph[1]}", "ephemeral_size": eph[1] - eph[0] + 1,
            "reserved": reserved_text.strip() or None,
            "dev_ports_inside": ",".join(map(str, inside)) or None,
            "unprivileged_start": start, "can_bind_privileged": can_bind}


def reserved_ports() -> str:
    """The kernel's reserved list (Linux), or nothing."""
    return read_text("/proc/sys/net/ipv4/ip_local_reserved_ports") or ""


def collect(ctx: Context) -> list[Fact]:
    return [range_fact(ephemeral_range(), reserved_ports(), unprivileged_start(),
                       can_bind_privileged())]


def summarise(facts: list[Fact], target: Target) -> Summary:
    f = facts[0] if facts else {}
    return Summary("warning" if f.get("dev_ports_inside") else "ok", PORT_RANGES.describe(f))


COLLECTOR = Collector("port_ranges", "The ephemeral port range, reserved ports and the "
                      "unprivileged port start.", (PORT_RANGES,), collect, summarise,
                      timeout=1.0,
                      asks=lambda t: "which ports does this machine give to outgoing connections?")
