"""The unix_socket check's pure parts, fed with made-up tables and modes."""

from __future__ import annotations

import os
import socket
import stat

import pytest

from assistant.facts.system.unix import Creds, UnixRow, dir_denied, judge, parse_proc_net_unix
from assistant.facts.unix_services import service_of, socket_places, tcp_service, unit_of
from assistant.facts.unix_sockets import file_type, mode_facts
from assistant.understand.symptoms import Target

PROC_NET_UNIX = """\
Num       RefCount Protocol Flags    Type St Inode Path
0000000063d2a124: 00000002 00000000 00010000 0001 01 274756 /run/mysqld/mysqld.sock
00000000ad4661b6: 00000003 00000000 00000000 0001 03 282653 /run/mysqld/mysqld.sock
00000000c4be0f09: 00000002 00000000 00010000 0001 01 282649 /tmp/with space.sock
00000000e3b77241: 00000002 00000000 00000000 0002 01 282650 /run/systemd/notify
000000006517f3ad: 00000003 00000000 00000000 0001 03  1162
00000000b17c14db: 00000002 00000000 00010000 0001 01 271637 /tmp/.s.PGSQL.5432
000000005a63b9e6: 00000002 00000000 00010000 0005 01 282651 @abstract
00000000aaaaaaaa: 00000002 00000000 00010000 0005 01 282660 /run/seq.sock
"""


def test_parse_proc_net_unix_keeps_path_sockets_and_marks_listeners() -> None:
    rows = parse_proc_net_unix(PROC_NET_UNIX)
    assert [(r.path, r.inode, r.listening) for r in rows] == [
        ("/run/mysqld/mysqld.sock", 274756, True),
        ("/run/mysqld/mysqld.sock", 282653, False),  # an accepted connection
        ("/tmp/with space.sock", 282649, True),
        ("/run/systemd/notify", 282650, False),       # datagram: bound, never listens
        ("/tmp/.s.PGSQL.5432", 271637, True),
        ("/run/seq.sock", 282660, True),
    ]
    assert rows[3].stype == socket.SOCK_DGRAM and rows[5].stype == socket.SOCK_SEQPACKET
    assert parse_proc_net_unix("Num RefCount\ngarbage line\n") == []


def who(uid: int = 1001, gid: int = 1001, member: set[int] | None = None,
        session: set[int] | None = None) -> Creds:
    member = member if member is not None else {gid}
    return Creds("dev", uid, gid, frozenset(member),
                 None if session is None else frozenset(session), "self")


@pytest.mark.parametrize("mode,uid,gid,creds,expected", [
    # owner class applies when the uid matches, whatever the group bits say
    (0o600, 1001, 0, who(), ("allowed", "owner", False, False)),
    (0o060, 1001, 1001, who(session={1001}), ("denied", "owner", True, False)),
    # group class through the session's groups
    (0o660, 0, 998, who(member={1001, 998}, session={1001, 998}), ("allowed", "group", True, False)),
    # joined group 998 (the database says so), but the session predates it
    (0o660, 0, 998, who(member={1001, 998}, session={1001}), ("denied", "other", True, True)),
    # not in the group at all
    (0o660, 0, 998, who(session={1001}), ("denied", "other", False, False)),
    (0o666, 0, 998, who(session={1001}), ("allowed", "other", False, False)),
    # session unknown (sudo without a parent shell): the database decides, no staleness
    (0o660, 0, 998, who(member={1001, 998}), ("allowed", "group", True, False)),
    # root passes whatever the mode
    (0o600, 101, 101, who(uid=0, gid=0), ("root", "root", False, False)),
])
def test_judge_reads_the_mode_like_the_kernel(mode: int, uid: int, gid: int, creds: Creds,
                                              expected: tuple[str, str, bool, bool]) -> None:
    got = judge(stat.S_IFSOCK | mode, uid, gid, creds)
    assert (got.access, got.by, got.in_group, got.stale_groups) == expected


def fake_stat(modes: dict[str, tuple[int, int, int]]):  # type: ignore[no-untyped-def]
    def stat_fn(path: str) -> os.stat_result:
        if path not in modes:
            raise FileNotFoundError(path)
        mode, uid, gid = modes[path]
        return os.stat_result((stat.S_IFDIR | mode, 0, 0, 2, uid, gid, 0, 0, 0, 0))
    return stat_fn


