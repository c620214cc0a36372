"""Does the packet filter let loopback connections through?

A checkup has no target port, so this walks a loopback SYN (127.0.0.1 and
::1) to a few ports through the firewall check (facts/firewall): a typical
development port, which any rule against loopback as a whole meets, and the
ports the team declares or this machine listens on, where a rule against
one port would bite. The walk reads the rules; it sends nothing.

The firewall check is reused through its Collector, so this module keeps
only what a checkup line needs from its facts: where the block is, what
undoes it, and which frontend (ufw, firewalld) wrote it.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

from assistant.facts.base import Collector, Context, Fact, FactType, Field, Summary

if TYPE_CHECKING:
    from assistant.understand.symptoms import Target

# What any loopback connection meets: two typical development ports, so
# that a rule against loopback as a whole shows as blocking "every port".
CANARIES = (3000, 8080)
LOOPBACK = ("127.0.0.1", "::1")
MAX_PORTS = 8  # each port is one read of the rule set

LOOPBACK_BLOCK = FactType("loopback_block", "A packet-filter rule (or chain policy) that drops "
                          "or rejects loopback connections to a port.", {
    "port": Field("int", "the first port it blocks"),
    "ports": Field("str", "the walked ports it blocks", example="8080, 5432"),
    "reach": Field("str", "those ports in words: `every port walked (...)` or `port 8080`",
                   example="every port walked (3000, 8080)"),
    "addresses": Field("str", "the loopback addresses it blocks", example="127.0.0.1, ::1"),
    "tool": Field("str", "the command that lists and changes the rule", example="nft"),
    "table": Field("str", "the table", example="inet filter"),
    "chain": Field("str", "the chain", example="input"),
    "where": Field("str", "the tool and table in words", example="nftables inet filter"),
    "verdict": Field("str", "what it does to the packet", ("drop", "reject")),
    "rule": Field("str", "the rule as text"),
    "policy": Field("bool", "it is the chain's policy, not a rule"),
    "conditional": Field("bool", "it blocks only under a condition (a rate limit, an owner)"),
    "condition": Field("str", "when it blocks, in words"),
    "frontend": Field("str", "the tool that manages it", ("ufw", "firewalld", "fail2ban")),
    "frontend_fix": Field("str", "the fix in the frontend's own terms, when the firewall check "
                          "gives it", example="sudo ufw allow in on lo", verbatim=True),
    "frontend_why": Field("str", "why the frontend's way, and what it does"),
    # Commands built by the firewall walk, quoted there: a fix takes them whole.
    "undo": Field("str", "the command that removes it", verbatim=True),
    "bypass": Field("str", "the command that accepts loopback before it", verbatim=True),
}, lambda f: f"{f.get('where')}, chain {f.get('chain')}: {f.get('rule')} "
             f"({f.get('verdict')}s {f.get('addresses')} to {f.get('reach')})")

PACKET_FILTER = FactType("packet_filter", "What the loopback walk covered.", {
    "ports": Field("str", "the ports walked, comma-separated", example="8080, 5432"),
    "blocked": Field("bool", "some rule or policy drops or rejects one of them"),
}, lambda f: f"packet filter walked for ports {f.get('ports')}")


def ports_to_walk(declared: list[int], listening: list[int]) -> list[int]:
    """Pure: the canaries, then declared services' ports, then listening ports."""
    out: list[int] = []
    for p in [*CANARIES, *declared, *sorted(listening)]:
        if p not in out and len(out) < MAX_PORTS:
            out.append(p)
    return out


def _frontend(f: Fact) -> str | None:
    """The frontend that wrote a rule: the firewall check's word, else its names."""
    if f.get("frontend"):
        return str(f["frontend"])
    chain, table = str(f.get("chain", "")).lower(), str(f.get("table", "")).lower()
    if chain.startswith("ufw"):
        return "ufw"
    if "firewalld" in table or chain.startswith(("filter_in_", "in_public")):
        return "firewalld"
    return None


