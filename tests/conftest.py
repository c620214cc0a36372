from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support import Server, start_server


@pytest.fixture
def server() -> Iterator[Any]:
    """Factory: start real servers on loopback; all are killed afterwards."""
    started: list[Server] = []

    def make(host: str = "127.0.0.1", port: int = 0, v6only: bool = True) -> Server:
        s = start_server(host, port, v6only)
        started.append(s)
        return s

    yield make
    for s in started:
        s.stop()
