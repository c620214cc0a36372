"""What a running nginx's configuration listens on and sends requests to.

When nginx says its upstream on port 9101 refused, a listener on 9102 is a
slip only if nothing else sends requests there: a port that another
`proxy_pass` (or an `upstream` block's `server`) of the same configuration
names is another virtual host's application, there on purpose, and the
ports nginx listens on itself are its own. When nginx answers 502, the
server blocks listening on the asked port name the upstreams it failed to
reach, and its error log (`front_end`). Read only:
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
from typing import NamedTuple

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


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.read(MAX_BYTES)
    except OSError:
        return None


def configured_ports(conf: str) -> set[int]:
    """Every port the configuration in `conf` (and what it includes) sends to."""
    text = expanded(conf)
    return set() if text is None else ports_in(text)[0]


# An `include` statement wherever it stands (`server { include snippets/x; }`).
_INCLUDE = re.compile(r"(^|[;{}\s])include[ \t]+([^;{}\s]+)[ \t]*;")


def expanded(conf: str) -> str | None:
    """The configuration's text with each `include` replaced by the files it
    names, in place (server blocks come from sites-enabled/ this way);
    bounded in files, bytes and depth. None: the main file cannot be read."""
    base = os.path.dirname(conf)
    budget = [MAX_FILES]

    def inlined(text: str, depth: int) -> str:
        def inline(m: re.Match[str]) -> str:
            pattern = m.group(2).strip("\"'")
            full = pattern if os.path.isabs(pattern) else os.path.join(base, pattern)
            parts = [m.group(1)]
            for f in sorted(glob.glob(full)):
                if budget[0] <= 0:
                    break
                budget[0] -= 1
                parts.append(inlined(_read(f) or "", depth + 1))
            return "\n".join(parts)

        text = _COMMENT.sub("", text)
        return text if depth > 8 else _INCLUDE.sub(inline, text)

    main = _read(conf)
    return None if main is None else inlined(main, 0)


class Upstream(NamedTuple):
    """Where a server block sends requests: a host and port, or a socket."""

    directive: str           # proxy_pass, fastcgi_pass...
    host: str | None         # 127.0.0.1, localhost, [::1]; None for a socket
    port: int | None
    path: str | None         # a UNIX socket's path


class FrontEnd(NamedTuple):
    """A running nginx's view of one listening port."""

    conf: str
    prefix: str
    error_log: str | None    # None: not a file (stderr, syslog)
    upstreams: list[Upstream]
    listens: set[int]        # every port this nginx listens on


def _upstream(directive: str, arg: str, named: dict[str, list[str]]) -> list[Upstream]:
    """Pure: the upstreams one `*_pass` argument names (through an `upstream` block)."""
    if "$" in arg:
        return []  # decided per request from variables: not knowable here
    rest = arg.split("://", 1)[-1]
    if rest.startswith("unix:"):
        return [Upstream(directive, None, None, rest[5:].split(":", 1)[0])]
    hostport = rest.split("/", 1)[0]
    if hostport in named:
        return [u for server in named[hostport] for u in _upstream(directive, server, {})]
    port = port_of(hostport)
    host = hostport.rsplit(":", 1)[0] if port is not None else hostport
    if port is None:
        scheme = arg.split("://", 1)[0] if "://" in arg else ""
        port = {"http": 80, "https": 443, "grpc": 80, "grpcs": 443}.get(scheme)
    return [Upstream(directive, host.strip("[]") or None, port, None)]


def _listen_port(args: list[str]) -> int | None:
    if not args or args[0].startswith("unix:"):
        return None
    first = args[0]
    if first.isdigit():
        return int(first)
    port = port_of(first)
    return port if port is not None else 80  # `listen 127.0.0.1;` is port 80


