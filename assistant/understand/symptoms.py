"""Text to a Target: which address the user means and what went wrong.

The patterns (understand/patterns.py) follow what real clients print:
curl, wget, Python, Node.js, Java, Go, .NET, psql, mysql, redis-cli,
browsers, Windows socket errors.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from assistant.errors import InputError
from assistant.understand.addresses import Host, is_ip, near_local, parse_host
from assistant.understand.patterns import (
    BARE_HOST,
    CLIENTS,
    CODE_SUFFIX,
    DEFAULT_PORTS,
    DIALLED,
    ERRORS,
    EXPLICIT,
    HOSTPORT,
    PORT_PHRASE,
    REMOTE,
    URL,
    WORD_HOST,
    ErrorKind,
)
from assistant.understand.redact import strip_control

MAX_INPUT = 256 * 1024


@dataclass
class Target:
    """What the user is trying to reach, and what the client reported."""

    host: str | None = None
    port: int | None = None
    scheme: str | None = None
    error: ErrorKind | None = None
    client: str | None = None
    # Addresses the client says it dialled (Node prints both for AggregateError).
    quoted: list[str] = field(default_factory=list)
    # True when the host was not in the text and `localhost` was assumed.
    assumed_host: bool = False
    # The client is elsewhere, by the user's words: "a phone", "a container"...
    remote: str | None = None
    parsed: Host | None = None
    # Addresses to dial instead of resolving the host (the user skipped it:
    # the usual local addresses).
    dial: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {"host": self.host, "port": self.port, "scheme": self.scheme,
                "error": self.error, "client": self.client}


def _looks_like_host(token: str) -> bool:
    """A generic host:port token is trusted only if it looks like an address.

    Stack traces are full of `file.js:42` and `node:net:1555`; a single bare
    word is accepted only when it is close to `localhost`.
    """
    t = token.strip("[]")
    if not t:
        return False
    if ":" in t:
        return True  # bracketed or bare IPv6
    if re.fullmatch(r"[0-9.]{1,15}", t) and t.count(".") >= 1:
        return True
    if CODE_SUFFIX.search(t, t.lower()):
        return False
    if t.lower() == "localhost" or re.fullmatch(r"\d{1,3}\.\d{1,3}\.\d{1,3}\.[0-9a-z]{1,3}", t, re.I):
        return True
    if "." in t and re.search(r"[A-Za-z]", t):
        return True
    if WORD_HOST.fullmatch(t):
        from rapidfuzz.distance import OSA  # lazy: only for single words

        return OSA.distance(t.lower(), "localhost") <= 2
    return False


def _split_node_address(addr: str) -> str:
    """Node prints IPv6 without brackets (`::1:3000`); the caller split the port."""
    return addr[1:-1] if addr.startswith("[") and addr.endswith("]") else addr


def _check_port(raw: str) -> int:
    try:
        port = int(raw)
    except ValueError:
        raise InputError(f"'{raw}' is not a port number") from None
    if port == 0:
        raise InputError("port 0 cannot be connected to: it asks the system to pick a free port. "
                         "Give the port the server listens on (1-65535).")
    if not 1 <= port <= 65535:
        raise InputError(f"port {port} is out of range: a TCP port is a number from 1 to 65535")
    return port


def detect_error(text: str, low: str | None = None) -> ErrorKind | None:
    """The kind of failure the text describes, or None."""
    low = text.lower() if low is None else low
    for kind, pattern in ERRORS:
        if pattern.search(text, low):
            return kind
    return None


def detect_client(text: str, low: str | None = None) -> str | None:
    """The client that printed the text, from its own wording, or None."""
    low = text.lower() if low is None else low
    for name, pattern in CLIENTS:
        if pattern.search(text, low):
            return name
    return None


def _explicit_addresses(text: str, low: str) -> list[tuple[str, str | None]]:
    for pattern, hg, pg in EXPLICIT:
        found = [(m.group(hg) or "", m.group(pg) if pg else None)
                 for m in pattern.finditer(text, low)]
        if found:
            return found
    return []


def parse(text: str) -> Target:
    """Parse user text into a Target. Raises InputError for unusable input."""
    if len(text) > MAX_INPUT:
        raise InputError(f"the input is {len(text) // 1024} KB; paste at most "
                         f"{MAX_INPUT // 1024} KB (the error message and a few lines around it)")
    text = strip_control(text)
    if not text.strip():
        raise InputError("nothing to diagnose: describe the problem or paste the error, "
                         "e.g. assistant --ask \"cannot connect to 127.0.0.1:62893\"")
    low = text.lower()
    target = Target(error=detect_error(text, low), client=detect_client(text, low))
    target.remote = next((name for name, rx in REMOTE if rx.search(text, low)), None)

    host: str | None = None
    port_raw: str | None = None
    explicit = _explicit_addresses(text, low)
    if explicit:
        host, port_raw = explicit[0]
        host = _split_node_address(host) if host else ""
        target.quoted = [q for q in (_split_node_address(h) for h, _ in explicit if h) if is_ip(q)]
    url = URL.search(text, low)
    if url:
        target.scheme = url.group(1).lower()
        if host is None:
            host = url.group(2)
        if port_raw is None:
            port_raw = url.group(3)
            if port_raw is None and target.scheme in DEFAULT_PORTS and host == url.group(2):
                port_raw = str(DEFAULT_PORTS[target.scheme])
    if host is None or port_raw is None:
        for m in HOSTPORT.finditer(text, low):
            if _looks_like_host(m.group(1)):
                if host is None:
                    host = m.group(1)
                if port_raw is None and host.strip("[]") == m.group(1).strip("[]"):
                    port_raw = m.group(2)
                break
    if port_raw is None:
        phrase = PORT_PHRASE.search(text, low)
        if phrase:
            port_raw = phrase.group(1)
    if host is None:
        bare = BARE_HOST.search(text, low)
        if bare:
            host = bare.group(1)

    for m in DIALLED.finditer(text, low):
        addr = m.group(1) or m.group(2) or m.group(3)
        if addr and is_ip(addr) and addr not in target.quoted:
            target.quoted.append(addr)
    if port_raw is not None:
        target.port = _check_port(port_raw)
    if host is not None:
        host = host.strip()
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        target.host = host if host else None
    if target.host is not None:
        target.parsed = parse_target_host(target.host)
    if target.scheme is None and target.client in ("chrome", "firefox"):
        target.scheme = "http"
    return target


def parse_target_host(host: str) -> Host:
    """parse_host, except that a near-miss of a local address is kept for the
    host-typo rule (`127.0.0.0.1` deserves "did you mean", not a usage error)."""
    try:
        return parse_host(host)
    except InputError:
        if near_local(host) is None:
            raise
        return Host(host, "invalid", None, 0, False, False)


def with_answers(target: Target, answers: dict[str, str]) -> Target:
    """Fill host/port from answers the user gave (`--answer host=...`)."""
    if "host" in answers and answers["host"].strip():
        host = strip_control(answers["host"]).strip().strip("[]")
        target.host = host
        target.parsed = parse_target_host(host)
        target.assumed_host = False
    if "port" in answers and answers["port"].strip():
        target.port = _check_port(answers["port"].strip())
    return target
