"""Proxy variables as the failing client uses them.

One `proxy` fact per proxy variable set in the client's environment (this
shell's, plus assignments on the pasted command line): whether that client
sends this request through it (facts/proxyrules.py holds each client's
rules), whether its exceptions let the host go direct, and whether the
address that failed is the proxy's own (the client reached the proxy, not
the server it was asked for). With the client unknown, every verified
client is asked and the fact says which ones it would affect.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, NamedTuple

from assistant.facts.base import Collector, Context, Fact, FactType, Field, Summary
from assistant.understand.redact import clean

if TYPE_CHECKING:
    from assistant.facts.proxyrules import Decision
    from assistant.understand.symptoms import Target

VARIABLES = ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY")
_DEFAULT_PORTS = {"http": 80, "https": 443, "socks4": 1080, "socks4a": 1080, "socks5": 1080,
                  "socks5h": 1080, "socks": 1080}

PROXY = FactType("proxy", "A proxy variable in the client's environment, as that client uses it.", {
    "variable": Field("str", "the variable's name", example="http_proxy"),
    "proxy": Field("str", "its value, credentials redacted", example="http://127.0.0.1:3128"),
    "address": Field("str", "the proxy's host:port", example="127.0.0.1:3128"),
    "proxy_port": Field("int", "the proxy's port", example=3128),
    "scheme": Field("str", "the URLs it is named for", ("http", "https", "all")),
    "source": Field("str", "where it is set", ("environment", "command line")),
    "client": Field("str", "whose rules decided: the client, or `unknown` (every verified "
                    "client was asked)", example="curl"),
    "uses": Field("bool", "the client sends this request through this variable's proxy "
                  "(before its exceptions)"),
    "applies": Field("bool", "the client sends this request to the proxy: it uses the "
                     "variable and no exception lets the host go direct"),
    "bypassed": Field("bool", "the client uses the variable, but its exceptions (NO_PROXY, or "
                      "its own rule for localhost) let this host go direct"),
    "at_proxy": Field("bool", "the address that failed is this proxy's: the client reached the "
                      "proxy, not the server"),
    "target_is_proxy": Field("bool", "the text names no other URL: the target is the proxy's "
                             "own address"),
    "local": Field("bool", "the host asked for is this machine (localhost, a loopback address, "
                   "or a name that resolves only to loopback): it needs no proxy"),
    "proxy_here": Field("bool", "the proxy itself runs on this machine (a loopback address): "
                        "its localhost is this machine's, so it relays a local request"),
    "users": Field("str", "the clients that send this request to the proxy",
                   example="curl, Python requests"),
    "ignored_by": Field("str", "the clients that do not, and why"),
    "why": Field("str", "the client's rules for proxy variables, in one sentence"),
    "no_proxy": Field("str", "the exceptions the client reads, credentials redacted (absent "
                      "when unset)", example="localhost"),
    "exceptions": Field("str", "the exceptions in words, `unset` included",
                        example="NO_PROXY and no_proxy are unset"),
    "bypass": Field("str", "the exceptions to append so the host goes direct",
                    example="localhost,127.0.0.1,::1"),
    "url": Field("str", "the URL the client was asked for, when the text says",
                 example="http://localhost:8000/"),
    "unset": Field("str", "the variables to remove for this client, space-separated",
                   example="http_proxy", verbatim=True),
    "oneshot": Field("str", "one command that makes the request without the proxy (for curl "
                     "and wget, the user's own command with its options, less its proxy ones)",
                     example="curl --noproxy localhost http://localhost:8000/", verbatim=True),
    "oneshot_windows": Field("str", "the same with curl.exe, quoted for PowerShell",
                             example='curl.exe --noproxy "*" -sS http://localhost:8000/',
                             verbatim=True),
}, lambda f: f"{f.get('variable')}={f.get('proxy')} (client {f.get('client')}: uses "
             f"{f.get('uses')}, applies {f.get('applies')}, failed at it {f.get('at_proxy')})")


class Request(NamedTuple):
    """What the collector knows of the failed request (from the Target). A
    NamedTuple: the dataclasses import cost the one-shot question time."""

    host: str | None
    port: int | None = None
    scheme: str | None = None
    client: str | None = None
    library: str | None = None
    via: str | None = None
    platform: str = "linux"
    # Assignments on the pasted command line (None: `env -u NAME`, `unset NAME`).
    assigned: Mapping[str, str | None] = MappingProxyType({})
    # The command lines pasted with the output, as typed.
    lines: Sequence[str] = ()


def split_address(text: str, default_port: int | None = None) -> tuple[str, int | None]:
    """`http://u:p@host:3128/` or `host:3128` or `[::1]:3128` -> (host, port)."""
    scheme, sep, rest = text.strip().partition("://")
    if not sep:
        scheme, rest = "", text.strip()
    rest = rest.split("/", 1)[0].rsplit("@", 1)[-1]
    port: int | None = _DEFAULT_PORTS.get(scheme.lower(), default_port)
    if rest.startswith("["):
        host, _, tail = rest[1:].partition("]")
        if tail.startswith(":") and tail[1:].isdigit():
            port = int(tail[1:])
        return host, port
    if rest.count(":") == 1:
        host, _, p = rest.partition(":")
        return host, int(p) if p.isdigit() else port
    return rest, port


def same_address(a: tuple[str, int | None], b: tuple[str, int | None]) -> bool:
    """Same port, and the same host (localhost, 127.0.0.1 and ::1 count as one)."""
    from assistant.facts.proxyrules import LOCAL_NAMES

    if a[1] is None or a[1] != b[1]:
        return False
    ha, hb = a[0].strip("[]").lower(), b[0].strip("[]").lower()
    return ha == hb or (ha in LOCAL_NAMES and hb in LOCAL_NAMES)


def _hostport(host: str, port: int | None) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"{shown}:{port}" if port is not None else shown


def _schemes(scheme: str | None) -> tuple[str, ...]:
    if scheme is None:
        return ("http", "https")  # the text did not say: either may be it
    return {"http": ("http",), "ws": ("http",), "https": ("https",), "wss": ("https",)}.get(
        scheme.lower(), ())


def _exceptions_text(decisions: list[Decision], env: Mapping[str, str]) -> str:
    """What the deciding clients read as exceptions, `unset` said plainly."""
    if len(decisions) > 1:
        values = {f"{d.exception_var}='{clean(d.exception_value or '')[:200]}'" for d in decisions
                  if d.exception_var is not None}
        return "; ".join(sorted(values)) or "NO_PROXY and no_proxy are unset"
    d = decisions[0]
    if d.exception_var is not None:
        return f"{d.exception_var}='{clean(d.exception_value or '')[:200]}'"
    if not d.model.no_proxy:
        return f"{d.model.label} reads no exception list"
    names = " and ".join(d.model.no_proxy)
    text = f"{names} {'is' if len(d.model.no_proxy) == 1 else 'are'} unset"
    ignored = [n for n in ("NO_PROXY", "no_proxy") if env.get(n, "").strip()
               and n not in d.model.no_proxy]
    return text + (f" ({d.model.label} ignores {ignored[0]}='{clean(env[ignored[0]])[:200]}')"
                   if ignored else "")


def proxy_facts(req: Request, env: Mapping[str, str],
                local_name: Callable[[str], bool] = lambda _h: False) -> list[Fact]:
    """Pure: one fact per proxy variable set, as `req.client` uses it.

    `local_name(host)` says whether a host name resolves to loopback only
    (then it joins the exceptions to append).
    """
    # Imported here: with no proxy variable set (most questions) collect()
    # returns before any of it is needed.
    from assistant.facts.oneshot import oneshot, oneshot_windows
    from assistant.facts.proxyrules import UNVERIFIED, Decision, decide, is_local, models_for

    env = dict(env)
    for name, value in req.assigned.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    schemes = _schemes(req.scheme)
    models = models_for(req.client, req.library, env, req.platform)
    if not schemes or not models:
        return []  # not an HTTP request, or a client that never reads proxy variables
    failed = split_address(req.via) if req.via else (req.host or "", req.port)
    facts: list[Fact] = []
    known: dict[str, bool] = {}

    def local(host: str) -> bool:
        if host not in known:
            h = host.strip("[]").lower()
            known[host] = is_local(h) or local_name(h)
        return known[host]

    for variable in VARIABLES:
        value = env.get(variable, "").strip()
        if not value:
            continue
        address = split_address(value, 1080)
        at_proxy = bool(failed[0]) and same_address(address, failed)
        target_is_proxy = at_proxy and req.via is None
        host = None if target_is_proxy else req.host
        decisions = [decide(m, variable, schemes, host, env) for m in models]
        if at_proxy:
            # Failing at the proxy's own address is proof that something read it.
            decisions = [Decision(d.model, True, False, d.model.library, d.exception_var,
                                  d.exception_value) if d.model.library and not d.uses else d
                         for d in decisions]
        using = [d for d in decisions if d.uses]
        applying = [d for d in decisions if d.applies]
        fact: Fact = {
            "type": "proxy", "variable": variable, "proxy": clean(value)[:200],
            "address": _hostport(*address), "proxy_port": address[1],
            "scheme": variable.split("_")[0].lower(),
            "source": "command line" if variable in req.assigned else "environment",
            "client": models[0].label if len(models) == 1 else (
                "unknown" if req.client in (None, *UNVERIFIED) else req.client),
            "uses": bool(using), "applies": bool(applying),
            "bypassed": bool(using) and not applying,
            "at_proxy": at_proxy, "target_is_proxy": target_is_proxy,
            "local": bool(host) and local(host or ""),
            "proxy_here": bool(address[0]) and local(address[0]),
            "users": ", ".join(d.model.label for d in applying) or None,
            "ignored_by": clean("; ".join(d.reason for d in decisions
                                          if not d.applies and d.reason))[:600] or None,
            "why": clean("; ".join(d.reason for d in using if d.reason))[:600] or (
                models[0].summary if len(models) == 1 else None) or None,
            "exceptions": _exceptions_text(using or decisions, env),
        }
        exc = next((d.exception_value for d in (applying or using) if d.exception_value), None)
        if exc is not None:
            fact["no_proxy"] = clean(exc)[:300]
        fact["bypass"] = _bypass(host, local)
        fact["unset"] = " ".join(v for v in VARIABLES if env.get(v, "").strip() and any(
            v in (d.model.http + d.model.https) for d in (using or decisions))) or variable
        if host and req.port is not None:
            scheme = (req.scheme or "http").lower().replace("ws", "http")
            fact["url"] = f"{scheme}://{_hostport(host, req.port)}/"
            labels = {d.model.label for d in (applying or using or decisions)}
            fact["oneshot"] = oneshot(labels, host.strip("[]"), fact["url"], fact["unset"],
                                      req.lines)
            fact["oneshot_windows"] = oneshot_windows(labels, fact["url"], req.lines)
        facts.append(fact)
    return facts


def _bypass(host: str | None, local: Callable[[str], bool]) -> str:
    """The exceptions to append: localhost,127.0.0.1,::1, and the host when it is
    local and not among them; an IPv6 host also in brackets, the only form
    Python's urllib matches."""
    from assistant.facts.proxyrules import LOCAL_NAMES

    entries = list(LOCAL_NAMES)
    h = (host or "").strip("[]").lower()
    if h and local(h):
        if h not in entries:
            entries.append(h)
        if ":" in h:
            entries.append(f"[{h}]")
    return ",".join(entries)


