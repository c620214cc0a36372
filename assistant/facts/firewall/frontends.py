"""Who manages the rules: ufw, firewalld or fail2ban, known by their chains,
tables and sets. A rule a frontend wrote is changed with the frontend (a raw
change is undone at its next reload); the fix says so in its own terms."""

from __future__ import annotations

import shlex
from collections.abc import Callable
from typing import NamedTuple

from assistant.facts.firewall.model import RECEIVING
from assistant.facts.firewall.walk import Hit


class Frontend(NamedTuple):
    name: str           # ufw | firewalld | fail2ban
    fix: str            # the command, in the frontend's own terms
    why: str


DirectRules = Callable[[], list[str] | None]
# Whether a frontend is there to take the command (ufw installed, fail2ban's
# server answering on its usual socket, firewall-cmd installed).
Present = Callable[[str], bool]


def present(name: str) -> bool:
    import os
    import shutil

    if name == "fail2ban":
        return shutil.which("fail2ban-client") is not None and any(
            os.path.exists(p) for p in ("/run/fail2ban/fail2ban.sock",
                                        "/var/run/fail2ban/fail2ban.sock"))
    return shutil.which({"ufw": "ufw", "firewalld": "firewall-cmd"}.get(name, name)) is not None


def _f2b_jail(hit: Hit) -> str | None:
    """fail2ban's iptables actions make a chain `f2b-JAIL`; its nftables actions
    a table `f2b-table` with a set `addr-set-JAIL` (or `addr6-set-JAIL`)."""
    if hit.table.tool == "nft":
        if hit.table.name != "f2b-table" or not hit.decision:
            return None
        for name, _ in hit.decision.via:
            for prefix in ("addr-set-", "addr6-set-"):
                if name.startswith(prefix):
                    return name[len(prefix):]
        return None
    return hit.chain.name[4:] if hit.chain.name.startswith("f2b-") else None


def _banned(hit: Hit) -> str:
    if hit.decision:
        for _, elem in hit.decision.via:
            return elem
    tokens = hit.rule.spec.split() if hit.rule else []
    if "-s" in tokens:
        src = tokens[tokens.index("-s") + 1]
        return src.removesuffix("/32").removesuffix("/128")
    return hit.packet.saddr


def _ufw(hit: Hit) -> Frontend | None:
    chains = hit.table.chains
    if not any(name.startswith(("ufw-", "ufw6-")) for name in chains):
        return None
    six = "6" if hit.table.family == "ip6" else ""
    incoming = hit.hook in RECEIVING
    name = hit.chain.name
    if not name.startswith(("ufw-", "ufw6-")) and hit.rule is not None:
        return None  # a rule someone added to INPUT itself runs before all of ufw's
    why = ("ufw writes these rules; an iptables change is lost at its next reload or reboot")
    if "-before-" in name or name.endswith("-not-local"):
        where = f"/etc/ufw/before{six}.rules"
        return Frontend("ufw", f"sudoedit {where}", f"the rule comes from {where}: take it out "
                        f"(the stock file accepts lo first), then `sudo ufw reload`")
    direction = "in" if incoming else "out"
    user = chains.get(f"ufw{six}-user-{'input' if incoming else 'output'}")
    cmd = (f"sudo ufw insert 1 allow {direction} on lo" if user is not None and user.rules
           else f"sudo ufw allow {direction} on lo")
    return Frontend("ufw", cmd, f"{why}; ufw's own rule for loopback "
                    f"({'incoming' if incoming else 'outgoing'}) goes before its other rules")


def _firewalld(hit: Hit, direct: DirectRules) -> Frontend | None:
    t = hit.table
    if t.tool == "nft" and t.name == "firewalld_policy_drop":
        return Frontend("firewalld", "sudo firewall-cmd --panic-off",
                        "firewalld's panic mode drops every packet, loopback included")
    if t.tool == "nft" and t.name == "firewalld":
        return Frontend("firewalld", "sudo firewall-cmd --zone=trusted --add-interface=lo",
                        "firewalld's zones do not filter the trusted zone (add --permanent to "
                        "keep it)")
    if t.syntax != "iptables" or hit.rule is None:
        return None
    rules = direct()
    if not rules:
        return None
    ipv = "ipv6" if t.family == "ip6" else "ipv4"
    have = hit.rule.spec.split()
    for line in rules:
        parts = shlex.split(line)
        if len(parts) < 5 or parts[:3] != [ipv, t.name, hit.chain.name]:
            continue
        if _subsequence(parts[4:], have):
            return Frontend("firewalld", f"sudo firewall-cmd --direct --remove-rule {line}",
                            "firewalld added it as a direct rule (and re-adds it at reload); "
                            "run it again with --permanent if it is also in the permanent "
                            "configuration")
    return None


def _subsequence(want: list[str], have: list[str]) -> bool:
    it = iter(have)
    return all(any(w == h for h in it) for w in want)


def frontend(hit: Hit, direct: DirectRules, here: Present = present) -> Frontend | None:
    jail = _f2b_jail(hit)
    if jail is not None:
        if not here("fail2ban"):
            return None  # a chain named like fail2ban's, but no fail2ban to ask
        return Frontend("fail2ban", f"sudo fail2ban-client set {jail} unbanip {_banned(hit)}",
                        f"fail2ban banned {_banned(hit)} in jail {jail}; to keep it from being "
                        "banned again, add it to ignoreip in /etc/fail2ban/jail.local")
    fe = _ufw(hit)
    if fe is None:
        fe = _firewalld(hit, direct)
    return fe if fe is not None and here(fe.name) else None
