"""From walks to facts: each block with where it sits (tool, family, table,
chain, hook), the rule as the user would type it, whether and when it
applies, who manages it, and the commands that undo or bypass it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from assistant.facts.firewall import commands
from assistant.facts.firewall.frontends import DirectRules, Present, frontend, present
from assistant.facts.firewall.model import Me, Table, applies_to
from assistant.facts.firewall.walk import Hit, Walk, walk

KIND_ORDER = ("owner", "cgroup", "connlimit", "recent", "hashlimit", "limit", "quota", "set",
              "time", "unknown")
FIX_WHY = {"recent": "forget the address in that list (for now: it counts again from the next "
                      "connection)",
           "connlimit": "the open connections it counts: close the ones left open"}
MAX_CONDITIONAL = 3  # per address: the likeliest few, not every combination
# (uid, gid, address, port) -> the probe's result as that user, or None
ConnectAs = Callable[[int, int, str, int], "str | None"]


def _kind(hit: Hit) -> str:
    kinds = [a.maybe.kind for a in hit.conditions]
    return next((k for k in KIND_ORDER if k in kinds), "unknown")


def _rank(hit: Hit) -> tuple[bool, int, int]:
    now = {"yes": 0, "unknown": 1, "no": 2}[hit.now]
    return (_kind(hit) == "unknown", now, len(hit.conditions))


def select(w: Walk) -> list[Hit]:
    """Certain blocks (the first, then those behind it), then the likeliest
    conditional ones."""
    certain = [h for h in w.hits if not h.conditional]
    maybe = sorted((h for h in w.hits if h.conditional and h.behind is None), key=_rank)
    seen: set[tuple[int, str]] = set()
    chosen: list[Hit] = []
    for h in maybe:
        key = (id(h.rule) if h.rule else id(h.base), h.condition)
        if key not in seen:
            seen.add(key)
            chosen.append(h)
    return certain + chosen[:MAX_CONDITIONAL]


def _where(t: Table) -> str:
    return {"nft": "nftables"}.get(t.tool, t.tool)


def fact(hit: Hit, port: int, address: str, direct: DirectRules,
         connect_as: ConnectAs | None, here: Present = present,
         me: Me | None = None) -> dict[str, Any]:
    t = hit.table
    fx = commands.fixes(hit)
    f: dict[str, Any] = {
        "type": "firewall", "tool": t.tool, "syntax": t.syntax,
        "backend": t.backend,
        "family": hit.packet.family, "table_family": t.family, "table": t.label,
        "where": f"{_where(t)} {t.label}", "chain": hit.chain.name,
        "base_chain": hit.base.name, "hook": hit.hook, "priority": hit.base.priority,
        "verdict": hit.verdict, "policy": hit.rule is None,
        "rule": hit.rule.text if hit.rule else f"policy {hit.verdict}",
        "handle": hit.rule.handle if hit.rule else "",
        "number": hit.rule.number if hit.rule else 0,
        "conditional": hit.conditional, "behind": hit.behind is not None,
        "bypass": fx.bypass, "show": fx.show,
        "address": address, "port": port,
    }
    if hit.rule is None:
        b = hit.base
        f["rule"] = (f"-P {b.name} {hit.verdict.upper()}" if t.syntax == "iptables" else
                     f"type {b.kind} hook {b.hook} priority {b.priority}; policy {hit.verdict};")
    if fx.undo:
        f["undo"], f["undo_why"] = fx.undo, fx.undo_why
    else:  # a policy: nothing to delete, accept loopback before it
        f["undo"], f["undo_why"] = fx.bypass, "accept loopback traffic before the policy"
    if hit.rule is not None and hit.rule.packets >= 0:
        f["packets"] = hit.rule.packets
        if t.syntax == "iptables":  # nft prints its counters in the rule itself
            f["counted"] = f" (its counter: {hit.rule.packets} packets)"
    if hit.rule is not None and hit.rule.comment:
        f["comment"] = hit.rule.comment
    first = hit.behind
    if first is not None:
        f["behind_rule"] = first.rule.text if first.rule else f"policy of {first.chain.name}"
        f["behind_chain"] = first.chain.name
    if hit.conditional:
        f.update(condition=hit.condition, condition_kind=_kind(hit), condition_now=hit.now)
        others = [a.rule.text for a in hit.conditions if a.rule is not None
                  and a.rule is not hit.rule]
        if others:
            f["condition_rule"] = others[0]
        fixes = [a.maybe for a in hit.conditions if a.maybe.fix]
        if fixes:
            f["condition_fix"] = fixes[0].fix
            f["condition_fix_why"] = FIX_WHY.get(fixes[0].kind, "")
        else:
            f["condition_fix"] = commands.fixes(Hit(hit.table, hit.base,
                                                    hit.conditions[0].chain, None, "drop",
                                                    hit.hook, hit.packet)).show
            f["condition_fix_why"] = "the rule that makes it conditional, in its chain"
        _probe_as(f, hit, connect_as)
        _applies_here(f, hit, me)
    fe = frontend(hit, direct, here)
    if fe is not None:
        f.update(frontend=fe.name, frontend_fix=fe.fix, frontend_why=fe.why)
    return f


def _probe_as(f: dict[str, Any], hit: Hit, connect_as: ConnectAs | None) -> None:
    """An owner rule: connect as the user it names, when the assistant can."""
    owners = [a.maybe for a in hit.conditions if a.maybe.kind == "owner" and a.holds]
    if not owners or connect_as is None:
        return
    m = owners[0]
    if m.uid < 0 and m.gid < 0:
        return
    result = connect_as(m.uid, m.gid, hit.packet.saddr, hit.packet.dport)
    if result is None:
        return
    who = f"uid {m.uid}" if m.uid >= 0 else f"gid {m.gid}"
    f["tested_as"], f["tested"] = who, result
    if len(hit.conditions) == 1:
        f["condition_now"] = "no" if result == "ok" else "yes"


def _applies_here(f: dict[str, Any], hit: Hit, me: Me | None) -> None:
    """A rule on the sender: does it hold for this assistant's own connects?"""
    senders = [a for a in hit.conditions if a.maybe.kind in ("owner", "cgroup")]
    if not senders or me is None:
        return
    verdicts = [applies_to(a.maybe, me) for a in senders]
    if None in verdicts:
        return
    f["applies_here"] = all(v == a.holds for v, a in zip(verdicts, senders, strict=True))


