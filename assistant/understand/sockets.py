"""UNIX socket paths in what clients print: the socket a client failed on,
or a server could not bind. Paths may hold spaces where the client delimits
them (quotes, `: connect:`, the end of the line)."""

from __future__ import annotations

import re

from assistant.understand.patterns import Rx, line_before

_PATH = r"(/[^\s\"'`,;()<>]{1,300})"
# Docker's own words that say it used its default endpoint (the text names
# none): the `docker ps` table header, or a docker command line.
DOCKER_DEFAULT = Rx(r"^CONTAINER ID +IMAGE +COMMAND\b|^(?:\S*[$#%>] +)?(?:sudo +)?docker +[a-z]",
                    ("container id", "docker"), re.M)
DOCKER_SOCKET = "/var/run/docker.sock"

# A path as far as the client's own delimiter (a quote, `: connect:`, the end
# of the line): paths may hold spaces (`/tmp/my dir/app.sock`).
_QUOTED_PATH = r"(/[^\"\n]{1,300})"
_SINGLE_QUOTED_PATH = r"(/[^'\n]{1,300})"
_LINE_PATH = r"(/[^\n]{1,300}?)"

SOCKET_PATHS: list[Rx] = [
    Rx(rf"\bunix://{_PATH}", ("unix://",)),                      # docker, DOCKER_HOST, gRPC
    # Go: dial unix /tmp/my dir/app.sock: connect: no such file or directory
    Rx(rf"\bdial unix {_LINE_PATH}: (?:connect|read|write): ", ("dial unix",)),
    Rx(rf"\bdial unix {_PATH}:", ("dial unix",)),                 # Go, other wordings
    # Go's server: listen unix /tmp/app.sock: bind: address already in use
    Rx(rf"\blisten unix(?:gram|packet)? {_LINE_PATH}: bind: ", ("listen unix",)),
    Rx(rf"on socket \"{_QUOTED_PATH}\"", ("on socket",)),          # psql (libpq)
    Rx(rf"through socket '{_SINGLE_QUOTED_PATH}'", ("through socket",)),  # mysql, mariadb
    Rx(rf"Could not connect to Redis at {_PATH}:", ("redis at /",)),  # redis-cli
    # redis-py: Error 13 connecting to /tmp/redis.sock. Permission denied.
    Rx(rf"\bError -?\d{{1,6}} connecting to {_LINE_PATH}\.(?: [A-Z]|$)", ("connecting to /",),
       re.M),
    Rx(rf"connect\(\) to unix:{_PATH} failed", ("to unix:",)),    # nginx
    Rx(rf"\bconnect (?:ENOENT|EACCES|EPERM|ECONNREFUSED) {_PATH}", ("connect e",)),  # Node.js
    # Node.js's server: listen EADDRINUSE: address already in use /tmp/app.sock
    Rx(r"\blisten (?:EADDRINUSE|EACCES|EPERM|ENOENT|EINVAL)(?:: [a-z ]{1,40})? "
       r"(/[^\n]{1,300})$", ("listen e",), re.M),
    # Node.js's error object for a pipe: address: '/tmp/app.sock', port: -1
    Rx(rf"\baddress: '{_SINGLE_QUOTED_PATH}'", ("address: '/",)),
    Rx(rf"\bunix:{_PATH}", ("unix:/",)),                           # nginx upstream, uwsgi
]


# Where a server is told to listen (`--bind unix:PATH`, `--uds PATH`) or says
# it listens (gunicorn's "Listening at: unix:PATH", uvicorn's "running on unix
# socket PATH"): no failure by itself. When a client's line in the same paste
# names a TCP address, that address is what failed (symptoms.parse).
_ANNOUNCED = re.compile(r"(?:(?:Listening at|running on unix socket|listening on)[: ]*"
                        r"|(?:--bind[= ]|(?<!\S)-b |--uds[= ]))(?:unix:)?$", re.I)


def socket_path(text: str, low: str, announced: bool = False) -> str | None:
    """The UNIX socket path a client failed on, as the client printed it;
    with `announced`, also one a server was told to use or says it uses."""
    for rx in SOCKET_PATHS:
        for m in rx.finditer(text, low):
            if not announced and _ANNOUNCED.search(line_before(text, m.start())):
                continue
            return m.group(1).rstrip(".: \t")
    return None
