"""Which proxy variable each HTTP client sends a request through, and whether
its exceptions (NO_PROXY, or its own loopback rule) let the host go direct.

The clients' own rules, as data. Each line was checked against the real
client with a dead proxy on a loopback port and a live server (curl 7.88,
wget 1.21, Python 3.11 with requests 2.x and urllib, Go 1.19, Node.js 20,
Chromium and Firefox ESR on Linux without desktop proxy settings, Java 17);
Node.js 24's NODE_USE_ENV_PROXY rules are from its source (lib/internal/http.js).
Everything here is pure: the collector (facts/proxy.py) supplies the environment.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import NamedTuple

LOCAL_NAMES = ("localhost", "127.0.0.1", "::1")


class Model(NamedTuple):
    """One client's proxy rules."""

    label: str
    http: tuple[str, ...] = ()      # variables tried for http:// requests, in order
    https: tuple[str, ...] = ()     # for https://
    no_proxy: tuple[str, ...] = ()  # exception variables tried, in order
    match: str = "curl"             # how its exception entries match a host (see covers)
    loopback: bool = False          # never sends localhost or a loopback address to a proxy
    empty_hides: bool = False       # an empty lower-case variable disables its upper-case twin
    cgi: str = ""                   # REQUEST_METHOD set: "drop-upper-http" | "refuse-http"
    ignores: str = ""               # why it reads none of the variables
    # Programs in this language often read the variables through a library
    # (Node.js: axios, got with a proxy agent, global-agent): a failure at the
    # proxy's own address is then the library's doing.
    library: str = ""
    summary: str = ""               # its rules in one sentence, for the evidence


_CURL = Model("curl", ("http_proxy", "all_proxy", "ALL_PROXY"),
              ("https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"), ("no_proxy", "NO_PROXY"),
              summary="curl reads http_proxy (lower case only) for http://, https_proxy or "
                      "HTTPS_PROXY for https://, then all_proxy or ALL_PROXY; exceptions from "
                      "no_proxy or NO_PROXY")
_WGET = Model("wget", ("http_proxy",), ("https_proxy",), ("no_proxy",), match="wget",
              summary="wget reads only lower-case http_proxy, https_proxy and no_proxy (not "
                      "all_proxy); its no_proxy has no `*` and no address ranges")
_PY_PAIRS_HTTP = ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY")
_PY_PAIRS_HTTPS = ("https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY")
_REQUESTS = Model("Python requests", _PY_PAIRS_HTTP, _PY_PAIRS_HTTPS, ("no_proxy", "NO_PROXY"),
                  match="requests", empty_hides=True, cgi="drop-upper-http",
                  summary="Python requests reads both cases (lower case wins), then all_proxy or "
                          "ALL_PROXY; upper-case HTTP_PROXY is ignored when REQUEST_METHOD is set "
                          "(CGI)")
_URLLIB = Model("Python urllib", _PY_PAIRS_HTTP[:2], _PY_PAIRS_HTTPS[:2], ("no_proxy", "NO_PROXY"),
                match="urllib", empty_hides=True, cgi="drop-upper-http",
                summary="Python urllib reads both cases (lower case wins), not all_proxy; its "
                        "no_proxy has no address ranges; upper-case HTTP_PROXY is ignored when "
                        "REQUEST_METHOD is set (CGI)")
_GO = Model("Go", ("HTTP_PROXY", "http_proxy"), ("HTTPS_PROXY", "https_proxy"),
            ("NO_PROXY", "no_proxy"), match="go", loopback=True, cgi="refuse-http",
            summary="Go's net/http reads HTTP_PROXY or http_proxy (upper case first), not "
                    "ALL_PROXY, and never sends localhost or a loopback address to a proxy")
_NODE = Model("Node.js", ignores="Node.js's http and fetch ignore proxy variables (without "
              "NODE_USE_ENV_PROXY=1)",
              library="Node.js's own http and fetch ignore proxy variables (without "
                      "NODE_USE_ENV_PROXY), so a library in the program read it (axios, got or "
                      "request with a proxy agent, global-agent)")
_NODE_ENV = Model("Node.js (NODE_USE_ENV_PROXY)", ("http_proxy", "HTTP_PROXY"),
                  ("https_proxy", "HTTPS_PROXY"), ("no_proxy", "NO_PROXY"), match="node",
                  summary="with NODE_USE_ENV_PROXY=1, Node.js 24 (22.21) and later read "
                          "http_proxy or HTTP_PROXY (lower case first); older versions ignore it")
