"""Database drivers inside applications, whose errors name no address:
PHP's PDO and mysqli say `SQLSTATE[HY000] [2002] No such file or directory`,
and where they connected is in the connection string the user pasted with it.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from assistant.understand.patterns import Rx

# PHP's MySQL drivers. A PDO DSN as far as its closing quote (`mysql:host=
# localhost;port=3306;dbname=app`, `mysql:unix_socket=/tmp/my dir/m.sock`), and
# mysqli's host argument (`new mysqli('localhost', ...)`).
MYSQL_DSN = Rx(r"\b(?:mysql|mariadb):((?:host|port|unix_socket|dbname|charset)=[^'\"\n]{0,400})",
               ("mysql:", "mariadb:"), re.I)
_PHP_ARG = r"\s{0,5},\s{0,5}(?:'[^'\n]{0,200}'|\"[^\"\n]{0,200}\"|\$\w{1,40}|null)"
MYSQLI_HOST = Rx(r"\b(?:new mysqli|mysqli_connect|real_connect)\(\s{0,5}['\"]([^'\"\n]{0,253})['\"]"
                 rf"(?:{_PHP_ARG}{_PHP_ARG}{_PHP_ARG}\s{{0,5}},\s{{0,5}}(\d{{1,5}}))?",
                 ("mysqli", "real_connect"), re.I)
# Where PHP's drivers look when host is localhost (pdo_mysql.default_socket,
# mysqli.default_socket): the compiled-in default of Debian's and Ubuntu's PHP.
PHP_MYSQL_SOCKET = "/var/run/mysqld/mysqld.sock"


class PhpMysql(NamedTuple):
    """What a PHP MySQL driver's text says about where it connected."""

    socket: str | None        # the UNIX socket it used (None: TCP)
    assumed: bool             # that socket is PHP's default, not in the text
    host: str | None          # the TCP host of its DSN
    port: str | None          # the port its DSN names


def php_mysql(error: str | None, text: str, low: str) -> PhpMysql | None:
    """PDO and mysqli, like libmysqlclient, take host=localhost (or no host)
    to mean the UNIX socket and ignore the port: the DSN's socket, or PHP's
    default one. Without a DSN, "No such file or directory" alone says it was
    the socket (a TCP connect never says so)."""
    dsn = MYSQL_DSN.search(text, low)
    fields: dict[str, str] = {}
    if dsn is not None:
        for part in dsn.group(1).split(";"):
            key, eq, value = part.partition("=")
            if eq and key.strip().lower() in ("host", "port", "unix_socket"):
                fields[key.strip().lower()] = value.strip()
    else:
        mysqli = MYSQLI_HOST.search(text, low)
        if mysqli is not None:
            fields["host"] = mysqli.group(1).strip()
            if mysqli.group(2):
                fields["port"] = mysqli.group(2)
    port = fields.get("port") if (fields.get("port") or "").isdigit() else None
    if fields.get("unix_socket", "").startswith("/"):
        return PhpMysql(fields["unix_socket"], False, None, port)
    host = fields.get("host")
    if dsn is None and host is None:
        if error != "missing":
            return None
        return PhpMysql(PHP_MYSQL_SOCKET, True, None, None)
    if not host or host.lower() == "localhost":
        return PhpMysql(PHP_MYSQL_SOCKET, True, None, port)
    return PhpMysql(None, False, host.strip("[]"), port)
