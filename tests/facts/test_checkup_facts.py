"""The checkup's collectors as pure functions, on made-up raw data: names,
the loopback interface, the filter walk's facts, proxies per client, port
ranges, what listens, TIME_WAIT, and the services' new fields."""

from __future__ import annotations

from typing import Any

import pytest

from assistant.facts.all_listeners import listening_facts, unit_in_cgroup
from assistant.facts.devservers import classify
from assistant.facts.environment import classify as environment
from assistant.facts.local_names import SUBDOMAIN, name_fact, names_to_check
from assistant.facts.local_proxy import local_proxy_facts
from assistant.facts.loopback import interface_fact
from assistant.facts.loopback_filter import block_fact, blocks, ports_to_walk
from assistant.facts.port_ranges import parse_reserved, range_fact
from assistant.facts.services import service_facts
from assistant.facts.system.linux import DiagRow
from assistant.facts.system.socktable import Listen
from assistant.facts.time_wait import time_wait_fact


def no_interfaces() -> set[str]:
    raise AssertionError("asked for interface addresses though every address is loopback")


def test_localhost_in_both_families_keeps_the_resolvers_order() -> None:
    fact = name_fact("localhost", "localhost",
                     {"status": "ok", "addresses": ["::1", "127.0.0.1"]}, no_interfaces)
    assert fact == {"type": "local_name", "name": "localhost", "role": "localhost",
                    "status": "ok", "error": None, "addresses": "::1, 127.0.0.1", "first": "::1",
                    "order": "6,4", "v4": True, "v6": True, "loopback": True, "local": True}


def test_a_host_name_on_a_lan_address_of_this_machine_is_local() -> None:
    fact = name_fact("devbox", "hostname", {"status": "ok", "addresses": ["192.168.1.20"]},
                     lambda: {"192.168.1.20", "fe80::1"})
    assert (fact["loopback"], fact["local"], fact["order"]) == (False, True, "4")
    other = name_fact("devbox", "hostname", {"status": "ok", "addresses": ["10.9.9.9"]},
                      lambda: {"192.168.1.20"})
    assert (other["loopback"], other["local"]) == (False, False)


def test_a_failed_lookup_has_no_addresses() -> None:
    fact = name_fact(SUBDOMAIN, "subdomain",
                     {"status": "failed", "addresses": [], "error": "Name or service not known"},
                     no_interfaces)
    assert fact == {"type": "local_name", "name": SUBDOMAIN, "role": "subdomain",
                    "status": "failed", "error": "Name or service not known"}
    empty = name_fact("x", "hostname", {"status": "ok", "addresses": []}, no_interfaces)
    assert (empty["status"], empty["error"]) == ("failed", "no address came back")


@pytest.mark.parametrize("hostname,checked", [
    ("devbox", ["localhost", SUBDOMAIN, "devbox"]),
    ("localhost", ["localhost", SUBDOMAIN]),
    ("localhost.localdomain", ["localhost", SUBDOMAIN]),
    ("", ["localhost", SUBDOMAIN]),
    ("web.localhost", ["localhost", SUBDOMAIN]),
])
def test_the_host_name_is_checked_when_it_is_a_name_of_its_own(hostname: str,
                                                                checked: list[str]) -> None:
    assert [n for n, _ in names_to_check(hostname)] == checked


def test_the_loopback_interface_up_with_both_addresses() -> None:
    fact = interface_fact({"lo": True, "eth0": True},
                          {"lo": [(4, "127.0.0.1", "255.0.0.0"),
                                  (6, "::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")],
                           "eth0": [(4, "192.168.1.20", "255.255.255.0")]}, "enabled", None)
    assert fact == {"type": "loopback_interface", "name": "lo", "up": True, "v4": True,
                    "v4_prefix": 8, "v6": True, "ipv6": "enabled", "ipv6_off_by": None,
                    "ipv6_sysctl": None, "addresses": "127.0.0.1/8, ::1/128"}