def test_dir_denied_finds_the_first_closed_directory() -> None:
    modes = {"/": (0o755, 0, 0), "/srv": (0o755, 0, 0), "/srv/app": (0o750, 0, 50),
             "/srv/app/run": (0o755, 0, 0)}
    assert dir_denied("/srv/app/run/app.sock", who(session={1001}), fake_stat(modes)) == "/srv/app"
    # in the directory's group: it may search
    assert dir_denied("/srv/app/run/app.sock", who(session={1001, 50}, member={1001, 50}),
                      fake_stat(modes)) is None
    assert dir_denied("/srv/app/run/app.sock", who(uid=0, gid=0), fake_stat(modes)) is None
    # a missing directory is for "missing" to say, not a permission problem
    assert dir_denied("/nope/app.sock", who(), fake_stat(modes)) is None


@pytest.mark.parametrize("path,client,expected", [
    ("/var/run/postgresql/.s.PGSQL.5432", "psql", "postgres"),
    ("/tmp/.s.PGSQL.5433", None, "postgres"),
    ("/run/mysqld/mysqld.sock", "mysql", "mysql"),
    ("/tmp/mysql.sock", None, "mysql"),
    ("/var/lib/mysql/mysql.sock", None, "mysql"),
    ("/var/run/docker.sock", "docker", "docker"),
    ("/run/user/1000/docker.sock", None, "docker"),
    ("/tmp/x.sock", "docker", "docker"),
    ("/run/php/field-fpm.sock", "nginx", "php-fpm"),
    ("/run/php/php8.2-fpm.sock", None, "php-fpm"),
    ("/tmp/rds/redis.sock", "redis-cli", "redis"),
    ("/tmp/app/app.sock", "go", "unknown"),
    ("/run/gunicorn.sock", "nginx", "unknown"),
    # PHP's MySQL drivers: a socket of any name is MySQL's; PostgreSQL's by its name
    ("/tmp/my dir/m.sock", "php", "mysql"),
    ("/run/postgresql/.s.PGSQL.5432", "php", "postgres"),
])
def test_service_of(path: str, client: str | None, expected: str) -> None:
    assert service_of(path, client) == expected


def test_unit_of_prefers_what_is_installed() -> None:
    assert unit_of("mysql", "/run/mysqld/mysqld.sock", {"mysql", "mariadb"}) == ("mariadb", True)
    assert unit_of("mysql", "/run/mysqld/mysqld.sock", {"mysqld"}) == ("mysqld", True)
    assert unit_of("redis", "/tmp/r.sock", set()) == ("redis-server", False)
    assert unit_of("php-fpm", "/run/php/php8.1-fpm.sock", {"php8.2-fpm", "php8.1-fpm"}) == \
        ("php8.1-fpm", True)
    assert unit_of("php-fpm", "/run/php/field-fpm.sock", {"php8.2-fpm"}) == ("php8.2-fpm", True)
    assert unit_of("unknown", "/tmp/a.sock", {"docker"}) == (None, False)


def test_mode_and_file_type() -> None:
    assert mode_facts(stat.S_IFSOCK | 0o660) == {"mode": "0660", "owner_can": True,
                                                 "group_can": True, "others_can": False}
    assert file_type(stat.S_IFSOCK | 0o777) == "socket"
    assert file_type(stat.S_IFDIR | 0o755) == "directory"
    assert file_type(stat.S_IFREG | 0o644) == "file"


def rows(*spec: tuple[str, int, bool]) -> list[UnixRow]:
    return [UnixRow(p, i, socket.SOCK_STREAM, listening) for p, i, listening in spec]


def test_postgres_places_same_port_anywhere_other_port_only_beside() -> None:
    table = rows(("/tmp/.s.PGSQL.5432", 1, True), ("/var/run/postgresql/.s.PGSQL.5433", 2, True),
                 ("/srv/other/.s.PGSQL.15432", 3, True), ("/tmp/.s.PGSQL.6000", 4, False))
    found = socket_places("postgres", 5432, table, set(), "/var/run/postgresql/.s.PGSQL.5432")
    assert [(p, port) for p, port, _ in found] == [("/tmp/.s.PGSQL.5432", 5432),
                                                    ("/var/run/postgresql/.s.PGSQL.5433", 5433)]
    # a TCP target names one port: only that port's sockets
    found = socket_places("postgres", 15432, table, set(), None)
    assert [p for p, _, _ in found] == ["/srv/other/.s.PGSQL.15432"]