_JAVA = Model("Java", ignores="Java ignores proxy variables (it reads -Dhttp.proxyHost and "
              "-Dhttps.proxyHost)")
_BROWSER_SYSTEM = "browsers follow the system proxy settings, not these variables"
_CHROME = Model("Chrome", ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"),
                ("https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"), (), loopback=True,
                summary="Chrome on Linux without desktop proxy settings reads these variables, "
                        "but never sends localhost or a loopback address to a proxy")
_FIREFOX = Model("Firefox", ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"),
                 ("https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"), ("no_proxy", "NO_PROXY"),
                 loopback=True,
                 summary="Firefox on Linux without desktop proxy settings reads these variables, "
                         "but never sends localhost or a loopback address to a proxy")

# Clients that speak HTTP but whose rules were not checked here: treated as unknown.
UNVERIFIED = ("ruby", "dotnet", "unknown")
# Programs built on Go's net/http.
GO_PROGRAMS = ("go", "docker", "kubectl")


def models_for(client: str | None, library: str | None, env: Mapping[str, str],
               platform: str) -> list[Model]:
    """The models that decide for this client; several when it is not known."""
    node = _NODE_ENV if env.get("NODE_USE_ENV_PROXY") == "1" or "--use-env-proxy" in env.get(
        "NODE_OPTIONS", "") else _NODE
    browsers = [_CHROME, _FIREFOX] if platform == "linux" else []
    if client in (None, *UNVERIFIED):
        return [_CURL, _WGET, _REQUESTS, _URLLIB, _GO, node, *browsers]
    if client == "python":
        return {"requests": [_REQUESTS], "urllib": [_URLLIB]}.get(library or "",
                                                                  [_REQUESTS, _URLLIB])
    if client in ("chrome", "firefox"):
        if platform != "linux":
            return [Model(client.capitalize(), ignores=_BROWSER_SYSTEM)]
        return [_CHROME if client == "chrome" else _FIREFOX]
    by_name = {"curl": [_CURL], "wget": [_WGET], "node": [node], "java": [_JAVA]}
    if client in GO_PROGRAMS:
        return [_GO]
    return by_name.get(client, [])  # psql, redis-cli, ssh...: not HTTP, no proxy variables


def chosen(model: Model, scheme: str, env: Mapping[str, str]) -> tuple[str | None, str]:
    """The variable `model` sends a `scheme` request through, or None and why not."""
    names = model.http if scheme == "http" else model.https if scheme == "https" else ()
    if model.ignores:
        return None, model.ignores
    cgi = "REQUEST_METHOD" in env
    i = 0
    while i < len(names):
        name = names[i]
        twin = names[i + 1] if i + 1 < len(names) and names[i + 1].lower() == name.lower() else None
        i += 2 if twin else 1
        if model.empty_hides and twin and name in env:
            if env[name].strip():
                return name, ""
            continue  # Python: an empty lower-case variable hides the upper-case one
        for n in (name, twin) if twin else (name,):
            if not env.get(n, "").strip():
                continue
            if cgi and model.cgi == "drop-upper-http" and n == "HTTP_PROXY":
                continue
            if cgi and model.cgi == "refuse-http" and scheme == "http":
                return None, (f"{model.label} refuses {n} under CGI (REQUEST_METHOD is set): the "
                              "request fails with 'refusing to use HTTP_PROXY value in CGI "
                              "environment'")
            return n, ""
    return None, ""


def exceptions(model: Model, env: Mapping[str, str]) -> tuple[str | None, str | None]:
    """(the exception variable `model` reads, its value), or (None, None) when unset."""
    for name in model.no_proxy:
        value = env.get(name, "")
        if value.strip():
            return name, value
    return None, None


def is_local(host: str) -> bool:
    """localhost or a loopback literal: what Go and browsers never proxy."""
    h = host.strip("[]").lower().rstrip(".")
    if h == "localhost":
        return True
    try:
        return ipaddress.ip_address(h).is_loopback
    except ValueError:
        return False


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return None


def _in_cidr(host: str, entry: str, v4_only: bool = False) -> bool:
    ip = _ip(host)
    if ip is None or (v4_only and ip.version != 4):
        return False
    try:
        return ip in ipaddress.ip_network(entry.strip("[]"), strict=False)
    except ValueError:
        return False