def front_end_in(text: str, port: int) -> tuple[list[Upstream], set[int], str | None]:
    """Pure: from a whole (expanded) configuration, the upstreams of the server
    blocks that listen on `port` (every block's when none does), every
    port it listens on, and its `error_log` file (main context)."""
    named: dict[str, list[str]] = {}
    servers: list[tuple[set[int], list[tuple[str, str]]]] = []
    error_log: str | None = None
    stack: list[str] = []
    words: list[str] = []
    current: tuple[set[int], list[tuple[str, str]]] | None = None
    upstream_name: str | None = None
    for tok in _TOKEN.findall(_COMMENT.sub("", text)):
        if tok == "{":
            name = words[0] if words else ""
            stack.append(name)
            if name == "server" and "http" in stack[:-1] and current is None:
                current = (set(), [])
                servers.append(current)
            elif name == "upstream" and len(words) > 1:
                upstream_name = words[1]
                named[upstream_name] = []
            words = []
        elif tok == "}":
            if stack:
                closed = stack.pop()
                if closed == "server" and current is not None and "server" not in stack:
                    current = None
                elif closed == "upstream":
                    upstream_name = None
            words = []
        elif tok == ";":
            if words:
                head, args = words[0], words[1:]
                if head == "error_log" and not stack and args and error_log is None:
                    error_log = args[0]
                elif head == "server" and upstream_name is not None and args:
                    named[upstream_name].append(args[0])
                elif current is not None and head == "listen":
                    p = _listen_port(args)
                    if p is not None:
                        current[0].add(p)
                elif current is not None and head in PASSES and args:
                    current[1].append((head, args[0]))
            words = []
        else:
            words.append(tok.strip("\"'"))
    for listens, _ in servers:
        if not listens:
            listens.add(80)
    chosen = [s for s in servers if port in s[0]] or servers
    found: list[Upstream] = []
    for _, passes in chosen:
        for head, arg in passes:
            for u in _upstream(head, arg, named):
                if u not in found:
                    found.append(u)
    return found, set().union(*(s[0] for s in servers)) if servers else set(), error_log


def _error_log_path(directive: str | None, prefix: str, cmdline: str) -> str | None:
    """Pure: the error log file: the main context's error_log (relative to the
    prefix), else -e on the command line, else Debian's built-in path."""
    value = directive
    if value is None:
        words = cmdline.split()
        value = next((words[i + 1] for i, w in enumerate(words[:-1]) if w == "-e"), None)
    if value is None:
        return "/var/log/nginx/error.log"
    if value == "stderr" or value.startswith("syslog:") or value.startswith("memory:"):
        return None
    return value if os.path.isabs(value) else os.path.join(prefix, value)


def front_end(port: int, worker: int | None = None) -> FrontEnd | None:
    """The running nginx whose configuration listens on `port`: its files,
    error log, and the upstreams of the server blocks on that port."""
    fallback: FrontEnd | None = None
    for cmd in _masters(worker):
        prefix, conf = master_files(cmd)
        text = expanded(conf)
        if text is None:
            continue
        upstreams, listens, log = front_end_in(text, port)
        found = FrontEnd(conf, prefix, _error_log_path(log, prefix, cmd), upstreams, listens)
        if port in listens:
            return found
        fallback = fallback or found
    return fallback if worker else None


def _masters(worker: int | None) -> list[str]:
    """Command lines of nginx masters: the named process or its parent (a
    worker's master), else every process named nginx whose command line says
    master (a few at most)."""
    pids: list[int] = []
    if worker:
        pids.append(worker)  # the master itself holds the listening socket too
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


def reload_command(prefix: str, conf: str, root: bool, test: bool = False) -> str:
    """Pure: `nginx -s reload` (after `nginx -t` with `test`) for the master
    running with this prefix and configuration: its -p and -c when not the
    defaults, sudo only when not root."""
    words = ["nginx"]
    if prefix != DEFAULT_PREFIX:
        words += ["-p", prefix]
    if conf != DEFAULT_CONF:
        words += ["-c", conf]
    nginx = ("" if root else "sudo ") + shlex.join(words)
    return (f"{nginx} -t && " if test else "") + f"{nginx} -s reload"


def master_of(worker: int | None) -> tuple[str, str] | None:
    """(prefix, configuration file) of the nginx master a worker pid belongs
    to; without a pid, of the only running master (None when several run)."""
    masters = _masters(worker)
    if len(masters) != 1 and not (worker and masters):
        return None
    return master_files(masters[0])


class Running(NamedTuple):
    """The running nginx masters' ports: those their configurations send
    requests to, and those they listen on themselves."""

    sends_to: set[int]
    listens: set[int]


def running(worker: int | None = None) -> Running:
    """Each running master's configuration, read once for both port sets."""
    found = Running(set(), set())
    for cmd in _masters(worker):
        text = expanded(master_files(cmd)[1])
        if text is not None:
            found.sends_to.update(ports_in(text)[0])
            found.listens.update(front_end_in(text, 0)[1])
    return found
