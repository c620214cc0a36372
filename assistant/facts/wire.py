"""What a port says on the wire: the one payload the protocol check may
send, and a pure classifier of the bytes that come back.

The classifier reads a greeting (SSH's `SSH-2.0-...`, MySQL/MariaDB's
handshake packet, SMTP/FTP/POP3/IMAP banners) or the answer to the payload
(a TLS record, an HTTP status line, PostgreSQL's error message, Redis's
`-ERR`). It is fed recorded bytes in tests; nothing here touches a socket.
"""

from __future__ import annotations

import contextlib
import re
from typing import NamedTuple

# Everything the protocol check can conclude about a port. The last three
# say no protocol could be told: bytes nobody recognised, a close without a
# byte, or nothing at all within the bound.
SPEAKS = ("tls", "http", "ssh", "mysql", "postgres", "redis", "smtp", "ftp", "pop3", "imap",
          "amqp", "mongodb", "unknown", "closed", "silent")
KNOWN = SPEAKS[:-3]
NAMES = {"tls": "TLS (HTTPS)", "http": "plain HTTP", "ssh": "SSH", "mysql": "MySQL/MariaDB",
         "postgres": "PostgreSQL", "redis": "Redis", "smtp": "SMTP", "ftp": "FTP", "pop3": "POP3",
         "imap": "IMAP", "amqp": "AMQP (RabbitMQ)", "mongodb": "MongoDB's wire protocol",
         "unknown": "something unrecognised", "closed": "nothing (it closed at once)",
         "silent": "nothing (it stayed silent)"}

# Enough to classify anything; more is never read.
LIMIT = 4096
# A minimal HTTP request. GET rather than HEAD: nginx and Apache answer plain
# HTTP on a TLS port with a 400 whose *body* says "The plain HTTP request was
# sent to HTTPS port"; a HEAD's answer has no body, and would read as plain HTTP.
HTTP_REQUEST = b"GET / HTTP/1.0\r\n\r\n"

# An HTTP answer that is really a TLS (or another) server explaining itself.
_HINTS: list[tuple[bytes, str]] = [
    (b"plain http request was sent to https port", "tls"),             # nginx
    (b"client sent an http request to an https server", "tls"),        # Go net/http
    (b"speaking plain http to an ssl-enabled server port", "tls"),     # Apache mod_ssl
    (b"access mongodb over http on the native driver port", "mongodb"),
]
_TLS_ALERTS = {0: "close_notify", 10: "unexpected_message", 20: "bad_record_mac",
               40: "handshake_failure", 42: "bad_certificate", 47: "illegal_parameter",
               50: "decode_error", 51: "decrypt_error", 70: "protocol_version",
               71: "insufficient_security", 80: "internal_error", 86: "inappropriate_fallback",
               109: "missing_extension", 112: "unrecognized_name", 116: "certificate_required",
               120: "no_application_protocol"}
_REDIS_REPLIES = (b"-ERR", b"-NOAUTH", b"-DENIED", b"-WRONGPASS", b"-MISCONF", b"-LOADING",
                  b"+PONG")
_STATUS_LINE = re.compile(rb"HTTP/(\d(?:\.\d)?) (\d{3})(?: ([^\r\n]*))?")
_SERVER_HEADER = re.compile(rb"(?im)^server:[ \t]*([^\r\n]{1,80})")
_PRINTABLE = re.compile(r"[^\x20-\x7e]+")


class Verdict(NamedTuple):
    speaks: str
    detail: str
    status: int | None = None


def text(raw: bytes, limit: int = 120) -> str:
    """Printable text of raw bytes: controls and non-ASCII become one space."""
    out = _PRINTABLE.sub(" ", raw.decode("latin-1")).strip()
    return out if len(out) <= limit else out[:limit - 1] + "…"


def first_line(data: bytes) -> bytes:
    return data.split(b"\n", 1)[0].rstrip(b"\r")


def client_hello(server_name: str | None) -> bytes:
    """A real TLS ClientHello, as Python's ssl module writes it, never sent
    further than this first flight.

    Its 32 random bytes begin with CR LF: a line-reading server (Python's
    http.server, redis's inline protocol) then has a complete "request
    line" and answers at once, instead of waiting for a line end that a
    ClientHello otherwise rarely contains.
    """
    import ssl

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ctx.wrap_bio(incoming, outgoing, server_hostname=server_name)
    with contextlib.suppress(ssl.SSLWantReadError):  # the hello is written; the answer is next
        tls.do_handshake()
    hello = bytearray(outgoing.read())
    # record header (5) + handshake header (4) + client_version (2) = 11
    hello[11:13] = b"\r\n"
    return bytes(hello)


def classify(data: bytes, greeted: bool, final: bool) -> Verdict | None:
    """What `data` (the port's first bytes) says the port speaks.

    `greeted`: the bytes came before we sent anything. `final`: no more
    will come (the connection closed, the limit or the bound was reached);
    until then None means "more bytes would tell more".
    """
    if not data:
        return None
    if data.startswith(b"SSH-"):
        if b"\n" in data or final:
            return Verdict("ssh", text(first_line(data)))
        return None
    tls = _tls(data, final)
    if tls is not None or _maybe_tls(data) and not final:
        return tls
    if data.startswith(b"HTTP/"):
        return _http(data, final)
    if data.lstrip()[:15].lower().startswith((b"<!doctype html", b"<html")):
        if not final:
            return None
        hint = _hint(data)
        code = re.search(rb"Error code: (\d{3})", data)
        return Verdict(hint or "http", "an HTML page without a status line"
                       + (f" (error code {code.group(1).decode()})" if code else ""))
    for check in (_mysql, _postgres):
        verdict = check(data, final)
        if verdict is not None:
            return verdict if verdict.speaks else None
    if data.startswith(b"AMQP"):
        return Verdict("amqp", "AMQP protocol header " + data[4:8].hex(" "))
    if b"\n" not in data and not final:
        return None
    line = first_line(data)
    if greeted:
        banner = _banner(line)
        if banner is not None:
            return banner
    elif line.startswith(_REDIS_REPLIES):
        return Verdict("redis", text(line))
    return Verdict("unknown", _shown(data))


