"""What the hosts file says about localhost."""

from __future__ import annotations

from typing import TYPE_CHECKING

from assistant.facts.base import Collector, Context, Fact, FactType, Field, Summary
from assistant.facts.system.resolver import read_hosts

if TYPE_CHECKING:
    from assistant.understand.symptoms import Target

HOSTS_FILE = FactType("hosts_file", "The hosts file's lines for localhost.", {
    "path": Field("str", "the file read", example="/etc/hosts"),
    "readable": Field("bool", "the file could be read"),
    "localhost_v4": Field("bool", "localhost maps to a 127.x address"),
    "localhost_v6": Field("bool", "localhost maps to ::1"),
    "localhost_other": Field("str", "addresses other than loopback that localhost maps to "
                             "(absent when none)", example="192.168.1.20"),
}, lambda f: f"{f.get('path')}: localhost v4={f.get('localhost_v4')} "
             f"v6={f.get('localhost_v6')}")


def collect(ctx: Context) -> list[Fact]:
    names = ctx.memo("hosts", lambda: read_hosts(ctx.hosts_path))
    if names is None:
        return [{"type": "hosts_file", "path": ctx.hosts_path, "readable": False}]
    local = names.get("localhost", [])
    # Anything else sends "localhost" off this machine (a copied line, a typo).
    other = [a for a in local if not a.startswith("127.") and a != "::1"]
    return [{"type": "hosts_file", "path": ctx.hosts_path, "readable": True,
             "localhost_v4": any(a.startswith("127.") for a in local),
             "localhost_v6": "::1" in local, "localhost_other": ", ".join(other) or None}]


def summarise(facts: list[Fact], target: Target) -> Summary:
    f = facts[0] if facts else {}
    if not f.get("readable"):
        return Summary("unknown", f"{f.get('path')} is not readable")
    ok = bool(f.get("localhost_v4"))
    return Summary("ok" if ok else "warning",
                   f"{f.get('path')}: localhost -> IPv4 {'yes' if ok else 'no'}, "
                   f"IPv6 {'yes' if f.get('localhost_v6') else 'no'}")


COLLECTOR = Collector("hosts_file", "The hosts file's localhost lines.", (HOSTS_FILE,), collect,
                      summarise, timeout=1.0,
                      asks=lambda t: "what does the hosts file say about localhost?")
