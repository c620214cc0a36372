"""Conditional matches in words: rates, counts, quotas, lists, who sends.

Each returns a `Maybe` saying when the match holds and when not, settled
(`now` yes or no) where the moment's facts allow: the connections open now
(connlimit, `ct count`), an xt_recent list, a quota's used bytes. Texts quote
the match as the rule set spells it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from assistant.facts.firewall.model import Maybe, Packet, Result


@dataclass
class World:
    """The moment, read lazily: open connections and xt_recent lists."""

    # connections(saddr, prefix_len, dport): TCP connections open now from
    # that source network to the port (None when they cannot be counted)
    connections: Callable[[str, int, int], int | None] | None = None
    # recent(name): the text of /proc/net/xt_recent/NAME (None: unreadable)
    recent: Callable[[str], str | None] | None = None
    # hashlimit(name, family): the text of /proc/net/ip{,6}t_hashlimit/NAME
    hashlimit: Callable[[str, int], str | None] | None = None


def user_name(uid: int) -> str:
    import pwd

    try:
        return pwd.getpwuid(uid).pw_name
    except (KeyError, OverflowError):
        return str(uid)


def group_name(gid: int) -> str:
    import grp

    try:
        return grp.getgrgid(gid).gr_name
    except (KeyError, OverflowError):
        return str(gid)


def unknown(text: str, why: str = "") -> Maybe:
    tail = f" ({why})" if why else ""
    return Maybe("unknown", f"`{text}` matches{tail}", f"`{text}` does not match{tail}")


def owner(uid: int | None = None, gid: int | None = None, text: str = "") -> Maybe:
    """A uid or gid match (`-m owner`, `meta skuid`, `meta skgid`)."""
    if uid is not None:
        who = f"uid {uid} ({user_name(uid)})"
        return Maybe("owner", f"the client runs as {who}", f"the client runs as another user "
                     f"than {who}", uid=uid)
    if gid is not None:
        who = f"gid {gid} ({group_name(gid)})"
        return Maybe("owner", f"the client runs with group {who}",
                     f"the client runs without group {who}", gid=gid)
    return Maybe("owner", f"the client's user matches `{text}`",
                 f"the client's user does not match `{text}`")


def cgroup(path: str) -> Maybe:
    return Maybe("cgroup", f"the client runs in cgroup {path}",
                 f"the client runs outside cgroup {path}", cgroup=path)


def owner_nft(key: str, right: Any, text: str) -> Result:
    """`meta skuid 1000`, `meta skgid { 1, 2 }`, `socket cgroupv2 level 1 "x"`."""
    first = _first_id(right)
    if key == "skuid" and isinstance(right, int):
        return owner(uid=right)
    if key == "skgid" and isinstance(right, int):
        return owner(gid=right)
    if key in ("skuid", "skgid") and first is not None:
        # a set or range of ids: say which, and test with the first of them
        who = "uid" if key == "skuid" else "gid"
        shown = text.split(" ", 2)[-1]
        return Maybe("owner", f"the client's {who} is in {shown}",
                     f"the client's {who} is not in {shown}",
                     uid=first if key == "skuid" else -1, gid=first if key == "skgid" else -1)
    if key == "cgroupv2" and isinstance(right, str):
        return cgroup("/" + right.strip("/"))
    return Maybe("cgroup" if "cgroup" in key else "owner", f"`{text}` matches the client",
                 f"`{text}` does not match the client")


def _first_id(right: Any) -> int | None:
    if isinstance(right, dict) and "set" in right:
        items = [x for x in right["set"] if isinstance(x, int)]
        return next((x for x in items if x != 0), items[0] if items else None)
    if isinstance(right, dict) and "range" in right and isinstance(right["range"][0], int):
        return int(right["range"][0])
    return None


def limit(text: str, over: bool) -> Maybe:
    """A token bucket (`limit rate 1/minute`, `-m limit`): its state is not readable."""
    within = Maybe("limit", f"new packets stay within `{text}`",
                   f"more packets arrive than `{text}` lets through (its allowance is used up)")
    return within.negate() if over else within


def hashlimit(text: str, pkt: Packet, over: bool, name: str = "",
              world: World | None = None) -> Maybe:
    """A rate per source. xt_hashlimit shows each bucket's credit: below the
    cost of one packet, the next one is over the rate."""
    now = "unknown"
    listing = world.hashlimit(name, pkt.family) if world and world.hashlimit and name else None
    for line in (listing or "").splitlines():
        parts = line.split()
        source = parts[1] if len(parts) >= 5 else ""
        if source.startswith((f"{pkt.saddr}:", f"[{pkt.saddr}]")) and parts[2].isdigit() \
                and parts[4].isdigit():
            now = "no" if int(parts[2]) < int(parts[4]) else "yes"
    within = Maybe("hashlimit", f"{pkt.saddr} stays within `{text}`",
                   f"{pkt.saddr} sends more than `{text}` lets through", now)
    return within if not over else within.negate()


def quota(text: str, size: int, over: bool, used: Any = None) -> Result:
    """A byte quota: settled when the rule set shows the bytes used (nft)."""
    if isinstance(used, int):
        left = used < size
        return (not left) if over else left
    has_left = Maybe("quota", f"`{text}` still has bytes left",
                     f"the {size}-byte quota of `{text}` is used up")
    return has_left.negate() if over else has_left


def connlimit(text: str, pkt: Packet, limit: int, above: bool, world: World,
              prefix: int = -1) -> Maybe:
    """More than `limit` connections from the source (`ct count over`, connlimit)."""
    if prefix < 0:
        prefix = 32 if pkt.family == 4 else 128
    src = pkt.saddr if prefix in (32, 128) else f"{pkt.saddr}/{prefix}"
    now = "unknown"
    count = world.connections(pkt.saddr, prefix, pkt.dport) if world.connections else None
    if count is not None:
        now = "yes" if count + 1 > limit else "no"  # the new connection counts too
    opened = f"{count} open now, " if count is not None else ""
    over = Maybe("connlimit", f"more than {limit} connections from {src} are open ({opened}"
                 f"`{text}`)", f"{limit} or fewer connections from {src} are open ({opened}"
                 f"`{text}`)", now,
                 fix=f"ss -tnp state established '( dport = :{pkt.dport} )'")
    return over if above else over.negate()


def recent(text: str, pkt: Packet, name: str, seconds: int, hits: int, world: World) -> Maybe:
    """xt_recent (`--rcheck`/`--update`): is the source on the list, with enough hits?"""
    what = f"{pkt.saddr} is on the recent list {name}"
    if hits:
        what += f" with {hits} or more packets"
    if seconds:
        what += f" within {seconds} s"
    now, note = "unknown", ""
    listing = world.recent(name) if world.recent else None
    if listing is not None:
        entry = next((line for line in listing.splitlines()
                      if line.startswith(f"src={pkt.saddr} ")), None)
        if entry is None:
            now = "no"
        else:
            stamps = entry.split("oldest_pkt:", 1)[-1].split()[1:]
            note = f"there now with {len(stamps)} packets; "
            if not hits and not seconds:
                now = "yes"
    return Maybe("recent", f"{what} ({note}`{text}`)", f"{pkt.saddr} is not on the recent "
                 f"list {name} (or not often enough)", now,
                 fix=f"echo -{pkt.saddr} | sudo tee /proc/net/xt_recent/{name}")


def time_window(text: str) -> Maybe:
    return Maybe("time", f"the clock is within `{text}`", f"the clock is outside `{text}`")


def ipset(name: str, text: str) -> Maybe:
    return Maybe("set", f"the address is in ipset {name} (`{text}`)",
                 f"the address is not in ipset {name}")
