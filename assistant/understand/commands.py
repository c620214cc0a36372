"""Command lines in a paste: what the user ran says where it connects or listens.

A terminal copy often starts with the command (`$ python3 -m http.server
80`, `$ telnet localhost 5432`, `$ psql -h /tmp`); the output alone may not
name the port. Lines are only split into words (shlex), never run.
"""

from __future__ import annotations

import re
import shlex
from typing import NamedTuple

from assistant.understand.services import port_of

# A shell prompt before a command: `$ `, `# `, `% `, `> `, `user@host:~/dir$ `,
# `PS C:\\dir> `, `(venv) $ `.
_PROMPT = re.compile(r"^\s{0,8}(?:\([\w.\-]{1,40}\)\s{1,3})?(?:[\w.\-]{1,64}@[\w.\-]{1,64}"
                     r"(?::[^\s$#%>]{0,200})?\s{0,2}[$#%>]|PS [A-Za-z]:[^>\n]{0,200}>|[$#%>])\s{1,4}")
_ENV = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,60}=")
MAX_LINE = 2000

# Programs that connect (their role is client) and that serve.
CLIENT_PROGRAMS = ("curl", "wget", "psql", "mysql", "mariadb", "redis-cli", "nc", "ncat", "netcat",
                   "telnet", "ssh", "grpcurl", "docker", "kubectl", "openssl")
SERVER_PROGRAMS = ("node", "nodejs", "npm", "npx", "yarn", "pnpm", "deno", "bun", "uvicorn",
                   "gunicorn", "flask", "rails", "php", "vite", "next", "hugo", "jekyll", "caddy",
                   "nginx", "python", "python3", "serve", "http-server", "live-server", "bundle",
                   "ruby", "java", "go", "cargo", "dotnet", "manage.py")


class Command(NamedTuple):
    """What one command line says about the connection."""

    program: str
    role: str                      # client | server
    host: str | None = None
    port: str | None = None        # as written: a number or a service name
    path: str | None = None        # a UNIX socket the command names
    scheme: str | None = None


def command_lines(text: str) -> list[str]:
    """Lines that look like a command someone typed (a prompt, or a known program)."""
    out = []
    for raw in text.splitlines():
        line = raw[:MAX_LINE]
        m = _PROMPT.match(line)
        body = line[m.end():] if m else line.strip()
        words = body.split(None, 4)
        words = _unwrap(body.split())
        if not words:
            continue
        program = words[0].rsplit("/", 1)[-1]
        if m or program in CLIENT_PROGRAMS or (program in SERVER_PROGRAMS and len(words) > 1):
            out.append(body)
    return out


def _opt(words: list[str], *names: str) -> str | None:
    """The value of the first of `names` (`-p 80`, `-p80`, `--port=80`, `--port 80`)."""
    for i, w in enumerate(words):
        for name in names:
            if w == name and i + 1 < len(words):
                return words[i + 1]
            if name.startswith("--") and w.startswith(name + "="):
                return w[len(name) + 1:]
            if len(name) == 2 and not name.startswith("--") and w.startswith(name) and len(w) > 2 \
                    and w[2:].isdigit():
                return w[2:]
    return None


def _positionals(words: list[str], takes_value: tuple[str, ...]) -> list[str]:
    """Arguments that are not options (skipping the values of `takes_value` options)."""
    out, skip = [], False
    for w in words:
        if skip:
            skip = False
            continue
        if w.startswith("-"):
            skip = w in takes_value
            continue
        out.append(w)
    return out


def parse_command(line: str) -> Command | None:
    """What `line` connects to or listens on, from its program's options."""
    try:
        words = shlex.split(line, posix=True)
    except ValueError:
        words = line.split()
    env_port = next((w.split("=", 1)[1] for w in words[:4] if w.startswith("PORT=")), None)
    words = _unwrap(words)
    if not words:
        return None
    if env_port:
        found = _parse_words(words)
        if found is not None and found.port is None:
            found = found._replace(port=env_port)
        return found
    return _parse_words(words)


