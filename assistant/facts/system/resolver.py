"""Names and addresses of this machine: the resolver, the hosts file, the
interfaces' addresses."""

from __future__ import annotations

import socket
import threading
from typing import Any

RESOLVE_TIMEOUT = 2.0


def resolve(host: str, port: int | None, timeout: float = RESOLVE_TIMEOUT) -> dict[str, Any]:
    """getaddrinfo with a bound: {status, addresses, error}. Never raises."""
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            # An ASCII name as bytes: a str goes through the idna codec,
            # whose import alone costs ~10 ms.
            name: str | bytes = host.encode("ascii") if host.isascii() else host
            infos = socket.getaddrinfo(name, port or None, type=socket.SOCK_STREAM)
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


def hosts_entry(text: str, name: str) -> tuple[int, str, str] | None:
    """Pure: (line number, address, the line) of the first hosts-file line
    naming `name`: the one the resolver's `files` source answers with."""
    want = name.lower()
    for n, line in enumerate(text.splitlines(), 1):
        fields = line.split("#", 1)[0].split()
        if len(fields) >= 2 and want in (f.lower() for f in fields[1:]):
            return n, fields[0], " ".join(fields)
    return None


def read_hosts(path: str) -> dict[str, list[str]] | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return parse_hosts(fh.read(1024 * 1024))
    except OSError:
        return None


def local_addresses() -> set[str]:
    """Every address of this machine's interfaces (no zone suffix)."""
    import psutil

    out: set[str] = set()
    try:
        for addrs in psutil.net_if_addrs().values():
            for a in addrs:
                if a.family in (socket.AF_INET, socket.AF_INET6):
                    out.add(a.address.split("%", 1)[0])
    except (OSError, psutil.Error):
        pass
    return out
