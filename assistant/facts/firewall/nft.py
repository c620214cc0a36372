"""nftables (and iptables-nft, whose rules live there too): walk the SYN
through an `nft -j list ruleset` document."""

from __future__ import annotations

import json
from typing import Any

from assistant.facts.firewall.packet import UNKNOWN, Hit, Packet, addr_in


def _value_in(value: Any, right: Any, sets: dict[str, list[Any]], is_addr: bool) -> Any:
    """Does `value` match nft's right-hand side (value, range, prefix, set, @set)?"""
    if isinstance(right, str) and right.startswith("@"):
        if right[1:] not in sets:
            return UNKNOWN
        right = {"set": sets[right[1:]]}
    if isinstance(right, dict) and "set" in right:
        results = [_value_in(value, e, sets, is_addr) for e in right["set"]]
        if True in results:
            return True
        return UNKNOWN if UNKNOWN in results else False
    if is_addr:
        return addr_in(str(value), right)
    if isinstance(right, dict) and "range" in right:
        lo, hi = right["range"]
        return isinstance(lo, int) and isinstance(hi, int) and lo <= value <= hi
    if isinstance(right, (int, str)):
        return value == right
    return UNKNOWN


def _nft_match(m: dict[str, Any], pkt: Packet, sets: dict[str, list[Any]]) -> Any:
    left, right, op = m.get("left"), m.get("right"), m.get("op", "==")
    value: Any = UNKNOWN
    is_addr = False
    if isinstance(left, dict) and "payload" in left:
        proto, fld = left["payload"].get("protocol"), left["payload"].get("field")
        if proto in ("ip", "ip6") and (proto == "ip") != (pkt.family == 4):
            return False  # an IPv4 match never applies to an IPv6 packet, and back
        if proto == "tcp" and fld == "dport":
            value = pkt.dport
        elif proto == "tcp" and fld == "sport":
            return UNKNOWN  # the client's ephemeral port is not known in advance
        elif proto in ("ip", "ip6") and fld in ("saddr", "daddr"):
            value, is_addr = (pkt.saddr if fld == "saddr" else pkt.daddr), True
        elif proto in ("udp", "icmp", "icmpv6", "sctp"):
            return False
    elif isinstance(left, dict) and "meta" in left:
        key = left["meta"].get("key")
        value = {"iifname": pkt.iif, "oifname": pkt.oif, "iif": pkt.iif, "oif": pkt.oif,
                 "l4proto": "tcp", "nfproto": "ipv4" if pkt.family == 4 else "ipv6"}.get(key,
                                                                                       UNKNOWN)
    elif isinstance(left, dict) and "ct" in left and left["ct"].get("key") == "state":
        states = right if isinstance(right, list) else [right]
        hit = "new" in states or (right == {"set": ["new"]})
        return hit if op in ("==", "in") else not hit
    if value is UNKNOWN:
        return UNKNOWN
    result = _value_in(value, right, sets, is_addr)
    if result is UNKNOWN:
        return UNKNOWN
    return result if op in ("==", "in") else (not result if op == "!=" else UNKNOWN)


def _nft_text(expr: list[dict[str, Any]]) -> str:
    """A readable rendering of a rule's expressions."""
    parts = []
    for e in expr:
        if "match" in e:
            m = e["match"]
            left = m.get("left", {})
            if "payload" in left:
                name = " ".join(str(v) for v in left["payload"].values())
            elif "meta" in left:
                name = str(left["meta"].get("key"))
            elif "ct" in left:
                name = "ct " + str(left["ct"].get("key"))
            else:
                name = json.dumps(left)
            right = m.get("right")
            parts.append(f"{name} {'' if m.get('op') == '==' else m.get('op') + ' '}"
                         f"{json.dumps(right) if not isinstance(right, (str, int)) else right}")
        elif "counter" in e or "log" in e:
            continue
        else:
            parts.append(next(iter(e)))
    return " ".join(parts)


def nft_hits(data: dict[str, Any], pkt: Packet) -> list[Hit]:
    """Pure: drop/reject decisions for `pkt` in an `nft -j list ruleset` document."""
    items = data.get("nftables", [])
    chains: dict[tuple[str, str, str], dict[str, Any]] = {}
    rules: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    sets: dict[tuple[str, str], dict[str, list[Any]]] = {}
    for it in items:
        if "chain" in it:
            c = it["chain"]
            chains[(c["family"], c["table"], c["name"])] = c
        elif "rule" in it:
            r = it["rule"]
            rules.setdefault((r["family"], r["table"], r["chain"]), []).append(r)
        elif "set" in it:
            s = it["set"]
            sets.setdefault((s["family"], s["table"]), {})[s["name"]] = s.get("elem", [])
    fams = {"inet", "ip"} if pkt.family == 4 else {"inet", "ip6"}
    hits: list[Hit] = []
    for key, chain in chains.items():
        fam, table, _ = key
        if fam not in fams or chain.get("hook") != pkt.hook or chain.get("type") != "filter":
            continue
        verdict = _nft_walk(key, chains, rules, sets.get((fam, table), {}), pkt, hits, 0)
        if verdict is None and chain.get("policy") == "drop":
            hits.append(Hit("nft", pkt.family, f"{fam} {table}", chain["name"], "drop",
                            f"chain {chain['name']} policy drop", policy=True))
    return hits


def _nft_walk(key: tuple[str, str, str], chains: dict[Any, Any], rules: dict[Any, Any],
              sets: dict[str, list[Any]], pkt: Packet, hits: list[Hit], depth: int) -> str | None:
    """Follow one chain; the verdict ("accept", "drop", ...) or None (fell through)."""
    if depth > 16:
        return None
    fam, table, name = key
    for r in rules.get(key, []):
        expr = r.get("expr", [])
        matched: Any = True
        verdict = None
        target = None
        for e in expr:
            if "match" in e:
                res = _nft_match(e["match"], pkt, sets)
                if res is False:
                    matched = False
                    break
                if res is UNKNOWN:
                    matched = UNKNOWN
            for word in ("accept", "drop", "reject", "return"):
                if word in e:
                    verdict = word
            if "xt" in e:  # iptables-nft: targets come through as xtables targets
                xt = e["xt"]
                if xt.get("type") == "target" and str(xt.get("name")).lower() in (
                        "drop", "reject", "accept", "return"):
                    verdict = str(xt["name"]).lower()
                elif xt.get("type") == "match":
                    matched = UNKNOWN  # an xtables match we cannot evaluate
            if "jump" in e or "goto" in e:
                verdict, target = ("jump" if "jump" in e else "goto"), (e.get("jump") or
                                                                         e.get("goto"))["target"]
        if matched is not True or verdict is None:
            continue
        if verdict in ("drop", "reject"):
            hits.append(Hit("nft", pkt.family, f"{fam} {table}", name, verdict,
                            _nft_text(expr), handle=str(r.get("handle", ""))))
            return verdict
        if verdict == "accept":
            return "accept"
        if verdict == "return":
            return None
        sub = _nft_walk((fam, table, str(target)), chains, rules, sets, pkt, hits, depth + 1)
        if sub is not None or verdict == "goto":
            return sub
    return None
