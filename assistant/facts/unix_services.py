"""What the unix_socket check knows about the servers behind sockets: which
one a path belongs to, the unit that runs it, its usual TCP ports and socket
paths, and which listening sockets are its. Pure data and pure functions."""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from assistant.facts.system.unix import UnixRow
    from assistant.understand.symptoms import Target

PG_SOCKET = re.compile(r"^\.s\.PGSQL\.(\d{1,5})$")


class Service(NamedTuple):
    processes: tuple[str, ...]   # process-name prefixes
    ports: tuple[int, ...]       # its usual TCP ports
    units: tuple[str, ...]       # service units, most likely first
    socket_name: re.Pattern[str]
    known: tuple[str, ...]       # where its sockets usually are ({uid}, {home})


SERVICES: dict[str, Service] = {
    "postgres": Service(("postgres", "postmaster"), (5432,), ("postgresql",), PG_SOCKET,
                        ("/var/run/postgresql", "/run/postgresql", "/tmp")),
    "mysql": Service(("mysqld", "mariadbd"), (3306,), ("mariadb", "mysql", "mysqld"),
                     re.compile(r"^(?:mysqld?|mariadb)[\w.-]*\.sock$"),
                     ("/run/mysqld/mysqld.sock", "/var/run/mysqld/mysqld.sock", "/tmp/mysql.sock",
                      "/var/lib/mysql/mysql.sock")),
    "docker": Service(("dockerd",), (2375, 2376), ("docker",), re.compile(r"^docker\.sock$"),
                      ("/var/run/docker.sock", "/run/user/{uid}/docker.sock",
                       "{home}/.docker/run/docker.sock", "{home}/.docker/desktop/docker.sock")),
    "php-fpm": Service(("php-fpm",), (9000,), ("php-fpm",), re.compile(r"fpm[\w.-]*\.sock$"), ()),
    "redis": Service(("redis-server",), (6379,), ("redis-server", "redis"),
                     re.compile(r"redis[\w.-]*\.sock$"),
                     ("/run/redis/redis-server.sock", "/var/run/redis/redis-server.sock",
                      "/tmp/redis.sock")),
}
SERVICE_NAMES = (*SERVICES, "unknown")
LABELS = {"postgres": "PostgreSQL", "mysql": "MySQL/MariaDB", "docker": "the Docker daemon",
          "php-fpm": "PHP-FPM", "redis": "Redis", "unknown": "the server"}
# php: the client is named only for its MySQL drivers' wording (PDO, mysqli).
BY_CLIENT = {"psql": "postgres", "mysql": "mysql", "php": "mysql", "redis-cli": "redis",
             "docker": "docker"}
# A URL's scheme, or the protocol the words name (a worker's "connecting to redis").
BY_SCHEME = {"redis": "redis", "postgresql": "postgres", "postgres": "postgres",
             "mysql": "mysql", "mariadb": "mysql"}
BY_PORT = {5432: "postgres", 3306: "mysql", 6379: "redis", 2375: "docker", 2376: "docker"}
UNIT_DIRS = ("/etc/systemd/system", "/lib/systemd/system", "/usr/lib/systemd/system",
             "/etc/init.d")
RELATIONS = ("tcp", "other-dir", "other-port", "other-socket", "socket", "beside")
# Directories every program shares: a socket there is beside ours only when
# its name is alike (api.sock and api-v2.sock), not merely present.
SHARED_DIRS = ("/tmp", "/var/tmp", "/run", "/var/run", "/dev/shm", "/run/user", "/var/run/user")
MAX_BESIDE = 3


def service_of(path: str, client: str | None) -> str:
    """Pure: which server a socket belongs to, by its path, else by the client."""
    base = os.path.basename(path)
    for name, svc in SERVICES.items():
        if svc.socket_name.search(base):
            return name
    low = path.lower()
    if "/mysqld/" in low or "/mysql/" in low:
        return "mysql"
    if "/php/" in low or "php-fpm" in low:
        return "php-fpm"
    if "redis" in low:
        return "redis"
    return BY_CLIENT.get(client or "", "unknown")


