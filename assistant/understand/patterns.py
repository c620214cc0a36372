"""What real clients print, as data: the patterns symptoms.py reads text with.

Each pattern is linear (no nested quantifiers, bounded repetition), so 100
KB of hostile text stays fast, and compiles only when the text contains one
of its needles. Order matters where it says so.
"""

from __future__ import annotations

import re
from typing import Literal, get_args


class Rx:
    """A regular expression compiled on first use, and tried only when the
    lower-cased text contains one of its needles (literals that every match
    implies). Most patterns never apply to a given text: compiling all of
    them up front was a tenth of a seed question's run time."""

    __slots__ = ("src", "flags", "needles", "_rx")

    def __init__(self, src: str, needles: tuple[str, ...] = (), flags: int = 0):
        self.src, self.flags, self.needles = src, flags, needles
        self._rx: re.Pattern[str] | None = None

    def applies(self, low: str) -> bool:
        return not self.needles or any(n in low for n in self.needles)

    @property
    def rx(self) -> re.Pattern[str]:
        if self._rx is None:
            self._rx = re.compile(self.src, self.flags)
        return self._rx

    def search(self, text: str, low: str) -> re.Match[str] | None:
        return self.rx.search(text) if self.applies(low) else None

    def finditer(self, text: str, low: str) -> list[re.Match[str]]:
        return list(self.rx.finditer(text)) if self.applies(low) else []

DEFAULT_PORTS = {
    "http": 80, "https": 443, "ws": 80, "wss": 443, "ftp": 21, "ssh": 22,
    "postgres": 5432, "postgresql": 5432, "mysql": 3306, "mariadb": 3306,
    "redis": 6379, "rediss": 6380, "mongodb": 27017, "amqp": 5672, "amqps": 5671,
}


# What went wrong, as the symptom fact's `error` field (the rule vocabulary).
ErrorKind = Literal["in-use", "permission", "unresolved", "refused", "timeout", "reset",
                    "http-status", "hang"]


