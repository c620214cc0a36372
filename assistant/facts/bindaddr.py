"""The address a server failed to listen on, as this machine has it.

`listen EADDRNOTAVAIL ::1:3000` is a server's start-up failure: the kernel
has no such address. Either the address is not this machine's (a LAN
address that changed, a typo), or it is IPv6 on a stack with IPv6 turned
off (`net.ipv6.conf.all.disable_ipv6=1`: no `::1` on `lo`), which many
hardened hosts and CI containers have.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from assistant.facts.base import Collector, Context, Fact, FactType, Field, Summary
from assistant.facts.system.procfs import read_text
from assistant.understand.addresses import family_of, is_ip, is_loopback, is_wildcard

if TYPE_CHECKING:
    from assistant.understand.symptoms import Target

BIND_ADDRESS = FactType("bind_address", "The address a server asked to listen on, as this "
                        "machine has it.", {
    "address": Field("str", "the address it asked for", example="::1"),
    "family": Field("int", "4 or 6", (4, 6)),
    "local": Field("bool", "an address of this machine (a wildcard, 127.0.0.0/8 when IPv4 is "
                   "up, or an interface's address)"),
    "loopback": Field("bool", "a loopback address"),
    "ipv6": Field("bool", "IPv6 is on: some interface has an IPv6 address (absent where this "
                  "cannot be read)"),
    "ipv6_disabled": Field("bool", "net.ipv6.conf.all.disable_ipv6 is 1 (Linux)"),
}, lambda f: f"bind address {f.get('address')}: "
             + ("this machine's" if f.get("local") else "not this machine's")
             + ("" if f.get("family") != 6 or f.get("ipv6") is None
                else ", IPv6 on" if f.get("ipv6") else ", IPv6 off"))


def ipv6_state() -> tuple[bool | None, bool | None]:
    """(IPv6 addresses exist, disabled by sysctl) on Linux; (None, None) elsewhere."""
    addresses = read_text("/proc/net/if_inet6")
    if addresses is None:
        # No file: a kernel without IPv6 (Linux), or not Linux at all.
        return (False, None) if os.path.exists("/proc/net/tcp") else (None, None)
    disabled = read_text("/proc/sys/net/ipv6/conf/all/disable_ipv6")
    return bool(addresses.strip()), None if disabled is None else disabled.strip() == "1"


def address_fact(address: str, local: set[str], ipv6: bool | None,
                 disabled: bool | None) -> Fact:
    """Pure: the fact for one address, given this machine's addresses."""
    family = family_of(address)
    mine = is_wildcard(address) or address in local or (
        family == 4 and address.startswith("127.") and any(a.startswith("127.") for a in local))
    return {"type": "bind_address", "address": address, "family": family, "local": mine,
            "loopback": is_loopback(address), "ipv6": ipv6, "ipv6_disabled": disabled}


def collect(ctx: Context) -> list[Fact]:
    parsed = ctx.target.parsed
    if parsed is None:
        return []
    from assistant.facts.system.resolver import local_addresses, resolve

    if parsed.address:
        addresses = [parsed.address]
    elif parsed.kind == "name":
        addresses = resolve(parsed.text, ctx.target.port).get("addresses", [])[:2]
    else:
        return []
    local = local_addresses()
    ipv6, disabled = ipv6_state()
    return [address_fact(a.split("%", 1)[0], local, ipv6, disabled) for a in addresses
            if is_ip(a.split("%", 1)[0])]


def summarise(facts: list[Fact], target: Target) -> Summary:
    if not facts:
        return Summary("ok", "no address to look at")
    bad = [f for f in facts if not f.get("local")]
    return Summary("problem" if bad else "ok",
                   "; ".join(BIND_ADDRESS.describe(f) for f in facts))


COLLECTOR = Collector("bind_address", "Whether the address a server failed to listen on is this "
                      "machine's, and whether IPv6 is on.", (BIND_ADDRESS,), collect, summarise,
                      timeout=3.0,
                      asks=lambda t: f"is {t.host} an address this machine has?")