def unit_of(service: str, path: str, installed: set[str]) -> tuple[str | None, bool]:
    """Pure: the unit that runs `service` and whether it is installed here."""
    if service == "unknown":
        return None, False
    wanted = list(SERVICES[service].units)
    if service == "php-fpm":
        version = re.search(r"php(\d+(?:\.\d+)?)-fpm", path)
        fpm = sorted((u for u in installed if re.fullmatch(r"php[\d.]+-fpm", u)), reverse=True)
        wanted = ([f"php{version.group(1)}-fpm"] if version else []) + fpm + wanted
    found = next((u for u in wanted if u in installed), None)
    return (found, True) if found else (wanted[0], False)


def tcp_service(target: Target) -> str | None:
    """Pure: the service a TCP target names, by its client, else its port."""
    if target.scheme == "fastcgi" or (target.client == "nginx" and target.port == 9000):
        return "php-fpm"  # nginx in front of anything else is not PHP-FPM's business
    if target.client == "php":  # PDO also speaks PostgreSQL: its port says which
        return BY_PORT.get(target.port or 0) or "mysql"
    return (BY_CLIENT.get(target.client or "") or BY_SCHEME.get(target.scheme or "")
            or BY_PORT.get(target.port or 0))


def real(path: str) -> str:
    return os.path.realpath(path)


def socket_places(service: str, port: int | None, rows: list[UnixRow], owned: set[int],
                  exclude: str | None, any_port: bool = False
                  ) -> list[tuple[str, int | None, UnixRow]]:
    """Pure but for realpath: (path, PostgreSQL port, row) of the service's
    listening sockets other than `exclude`. PostgreSQL's by name: for `port`
    anywhere, for another port only in `exclude`'s directory (or anywhere
    with `any_port`); the others by name or because the service's processes
    hold them."""
    svc = SERVICES[service]
    out = []
    seen = {real(exclude)} if exclude else set()
    for row in rows:
        if not row.listening:
            continue
        base = os.path.basename(row.path)
        m = PG_SOCKET.match(base)
        if service == "postgres":
            if m is None:
                continue
            same_dir = exclude is not None and os.path.dirname(row.path) == os.path.dirname(exclude)
            # Another port counts only beside the asked socket (a second
            # cluster, or a slip of a digit), never an unrelated server's.
            if int(m.group(1)) != port and not same_dir and not any_port:
                continue
        elif not (svc.socket_name.search(base) or row.inode in owned):
            continue
        rp = real(row.path)
        if rp in seen:
            continue
        seen.add(rp)
        out.append((row.path, int(m.group(1)) if m and service == "postgres" else None, row))
    return out


def _stem(name: str) -> str:
    return name.split(".", 1)[0].lower()


def alike(a: str, b: str) -> bool:
    """Pure: two socket file names that look like the same server's (api.sock,
    api-v2.sock; app.sock, app.1.sock)."""
    sa, sb = _stem(a), _stem(b)
    if not sa or not sb:
        return False
    return sa in sb or sb in sa or len(os.path.commonprefix([sa, sb])) >= 3


def shared_dir(directory: str) -> bool:
    """Pure: a directory every program may put sockets in."""
    d = directory.rstrip("/") or "/"
    return d in SHARED_DIRS or os.path.dirname(d) in ("/run/user", "/var/run/user")


def beside(path: str, rows: list[UnixRow]) -> list[UnixRow]:
    """Pure but for realpath: listening sockets in `path`'s directory (another
    server's socket, or the same server's renamed one), alike by name when the
    directory is a shared one; at most MAX_BESIDE."""
    directory = real(os.path.dirname(path))
    shared = shared_dir(directory) or shared_dir(os.path.dirname(path))
    name = os.path.basename(path)
    out: list[UnixRow] = []
    seen = {real(path)}
    for row in rows:
        if not row.listening or not row.path.startswith("/"):
            continue
        rp = real(row.path)
        if rp in seen or real(os.path.dirname(row.path)) != directory:
            continue
        if shared and not alike(name, os.path.basename(row.path)):
            continue
        seen.add(rp)
        out.append(row)
        if len(out) == MAX_BESIDE:
            break
    return out
