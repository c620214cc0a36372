"""The local ports of the connections the checks themselves made (the connect
probe, the protocol exchange): their TIME_WAIT and CLOSE_WAIT sockets are
ours, not the user's, and the socket-state check leaves them out."""

from __future__ import annotations

import socket
import threading

_lock = threading.Lock()
_ports: set[int] = set()
_KEEP = 4096  # a long chat makes many; older ones have left TIME_WAIT long since


def mark(sock: socket.socket) -> None:
    """Remember `sock`'s local port (call it once connected)."""
    try:
        port = int(sock.getsockname()[1])
    except (OSError, IndexError, TypeError, ValueError):
        return
    with _lock:
        if len(_ports) >= _KEEP:
            _ports.clear()
        _ports.add(port)


def ports() -> frozenset[int]:
    with _lock:
        return frozenset(_ports)
