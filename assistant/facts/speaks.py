"""What a client speaks and which programs serve each protocol: the tables
the protocol check and the near-port check share. Kept apart from the
protocol exchange (and its wire parsers), which a question that finds
nothing listening never needs."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from assistant.understand.symptoms import Target

# What the client spoke, as the protocol check compares it with the port.
CLIENT_SPEAKS = ("http", "tls", "http2", "postgres", "mysql", "redis", "ssh", "unknown")
USUAL_PORTS = {"http": 80, "tls": 443, "postgres": 5432, "mysql": 3306, "redis": 6379, "ssh": 22}
CLIENT_NAMES = {"http": "plain HTTP", "tls": "TLS (https)",
                "http2": "HTTP/2 without negotiation (gRPC, h2c)", "postgres": "PostgreSQL",
                "mysql": "MySQL/MariaDB", "redis": "Redis", "ssh": "SSH", "unknown": "unknown"}
# Server programs by the protocol they speak: the evidence when the exchange
# cannot tell, and where the server a database client wanted really listens.
SERVER_PROCESSES = {"postgres": ("postgres", "postmaster"), "mysql": ("mysqld", "mariadbd"),
                    "redis": ("redis-server", "valkey-server", "keydb-server"), "ssh": ("sshd",),
                    "mongodb": ("mongod",)}
# The accounts distributions run them as: the evidence when the process is
# another user's and hidden from us.
SERVER_USERS = {"postgres": "postgres", "redis": "redis", "mysql": "mysql", "mongodb": "mongodb"}
_DATABASE_CLIENTS = {"psql": "postgres", "mysql": "mysql", "redis-cli": "redis", "ssh": "ssh"}
_WEB_CLIENTS = ("curl", "wget", "chrome", "firefox")
_SCHEMES = {"http": "http", "ws": "http", "https": "tls", "wss": "tls", "rediss": "tls",
            "postgres": "postgres", "postgresql": "postgres", "mysql": "mysql",
            "mariadb": "mysql", "redis": "redis", "ssh": "ssh"}
# Signals in the client's words, in order: which protocol it must have spoken.
_SIGNALS = (("tls-to-plain", "tls"), ("plain-to-tls", "http"), ("pg-protocol", "postgres"),
            ("mysql-handshake", "mysql"), ("redis-protocol", "redis"), ("ssh-no-banner", "ssh"),
            ("http09", "http"), ("empty-reply", "http"))


def client_service(client: str | None, scheme: str | None = None) -> str | None:
    """Pure: the database or SSH service a client, or else its URL's scheme,
    speaks to (mariadb: mysql; postgresql://: postgres); None for others."""
    service = _DATABASE_CLIENTS.get(client or "") or ("mysql" if client == "mariadb" else None)
    if service is None and _SCHEMES.get(scheme or "") in SERVER_PROCESSES:
        service = _SCHEMES[scheme or ""]
    return service


def client_protocol(target: Target) -> str:
    """What the client spoke: its own protocol (psql, redis-cli...), HTTP/2
    straight away (gRPC, curl --http2-prior-knowledge: before the URL's
    http://, which it does not speak), the URL's scheme, what its words
    imply, or HTTP for a web client."""
    if target.client in _DATABASE_CLIENTS:
        return _DATABASE_CLIENTS[target.client]
    if "http2-client" in target.signals and _SCHEMES.get(target.scheme or "") != "tls":
        # Over TLS, HTTP/2 is negotiated inside the handshake: the port speaks TLS first.
        return "http2"
    if target.scheme in _SCHEMES:
        return _SCHEMES[target.scheme]
    said = next((speaks for name, speaks in _SIGNALS if name in target.signals), None)
    if said is not None:
        return said
    if target.error == "tls":
        return "tls"
    return "http" if target.client in _WEB_CLIENTS else "unknown"