# Clients told to use one IP family: the flags, and short boolean flags
# that may share a word with -4/-6 (`curl -sS6`).
_FAMILY_FLAGS = {"curl": ("--ipv4", "--ipv6"), "wget": ("--inet4-only", "--inet6-only"),
                 "nc": ("", ""), "ncat": ("", ""), "netcat": ("", ""), "ssh": ("", ""),
                 "telnet": ("", "")}
_SHORT_FAMILY = re.compile(r"-[sSLkvifInzqNtTAaCX]{0,6}([46])[sSLkvifInzqNtTAaCX]{0,6}")


def family_flag(lines: list[str]) -> int | None:
    """4 or 6 when one of these command lines (command_lines) runs a client
    forced to one IP family (`curl -6`, `wget --inet6-only`, `nc -6`,
    `ssh -4`): it dials only that family's addresses of a name, whatever the
    resolver gives."""
    for line in lines:
        try:
            words = _unwrap(shlex.split(line, posix=True))
        except ValueError:
            continue
        if not words or words[0].rsplit("/", 1)[-1] not in _FAMILY_FLAGS:
            continue
        long4, long6 = _FAMILY_FLAGS[words[0].rsplit("/", 1)[-1]]
        for w in words[1:]:
            if w == "--":
                break
            if w and w in (long4, long6):
                return 4 if w == long4 else 6
            m = _SHORT_FAMILY.fullmatch(w)
            if m:
                return int(m.group(1))
    return None


# psql's options that take a value (for its positionals: [DBNAME [USERNAME]]).
_PSQL_VALUED = ("-c", "-d", "-f", "-h", "-L", "-o", "-p", "-P", "-R", "-T", "-U", "-v", "-F",
                "--command", "--dbname", "--file", "--host", "--port", "--username", "--set",
                "--variable", "--log-file", "--output", "--pset")


def psql_login(lines: list[str]) -> str | None:
    """` -U app -d appdb` (shell-quoted, with a leading space) when a pasted
    psql command names its role or database: a printed psql command that
    keeps them connects as the user meant (field trial 10: without `-d
    postgres` it tried a database named after the user). None otherwise,
    and for a conninfo or URL argument, whose parts the fix cannot split."""
    for line in lines:
        try:
            words = _unwrap(shlex.split(line, posix=True))
        except ValueError:
            continue
        if not words or words[0].rsplit("/", 1)[-1] != "psql":
            continue
        args = words[1:]
        user = _opt(args, "-U", "--username") or _attached(args, "-U")
        db = _opt(args, "-d", "--dbname") or _attached(args, "-d")
        pos = _positionals(args, _PSQL_VALUED)
        if db is None and pos:
            db = pos[0]
        if user is None and len(pos) > 1:
            user = pos[1]
        if db and ("=" in db or "://" in db):
            return None
        out = (["-U", user] if user else []) + (["-d", db] if db else [])
        return " " + shlex.join(out) if out else None
    return None


def _attached(args: list[str], name: str) -> str | None:
    """`-Uapp`: a short option's value in the same word."""
    return next((w[2:] for w in args if w.startswith(name) and len(w) > 2
                 and not w.startswith("--")), None)


def _unwrap(words: list[str]) -> list[str]:
    """The command inside `VAR=x`, sudo, timeout, env, time, nohup, runuser wrappers."""
    while words:
        w = words[0]
        if _ENV.match(w) or w in ("exec", "time", "env", "nohup", "--", "command"):
            words = words[1:]
        elif w == "timeout":
            rest = words[1:]
            while rest and rest[0].startswith("-"):
                rest = rest[2:] if rest[0] in ("-s", "-k", "--signal", "--kill-after") else rest[1:]
            words = rest[1:] if rest and rest[0][:1].isdigit() else rest
        elif w in ("sudo", "runuser", "doas"):
            rest = words[1:]
            while rest and rest[0].startswith("-"):
                rest = rest[2:] if rest[0] in ("-u", "-g", "-U") else rest[1:]
            words = rest
        else:
            break
    return words


