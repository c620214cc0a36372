"""Classify a host string: IP literal, wildcard, loopback, or a name.

Pure functions, no I/O: used by the symptom parser and the collectors.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from typing import NamedTuple

from assistant.errors import InputError

_LABEL = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_\-]{0,61}[A-Za-z0-9_])?")


class Host(NamedTuple):
    text: str            # as the user wrote it
    kind: str            # ipv4 | ipv6 | name
    address: str | None  # normalised literal, None for names
    family: int          # 4, 6, or 0 for names
    loopback: bool
    wildcard: bool


def parse_host(text: str) -> Host:
    """Classify `text`; raise InputError when it cannot be a host at all."""
    raw = text.strip()
    bare = raw[1:-1] if raw.startswith("[") and raw.endswith("]") else raw
    if not bare:
        raise InputError("the host is empty")
    if ":" in bare:
        try:
            ip6 = ipaddress.IPv6Address(bare.split("%", 1)[0])
        except ValueError:
            raise InputError(f"'{bare[:80]}' is not a valid IPv6 address") from None
        mapped = ip6.ipv4_mapped
        if mapped is not None:  # ::ffff:127.0.0.1 is an IPv4 connection in disguise
            return Host(raw, "ipv4", str(mapped), 4, mapped.is_loopback, mapped.is_unspecified)
        return Host(raw, "ipv6", str(ip6), 6, ip6.is_loopback, ip6.is_unspecified)
    if re.fullmatch(r"[0-9.]+", bare):
        try:
            ip4 = ipaddress.IPv4Address(bare)
        except ValueError:
            try:  # inet_aton forms such as 127.1, which clients accept
                ip4 = ipaddress.IPv4Address(socket.inet_aton(bare))
            except OSError:
                raise InputError(f"'{bare[:80]}' is not a valid IPv4 address "
                                 "(four numbers from 0 to 255, e.g. 127.0.0.1)") from None
        return Host(raw, "ipv4", str(ip4), 4, ip4.is_loopback, ip4.is_unspecified)
    name = bare.rstrip(".")
    labels = name.split(".")
    if len(name) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        raise InputError(f"'{bare[:80]}' is not a valid host name "
                         "(letters, digits, '-' and '.', e.g. localhost)")
    return Host(raw, "name", None, 0, name.lower() == "localhost", False)


def family_of(address: str) -> int:
    """4 or 6 for an IP literal (IPv4-mapped IPv6 counts as 4)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return 4
    return ip.version


def is_loopback(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped.is_loopback
    return ip.is_loopback


def is_wildcard(address: str) -> bool:
    try:
        return ipaddress.ip_address(address.split("%", 1)[0]).is_unspecified
    except ValueError:
        return False


LOCAL_NAMES = ("localhost", "127.0.0.1", "::1", "0.0.0.0")
# Letters that look like digits in an address typed or copied by hand.
_LOOKALIKE = str.maketrans({"l": "1", "I": "1", "i": "1", "O": "0", "o": "0"})


def near_local(host: str, extra: tuple[str, ...] = ()) -> tuple[str, int, str] | None:
    """(suggestion, distance, reason) when `host` looks like a slip for a local name.

    Pure. Distance is optimal string alignment (a swap counts one), so
    `localhsot`, `172.0.0.1` and `127.0.0.l` all land near a local name.
    """
    from rapidfuzz.distance import OSA

    h = host.strip("[]").lower()
    candidates = tuple(dict.fromkeys(LOCAL_NAMES + tuple(e.lower() for e in extra)))
    if h in candidates:
        return None
    fixed = host.strip("[]").translate(_LOOKALIKE).lower()
    if fixed != h and fixed in candidates:
        return (fixed, 1, "letter-for-digit")
    best: tuple[str, int] | None = None
    for cand in candidates:
        # Addresses tolerate one slip (a swap counts one: 172.0.0.1), names
        # two: 10.0.0.1 is a real address, not a mangled 127.0.0.1.
        limit = 1 if cand[0].isdigit() or ":" in cand or len(cand) <= 4 else 2
        d = OSA.distance(h, cand)
        if d <= limit and (best is None or d < best[1]):
            best = (cand, d)
    if best is None:
        return None
    reason = "near-loopback-address" if best[0][0].isdigit() or ":" in best[0] else "near-local-name"
    return (best[0], best[1], reason)


def is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text.split("%", 1)[0])
        return True
    except ValueError:
        return False


def hostport(address: object, port: object) -> str:
    """`127.0.0.1:80`, or `[::1]:80` for IPv6."""
    text = str(address)
    return f"[{text}]:{port}" if ":" in text else f"{text}:{port}"
