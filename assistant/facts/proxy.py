"""Proxy variables and whether NO_PROXY lets the target bypass them."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import TYPE_CHECKING

from assistant.facts.base import Collector, Context, Fact, FactType, Field, Summary
from assistant.understand.redact import clean

if TYPE_CHECKING:
    from assistant.understand.symptoms import Target

# Lower case first: curl ignores upper-case HTTP_PROXY (httpoxy), most others
# take either.
_VARS = {"http": ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"),
         "https": ("https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY")}
_DEFAULT = ("all_proxy", "ALL_PROXY")

PROXY = FactType("proxy", "A proxy variable that would carry the client's request.", {
    "variable": Field("str", "the variable's name", example="http_proxy"),
    "proxy": Field("str", "its value, credentials redacted"),
    "applies": Field("bool", "the variable applies to the target's scheme"),
    "bypassed": Field("bool", "NO_PROXY / no_proxy covers the target host"),
    "no_proxy": Field("str", "the NO_PROXY value, credentials redacted"),
}, lambda f: f"{f.get('variable')}={f.get('proxy')} (bypassed: {f.get('bypassed')})")


def bypassed(host: str, no_proxy: str) -> bool:
    """Pure: whether `no_proxy` (comma list: names, .suffixes, IPs, CIDRs, *) covers host."""
    host = host.strip("[]").lower().rstrip(".")
    for raw in no_proxy.split(","):
        entry = raw.strip().lower()
        if not entry:
            continue
        if entry == "*":
            return True
        entry = entry.split(":", 1)[0] if entry.count(":") == 1 else entry.strip("[]")
        if "/" in entry:
            try:
                if ipaddress.ip_address(host) in ipaddress.ip_network(entry, strict=False):
                    return True
            except ValueError:
                pass
            continue
        entry = entry.lstrip("*").lstrip(".")
        if host == entry or host.endswith("." + entry):
            return True
    return False


def proxy_facts(host: str, scheme: str | None, env: Mapping[str, str]) -> list[Fact]:
    """Pure: a proxy fact for the variable that would carry this scheme, if any."""
    names = _VARS.get(scheme or "http", _DEFAULT)
    for name in names:
        value = env.get(name, "").strip()
        if value:
            no_proxy = env.get("no_proxy", env.get("NO_PROXY", ""))
            return [{"type": "proxy", "variable": name, "proxy": clean(value)[:200],
                     "applies": True, "bypassed": bypassed(host, no_proxy),
                     "no_proxy": clean(no_proxy)[:300]}]
    return []


def collect(ctx: Context) -> list[Fact]:
    if not ctx.target.host:
        return []
    return proxy_facts(ctx.target.host, ctx.target.scheme, ctx.env)


def summarise(facts: list[Fact], target: Target) -> Summary:
    if not facts:
        return Summary("ok", "no proxy variable applies")
    f = facts[0]
    if f.get("bypassed"):
        return Summary("ok", f"{f['variable']} is set; NO_PROXY covers the host")
    return Summary("warning", f"{f['variable']}={f['proxy']} captures this request")


COLLECTOR = Collector("proxy", "Proxy variables, and whether NO_PROXY covers the host.", (PROXY,),
                      collect, summarise, timeout=1.0)
