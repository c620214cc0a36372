"""Comparing a packet's value with nft's right-hand sides: literals, ranges,
prefixes, anonymous and named sets, concatenations, interface wildcards."""

from __future__ import annotations

import ipaddress
from typing import Any, NamedTuple

from assistant.facts.firewall import nftrender


class _Token:
    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return self.name


PROTOCOLS = {"tcp": 6, "udp": 17, "icmp": 1, "ipv6-icmp": 58, "sctp": 132}
MISMATCH = _Token("MISMATCH")   # the field does not exist in this packet: the match fails
UNKNOWN = _Token("UNKNOWN")     # the rule set alone cannot tell


class Dyn(NamedTuple):
    """A value only the sending socket knows (its uid, gid, cgroup)."""

    key: str


def _addr(text: Any) -> Any:
    try:
        return ipaddress.ip_address(str(text))
    except ValueError:
        return None


def matches(val: Any, right: Any) -> bool:
    """Does `val` equal (or fall in) `right`?"""
    if isinstance(right, dict):
        if "set" in right:
            items = right["set"] if isinstance(right["set"], list) else [right["set"]]
            return in_set(val, items)
        if "elem" in right:
            return matches(val, right["elem"].get("val"))
        if "range" in right:
            lo, hi = right["range"]
            a, b, v = _addr(lo), _addr(hi), _addr(val)
            if v is not None and a is not None and b is not None:
                return bool(a.version == b.version == v.version and int(a) <= int(v) <= int(b))
            if isinstance(val, int) and isinstance(lo, int) and isinstance(hi, int):
                return lo <= val <= hi
            return False
        if "prefix" in right:
            v = _addr(val)
            try:
                net = ipaddress.ip_network(f"{right['prefix']['addr']}/{right['prefix']['len']}",
                                           strict=False)
            except ValueError:
                return False
            return bool(v is not None and v.version == net.version and v in net)
        if "concat" in right:
            return isinstance(val, tuple) and len(val) == len(right["concat"]) and all(
                matches(v, r) for v, r in zip(val, right["concat"], strict=True))
        return False
    if isinstance(val, tuple):
        return False
    if isinstance(right, str) and isinstance(val, str):
        a, b = _addr(val), _addr(right)
        if a is not None and b is not None:
            return bool(a == b)
        if right.endswith("*") and right != "*":  # interface wildcard: "eth*"
            return val.startswith(right[:-1])
        return val == right
    if isinstance(right, int) and isinstance(val, str):
        # `meta l4proto 6` is `meta l4proto tcp`
        return int(val) == right if val.isdigit() else PROTOCOLS.get(val) == right
    return bool(val == right)


def in_set(val: Any, items: list[Any]) -> bool:
    """Is `val` one of a set's elements (or a map's keys)?"""
    return any(matches(val, _key(item)) for item in items)


def _key(item: Any) -> Any:
    if isinstance(item, list) and len(item) == 2:  # a map element: [key, value]
        return item[0]
    if isinstance(item, dict) and "elem" in item:
        return item["elem"].get("val")
    return item


def prefers(val: Any, items: list[Any]) -> str:
    """The element of a set that `val` matched, as `nft delete element` takes it."""
    for item in items:
        if matches(val, _key(item)):
            return nftrender.value(_key(item))
    return ""
