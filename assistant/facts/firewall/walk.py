"""Walk a loopback SYN through every base chain it passes.

Hooks in the order the packet meets them (output, postrouting, then back in
through prerouting and input), and on each hook the base chains of every
table (nftables, iptables-nft, iptables-legacy) by priority. An accept ends
one base chain, not the walk: the next chain on the hook still sees the
packet; a drop or reject ends it. Jumps, gotos and returns are followed.

A rule whose match depends on something the rule set cannot tell (a rate, a
count, the sending user) splits the walk in two: one branch assumes it
matches, the other that it does not. A block reached under assumptions is
conditional, and its condition is those assumptions in words.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from assistant.facts.firewall.model import (
    HOOKS,
    RECEIVING,
    Chain,
    Decision,
    Maybe,
    Packet,
    Rule,
    Table,
)

MAX_BRANCHES = 64
MAX_DEPTH = 32
MAX_BEHIND = 3
# A marker in a path: the walk went on past a certain block, as if it were
# undone, to find what would block next (INPUT and OUTPUT both dropping).
BEHIND = Maybe("behind", "", "")


class Assume(NamedTuple):
    maybe: Maybe
    holds: bool
    table: Table
    chain: Chain
    rule: Rule | None

    @property
    def real(self) -> bool:
        return self.maybe.kind != "behind"

    @property
    def words(self) -> str:
        return self.maybe.when if self.holds else self.maybe.unless

    @property
    def now(self) -> str:
        if self.maybe.now == "unknown":
            return "unknown"
        return "yes" if (self.maybe.now == "yes") == self.holds else "no"


Path = tuple[Assume, ...]


class End(NamedTuple):
    kind: str
    path: Path
    chain: Chain
    rule: Rule
    decision: Decision


@dataclass
class Hit:
    """Where the packet is dropped or rejected (under `path`'s assumptions)."""

    table: Table
    base: Chain
    chain: Chain
    rule: Rule | None            # None: the base chain's policy
    verdict: str                 # drop | reject
    hook: str
    packet: Packet
    path: Path = ()
    decision: Decision | None = None

    @property
    def conditions(self) -> Path:
        return tuple(a for a in self.path if a.real)

    @property
    def conditional(self) -> bool:
        return bool(self.conditions)

    @property
    def behind(self) -> Assume | None:
        """The block this one sits behind (None: the first one the packet meets)."""
        return next((a for a in self.path if not a.real), None)

    @property
    def condition(self) -> str:
        return " and ".join(dict.fromkeys(a.words for a in self.conditions))

    @property
    def now(self) -> str:
        states = {a.now for a in self.conditions}
        return "no" if "no" in states else ("yes" if states == {"yes"} else "unknown")


@dataclass
class Pass:
    """A base chain's certain accept, and the block it keeps the packet from."""

    table: Table
    base: Chain
    chain: Chain
    rule: Rule
    hook: str
    shadowed: Hit | None = None


@dataclass
class Walk:
    hits: list[Hit] = field(default_factory=list)
    passes: list[Pass] = field(default_factory=list)


def _key(m: Maybe) -> tuple[str, str]:
    return (m.kind, m.when)


def _past(path: Path) -> bool:
    """May the walk go on past a block on this path (to find the next one)?"""
    return all(not a.real for a in path) and len(path) < MAX_BEHIND


def bases(tables: list[Table], family: int, hook: str) -> list[tuple[Table, Chain]]:
    """The base chains on `hook` that see a loopback packet of `family`, by priority."""
    found = []
    for t in tables:
        if not t.sees(family):
            continue
        for c in t.chains.values():
            if c.hook != hook:
                continue
            if hook in ("ingress", "egress") and c.device != "lo":
                continue
            # NAT chains see only a connection's first packet before conntrack
            # confirms it, which for loopback happens on the way out.
            if c.kind == "nat" and hook in RECEIVING:
                continue
            found.append((t, c))
    return sorted(found, key=lambda tc: tc[1].priority)


def walk(tables: list[Table], address: str, port: int) -> Walk:
    """Pure: where a SYN from `address` to `address`:`port` is dropped, rejected or passed."""
    family = 6 if ":" in address else 4
    pkt = Packet(family, address, address, port)
    result = Walk()
    live: list[Path] = [()]
    for hook in HOOKS:
        pkt.hook = hook
        for table, base in bases(tables, family, hook):
            ends, falls = _chain(table, base, pkt, live, 0, None)
            nxt: list[Path] = []
            for e in ends:
                if e.kind in ("drop", "reject"):
                    result.hits.append(Hit(table, base, e.chain, e.rule, e.kind, hook,
                                           _copy(pkt), e.path, e.decision))
                elif e.kind in ("accept", "nat"):
                    nxt.append(e.path)
                    if not e.path and e.kind == "accept":
                        result.passes.append(Pass(table, base, e.chain, e.rule, hook,
                                                  _shadowed(table, base, pkt, e.rule)))
            for path in falls:
                if base.policy == "drop":
                    result.hits.append(Hit(table, base, base, None, "drop", hook, _copy(pkt),
                                           path))
                    if _past(path):
                        nxt.append(path + (Assume(BEHIND, True, table, base, None),))
                else:
                    nxt.append(path)
            live = nxt[:MAX_BRANCHES]
            if not live:
                return result
    return result


def _copy(pkt: Packet) -> Packet:
    return Packet(pkt.family, pkt.saddr, pkt.daddr, pkt.dport, pkt.hook, pkt.mark, pkt.nat)


def _shadowed(table: Table, base: Chain, pkt: Packet, accept: Rule) -> Hit | None:
    """The first certain block the accept keeps the packet from (ufw's
    `deny 8033` behind its loopback accept, say)."""
    ends, falls = _chain(table, base, _copy(pkt), [()], 0, accept)
    for e in ends:
        if e.kind in ("drop", "reject") and not e.path:
            return Hit(table, base, e.chain, e.rule, e.kind, pkt.hook, _copy(pkt))
    return None


def _chain(table: Table, chain: Chain, pkt: Packet, live: list[Path], depth: int,
           skip: Rule | None) -> tuple[list[End], list[Path]]:
    """Follow one chain for every live branch: the branches that ended in a
    verdict, and those that fell off its end or returned."""
    ends: list[End] = []
    falls: list[Path] = []
    for rule in chain.rules:
        if not live:
            break
        if rule is skip:
            continue
        d = rule.decide(pkt)
        if d.result is False or d.verdict is None or d.verdict.kind == "continue":
            continue
        taken: list[Path] = []
        kept: list[Path] = []
        if d.result is True:
            taken = live
        else:
            m = d.result
            for path in live:
                prior = next((a.holds for a in path if _key(a.maybe) == _key(m)), None)
                if prior is None:
                    taken.append(path + (Assume(m, True, table, chain, rule),))
                    kept.append(path + (Assume(m, False, table, chain, rule),))
                elif prior:
                    taken.append(path)
                else:
                    kept.append(path)
        v = d.verdict
        if v.kind in ("accept", "drop", "reject", "nat", "queue"):
            ends += [End(v.kind, p, chain, rule, d) for p in taken]
            if v.kind in ("drop", "reject"):  # and what if this rule were deleted?
                kept += [p + (Assume(BEHIND, True, table, chain, rule),) for p in taken
                         if _past(p) and skip is None]
        elif v.kind == "return":
            falls += taken
        elif v.kind in ("jump", "goto"):
            sub = table.chains.get(v.target)
            if sub is None or depth >= MAX_DEPTH:
                kept += taken
            else:
                sub_ends, sub_falls = _chain(table, sub, pkt, taken, depth + 1, skip)
                ends += sub_ends
                if v.kind == "jump":
                    kept += sub_falls
                else:
                    falls += sub_falls
        live = kept[:MAX_BRANCHES]
    return ends, falls + live
