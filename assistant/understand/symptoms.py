"""Text to a Target: which address the user means and what went wrong.

The patterns (understand/patterns.py) follow what real clients print:
curl, wget, Python, Node.js, Java, Go, .NET, psql, mysql, redis-cli,
browsers, Windows socket errors.
"""

from __future__ import annotations

import re

from assistant.errors import InputError
from assistant.understand import commands, drivers, services
from assistant.understand.addresses import Host, is_ip, near_local, parse_host
from assistant.understand.patterns import (
    BAD_PORT_VALUE,
    BARE_HOST,
    CLIENTS,
    CODE_SUFFIX,
    CONNECTION_POOL,
    DEFAULT_PORTS,
    DIALLED,
    ERRORS,
    EXPLICIT,
    HOSTPORT,
    LOOPBACK_PAIR,
    PORT_PHRASE,
    PROXY_OPTION_URL,
    PROXY_URL,
    PYTHON_LIBRARIES,
    REDIS_DENIED,
    REDIS_WORDS,
    REMOTE,
    SIGNALS,
    UNBRACKETED_URL,
    URL,
    WILDCARD_PORT,
    WORD_HOST,
    ErrorKind,
    line_before,
)
from assistant.understand.redact import clean, strip_control
from assistant.understand.sockets import DOCKER_DEFAULT, DOCKER_SOCKET, socket_path

MAX_INPUT = 256 * 1024
# PostgreSQL names its socket after its port: /var/run/postgresql/.s.PGSQL.5432.
_PG_SOCKET = re.compile(r"\.s\.PGSQL\.(\d{1,5})$")
# nginx's error log names the worker that failed: `[crit] 19961#19961: *1 connect() ...`.
_NGINX_WORKER = re.compile(r"\[(?:emerg|alert|crit|error|warn)\] (\d{1,9})#\d{1,9}: ")
# A permission error is a bind failure when the text says so.
_BIND_WORDS = re.compile(r"\b(?:bind|listen)\b|\bserver_bind\b|EACCES: permission denied "
                         r"[\d.:\[\]]+:\d|forbidden by its access permissions|\b10013\b", re.I)
# Words that make it worth reading the command lines for proxy variables
# (plain substrings: a regex scan of a long paste costs milliseconds).
_PROXY_WORDS = ("proxy", "request_method", "env -", "unset ", " -x")
# Clients that run in the user's terminal: their output was produced on this machine.
CLI_CLIENTS = ("curl", "wget", "psql", "mysql", "redis-cli", "nc", "telnet", "ssh", "kubectl",
               "docker")
# Where a client's text names the host but not the port, its default port.
CLIENT_DEFAULT_PORTS = {"mysql": 3306, "php": 3306, "psql": 5432, "redis-cli": 6379, "ssh": 22}
# The scheme of a client that speaks one protocol, when the text names none
# (so that no rule offers `curl http://...` for a MySQL port).
CLIENT_SCHEMES = {"mysql": "mysql", "php": "mysql"}


