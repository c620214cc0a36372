"""Name resolution (the system resolver) and the hosts file."""

from __future__ import annotations

import socket
import threading
from typing import Any

from assistant.facts.registry import Context, Fact

RESOLVE_TIMEOUT = 2.0


def resolve(host: str, port: int | None, timeout: float = RESOLVE_TIMEOUT) -> dict[str, Any]:
    """getaddrinfo with a bound: {status, addresses, error}. Never raises."""
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            infos = socket.getaddrinfo(host, port or None, type=socket.SOCK_STREAM)
            seen: list[str] = []
            for info in infos:
                addr = str(info[4][0])
                if addr not in seen:
                    seen.append(addr)
            box["addresses"] = seen
        except Exception as exc:  # noqa: BLE001 - a lookup must never kill its thread noisily
            box["error"] = str(exc) or type(exc).__name__

    # getaddrinfo cannot be cancelled; a daemon thread lets us walk away.
    thread = threading.Thread(target=work, name="resolve", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        return {"status": "timeout", "addresses": [], "error": f"no answer in {timeout:g} s"}
    if "error" in box:
        return {"status": "failed", "addresses": [], "error": box["error"]}
    return {"status": "ok", "addresses": box["addresses"]}


def collect_resolution(ctx: Context) -> list[Fact]:
    parsed = ctx.target.parsed
    if parsed is None:
        return []
    if parsed.address:
        return [{"type": "resolution", "host": parsed.text, "status": "literal",
                 "has_v4": parsed.family == 4, "has_v6": parsed.family == 6,
                 "addresses": parsed.address}]
    if parsed.kind != "name":
        return []
    res = ctx.memo("resolve", lambda: resolve(parsed.text, ctx.target.port))
    addrs = res["addresses"]
    return [{"type": "resolution", "host": parsed.text, "status": res["status"],
             "has_v4": any(":" not in a for a in addrs), "has_v6": any(":" in a for a in addrs),
             "addresses": ", ".join(addrs), "error": res.get("error")}]


def parse_hosts(text: str) -> dict[str, list[str]]:
    """Pure: name -> addresses from hosts-file text."""
    names: dict[str, list[str]] = {}
    for line in text.splitlines():
        fields = line.split("#", 1)[0].split()
        if len(fields) < 2:
            continue
        for name in fields[1:]:
            names.setdefault(name.lower(), []).append(fields[0])
    return names


def read_hosts(path: str) -> dict[str, list[str]] | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return parse_hosts(fh.read(1024 * 1024))
    except OSError:
        return None


def collect_hosts_file(ctx: Context) -> list[Fact]:
    names = ctx.memo("hosts", lambda: read_hosts(ctx.hosts_path))
    if names is None:
        return [{"type": "hosts_file", "path": ctx.hosts_path, "readable": False}]
    local = names.get("localhost", [])
    return [{"type": "hosts_file", "path": ctx.hosts_path, "readable": True,
             "localhost_v4": any(a.startswith("127.") for a in local),
             "localhost_v6": "::1" in local}]
