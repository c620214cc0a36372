"""What a listening process is, from its name and command line: the runtime
(node, python, ...) and the development server it runs (vite, flask, ...).

Data and one pure function, as understand/patterns.py is for clients: rules
decide what matters (a development server on every interface), and each
server's rule carries its own loopback-only fix.
"""

from __future__ import annotations

import re

# Runtimes whose servers are, on a developer's machine, mostly development
# servers. Matched against the process name and the command's first word.
RUNTIMES: tuple[tuple[str, re.Pattern[str]], ...] = tuple((name, re.compile(rx)) for name, rx in (
    ("node", r"^(?:node|nodejs)$"),
    ("deno", r"^deno$"),
    ("bun", r"^bun$"),
    ("python", r"^python[0-9.]*$"),
    ("ruby", r"^ruby[0-9.]*$"),
    ("java", r"^java$"),
    ("php", r"^php[0-9.]*$"),
    ("dotnet", r"^dotnet$"),
    ("elixir", r"^beam\.smp$"),
))

# Development servers, by their command line (first match wins). A server
# started through its script shows the script's name as the process name
# (`flask`, `vite`), so the command line is where they are told apart.
TOOLS: tuple[tuple[str, re.Pattern[str]], ...] = tuple((name, re.compile(rx)) for name, rx in (
    ("vite", r"(?:^|[/\s])(?:vite|astro)(?:\.js|\.mjs)?(?:\s|$)"),
    ("next", r"(?:^|[/\s])next(?:-server)?(?:\s|$)|^next-server\b"),
    # Create React App's `react-scripts start` serves from a child, scripts/start.js.
    ("webpack", r"webpack-dev-server|webpack(?:\.js)?\s+serve\b|react-scripts(?:\.js)?\s+start|"
                r"react-scripts/scripts/start\.js|vue-cli-service(?:\.js)?\s+serve|"
                r"(?:^|[/\s])ng\s+serve\b"),
    ("http.server", r"-m\s+http\.server\b"),
    ("flask", r"(?:^|[/\s])flask\s+run\b|-m\s+flask\s+run\b"),
    ("django", r"manage\.py\s+runserver\b|django-admin\s+runserver\b"),
    ("uvicorn", r"(?:^|[/\s])uvicorn(?:\s|$)|-m\s+uvicorn\b"),
    ("gunicorn", r"(?:^|[/\s])gunicorn(?:\s|:|$)"),
    ("rails", r"(?:^|[/\s])rails\s+s(?:erver)?\b|(?:^|[/\s])puma(?:\s|$)"),
    ("jupyter", r"jupyter[- ](?:lab|notebook|server)\b"),
    ("php-server", r"(?:^|/)php[0-9.]*\s(?:.*\s)?-S\s"),
))
# `go run` builds into a temporary directory and runs the binary from there.
GO_RUN = re.compile(r"/go-build\d+/")
RUNTIME_NAMES = tuple(name for name, _ in RUNTIMES) + ("go",)
TOOL_NAMES = tuple(name for name, _ in TOOLS)


def _first_word(cmdline: str) -> str:
    word = cmdline.split(" ", 1)[0] if cmdline else ""
    return word.rsplit("/", 1)[-1]


def classify(process: str | None, cmdline: str | None) -> tuple[str | None, str | None]:
    """Pure: (runtime, tool) of a listening process, each None when not recognised."""
    name, cmd = process or "", cmdline or ""
    first = _first_word(cmd)
    runtime = next((r for r, rx in RUNTIMES if rx.match(name) or rx.match(first)), None)
    if runtime is None and GO_RUN.search(cmd):
        runtime = "go"
    tool = next((t for t, rx in TOOLS if rx.search(cmd)), None)
    return runtime, tool
