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


def line_before(text: str, end: int, reach: int = 80) -> str:
    """The end of the line up to `end`, at most `reach` characters: bounded, so
    a paste of many matches on one long line stays linear."""
    start = max(0, end - reach)
    return text[text.rfind("\n", start, end) + 1 or start:end]


# What went wrong, as the symptom fact's `error` field (the rule vocabulary).
ErrorKind = Literal["in-use", "permission", "unresolved", "tls", "refused", "timeout", "reset",
                    "missing", "http-status", "hang"]


# --- error kinds -------------------------------------------------------------
# Order is precedence: a bind failure outranks the words of a later retry.
ERRORS: list[tuple[ErrorKind, Rx]] = [
    ("in-use", Rx(
        r"EADDRINUSE|address already in use|only one usage of each socket address|"
        r"\b10048\b|port is already allocated|\bis (?:already )?in use\b|was already in use|"
        r"BindException: Address|Connection in use: \(",  # the last: gunicorn's, for a bind
        ("eaddrinuse", "in use", "only one usage", "10048", "already allocated", "bindexception"),
        re.I)),
    ("permission", Rx(
        r"\bEACCES\b|listen.{0,40}permission denied|bind.{0,40}permission denied|"
        r"permission denied.{0,20}(?:0\.0\.0\.0|::|\d+\.\d+\.\d+\.\d+):\d|"
        r"BindException: Permission denied|\b10013\b|forbidden by its access permissions|"
        r"\[Errno 13\] Permission denied|connect.{0,40}permission denied|"
        r"permission denied while trying to connect|\(13: Permission denied\)|"
        r"failed: Permission denied|Redis at \S{1,300}: Permission denied|"
        r"Error 13 connecting to |\bn(?:c|cat|etcat): Permission denied",
        ("eacces", "permission denied", "10013", "access permissions", "error 13 connecting"),
        re.I)),
    ("unresolved", Rx(
        r"\bENOTFOUND\b|EAI_AGAIN|could not resolve host|name or service not known|"
        r"nodename nor servname|no such host|could not translate host name|UnknownHostException|"
        r"unknown (?:mysql |mariadb )?server host|ERR_NAME_NOT_RESOLVED|"
        r"temporary failure in name resolution|"
        r"getaddrinfo failed|\b11001\b|unable to resolve host|trouble finding that site|"
        r"no address associated with hostname|Name does not resolve|failed to resolve",
        ("enotfound", "eai_again", "resolve", "not known", "servname", "no such host",
         "translate host", "unknownhost", "server host", "not_resolved", "name resolution",
         "getaddrinfo", "11001", "trouble finding", "no address associated"), re.I)),
    ("tls", Rx(
        r"wrong version number|WRONG_VERSION_NUMBER|ERR_SSL_PROTOCOL_ERROR|SSL_ERROR_RX_RECORD_TOO_LONG|"
        r"curl: \(35\)|\bEPROTO\b|server gave HTTP response to HTTPS client|"
        # a refused certificate (curl 60, OpenSSL's and Node.js's words)
        r"curl: \(60\)|certificate verify failed|SSL certificate problem|DEPTH_ZERO_SELF_SIGNED_CERT|"
        r"ERR_TLS_CERT_ALTNAME_INVALID|CERT_HAS_EXPIRED|"
        r"first record does not look like a TLS handshake|plain HTTP request was sent to HTTPS port|"
        r"SSLError|ssl\.SSLError|SSL routines|unknown protocol|packet length too long|"
        r"received invalid response to SSL negotiation|Unable to establish SSL connection|"
        r"unexpected TLS packet|tls: failed to verify certificate|"
        r"x509: |certificate signed by unknown authority|TLS handshake timeout|"
        r"tls: handshake failure",
        ("curl: (60)", "certificate", "self_signed", "altname", "cert_has", "wrong version",
         "wrong_version", "ssl", "curl: (35)", "eproto", "https client",
         "tls handshake", "https port", "unknown protocol", "packet length", "tls packet", "tls:",
         "x509", "certificate signed"), re.I)),
    ("refused", Rx(
        r"ECONNREFUSED|connection refused|actively refused|\b10061\b|ERR_CONNECTION_REFUSED|"
        r"refused to connect|couldn't connect to server|curl: \(7\)|"
        # not a proxy's status line: wget's "500 Unable to connect" is tinyproxy's answer
        r"(?<!\d\d\d )(?<!\d\d\d: )unable to connect(?! to the server: )|"
        r"can.t establish a connection|can't connect to (?:mysql |mariadb )?server|"
        r"Errno 111\b|Error 111\b|"
        r"\(111\)|ConnectException|connect: connection refused|"
        r"Connection to \S{1,255} refused|upstream connect error|\brefused\b",
        ("refused", "10061", "connect to server", "curl: (7)", "unable to connect",
         "establish a connection", "can't connect to", "111", "connectexception",
         "upstream connect error"), re.I)),
    ("timeout", Rx(
        r"ETIMEDOUT|timed out|timeout was reached|i/o timeout|ERR_CONNECTION_TIMED_OUT|"
        r"\b10060\b|curl: \(28\)|took too long to respond|SocketTimeoutException|\(110\)|"
        r"Connect Timeout Error|UND_ERR_CONNECT_TIMEOUT|timeout expired|deadline exceeded",
        ("etimedout", "timed out", "timeout", "timed_out", "10060", "curl: (28)",
         "too long to respond", "(110)", "deadline exceeded"), re.I)),
    ("reset", Rx(
        r"ECONNRESET|connection reset|reset by peer|empty reply from server|curl: \((?:52|56)\)|"
        r"ERR_CONNECTION_RESET|ERR_EMPTY_RESPONSE|\b10054\b|socket hang up|RemoteDisconnected|"
        r"connection aborted|server closed the connection unexpectedly|"
        r"connection (?:was|has been) reset|other side closed|use of closed network connection",
        ("econnreset", "connection reset", "reset by peer", "empty reply", "curl: (5",
         "connection_reset", "empty_response", "10054", "socket hang up", "remotedisconnected",
         "connection aborted", "closed the connection unexpectedly", "was reset", "been reset",
         "other side closed", "use of closed network"),
        re.I)),
    ("missing", Rx(
        r"No such file or directory|\bENOENT\b|socket '[^'\n]{1,300}' \(2\)|\(2: No such file",
        ("no such file", "enoent", "' (2)", "(2: no such"), re.I)),
    ("http-status", Rx(
        r"HTTP/\d(?:\.\d)? [45]\d\d|status code:? [45]\d\d|returned error: [45]\d\d|"
        r"\b[45]\d\d (?:Not Found|Bad Gateway|Bad Request|Forbidden|Unauthorized|"
        r"Internal Server Error|Service Unavailable|Gateway Timeout|Method Not Allowed)\b|"
        r"curl: \(22\)|ERROR 40\d|ERROR 50\d|\b(?:gives?|returns?|got|shows?) (?:an? )?(?:HTTP )?"
        r"[45]\d\d\b|\b[45]\d\d error\b|\b[45]\d\d (?:Client|Server) Error:",
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
        r"django\.db|sqlalchemy\.|OperationalError|"
        # asyncio's own wording (every asyncio client and server: websockets,
        # aiohttp, uvicorn), and gunicorn's
        r"Connect call failed \(|error while attempting to bind on address \(|"
        r"Multiple exceptions: \[Errno|\bgunicorn\b|\buvicorn\b",
        ("traceback", "connectionrefusederror", "urllib", "requests.exceptions", "connectionpool",
         "psycopg", "redis.exceptions", "socket.gaierror", "oserror: [errno", "aiohttp", "httpx.",
         "connecting to", "django.db", "sqlalchemy.", "operationalerror", "connect call failed",
         "attempting to bind", "multiple exceptions", "gunicorn", "uvicorn"))),
    ("ruby", Rx(r"Errno::E[A-Z]{2,20}|\.rb:\d|\bPuma\b|\brails\b|ActiveRecord::",
                 ("errno::", ".rb:", "puma", "rails", "activerecord::"))),
    ("java", Rx(r"java\.net\.|Exception in thread|org\.postgresql|\.java:\d|java\.io\.|"
                 r"io\.netty\.|\b(?:[a-z][a-z0-9]{0,30}\.){2,8}[A-Z]\w{0,60}Exception\b|"
                 r"Web server failed to start|APPLICATION FAILED TO START|\bkafka\b",
                 ("java", "exception", "org.postgresql", "io.netty.", "web server failed to start",
                  "application failed to start", "kafka"))),
    ("docker", Rx(r"Error response from daemon|Docker daemon|\bdocker(?:-compose)? (?:run|ps|compose|"
                  r"build|pull|exec|start|up|info|version)\b|docker\.sock|DOCKER_HOST|^docker: |"
                  r"^CONTAINER ID +IMAGE +COMMAND\b",
                  ("error response from daemon", "docker", "container id"), re.M | re.I)),
    ("kubectl", Rx(r"\bkubectl\b|memcache\.go:\d|The connection to the server \S{1,260} was refused|"
                   r"couldn't get current server API group list|Unable to connect to the server: ",
                   ("kubectl", "memcache.go", "connection to the server", "api group list",
                    "unable to connect to the server"))),
    ("go", Rx(r"\bdial (?:tcp|unix)\b|\blisten (?:tcp|unix)\b|\bread tcp\b|\bproxyconnect tcp\b",
              ("dial tcp", "dial unix", "listen tcp", "listen unix", "read tcp", "proxyconnect"))),
    ("dotnet", Rx(r"System\.Net\.|SocketException|HttpRequestException",
                   ("system.net.", "socketexception", "httprequestexception"))),
    # PHP's MySQL drivers (PDO, mysqli): `SQLSTATE[HY000] [2002] No such file or
    # directory`, `mysqli_sql_exception: Connection refused`. Before mysql: a
    # DSN (`mysql:host=...`) names MySQL, but PHP is the client.
    ("php", Rx(r"PDOException|SQLSTATE\[[0-9A-Z]{5}\]|mysqli_sql_exception|mysqli_connect\(\)|"
               r"mysqli::__construct|\bnew (?:PDO|mysqli)\(",
               ("pdoexception", "sqlstate[", "mysqli", "new pdo("), re.I)),
    ("node", Rx(
        r"ECONNREFUSED|EADDRINUSE|EACCES|\bENOTFOUND\b|EAI_AGAIN|ECONNRESET|ETIMEDOUT|AggregateError|"
        r"\bnode:|TCPConnectWrap|\bnpm ERR|\bnode\b",
        ("econnrefused", "eaddrinuse", "eacces", "enotfound", "eai_again", "econnreset",
         "etimedout", "aggregateerror", "node", "tcpconnectwrap", "npm err"), re.I)),
    ("envoy", Rx(r"upstream connect error|\benvoy\b", ("upstream connect error", "envoy"))),
    ("curl", Rx(r"\bcurl\b", ("curl",))),
    ("wget", Rx(r"\bwget\b|^Connecting to \S.{0,200}\.\.\. failed|^Resolving \S|"
                # its request line and its wait: `--2026-11-29 22:17:06--  http://...`
                r"^--\d{4}-\d\d-\d\d \d\d:\d\d:\d\d--  \S|"
                r"^(?:HTTP|Proxy) request sent, awaiting response",
                ("wget", "connecting to", "resolving ", "--  ", "request sent, awaiting"),
                re.M)),
    ("psql", Rx(r"\bpsql\b", ("psql",))),
    # The client's own ERROR 2xxx, and the server's refusals it prints (1045, 1049, 1130).
    ("mysql", Rx(r"ERROR 2\d{3} \(HY000\)|ERROR 1(?:040|045|049|130) \(\w{5}\)|MySQL server|"
                 r"\bmysql\b|\bmariadb\b", ("error 2", "error 1", "mysql", "mariadb"), re.I)),
    # Redis's own replies alone (pasted without the command): redis-cli's view.
    ("redis-cli", Rx(r"Could not connect to Redis at|redis-cli|Protocol error, got \S{1,10} as reply|"
                      r"^DENIED Redis is running in protected mode|"
                      r"^\(error\) (?:ERR max number of clients reached|NOAUTH Authentication "
                      r"required|WRONGPASS)|^(?:ERR max number of clients reached|NOAUTH "
                      r"Authentication required)",
                      ("could not connect to redis", "redis-cli", "protocol error, got",
                       "denied redis is running", "max number of clients", "noauth",
                       "wrongpass"), re.M)),
    ("ssh", Rx(r"^ssh: |\bssh\b|kex_exchange_identification", ("ssh", "kex_exchange"), re.M)),
    ("nc", Rx(r"^nc: |\bnetcat\b|\bncat\b", ("nc: ", "netcat", "ncat"), re.M)),
    ("telnet", Rx(r"\btelnet\b", ("telnet",))),
    ("chrome", Rx(r"\bERR_[A-Z_]{4,40}\b|This site can.t be reached|\bchrome\b|\bchromium\b",
                   ("err_", "this site can", "chrome", "chromium"), re.I)),
    # Firefox's page title; kubectl's "Unable to connect to the server: ..." is not it.
    ("firefox", Rx(r"Unable to connect(?! to the server: )|Firefox can.t|\bfirefox\b|"
                   r"Firefox has canceled",
                    ("unable to connect", "firefox"), re.I)),
    ("nginx", Rx(r"\bnginx\b|\[(?:crit|error|emerg|alert|warn)\] \d{1,10}#\d{1,10}:",
                 ("nginx", "] "), re.I)),
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
        # "connect to remote host" (telnet, gRPC) and "closed by remote host" (ssh,
        # Windows 10054) are the clients' own words for any peer, this one too.
        # ssh's "REMOTE HOST IDENTIFICATION HAS CHANGED" is about any server, this one too.
        r"(?<!by )(?<!by the )(?<!to )\b(?:another|other|second|remote|different|colleague'?s?|"
        r"friend'?s?|coworker'?s?|teammate'?s?) (?:machine|computer|laptop|pc|device|"
        r"host(?! IDENTIFICATION)|box|"
        # MariaDB's "Do you already have another server running on port" is a process.
        r"server(?!s? running))s?\b|"
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

# --- signals: wording that names the layer or the cause, one fact each ---------
# An IPv6 address in a URL without its brackets (`http://::1:8000/`, requests'
# `Failed to parse: '::1:8000'`): its colons read as a port's, so the client
# refused the URL. Groups: the scheme and the address part (symptoms._unbracketed).
UNBRACKETED_URL = Rx(r"\b([A-Za-z][A-Za-z0-9+.\-]{0,20})://((?:[0-9A-Fa-f]{0,4}:){2,8}"
                     r"(?:\d{1,5}|[0-9A-Fa-f]{0,4}))(?=[/?#\s'\"]|$)|"
                     r"Failed to parse: '()((?:[0-9A-Fa-f]{0,4}:){2,8}(?:\d{1,5}|[0-9A-Fa-f]{0,4}))'",
                     ("://", "failed to parse"))


# Signals read from the parsed command line rather than by a pattern: a
# client told to use one IP family (`curl -6`, `wget --inet6-only`, `nc -4`)
# dials only that family's address of a name (commands.family_flag).
COMMAND_SIGNALS: tuple[str, ...] = ("forces-ipv4", "forces-ipv6")

SIGNALS: list[tuple[str, Rx]] = [
    # The question names a packet filter or its frontend ("ufw deny 8033, yet it connects").
    # Whole words only: not inside a file name like fwfield-28-ufw-....pids.
    ("firewall", Rx(r"(?<![\w./-])(?:firewall-cmd|ufw|firewalld?|iptables|ip6tables|nftables|"
                    r"fail2ban)(?![\w.-])|(?<![\w./-])nft (?:list|add|insert|delete|-a|-j)\b",
                    ("ufw", "firewall", "iptables", "nftables", "fail2ban", "nft "), re.I)),
    # A browser refuses the port itself (Chrome's and Firefox's unsafe-port lists).
    ("unsafe-port", Rx(r"ERR_UNSAFE_PORT|This address is restricted|normally used for purposes "
                       r"other than Web browsing", ("err_unsafe_port", "address is restricted",
                                                    "other than web browsing"), re.I)),
    # The client went through a proxy (and the proxy failed).
    ("proxy", Rx(r"ProxyError|Unable to connect to proxy|proxyconnect tcp|Uses proxy env variable|"
                 r"from proxy after CONNECT|Proxy CONNECT aborted|Could not resolve proxy|"
                 r"Failed to connect to the proxy|proxy server|ERR_PROXY_CONNECTION_FAILED|"
                 r"CONNECT tunnel failed",
                 ("proxyerror", "to proxy", "proxyconnect", "proxy env", "from proxy", "proxy connect",
                  "resolve proxy", "the proxy", "proxy server", "err_proxy", "connect tunnel"), re.I)),
    # The proxy answered the client's tunnel request (CONNECT) with an error
    # status instead of opening the tunnel: curl (new and old wording), Python's
    # http.client (requests, urllib), wget, undici's ProxyAgent.
    ("proxy-connect-refused", Rx(r"CONNECT tunnel failed, response \d{3}|Received HTTP code \d{3} "
                                 r"from proxy after CONNECT|Tunnel connection failed: \d{3}|"
                                 r"Proxy tunneling failed|Proxy response \(\d{3}\) !== 200",
                                 ("connect tunnel failed", "from proxy after connect",
                                  "tunnel connection failed", "proxy tunneling failed",
                                  "proxy response ("), re.I)),
    # ... with 403 Forbidden: the proxy's own rules refuse the destination (most
    # proxies allow CONNECT only to port 443).
    ("proxy-forbidden", Rx(r"CONNECT tunnel failed, response 403\b|Received HTTP code 403 from proxy|"
                           r"Tunnel connection failed: 403\b|Proxy tunneling failed: Forbidden|"
                           r"Proxy response \(403\)",
                           ("response 403", "code 403 from proxy", "failed: 403",
                            "failed: forbidden", "response (403)"), re.I)),
    # TLS spoken to a plain port, or plain HTTP to a TLS port.
    ("tls-to-plain", Rx(r"wrong version number|WRONG_VERSION_NUMBER|SSL_ERROR_RX_RECORD_TOO_LONG|"
                        r"server gave HTTP response to HTTPS client|first record does not look like a "
                        r"TLS handshake|ERR_SSL_PROTOCOL_ERROR|packet length too long|unknown protocol|"
                        # GnuTLS (wget): a record that is not TLS
                        r"An unexpected TLS packet was received",
                        ("wrong version", "wrong_version", "record_too_long", "https client",
                         "tls handshake", "ssl_protocol_error", "packet length", "unknown protocol",
                         "unexpected tls packet"),
                        re.I)),
    # A TLS handshake that worked up to the certificate, which the client
    # refused: for another name, expired, or from an authority it does not
    # trust (as curl, Python, Node.js, Go, wget and browsers say it).
    ("cert-name", Rx(r"no alternative certificate subject name matches|Hostname mismatch, certificate "
                     r"is not valid for|ERR_TLS_CERT_ALTNAME_INVALID|does not match certificate's "
                     r"altnames|x509: certificate is valid for |doesn't contain any IP SANs|"
                     r"certificate's owner does not match hostname|ERR_CERT_COMMON_NAME_INVALID|"
                     r"certificate subject name .{1,200} does not match target host name",
                     ("subject name", "hostname mismatch", "altname", "valid for", "ip sans",
                      "owner does not match", "common_name_invalid"), re.I)),
    ("cert-expired", Rx(r"certificate has expired|CERT_HAS_EXPIRED|certificate is not yet valid|"
                        r"ERR_CERT_DATE_INVALID",
                        ("expired", "not yet valid", "date_invalid"), re.I)),
    # The server's TLS alert: it wants a client certificate (mutual TLS), or
    # refused the one it got. Not the server's certificate at all.
    ("client-cert", Rx(r"alert certificate required|ALERT_CERTIFICATE_REQUIRED|"
                       r"alert bad certificate|ALERT_BAD_CERTIFICATE",
                       ("certificate required", "certificate_required", "bad certificate",
                        "bad_certificate"), re.I)),
    ("cert-untrusted", Rx(r"self[- ]signed certificate|DEPTH_ZERO_SELF_SIGNED_CERT|"
                          r"SELF_SIGNED_CERT_IN_CHAIN|unable to get local issuer certificate|"
                          r"UNABLE_TO_VERIFY_LEAF_SIGNATURE|unable to verify the first certificate|"
                          r"certificate signed by unknown authority|doesn't have a known issuer|"
                          r"ERR_CERT_AUTHORITY_INVALID|SEC_ERROR_UNKNOWN_ISSUER",
                          ("self-signed", "self signed", "self_signed", "local issuer",
                           "leaf_signature", "first certificate", "unknown authority",
                           "known issuer", "authority_invalid", "unknown_issuer"), re.I)),
    ("plain-to-tls", Rx(r"plain HTTP request was sent to HTTPS port|"
                        r"Client sent an HTTP request to an HTTPS server",
                        ("plain http request", "http request to an https"), re.I)),
    # The server closed without a word (not HTTP, or TLS waiting for a hello).
    ("empty-reply", Rx(r"Empty reply from server|RemoteDisconnected|socket hang up|Remote end closed "
                       r"connection|Server closed the connection|closed the connection unexpectedly|"
                       r"SocketError: other side closed",
                       ("empty reply", "remotedisconnected", "hang up", "remote end closed",
                        "closed the connection", "other side closed"), re.I)),
    # A non-HTTP server answered an HTTP client.
    ("http09", Rx(r"Received HTTP/0\.9 when not allowed|HTTP/0\.9", ("http/0.9",), re.I)),
    ("ssh-no-banner", Rx(r"kex_exchange_identification|ssh_exchange_identification|"
                         r"Bad protocol version identification",
                         ("exchange_identification", "protocol version identification"), re.I)),
    ("redis-protocol", Rx(r"Protocol error, got \S{1,10} as reply type byte",
                          ("protocol error, got",), re.I)),
    ("mysql-handshake", Rx(r"reading initial communication packet|Lost connection to (?:MySQL |"
                           r"MariaDB )?server at 'handshake",
                           ("initial communication packet", "server at 'handshake"), re.I)),
    ("pg-protocol", Rx(r"received invalid response to SSL negotiation|expected authentication "
                       r"request from server|invalid response to SSL negotiation",
                       ("ssl negotiation", "expected authentication request"), re.I)),
    # The client requires TLS and the PostgreSQL server said it has none: libpq
    # (psql, psycopg) with sslmode=require or stricter, node-postgres, JDBC, pgx.
    ("pg-tls-required", Rx(r"server does not support SSL|server refused TLS connection",
                           ("does not support ssl", "refused tls connection"), re.I)),
    # The same from MySQL/MariaDB: their clients' ERROR 2026 (--ssl-mode=REQUIRED,
    # --ssl-verify-server-cert), Node's mysql and mysql2, Go's driver.
    ("mysql-tls-required", Rx(r"SSL is required,? but the server does(?: not|n't) support it|"
                              r"HANDSHAKE_NO_SSL_SUPPORT|server does not support secure conn+ection|"
                              r"TLS requested but server does not support TLS",
                              ("ssl is required", "no_ssl_support", "support secure conn",
                               "tls requested but"), re.I)),
    # redis-cli --tls, or a rediss:// URL: the client speaks TLS to Redis.
    ("redis-tls", Rx(r"\bredis-cli\b[^\n]{0,300}?\s--tls\b|\brediss://", ("--tls", "rediss://"),
                     re.I)),
    # Redis refused a client that is not on loopback (no password set).
    # The server answered and refused the login or the session: it is up and
    # reachable; the account, the password or a limit is the matter.
    ("mysql-access-denied", Rx(r"ERROR 1045 \(28000\)|Access denied for user '",
                               ("1045", "access denied for user"), re.I)),
    ("pg-auth-failed", Rx(r"password authentication failed for user|Peer authentication failed for "
                          r"user|Ident authentication failed for user|no pg_hba\.conf entry for host",
                          ("authentication failed for user", "pg_hba.conf entry"), re.I)),
    # MySQL/MariaDB refused the client's host for every account (1130).
    ("mysql-host-not-allowed", Rx(r"\b1130\b.{0,40}Host '|Host '[^'\n]{1,255}' is not allowed to "
                                  r"connect to this (?:MySQL|MariaDB)", ("is not allowed to connect",),
                                  re.I)),
    # A browser's CORS refusal: the API answered; the page may not read it.
    ("cors", Rx(r"blocked by CORS policy|Cross-Origin Request Blocked|CORS header "
                r".Access-Control-Allow-Origin. missing", ("cors", "cross-origin"), re.I)),
    # ssh's own refusal of a server whose host key is not the one it knew.
    ("ssh-host-key-changed", Rx(r"REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification "
                                r"failed", ("identification has changed", "host key verification"),
                                re.I)),
    # libpq: the server ended the session (a terminated backend, a timeout,
    # a crash or restart, a pooler cutting it).
    ("pg-server-closed", Rx(r"server closed the connection unexpectedly",
                            ("server closed the connection unexpectedly",))),
    # MySQL/MariaDB has no connection left (max_connections).
    ("mysql-too-many", Rx(r"ERROR 1040 \(\w{5}\)|\b1040\b.{0,20}Too many connections",
                          ("1040",))),
    # libpq found no password to send (no terminal, no PGPASSWORD, no ~/.pgpass).
    ("pg-no-password", Rx(r"fe_sendauth: no password supplied", ("fe_sendauth",))),
    # Go's write or read on a connection its own side had already closed.
    ("go-closed-conn", Rx(r"use of closed network connection", ("use of closed network",))),
    # PostgreSQL's peer/ident method: the OS user must match the role (socket logins).
    ("pg-peer-auth", Rx(r"(?:Peer|Ident) authentication failed for user",
                        ("peer authentication", "ident authentication"), re.I)),
    # curl refused the URL itself (error 3): nothing was sent.
    ("curl-bad-url", Rx(r"curl: \(3\)", ("curl: (3)",))),
    # Python requests given a socks:// proxy variable without PySocks installed.
    ("socks-missing", Rx(r"Missing dependencies for SOCKS support", ("socks support",), re.I)),
    # The server's own answer for a database that is not there.
    ("mysql-unknown-db", Rx(r"ERROR 1049 \(42000\)|Unknown database '", ("1049", "unknown database"),
                            re.I)),
    ("pg-unknown-db", Rx(r"FATAL:\s{1,3}database \"[^\"\n]{1,128}\" does not exist",
                         ("does not exist",), re.I)),
    # pg_hba.conf has no line for this address, user, database and encryption.
    ("pg-hba-no-entry", Rx(r"no pg_hba\.conf entry for host", ("pg_hba.conf entry",), re.I)),
    ("pg-too-many-clients", Rx(r"sorry, too many clients already|remaining connection slots are "
                               r"reserved", ("too many clients", "connection slots are reserved"),
                               re.I)),
    ("redis-auth", Rx(r"NOAUTH Authentication required|WRONGPASS invalid username-password pair|"
                      r"redis\.exceptions\.AuthenticationError",
                      ("noauth", "wrongpass", "authenticationerror"), re.I)),
    # 426 Upgrade Required to a WebSocket handshake: the backend wanted the
    # upgrade and the Upgrade headers did not reach it (a proxy dropped them).
    ("ws-426", Rx(r"(?:server rejected WebSocket connection: HTTP|Unexpected server response:|"
                  r"Unexpected response code:|Handshake status) 426\b",
                  ("426",))),
    # A WebSocket client answered with a plain HTTP response instead of 101.
    ("ws-not-upgraded", Rx(r"server rejected WebSocket connection: HTTP \d{3}|Unexpected server "
                           r"response: \d{3}|Error during WebSocket handshake: Unexpected response "
                           r"code: \d{3}|Handshake status \d{3}",
                           ("websocket connection", "unexpected server response",
                            "websocket handshake", "handshake status"), re.I)),
    ("redis-maxclients", Rx(r"max number of clients reached", ("max number of clients",), re.I)),
    ("redis-protected", Rx(r"DENIED Redis is running in protected mode", ("protected mode",),
                           re.I)),
    # HTTP/2 spoken without negotiation (gRPC, curl --http2-prior-knowledge, h2c),
    # or its client saying the answer was not HTTP/2 (an HTTP/1.x server).
    ("http2-client", Rx(r"Failed parsing HTTP/2|Trying to connect an http1\.x server|"
                        r"server preface: http2: frame too large|"
                        r"Error in the HTTP2 framing layer|"
                        r"\bcurl\b[^\n]{0,300}?\s--http2-prior-knowledge\b",
                        ("parsing http/2", "http1.x server", "server preface", "http2 framing",
                         "--http2-prior-knowledge"), re.I)),
    # A port outside 0-65535 (the server's own check, or a tool wrapping it).
    ("bad-port", Rx(r"ERR_SOCKET_BAD_PORT|port must be 0-65535|should be >= 0 and < 65536|"
                    r"OverflowError: [^\n]{0,40}port|"
                    # Go: `listen tcp: address 72000: invalid port`
                    r"\baddress (?:\S{0,253}:)?-?\d{1,12}: invalid port|"
                    # nc: `port number too large: 72800`
                    r"port number too large",
                    ("bad_port", "0-65535", "< 65536", "overflowerror", "invalid port",
                     "too large"), re.I)),
    ("ipv6-unbracketed", UNBRACKETED_URL),  # defined above: symptoms reads its groups
    # A quoted URL with a space inside (`curl "http://localhost:7703 /api"`):
    # a URL holds none, so the client refused it.
    ("url-space", Rx(r"[\"'][A-Za-z][A-Za-z0-9+.\-]{0,20}://[^\"'\s]{1,2000}[ \t]+[^\"'\n]{0,2000}"
                     r"[\"']", ("://",))),
    # A service name where a URL's port goes (`http://localhost:http-alt/`):
    # URLs take a number, so the client refused the URL before connecting.
    ("url-port-name", Rx(r"\b[A-Za-z][A-Za-z0-9+.\-]{0,20}://[^\s/:@?#\[\]]{1,253}:"
                         r"[A-Za-z][A-Za-z0-9\-]{0,30}(?=[/?#\s'\"]|$)", ("://",))),
    # The address asked for is not one of this machine's (a bind to ::1 with
    # IPv6 off, to a LAN address that is gone): a server's start-up failure
    # when the words say bind or listen.
    ("addr-not-available", Rx(r"EADDRNOTAVAIL|cannot assign requested address|"
                              r"requested address is not valid in its context|\b10049\b",
                              ("eaddrnotavail", "assign requested", "not valid in its context",
                               "10049"), re.I)),
    # Docker: another container or process already publishes the host port.
    ("port-allocated", Rx(r"port is already allocated|Bind for \S{1,60} failed",
                          ("already allocated", "bind for "), re.I)),
    # A server said it started (its banner), so a bind is what the paste is about.
    ("server-start", Rx(r"Serving HTTP on|Listening on|listening at|Uvicorn running on|"
                        r"Running on http|ready in \d|started server on|Server running at|"
                        r"Serving Flask app|Starting development server at",
                        ("serving http", "listening", "running on", "ready in", "started server",
                         "server running", "serving flask", "development server"), re.I)),
    # The user says the service runs on the host (seen from a container or WSL).
    ("service-on-host", Rx(r"\b(?:on|in) (?:the|my) host\b|\bhost machine\b|host\.docker\.internal|"
                           r"\bon (?:the )?windows(?: side| host)?\b|\bfrom (?:the )?host\b",
                           ("host", "windows"), re.I)),
    # kubectl's own wording when no cluster answers.
    ("kubectl", Rx(r"The connection to the server \S{1,260} was refused|couldn't get current server "
                   r"API group list", ("connection to the server", "api group list"), re.I)),
    # A front end (nginx, a proxy) answered, but its upstream failed.
    ("bad-gateway", Rx(r"\b502 Bad Gateway\b|\b504 Gateway Time-?out\b|returned error: 50[24]\b|"
                       r"upstream connect error|no healthy upstream|while connecting to upstream",
                       ("bad gateway", "gateway time", "returned error: 50", "upstream"), re.I)),
]

# Questions clients print themselves, which are not the user's: psql's hint
# after a refusal, Docker's and kubectl's. A paste ending in one is not a
# question to answer from the knowledge base.
CLIENT_QUESTIONS = Rx(r"Is the (?:server|docker daemon|daemon) running[^?\n]{0,120}\?|"
                      r"did you specify the right host or port\?",
                      ("is the server running", "daemon running", "right host or port"), re.I)

# Node's and Python's words for a port out of range, with the number when given.
BAD_PORT_VALUE = Rx(r"Received (?:type number )?\((-?\d{1,12})\)|port (-?\d{6,12}) is out of range|"
                    r"\baddress (?:\S{0,253}:)?(-?\d{1,12}): invalid port|"
                    r"port number too large: (\d{1,12})",
                    ("received", "out of range", "invalid port", "too large"), re.I)

# urllib3's pool for a request (the server, or for http:// through a proxy the
# proxy) and its connection (the address actually dialled).
CONNECTION_POOL = Rx(r"(HTTPS?)Connection(Pool)?\(host='([^'\n]{1,253})', port=(\d{1,5})\)",
                     ("connection(host=", "connectionpool(host="))

# Which Python HTTP library printed a traceback (their proxy rules differ).
# Go's `read tcp 127.0.0.1:34532->127.0.0.1:7725`: a connection from a loopback
# address to a loopback address was made on this machine.
LOOPBACK_PAIR = Rx(r"\b(?:127\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[::1\]):\d{1,5}->"
                   r"(?:127\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[::1\]):\d{1,5}\b", ("->",))

# An application's words naming Redis (ioredis, "connecting to redis"), not its tools.
REDIS_WORDS = Rx(r"\b(?:io)?redis\b(?![-.](?:cli|server|conf)\b)", ("redis",), re.I)

PYTHON_LIBRARIES: list[tuple[str, Rx]] = [
    ("requests", Rx(r"\brequests\.exceptions\b|\burllib3\b|\bimport requests\b",
                    ("requests", "urllib3"))),
    ("urllib", Rx(r"\burllib\.(?:error|request)\b|<urlopen error", ("urllib.", "<urlopen"))),
]

# A proxy given on curl's command line (-x URL, --proxy URL), not a target.
PROXY_OPTION_URL = Rx(r"(?:\s-x\s?|\s--proxy\s{1,3})['\"]?([A-Za-z][A-Za-z0-9+.\-]{0,20}://\S{1,300})",
                      ("-x", "--proxy"))

# A proxy's own address in the text (an assignment or curl's report), not a target.
PROXY_URL = Rx(r"(?:_proxy|_PROXY)\s{0,3}(?:=|==)\s{0,3}['\"]?([A-Za-z][A-Za-z0-9+.\-]{0,20}://\S{1,300})",
               ("_proxy",), re.I)

# Redis's refusal of a non-loopback client, printed alone by redis-cli: the
# client and its default port are Redis's.
REDIS_DENIED = Rx(r"\bDENIED Redis is running in protected mode", ("denied redis",))

# --- addresses ---------------------------------------------------------------
_HOSTCHARS = r"[A-Za-z0-9_.\-]{1,253}"
_V6 = r"[0-9A-Fa-f:.]{2,45}(?:%[A-Za-z0-9]{1,15})?"
_ADDR = rf"(?:\[{_V6}\]|{_HOSTCHARS}|{_V6})"

# (pattern, host group, port group); first pattern to match wins.
EXPLICIT: list[tuple[Rx, int, int | None]] = [
    # Node: connect ECONNREFUSED ::1:3000, listen EADDRINUSE: address already in use :::3000
    (Rx(r"\b(?:ECONNREFUSED|ETIMEDOUT|ECONNRESET|EADDRINUSE|EACCES|EHOSTUNREACH|ENETUNREACH|"
        r"EADDRNOTAVAIL)(?::[A-Za-z ]{1,40})? ([0-9A-Za-z_.:\[\]\-%]{1,300}):(-?\d{1,9})\b",
         ("econnrefused", "etimedout", "econnreset", "eaddrinuse", "eacces", "ehostunreach",
          "enetunreach", "eaddrnotavail")), 1, 2),
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
    # gRPC: ipv4:127.0.0.1:50051 / ipv6:[::1]:50051
    (Rx(r"\bipv[46]:(\[?[0-9A-Fa-f:.]{2,45}\]?):(\d{1,9})\b", ("ipv4:", "ipv6:")), 1, 2),
    # Python code in a traceback: s.bind(("0.0.0.0", 8000)), create_connection(("h", 80))
    (Rx(r"\(\(\s{0,5}\\?['\"]([0-9A-Za-z_.:\-]{0,253})\\?['\"]\s{0,5},\s{0,5}(-?\d{1,9})\s{0,5}\)",
        ("((",)), 1, 2),
    # Python's address tuples in messages: asyncio's `Connect call failed ('::1',
    # 8765, 0, 0)` and `error while attempting to bind on address ('127.0.0.1',
    # 8001)`, gunicorn's `Connection in use: ('127.0.0.1', 8000)`, socketserver's
    # `Address already in use: ('127.0.0.1', 3000)`; not socketserver's peer in
    # `Exception occurred during processing of request from ('127.0.0.1', 53422)`
    (Rx(r"(?<!request from )\('([0-9A-Za-z_.:%\-]{0,253})', (-?\d{1,9})"
        r"(?:, \d{1,10}, \d{1,10})?\)", ("('",)), 1, 2),
    # Node's error object: address: '127.0.0.1', port: 8766
    (Rx(r"address: '([^'\n]{1,253})',\s{1,20}port: (-?\d{1,9})", ("address: '",)), 1, 2),
    # undici's socket in a fetch failure: remoteAddress: '127.0.0.1', remotePort: 6379
    (Rx(r"remoteAddress: '([^'\n]{1,253})',\s{1,20}remotePort: (\d{1,9})",
        ("remoteaddress: '",)), 1, 2),
    # undici: (attempted address: 127.0.0.1:8770, timeout: ...)
    (Rx(rf"attempted address: ({_ADDR}):(\d{{1,9}})", ("attempted address",)), 1, 2),
    # .NET: ... refused it. [::ffff:127.0.0.1]:5000 / Connection refused (localhost:5000)
    (Rx(rf"(\[{_V6}\]):(\d{{1,9}})", ('[',)), 1, 2),
    (Rx(r"\(([A-Za-z0-9_.\-]{1,253}):(\d{1,9})\)", ('(',)), 1, 2),
]

# Addresses a client reports it dialled for a name: libpq `"localhost" (::1)`,
# Java `localhost/127.0.0.1:9092`, wget `|::1|:3000`.
DIALLED = Rx(
    r"\"[A-Za-z0-9_.\-]{1,253}\" \(([0-9A-Fa-f:.]{2,45})\)|"
    r"\b[A-Za-z][A-Za-z0-9_.\-]{0,252}/([0-9A-Fa-f:.]{2,45}):\d{1,9}\b|"
    r"\|([0-9A-Fa-f:.]{2,45})\|:\d{1,9}|"
    r"^Trying ([0-9A-Fa-f:.]{2,45})\.\.\.", ('"', "/", "|", "trying "), re.M)

URL = Rx(
    r"\b([A-Za-z][A-Za-z0-9+.\-]{0,20})://(?:[^\s/@]{0,512}@)?"
    r"(\[[^\]\s/]{0,60}\]|[^\s/:?#'\"<>()\[\]]{1,253})(?::(-?\d{1,9}))?", ("://",))
HOSTPORT = Rx(r"(?<![\w.:/\-])(\[[^\]\s]{1,60}\]|[A-Za-z0-9_.\-]{1,253}):(-?\d{1,9})\b(?![.:]\d)",
                (":",))
# A server's own words for every address: redis's "listening socket *:6380",
# ss's "*:6380". Only the port is the target's.
WILDCARD_PORT = Rx(r"(?<![\w.:/\-])\*:(\d{1,5})\b", ("*:",))
PORT_PHRASE = Rx(r"\bport(?: number)?\s{0,3}[:=#]?\s{0,3}(-?\d{1,9})\b", ("port",), re.I)
BARE_HOST = Rx(
    r"(?<![\w.:\-])(localhost|127\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[::1\]|::1|0\.0\.0\.0)(?![\w.:\-])",
    ("localhost", "127.", "::1", "0.0.0.0"), re.I)
CODE_SUFFIX = Rx(r"\.(?:js|mjs|cjs|ts|tsx|jsx|py|go|java|rb|c|cc|cpp|h|rs|cs|kt|php|"
                          r"scala|swift|vue|json|yaml|yml|toml|log|txt|html|css|class|jar)$", (".",), re.I)
WORD_HOST = re.compile(r"[a-z]{2,63}", re.I)