class Target:
    """What the user is trying to reach, and what the client reported.

    A plain class, not a dataclass: importing dataclasses (and inspect with
    it) cost a tenth of a one-shot question's run time."""

    __slots__ = (
        "host", "port", "scheme", "error", "client", "quoted", "assumed_host", "assumed_port",
        "remote", "parsed", "dial", "path", "assumed_path", "client_pid", "role", "via",
        "signals", "here", "command_lines", "library", "proxy_env", "port_name", "announced",
        "url_path",
    )

    def __init__(  # one keyword per field, as the dataclass had
            self, *,
            host: str | None = None,
            port: int | None = None,
            scheme: str | None = None,
            error: ErrorKind | None = None,
            client: str | None = None,
            quoted: list[str] | None = None,
            assumed_host: bool = False,
            assumed_port: bool = False,
            remote: str | None = None,
            parsed: Host | None = None,
            dial: list[str] | None = None,
            path: str | None = None,
            assumed_path: bool = False,
            client_pid: int | None = None,
            role: str = "client",
            via: str | None = None,
            signals: list[str] | None = None,
            here: bool = False,
            command_lines: list[str] | None = None,
            library: str | None = None,
            proxy_env: dict[str, str | None] | None = None,
            port_name: str | None = None,
            announced: list[int] | None = None,
            url_path: str | None = None,
    ) -> None:
        self.host = host
        self.port = port
        # A service name written where a URL's port goes (`localhost:http-alt`):
        # URLs take numbers only, so the client refused it; port is its number.
        self.port_name = port_name
        # Ports a server in the paste says it listens on ("HTTP server listening
        # on http://127.0.0.1:7721"): known to the user, so no slip for another.
        self.announced = [] if announced is None else announced
        # The target URL's path and query (`/api/orders?id=3`): a printed
        # request keeps it, or it asks for another page (field trial 11).
        self.url_path = url_path
        self.scheme = scheme
        self.error = error
        self.client = client
        # Addresses the client says it dialled (Node prints both for AggregateError).
        self.quoted = [] if quoted is None else quoted
        # True when the host was not in the text and `localhost` was assumed.
        self.assumed_host = assumed_host
        # True when the port is the client's default, not in the text.
        self.assumed_port = assumed_port
        # The client is elsewhere, by the user's words: "a phone", "a container"...
        self.remote = remote
        self.parsed = parsed
        # Addresses to dial instead of resolving the host (the user skipped it:
        # the usual local addresses).
        self.dial = [] if dial is None else dial
        # A UNIX-domain socket the client failed on (host is then None).
        self.path = path
        # True when the path is the client's default, not in the text (docker).
        self.assumed_path = assumed_path
        # The process that failed, when the text names it (nginx's worker pid).
        self.client_pid = client_pid
        # Whose failure it is: a client connecting, or a server binding.
        self.role = role
        # The address the client really connected to, when it is not the target
        # (a proxy): `127.0.0.1:3128`.
        self.via = via
        # Wording that names a layer or a cause (patterns.SIGNALS).
        self.signals = [] if signals is None else signals
        # The output was plainly produced on this machine: a command line was
        # pasted with it, or the client is a command-line tool run here.
        self.here = here
        # The command lines pasted with the output, as typed (not redacted): a fix
        # that repeats the user's command keeps their options (curl -k, -H ...).
        self.command_lines = [] if command_lines is None else command_lines
        # For a Python client, the HTTP library its traceback names: requests | urllib.
        self.library = library
        # Proxy variables the pasted command line sets (None: removes), e.g.
        # `http_proxy=http://127.0.0.1:3128 curl ...`.
        self.proxy_env = {} if proxy_env is None else proxy_env

    def __repr__(self) -> str:
        return f"Target({', '.join(f'{k}={getattr(self, k)!r}' for k in self.__slots__)})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Target) and all(
            getattr(self, k) == getattr(other, k) for k in self.__slots__)

    __hash__ = None  # type: ignore[assignment]  # mutable, as the dataclass was

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {"host": self.host, "port": self.port, "scheme": self.scheme,
                                  "error": self.error, "client": self.client}
        if self.path is not None:
            out["path"] = clean(self.path)
        return out


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


def _check_port(raw: str, strict: bool = True) -> int | None:
    """The port `raw` names. Typed text (`strict`) with an impossible port is a
    usage error the user can retype; a paste's impossible value is ignored
    (None): it is what a program printed, e.g. node's `port: -1` for a pipe."""
    try:
        port = int(raw)
    except ValueError:
        if not strict:
            return None
        raise InputError(f"'{raw}' is not a port number") from None
    if port <= 0 and not strict:
        return None
    if port == 0:
        raise InputError("port 0 cannot be connected to: it asks the system to pick a free port. "
                         "Give the port the server listens on (1-65535).")
    if port < 0:
        raise InputError(f"port {port} is out of range: a TCP port is a number from 1 to 65535")
    # Above 65535 is kept: the out-of-range rule says so (and what it wraps to).
    return port