# --- error kinds -------------------------------------------------------------
# Order is precedence: a bind failure outranks the words of a later retry.
ERRORS: list[tuple[ErrorKind, Rx]] = [
    ("in-use", Rx(
        r"EADDRINUSE|address already in use|only one usage of each socket address|"
        r"\b10048\b|port is already allocated|\bis (?:already )?in use\b|was already in use|"
        r"BindException: Address",
        ("eaddrinuse", "in use", "only one usage", "10048", "already allocated", "bindexception"),
        re.I)),
    ("permission", Rx(
        r"\bEACCES\b|listen.{0,40}permission denied|bind.{0,40}permission denied|"
        r"permission denied.{0,20}(?:0\.0\.0\.0|::|\d+\.\d+\.\d+\.\d+):\d|"
        r"BindException: Permission denied|\b10013\b|forbidden by its access permissions|"
        r"\[Errno 13\] Permission denied",
        ("eacces", "permission denied", "10013", "access permissions"), re.I)),
    ("unresolved", Rx(
        r"ENOTFOUND|EAI_AGAIN|could not resolve host|name or service not known|"
        r"nodename nor servname|no such host|could not translate host name|UnknownHostException|"
        r"unknown (?:mysql |mariadb )?server host|ERR_NAME_NOT_RESOLVED|"
        r"temporary failure in name resolution|"
        r"getaddrinfo failed|\b11001\b|unable to resolve host|trouble finding that site|"
        r"no address associated with hostname|Name does not resolve|failed to resolve",
        ("enotfound", "eai_again", "resolve", "not known", "servname", "no such host",
         "translate host", "unknownhost", "server host", "not_resolved", "name resolution",
         "getaddrinfo", "11001", "trouble finding", "no address associated"), re.I)),
    ("refused", Rx(
        r"ECONNREFUSED|connection refused|actively refused|\b10061\b|ERR_CONNECTION_REFUSED|"
        r"refused to connect|couldn't connect to server|curl: \(7\)|unable to connect|"
        r"can.t establish a connection|can't connect to (?:mysql |mariadb )?server|"
        r"Errno 111\b|Error 111\b|"
        r"\(111\)|could not connect to redis|ConnectException|connect: connection refused|"
        r"Connection to \S{1,255} refused|upstream connect error|\brefused\b",
        ("refused", "10061", "connect to server", "curl: (7)", "unable to connect",
         "establish a connection", "can't connect to", "111", "could not connect to redis",
         "connectexception", "upstream connect error"), re.I)),
    ("timeout", Rx(
        r"ETIMEDOUT|timed out|timeout was reached|i/o timeout|ERR_CONNECTION_TIMED_OUT|"
        r"\b10060\b|curl: \(28\)|took too long to respond|SocketTimeoutException|\(110\)",
        ("etimedout", "timed out", "timeout", "timed_out", "10060", "curl: (28)",
         "too long to respond", "(110)"), re.I)),
    ("reset", Rx(
        r"ECONNRESET|connection reset|reset by peer|empty reply from server|curl: \((?:52|56)\)|"
        r"ERR_CONNECTION_RESET|ERR_EMPTY_RESPONSE|\b10054\b|socket hang up|RemoteDisconnected|"
        r"connection aborted|server closed the connection unexpectedly|"
        r"connection (?:was|has been) reset",
        ("econnreset", "connection reset", "reset by peer", "empty reply", "curl: (5",
         "connection_reset", "empty_response", "10054", "socket hang up", "remotedisconnected",
         "connection aborted", "closed the connection unexpectedly", "was reset", "been reset"),
        re.I)),
    ("http-status", Rx(
        r"HTTP/\d(?:\.\d)? [45]\d\d|status code:? [45]\d\d|returned error: [45]\d\d|"
        r"\b[45]\d\d (?:Not Found|Bad Gateway|Bad Request|Forbidden|Unauthorized|"
        r"Internal Server Error|Service Unavailable|Gateway Timeout|Method Not Allowed)\b|"
        r"curl: \(22\)|ERROR 40\d|ERROR 50\d|\b(?:gives?|returns?|got|shows?) (?:an? )?(?:HTTP )?"
        r"[45]\d\d\b|\b[45]\d\d error\b",
        ("http/", "status code", "returned error", "not found", "bad gateway", "bad request",
         "forbidden", "unauthorized", "internal server error", "service unavailable",
         "gateway timeout", "method not allowed", "curl: (22)", "error 40", "error 50", "give",
         "return", "got ", "show", " error"), re.I)),
    ("hang", Rx(
        r"\bhangs?\b|\bhanging\b|\bstuck\b|no response|never (?:responds|answers|returns|loads)|"
        r"waits? forever|keeps? (?:loading|spinning)|\bspins\b|does not respond|doesn't respond|"
        r"not responding",
        ("hang", "stuck", "no response", "never ", "forever", "keep", "spins", "respond"), re.I)),
]