def _parse_words(words: list[str]) -> Command | None:
    program, args = words[0].rsplit("/", 1)[-1], words[1:]
    host: str | None
    port: str | None
    if program in ("telnet",):
        pos = _positionals(args, ("-l", "-b", "-e", "-n"))
        return Command(program, "client", pos[0] if pos else None, pos[1] if len(pos) > 1 else None)
    if program in ("nc", "ncat", "netcat"):
        pos = _positionals(args, ("-p", "-s", "-w", "-i", "-x", "-X", "-q", "-O", "-T", "-V"))
        if any(w == "--listen" or (w.startswith("-") and not w.startswith("--") and "l" in w[1:])
               for w in args):
            # `nc -l 80`, `nc -lvnp 8080`, `nc -l -p 80`: it listens (field trial 11)
            port = _opt(args, "-p") or (pos[-1] if pos else None)
            host = _opt(args, "-s") or (pos[0] if len(pos) > 1 else None)
            return Command(program, "server", host, port)
        return Command(program, "client", pos[0] if pos else None, pos[1] if len(pos) > 1 else None)
    if program == "ssh":
        pos = _positionals(args, ("-p", "-i", "-l", "-o", "-F", "-J", "-L", "-R", "-D", "-W", "-b",
                                  "-c", "-E", "-m", "-O", "-Q", "-S", "-w", "-B", "-e"))
        host = pos[0].rsplit("@", 1)[-1] if pos else None
        return Command(program, "client", host, _opt(args, "-p") or "22", scheme="ssh")
    if program == "psql":
        host = _opt(args, "-h", "--host")
        port = _opt(args, "-p", "--port") or "5432"
        if host and host.startswith("/"):
            return Command(program, "client", None, port, path=f"{host.rstrip('/')}/.s.PGSQL.{port}")
        return Command(program, "client", host, port if host else None, scheme="postgresql")
    if program in ("mysql", "mariadb"):
        socket_path = _opt(args, "-S", "--socket")
        host = _opt(args, "-h", "--host")
        port = _opt(args, "-P", "--port")
        if socket_path:
            return Command(program, "client", None, None, path=socket_path)
        return Command(program, "client", host, port or ("3306" if host else None), scheme="mysql")
    if program == "redis-cli":
        socket_path = _opt(args, "-s")
        if socket_path:
            return Command(program, "client", None, None, path=socket_path)
        host, port = _opt(args, "-h"), _opt(args, "-p")
        return Command(program, "client", host or ("127.0.0.1" if port else None), port,
                       scheme="redis")
    if program == "curl":
        # --unix-socket: curl dials that socket and still names the URL's host
        # and port in its errors ("Failed to connect to localhost port 80").
        socket_path = _opt(args, "--unix-socket")
        if socket_path and socket_path.startswith("/"):
            return Command(program, "client", None, None, path=socket_path)
        return None
    if program in ("wget", "grpcurl", "docker", "kubectl", "openssl"):
        return None  # their URLs and addresses are read from the text itself
    return _server(program, args)


def _server(program: str, args: list[str]) -> Command | None:
    """A server's bind address and port from its usual options."""
    joined = " ".join(args)
    if program in ("python", "python3") and "http.server" in args:
        pos = _positionals(args[args.index("http.server") + 1:], ("-b", "--bind", "-d",
                                                                   "--directory"))
        return Command("python -m http.server", "server", _opt(args, "-b", "--bind") or "0.0.0.0",
                       pos[0] if pos else "8000", scheme="http")
    if program == "php" and "-S" in args:
        where = _opt(args, "-S") or ""
        bound, _, number = where.rpartition(":")
        return Command(program, "server", bound or None, number or None, scheme="http")
    port: str | None = _opt(args, "--port", "-p", "--http-port", "--listen-port")
    host: str | None = _opt(args, "--host", "--bind", "-b", "-H", "--hostname", "--listen")
    if host and ":" in host and host.rsplit(":", 1)[1].isdigit() and not port:
        host, port = host.rsplit(":", 1)
    if program == "docker" or "publish" in joined:
        return None
    if port is None:
        # `python3 server.py 8765`, `node app.js 3000`: a lone number is the port.
        numbers = [w for w in _positionals(args, ()) if w.isdigit() and len(w) <= 6]
        port = numbers[0] if len(numbers) == 1 else None
    if port is None and host is None:
        return None
    return Command(program, "server", host, port, scheme="http")


