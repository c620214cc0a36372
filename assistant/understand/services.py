"""Service names as ports (`telnet localhost postgresql`, `nc -zv localhost http`)."""

from __future__ import annotations

import re

# When the system's services database (/etc/services, from netbase) is
# missing, as in slim containers: the names people actually type.
KNOWN = {"http": 80, "https": 443, "www": 80, "ssh": 22, "ftp": 21, "smtp": 25,
         "postgresql": 5432, "postgres": 5432, "mysql": 3306, "redis": 6379, "mongodb": 27017,
         "amqp": 5672, "ldap": 389, "imap": 143, "pop3": 110, "dns": 53, "domain": 53,
         "http-alt": 8080, "webcache": 8080, "telnet": 23, "rdp": 3389, "ms-wbt-server": 3389,
         "kafka": 9092, "memcache": 11211, "memcached": 11211, "mssql": 1433, "ms-sql-s": 1433}
_NAME = re.compile(r"[a-z][a-z0-9\-]{0,30}")


def port_of(name: str) -> int | None:
    """The TCP port a service name stands for, or None."""
    name = name.strip().lower()
    if not _NAME.fullmatch(name):
        return None
    import socket

    try:
        return socket.getservbyname(name, "tcp")
    except OSError:
        return KNOWN.get(name)