def covers(host: str, value: str, style: str) -> bool:
    """Whether exception list `value` lets `host` go direct, as the client matches it.

    curl: `*`, names (a leading dot ignored) with their subdomains, addresses,
    CIDR. wget: names matched from the end, a leading dot meaning subdomains
    only; no `*`, no CIDR. urllib: `*`, names with subdomains, no CIDR, an
    IPv6 address only in brackets (`[::1]`; curl and requests want `::1`).
    requests: urllib's rules plus IPv4 CIDR and plain suffixes. Go: `*`, CIDR,
    a leading dot meaning subdomains only. Node.js 24: `*`, exact names,
    `.suffix`, `*.suffix`.
    """
    h = host.strip("[]").lower().rstrip(".")
    if style == "urllib" and ":" in h:
        h = f"[{h}]"  # urllib matches an IPv6 literal with its brackets: only `[::1]` covers it
    entries = [e.strip().lower() for e in value.replace(" ", ",").split(",") if e.strip()]
    if style != "wget" and "*" in entries:
        return True
    for e in entries:
        if style == "wget":
            # wget's sufmatch: the entry ends the host at a dot boundary, or
            # the entry starts with a dot.
            if h.endswith(e) and (len(h) == len(e) or h[-len(e) - 1] == "." or e.startswith(".")):
                return True
            continue
        if "/" in e:
            if style in ("curl", "go", "requests") and _in_cidr(h, e, v4_only=style == "requests"):
                return True
            continue
        bare = e  # curl, requests and Go do not match `[::1]` to ::1 (checked)
        if style == "node":
            if h == bare or (bare.startswith(".") and h.endswith(bare[1:])) or (
                    bare.startswith("*.") and h.endswith(bare[1:])):
                return True
            continue
        if style == "go" and bare.lstrip("*").startswith("."):
            if h.endswith(bare.lstrip("*")):  # `.x` and `*.x`: subdomains only
                return True
            continue
        name = bare.lstrip("*").lstrip(".")
        if h == name or h.endswith("." + name) or (style == "requests" and h.endswith(name)):
            return True
    return False


class Decision(NamedTuple):
    """What one client does with one proxy variable for this request."""

    model: Model
    uses: bool           # it would send the request through this variable's proxy
    bypassed: bool       # ...but its exceptions or loopback rule let the host go direct
    reason: str          # why it does not use it, or what exempts the host
    exception_var: str | None = None
    exception_value: str | None = None

    @property
    def applies(self) -> bool:
        return self.uses and not self.bypassed


def decide(model: Model, variable: str, schemes: tuple[str, ...], host: str | None,
           env: Mapping[str, str]) -> Decision:
    """Whether `model` sends a request for `host` (None: not known) through `variable`."""
    exc_var, exc_value = exceptions(model, env)
    why = ""
    for scheme in schemes:
        picked, why_not = chosen(model, scheme, env)
        why = why or why_not
        if picked != variable:
            continue
        if host is None:
            return Decision(model, True, False, "", exc_var, exc_value)
        if model.loopback and is_local(host):
            return Decision(model, True, True, f"{model.label} never sends {host} to a proxy",
                            exc_var, exc_value)
        if exc_value is not None and covers(host, exc_value, model.match):
            return Decision(model, True, True, f"{model.label} goes direct: {exc_var}="
                            f"'{exc_value}' covers {host}", exc_var, exc_value)
        return Decision(model, True, False, "", exc_var, exc_value)
    return Decision(model, False, False, why or _not_read(model, variable, schemes, env),
                    exc_var, exc_value)


def _not_read(model: Model, variable: str, schemes: tuple[str, ...], env: Mapping[str, str]) -> str:
    """Why `model` does not use `variable`: it never reads it, or another wins."""
    reads = {s: names for s, names in (("http", model.http), ("https", model.https))}
    if not any(variable in names for names in reads.values()):
        return f"{model.label} does not read {variable}"
    if not any(variable in reads.get(s, ()) for s in schemes):
        wanted = "/".join(f"{s}://" for s in schemes) or "this"
        return f"{model.label} reads {variable} only for other URLs than {wanted}"
    for s in schemes:
        picked, _ = chosen(model, s, env)
        if picked is not None:
            return f"{model.label} uses {picked} instead"
    if "REQUEST_METHOD" in env and variable == "HTTP_PROXY":
        return f"{model.label} ignores HTTP_PROXY when REQUEST_METHOD is set (CGI)"
    return f"{model.label} ignores {variable} here (an empty lower-case twin hides it)"
