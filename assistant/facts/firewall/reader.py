"""Read the system's packet filters and walk the connection's SYN through them."""

from __future__ import annotations

import json
import shutil

from assistant.facts.base import Context, Fact
from assistant.facts.firewall.iptables import iptables_hits
from assistant.facts.firewall.nft import nft_hits
from assistant.facts.firewall.packet import Hit, Packet
from assistant.facts.system.run import run_command
from assistant.facts.system.socktable import dial_addresses


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