def test_a_loopback_interface_down_without_addresses_is_still_found_by_name() -> None:
    fact = interface_fact({"lo": False, "eth0": True}, {"eth0": [(4, "10.0.0.2", None)]},
                          "disabled", "net.ipv6.conf.lo.disable_ipv6=1")
    assert (fact["name"], fact["up"], fact["v4"], fact["v6"], fact["addresses"]) == \
        ("lo", False, False, False, None)
    assert fact["ipv6_sysctl"] == "net.ipv6.conf.lo.disable_ipv6"
    mac = interface_fact({"lo0": True}, {"lo0": [(4, "127.0.0.1", "255.0.0.0")]}, "enabled", None)
    assert (mac["name"], mac["v4"], mac["v6"]) == ("lo0", True, False)


OLD_FIREWALL = {"type": "firewall", "source": "nft", "family": 4, "table": "inet t",
                "chain": "input", "verdict": "drop", "rule": "iif lo drop", "handle": "2",
                "policy": False, "port": 3000}
NEW_FIREWALL = {"type": "firewall", "tool": "iptables", "table": "filter",
                "chain": "ufw-before-input", "where": "iptables-nft filter", "verdict": "drop",
                "rule": "-A ufw-before-input -i lo -j DROP", "policy": False, "number": 1,
                "frontend": "ufw", "undo": "sudo ufw delete ...",
                "bypass": "sudo ufw allow in on lo", "port": 3000}


def test_a_block_reads_either_shape_of_the_firewall_checks_facts() -> None:
    old = block_fact(OLD_FIREWALL)
    assert (old["tool"], old["where"], old["undo"], old["bypass"], old["frontend"]) == \
        ("nft", "nft inet t", "sudo nft delete rule inet t input handle 2",
         "sudo nft insert rule inet t input iifname lo accept", None)
    new = block_fact(NEW_FIREWALL)
    assert (new["tool"], new["where"], new["undo"], new["bypass"], new["frontend"]) == \
        ("iptables", "iptables-nft filter", "sudo ufw delete ...", "sudo ufw allow in on lo",
         "ufw")
    policy = block_fact({**OLD_FIREWALL, "chain": "output", "rule": "policy drop",
                         "policy": True, "handle": ""})
    assert (policy["undo"], policy["bypass"]) == (
        None, "sudo nft insert rule inet t output oifname lo accept")
    legacy = block_fact({**OLD_FIREWALL, "source": "iptables", "table": "filter",
                         "chain": "INPUT", "handle": "3"})
    assert (legacy["undo"], legacy["bypass"]) == ("sudo iptables -D INPUT 3",
                                                 "sudo iptables -I INPUT 1 -i lo -j ACCEPT")


def test_blocks_gather_ports_and_families_per_rule() -> None:
    found = [{**OLD_FIREWALL, "port": p, "address": a} for p in (3000, 8080)
             for a in ("127.0.0.1", "::1")]
    found.append({**OLD_FIREWALL, "rule": "tcp dport 5432 drop", "port": 5432,
                  "address": "127.0.0.1"})
    errors: list[str] = []
    every, one = blocks(found + [{"type": "unknown", "reason": "nft: denied"}],
                        [3000, 8080, 5432], errors)
    assert (every["ports"], every["reach"], every["addresses"]) == (
        "3000, 8080", "ports 3000, 8080", "127.0.0.1, ::1")
    assert (one["ports"], one["reach"], one["addresses"]) == ("5432", "port 5432", "127.0.0.1")
    assert errors == ["nft: denied"]
    (all_walked,) = blocks(found[:4], [3000, 8080], [])
    assert all_walked["reach"] == "every port walked (3000, 8080)"
    behind = blocks([{**OLD_FIREWALL, "behind": True, "address": "::1"}], [3000], [])
    assert behind == []
    # an active ufw owns the chains' policies, not a rule someone put beside it
    policy = {**OLD_FIREWALL, "chain": "INPUT", "rule": "chain INPUT policy drop",
              "policy": True, "address": "::1"}
    owned, beside = blocks([policy, {**OLD_FIREWALL, "address": "::1"}], [3000], [], "ufw")
    assert (owned["frontend"], beside["frontend"]) == ("ufw", None)


def test_the_walk_covers_canaries_declared_then_listening_ports() -> None:
    assert ports_to_walk([55432], [5173, 3000]) == [3000, 8080, 55432, 5173]
    assert len(ports_to_walk([], list(range(10000, 10020)))) == 8