def block_fact(f: Fact) -> Fact:
    """Pure: a loopback_block fact from one firewall fact (either version of
    its fields: `source` and handle-only, or `tool` with undo and bypass)."""
    tool = str(f.get("tool") or f.get("source") or "nft")
    table, chain = str(f.get("table", "")), str(f.get("chain", ""))
    handle = str(f.get("number") or f.get("handle") or "")
    out_hook = chain.lower() in ("output", "postrouting")
    if tool == "nft":
        undo = f"sudo nft delete rule {table} {chain} handle {handle}" if handle else None
        bypass = f"sudo nft insert rule {table} {chain} {'oifname' if out_hook else 'iifname'} lo accept"
    else:
        undo = f"sudo {tool} -D {chain} {handle}" if handle else None
        bypass = f"sudo {tool} -I {chain} 1 {'-o' if out_hook else '-i'} lo -j ACCEPT"
    policy = bool(f.get("policy"))
    return {"type": "loopback_block", "port": f.get("port"), "tool": tool, "table": table, "chain": chain,
            "where": f.get("where") or f"{tool} {table}".strip(), "verdict": f.get("verdict"),
            "rule": f.get("rule"), "policy": policy, "conditional": bool(f.get("conditional")),
            "condition": f.get("condition"), "frontend": _frontend(f),
            "frontend_fix": f.get("frontend_fix"), "frontend_why": f.get("frontend_why"),
            "undo": f.get("undo") or (None if policy else undo),
            "bypass": f.get("bypass") or bypass}


def blocks(found: list[Fact], walked: list[int], errors: list[str],
           frontend: str | None = None) -> list[Fact]:
    """Pure: one loopback_block per rule from the firewall facts of every walk
    (the ports and addresses it blocks gathered); unknown facts go to `errors`.
    A block that applies only once another is undone (`behind`) is left out.
    `frontend` (ufw or firewalld, when one is active) owns the chains'
    policies: its own command changes them, not a raw rule beside it."""
    by_rule: dict[tuple[Any, ...], tuple[Fact, list[int], list[str]]] = {}
    for f in found:
        if f.get("type") == "unknown":
            errors.append(str(f.get("reason")))
        elif f.get("type") == "firewall" and not f.get("behind"):
            fact = block_fact(f)
            if fact["policy"] and fact["frontend"] is None:
                fact["frontend"] = frontend
            entry = by_rule.setdefault((fact["where"], fact["chain"], fact["rule"]),
                                       (fact, [], []))
            port, address = int(f.get("port") or 0), str(f.get("address"))
            if port not in entry[1]:
                entry[1].append(port)
            if address not in entry[2]:
                entry[2].append(address)
    out = []
    for fact, ports, addresses in by_rule.values():
        shown = ", ".join(str(p) for p in walked if p in ports)
        every = len(walked) > 1 and all(p in ports for p in walked)
        out.append({**fact, "ports": shown, "addresses": ", ".join(a for a in LOOPBACK
                                                                   if a in addresses),
                    "reach": f"every port walked ({shown})" if every else
                    f"port{'s' if len(ports) > 1 else ''} {shown}"})
    return out


def active_frontend() -> str | None:
    """ufw or firewalld, when one manages the rules here (by their own state:
    ufw.conf's ENABLED, firewalld's pid file and a live process)."""
    import os
    import re

    try:
        with open("/etc/ufw/ufw.conf") as fh:
            if re.search(r"^\s*ENABLED\s*=\s*yes\b", fh.read(65536), re.M):
                return "ufw"
    except OSError:
        pass
    try:
        with open("/var/run/firewalld.pid") as fh:
            if os.path.exists(f"/proc/{int(fh.read(32).strip())}"):
                return "firewalld"
    except (OSError, ValueError):
        pass
    return None


