"""nftables: the tables of an `nft -j list ruleset` document, with each rule
turned into a decision the walker can ask about a packet.

What a rule set says for certain (ports, addresses, sets, ranges, prefixes,
interfaces, `ct state`, tcp flags, `fib`, marks, verdict maps) is evaluated;
what depends on the moment or on the sender (limits, quotas, `ct count`,
`meta skuid`, `socket cgroupv2`) becomes a `Maybe` in words; anything else
is a `Maybe` of kind "unknown", never a guess.
"""

from __future__ import annotations

from typing import Any

from assistant.facts.firewall import conditions as cond
from assistant.facts.firewall import nftrender
from assistant.facts.firewall.model import (
    Chain,
    Decision,
    Maybe,
    Packet,
    Result,
    Rule,
    Table,
    Verdict,
    both,
    negate,
)
from assistant.facts.firewall.values import MISMATCH, UNKNOWN, Dyn, in_set, matches, prefers

L4 = {"tcp", "udp", "udplite", "sctp", "dccp", "icmp", "icmpv6", "esp", "ah", "comp", "igmp",
      "gre", "ipv6-icmp"}
NAT = ("dnat", "snat", "masquerade", "redirect")


class Sets:
    """The named sets, maps and quotas of one table."""

    def __init__(self) -> None:
        self.elements: dict[str, list[Any]] = {}
        self.quotas: dict[str, dict[str, Any]] = {}


def tables(data: dict[str, Any], world: cond.World) -> list[Table]:
    """Pure (given the world): every table of the document."""
    found: dict[tuple[str, str], Table] = {}
    sets: dict[tuple[str, str], Sets] = {}
    rules: list[dict[str, Any]] = []
    for item in data.get("nftables", []):
        kind, obj = next(iter(item.items()))
        if kind == "table":
            found[(obj["family"], obj["name"])] = Table("nft", obj["family"], obj["name"])
            sets[(obj["family"], obj["name"])] = Sets()
        elif kind == "chain":
            t = found.get((obj["family"], obj["table"]))
            if t is not None:
                t.chains[obj["name"]] = Chain(
                    obj["name"], hook=obj.get("hook", ""), priority=int(obj.get("prio", 0)),
                    kind=obj.get("type", "filter"), policy=obj.get("policy", "accept"),
                    device=str(obj.get("dev", "")))
        elif kind in ("set", "map"):
            s = sets.get((obj["family"], obj["table"]))
            if s is not None:
                s.elements[obj["name"]] = list(obj.get("elem", []))
        elif kind == "quota":
            s = sets.get((obj["family"], obj["table"]))
            if s is not None:
                s.quotas[obj["name"]] = obj
        elif kind == "rule":
            rules.append(obj)
    for r in rules:
        t = found.get((r["family"], r["table"]))
        chain = t.chains.get(r["chain"]) if t else None
        if t is None or chain is None:
            continue
        chain.rules.append(_rule(r, t.family, sets[(t.family, t.name)], world))
    return list(found.values())


def _rule(r: dict[str, Any], family: str, sets: Sets, world: cond.World) -> Rule:
    expr: list[dict[str, Any]] = r.get("expr", [])
    comment = r.get("comment")
    packets = next((e["counter"].get("packets", -1) for e in expr
                    if isinstance(e.get("counter"), dict)), -1)
    return Rule(decide=lambda pkt: decide(expr, pkt, sets, world),
                text=nftrender.rule(expr, family, comment), handle=str(r.get("handle", "")),
                packets=int(packets), comment=comment or "",
                without=lambda i: nftrender.rule(expr, family, comment, without_vmap=i))


def decide(expr: list[dict[str, Any]], pkt: Packet, sets: Sets, world: cond.World) -> Decision:
    """Whether a rule applies to `pkt`, and its verdict."""
    result: Result = True
    verdict: Verdict | None = None
    via: list[tuple[str, str]] = []
    vmap_index = -1
    for e in expr:
        name, arg = next(iter(e.items()))
        if name == "match":
            r = _match(arg, pkt, sets, via)
        elif name in ("accept", "drop", "return"):
            r, verdict = True, Verdict(name)
        elif name in ("jump", "goto"):
            r, verdict = True, Verdict(name, arg["target"])
        elif name == "reject":
            r, verdict = True, Verdict("reject")
        elif name == "queue":
            r, verdict = True, Verdict("queue")
        elif name in NAT:
            r, verdict = True, Verdict("nat")
            if result is True:
                _rewrite(pkt, name, arg or {})
        elif name == "vmap":
            r, verdict, vmap_index = _vmap(arg, pkt, sets, via)
        elif name == "xt":
            if arg.get("type") == "target":
                xt_name = str(arg.get("name")).upper()
                r = True
                if xt_name in ("REJECT", "DROP", "ACCEPT", "RETURN"):
                    verdict = Verdict(xt_name.lower())
                elif xt_name in ("DNAT", "SNAT", "MASQUERADE", "REDIRECT"):
                    verdict = Verdict("nat")
            else:
                r = cond.unknown(nftrender.statement(e), "its arguments are not in `nft -j`; "
                                 "iptables-save shows them")
        else:
            r = _statement(name, arg, pkt, sets, world)
        if name == "mangle" and result is True and r is True:
            _mangle(pkt, arg)
        result = both(result, r)
        if result is False:
            return Decision(False)
    return Decision(result, verdict, tuple(via), vmap_index)


