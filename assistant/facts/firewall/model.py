"""What the walker works on: the packet, the rules it meets, and "it depends".

Both readers (nftables JSON, iptables-save text) build these; the walker
(`walk.py`) knows nothing of either syntax.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

# The hooks a loopback SYN passes, in order: it leaves through output and
# postrouting, and comes back in through prerouting and input. netdev chains
# bound to `lo` see it between the two (egress, then ingress).
HOOKS = ("output", "postrouting", "egress", "ingress", "prerouting", "input")
RECEIVING = ("ingress", "prerouting", "input")


@dataclass
class Packet:
    """The SYN of a local connection, as the filters see it at one hook."""

    family: int                  # 4 or 6
    saddr: str
    daddr: str
    dport: int
    hook: str = "output"
    mark: int = 0
    nat: bool = False            # a DNAT or REDIRECT rewrote it on the way

    @property
    def iif(self) -> str:
        return "lo" if self.hook in RECEIVING else ""

    @property
    def oif(self) -> str:
        return "" if self.hook in RECEIVING else "lo"

    @property
    def has_socket(self) -> bool:
        """Owner and cgroup matches see the sending socket only on the way out
        (loopback orphans the packet before it comes back in)."""
        return self.hook in ("output", "postrouting")


class Maybe(NamedTuple):
    """A condition the rule set alone cannot settle: a rate, a count, who
    sends. `when` and `unless` say in words when it matches and when not;
    `now` is what the facts say about this moment (yes, no or unknown)."""

    kind: str
    when: str
    unless: str
    now: str = "unknown"
    uid: int = -1                # owner matches: the uid or gid a probe could take
    gid: int = -1
    fix: str = ""                # a command that resets the state it depends on
    cgroup: str = ""             # cgroup matches: the cgroup v2 path

    def negate(self) -> Maybe:
        flipped = {"yes": "no", "no": "yes"}.get(self.now, self.now)
        return self._replace(when=self.unless, unless=self.when, now=flipped)


Result = bool | Maybe


class Me(NamedTuple):
    """Who the assistant's own connections come from."""

    uid: int
    gids: frozenset[int]
    cgroup: str = ""         # cgroup v2 path, "/user.slice/..."


def applies_to(m: Maybe, me: Me) -> bool | None:
    """Does an owner or cgroup condition hold for `me` (None: cannot tell)?"""
    if m.kind == "owner" and m.uid >= 0:
        return m.uid == me.uid
    if m.kind == "owner" and m.gid >= 0:
        return m.gid in me.gids
    if m.kind == "cgroup" and m.cgroup and me.cgroup:
        return me.cgroup == m.cgroup or me.cgroup.startswith(m.cgroup.rstrip("/") + "/")
    return None


def both(a: Result, b: Result) -> Result:
    """Both conditions hold (a rule's matches are a conjunction)."""
    if a is False or b is False:
        return False
    if a is True:
        return b
    if b is True:
        return a
    assert isinstance(a, Maybe) and isinstance(b, Maybe)
    now = "no" if "no" in (a.now, b.now) else ("yes" if a.now == b.now == "yes" else "unknown")
    kind = a.kind if a.kind == b.kind or b.kind == "unknown" else b.kind
    return Maybe(kind, f"{a.when} and {b.when}", f"{a.unless} or {b.unless}", now,
                 max(a.uid, b.uid), max(a.gid, b.gid), a.fix or b.fix, a.cgroup or b.cgroup)


def negate(r: Result) -> Result:
    return (not r) if isinstance(r, bool) else r.negate()


class Verdict(NamedTuple):
    kind: str                    # accept drop reject jump goto return nat queue
    target: str = ""             # the chain of a jump or goto


class Decision(NamedTuple):
    """What one rule does to the packet: whether it applies and its verdict
    (None: it applies but decides nothing, like a counter or a log)."""

    result: Result
    verdict: Verdict | None = None
    via: tuple[tuple[str, str], ...] = ()    # (named set, element) that matched
    vmap_index: int = -1                     # the verdict map element that applied


@dataclass
class Rule:
    decide: Callable[[Packet], Decision]
    text: str                    # as the user would type it (nft or iptables-save syntax)
    handle: str = ""             # nft handle
    number: int = 0              # position in its chain (iptables -D CHAIN N)
    spec: str = ""               # iptables: the rule after `-A CHAIN`, shell-quoted
    packets: int = -1            # counter, when the rule has one
    comment: str = ""
    # nft: the rule rewritten without one verdict-map element (for `nft replace`)
    without: Callable[[int], str] | None = None


@dataclass
class Chain:
    name: str
    rules: list[Rule] = field(default_factory=list)
    hook: str = ""               # "" for a regular chain
    priority: int = 0
    kind: str = "filter"         # filter | nat | route
    policy: str = "accept"
    device: str = ""             # netdev chains: the device they are bound to


@dataclass
class Table:
    tool: str                    # the command that changes it: nft, iptables, ip6tables-legacy...
    family: str                  # nft family: inet, ip, ip6, netdev; iptables: ip or ip6
    name: str
    chains: dict[str, Chain] = field(default_factory=dict)
    backend: str = "nftables"    # nftables | legacy: where the kernel keeps it

    @property
    def syntax(self) -> str:
        return "nft" if self.tool == "nft" else "iptables"

    @property
    def label(self) -> str:
        """How commands name the table: `inet filter` for nft, `filter` for iptables."""
        return f"{self.family} {self.name}" if self.tool == "nft" else self.name

    def sees(self, family: int) -> bool:
        if self.family in ("inet", "netdev"):
            return True
        return self.family == ("ip" if family == 4 else "ip6")  # not bridge or arp
