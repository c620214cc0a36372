"""The ports a running nginx's configuration sends requests to.

When nginx says its upstream on port 9101 refused, a listener on 9102 is a
slip only if nothing else sends requests there: a port that another
`proxy_pass` (or an `upstream` block's `server`) of the same configuration
names is another virtual host's application, there on purpose. Read only:
the master's command line (`-p`, `-c`) names the file; `include`s are
followed, bounded in count and size. Nothing is run (`nginx -T` would need
the binary and often root); a file we may not read is skipped.
"""

from __future__ import annotations

import glob
import os
import re
import shlex
from collections.abc import Iterable

from assistant.facts.system.procfs import all_pids

DEFAULT_CONF = "/etc/nginx/nginx.conf"
DEFAULT_PREFIX = "/etc/nginx"
MAX_FILES = 64
MAX_BYTES = 1024 * 1024       # per file
MAX_MASTERS = 4
PASSES = ("proxy_pass", "fastcgi_pass", "uwsgi_pass", "scgi_pass", "grpc_pass",
          "memcached_pass")
_PORT = re.compile(r"(?:^|[/@\]])(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.\-]+)?:(\d{1,5})(?=/|$)")
_COMMENT = re.compile(r"#[^\n]*")
_TOKEN = re.compile(r"\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'|[{};]|[^\s{};\"']+")


def statements(text: str) -> Iterable[tuple[list[str], list[str]]]:
    """Pure: (enclosing block names, words) for each `directive args;` of nginx
    configuration text; comments and quotes handled, no variables expanded."""
    blocks: list[str] = []
    words: list[str] = []
    for tok in _TOKEN.findall(_COMMENT.sub("", text)):
        if tok == ";":
            if words:
                yield list(blocks), words
            words = []
        elif tok == "{":
            blocks.append(words[0] if words else "")
            words = []
        elif tok == "}":
            if blocks:
                blocks.pop()
            words = []
        else:
            words.append(tok.strip("\"'"))


def port_of(address: str) -> int | None:
    """Pure: the port of `http://127.0.0.1:9103/x`, `127.0.0.1:9000`, `[::1]:80`."""
    m = _PORT.search(address.split("://", 1)[-1].split("/", 1)[0] + "/")
    if m is None:
        return None
    port = int(m.group(1))
    return port if 0 < port < 65536 else None


def ports_in(text: str) -> tuple[set[int], list[str]]:
    """Pure: the ports requests are sent to, and the `include` patterns."""
    ports: set[int] = set()
    includes: list[str] = []
    for blocks, words in statements(text):
        head, args = words[0], words[1:]
        if head == "include" and args:
            includes.append(args[0])
        elif args and (head in PASSES or head == "server" and "upstream" in blocks):
            port = port_of(args[0])
            if port is not None:
                ports.add(port)
    return ports, includes


def master_files(cmdline: str) -> tuple[str, str]:
    """Pure: (prefix, configuration file) from a master's command line:
    `nginx: master process /usr/sbin/nginx -p /srv/x -c conf/nginx.conf`."""
    try:
        words = shlex.split(cmdline.split("master process", 1)[-1])
    except ValueError:
        words = cmdline.split()
    prefix, conf = DEFAULT_PREFIX, None
    for i, w in enumerate(words[:-1]):
        if w == "-p":
            prefix = words[i + 1]
        elif w == "-c":
            conf = words[i + 1]
    if conf is None:
        return prefix, DEFAULT_CONF if prefix == DEFAULT_PREFIX else os.path.join(prefix,
                                                                                 "conf/nginx.conf")
    return prefix, conf if os.path.isabs(conf) else os.path.join(prefix, conf)


def configured_ports(conf: str) -> set[int]:
    """Every port the configuration in `conf` (and what it includes) sends to."""
    found: set[int] = set()
    todo: list[str] = [conf]
    seen: set[str] = set()
    base = os.path.dirname(conf)
    while todo and len(seen) < MAX_FILES:
        path = todo.pop(0)
        if path in seen:
            continue
        seen.add(path)
        try:
            with open(path, encoding="utf-8", errors="replace") as fh:
                text = fh.read(MAX_BYTES)
        except OSError:
            continue
        ports, includes = ports_in(text)
        found |= ports
        for pattern in includes:
            full = pattern if os.path.isabs(pattern) else os.path.join(base, pattern)
            todo.extend(sorted(glob.glob(full))[:MAX_FILES])
    return found


def _masters(worker: int | None) -> list[str]:
    """Command lines of nginx masters: the named worker's parent, else every
    process named nginx whose command line says master (a few at most)."""
    pids: list[int] = []
    if worker:
        try:
            with open(f"/proc/{worker}/stat") as fh:
                pids.append(int(fh.read().rsplit(")", 1)[1].split()[1]))
        except (OSError, IndexError, ValueError):
            pass
    if not pids:
        pids = all_pids()
    out = []
    for pid in pids:
        try:
            with open(f"/proc/{pid}/comm") as fh:
                if fh.read().strip() != "nginx":
                    continue
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                cmd = fh.read(4096).replace(b"\0", b" ").decode("utf-8", "replace").strip()
        except OSError:
            continue
        if "master process" in cmd:
            out.append(cmd)
            if len(out) >= MAX_MASTERS:
                break
    return out


def running_ports(worker: int | None = None) -> set[int]:
    """The ports every running nginx master's configuration sends requests to."""
    found: set[int] = set()
    for cmd in _masters(worker):
        found |= configured_ports(master_files(cmd)[1])
    return found