# --- clients -----------------------------------------------------------------
CLIENTS: list[tuple[str, Rx]] = [
    ("python", Rx(
        r"Traceback \(most recent call last\)|ConnectionRefusedError|urllib\.error|urllib3|"
        r"requests\.exceptions|HTTPConnectionPool|HTTPSConnectionPool|psycopg2?\b|psycopg\.|"
        r"redis\.exceptions|socket\.gaierror|OSError: \[Errno|aiohttp|httpx\.|Error \d+ connecting to|"
        r"django\.db|sqlalchemy\.|OperationalError",
        ("traceback", "connectionrefusederror", "urllib", "requests.exceptions", "connectionpool",
         "psycopg", "redis.exceptions", "socket.gaierror", "oserror: [errno", "aiohttp", "httpx.",
         "connecting to", "django.db", "sqlalchemy.", "operationalerror"))),
    ("ruby", Rx(r"Errno::E[A-Z]{2,20}|\.rb:\d|\bPuma\b|\brails\b|ActiveRecord::",
                 ("errno::", ".rb:", "puma", "rails", "activerecord::"))),
    ("java", Rx(r"java\.net\.|Exception in thread|org\.postgresql|\.java:\d|java\.io\.|"
                 r"io\.netty\.|\b(?:[a-z][a-z0-9]{0,30}\.){2,8}[A-Z]\w{0,60}Exception\b|"
                 r"Web server failed to start|APPLICATION FAILED TO START|\bkafka\b",
                 ("java", "exception", "org.postgresql", "io.netty.", "web server failed to start",
                  "application failed to start", "kafka"))),
    ("go", Rx(r"\bdial tcp\b|\blisten tcp\b|\bread tcp\b", ("dial tcp", "listen tcp", "read tcp"))),
    ("dotnet", Rx(r"System\.Net\.|SocketException|HttpRequestException",
                   ("system.net.", "socketexception", "httprequestexception"))),
    ("node", Rx(
        r"ECONNREFUSED|EADDRINUSE|EACCES|ENOTFOUND|EAI_AGAIN|ECONNRESET|ETIMEDOUT|AggregateError|"
        r"\bnode:|TCPConnectWrap|\bnpm ERR|\bnode\b",
        ("econnrefused", "eaddrinuse", "eacces", "enotfound", "eai_again", "econnreset",
         "etimedout", "aggregateerror", "node", "tcpconnectwrap", "npm err"), re.I)),
    ("docker", Rx(r"Error response from daemon|\bdocker\b", ("error response from daemon", "docker"))),
    ("envoy", Rx(r"upstream connect error|\benvoy\b", ("upstream connect error", "envoy"))),
    ("curl", Rx(r"\bcurl\b", ("curl",))),
    ("wget", Rx(r"\bwget\b|^Connecting to \S.{0,200}\.\.\. failed|^Resolving \S",
                 ("wget", "connecting to", "resolving "), re.M)),
    ("psql", Rx(r"\bpsql\b", ("psql",))),
    ("mysql", Rx(r"ERROR 200[0-9] \(HY000\)|MySQL server|\bmysql\b", ("error 200", "mysql"), re.I)),
    ("redis-cli", Rx(r"Could not connect to Redis at|redis-cli",
                      ("could not connect to redis", "redis-cli"))),
    ("ssh", Rx(r"^ssh: |\bssh\b", ("ssh",), re.M)),
    ("nc", Rx(r"^nc: |\bnetcat\b|\bncat\b", ("nc: ", "netcat", "ncat"), re.M)),
    ("telnet", Rx(r"\btelnet\b", ("telnet",))),
    ("chrome", Rx(r"\bERR_[A-Z_]{4,40}\b|This site can.t be reached|\bchrome\b",
                   ("err_", "this site can", "chrome"), re.I)),
    ("firefox", Rx(r"Unable to connect|Firefox can.t|\bfirefox\b", ("unable to connect", "firefox"),
                    re.I)),
]

# The values the symptom fact's `error` and `client` fields can take: the
# rule vocabulary (facts/asserted.py declares them to rules and the schema).
ERROR_KINDS: tuple[str, ...] = (*get_args(ErrorKind), "unspecified")
CLIENT_NAMES: tuple[str, ...] = tuple(n for n, _ in CLIENTS) + ("unknown",)

# --- where the client runs, in the user's words --------------------------------
REMOTE: list[tuple[str, Rx]] = [
    ("an emulator", Rx(r"\b(?:emulator|simulator)\b", ("emulator", "simulator"), re.I)),
    ("a phone", Rx(r"\b(?:i?phone|android|smartphone|mobile (?:device|app|browser)|tablet|ipad)s?\b",
                    ("phone", "android", "mobile", "tablet", "ipad"), re.I)),
    ("another machine", Rx(
        r"\b(?:another|other|second|remote|different|colleague'?s?|friend'?s?|coworker'?s?|"
        r"teammate'?s?) (?:machine|computer|laptop|pc|device|host|box|server)s?\b|"
        r"\b(?:from|on) (?:the|my|our|a) (?:lan|network|wifi)\b",
        ("another", "other", "second", "remote", "different", "colleague", "friend", "coworker",
         "teammate", "lan", "network", "wifi"), re.I)),
    ("a container", Rx(
        r"\b(?:from|in|inside|within|of) (?:a |the |my |our |another |other )?(?:docker |podman )?"
        r"(?:container|pod)s?\b|\b(?:from|in|inside) docker\b|\bdocker container\b",
        ("container", "pod", "docker"), re.I)),
    ("a VM", Rx(r"\b(?:from|in|inside|on) (?:a |the |my )?(?:vm|virtual machine|virtualbox|vagrant|"
                 r"multipass|parallels|vmware)\b", ("vm", "virtual", "vagrant", "multipass",
                                                     "parallels", "vmware"), re.I)),
    ("WSL", Rx(r"\b(?:from|in|inside) wsl2?\b", ("wsl",), re.I)),
]

