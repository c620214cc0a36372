"""The loopback interface itself: up, with 127.0.0.1/8 and ::1?

Every local connection crosses it. A fresh network namespace (`unshare -n`,
some sandboxes and containers) starts with `lo` down; a hand-edited network
configuration can drop 127.0.0.1; IPv6 may be switched off, so ::1 is gone
while names may still resolve to it.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from assistant.facts.base import Collector, Context, Fact, FactType, Field, Summary
from assistant.facts.system.procfs import read_text

if TYPE_CHECKING:
    from assistant.understand.symptoms import Target

LOOPBACK_INTERFACE = FactType("loopback_interface", "The loopback interface: state and "
                              "addresses.", {
    "name": Field("str", "its name", example="lo"),
    "up": Field("bool", "the interface is up"),
    "v4": Field("bool", "it has 127.0.0.1"),
    "v4_prefix": Field("int", "the prefix length of 127.0.0.1 (8: all of 127.0.0.0/8 is "
                       "local)", example=8),
    "v6": Field("bool", "it has ::1"),
    "ipv6": Field("str", "IPv6 on this interface: enabled, disabled (a sysctl), or absent "
                  "(the kernel runs without IPv6)", ("enabled", "disabled", "absent")),
    "ipv6_off_by": Field("str", "what switched IPv6 off", example="net.ipv6.conf.lo.disable_ipv6=1"),
    "ipv6_sysctl": Field("str", "the setting that switched it off, when one did (0 turns IPv6 "
                         "back on)", example="net.ipv6.conf.lo.disable_ipv6"),
    "addresses": Field("str", "its addresses with prefix lengths", example="127.0.0.1/8, ::1/128"),
}, lambda f: f"{f.get('name')}: {'up' if f.get('up') else 'down'}, {f.get('addresses') or 'no addresses'}")

# psutil names the loopback interface by system; the one holding 127.0.0.1 wins.
NAMES = ("lo", "lo0", "Loopback Pseudo-Interface 1")


def _prefix(netmask: str | None) -> int | None:
    """The prefix length of a netmask (`255.0.0.0` -> 8, `ffff:...:ffff` -> 128)."""
    if not netmask:
        return None
    try:
        return bin(int(ipaddress.ip_address(netmask))).count("1")
    except ValueError:
        return None


def interface_fact(up: Mapping[str, bool], addrs: Mapping[str, Sequence[tuple[int, str, str | None]]],
                   ipv6: str, ipv6_off_by: str | None) -> Fact:
    """Pure: the fact from interface states (name -> up), addresses (name ->
    [(family 4|6, address, netmask)]) and the IPv6 state."""
    def holds(name: str, address: str) -> bool:
        return any(a.split("%", 1)[0] == address for _, a, _ in addrs.get(name, ()))

    name = next((n for n in addrs if holds(n, "127.0.0.1")), None) or next(
        (n for n in NAMES if n in up or n in addrs), "lo")
    own = addrs.get(name, ())
    shown: list[str] = []
    v4_prefix = None
    for _, address, netmask in own:
        bits = _prefix(netmask)
        shown.append(f"{address.split('%', 1)[0]}/{bits}" if bits is not None else address)
        if address == "127.0.0.1":
            v4_prefix = bits
    return {"type": "loopback_interface", "name": name, "up": bool(up.get(name, False)),
            "v4": holds(name, "127.0.0.1"), "v4_prefix": v4_prefix, "v6": holds(name, "::1"),
            "ipv6": ipv6, "ipv6_off_by": ipv6_off_by,
            "ipv6_sysctl": ipv6_off_by.split("=", 1)[0] if ipv6_off_by and
            ipv6_off_by.startswith("net.") else None,
            "addresses": ", ".join(shown) or None}


def ipv6_state(name: str) -> tuple[str, str | None]:
    """Linux: ('absent', why) without IPv6 in the kernel, ('disabled', which
    sysctl) when switched off for the interface, else ('enabled', None)."""
    import os

    if not os.path.exists("/proc/net"):
        return "enabled", None  # not Linux: the addresses tell
    if read_text("/proc/net/if_inet6") is None and not os.path.isdir("/proc/sys/net/ipv6"):
        return "absent", "the kernel runs without IPv6 (ipv6.disable=1)"
    for scope in (name, "all"):
        if (read_text(f"/proc/sys/net/ipv6/conf/{scope}/disable_ipv6") or "").strip() == "1":
            return "disabled", f"net.ipv6.conf.{scope}.disable_ipv6=1"
    return "enabled", None


def collect(ctx: Context) -> list[Fact]:
    import psutil

    stats = psutil.net_if_stats()
    raw = psutil.net_if_addrs()
    families = {socket.AF_INET: 4, socket.AF_INET6: 6}
    addrs: dict[str, list[tuple[int, str, Any]]] = {
        n: [(families[a.family], a.address, a.netmask) for a in items if a.family in families]
        for n, items in raw.items()}
    up = {n: s.isup for n, s in stats.items()}
    name = next((n for n, items in addrs.items() if any(a == "127.0.0.1" for _, a, _ in items)),
                next((n for n in NAMES if n in up), "lo"))
    state, why = ipv6_state(name)
    return [interface_fact(up, addrs, state, why)]


def summarise(facts: list[Fact], target: Target) -> Summary:
    f = facts[0] if facts else {}
    ok = f.get("up") and f.get("v4")
    return Summary("ok" if ok else "problem", LOOPBACK_INTERFACE.describe(f))


COLLECTOR = Collector("loopback", "The loopback interface: up, and its addresses.",
                      (LOOPBACK_INTERFACE,), collect, summarise, timeout=2.0,
                      asks=lambda t: "is the loopback interface up, with 127.0.0.1 and ::1?")