def test_other_services_places_by_name_or_by_owner() -> None:
    table = rows(("/tmp/mysql.sock", 1, True), ("/srv/db/custom.sock", 2, True),
                 ("/run/mysqld/mysqld.sock", 3, True), ("/tmp/app.sock", 4, True))
    found = socket_places("mysql", None, table, {2}, "/run/mysqld/mysqld.sock")
    assert [p for p, _, _ in found] == ["/tmp/mysql.sock", "/srv/db/custom.sock"]
    assert [p for p, _, _ in socket_places("docker", None, table, set(), None)] == []


@pytest.mark.parametrize("client,port,scheme,expected", [
    ("psql", 5433, None, "postgres"), ("mysql", 3306, None, "mysql"), (None, 6379, None, "redis"),
    ("docker", 2375, None, "docker"), ("nginx", 9000, None, "php-fpm"),
    ("nginx", 3000, None, None),  # nginx in front of a node app: not PHP-FPM's business
    (None, 9001, "fastcgi", "php-fpm"), ("curl", 8080, "http", None),
    ("php", 3307, "mysql", "mysql"), ("php", 5432, None, "postgres"),  # PDO speaks both
])
def test_tcp_service(client: str | None, port: int, scheme: str | None,
                     expected: str | None) -> None:
    assert tcp_service(Target(host="127.0.0.1", port=port, client=client, scheme=scheme)) == expected


def test_nginx_names_the_worker_that_failed() -> None:
    from assistant.understand.symptoms import parse

    t = parse('2026/11/29 13:53:57 [crit] 19961#19961: *5 connect() to unix:/run/php/field-fpm.sock '
              'failed (13: Permission denied) while connecting to upstream, client: 127.0.0.1')
    assert (t.path, t.client, t.client_pid, t.error) == ("/run/php/field-fpm.sock", "nginx", 19961,
                                                         "permission")
    assert parse("dial unix /tmp/a.sock: connect: connection refused").client_pid is None


def test_sockets_beside_a_path_nobody_serves() -> None:
    from assistant.facts.unix_services import alike, beside

    table = rows(("/srv/app/api-v2.sock", 1, True), ("/srv/app/old.sock", 2, False),
                 ("/srv/app/sub/api.sock", 3, True), ("/srv/app/metrics.sock", 4, True),
                 ("/tmp/api-v2.sock", 5, True), ("/tmp/.s.PGSQL.5432", 6, True),
                 ("/run/user/1000/bus", 7, True))
    # the app's own directory: every listening socket in it, not below it
    assert [r.path for r in beside("/srv/app/api.sock", table)] == ["/srv/app/api-v2.sock",
                                                                    "/srv/app/metrics.sock"]
    # a shared directory: only a socket with a like name
    assert [r.path for r in beside("/tmp/api.sock", table)] == ["/tmp/api-v2.sock"]
    assert beside("/run/user/1000/app.sock", table) == []
    assert beside("/srv/app/api-v2.sock", table)[0].path == "/srv/app/metrics.sock"
    assert alike("api.sock", "api-v2.sock") and alike("app.sock", "app.1.sock")
    assert not alike("app.sock", ".s.PGSQL.5432") and not alike("web.sock", "db.sock")


def test_ss_path_survives_sh_and_ss_filter_parsing() -> None:
    """ss parses its arguments as one filter: a space needs a backslash there."""
    import shlex

    from assistant.facts.unix_sockets import ss_path

    assert ss_path("/run/app.sock") == "/run/app.sock"
    assert shlex.split(ss_path("/tmp/my dir/app.sock")) == ["/tmp/my\\ dir/app.sock"]
    assert shlex.split(ss_path("/tmp/it's/a.sock")) == ["/tmp/it's/a.sock"]


def test_the_check_line_marks_a_socket_this_user_may_not_use() -> None:
    from assistant.facts.unix_sockets import summarise
    from assistant.understand.symptoms import Target

    facts = [{"type": "unix_alternative", "relation": "socket", "service": "redis",
              "path": "/run/redis/redis.sock", "pid": 7, "process": "redis-server",
              "access": "denied"},
             {"type": "unix_alternative", "relation": "socket", "service": "redis",
              "path": "/home/ana/redis.sock", "pid": 8, "process": "redis-server",
              "access": "allowed"}]
    line = summarise(facts, Target()).text
    assert "/run/redis/redis.sock (redis-server, pid 7, not open to this user)" in line
    assert "/home/ana/redis.sock (redis-server, pid 8)" in line