def _statement(name: str, arg: Any, pkt: Packet, sets: Sets, world: cond.World) -> Result:
    """Statements that make a rule conditional (limits, quotas, counts)."""
    if name == "limit":
        return cond.limit(nftrender.statement({name: arg}), over=bool(arg.get("inv")))
    if name == "quota":
        q = sets.quotas.get(arg, {}) if isinstance(arg, str) else arg
        return cond.quota(nftrender.statement({name: arg}), int(q.get("val", q.get("bytes", 0))),
                          over=bool(q.get("inv")), used=q.get("used"))
    if name in ("set", "meter"):
        if value_of(arg.get("elem", arg.get("key")), pkt) is MISMATCH:
            return False  # `add @s { ip saddr ... }` implies an IPv4 packet
        text = nftrender.statement({name: arg})
        for s in arg.get("stmt", []):
            if "ct count" in s:
                return cond.connlimit(text, pkt, limit=int(s["ct count"].get("val", 0)),
                                      above=bool(s["ct count"].get("inv")), world=world)
            if "limit" in s:
                return cond.hashlimit(text, pkt, over=bool(s["limit"].get("inv")))
        return True  # adding to a set decides nothing
    return True  # counter, log, notrack, mangle and friends decide nothing


def _rewrite(pkt: Packet, name: str, arg: dict[str, Any]) -> None:
    """A certain DNAT or REDIRECT changes where the packet goes next."""
    port = arg.get("port")
    if name == "redirect" and isinstance(port, int):
        pkt.dport, pkt.nat = port, True
    elif name == "dnat":
        if isinstance(arg.get("addr"), str):
            pkt.daddr = arg["addr"]
        if isinstance(port, int):
            pkt.dport = port
        pkt.nat = True


def _mangle(pkt: Packet, arg: dict[str, Any]) -> None:
    key = arg.get("key", {})
    if isinstance(key, dict) and key.get("meta", {}).get("key") == "mark" and isinstance(
            arg.get("value"), int):
        pkt.mark = arg["value"]


def _vmap(arg: dict[str, Any], pkt: Packet, sets: Sets,
          via: list[tuple[str, str]]) -> tuple[Result, Verdict | None, int]:
    key = value_of(arg.get("key"), pkt)
    if key is MISMATCH:
        return False, None, -1
    data = arg.get("data")
    items = sets.elements.get(data[1:], []) if isinstance(data, str) else (data or {}).get("set", [])
    if key is UNKNOWN or isinstance(key, Dyn):
        return cond.unknown(nftrender.statement({"vmap": arg})), None, -1
    for i, item in enumerate(items):
        if not (isinstance(item, list) and len(item) == 2):
            continue
        if in_set(key, [item[0]]) is True:
            if isinstance(data, str):  # a named map: its element can go on its own
                via.append((data[1:], prefers(key, [item[0]])))
            v = item[1]
            if not isinstance(v, dict):
                return True, None, -1
            kind = next(iter(v))
            target = v[kind].get("target", "") if isinstance(v[kind], dict) else ""
            return True, Verdict(kind, target), (i if not isinstance(data, str) else -1)
    return True, None, -1  # no element: the rule decides nothing