def test_a_proxy_elsewhere_without_no_proxy_captures_localhost_for_most_clients() -> None:
    env, proxy = local_proxy_facts({"http_proxy": "http://user:secret@proxy.corp:3128"}, "linux")
    assert env == {"type": "proxy_env", "set": True, "variables": "http_proxy", "no_proxy": None}
    assert proxy == {
        "type": "local_proxy", "variable": "http_proxy", "proxy": "http://***@proxy.corp:3128",
        "address": "proxy.corp:3128", "proxy_local": False,
        "clients": "curl, wget, Python requests, Python urllib",
        "hosts": "localhost, 127.0.0.1, ::1",
        "detail": "curl: localhost, 127.0.0.1, ::1; wget: localhost, 127.0.0.1, ::1; "
                  "Python requests: localhost, 127.0.0.1, ::1; "
                  "Python urllib: localhost, 127.0.0.1, ::1",
        "direct": "Go, Node.js, Chrome, Firefox",
        "exceptions": "NO_PROXY and no_proxy are unset",
        "bypass": "localhost,127.0.0.1,::1,[::1]"}


def test_no_proxy_in_upper_case_leaves_wget_and_urllibs_ipv6_to_the_proxy() -> None:
    facts = local_proxy_facts({"https_proxy": "http://proxy.corp:3128",
                               "NO_PROXY": "localhost,127.0.0.1,::1"}, "linux")
    (proxy,) = [f for f in facts if f["type"] == "local_proxy"]
    # wget reads only no_proxy; Python's urllib matches ::1 only as [::1]
    assert proxy["detail"] == "wget: localhost, 127.0.0.1, ::1; Python urllib: ::1"
    assert proxy["direct"] == "curl, Python requests, Go, Node.js, Chrome, Firefox"


def test_every_client_direct_gives_no_capture_and_no_variable_none() -> None:
    both = "localhost,127.0.0.1,::1,[::1]"
    assert local_proxy_facts({"http_proxy": "http://p:1", "NO_PROXY": both, "no_proxy": both},
                             "linux") == [{"type": "proxy_env", "set": True,
                                           "variables": "http_proxy", "no_proxy": both}]
    assert local_proxy_facts({}, "linux") == [{"type": "proxy_env", "set": False,
                                               "variables": None, "no_proxy": None}]


def test_a_proxy_on_this_machine_is_local() -> None:
    (_, proxy) = local_proxy_facts({"HTTP_PROXY": "http://127.0.0.1:8888"}, "linux")
    assert (proxy["proxy_local"], proxy["clients"]) == (True, "Python requests, Python urllib")


def test_port_ranges_and_the_reserved_list() -> None:
    assert parse_reserved("8080,9000-9010\n") == [(8080, 8080), (9000, 9010)]
    assert parse_reserved("") == []
    wide = range_fact((1024, 65535), "8080\n", 1024, False)
    assert wide["dev_ports_inside"] == "3000,3001,4200,5000,5173,5432,6379,8000,8443,8888,9000,9229"
    assert (wide["ephemeral_size"], wide["reserved"]) == (64512, "8080")
    default = range_fact((32768, 60999), "", 1024, True)
    assert default == {"type": "port_ranges", "ephemeral_low": 32768, "ephemeral_high": 60999,
                       "ephemeral_range": "32768-60999", "ephemeral_size": 28232,
                       "reserved": None, "dev_ports_inside": None, "unprivileged_start": 1024,
                       "can_bind_privileged": True}


