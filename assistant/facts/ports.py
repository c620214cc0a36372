"""What kind of port it is, and whether this user may bind it."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from assistant.facts.base import Collector, Context, Fact, FactType, Field, Summary
from assistant.facts.system import platform
from assistant.facts.system.procfs import read_text

if TYPE_CHECKING:
    from assistant.understand.symptoms import Target

CAP_NET_BIND_SERVICE = 10

PORT_INFO = FactType("port_info", "What kind of port it is, and who may bind it.", {
    "port": Field("int", "the port"),
    "port_class": Field("str", "the IANA range it falls in",
                        ("well-known", "registered", "dynamic")),
    "ephemeral": Field("bool", "inside this system's ephemeral (client) port range"),
    "ephemeral_range": Field("str", "that range", example="32768-60999"),
    "unprivileged_start": Field("int", "the first port any user may bind", example=1024),
    "privileged": Field("bool", "below the unprivileged start, for the address being bound"),
    "wildcard_exempt": Field("bool", "binding the wildcard address (0.0.0.0, ::) below the start "
                             "needs no privilege: macOS 10.14 and later"),
    "can_bind_privileged": Field("bool", "this process may bind privileged ports"),
    "excluded": Field("bool", "Windows reserves the port (excluded port range)"),
    "excluded_range": Field("str", "the reserved range holding it"),
}, lambda f: f"port {f.get('port')}: {f.get('port_class')}, unprivileged from "
             f"{f.get('unprivileged_start')}")


def ephemeral_range() -> tuple[int, int]:
    text = read_text("/proc/sys/net/ipv4/ip_local_port_range")
    if text:
        lo, hi = text.split()[:2]
        return int(lo), int(hi)
    return (49152, 65535)  # IANA; the default on macOS and Windows


def unprivileged_start() -> int:
    text = read_text("/proc/sys/net/ipv4/ip_unprivileged_port_start")
    if text and text.strip().isdigit():
        return int(text)
    # macOS keeps 1024 for specific addresses such as 127.0.0.1; only its
    # wildcard binds are exempt (wildcard_exempt). Windows has no privileged ports.
    return 0 if platform.system() == "win32" else 1024


def can_bind_privileged() -> bool:
    """Whether this process may bind ports below the unprivileged start.

    On Linux the capability decides, not the uid: root without
    CAP_NET_BIND_SERVICE (a container, a systemd sandbox) cannot bind them.
    """
    if not hasattr(os, "geteuid"):
        return True  # Windows has no privileged ports
    status = read_text("/proc/self/status") or ""
    for line in status.splitlines():
        if line.startswith("CapEff:"):
            return bool(int(line.split()[1], 16) >> CAP_NET_BIND_SERVICE & 1)
    return os.geteuid() == 0


def port_class(port: int) -> str:
    if port < 1024:
        return "well-known"
    return "registered" if port < 49152 else "dynamic"


WILDCARDS = ("0.0.0.0", "::", "[::]", "*")


def port_facts(port: int, eph: tuple[int, int], start: int, can_bind: bool,
               wildcard_exempt: bool = False, host: str | None = None) -> list[Fact]:
    """Pure: the port_info fact. With `wildcard_exempt` (macOS 10.14+), a port
    below the start is privileged only for a specific address; an unknown host
    counts as specific, since a refused bind says it was not the wildcard."""
    exempt = wildcard_exempt and host in WILDCARDS
    return [{"type": "port_info", "port": port, "port_class": port_class(port),
             "ephemeral": eph[0] <= port <= eph[1], "ephemeral_range": f"{eph[0]}-{eph[1]}",
             "unprivileged_start": start, "privileged": port < start and not exempt,
             "wildcard_exempt": wildcard_exempt, "can_bind_privileged": can_bind}]


def excluded(port: int, ranges: list[tuple[int, int]]) -> str | None:
    """Pure: the Windows-reserved range holding `port`, as text, if any."""
    for lo, hi in ranges:
        if lo <= port <= hi:
            return f"{lo}-{hi}"
    return None


def collect(ctx: Context) -> list[Fact]:
    if ctx.target.port is None:
        # A bind refused with no port in the text: where privileged ports end
        # here is still the answer's half (field trial 10).
        return [{"type": "port_info", "unprivileged_start": unprivileged_start(),
                 "can_bind_privileged": can_bind_privileged()}]
    facts = port_facts(ctx.target.port, ephemeral_range(), unprivileged_start(),
                       can_bind_privileged(), platform.system() == "darwin", ctx.target.host)
    if platform.system() == "win32":
        from assistant.facts.system import ostools

        ranges = ostools.excluded_ranges()
        if ranges is not None:
            held = excluded(ctx.target.port, ranges)
            facts[0].update(excluded=held is not None, excluded_range=held)
    return facts


def summarise(facts: list[Fact], target: Target) -> Summary:
    f = facts[0] if facts else {}
    if f.get("port") is None:
        return Summary("ok", f"ports below {f.get('unprivileged_start')} are privileged here")
    return Summary("warning" if f.get("privileged") and not f.get("can_bind_privileged") else "ok",
                   f"port {f.get('port')}: {f.get('port_class')}; privileged below "
                   f"{f.get('unprivileged_start')}; ephemeral range {f.get('ephemeral_range')}")


COLLECTOR = Collector("port_info", "The port's class, the ephemeral range and bind privileges.",
                      (PORT_INFO,), collect, summarise, timeout=1.0,
                      asks=lambda t: f"what kind of port is {t.port}?")
