"""Linux packet filters: which rule drops or rejects the connection, and when?

Reads nftables (`nft -j list ruleset`), the iptables-nft tables in it through
`iptables-nft-save` (their extensions are opaque in nft's JSON), and legacy
iptables beside them. Walks the client's SYN through every base chain a
loopback packet passes (output, postrouting, prerouting, input; raw, mangle,
nat and filter, by priority), following jumps, gotos, verdict maps and sets,
up to each chain's policy. Matches that depend on the moment or the sender
(limits, connlimit, recent, quotas, owner, cgroup) make a block conditional,
with the condition in words; the rest must hold for certain. Each block
comes with the tool, table, chain, hook and family it lives in, the frontend
that manages it (ufw, firewalld, fail2ban) and the commands to undo it.

Every command has a fixed argument list and a timeout; none gets a shell.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from assistant.facts.base import Collector, Context, Fact, FactType, Field, Summary

if TYPE_CHECKING:
    from assistant.understand.symptoms import Target

TOOLS = ("nft", "iptables", "ip6tables", "iptables-nft", "ip6tables-nft", "iptables-legacy",
         "ip6tables-legacy")
HOOK_NAMES = ("output", "postrouting", "egress", "ingress", "prerouting", "input")
KINDS = ("owner", "cgroup", "connlimit", "recent", "hashlimit", "limit", "quota", "set", "time",
         "unknown")

FIREWALL = FactType("firewall", "A packet-filter rule (or chain policy) that drops or rejects "
                    "the connection, for certain or under a condition.", {
    "tool": Field("str", "the command that lists and changes it", TOOLS),
    "syntax": Field("str", "the syntax the rule is written in", ("nft", "iptables")),
    "backend": Field("str", "where the kernel keeps it", ("nftables", "legacy")),
    "family": Field("int", "the packet's IP version, 4 or 6"),
    "table_family": Field("str", "the table's family", ("inet", "ip", "ip6", "netdev")),
    "table": Field("str", "the table as its tool names it", example="inet filter"),
    "where": Field("str", "backend and table in words", example="nftables inet filter"),
    "chain": Field("str", "the chain holding the rule", example="input"),
    "base_chain": Field("str", "the base chain the packet entered (it jumped from there)"),
    "hook": Field("str", "the hook of that base chain", HOOK_NAMES),
    "priority": Field("int", "the base chain's priority (raw -300 ... filter 0)"),
    "verdict": Field("str", "what it does to the packet", ("drop", "reject")),
    "policy": Field("bool", "it is the chain's policy, not a rule"),
    "rule": Field("str", "the rule as the user would type it (nft or iptables-save syntax)"),
    "handle": Field("str", "nft handle"),
    "number": Field("int", "its position in the chain (iptables)"),
    "packets": Field("int", "the rule's counter: packets it matched"),
    "counted": Field("str", "the counter in words, for rules whose text has none (iptables)"),
    "comment": Field("str", "the rule's comment"),
    "conditional": Field("bool", "it blocks only under a condition"),
    "behind": Field("bool", "another block comes first: this one applies once that is undone"),
    "behind_rule": Field("str", "the block that comes first"),
    "behind_chain": Field("str", "the chain of the block that comes first"),
    "condition": Field("str", "when it blocks, in words"),
    "condition_kind": Field("str", "what the condition depends on", KINDS),
    "condition_now": Field("str", "whether the condition holds now, as far as the facts tell",
                           ("yes", "no", "unknown")),
    "condition_rule": Field("str", "the rule that makes it conditional, when another one"),
    "condition_fix": Field("str", "a command about the condition's state"),
    "condition_fix_why": Field("str", "what that command shows or does"),
    "applies_here": Field("bool", "for a rule on the sender: it also matches this assistant's "
                          "own connects (same user, group or cgroup)"),
    "tested_as": Field("str", "the user a connect was made as, for an owner rule"),
    "tested": Field("str", "how that connect ended", ("ok", "refused", "reset", "timeout",
                                                        "unreachable", "error")),
    "frontend": Field("str", "the tool that manages the rule", ("ufw", "firewalld", "fail2ban")),
    "frontend_fix": Field("str", "the fix in the frontend's own terms"),
    "frontend_why": Field("str", "why the frontend, and what the fix does"),
    "undo": Field("str", "the command that removes the rule (or the set element)"),
    "undo_why": Field("str", "what the undo command does"),
    "bypass": Field("str", "the command that accepts loopback before it"),
    "show": Field("str", "the command that lists the chain"),
    "address": Field("str", "the dialled address"),
    "port": Field("int", "the port"),
}, lambda f: f"{f.get('where')}, chain {f.get('chain')}, rule: {f.get('rule')}"
             + (f" (when {f.get('condition')})" if f.get("conditional") else ""))

FIREWALL_PASS = FactType("firewall_pass", "A rule that accepts the connection before a rule "
                         "that would block its port (ufw's loopback accept, say).", {
    "tool": Field("str", "the command that lists it", TOOLS),
    "table": Field("str", "the table"),
    "chain": Field("str", "the chain of the accepting rule"),
    "hook": Field("str", "the hook", HOOK_NAMES),
    "rule": Field("str", "the accepting rule"),
    "shadowed": Field("str", "the block it comes before"),
    "shadowed_chain": Field("str", "the chain of that block"),
    "frontend": Field("str", "the tool that wrote the block", ("ufw", "firewalld", "fail2ban")),
    "show": Field("str", "the command that lists the rules in order"),
    "address": Field("str", "the dialled address"),
    "port": Field("int", "the port"),
}, lambda f: f"chain {f.get('chain')}, rule: {f.get('rule')} comes before {f.get('shadowed')}")


def collect(ctx: Context) -> list[Fact]:
    # The readers (subprocess, JSON, the walkers) load only when a rule asks.
    from assistant.facts.firewall import moment, reader, report
    from assistant.facts.system.socktable import dial_addresses

    port = ctx.target.port
    dials = dial_addresses(ctx) if port else []
    if not dials or port is None:
        return []
    dials += _other_loopback(ctx, dials, port)
    try:
        tables, _ = reader.read(moment.world())
    except OSError as exc:
        return [{"type": "unknown", "reason": str(exc)}]
    firewalld = any(t.tool == "nft" and t.name == "firewalld" for t in tables)

    def direct() -> list[str] | None:
        return ctx.memo("firewalld_direct", reader.direct_rules) if firewalld else None

    def connect_as(uid: int, gid: int, address: str, dport: int) -> str | None:
        return moment.connect_as(uid, gid, address, dport, ctx.probe_timeout)

    return report.facts(tables, dials, port, direct, connect_as, me=moment.me())


def _other_loopback(ctx: Context, dials: list[str], port: int) -> list[str]:
    """The other family's loopback when the listener takes it too: a rule for
    ::1 beside the one for 127.0.0.1 needs its own fix (a client that tries
    `localhost` meets both)."""
    from assistant.facts.system.socktable import source

    if not all(a in ("127.0.0.1", "::1") for a in dials) or len(dials) != 1:
        return []
    other = "::1" if dials[0] == "127.0.0.1" else "127.0.0.1"
    try:
        rows = source(ctx).table()
    except OSError:
        return []
    covers = {"::1": ("::", "::1"), "127.0.0.1": ("0.0.0.0", "127.0.0.1", "::")}[other]
    from assistant.facts.system.socktable import bindv6only

    ok = [r for r in rows if r.port == port and r.address in covers
          and not (other == "127.0.0.1" and r.address == "::" and bindv6only())]
    return [other] if ok else []


def summarise(facts: list[Fact], target: Target) -> Summary:
    blocks = [f for f in facts if f["type"] == "firewall"]
    certain = [f for f in blocks if not f.get("conditional") and not f.get("behind")]
    if certain:
        parts = [f"{f['where']}, chain {f['chain']}, rule: {f['rule']}" for f in certain[:3]]
        return Summary("problem", "blocked by " + "; ".join(parts))
    if blocks:
        parts = [f"{f['where']}, chain {f['chain']}, rule: {f['rule']} (when {f['condition']})"
                 for f in blocks[:2]]
        return Summary("warning", "blocked only under a condition: " + "; ".join(parts))
    text = f"no packet-filter rule drops or rejects port {target.port}"
    passes = [f for f in facts if f["type"] == "firewall_pass"]
    if passes:
        p = passes[0]
        text += (f"; chain {p['chain']} accepts it first ({p['rule']}), before chain "
                 f"{p['shadowed_chain']} has `{p['shadowed']}`")
    return Summary("ok", text)


COLLECTOR = Collector("firewall", "Linux packet-filter rules that drop or reject the connection.",
                      (FIREWALL, FIREWALL_PASS), collect, summarise, timeout=10.0)