@pytest.mark.parametrize("process,cmdline,expected", [
    ("node", "node /app/node_modules/.bin/vite --host", ("node", "vite")),
    ("node", "node /app/node_modules/.bin/vitest", ("node", None)),
    ("next-server", "next-server (v14.2.3)", (None, "next")),
    ("node", "node node_modules/.bin/next dev", ("node", "next")),
    ("node", "node /app/node_modules/react-scripts/scripts/start.js", ("node", "webpack")),
    ("node", "node node_modules/.bin/react-scripts start", ("node", "webpack")),
    ("node", "node node_modules/.bin/webpack serve --host 0.0.0.0", ("node", "webpack")),
    ("node", "ng serve --host 0.0.0.0", ("node", "webpack")),
    ("python3", "/usr/bin/python3 -m http.server 8000", ("python", "http.server")),
    ("flask", "/usr/bin/python3 /usr/local/bin/flask run --host 0.0.0.0", ("python", "flask")),
    ("python3.12", "python3.12 manage.py runserver 0.0.0.0:8000", ("python", "django")),
    ("uvicorn", "/venv/bin/python /venv/bin/uvicorn app:app --host 0.0.0.0", ("python", "uvicorn")),
    ("python3", "python3 -m uvicorn app:app", ("python", "uvicorn")),
    ("gunicorn", "/venv/bin/python /venv/bin/gunicorn -b 0.0.0.0:8000 app:app",
     ("python", "gunicorn")),
    ("ruby", "puma 6.4.0 (tcp://0.0.0.0:3000) [app]", ("ruby", "rails")),
    ("jupyter-lab", "/usr/bin/python3 /usr/local/bin/jupyter-lab --ip=0.0.0.0",
     ("python", "jupyter")),
    ("php8.2", "php8.2 -S 0.0.0.0:8000 -t public", ("php", "php-server")),
    ("php-fpm8.2", "php-fpm: master process (/etc/php/8.2/fpm/php-fpm.conf)", (None, None)),
    ("main", "/tmp/go-build1234/b001/exe/main", ("go", None)),
    ("java", "java -jar app.jar", ("java", None)),
    ("postgres", "/usr/lib/postgresql/15/bin/postgres -D /var/lib/postgresql", (None, None)),
    ("sshd", "sshd: /usr/sbin/sshd -D", (None, None)),
    (None, None, (None, None)),
])
def test_what_a_listening_process_runs(process: str | None, cmdline: str | None,
                                       expected: tuple[str | None, str | None]) -> None:
    assert classify(process, cmdline) == expected


def test_one_listening_fact_per_process_and_port_the_wildcard_first() -> None:
    procs: dict[int, dict[str, Any]] = {
        7: {"pid": 7, "process": "node", "cmdline": "node server.js", "status": "sleeping",
            "stopped": False},
        8: {"pid": 8, "process": "sshd", "cmdline": "sshd -D", "unit": "ssh.service",
            "stopped": False},
    }
    rows = [Listen("::1", 3000, 6, 7), Listen("0.0.0.0", 3000, 4, 7), Listen("::", 22, 6, 8),
            Listen("127.0.0.1", 631, 4, None)]
    facts = listening_facts(rows, lambda pid: procs.get(pid or 0, {}),
                            lambda pid: {"ppid": 1, "parent": "systemd", "parent_zombie": False})
    assert [(f["port"], f["address"], f["addresses"], f["wildcard"], f["loopback"])
            for f in facts] == [(22, "::", "::", True, False),
                                (631, "127.0.0.1", "127.0.0.1", False, True),
                                (3000, "0.0.0.0", "0.0.0.0, ::1", True, False)]
    sshd, cups, node = facts
    assert (sshd["runtime"], sshd["dev_server"], sshd["unit"]) == (None, False, "ssh.service")
    assert "pid" not in cups and cups["dev_server"] is False
    assert (node["runtime"], node["tool"], node["dev_server"], node["parent"]) == \
        ("node", None, True, "systemd")
    # handed to init: a leftover; sshd, in its unit, is not a dev server at all
    assert (node["orphaned"], sshd["orphaned"]) == (True, False)
    (user_unit,) = listening_facts([Listen("127.0.0.1", 3000, 4, 7)], lambda pid: procs[7],
                                   lambda pid: {"ppid": 900, "parent": "systemd",
                                                "managed": True})
    assert (user_unit["dev_server"], user_unit["orphaned"]) == (False, False)
    assert "managed" not in user_unit


@pytest.mark.parametrize("cgroup,in_unit", [
    ("0::/user.slice/user-1000.slice/user@1000.service/app.slice/api.service\n", True),
    ("0::/system.slice/nginx.service\n", True),
    ("0::/user.slice/user-1000.slice/user@1000.service/app.slice/"
     "app-gnome-terminal-1234.scope\n", False),
    ("0::/user.slice/user-1000.slice/session-2.scope\n", False),
    ("0::/\n", False),
])
def test_a_service_unit_from_the_cgroup(cgroup: str, in_unit: bool) -> None:
    assert unit_in_cgroup(cgroup) is in_unit


def test_a_python_service_of_systemd_is_not_a_development_server() -> None:
    (fact,) = listening_facts([Listen("0.0.0.0", 9090, 4, 5)], lambda pid: {
        "pid": 5, "process": "python3", "cmdline": "/usr/bin/python3 /usr/bin/exporter",
        "unit": "exporter.service"})
    assert (fact["runtime"], fact["dev_server"]) == ("python", False)


