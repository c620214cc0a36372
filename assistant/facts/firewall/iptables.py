"""iptables-save text (legacy xtables, or where no nft exists): walk the
SYN through the filter table's INPUT or OUTPUT chain."""

from __future__ import annotations

import shlex
from typing import Any

from assistant.facts.firewall.packet import UNKNOWN, Hit, Packet, addr_in

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
            res = addr_in(pkt.daddr if opt == "-d" else pkt.saddr,
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