def detect_error(text: str, low: str | None = None, skip: str | None = None) -> ErrorKind | None:
    """The kind of failure the text describes, or None."""
    low = text.lower() if low is None else low
    for kind, pattern in ERRORS:
        if kind != skip and pattern.search(text, low):
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
                 for m in pattern.finditer(text, low)
                 # `(_ssl.c:1006)` in a traceback is a source line, not an address
                 if not CODE_SUFFIX.search(m.group(hg) or "", (m.group(hg) or "").lower())]
        if found:
            return found
    return []


_SAYS_REFUSED = re.compile(r"connection refused|ECONNREFUSED", re.I)


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
    target.signals = [name for name, rx in SIGNALS if rx.search(text, low)]
    if target.client == "python":
        target.library = next((lib for lib, rx in PYTHON_LIBRARIES if rx.search(text, low)), None)
    if any(w in low for w in _PROXY_WORDS):
        target.proxy_env = commands.env_assignments(text)
    cmds = commands.from_text(text)
    target.role = _role(target, cmds, text)
    target.command_lines = commands.command_lines(text)
    family = commands.family_flag(target.command_lines)
    if family is not None:
        target.signals.append(f"forces-ipv{family}")
    target.here = (target.client in CLI_CLIENTS or bool(target.command_lines)
                   or LOOPBACK_PAIR.search(text, low) is not None)
    strict = _typed(text, target, target.command_lines)
    php = drivers.php_mysql(target.error, text, low) if target.client == "php" else None
    path = socket_path(text, low) or next((c.path for c in cmds if c.path), None)
    if path is None and not _explicit_addresses(text, low):
        # Only a server's own socket is named (a bind failure on it, say).
        path = socket_path(text, low, announced=True)
    if path is None and php is not None and php.socket is not None:
        path, target.assumed_path = php.socket, php.assumed
    if target.error == "missing" and path is None:
        # "No such file or directory" is about a socket only when there is one
        # (a browser's D-Bus noise says it too).
        target.error = detect_error(text, low, skip="missing")
    if path is not None:
        target.path = path
        if target.client == "curl" and target.error == "refused" and not _SAYS_REFUSED.search(text):
            # curl's "Couldn't connect to server" stands for every failed
            # connect(): on a UNIX socket a permission error as well as a
            # refusal, which the socket's own facts tell apart.
            target.error = None
        worker = _NGINX_WORKER.search(text) if target.client == "nginx" else None
        target.client_pid = int(worker.group(1)) if worker else None
        pg = _PG_SOCKET.search(path)
        target.port = int(pg.group(1)) if pg else None
        if php is not None and php.port is not None and php.socket == path:
            # PHP went to its socket, ignoring the DSN's port: where the user
            # expects the server, the port to look for it on TCP.
            target.port = _check_port(php.port, strict=False)
        return target
    # The client's address as a database server saw it (MariaDB's 1130 "Host
    # '127.0.0.2' is not allowed") is no address the client dialled.
    seen = _SERVER_SAW.sub(lambda m: " " * len(m.group()), text) if "not allowed" in low else text
    _tcp_address(target, seen, seen.lower() if seen is not text else low, cmds, strict)
    target.announced = _announced(text, low)
    if php is not None and php.host is not None:
        target.host = php.host
        target.parsed = _host(php.host, strict=False)
        if php.port is not None:
            target.port = _check_port(php.port, strict=False)
        elif target.port is None:
            target.port, target.assumed_port = 3306, True
    if target.port is None and REDIS_DENIED.search(text, low):
        # Redis's own refusal, printed alone: its default port (localhost assumed).
        target.port, target.assumed_port = 6379, True
    if target.scheme is None and "connectionpool(" in low:
        # urllib3 names the server's scheme in its pool only:
        # HTTPSConnectionPool(host='localhost', port=7730) (field trial 12).
        pool = next((m for m in CONNECTION_POOL.finditer(text, low) if m.group(2)), None)
        if pool is not None and target.port is not None and pool.group(4) == str(target.port):
            target.scheme = pool.group(1).lower()
    if target.scheme is None and ("psycopg" in low or "pg-server-closed" in target.signals):
        target.scheme = "postgresql"  # libpq's words: the port speaks PostgreSQL, not HTTP
    if target.scheme is None and target.client in CLIENT_SCHEMES:
        target.scheme = CLIENT_SCHEMES[target.client]
    if target.scheme is None and target.port is not None and REDIS_WORDS.search(text, low):
        # An application's log that names Redis around a TCP failure (ioredis,
        # "connecting to redis 127.0.0.1:7650"): the port speaks Redis.
        target.scheme = "redis"
    if target.client == "docker" and target.host is None and target.port is None and \
            target.role == "client" and DOCKER_DEFAULT.search(text, low):
        # The CLI names no endpoint when it used its default one.
        target.path, target.assumed_path = DOCKER_SOCKET, True
        return target
    if target.scheme is None and target.client in ("chrome", "firefox"):
        target.scheme = "http"
    return target