def from_text(text: str) -> list[Command]:
    """Every command line in the paste that says something about the connection."""
    out = []
    for line in command_lines(text):
        cmd = parse_command(line)
        if cmd is not None and (cmd.host or cmd.port or cmd.path):
            out.append(cmd)
    return out


def port_number(raw: str | None) -> str | None:
    """A port as digits: numbers stay, service names (`postgresql`) become their port."""
    if raw is None:
        return None
    if raw.lstrip("-").isdigit():
        return raw
    found = port_of(raw)
    return None if found is None else str(found)


# Variables that decide whether a client goes through a proxy.
_PROXY_ENV = re.compile(r"(?:http|https|all|no)_proxy|REQUEST_METHOD|NODE_USE_ENV_PROXY|NODE_OPTIONS",
                        re.I)
_PROXY_NAMES = ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY",
                "no_proxy", "NO_PROXY")


def env_assignments(text: str) -> dict[str, str | None]:
    """Proxy-related variables the pasted command lines set or remove.

    `http_proxy=URL curl ...`, `env -u HTTP_PROXY cmd`, `env -i cmd`,
    `export no_proxy=localhost`, `unset http_proxy`: the client ran with
    these, whatever this shell has. None means removed.
    """
    out: dict[str, str | None] = {}
    for line in command_lines(text):
        try:
            words = shlex.split(line, posix=True)
        except ValueError:
            words = line.split()
        if words and words[0] in ("export", "unset"):
            for w in words[1:]:
                name, eq, value = w.partition("=")
                if _PROXY_ENV.fullmatch(name):
                    out[name] = value if eq and words[0] == "export" else None
            continue
        i = 0
        while i < len(words):
            w = words[i]
            name, eq, value = w.partition("=")
            if eq and _ENV.match(w):
                if _PROXY_ENV.fullmatch(name):
                    out[name] = value
            elif w == "env":
                pass
            elif w in ("-u", "--unset") and i + 1 < len(words):
                i += 1
                if _PROXY_ENV.fullmatch(words[i]):
                    out[words[i]] = None
            elif w.startswith("--unset="):
                if _PROXY_ENV.fullmatch(w.split("=", 1)[1]):
                    out[w.split("=", 1)[1]] = None
            elif w in ("-i", "--ignore-environment", "-"):
                out.update({n: None for n in _PROXY_NAMES})
            else:
                out.update(_proxy_options(words[i].rsplit("/", 1)[-1], words[i + 1:]))
                break  # the program: what follows are its arguments
            i += 1
    return out


def _proxy_options(program: str, args: list[str]) -> dict[str, str | None]:
    """curl's -x/--proxy and --noproxy, wget's --no-proxy, as the variables they
    override for that one command."""
    out: dict[str, str | None] = {}
    if program == "curl":
        for i, w in enumerate(args):
            value = args[i + 1] if i + 1 < len(args) else None
            if w in ("-x", "--proxy") and value:
                out.update({"http_proxy": value, "https_proxy": value})  # every scheme
            elif w.startswith("-x") and len(w) > 2 and not w.startswith("--"):
                out.update({"http_proxy": w[2:], "https_proxy": w[2:]})
            elif w == "--noproxy" and value is not None:
                out.update({"no_proxy": value, "NO_PROXY": value})  # replaces both
    elif program == "wget" and ("--no-proxy" in args or "--proxy=off" in args):
        out.update({n: None for n in _PROXY_NAMES if not n.lower().startswith("no_")})
    return out

