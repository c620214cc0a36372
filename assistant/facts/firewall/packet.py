"""The packet the filters see, a verdict that stops it, and "cannot tell"."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

UNKNOWN = object()  # a condition we cannot evaluate


@dataclass
class Packet:
    """The SYN of a local connection, as the filters see it."""

    family: int          # 4 or 6
    saddr: str
    daddr: str
    dport: int
    hook: str            # input | output
    iif: str = "lo"
    oif: str = "lo"


@dataclass
class Hit:
    source: str          # nft | iptables | ip6tables
    family: int
    table: str
    chain: str
    verdict: str         # drop | reject
    rule: str            # human text of the rule (or "policy drop")
    handle: str = ""     # nft handle, or iptables rule number
    policy: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def addr_in(addr: str, right: Any) -> Any:
    try:
        ip = ipaddress.ip_address(addr)
        if isinstance(right, str):
            return ip == ipaddress.ip_address(right)
        if isinstance(right, dict) and "prefix" in right:
            net = ipaddress.ip_network(f"{right['prefix']['addr']}/{right['prefix']['len']}",
                                       strict=False)
            return ip in net
        if isinstance(right, dict) and "range" in right:
            lo, hi = (ipaddress.ip_address(x) for x in right["range"])
            if not lo.version == hi.version == ip.version:
                return False
            return int(lo) <= int(ip) <= int(hi)
    except (ValueError, TypeError):
        return UNKNOWN
    return UNKNOWN