def _typed(text: str, target: Target, typed_lines: list[str]) -> bool:
    """Whether the text is the user's own words (one line, no client's wording,
    no command line), not something a program printed. Only typed text gets a
    usage error for an impossible value: a paste must always get a report."""
    return "\n" not in text.strip() and target.client is None and not typed_lines


_DIAL = re.compile(r"\bdial(?:ing)? (?:tcp|udp)|\bconnect(?:ing)? to\b", re.I)


def _role(target: Target, cmds: list[commands.Command], text: str) -> str:
    """`server` when the paste is about a server failing to bind or starting."""
    signals = set(target.signals)
    if target.error == "in-use" or "port-allocated" in signals:
        return "server"
    if "bad-port" in signals and not (any(c.role == "client" for c in cmds)
                                      or _DIAL.search(text) is not None):
        return "server"  # a client's own refusal (nc, Go's dial) stays the client's
    if target.error == "permission" and (any(c.role == "server" for c in cmds)
                                         or _BIND_WORDS.search(text) is not None):
        return "server"
    if "addr-not-available" in signals and (_BIND_WORDS.search(text) is not None
                                            or "server-start" in signals
                                            or any(c.role == "server" for c in cmds)):
        return "server"  # the address to listen on is not this machine's
    if target.error is None and "server-start" in signals:
        return "server"  # a banner and no error: the server is what the paste is about
    return "client"