def passes(w: Walk, port: int, address: str, direct: DirectRules,
           here: Present = present) -> list[dict[str, Any]]:
    """Accepts that keep a block for this port from applying (ufw's loopback accept)."""
    out = []
    for p in w.passes:
        if p.shadowed is None or p.shadowed.rule is None:
            continue
        f: dict[str, Any] = {
            "type": "firewall_pass", "tool": p.table.tool, "table": p.table.label,
            "chain": p.chain.name, "hook": p.hook, "rule": p.rule.text,
            "shadowed": p.shadowed.rule.text, "shadowed_chain": p.shadowed.chain.name,
            "show": commands.fixes(p.shadowed).show, "address": address, "port": port}
        fe = frontend(p.shadowed, direct, here)
        if fe is not None:
            f["frontend"] = fe.name
        out.append(f)
    return out


def facts(tables: list[Table], addresses: list[str], port: int, direct: DirectRules,
          connect_as: ConnectAs | None = None, here: Present = present,
          me: Me | None = None) -> list[dict[str, Any]]:
    """Pure but for `direct`, `connect_as` and `here`: facts for every dialled address."""
    out: list[dict[str, Any]] = []
    seen: set[tuple[Any, ...]] = set()
    for address in addresses:
        w = walk(tables, address, port)
        for hit in select(w):
            f = fact(hit, port, address, direct, connect_as, here, me)
            key = (f["tool"], f["table"], f["chain"], f["rule"], f.get("condition"), f["behind"])
            if key not in seen:
                seen.add(key)
                out.append(f)
        for p in passes(w, port, address, direct, here):
            key = ("pass", p["table"], p["chain"], p["rule"], p["shadowed"], False)
            if key not in seen:
                seen.add(key)
                out.append(p)
    return out