def _shown(data: bytes) -> str:
    """Text when the bytes read as text; their first bytes in hex otherwise."""
    line = first_line(data)
    printable = sum(32 <= b < 127 for b in line)
    if line and printable >= 0.8 * len(line):
        return f"'{text(line, 80)}'"
    return "bytes " + data[:16].hex(" ")


def _maybe_tls(data: bytes) -> bool:
    return data[0] in (0x14, 0x15, 0x16, 0x17) and (len(data) < 2 or data[1] == 3)


def _tls(data: bytes, final: bool) -> Verdict | None:
    """A TLS record: a handshake (ServerHello) or an alert."""
    if len(data) < 5 or not _maybe_tls(data) or data[2] > 4:
        return None
    version = {0: "SSL 3.0", 1: "TLS 1.0", 2: "TLS 1.1", 3: "TLS 1.2", 4: "TLS 1.3"}[data[2]]
    if data[0] == 0x15:
        if len(data) < 7 and not final:
            return None
        desc = _TLS_ALERTS.get(data[6], f"alert {data[6]}") if len(data) >= 7 else "an alert"
        return Verdict("tls", f"a TLS alert: {desc} ({version} record)")
    if data[0] == 0x16 and len(data) >= 6 and data[5] == 2:
        return Verdict("tls", f"a TLS ServerHello ({version} record)")
    return Verdict("tls", f"a TLS record of type {data[0]} ({version})")


def _hint(data: bytes) -> str | None:
    low = data.lower()
    return next((speaks for phrase, speaks in _HINTS if phrase in low), None)


def _http(data: bytes, final: bool) -> Verdict | None:
    head_end = data.find(b"\r\n\r\n")
    m = _STATUS_LINE.match(data)
    status = int(m.group(2)) if m else None
    hint = _hint(data)
    # A 400 may be a TLS server explaining itself in its body: read on.
    if not final and hint is None and (head_end < 0 or status == 400 and len(data) < LIMIT):
        return None
    line = text(first_line(data), 80)
    server = _SERVER_HEADER.search(data[:head_end] if head_end >= 0 else data)
    detail = line + (f", server {text(server.group(1), 60)}" if server else "")
    if hint is not None:
        return Verdict(hint, f"an HTTP answer saying so: {line}", status)
    return Verdict("http", detail, status)


def _mysql(data: bytes, final: bool) -> Verdict | None:
    """MySQL/MariaDB's first packet: a handshake (protocol 10) or an error.

    Returns Verdict("") for "looks like one, but incomplete".
    """
    if len(data) < 5 or data[3] > 1 or data[4] not in (0x0A, 0xFF):
        return None
    length = int.from_bytes(data[:3], "little")
    if not 3 < length < 4096:
        return None
    if len(data) < 4 + length and not final:
        return Verdict("", "")
    body = data[5:4 + length]
    if data[4] == 0x0A:
        raw = body.split(b"\x00", 1)[0]
        if not raw or not all(32 <= b < 127 for b in raw):
            return None
        version = text(raw, 60).removeprefix("5.5.5-")  # MariaDB's compatibility prefix
        brand = "MariaDB" if "mariadb" in version.lower() else "MySQL"
        return Verdict("mysql", f"a {brand} handshake (server version {version})")
    message = body[2:]  # after the error code
    if message.startswith(b"#"):
        message = message[6:]  # the SQL state marker and state
    return Verdict("mysql", f"MySQL/MariaDB error: {text(message, 100)}")


def _postgres(data: bytes, final: bool) -> Verdict | None:
    """PostgreSQL's ErrorResponse: 'E', a length, then typed fields ('M' the message)."""
    if data[:1] != b"E" or len(data) < 6:
        return None
    length = int.from_bytes(data[1:5], "big")
    if not 8 <= length <= 10000 or data[5:6] not in b"SVCMDHPqWsctdnFLR":
        return None
    if len(data) < 1 + length and not final:
        return Verdict("", "")
    fields = {f[:1]: f[1:] for f in data[5:1 + length].split(b"\x00") if f}
    message = fields.get(b"M", b"")
    return Verdict("postgres", "PostgreSQL error: " + text(message, 100) if message
                   else "a PostgreSQL error message")


def _banner(line: bytes) -> Verdict | None:
    """A text greeting: SMTP and FTP (220), POP3 (+OK), IMAP (* OK)."""
    low = line.lower()
    if line.startswith((b"220 ", b"220-")):
        return Verdict("ftp" if b"ftp" in low else "smtp", text(line))
    if line.startswith(b"+OK"):
        return Verdict("pop3", text(line))
    if line.startswith(b"* OK"):
        return Verdict("imap", text(line))
    return None