def _tcp_address(target: Target, text: str, low: str, cmds: list[commands.Command],
                 strict: bool = True) -> None:
    """Host, port, scheme and quoted addresses of a TCP target."""
    host: str | None = None
    port_raw: str | None = None
    explicit = _explicit_addresses(text, low)
    if explicit:
        host, port_raw = explicit[0]
        host = _split_node_address(host) if host else ""
        # once each: gunicorn repeats its address on every retry
        target.quoted = list(dict.fromkeys(
            q for q in (_split_node_address(h) for h, _ in explicit if h) if is_ip(q)))
    server = next((c for c in cmds if c.role == "server"), None)
    if target.role == "server" and server is not None and server.port and port_raw is None:
        host, port_raw = host or server.host, commands.port_number(server.port)
    url = _target_url(text, low)
    if host is None and "ipv6-unbracketed" in target.signals:
        host, port_raw, scheme = _unbracketed(text, low)
        if host is not None:
            url = None  # `http://fe80::1/` is no URL of host fe80
        target.scheme = target.scheme or scheme
    wanted = _wanted(url, cmds)
    if wanted is None and "proxy" in target.signals:
        pool = _pool_and_connection(text, low)
        if pool is not None:
            wanted, (host, port_raw) = pool
    if wanted is not None and port_raw is not None and _elsewhere(host, port_raw, wanted) and (
            "proxy" in target.signals or target.client in ("curl", "wget")):
        # The client reached another address than the one it was asked for:
        # that address is a proxy (the proxy check confirms from the env).
        target.via = f"[{host}]:{port_raw}" if host and ":" in host else f"{host}:{port_raw}"
        host, port_raw = wanted[0], wanted[1]
        target.scheme = wanted[2]
        target.quoted = []
    if url:
        target.scheme = target.scheme or url.group(1).lower()
        if host is None:
            host = url.group(2)
        if port_raw is None:
            port_raw = url.group(3)
            named = _URL_PORT_NAME.match(text, url.end()) if port_raw is None else None
            if named is not None and host == url.group(2):
                # Not the scheme's default: the URL names a port, as a word.
                target.port_name = named.group(1)
                number = services.port_of(named.group(1))
                port_raw = str(number) if number is not None else None
            elif port_raw is None and target.scheme in DEFAULT_PORTS and host == url.group(2):
                port_raw = str(DEFAULT_PORTS[target.scheme])
    if url and host == url.group(2):
        path = _URL_PATH.match(text, url.end())
        target.url_path = path.group(1) if path else None
    client = next((c for c in cmds if c.role == "client" and (c.host or c.port)), None)
    if client is not None:
        host = host or client.host
        port_raw = port_raw or commands.port_number(client.port)
        target.scheme = target.scheme or client.scheme
    if host is None or port_raw is None:
        for m in HOSTPORT.finditer(text, low):
            if _looks_like_host(m.group(1)):
                if host is None:
                    host = m.group(1)
                if port_raw is None and host.strip("[]") == m.group(1).strip("[]"):
                    port_raw = m.group(2)
                break
    if port_raw is None:
        wild = WILDCARD_PORT.search(text, low)
        port_raw = wild.group(1) if wild else None
    if port_raw is None:
        phrase = PORT_PHRASE.search(text, low)
        if phrase:
            port_raw = phrase.group(1)
    if port_raw is None and "bad-port" in target.signals:
        bad = BAD_PORT_VALUE.search(text, low)
        port_raw = next((g for g in bad.groups() if g), None) if bad else None
    if port_raw is None and target.client in CLIENT_DEFAULT_PORTS and host is not None:
        port_raw = str(CLIENT_DEFAULT_PORTS[target.client])
        target.assumed_port = True
    if host is None:
        bare = BARE_HOST.search(text, low)
        if bare:
            host = bare.group(1)
    for m in DIALLED.finditer(text, low):
        addr = m.group(1) or m.group(2) or m.group(3) or m.group(4)
        if addr and is_ip(addr) and addr not in target.quoted:
            target.quoted.append(addr)
    if host is None and target.quoted:
        host = target.quoted[0]  # telnet's `Trying 127.0.0.1...`
    if port_raw is not None:
        target.port = _check_port(port_raw, strict)
    if host is not None:
        host = host.strip()
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        target.host = host if host else None
    if target.host is not None:
        target.parsed = _host(target.host, strict)
        if target.host.lower() == "localhost" and not target.quoted:
            # `curl -6 http://localhost:PORT/` dials ::1 only (curl resolves
            # localhost itself): what the client dialled, not our resolver.
            if "forces-ipv6" in target.signals:
                target.quoted = ["::1"]
            elif "forces-ipv4" in target.signals:
                target.quoted = ["127.0.0.1"]


def _host(host: str, strict: bool) -> Host:
    """parse_target_host; a paste's impossible host is kept as `invalid` (the
    name checks then say it does not resolve), never a usage error."""
    try:
        return parse_target_host(host)
    except InputError:
        if strict:
            raise
        return Host(host, "invalid", None, 0, False, False)


# A server's banner names where it listens ("Running on http://127.0.0.1:5000",
# vite's "Local: http://localhost:5173/"): not what a client was asked for.
_BANNER = re.compile(r"(?:Running on|Serving HTTP on|Local:|Network:|listening on|Listening at:?|"
                     r"started server on|server running at|Uvicorn running on)\s*$", re.I)


def _unbracketed(text: str, low: str) -> tuple[str | None, str | None, str | None]:
    """(host, port, scheme) of a URL whose IPv6 address lacks its brackets:
    `http://::1:8000/` is ::1 port 8000 when the part before the last colon
    is an address and the last part a port's digits; else the whole is the
    address, on the scheme's port."""
    m = UNBRACKETED_URL.search(text, low)
    if m is None:
        return None, None, None
    scheme = (m.group(1) or "http").lower()  # requests names no scheme: http(s)
    whole = m.group(2) or m.group(4)
    head, _, last = whole.rpartition(":")
    if last.isdigit() and len(last) <= 5 and is_ip(head):
        return head, last, scheme
    default = DEFAULT_PORTS.get(scheme)
    return whole if is_ip(whole) else None, str(default) if default else None, scheme


