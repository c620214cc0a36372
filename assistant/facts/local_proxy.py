"""Would proxy variables send requests for this machine to a proxy?

A checkup has no URL, so this asks the proxy check's own rules
(facts/proxy.py, facts/proxyrules.py: each client's reading of the
variables and of NO_PROXY, checked against the real clients) about the
three ways to name this machine, localhost, 127.0.0.1 and ::1, for every
client family at once: curl, wget, Python's requests and urllib, Go, Node.js
and the browsers. One fact per proxy variable says which clients send which
of the three to the proxy, and what to add to NO_PROXY.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from assistant.facts.base import Collector, Context, Fact, FactType, Field, Summary
from assistant.facts.proxy import VARIABLES, Request, proxy_facts, split_address
from assistant.facts.proxyrules import LOCAL_NAMES, is_local, models_for
from assistant.understand.redact import clean

if TYPE_CHECKING:
    from assistant.understand.symptoms import Target

LOCAL_PROXY = FactType("local_proxy", "A proxy variable that sends requests for this machine "
                       "(localhost, 127.0.0.1 or ::1) to a proxy, for some clients.", {
    "variable": Field("str", "the variable", example="http_proxy"),
    "proxy": Field("str", "its value, credentials redacted", example="http://proxy.corp:3128"),
    "address": Field("str", "the proxy's host:port", example="proxy.corp:3128"),
    "proxy_local": Field("bool", "the proxy itself runs on this machine (it can reach "
                         "this machine's servers)"),
    "clients": Field("str", "the clients that send such requests to it", example="curl, wget"),
    "hosts": Field("str", "which of localhost, 127.0.0.1, ::1 they send",
                   example="localhost, 127.0.0.1, ::1"),
    "detail": Field("str", "per client, the names it sends",
                    example="curl: localhost, 127.0.0.1, ::1; Python urllib: ::1"),
    "direct": Field("str", "the clients that go direct for all three, or ignore the variable",
                    example="Go, Node.js, Chrome, Firefox"),
    "exceptions": Field("str", "the exceptions the clients read, in words",
                        example="NO_PROXY and no_proxy are unset"),
    "bypass": Field("str", "the entries to append to NO_PROXY and no_proxy",
                    example="localhost,127.0.0.1,::1"),
}, lambda f: f"{f.get('variable')}={f.get('proxy')}: {f.get('detail')}")

PROXY_ENV = FactType("proxy_env", "The proxy variables this environment sets.", {
    "set": Field("bool", "some proxy variable is set"),
    "variables": Field("str", "the ones set", example="http_proxy, https_proxy"),
    "no_proxy": Field("str", "NO_PROXY (or no_proxy), credentials redacted",
                      example="localhost,127.0.0.1"),
}, lambda f: f"proxy variables: {f.get('variables') or 'none'}")


def local_proxy_facts(env: Mapping[str, str], platform: str) -> list[Fact]:
    """Pure (`platform` as sys.platform names it): the proxy_env fact, and one
    local_proxy fact per variable that sends this machine's names to a proxy
    for some client."""
    set_vars = [v for v in VARIABLES if env.get(v, "").strip()]
    exc = next((env[n] for n in ("NO_PROXY", "no_proxy") if env.get(n, "").strip()), None)
    facts: list[Fact] = [{"type": "proxy_env", "set": bool(set_vars),
                          "variables": ", ".join(set_vars) or None,
                          "no_proxy": clean(exc)[:300] if exc else None}]
    if not set_vars:
        return facts
    # The proxy check's facts for each name, by variable: `users` are the
    # clients that send that name to the proxy.
    by_var: dict[str, dict[str, list[str]]] = {}
    seen: dict[str, Fact] = {}
    for host in LOCAL_NAMES:
        for f in proxy_facts(Request(host, platform=platform), env):
            per = by_var.setdefault(f["variable"], {})
            for u in str(f.get("users") or "").split(", "):
                if u:
                    per.setdefault(u, []).append(host)
            seen.setdefault(f["variable"], f)
    order = [m.label for m in models_for(None, None, env, platform)]
    for variable, found in by_var.items():
        if not found:
            continue
        # The clients in one order (curl, wget, Python, Go, Node.js, browsers),
        # whichever name each one sends.
        per = dict(sorted(found.items(), key=lambda kv: order.index(kv[0])
                          if kv[0] in order else len(order)))
        first = seen[variable]
        host, _ = split_address(str(first.get("proxy", "")), 1080)
        needed: list[str] = []
        for label, hosts in per.items():
            for h in hosts:
                # Python's urllib matches an IPv6 exception only in brackets.
                entry = "[::1]" if h == "::1" and label == "Python urllib" else h
                if entry not in needed:
                    needed.append(entry)
        entries = [*LOCAL_NAMES, "[::1]"]
        facts.append({
            "type": "local_proxy", "variable": variable, "proxy": first.get("proxy"),
            "address": first.get("address"), "proxy_local": is_local(host),
            "clients": ", ".join(per),
            "hosts": ", ".join(h for h in LOCAL_NAMES if any(h in hs for hs in per.values())),
            "detail": "; ".join(f"{label}: {', '.join(hs)}" for label, hs in per.items()),
            "direct": ", ".join(_direct(per, env, platform)) or None,
            "exceptions": first.get("exceptions"),
            "bypass": ",".join(sorted(needed, key=entries.index))})
    return facts


def _direct(per: Mapping[str, list[str]], env: Mapping[str, str], platform: str) -> list[str]:
    """The client families that send none of these names through the variable."""
    return [m.label for m in models_for(None, None, env, platform) if m.label not in per]


def collect(ctx: Context) -> list[Fact]:
    from assistant.facts.system import platform

    return local_proxy_facts(ctx.env, platform.system())


def summarise(facts: list[Fact], target: Target) -> Summary:
    captured = [f for f in facts if f["type"] == "local_proxy"]
    if not captured:
        env = next((f for f in facts if f["type"] == "proxy_env"), {})
        return Summary("ok", "no proxy variable is set" if not env.get("set") else
                       f"{env.get('variables')} set; every client goes direct for this machine")
    return Summary("problem", "; ".join(LOCAL_PROXY.describe(f) for f in captured))


COLLECTOR = Collector("local_proxy", "Proxy variables that would send requests for localhost, "
                      "127.0.0.1 or ::1 to a proxy, client by client.",
                      (LOCAL_PROXY, PROXY_ENV), collect, summarise, timeout=2.0,
                      asks=lambda t: "would a proxy variable catch requests for localhost?")
