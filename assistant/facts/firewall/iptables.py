"""`iptables-save` / `ip6tables-save` text (iptables-nft or iptables-legacy)
as tables the walker can follow, every rule kept in the syntax it was
written in (and `-D` takes back)."""

from __future__ import annotations

import re
import shlex

from assistant.facts.firewall import conditions as cond
from assistant.facts.firewall import xtables
from assistant.facts.firewall.model import (
    Chain,
    Decision,
    Packet,
    Result,
    Rule,
    Table,
    Verdict,
    both,
    negate,
)

# (table, builtin chain) -> (hook, priority, nft chain type)
BUILTIN: dict[tuple[str, str], tuple[str, int, str]] = {
    ("raw", "PREROUTING"): ("prerouting", -300, "filter"),
    ("raw", "OUTPUT"): ("output", -300, "filter"),
    ("mangle", "PREROUTING"): ("prerouting", -150, "filter"),
    ("mangle", "INPUT"): ("input", -150, "filter"),
    ("mangle", "FORWARD"): ("forward", -150, "filter"),
    ("mangle", "OUTPUT"): ("output", -150, "route"),
    ("mangle", "POSTROUTING"): ("postrouting", -150, "filter"),
    ("nat", "PREROUTING"): ("prerouting", -100, "nat"),
    ("nat", "INPUT"): ("input", 100, "nat"),
    ("nat", "OUTPUT"): ("output", -100, "nat"),
    ("nat", "POSTROUTING"): ("postrouting", 100, "nat"),
    ("filter", "INPUT"): ("input", 0, "filter"),
    ("filter", "FORWARD"): ("forward", 0, "filter"),
    ("filter", "OUTPUT"): ("output", 0, "filter"),
    ("security", "INPUT"): ("input", 50, "filter"),
    ("security", "FORWARD"): ("forward", 50, "filter"),
    ("security", "OUTPUT"): ("output", 50, "filter"),
}
GENERIC = {"-s", "--source", "-d", "--destination", "-i", "--in-interface", "-o",
           "--out-interface", "-p", "--protocol", "-f", "--fragment", "-m", "--match", "-j",
           "--jump", "-g", "--goto", "-c", "--set-counters"}
COUNTERS = re.compile(r"^\[(\d+):(\d+)\]\s+")


def tables(text: str, tool: str, world: cond.World) -> list[Table]:
    """Pure (given the world): the tables of one iptables-save dump."""
    family = "ip6" if tool.startswith("ip6") else "ip"
    found: list[Table] = []
    table: Table | None = None
    lines: list[tuple[str, str, int]] = []
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("*"):
            table = Table(tool, family, line[1:])
            found.append(table)
        elif table is not None and line.startswith(":"):
            name, policy = (line[1:].split() + ["-"])[:2]
            hook, prio, kind = BUILTIN.get((table.name, name), ("", 0, "filter"))
            table.chains[name] = Chain(name, hook=hook, priority=prio, kind=kind,
                                       policy={"DROP": "drop"}.get(policy, "accept"))
        elif table is not None and (line.startswith("-A ") or COUNTERS.match(line)):
            packets = -1
            m = COUNTERS.match(line)
            if m:
                packets, line = int(m.group(1)), line[m.end():]
            lines.append((table.name, line, packets))
    by_name = {t.name: t for t in found}
    for tname, line, packets in lines:
        t = by_name[tname]
        try:
            tokens = shlex.split(line)
        except ValueError:
            tokens = line.split()
        if len(tokens) < 2 or tokens[0] != "-A":
            continue
        chain = t.chains.setdefault(tokens[1], Chain(tokens[1]))
        chain.rules.append(rule(tokens[2:], line, len(chain.rules) + 1, packets, t, world))
    return found


def split(tokens: list[str]) -> tuple[list[tuple[bool, str, str]], list[tuple[str, list[
        xtables.Option]]], tuple[str, str, list[xtables.Option]] | None]:
    """(generic options, match modules with their options, the target)."""
    generic: list[tuple[bool, str, str]] = []
    modules: list[tuple[str, list[xtables.Option]]] = []
    tgt: tuple[str, str, list[xtables.Option]] | None = None
    opts: list[xtables.Option] | None = None
    i, neg = 0, False
    while i < len(tokens):
        tok = tokens[i]
        if tok == "!":
            neg, i = True, i + 1
            continue
        if tok in GENERIC:
            arg = tokens[i + 1] if i + 1 < len(tokens) else ""
            i += 2
            if tok in ("-m", "--match"):
                opts = []
                modules.append((arg, opts))
            elif tok in ("-j", "--jump", "-g", "--goto"):
                opts = []
                tgt = ("goto" if tok in ("-g", "--goto") else "jump", arg, opts)
            elif tok in ("-f", "--fragment"):
                generic.append((neg, tok, ""))
                i -= 1
            elif tok in ("-c", "--set-counters"):
                i += 1
            else:
                generic.append((neg, tok, arg))
            neg = False
            continue
        args = []
        i += 1
        while i < len(tokens) and tokens[i] != "!" and not (
                tokens[i].startswith("-") and not tokens[i][1:2].isdigit()):
            args.append(tokens[i])
            i += 1
        if opts is None:  # `-p tcp --dport 80` without `-m tcp`: the protocol's own match
            proto = next((a for _, o, a in reversed(generic) if o in ("-p", "--protocol")), "")
            opts = []
            modules.append((proto or "unknown", opts))
        opts.append((neg, tok, args))
        neg = False
    return generic, modules, tgt


def _generic(opt: str, arg: str, pkt: Packet) -> Result:
    if opt in ("-p", "--protocol"):
        return arg.lower() in ("tcp", "6", "all", "0")
    if opt in ("-s", "--source"):
        return xtables.address(arg, pkt.saddr)
    if opt in ("-d", "--destination"):
        return xtables.address(arg, pkt.daddr)
    if opt in ("-i", "--in-interface"):
        return xtables.interface(arg, pkt.iif)
    if opt in ("-o", "--out-interface"):
        return xtables.interface(arg, pkt.oif)
    return False  # -f: a SYN is never a fragment


def rule(tokens: list[str], line: str, number: int, packets: int, table: Table,
         world: cond.World) -> Rule:
    generic, modules, tgt = split(tokens)
    comment = next((args[0] for name, opts in modules if name == "comment"
                    for _, opt, args in opts if opt == "--comment" and args), "")
    chains = set(table.chains)

    def decide(pkt: Packet) -> Decision:
        result: Result = True
        for neg, opt, arg in generic:
            r = _generic(opt, arg, pkt)
            result = both(result, negate(r) if neg else r)
            if result is False:
                return Decision(False)
        for name, opts in modules:
            text = " ".join(["-m", name] + [
                ("! " if n else "") + " ".join([o] + [shlex.quote(a) for a in a_])
                for n, o, a_ in opts])
            result = both(result, xtables.module(name, opts, pkt, text, world))
            if result is False:
                return Decision(False)
        if tgt is None:
            return Decision(result)
        kind, name, opts = tgt
        if kind == "goto":
            return Decision(result, Verdict("goto", name))
        if result is True:
            xtables.rewrite(name, opts, pkt)
        return Decision(result, xtables.target(name, opts, pkt, chains))

    return Rule(decide=decide, text=line, number=number, spec=shlex.join(tokens),
                packets=packets, comment=comment)
