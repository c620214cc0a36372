"""Linux packet filters: which rule drops or rejects the connection?

Reads `nft -j list ruleset` (nftables, and iptables-nft whose rules live
there too) and, for the legacy backend, `iptables-legacy-save` /
`ip6tables-legacy-save` (or `iptables-save` where no nft exists). Then walks
the client's SYN to the dialled address and port through the filter chains a
local connection crosses: output (leaving via lo) and input (arriving on
lo), following jumps, up to the chain policy. Conditions it cannot evaluate
make a rule "not proven" rather than a match: it names only rules that
certainly apply.

Every command has a fixed argument list and a timeout; none gets a shell.
"""

from __future__ import annotations

import ipaddress
import json
import shlex
import shutil
from dataclasses import dataclass, field
from typing import Any

from assistant.facts.commands import run_command
from assistant.facts.registry import Context, Fact
from assistant.facts.sockets import dial_addresses

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


# --- nftables ------------------------------------------------------------------

def _addr_in(addr: str, right: Any) -> Any:
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
        return _addr_in(str(value), right)
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


# --- iptables-save -----------------------------------------------------------------

def _ipt_match(tokens: list[str], pkt: Packet) -> Any:
    """Evaluate one -A line's conditions; True, False, or UNKNOWN."""
    result: Any = True
    i = 0
    while i < len(tokens):
        neg = tokens[i] == "!"
        if neg:
            i += 1
        opt = tokens[i]
        arg = tokens[i + 1] if i + 1 < len(tokens) else ""
        res: Any = UNKNOWN
        step = 2
        if opt == "-p":
            res = arg == "tcp"
        elif opt in ("--dport", "--destination-port"):
            lo, _, hi = arg.partition(":")
            res = int(lo or 0) <= pkt.dport <= int(hi or lo or 65535)
        elif opt in ("--dports", "--destination-ports"):
            res = False
            for part in arg.split(","):
                lo, _, hi = part.partition(":")
                res = res or int(lo or 0) <= pkt.dport <= int(hi or lo or 65535)
        elif opt in ("-d", "-s"):
            res = _addr_in(pkt.daddr if opt == "-d" else pkt.saddr,
                           {"prefix": {"addr": arg.split("/")[0],
                                       "len": int(arg.split("/")[1]) if "/" in arg
                                       else (32 if pkt.family == 4 else 128)}})
        elif opt in ("-i", "-o"):
            res = (pkt.iif if opt == "-i" else pkt.oif) == arg or (arg.endswith("+") and (
                pkt.iif if opt == "-i" else pkt.oif).startswith(arg[:-1]))
        elif opt == "-m":
            res, step = True, 2  # module names carry no condition themselves
        elif opt in ("--ctstate", "--state"):
            res = "NEW" in arg.split(",")
        elif opt in ("--sport", "--source-port", "--sports"):
            res = UNKNOWN
        elif opt in ("-j", "-g", "--reject-with", "-c", "--comment"):
            res, step = True, 2
        if neg and res is not UNKNOWN:
            res = not res
        if res is False:
            return False
        if res is UNKNOWN:
            result = UNKNOWN
        i += step
    return result


def iptables_hits(text: str, pkt: Packet, source: str) -> list[Hit]:
    """Pure: drop/reject decisions for `pkt` in iptables-save output (filter table)."""
    chains: dict[str, list[list[str]]] = {}
    policies: dict[str, str] = {}
    table = None
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("*"):
            table = line[1:]
        elif table == "filter" and line.startswith(":"):
            name, policy = line[1:].split()[:2]
            policies[name] = policy
            chains.setdefault(name, [])
        elif table == "filter" and line.startswith("-A "):
            try:
                tokens = shlex.split(line)  # comments are quoted and may hold spaces
            except ValueError:
                tokens = line.split()
            chains.setdefault(tokens[1], []).append(tokens[2:])
    base = "INPUT" if pkt.hook == "input" else "OUTPUT"
    hits: list[Hit] = []
    verdict = _ipt_walk(base, chains, pkt, hits, source, 0)
    if verdict is None and policies.get(base) == "DROP":
        hits.append(Hit(source, pkt.family, "filter", base, "drop", f"chain {base} policy DROP",
                        policy=True))
    return hits


def _ipt_walk(name: str, chains: dict[str, list[list[str]]], pkt: Packet, hits: list[Hit],
              source: str, depth: int) -> str | None:
    if depth > 16:
        return None
    for n, tokens in enumerate(chains.get(name, []), 1):
        target = tokens[tokens.index("-j") + 1] if "-j" in tokens else None
        if target is None or _ipt_match(tokens, pkt) is not True:
            continue
        if target in ("DROP", "REJECT"):
            hits.append(Hit(source, pkt.family, "filter", name, target.lower(),
                            "-A " + name + " " + " ".join(tokens), handle=str(n)))
            return target.lower()
        if target == "ACCEPT":
            return "accept"
        if target == "RETURN":
            return None
        if target in chains:
            sub = _ipt_walk(target, chains, pkt, hits, source, depth + 1)
            if sub is not None:
                return sub
    return None


# --- the check ---------------------------------------------------------------------

def _legacy_loaded(family: int) -> bool:
    """Legacy xtables hold rules only when their tables exist; reading the
    names does not load kernel modules, running the tool might."""
    path = "/proc/net/ip_tables_names" if family == 4 else "/proc/net/ip6_tables_names"
    try:
        with open(path) as fh:
            return bool(fh.read().strip())
    except OSError:
        return False


def packets(address: str, port: int) -> list[Packet]:
    fam = 6 if ":" in address else 4
    # A local connection to a loopback address comes from the same address.
    return [Packet(fam, address, address, port, hook) for hook in ("output", "input")]


def collect(ctx: Context) -> list[Fact]:
    port = ctx.target.port
    dials = [a for a in dial_addresses(ctx)] if port else []
    if not dials or port is None:
        return []
    pkts = [p for a in dials for p in packets(a, port)]
    hits: list[Hit] = []
    reasons: list[str] = []
    nft_ok = False
    out, why = run_command(["nft", "-j", "list", "ruleset"])
    if out is not None:
        try:
            data = json.loads(out or "{}")
            nft_ok = True
            for p in pkts:
                hits += nft_hits(data, p)
        except ValueError:
            reasons.append("nft printed something that is not JSON")
    elif why:
        reasons.append(why)
    legacy = [("iptables-legacy-save", 4, "iptables"), ("ip6tables-legacy-save", 6, "ip6tables")]
    if not nft_ok:
        legacy += [("iptables-save", 4, "iptables"), ("ip6tables-save", 6, "ip6tables")]
    read_legacy = False
    for cmd, fam, label in legacy:
        if shutil.which(cmd) is None or (cmd.endswith("legacy-save") and not _legacy_loaded(fam)):
            continue
        text, why = run_command([cmd])
        if text is None:
            reasons.append(why or f"{cmd} failed")
            continue
        read_legacy = True
        for p in pkts:
            if p.family == fam:
                hits += iptables_hits(text, p, label)
    if not nft_ok and not read_legacy:
        return [{"type": "unknown", "reason": "; ".join(reasons) or "no packet filter tools"}]
    facts: list[Fact] = []
    seen: set[tuple[str, str, str]] = set()
    for h in hits:
        key = (h.source, h.chain, h.rule)
        if key in seen:
            continue
        seen.add(key)
        facts.append({"type": "firewall", "source": h.source, "family": h.family,
                      "table": h.table, "chain": h.chain, "verdict": h.verdict, "rule": h.rule,
                      "handle": h.handle, "policy": h.policy, "port": port})
    return facts