def tw(remote: str, dport: int, sport: int) -> DiagRow:
    return DiagRow(4, "time-wait", "127.0.0.1", sport, remote, dport, 0, 0, 0, 0)


def test_time_wait_finds_the_destination_holding_most_client_ports() -> None:
    rows = [tw("127.0.0.1", 8000, 40000 + i) for i in range(60)]
    rows += [tw("10.0.0.5", 5432, 40100), tw("127.0.0.1", 41000, 8000)]  # a server-side one
    fact = time_wait_fact(rows, (40000, 40100), tw_reuse=0)
    assert fact == {"type": "time_wait", "total": 62, "client": 61, "ephemeral_size": 101,
                    "share": 59, "tw_reuse": 0, "destination": "127.0.0.1:8000",
                    "destination_count": 60, "reused": False}
    assert time_wait_fact(rows, (40000, 40100), tw_reuse=2)["reused"] is True
    far = time_wait_fact([tw("10.0.0.5", 5432, 40000 + i) for i in range(3)], (40000, 40100), 2)
    assert (far["destination"], far["reused"]) == ("10.0.0.5:5432", False)
    assert time_wait_fact([], (32768, 60999), None) == {
        "type": "time_wait", "total": 0, "client": 0, "ephemeral_size": 28232, "share": 0,
        "tw_reuse": None}


def test_services_say_their_addresses_the_ephemeral_range_and_where_they_moved() -> None:
    services = [{"name": "team-db", "port": 55432, "process": "postgres"},
                {"name": "team-api", "port": 9000, "process": "gunicorn"},
                {"name": "team-cache", "port": 6390, "process": "redis-server"}]
    rows = [Listen("192.168.1.20", 9000, 4, 3), Listen("127.0.0.1", 55432, 4, 7),
            Listen("::1", 55432, 6, 7)]
    procs = {3: {"pid": 3, "process": "gunicorn"}, 7: {"pid": 7, "process": "postgres"}}
    facts = service_facts(services, rows, lambda pid: procs.get(pid or 0, {}),
                          lambda port: "32768-60999" if 32768 <= port <= 60999 else None,
                          lambda process: [6379] if process == "redis-server" else [])
    db, api, cache = facts
    assert (db["addresses"], db["local"], db["ephemeral"], db["ephemeral_range"]) == \
        ("127.0.0.1, ::1", True, True, "32768-60999")
    assert (api["addresses"], api["local"], api["ephemeral"]) == ("192.168.1.20", False, False)
    assert (cache["listening"], cache["elsewhere"]) == (False, "6379")


@pytest.mark.parametrize("files,expected", [
    ({"/sys/class/dmi/id/sys_vendor": "QEMU", "/sys/class/dmi/id/product_name": "Standard PC"},
     (True, "QEMU")),
    ({"/sys/class/dmi/id/sys_vendor": "innotek GmbH"}, (True, "VirtualBox")),
    ({"/proc/cpuinfo": "processor\t: 0\nflags\t\t: fpu vme hypervisor lahf_lm\n"}, (True, None)),
    ({"/sys/class/dmi/id/sys_vendor": "Dell Inc.", "/proc/cpuinfo": "flags\t\t: fpu vme\n"},
     (False, None)),
    ({"/proc/sys/kernel/osrelease": "5.15.146.1-microsoft-standard-WSL2",
      "/proc/cpuinfo": "flags\t\t: fpu hypervisor\n"}, (False, None)),  # WSL is said as WSL
])
def test_a_virtual_machine_from_the_firmware_or_the_cpu(files: dict[str, str],
                                                        expected: tuple[bool, str | None]) -> None:
    fact = environment(files, set(), {})
    assert (fact["vm"], fact["hypervisor"]) == expected


def test_system_tools_are_found_outside_an_ordinary_users_path(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Debian gives ordinary users no /usr/sbin in PATH; nft lives there."""
    from assistant.facts.system.run import run_command

    monkeypatch.setenv("PATH", "/nonexistent")
    assert run_command(["true"]) == ("", None)
    assert run_command(["no-such-tool-here"]) == (None, "no-such-tool-here is not installed")
