"""Collectors' pure parts, fed with made-up raw data."""

from __future__ import annotations

import pytest

from assistant.errors import InputError
from assistant.facts.hostcheck import host_facts
from assistant.facts.listeners import listeners_from, relation
from assistant.facts.near import likely, near_from, near_relation
from assistant.facts.ports import port_class, port_facts
from assistant.facts.system.resolver import hosts_entry, parse_hosts
from assistant.facts.system.socktable import Listen
from assistant.understand.addresses import near_local, parse_host
from assistant.understand.redact import clean


@pytest.mark.parametrize("asked,other,expected", [
    (3000, 3001, ("digit", 1)), (8080, 8008, ("swap", 1)), (5432, 5433, ("digit", 1)),
    (3009, 3011, ("offset", 2)), (3000, 30000, ("digit", 1)), (8080, 9090, None),
    (3000, 3000, None), (62893, 62839, ("swap", 1)), (3000, 4000, ("digit", 1)),
])
def test_near_relation(asked: int, other: int, expected: tuple[str, int] | None) -> None:
    assert near_relation(asked, other) == expected


@pytest.mark.parametrize("asked,other,same,expected", [
    (8080, 8008, False, True),     # two digits swapped
    (3000, 30000, False, True),    # a digit added
    (5432, 5433, False, True),     # the next port
    (7258, 7257, False, True),     # a neighbouring digit
    (3009, 3011, False, True),     # two up: a dev server that moved twice
    (8000, 8080, False, True),     # the common web ports, mixed up by habit
    (7258, 7251, False, False),    # another program, a far digit
    (3000, 6000, False, False),
    (3009, 3015, False, False),    # six ports away
    (3009, 3015, True, True),      # ... but the client's own protocol
])
def test_likely_slips(asked: int, other: int, same: bool, expected: bool) -> None:
    rel = near_relation(asked, other)
    assert rel is not None and likely(asked, other, rel, same) is expected


@pytest.mark.parametrize("listen,family,dials,v6only,expected", [
    ("127.0.0.1", 4, ["127.0.0.1"], False, "accepts"),
    ("0.0.0.0", 4, ["127.0.0.1"], False, "accepts"),
    ("::", 6, ["127.0.0.1"], False, "dual-stack"),
    ("::", 6, ["127.0.0.1"], True, "other-family"),
    ("::1", 6, ["127.0.0.1"], False, "other-family"),
    ("127.0.0.2", 4, ["127.0.0.1"], False, "other-address"),
    ("127.0.0.1", 4, ["::1", "127.0.0.1"], False, "accepts"),
    ("127.0.0.1", 4, [], False, "unknown"),
])
def test_relation(listen: str, family: int, dials: list[str], v6only: bool, expected: str) -> None:
    assert relation(listen, family, dials, v6only) == expected


def test_listeners_and_near_from_table() -> None:
    table = [Listen("127.0.0.1", 3000, 4, 10), Listen("::1", 3000, 6, 10),
             Listen("0.0.0.0", 3001, 4, 11), Listen("0.0.0.0", 9999, 4, 12)]
    describe = lambda pid: {"pid": pid, "process": f"p{pid}", "cmdline": "srv --port 4000"} \
        if pid else {}
    facts = listeners_from(table, 3000, ["127.0.0.1"], False, describe)
    assert [(f["address"], f["relation"]) for f in facts] == [("127.0.0.1", "accepts"),
                                                             ("::1", "other-family")]
    near = near_from(table, 3002, describe)
    assert [(f["port"], f["relation"]) for f in near] == [(3001, "digit"), (3000, "digit")]
    # a process told to use 4000 on its command line but listening elsewhere
    same = near_from(table, 4000, describe, mentioning={12})
    assert any(f["relation"] == "same-process" and f["port"] == 9999 for f in same)


def test_the_hosts_line_that_names_a_host() -> None:
    text = "127.0.0.1 localhost\n# 127.0.0.9 api.dev.test\n127.0.0.2 web API.dev.test # old\n"
    assert hosts_entry(text, "api.dev.test") == (3, "127.0.0.2", "127.0.0.2 web API.dev.test")
    assert hosts_entry(text, "dev.test") is None


def test_hosts_parsing_and_ports() -> None:
    names = parse_hosts("# c\n127.0.0.1 localhost  # x\n::1 localhost ip6-localhost\n10.0.0.5 db\n")
    assert names["localhost"] == ["127.0.0.1", "::1"] and names["db"] == ["10.0.0.5"]
    assert port_class(80) == "well-known" and port_class(5432) == "registered"
    assert port_class(62893) == "dynamic"
    f = port_facts(62893, (32768, 60999), 1024, False)[0]
    assert f["ephemeral"] is False and f["privileged"] is False
    assert port_facts(80, (32768, 60999), 1024, False)[0]["privileged"] is True


@pytest.mark.parametrize("host,suggestion", [
    ("localhsot", "localhost"), ("locahost", "localhost"), ("172.0.0.1", "127.0.0.1"),
    ("127.0.0.l", "127.0.0.1"), ("127.0.01", "127.0.0.1"), ("example.com", None),
    ("10.0.0.1", None), ("localhost", None),
])
def test_near_local(host: str, suggestion: str | None) -> None:
    near = near_local(host)
    assert (near[0] if near else None) == suggestion


def test_host_facts_skip_local_addresses() -> None:
    assert host_facts("172.0.0.1", True, ()) == []
    assert host_facts("172.0.0.1", False, ())[0]["suggestion"] == "127.0.0.1"


def test_parse_host() -> None:
    assert parse_host("::ffff:127.0.0.1").family == 4
    assert parse_host("127.1").address == "127.0.0.1"
    assert parse_host("LOCALHOST").loopback
    with pytest.raises(InputError):
        parse_host("a..b")