# --- addresses ---------------------------------------------------------------
_HOSTCHARS = r"[A-Za-z0-9_.\-]{1,253}"
_V6 = r"[0-9A-Fa-f:.]{2,45}(?:%[A-Za-z0-9]{1,15})?"
_ADDR = rf"(?:\[{_V6}\]|{_HOSTCHARS}|{_V6})"

# (pattern, host group, port group); first pattern to match wins.
EXPLICIT: list[tuple[Rx, int, int | None]] = [
    # Node: connect ECONNREFUSED ::1:3000, listen EADDRINUSE: address already in use :::3000
    (Rx(r"\b(?:ECONNREFUSED|ETIMEDOUT|ECONNRESET|EADDRINUSE|EACCES|EHOSTUNREACH|ENETUNREACH)"
                r"(?::[A-Za-z ]{1,40})? ([0-9A-Za-z_.:\[\]\-%]{1,300}):(-?\d{1,9})\b",
         ("econnrefused", "etimedout", "econnreset", "eaddrinuse", "eacces", "ehostunreach",
          "enetunreach")), 1, 2),
    (Rx(r"\b(?:ENOTFOUND|EAI_AGAIN) ([A-Za-z0-9_.\-]{1,253})", ('enotfound', 'eai_again')), 1, None),
    # Go: dial tcp 127.0.0.1:8080 / dial tcp [::1]:8080 / listen tcp :8080 / lookup host
    (Rx(rf"\b(?:dial|listen) tcp[46]? ({_ADDR})?:(-?\d{{1,9}})\b", ('dial tcp', 'listen tcp')), 1, 2),
    (Rx(r"\blookup ([A-Za-z0-9_.\-]{1,253})(?: on \S{1,100})?: no such host", ('lookup ',)), 1, None),
    # curl
    (Rx(rf"Failed to connect to ({_ADDR}) port (-?\d{{1,9}})", ('failed to connect to',)), 1, 2),
    (Rx(r"Could not resolve host: ([^\s;,]{1,253})", ('could not resolve host',)), 1, None),
    # wget: Connecting to localhost (localhost)|::1|:3000... / Connecting to 127.0.0.1:62893...
    (Rx(r"Connecting to ([A-Za-z0-9_.\-]{1,253}) \([^)\n]{0,260}\)\|[^|\n]{1,60}\|:(\d{1,9})",
         ("connecting to",)), 1, 2),
    (Rx(rf"Connecting to ({_ADDR}):(\d{{1,9}})\.\.\.", ('connecting to',)), 1, 2),
    (Rx(r"Resolving ([A-Za-z0-9_.\-]{1,253}) \([^)\n]{0,260}\)\.\.\. failed", ('resolving ',)), 1, None),
    (Rx(r"unable to resolve host address [‘'`\"]([^’'`\"\s]{1,253})",
         ("unable to resolve host address",)), 1, None),
    # ssh, nc: connect to host localhost port 22 / connect to 127.0.0.1 port 8080 (tcp)
    (Rx(rf"connect to (?:host )?({_ADDR}) port (-?\d{{1,9}})", ('connect to ',)), 1, 2),
    # libpq (psql, psycopg2), new and old wording
    (Rx(r"connection to server at \"([^\"\n]{1,253})\"(?: \([^)\n]{1,60}\))?, "
                r"port (-?\d{1,9})", ('connection to server at',)), 1, 2),
    (Rx(r"on host \"([^\"\n]{1,253})\"(?: \([^)\n]{1,60}\))? and accepting\s{1,10}TCP/IP "
                r"connections on port (-?\d{1,9})", ('on host',)), 1, 2),
    (Rx(r"could not translate host name \"([^\"\n]{1,253})\"", ('could not translate host name',)), 1, None),
    # mysql
    (Rx(r"connect to (?:MySQL |MariaDB )?server on '([^':\n]{1,253})(?::(\d{1,9}))?'",
         ("server on '",)), 1, 2),
    (Rx(r"Unknown (?:MySQL |MariaDB )?server host '([^'\n]{1,253})'", ("server host '",)), 1, None),
    # redis-cli and redis-py
    (Rx(rf"Could not connect to Redis at ({_ADDR}):(\d{{1,9}})", ('could not connect to redis at',)), 1, 2),
    (Rx(rf"Error -?\d{{1,6}} connecting to ({_ADDR}):(\d{{1,9}})", ('connecting to',)), 1, 2),
    # requests / urllib3
    (Rx(r"host='([^'\n]{1,253})', port=(-?\d{1,9})", ("host='",)), 1, 2),
    # Java: UnknownHostException: name; Netty: Connection refused: localhost/127.0.0.1:8080
    (Rx(r"UnknownHostException: ([A-Za-z0-9_.\-]{1,253})", ('unknownhostexception',)), 1, None),
    (Rx(r"\b([A-Za-z0-9_.\-]{1,253})/([0-9A-Fa-f:.]{2,45}):(\d{1,9})\b", ('/',)), 1, 3),
    (Rx(r"(?:refused|connect|failed)[^\n/]{0,40}: /([0-9A-Fa-f:.]{2,45}):(\d{1,9})\b", ('/',)), 1, 2),
    (Rx(r"Connection to ([A-Za-z0-9_.\-]{1,253}):(\d{1,9}) refused", ('connection to ',)), 1, 2),
    # .NET: ... refused it. [::ffff:127.0.0.1]:5000 / Connection refused (localhost:5000)
    (Rx(rf"(\[{_V6}\]):(\d{{1,9}})", ('[',)), 1, 2),
    (Rx(r"\(([A-Za-z0-9_.\-]{1,253}):(\d{1,9})\)", ('(',)), 1, 2),
]

