"""A server's own command with another port, for "start it on another port".

`--port 8081` is uvicorn's and flask's form, not gunicorn's (`-b HOST:PORT`),
PHP's (`php -S HOST:PORT`), Python's http.server (a positional port), Django's
runserver (`[ADDR:]PORT`), or a Node app's that reads PORT from the
environment. From the command line pasted with the error, this gives the
same command with the next port in the program's own form, a wildcard
address made 127.0.0.1 (this machine only); None when the paste holds no
command whose port form is known. Only words are rearranged: nothing is run.
"""

from __future__ import annotations

import shlex

from assistant.understand.commands import _unwrap, command_lines
from assistant.understand.redact import clean

WILDCARDS = ("0.0.0.0", "::", "[::]", "*", "")
PORT_OPTIONS = {
    "uvicorn": ("--port",), "hypercorn": ("--bind", "-b"), "flask": ("--port", "-p"),
    "vite": ("--port",), "next": ("--port", "-p"), "rails": ("--port", "-p"),
    "hugo": ("--port", "-p"), "jekyll": ("--port", "-P"), "http-server": ("-p", "--port"),
    "serve": ("--listen", "-l"), "live-server": ("--port",), "deno": ("--port",),
}


def another_port(text: str, port: int | None) -> str | None:
    """The first pasted server command whose port form is known, moved to port+1."""
    if port is None or not 0 < port < 65536:
        return None
    new = port + 1 if port < 65535 else port - 1
    for line in command_lines(text):
        try:
            words = shlex.split(line, posix=True)
        except ValueError:
            continue
        moved = move(words, port, new)
        if moved is not None:
            return clean(shlex.join(moved))
    return None


def move(words: list[str], old: int, new: int) -> list[str] | None:
    """Pure: `words` (a whole command line) listening on `new` instead of `old`."""
    body = _unwrap(list(words))
    if not body:
        return None
    start = len(words) - len(body)
    prefix, program, args = words[:start], body[0].rsplit("/", 1)[-1], body[1:]
    env = [i for i, w in enumerate(prefix) if w.startswith("PORT=")]
    if env:
        out = list(words)
        out[env[0]] = f"PORT={new}"
        return out
    if program in ("npx", "pnpx", "bunx") and args:
        program, prefix, args = args[0], prefix + [body[0]], args[1:]
        body = body[1:]
    moved = _args(program, args, old, new)
    if moved is None:
        return None
    return prefix + [body[0]] + moved


def _args(program: str, args: list[str], old: int, new: int) -> list[str] | None:
    if program == "gunicorn":
        return _host_port_option(args, ("-b", "--bind"), old, new) or [
            "-b", f"127.0.0.1:{new}", *args]
    if program == "php" and "-S" in args:
        return _host_port_option(args, ("-S",), old, new)
    if program.startswith("python") and "http.server" in args:
        moved = _positional(args, args.index("http.server") + 1, old, new, append=True)
        if moved is not None and not {"-b", "--bind"} & set(moved) and not any(
                w.startswith("--bind=") for w in moved):
            moved += ["--bind", "127.0.0.1"]  # its default is every interface
        return moved
    if "runserver" in args:
        return _positional(args, args.index("runserver") + 1, old, new, append=True)
    if program in PORT_OPTIONS or program == "next" or (program == "flask" and "run" in args):
        options = PORT_OPTIONS.get(program, ("--port",))
        found = _host_port_option(args, options, old, new) or _option(args, options, old, new)
        return found or [*args, options[0], str(new)]
    if program in ("node", "nodejs", "bun", "python", "python3", "ruby", "php"):
        # `node server.js 3000`: a lone number that is the port.
        return _positional(args, 0, old, new, append=False)
    return None


def _option(args: list[str], names: tuple[str, ...], old: int, new: int) -> list[str] | None:
    out = list(args)
    for i, w in enumerate(out):
        if w in names and i + 1 < len(out) and out[i + 1] == str(old):
            out[i + 1] = str(new)
            return out
        for name in names:
            if name.startswith("--") and w == f"{name}={old}":
                out[i] = f"{name}={new}"
                return out
    return None


def _host_port_option(args: list[str], names: tuple[str, ...], old: int,
                      new: int) -> list[str] | None:
    """`-b 0.0.0.0:8000` or `--bind=127.0.0.1:8000` with the port (and a wildcard) changed."""
    out = list(args)
    for i, w in enumerate(out):
        name, eq, inline = w.partition("=")
        if eq and name in names and name.startswith("--"):
            value, at = inline, (i, f"{name}=")
        elif w in names and i + 1 < len(out):
            value, at = out[i + 1], (i + 1, "")
        else:
            continue
        host, colon, number = value.rpartition(":")
        if not colon or number != str(old):
            continue
        host = "127.0.0.1" if host in WILDCARDS else host
        out[at[0]] = f"{at[1]}{host}:{new}"
        return out
    return None


def _positional(args: list[str], start: int, old: int, new: int,
                append: bool) -> list[str] | None:
    out = list(args)
    for i in range(start, len(out)):
        w = out[i]
        host, colon, number = w.rpartition(":")
        if w == str(old):
            out[i] = str(new)
            return out
        if colon and number == str(old):
            out[i] = f"{'127.0.0.1' if host in WILDCARDS else host}:{new}"
            return out
    return [*out, str(new)] if append else None