def test_redaction() -> None:
    text = ("mysql -u root -pS3cret postgres://u:p4ss@h/db password=abc token: xyz "
            "Authorization: Basic dXNlcjpwYXNz api_key=KEY123")
    out = clean(text)
    for secret in ("S3cret", "p4ss", "abc", "xyz", "dXNlcjpwYXNz", "KEY123"):
        assert secret not in out
    # A prompt ends its line: the next line is the program's, not a password
    # (field trial 5: mysql's "Enter password: " then "ERROR 1049").
    assert clean("Enter password: \nERROR 1049 (42000)") == "Enter password: \nERROR 1049 (42000)"
    # "-p" closing a parenthesis in prose is the flag, not a glued password
    # (field trial 8: "(add your usual -u and -p)" came out as "-p***").
    assert clean("(add your usual -u and -p)") == "(add your usual -u and -p)"
    assert "S3cret" not in clean("mysql -p)S3cret") and "x1" not in clean("mysql -p'x1'")
    # Only a MySQL/MariaDB client's (or sshpass's) -p glues a password: the
    # printed openssl fix came out as "-p*** ec_paramgen_curve" (field trial 9).
    assert clean("openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256") == \
        "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256"
    assert "hunter2" not in clean("sshpass -phunter2 ssh db")


def test_proc_net_tcp_parsing() -> None:
    from assistant.facts.system.linux import parse_listeners

    v4 = ("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
          "timeout inode\n"
          "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000 "
          "       0 12345 1 0000000000000000 100 0 0 10 0\n"
          "   1: 0100007F:1F91 0100007F:D431 01 00000000:00000000 00:00000000 00000000  1000 "
          "       0 12346 1 0000000000000000 100 0 0 10 0\n")
    assert parse_listeners(v4, 4) == [("127.0.0.1", 8080, 1000, 12345)]
    v6 = ("  sl  local_address                         remote_address                        st "
          "tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
          "   0: 00000000000000000000000001000000:0BB8 00000000000000000000000000000000:0000 0A "
          "00000000:00000000 00:00000000 00000000     0        0 777 1 0000000000000000 100 0 0 10 0\n"
          "   1: 0000000000000000FFFF00000100007F:0BB9 00000000000000000000000000000000:0000 0A "
          "00000000:00000000 00:00000000 00000000     0        0 778 1 0000000000000000 100 0 0 10 0\n")
    assert parse_listeners(v6, 6) == [("::1", 3000, 0, 777), ("127.0.0.1", 3001, 0, 778)]


def test_procfs_agrees_with_psutil_on_this_machine(server) -> None:
    import os

    from assistant.facts.system import linux as procfs
    from assistant.facts.system import portable as procinfo

    if not procfs.available():
        pytest.skip("no /proc/net/tcp on this system")
    s = server("127.0.0.1")
    rows = [r for r in procfs.listeners() if r[1] == s.port]
    assert [(r[0], r[2]) for r in rows] == [("127.0.0.1", 4)]
    assert procfs.pids_for_inodes([rows[0][4]]) == {rows[0][4]: s.pid}
    mine, theirs = procfs.describe(s.pid), procinfo.describe(s.pid)
    for key in ("pid", "process", "user", "status", "cmdline", "stopped"):
        assert mine[key] == theirs[key], key
    # the server's command line carries its bind address as an argument
    assert s.pid in procfs.pids_mentioning("127.0.0.1", limit=100000)
    assert os.getpid() not in procfs.pids_mentioning("no-such-token-xyz")


def test_netlink_and_proc_agree(server) -> None:
    from assistant.facts.system import linux as procfs

    if not procfs.available():
        pytest.skip("no /proc/net/tcp on this system")
    server("127.0.0.1")
    server("::1")
    try:
        via_netlink = sorted(procfs._netlink_listeners())
    except OSError as exc:
        pytest.skip(f"sock_diag netlink is not available here: {exc}")
    assert via_netlink == sorted(procfs._proc_listeners())
    assert {f for _, _, f, _, _ in via_netlink} >= {4, 6}


@pytest.mark.parametrize("files,exists,environ,expected", [
    ({}, {"/.dockerenv"}, {}, ("docker", True, False)),
    ({}, {"/run/.containerenv"}, {}, ("podman", True, False)),
    ({"/proc/1/cgroup": "0::/kubepods/besteffort/pod1/abc"}, set(), {}, ("kubernetes", True, False)),
    ({"/proc/sys/kernel/osrelease": "5.15.146.1-microsoft-standard-WSL2"}, set(), {},
     ("none", False, True)),
    ({"/proc/1/cgroup": "0::/init.scope", "/proc/sys/kernel/osrelease": "6.1.0-18-amd64"},
     set(), {}, ("none", False, False)),
])
def test_environment_classify(files: dict, exists: set, environ: dict, expected: tuple) -> None:
    from assistant.facts.environment import classify

    f = classify(files, exists, environ)
    assert (f["kind"], f["container"], f["wsl"]) == expected


def test_every_check_asks_a_plain_question() -> None:
    """The chat's progress lines and explanations: each check's question,
    about the target at hand, in words (never the check's identifier)."""
    from assistant.facts.collectors import all_collectors
    from assistant.understand.symptoms import Target

    target = Target(host="localhost", port=3000, path="/run/app.sock")
    asked = {c.name: c.question(target) for c in all_collectors()}
    assert asked["listeners"] == "is anything listening on 3000?"
    assert asked["probe"] == "does localhost:3000 take a connection?"
    assert asked["near_listeners"] == "is something listening on a port close to 3000?"
    for name, question in asked.items():
        assert question.endswith("?") and not question.startswith("checking "), name