# A URL's path and query after its host and port, up to a space or a quote.
_URL_PATH = re.compile(r"(/[^\s'\"<>`\\]{1,500})")
_SERVER_SAW = re.compile(r"\bHost '[^'\n]{1,255}' is not allowed to connect", re.I)


# A word where a URL's port goes: `http://localhost:http-alt/app.py`.
_URL_PORT_NAME = re.compile(r":([A-Za-z][A-Za-z0-9\-]{0,30})(?=[/?#\s'\"]|$)")


# A server's banner naming its port without a URL: Spring Boot's "Tomcat
# started on port(s): 7760 (http)", Netty's "started on port 8080", node's
# "listening on port 3000" (field trial 11: the app's own port led as the
# "did you mean" for the service it called).
_BANNER_PORT = re.compile(r"\b(?:started on port(?:\(s\))?|(?:listening|running|serving|up) on "
                          r"port)\s{0,3}:?\s{0,3}(\d{1,5})\b", re.I)


def _announced(text: str, low: str) -> list[int]:
    """The ports of the URLs a server's banner names, and the ports a banner
    names in words."""
    found = {int(m.group(3)) for m in URL.finditer(text, low)
             if m.group(3) and m.group(3).isdigit() and int(m.group(3)) < 65536
             and _BANNER.search(line_before(text, m.start()))}
    if "port" in low:
        found |= {int(m.group(1)) for m in _BANNER_PORT.finditer(text) if int(m.group(1)) < 65536}
    return sorted(found)


def _target_url(text: str, low: str) -> re.Match[str] | None:
    """The first URL that is not a proxy's (`http_proxy=URL`, `proxy env variable == 'URL'`)
    nor a server's banner, unless a banner is all there is."""
    proxies = {m.start(1) for rx in (PROXY_URL, PROXY_OPTION_URL) for m in rx.finditer(text, low)}
    urls = [m for m in URL.finditer(text, low) if m.start() not in proxies]
    asked = [m for m in urls if not _BANNER.search(line_before(text, m.start()))]
    found = asked or urls
    return found[0] if found else None


def _elsewhere(host: str | None, port: str, wanted: tuple[str, str, str | None]) -> bool:
    """Whether the failed address is not the asked one (another port, or with
    a proxy signal, another host)."""
    if port != wanted[1]:
        return True
    return (host or "").strip("[]").lower() != wanted[0].strip("[]").lower() and not (
        is_ip((host or "").strip("[]")) and wanted[0].lower() == "localhost")


def _wanted(url: re.Match[str] | None, cmds: list[commands.Command]
            ) -> tuple[str, str, str | None] | None:
    """The address the user asked the client for: its URL, or its command line."""
    if url is not None:
        scheme = url.group(1).lower()
        port = url.group(3) or (str(DEFAULT_PORTS[scheme]) if scheme in DEFAULT_PORTS else None)
        if port is not None:
            return (url.group(2), port, scheme)
    client = next((c for c in cmds if c.role == "client" and c.host and c.port), None)
    if client is not None and client.host and client.port:
        port = commands.port_number(client.port)
        if port is not None:
            return (client.host, port, client.scheme)
    return None


def _pool_and_connection(text: str, low: str
                         ) -> tuple[tuple[str, str, str | None], tuple[str, str]] | None:
    """urllib3 through a proxy to an https:// URL names the server only as its
    pool, `HTTPSConnectionPool(host='localhost', port=8443)`, and the proxy as
    the connection that failed, `HTTPSConnection(host='127.0.0.1', port=3128)`:
    (the server, the proxy), or None when they are not two addresses."""
    pools: list[tuple[str, str, str]] = []
    conns: list[tuple[str, str, str]] = []
    for m in CONNECTION_POOL.finditer(text, low):
        (pools if m.group(2) else conns).append((m.group(1), m.group(3), m.group(4)))
    for scheme, host, port in pools:
        other = next(((h, p) for _, h, p in conns if (h, p) != (host, port)), None)
        if other is not None:
            return (host, port, scheme.lower()), other
    return None


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
