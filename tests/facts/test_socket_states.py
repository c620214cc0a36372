"""The socket-state collector: pure counting, /proc parsing, and the real
kernel tables with TIME_WAIT sockets and a full accept queue."""

from __future__ import annotations

import os
import socket
import time

import pytest

from assistant.facts.base import Context, run_checks
from assistant.facts.collectors import BY_NAME
from assistant.facts.socket_states import state_facts
from assistant.facts.system import linux as procfs
from assistant.facts.system.linux import DiagRow, parse_rows
from assistant.understand.symptoms import Target


def row(state: str, sport: int, dport: int, rq: int = 0, wq: int = 0) -> DiagRow:
    return DiagRow(4, state, "127.0.0.1", sport, "127.0.0.1", dport, rq, wq, 1000, 1)


def test_state_facts_count_both_ends_and_flag_full_queues() -> None:
    rows = [row("listen", 8000, 0, rq=5, wq=5), row("time-wait", 8000, 41000),
            row("time-wait", 8000, 41001), row("established", 41002, 8000),
            row("close-wait", 8000, 41003)]
    states, queue = state_facts(rows, 8000)
    assert states["time_wait"] == 2 and states["established"] == 1
    assert states["close_wait"] == 1
    assert (states["local"], states["local_time_wait"]) == (3, 2)
    assert queue == {"type": "accept_queue", "address": "127.0.0.1", "port": 8000, "family": 4,
                     "queued": 5, "backlog": 5, "full": True, "unanswered": False, "inode": 1,
                     "sockets": 1}
    assert state_facts([row("listen", 8000, 0, rq=1, wq=128)], 8000)[1]["full"] is False


def test_a_queue_still_holding_connections_when_read_again_is_unanswered() -> None:
    first = DiagRow(4, "listen", "127.0.0.1", 8090, "0.0.0.0", 0, 3, 5, 0, 61)
    other = DiagRow(4, "listen", "127.0.0.1", 8090, "0.0.0.0", 0, 1, 5, 0, 62)
    stuck, emptied = state_facts([first, other], 8090, {61: 3, 62: 0})[1:]
    assert (stuck["inode"], stuck["unanswered"], stuck["sockets"]) == (61, True, 2)
    assert (emptied["inode"], emptied["unanswered"], emptied["sockets"]) == (62, False, 2)
    # Not read again (every queue was empty): nothing is called unanswered.
    assert state_facts([first], 8090)[1]["unanswered"] is False


def test_parse_proc_rows() -> None:
    text = ("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
            "timeout inode\n"
            "   0: 0100007F:1F40 00000000:0000 0A 00000000:00000003 00:00000000 00000000  1000 "
            "       0 12345 1 0000000000000000 100 0 0 10 0\n"
            "   1: 0100007F:1F40 0100007F:A028 06 00000000:00000000 03:00001770 00000000     0 "
            "       0 0 3 0000000000000000\n")
    listen, tw = parse_rows(text, 4)
    assert (listen.state, listen.sport, listen.rqueue, listen.uid) == ("listen", 8000, 3, 1000)
    assert (tw.state, tw.sport, tw.dport) == ("time-wait", 8000, 41000)


def run(port: int) -> list[dict]:
    res = run_checks(["socket_states"], Context(target=Target(port=port), env={}), BY_NAME)[0]
    assert res.status == "ok", res.reason
    return res.facts


@pytest.mark.skipif(not procfs.available(), reason="needs Linux /proc/net/tcp")
def test_time_wait_left_by_a_server_that_closed_first() -> None:
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    port = srv.getsockname()[1]
    for _ in range(3):
        c = socket.create_connection(("127.0.0.1", port))
        conn, _ = srv.accept()
        conn.close()  # the server side closes first: its end waits in TIME_WAIT
        time.sleep(0.02)
        c.close()
    srv.close()
    time.sleep(0.1)
    states = run(port)[0]
    assert states["local_time_wait"] >= 3 and states["local"] >= 3


@pytest.mark.skipif(not procfs.available(), reason="needs Linux /proc/net/tcp")
def test_a_listener_that_never_accepts_fills_its_queue() -> None:
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    port = srv.getsockname()[1]
    clients = []
    try:
        for _ in range(3):
            c = socket.socket()
            c.setblocking(False)
            c.connect_ex(("127.0.0.1", port))
            clients.append(c)
        time.sleep(0.2)
        queue = next(f for f in run(port) if f["type"] == "accept_queue")
        assert queue["backlog"] == 1 and queue["queued"] >= 1 and queue["full"] is True
        # Still there when read again, and the socket is ours: its process is named.
        assert queue["unanswered"] is True and queue["pid"] == os.getpid()
    finally:
        for c in clients:
            c.close()
        srv.close()


@pytest.mark.skipif(not procfs.available(), reason="needs Linux /proc/net/tcp")
def test_the_probes_own_connections_are_left_out() -> None:
    """Field trial 8: a "!" for the TIME_WAIT sockets our own connect probe
    had just left on the port."""
    from assistant.facts.probe import connect

    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    port = srv.getsockname()[1]
    try:
        assert connect("127.0.0.1", port, 1.0)[0] == "ok"  # closed at once: TIME_WAIT here
        conn, _ = srv.accept()
        conn.close()
        time.sleep(0.1)
        states = run(port)[0]
        assert states["time_wait"] == 0 and states["close_wait"] == 0, states
    finally:
        srv.close()
