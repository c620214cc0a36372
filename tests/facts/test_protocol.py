"""The protocol check: the classifier on bytes real servers sent
(tests/data/protocol_replies.yaml), what the client spoke, the fact, and the
collector against real servers on loopback."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
import yaml

from assistant.facts import wire
from assistant.facts.base import Context, run_checks
from assistant.facts.collectors import BY_NAME
from assistant.facts.protocol import (
    Exchanged,
    Holder,
    client_protocol,
    protocol_fact,
    verdict_of,
)
from assistant.understand import symptoms
from tests import realservers as rs

REPLIES = yaml.safe_load((Path(__file__).parents[1] / "data" / "protocol_replies.yaml").read_text())
FIELD = {c["name"]: c for c in yaml.safe_load(
    (Path(__file__).parents[1] / "data" / "field_texts.yaml").read_text())}


def exchanged(case: dict[str, Any]) -> Exchanged:
    return Exchanged(case["sent"], case["bytes"], case["greeted"], case["ended"], 1)


@pytest.mark.parametrize("case", REPLIES, ids=[c["name"] for c in REPLIES])
def test_recorded_replies_classify(case: dict[str, Any]) -> None:
    verdict = verdict_of(exchanged(case))
    want = case["expect"]["speaks"]
    if want is None:  # nothing came back: a close, or silence within the bound
        assert not case["bytes"]
        assert verdict.speaks == ("silent" if case["ended"] == "bound" else "closed")
    else:
        assert verdict.speaks == want
    assert verdict.status == case["expect"].get("status")


@pytest.mark.parametrize("case", [c for c in REPLIES if c["bytes"]],
                         ids=[c["name"] for c in REPLIES if c["bytes"]])
def test_reading_stops_only_when_more_bytes_would_not_change_the_verdict(
        case: dict[str, Any]) -> None:
    """Fed byte by byte, the classifier either asks for more or already gives
    the final verdict: stopping early never changes the answer."""
    final = wire.classify(case["bytes"], case["greeted"], final=True)
    assert final is not None
    for n in range(1, len(case["bytes"])):
        early = wire.classify(case["bytes"][:n], case["greeted"], final=False)
        assert early is None or early.speaks == final.speaks, n


def test_details_say_what_came_back() -> None:
    by = {c["name"]: verdict_of(exchanged(c)).detail for c in REPLIES}
    assert by["python-http-server-get"] == "HTTP/1.0 200 OK, server SimpleHTTP/0.6 Python/3.11.7"
    assert by["python-http-server-hello"] == \
        "an HTML page without a status line (error code 400)"
    assert by["sshd-greeting"] == "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10"
    assert by["mariadb-greeting"] == \
        "a MariaDB handshake (server version 10.11.19-MariaDB-0+deb12u1)"
    assert by["openssl-tls13-only-alert"] == "a TLS alert: protocol_version (TLS 1.2 record)"
    assert by["postgres-error-response"].startswith("PostgreSQL error: unsupported frontend "
                                                    "protocol 9.9")
    assert by["mariadb-error-packet"] == "MySQL/MariaDB error: Got packets out of order"
    assert by["redis-get"] == "-ERR wrong number of arguments for 'get' command"
    assert by["nginx-ssl-get"] == "an HTTP answer saying so: HTTP/1.1 400 Bad Request"
    assert by["postgres-get"] == "it closed the connection without a byte"
    assert by["redis-hello"] == "not a byte within the bound"


def test_unrecognised_bytes_are_shown_not_guessed() -> None:
    assert wire.classify(b"ERROR\r\n", False, True) == wire.Verdict("unknown", "'ERROR'")
    assert wire.classify(b"\x00\x01\x02\x03", False, True) == \
        wire.Verdict("unknown", "bytes 00 01 02 03")
    # A +OK greeting is POP3; the same words as an answer are not Redis's.
    assert wire.classify(b"+OK POP3 ready\r\n", True, False) == \
        wire.Verdict("pop3", "+OK POP3 ready")
    assert wire.classify(b"220 mail ESMTP Postfix\r\n", True, False).speaks == "smtp"  # type: ignore[union-attr]
    assert wire.classify(b"220 (vsFTPd 3.0.3)\r\n", True, False).speaks == "ftp"  # type: ignore[union-attr]


def test_the_client_hello_is_a_tls_record_whose_random_starts_with_a_line_end() -> None:
    hello = wire.client_hello("localhost")
    assert hello[:2] == b"\x16\x03" and hello[5] == 1  # handshake record, ClientHello
    assert int.from_bytes(hello[3:5], "big") == len(hello) - 5
    assert hello[11:13] == b"\r\n"
    assert b"localhost" in hello  # SNI


@pytest.mark.parametrize("name,speaks", [
    ("tls-curl-https-to-plain-http", "tls"), ("tls-python-requests-https-to-plain", "tls"),
    ("tls-python-urllib-https-to-plain", "tls"), ("tls-node-https-to-plain", "tls"),
    ("tls-curl-http-to-openssl-s_server", "http"), ("tls-node-http-to-tls", "http"),
    ("tls-python-requests-http-to-tls", "http"), ("tls-curl-http-to-nginx-https-port", "http"),
    ("proto-curl-http-to-ssh", "http"), ("proto-psql-to-http-port-hangs", "postgres"),
    ("proto-mysql-to-postgres-port", "mysql"), ("proto-redis-cli-to-postgres", "redis"),
    ("proto-ssh-to-http-port", "ssh"), ("accept-queue-full-python", "unknown"),
])
def test_what_the_client_spoke(name: str, speaks: str) -> None:
    assert client_protocol(symptoms.parse(FIELD[name]["text"])) == speaks


def test_a_silent_close_is_told_by_the_listening_process() -> None:
    closed = Exchanged("tls-hello", b"", False, "eof", 3)
    fact = protocol_fact(closed, "127.0.0.1", 5432, "http", Holder("postgres", None))
    assert (fact["speaks"], fact["by"], fact["mismatch"]) == ("postgres", "process", True)
    assert fact["usual_port"] == 80 and fact["protocol"] == "PostgreSQL"
    assert fact["held_by"] == "postgres"
    other = protocol_fact(closed, "127.0.0.1", 8782, "http", Holder("docker-proxy", None))
    assert (other["speaks"], other["by"], other["mismatch"]) == ("closed", "exchange", False)
    # An answer beats the process name.
    http = Exchanged("http-request", b"HTTP/1.0 200 OK\r\n\r\n", False, "done", 3)
    assert protocol_fact(http, "127.0.0.1", 5432, "postgres",
                         Holder("postgres", None))["speaks"] == "http"


def test_another_users_server_is_told_by_the_socket_owner() -> None:
    """An ordinary user cannot see postgres's pid, but the kernel's table
    shows who owns the socket."""
    silent = Exchanged("tls-hello", b"", False, "bound", 2000)
    fact = protocol_fact(silent, "127.0.0.1", 6379, "http", Holder(None, "redis"))
    assert (fact["speaks"], fact["by"], fact["owner"]) == ("redis", "owner", "redis")
    assert fact["held_by"] == "a process of user redis" and fact["mismatch"] is True
    assert protocol_fact(silent, "127.0.0.1", 8000, "http", Holder(None, "alice"))["speaks"] == \
        "silent"


def check(text: str, timeout: float = 1.5) -> tuple[str, list[dict[str, Any]], str | None]:
    res = run_checks(["protocol"], Context(target=symptoms.parse(text), env={},
                                           probe_timeout=timeout), BY_NAME)[0]
    return res.status, res.facts, res.reason


def test_collector_against_plain_and_tls_servers() -> None:
    with rs.http_server() as web, rs.tls_server() as tls:
        status, facts, _ = check(f"curl: (35) wrong version number https://127.0.0.1:{web.port}/")
        assert status == "ok"
        assert {k: facts[0][k] for k in ("sent", "speaks", "status", "mismatch")} == \
            {"sent": "http-request", "speaks": "http", "status": 200, "mismatch": True}
        assert facts[0]["process"].startswith("python")
        status, facts, _ = check(f"curl: (52) Empty reply from server http://127.0.0.1:{tls.port}/")
        assert (status, facts[0]["sent"], facts[0]["speaks"], facts[0]["process"]) == \
            ("ok", "tls-hello", "tls", "openssl")
        assert facts[0]["mismatch"] is True and facts[0]["client_speaks"] == "http"


def test_collector_reads_a_greeting_and_sends_nothing() -> None:
    with rs.sshd() as s:
        status, facts, _ = check(f"curl http://127.0.0.1:{s.port}/ Received HTTP/0.9")
    assert (status, facts[0]["sent"], facts[0]["greeted"], facts[0]["speaks"]) == \
        ("ok", "nothing", True, "ssh")


def test_collector_bounds_a_silent_port() -> None:
    """A listener that accepts (the kernel does) and never says a word."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    try:
        status, facts, _ = check(f"curl https://127.0.0.1:{srv.getsockname()[1]}/ hangs", 0.6)
    finally:
        srv.close()
    assert (status, facts[0]["speaks"], facts[0]["sent"]) == ("ok", "silent", "http-request")
    assert facts[0]["ms"] < 1500


def test_collector_says_why_it_could_not_talk() -> None:
    port = rs.free_port()
    status, facts, reason = check(f"curl https://127.0.0.1:{port}/ wrong version number")
    assert (status, facts) == ("unknown", [])
    assert reason is not None and reason.startswith(f"connecting to 127.0.0.1:{port} failed")


def test_collector_never_talks_to_another_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    from assistant.facts import protocol

    dialled: list[Any] = []
    real = socket.socket

    class Recording(real):  # type: ignore[misc, valid-type]
        def connect(self, address: Any) -> None:
            dialled.append(address)
            raise ConnectionRefusedError

    monkeypatch.setattr(protocol.socket, "socket", Recording)
    status, facts, reason = check("curl: (35) wrong version number https://198.51.100.9:8443/")
    assert (status, facts, dialled) == ("unknown", [], [])
    assert reason == "198.51.100.9 is not an address of this machine: not contacted"