# Addresses a client reports it dialled for a name: libpq `"localhost" (::1)`,
# Java `localhost/127.0.0.1:9092`, wget `|::1|:3000`.
DIALLED = Rx(
    r"\"[A-Za-z0-9_.\-]{1,253}\" \(([0-9A-Fa-f:.]{2,45})\)|"
    r"\b[A-Za-z][A-Za-z0-9_.\-]{0,252}/([0-9A-Fa-f:.]{2,45}):\d{1,9}\b|"
    r"\|([0-9A-Fa-f:.]{2,45})\|:\d{1,9}", ('"', "/", "|"))

URL = Rx(
    r"\b([A-Za-z][A-Za-z0-9+.\-]{0,20})://(?:[^\s/@]{0,512}@)?"
    r"(\[[^\]\s/]{0,60}\]|[^\s/:?#'\"<>()\[\]]{1,253})(?::(-?\d{1,9}))?", ("://",))
HOSTPORT = Rx(r"(?<![\w.:/\-])(\[[^\]\s]{1,60}\]|[A-Za-z0-9_.\-]{1,253}):(-?\d{1,9})\b(?![.:]\d)",
                (":",))
PORT_PHRASE = Rx(r"\bport(?: number)?\s{0,3}[:=#]?\s{0,3}(-?\d{1,9})\b", ("port",), re.I)
BARE_HOST = Rx(
    r"(?<![\w.:\-])(localhost|127\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[::1\]|::1|0\.0\.0\.0)(?![\w.:\-])",
    ("localhost", "127.", "::1", "0.0.0.0"), re.I)
CODE_SUFFIX = Rx(r"\.(?:js|mjs|cjs|ts|tsx|jsx|py|go|java|rb|c|cc|cpp|h|rs|cs|kt|php|"
                          r"scala|swift|vue|json|yaml|yml|toml|log|txt|html|css|class|jar)$", (".",), re.I)
WORD_HOST = re.compile(r"[a-z]{2,63}", re.I)