def _reason(error: str) -> str:
    """Why the walk could not tell, in a checkup's words: the firewall check
    names every tool it tried, each refusing an ordinary user alike."""
    if "not permitted" in error or "you must be root" in error:
        return f"reading the rules needs root: sudo {_this_program()} doctor"
    return error


def _this_program() -> str:
    """How to run this very program again, pasted: its own path, since sudo
    resets PATH and the program may not be on it at all (a venv, pipx)."""
    import os
    import shlex
    import sys

    argv0 = sys.argv[0] if sys.argv else ""
    if not argv0 or argv0.endswith("__main__.py") or argv0 == "-c":
        return f"{shlex.quote(sys.executable)} -m assistant"
    return shlex.quote(os.path.abspath(argv0))


def _walk(ctx: Context, port: int, address: str) -> list[Fact]:
    """The firewall check's facts for a connection to address:port. One family
    per walk: the check names each blocking rule once, whichever family met it."""
    from assistant.facts.collectors import get
    from assistant.understand.symptoms import Target, parse_target_host

    firewall = get("firewall")
    assert firewall is not None
    target = Target(host=address, port=port, dial=[address], parsed=parse_target_host(address))
    sub = Context(target=target, env=ctx.env, probe_timeout=ctx.probe_timeout,
                  hosts_path=ctx.hosts_path, services=ctx.services)
    # The check may walk the other family too (a listener taking both): its
    # facts name their own address.
    return [{**f, "address": f.get("address") or address} for f in firewall.collect(sub)]


def collect(ctx: Context) -> list[Fact]:
    from assistant.facts.system import platform
    from assistant.facts.system.socktable import source

    if not platform.system().startswith("linux"):
        return [{"type": "unknown", "reason": "only Linux packet filters are read"}]
    listening = sorted({r.port for r in source(ctx).table()
                        if r.port >= 1024 and (r.address in ("0.0.0.0", "::") or
                                               r.address.startswith("127.") or r.address == "::1")})
    ports = ports_to_walk([s["port"] for s in ctx.services], listening)
    walks = [(p, a) for p in ports for a in LOOPBACK]
    found: dict[tuple[int, str], list[Fact]] = {}
    errors: list[str] = []

    def walk(port: int, address: str) -> None:
        try:
            found[(port, address)] = _walk(ctx, port, address)
        except Exception as exc:  # noqa: BLE001 - a walk that fails is "cannot tell"
            errors.append(f"{type(exc).__name__}: {exc}")

    # Side by side: each walk reads the rules anew (a subprocess or two).
    threads = [threading.Thread(target=walk, args=w, daemon=True) for w in walks]
    for t in threads:
        t.start()
    deadline = time.monotonic() + WALK_TIMEOUT
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    errors += [f"the walk for port {p} did not finish in {WALK_TIMEOUT:g} s"
               for p, a in walks if (p, a) not in found and not errors]
    facts = blocks([f for w in walks for f in found.get(w, [])], ports, errors,
                   active_frontend())
    if errors:
        return [*facts, {"type": "unknown", "reason": _reason(errors[0])}]
    return [*facts, {"type": "packet_filter", "ports": ", ".join(map(str, ports)),
                     "blocked": bool(facts)}]


def summarise(facts: list[Fact], target: Target) -> Summary:
    blocks = [f for f in facts if f["type"] == "loopback_block"]
    if not blocks:
        return Summary("ok", "no packet-filter rule drops or rejects loopback connections")
    return Summary("problem", "; ".join(LOOPBACK_BLOCK.describe(b) for b in blocks[:3]))


WALK_TIMEOUT = 7.0  # within the check's own bound, so its reason is ours
COLLECTOR = Collector("loopback_filter", "Packet-filter rules that drop or reject loopback "
                      "connections (a SYN walked to a few ports, nothing sent).",
                      (LOOPBACK_BLOCK, PACKET_FILTER), collect, summarise,
                      timeout=8.0,
                      asks=lambda t: "does a packet filter drop loopback connections?")