def value_of(expr: Any, pkt: Packet) -> Any:
    """The packet's value for the left side of a match (or MISMATCH, UNKNOWN, Dyn)."""
    if not isinstance(expr, dict):
        return UNKNOWN
    if "payload" in expr:
        p = expr["payload"]
        proto, fld = p.get("protocol"), p.get("field")
        if proto in ("ip", "ip6"):
            if (proto == "ip") != (pkt.family == 4):
                return MISMATCH
            return {"saddr": pkt.saddr, "daddr": pkt.daddr, "protocol": "tcp",
                    "nexthdr": "tcp", "version": pkt.family}.get(fld, UNKNOWN)
        if proto in ("tcp", "th"):
            return {"dport": pkt.dport, "flags": frozenset({"syn"})}.get(fld, UNKNOWN)
        if proto in L4 or proto in ("arp", "vlan", "ether"):
            return MISMATCH
        return UNKNOWN
    if "meta" in expr:
        key = expr["meta"].get("key")
        if key in ("skuid", "skgid"):
            return Dyn(key) if pkt.has_socket else MISMATCH
        if key == "cgroup":
            return Dyn("cgroup") if pkt.has_socket else MISMATCH
        return {"iifname": pkt.iif, "oifname": pkt.oif, "iif": pkt.iif or MISMATCH,
                "oif": pkt.oif or MISMATCH, "l4proto": "tcp",
                "nfproto": "ipv4" if pkt.family == 4 else "ipv6",
                "protocol": "ip" if pkt.family == 4 else "ip6", "mark": pkt.mark,
                "iiftype": "loopback" if pkt.iif else MISMATCH,
                "oiftype": "loopback" if pkt.oif else MISMATCH, "pkttype": "host",
                "iifgroup": 0 if pkt.iif else MISMATCH, "oifgroup": 0 if pkt.oif else MISMATCH,
                }.get(key, UNKNOWN)
    if "ct" in expr:
        key = expr["ct"].get("key")
        if key == "state":
            return frozenset({"new"})
        if key == "status":
            return frozenset({"dnat"} if pkt.nat else set())
        return {"direction": "original", "mark": 0, "zone": 0, "l3proto": (
            "ipv4" if pkt.family == 4 else "ipv6"), "protocol": "tcp"}.get(key, UNKNOWN)
    if "fib" in expr:
        result = expr["fib"].get("result")
        # Loopback addresses are local, and route back out through lo.
        return {"type": "local", "oif": "lo", "oifname": "lo"}.get(result, UNKNOWN)
    if "socket" in expr:
        key = expr["socket"].get("key")
        if key == "cgroupv2":
            return Dyn("cgroupv2") if pkt.has_socket else MISMATCH
        return 0 if key == "transparent" else UNKNOWN
    if "concat" in expr:
        parts = [value_of(x, pkt) for x in expr["concat"]]
        if MISMATCH in parts:
            return MISMATCH
        if any(x is UNKNOWN or isinstance(x, Dyn) for x in parts):
            return UNKNOWN
        return tuple(parts)
    if "&" in expr:
        base, mask = value_of(expr["&"][0], pkt), expr["&"][1]
        if isinstance(base, frozenset):
            return base & frozenset(mask if isinstance(mask, list) else [mask])
        if isinstance(base, int) and isinstance(mask, int):
            return base & mask
        return base if base is MISMATCH else UNKNOWN
    return UNKNOWN


def _match(m: dict[str, Any], pkt: Packet, sets: Sets, via: list[tuple[str, str]]) -> Result:
    op, right = m.get("op", "=="), m.get("right")
    val = value_of(m.get("left"), pkt)
    if val is MISMATCH:
        return False
    text = nftrender.match(m)
    if isinstance(val, Dyn):
        r: Result = cond.owner_nft(val.key, right, text)
        return negate(r) if op == "!=" else r
    if val is UNKNOWN:
        return cond.unknown(text)
    if isinstance(right, str) and right.startswith("@"):
        elements = sets.elements.get(right[1:])
        if elements is None:
            return cond.unknown(text)
        hit = in_set(val, elements)
        if hit is True:
            via.append((right[1:], prefers(val, elements)))
        res: Result = hit
    elif isinstance(val, frozenset):
        res = _flags(val, op, right)
        return res
    else:
        res = matches(val, right)
    if isinstance(res, Maybe):
        return res
    if op in ("==", "in"):
        return res
    if op == "!=":
        return not res
    if isinstance(val, int) and isinstance(right, int):
        return {"<": val < right, ">": val > right, "<=": val <= right,
                ">=": val >= right}.get(op, False)
    return cond.unknown(text)


def _flags(val: frozenset[Any], op: str, right: Any) -> bool:
    """Bit-mask types (tcp flags, ct state, ct status)."""
    if isinstance(right, dict) and "set" in right:
        hit = any(frozenset(x if isinstance(x, list) else [x]) == val for x in right["set"])
        return hit if op != "!=" else not hit
    want = frozenset(right if isinstance(right, list) else [right])
    if op == "in":
        return bool(val & want)
    if op == "!=":
        return val != want
    return val == want if op == "==" else False
