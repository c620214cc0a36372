"""Near-miss ranking and nginx's configured upstreams, on made-up tables and
configuration text."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from assistant.facts.near import Client, near_from, speaks_of
from assistant.facts.nginxconf import configured_ports, master_files, port_of, ports_in
from assistant.facts.system.socktable import Listen

PROCS = {21: {"process": "postgres", "cmdline": "postgres -D /data -p 5433"},
         22: {"process": "python3", "cmdline": "python3 -m http.server 8443"},
         23: {"process": "mariadbd", "cmdline": "mariadbd --port=4406"}}


def describe(pid: int | None) -> dict[str, Any]:
    return {"pid": pid, **PROCS[pid]} if pid in PROCS else {}


def test_what_a_neighbour_speaks_by_process_or_owner() -> None:
    assert speaks_of({"process": "postgres"}) == "postgres"
    assert speaks_of({"process": "python3", "cmdline": "python3 -m http.server 80"}) == "http"
    assert speaks_of({"process": "rstserver"}) == "unknown"
    # hidden process: the account owning the socket
    assert speaks_of({"user": "mysql"}) == "mysql"
    assert speaks_of({"user": "root"}) == "unknown"


def test_the_client_protocol_comes_first_and_a_foreign_one_is_marked() -> None:
    table = [Listen("127.0.0.1", 5433, 4, 21), Listen("127.0.0.1", 8443, 4, 22)]
    near = near_from(table, 8433, describe, client=Client("http", ("127.0.0.1",)))
    assert [(f["port"], f["speaks"], f["mismatch"]) for f in near] == [
        (8443, "http", False), (5433, "postgres", True)]
    # An https client wants a web server as much as a plain one.
    tls = near_from(table, 8433, describe, client=Client("tls", ("127.0.0.1",)))
    assert tls[0]["port"] == 8443 and tls[0]["mismatch"] is False


def test_unreachable_and_configured_neighbours_rank_last() -> None:
    table = [Listen("::1", 9102, 6, None, 1, 0), Listen("127.0.0.1", 9103, 4, None, 2, 0),
             Listen("127.0.0.1", 9104, 4, None, 3, 0)]
    near = near_from(table, 9101, describe, client=Client("http", ("127.0.0.1",),
                                                          frozenset({9103})))
    assert [(f["port"], f["dialled"], f["configured"]) for f in near] == [
        (9104, "accepts", False), (9103, "accepts", True), (9102, "other-family", False)]


def test_among_equal_slips_the_numerically_nearer_port_comes_first() -> None:
    # A CI machine listened on 2024 (a digit dropped from 42024) beside the
    # test's server on 42023 (a neighbouring digit); the order was by port.
    table = [Listen("127.0.0.1", 2024, 4, None, 0, 0), Listen("127.0.0.1", 42023, 4, None, 0, 0)]
    assert [f["port"] for f in near_from(table, 42024, describe)] == [42023, 2024]
    assert [f["port"] for f in near_from(table[::-1], 42024, describe)] == [42023, 2024]


def test_a_server_of_another_known_protocol_is_no_slip_for_ssh_or_a_database() -> None:
    # field trial 11: ssh -p 7703 got "also possible: 7702" where http.server listened
    table = [Listen("127.0.0.1", 8443, 4, 22), Listen("127.0.0.1", 8432, 4, None, 0, 0)]
    near = near_from(table, 8433, describe, client=Client("ssh", ("127.0.0.1",)))
    assert [f["port"] for f in near] == [8432]  # the unknown one may still be an sshd


def test_a_database_client_finds_its_server_on_any_port() -> None:
    table = [Listen("127.0.0.1", 4406, 4, 23), Listen("127.0.0.1", 8443, 4, 22)]
    near = near_from(table, 3306, describe, client=Client("mysql", ("127.0.0.1",)))
    assert [(f["port"], f["relation"], f["speaks"]) for f in near] == [
        (4406, "same-service", "mysql")]
    # not for a client of another protocol
    assert near_from(table, 3306, describe, client=Client("http", ("127.0.0.1",))) == []


NGINX = """
# three vhosts, one upstream block
http {
  upstream api { server 127.0.0.1:9200 weight=2; server [::1]:9201; }
  server { listen 127.0.0.1:8181; location / { proxy_pass http://127.0.0.1:9101; } }
  server { listen 8182; location / { proxy_pass "http://127.0.0.1:9102/app"; } }
  server { listen 8183; location ~ \\.php$ { fastcgi_pass 127.0.0.1:9000; } # php
           location /x { proxy_pass http://api; } location /s { uwsgi_pass unix:/run/u.sock; } }
  include conf.d/*.conf;
}
"""


def test_nginx_ports_and_includes() -> None:
    ports, includes = ports_in(NGINX)
    assert ports == {9200, 9201, 9101, 9102, 9000}
    assert includes == ["conf.d/*.conf"]
    assert port_of("http://127.0.0.1:9103/") == 9103 and port_of("unix:/run/x.sock") is None
    assert port_of("backend") is None and port_of("[::1]:80") == 80


def test_nginx_configuration_with_includes(tmp_path: Path) -> None:
    (tmp_path / "conf.d").mkdir()
    (tmp_path / "nginx.conf").write_text(NGINX)
    (tmp_path / "conf.d" / "more.conf").write_text("server { location / { proxy_pass "
                                                   "http://localhost:9300; } }")
    assert configured_ports(str(tmp_path / "nginx.conf")) == {9200, 9201, 9101, 9102, 9000,
                                                              9300}
    assert configured_ports(str(tmp_path / "missing.conf")) == set()


def test_nginx_master_command_line() -> None:
    assert master_files("nginx: master process /usr/sbin/nginx -p /srv/x -c /srv/x/n.conf") == (
        "/srv/x", "/srv/x/n.conf")
    assert master_files("nginx: master process /usr/sbin/nginx -p /srv/x -c n.conf") == (
        "/srv/x", "/srv/x/n.conf")
    assert master_files("nginx: master process /usr/sbin/nginx") == (
        "/etc/nginx", "/etc/nginx/nginx.conf")


def test_front_end_reads_the_server_blocks_on_the_asked_port() -> None:
    from assistant.facts.nginxconf import Upstream, _error_log_path, front_end_in

    text = """
error_log logs/err.log warn;
http {
 upstream app { server 127.0.0.1:9001 weight=2; server unix:/run/app.sock; }
 server { listen 80; listen [::]:80; location / { proxy_pass http://app; }
          location /php { fastcgi_pass unix:/run/php/php8.2-fpm.sock; } }
 server { listen 127.0.0.1:8443 ssl; location / { proxy_pass https://localhost:9443/x; } }
 server { server_name other; location / { proxy_pass http://$backend; } }
 server { listen 8080; location / { proxy_pass http://[::1]:3000; } }
}"""
    ups, listens, log = front_end_in(text, 80)
    assert ups == [Upstream("proxy_pass", "127.0.0.1", 9001, None),
                   Upstream("proxy_pass", None, None, "/run/app.sock"),
                   Upstream("fastcgi_pass", None, None, "/run/php/php8.2-fpm.sock")]
    assert listens == {80, 8443, 8080} and log == "logs/err.log"
    assert front_end_in(text, 8443)[0] == [Upstream("proxy_pass", "localhost", 9443, None)]
    assert front_end_in(text, 8080)[0] == [Upstream("proxy_pass", "::1", 3000, None)]
    assert len(front_end_in(text, 1234)[0]) == 5  # no block on it: every upstream
    assert _error_log_path("logs/err.log", "/srv/x", "") == "/srv/x/logs/err.log"
    assert _error_log_path(None, "/srv/x", "nginx -p /srv/x -e /tmp/e.log") == "/tmp/e.log"
    assert _error_log_path(None, "/etc/nginx", "nginx") == "/var/log/nginx/error.log"
    assert _error_log_path("stderr", "/etc/nginx", "nginx") is None


def test_an_unrelated_web_server_a_few_ports_away_is_no_likely_slip() -> None:
    """Field trial 9: an nginx 8 ports away led as 'did you mean' for an HTTP
    client: every web server speaks HTTP. A database's own protocol still
    makes its server likely (PostgreSQL 8 away from the asked 5425)."""
    procs = {31: {"process": "nginx", "cmdline": "nginx: master process nginx"}}
    table = [Listen("127.0.0.1", 7714, 4, 31)]
    near = near_from(table, 7722, lambda pid: {"pid": pid, **procs.get(pid, {})},
                     client=Client("http", ("127.0.0.1",)))
    assert [(f["port"], f["likely"]) for f in near] == [(7714, False)]
    pg = near_from([Listen("127.0.0.1", 5433, 4, 21)], 5425, describe,
                   client=Client("postgres", ("127.0.0.1",)))
    assert [(f["port"], f["likely"]) for f in pg] == [(5433, True)]