def idle(ctx: Context) -> bool:
    """Nothing to read: a server that fails to bind reaches no proxy, and
    without a proxy variable there is no fact (each fact is one variable)."""
    t = ctx.target
    if t.role == "server" or (not t.host and not t.via):
        return True
    return t.via is None and not (set(ctx.env) | set(t.proxy_env)) & set(VARIABLES)


def collect(ctx: Context) -> list[Fact]:
    if idle(ctx):
        return []
    t = ctx.target
    from assistant.facts.proxyrules import is_local
    from assistant.facts.system import platform

    def local_name(host: str) -> bool:
        from assistant.facts.system.resolver import resolve

        # The same lookup the resolution check makes (shared), only for a
        # name a proxy would otherwise carry.
        res = ctx.memo("resolve", lambda: resolve(host, t.port))
        addrs = res.get("addresses") or []
        return bool(addrs) and all(is_local(a) for a in addrs)

    req = Request(t.host, t.port, t.scheme, t.client, t.library, t.via, platform.system(),
                  t.proxy_env, t.command_lines)
    return proxy_facts(req, ctx.env, local_name)


def summarise(facts: list[Fact], target: Target) -> Summary:
    if not facts:
        return Summary("ok", "no proxy variable is set")
    failed = next((f for f in facts if f.get("at_proxy") and f.get("uses")), None)
    if failed is not None:
        return Summary("problem", f"{failed.get('users') or failed['client']} went to the proxy "
                       f"{failed['address']} ({failed['variable']}) and failed there")
    applying = next((f for f in facts if f.get("applies")), None)
    if applying is not None:
        return Summary("warning", f"{applying['variable']}={applying['proxy']} captures this "
                       f"request ({applying.get('users')})")
    return Summary("ok", "; ".join(f"{f['variable']} is set, but not used here"
                                   + (f" ({f['ignored_by']})" if f.get("ignored_by") else "")
                                   for f in facts))


COLLECTOR = Collector("proxy", "Proxy variables as the failing client uses them, its exceptions, "
                      "and whether the address that failed is a proxy's.", (PROXY,),
                      collect, summarise, timeout=3.0,
                      asks=lambda t: "would a proxy setting catch this connection?",
                      quick=idle)


# Clients whose reading of the variables, unprompted by an address, is known.
_ADDRESSLESS = ("python", "curl", "wget")


def variable_for(client: str | None, library: str | None,
                 env: Mapping[str, str]) -> tuple[str, str] | None:
    """(variable, value) of the proxy `client` sends a request through when
    the text names no URL: its rules for http first, then https."""
    from assistant.facts.proxyrules import chosen, models_for
    from assistant.facts.system import platform

    if client not in _ADDRESSLESS:
        return None
    models = models_for(client, library, env, platform.system())
    for scheme in ("http", "https"):
        for model in models:
            name, _ = chosen(model, scheme, env)
            if name is not None:
                return name, env[name].strip()
    return None

