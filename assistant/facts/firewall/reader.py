"""Read the system's packet filters, as the tools that manage them show them.

- `nft -j list ruleset`: nftables, and the tables iptables-nft keeps there.
- `iptables-nft-save` / `ip6tables-nft-save` for those iptables-nft tables:
  `nft -j` shows their extensions (multiport, connlimit, owner...) as opaque
  `xt` objects, iptables-save with their arguments; the rules then read and
  are fixed in iptables syntax, with the iptables command.
- `iptables-legacy-save` / `ip6tables-legacy-save` when legacy tables exist
  (/proc/net/ip*_tables_names; running the tool would create them), beside
  nftables: both filter the same packets.
- `iptables-save` / `ip6tables-save` alone where nft is not installed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from typing import Any

from assistant.facts.firewall import iptables, nft
from assistant.facts.firewall.conditions import World
from assistant.facts.firewall.model import Table
from assistant.facts.system.run import run_command

XT_TABLES = {"filter", "nat", "mangle", "raw", "security"}


def legacy_loaded(family: int) -> bool:
    """Legacy xtables hold rules only when their tables exist; reading the
    names does not load kernel modules, running the tool might."""
    path = "/proc/net/ip_tables_names" if family == 4 else "/proc/net/ip6_tables_names"
    try:
        with open(path) as fh:
            return bool(fh.read().strip())
    except OSError:
        return False


def _backend(cmd: str) -> str:
    """`nft` or `legacy`: which backend an iptables binary drives."""
    path = shutil.which(cmd)
    real = os.path.basename(os.path.realpath(path)) if path else ""
    return "legacy" if "legacy" in real else "nft"


def names() -> dict[str, str]:
    """The command names a user types for each backend on this machine."""
    v4_nft = "iptables" if _backend("iptables") == "nft" else "iptables-nft"
    v6_nft = "ip6tables" if _backend("ip6tables") == "nft" else "ip6tables-nft"
    v4_leg = "iptables-legacy" if shutil.which("iptables-legacy") else "iptables"
    v6_leg = "ip6tables-legacy" if shutil.which("ip6tables-legacy") else "ip6tables"
    return {"4nft": v4_nft, "6nft": v6_nft, "4legacy": v4_leg, "6legacy": v6_leg}


def _save_nft(family: int) -> tuple[str | None, str | None]:
    if family == 4:
        if shutil.which("iptables-nft-save"):
            return run_command(["iptables-nft-save", "-c"])
        if _backend("iptables-save") == "nft":
            return run_command(["iptables-save", "-c"])
    else:
        if shutil.which("ip6tables-nft-save"):
            return run_command(["ip6tables-nft-save", "-c"])
        if _backend("ip6tables-save") == "nft":
            return run_command(["ip6tables-save", "-c"])
    return None, "iptables-nft-save is not installed"


def _save_legacy(family: int) -> tuple[str | None, str | None]:
    if family == 4:
        if shutil.which("iptables-legacy-save"):
            return run_command(["iptables-legacy-save", "-c"])
        return run_command(["iptables-save", "-c"])
    if shutil.which("ip6tables-legacy-save"):
        return run_command(["ip6tables-legacy-save", "-c"])
    return run_command(["ip6tables-save", "-c"])


def compat(native: list[Table], saved: list[Table]) -> list[Table]:
    """Replace iptables-nft tables read from `nft -j` by their iptables-save
    reading, when both list the same chains with the same number of rules."""
    by_key = {(t.family, t.name): t for t in saved}
    out = []
    for t in native:
        s = by_key.get((t.family, t.name))
        if s is not None and t.name in XT_TABLES and all(
                name in s.chains and len(s.chains[name].rules) == len(c.rules)
                for name, c in t.chains.items()):
            for name, c in s.chains.items():
                base = t.chains.get(name)
                if base is None and c.hook:
                    c.hook = ""  # iptables-nft creates base chains only when used
                elif base is not None:
                    c.hook, c.priority, c.policy = base.hook, base.priority, base.policy
                    for rule, nrule in zip(c.rules, base.rules, strict=True):
                        rule.handle = nrule.handle
                        if rule.packets < 0:
                            rule.packets = nrule.packets
            out.append(s)
        else:
            out.append(t)
    return out


DEVICE = re.compile(r'^\s*chain (\S+) \{\n\s*type \S+ hook (?:ingress|egress) '
                    r'(?:device "?([^"\s;]+)"?|devices = \{ ([^}]*) \})', re.M)


def devices(text: str) -> dict[str, list[str]]:
    """Pure: chain -> the devices its ingress/egress hook is bound to, from
    `nft list table` text (`nft -j` 1.0.6 leaves the device out)."""
    return {m.group(1): ([m.group(2)] if m.group(2) else
                         [d.strip().strip('"') for d in m.group(3).split(",")])
            for m in DEVICE.finditer(text)}


def _bind_devices(tables: list[Table]) -> None:
    for t in tables:
        unbound = [c for c in t.chains.values() if c.hook in ("ingress", "egress")
                   and not c.device]
        if t.tool != "nft" or not unbound:
            continue
        family, name = t.family, t.name
        text, _ = run_command(["nft", "list", "table", family, name])
        found = devices(text or "")
        for c in unbound:
            c.device = "lo" if "lo" in found.get(c.name, []) else "?"


def read(world: World) -> tuple[list[Table], list[str]]:
    """Every table that filters loopback traffic, and why any could not be read."""
    reasons: list[str] = []
    tools = names()
    found: list[Table] = []
    out, why = run_command(["nft", "-j", "list", "ruleset"])
    nft_ok = out is not None
    if out is not None:
        try:
            data: dict[str, Any] = json.loads(out or "{}")
        except ValueError:
            nft_ok = False
            reasons.append("nft printed something that is not JSON")
        else:
            native = nft.tables(data, world)
            for fam, key in ((4, "ip"), (6, "ip6")):
                if not any(t.family == key and t.name in XT_TABLES for t in native):
                    continue
                text, why6 = _save_nft(fam)
                if text is not None:
                    native = compat(native, iptables.tables(text, tools[f"{fam}nft"], world))
                elif why6:
                    reasons.append(why6)
            _bind_devices(native)
            found += native
    elif why:
        reasons.append(why)
    for fam in (4, 6):
        if nft_ok and not legacy_loaded(fam):
            continue
        text, why = _save_legacy(fam) if nft_ok else (
            run_command(["iptables-save", "-c"]) if fam == 4 else
            run_command(["ip6tables-save", "-c"]))
        if text is None:
            if why:
                reasons.append(why)
            continue
        tool = tools[f"{fam}legacy"] if nft_ok else ("iptables" if fam == 4 else "ip6tables")
        legacy = iptables.tables(text, tool, world)
        for t in legacy:
            t.backend = "legacy" if nft_ok or _backend(tool) == "legacy" else "nftables"
        found += legacy
    if not nft_ok and not found:
        raise OSError("; ".join(dict.fromkeys(reasons)) or "no packet filter tools")
    return found, reasons


def direct_rules() -> list[str] | None:
    """firewalld's direct rules (`firewall-cmd --direct --get-all-rules`)."""
    if shutil.which("firewall-cmd") is None:
        return None
    out, _ = run_command(["firewall-cmd", "--direct", "--get-all-rules"])
    return [line for line in (out or "").splitlines() if line.strip()] if out else None
