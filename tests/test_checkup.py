"""`assistant doctor` over made-up machines: the lines, their order, marks
and fixes for this OS, the JSON contract, exit codes, the chat's /doctor,
a team's own checkup rule, and what a checkup costs a diagnosis (nothing)."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assistant import checkup
from assistant.conversation import Chat
from assistant.engine.applicable import may_apply
from assistant.facts.base import CheckResult, Context, Fact, run_checks
from assistant.render.checkup import render
from assistant.session import Options, Session, initial_facts
from assistant.understand import symptoms
from tests.support import run_cli

Machine = dict[str, list[Fact]]

HEALTHY: Machine = {
    "local_names": [
        {"type": "local_name", "name": "localhost", "role": "localhost", "status": "ok",
         "addresses": "::1, 127.0.0.1", "first": "::1", "order": "6,4", "v4": True, "v6": True,
         "loopback": True, "local": True},
        {"type": "local_name", "name": "assistant-check.localhost", "role": "subdomain",
         "status": "failed", "error": "Name or service not known"},
        {"type": "local_name", "name": "devbox", "role": "hostname", "status": "ok",
         "addresses": "127.0.1.1", "first": "127.0.1.1", "order": "4", "v4": True, "v6": False,
         "loopback": True, "local": True}],
    "hosts_file": [{"type": "hosts_file", "path": "/etc/hosts", "readable": True,
                    "localhost_v4": True, "localhost_v6": True}],
    "loopback": [{"type": "loopback_interface", "name": "lo", "up": True, "v4": True,
                  "v4_prefix": 8, "v6": True, "ipv6": "enabled",
                  "addresses": "127.0.0.1/8, ::1/128"}],
    "loopback_filter": [{"type": "packet_filter", "ports": "3000, 8080", "blocked": False}],
    "local_proxy": [{"type": "proxy_env", "set": False}],
    "port_ranges": [{"type": "port_ranges", "ephemeral_low": 32768, "ephemeral_high": 60999,
                     "ephemeral_range": "32768-60999", "ephemeral_size": 28232,
                     "unprivileged_start": 1024, "can_bind_privileged": False}],
    "all_listeners": [],
    "time_wait": [{"type": "time_wait", "total": 3, "client": 3, "ephemeral_size": 28232,
                   "share": 0, "tw_reuse": 2, "destination": "127.0.0.1:5432",
                   "destination_count": 3, "reused": True}],
    "services": [],
    "environment": [{"type": "environment", "container": False, "kind": "none", "wsl": False,
                     "vm": False}],
}
HEALTHY_IDS = [
    ("names", "doctor.names.localhost_both"), ("names", "doctor.names.subdomain_browsers_only"),
    ("names", "doctor.names.hostname_local"), ("loopback", "doctor.loopback.up"),
    ("loopback", "doctor.loopback.filter_accepts"), ("proxy", "doctor.proxy.none"),
    ("ports", "doctor.ports.ranges"), ("ports", "doctor.ports.time_wait"),
    ("team", "doctor.team.none"), ("environment", "doctor.environment.host")]
PROXY = {"type": "local_proxy", "variable": "http_proxy", "proxy": "http://proxy.corp:3128",
         "address": "proxy.corp:3128", "proxy_local": False, "clients": "curl, wget",
         "hosts": "localhost, 127.0.0.1, ::1", "detail": "curl: localhost, 127.0.0.1, ::1",
         "direct": "Go, Node.js", "exceptions": "NO_PROXY and no_proxy are unset",
         "bypass": "localhost,127.0.0.1,::1"}
NODE = {"type": "listening", "port": 3000, "address": "0.0.0.0", "addresses": "0.0.0.0",
        "wildcard": True, "loopback": False, "pid": 4242, "process": "node",
        "cmdline": "node server.js", "runtime": "node", "dev_server": True}


def overrides(machine: Machine, failing: dict[str, str] | None = None) -> dict[str, Any]:
    def give(name: str) -> Any:
        def collect(ctx: Context) -> list[Fact]:
            if failing and name in failing:
                raise PermissionError(failing[name])
            return [dict(f) for f in machine.get(name, [])]
        return collect
    return {n: give(n) for n in [*machine, *(failing or {})]}


@pytest.fixture
def system(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Pretend to be this system (sys.platform's name) for the checkup."""
    from assistant.facts.system import platform

    def pretend(name: str) -> None:
        monkeypatch.setattr(platform, "system", lambda: name)

    pretend("linux")
    yield pretend


def session(machine: Machine, tmp_path: Path, failing: dict[str, str] | None = None,
            rule_dirs: list[Path] | None = None) -> Session:
    return Session(Options(env={"ASSISTANT_CACHE_DIR": str(tmp_path / "cache")},
                           rule_dirs=rule_dirs or [], check_overrides=overrides(machine, failing)))


def ids(report: Any) -> list[tuple[str, str]]:
    return [(f.check, f.id) for f in report.findings]


def test_a_healthy_machine_is_all_fine_in_area_order(system: Any, tmp_path: Path) -> None:
    report = session(HEALTHY, tmp_path).checkup()
    assert report.kind == "checkup" and ids(report) == HEALTHY_IDS
    assert {f.status for f in report.findings} == {"ok"}
    assert all(f.fix == [] for f in report.findings) and not checkup.has_problem(report)


def test_problems_and_warnings_carry_this_systems_fix_only(system: Any, tmp_path: Path) -> None:
    machine = {**HEALTHY, "local_proxy": [{"type": "proxy_env", "set": True,
                                           "variables": "http_proxy"}, PROXY],
               "all_listeners": [NODE, {**NODE, "pid": 4243, "port": 5173,
                                        "cmdline": "node /app/node_modules/.bin/vite --host",
                                        "tool": "vite"}]}
    system("darwin")
    report = session(machine, tmp_path).checkup()
    lines = {f.id: f for f in report.findings}
    # macOS: no packet-filter walk (Linux only), the proxy fix in its export form
    assert "doctor.loopback.filter_accepts" not in lines
    proxy = lines["doctor.proxy.captures"]
    assert (proxy.check, proxy.status) == ("proxy", "problem")
    assert proxy.summary == ("curl, wget send requests for localhost, 127.0.0.1, ::1 to the proxy "
                             "proxy.corp:3128 (http_proxy): a server on this machine is never "
                             "reached that way.")
    assert [(c.os, c.command) for c in proxy.fix] == [
        ("macos", 'export no_proxy="${no_proxy:-$NO_PROXY}" && '
                  'export no_proxy="${no_proxy:+$no_proxy,}localhost,127.0.0.1,::1" '
                  'NO_PROXY="${no_proxy:+$no_proxy,}localhost,127.0.0.1,::1"')]
    # one line per exposed server, each with its own fix
    node, vite = lines["doctor.ports.exposed_dev_server"], lines["doctor.ports.exposed_vite"]
    assert node.summary == ("node (pid 4242) serves port 3000 on every interface (0.0.0.0): "
                            "reachable from your network, not only from this machine.")
    assert [c.command for c in node.fix] == [
        "restart it listening on 127.0.0.1: its --host or --bind option, HOST=127.0.0.1, or "
        "listen(3000, '127.0.0.1') in the code"]
    assert vite.status == "warning" and vite.data["evidence"] == [
        "command: node /app/node_modules/.bin/vite --host"]
    assert checkup.has_problem(report)


def test_each_declared_service_is_its_own_line(system: Any, tmp_path: Path) -> None:
    services = [{"type": "service", "name": "team-db", "port": 55432, "process": "postgres",
                 "listening": True, "owner": "postgres", "owner_pid": 7, "owner_ok": True,
                 "forwarded": False, "addresses": "127.0.0.1", "local": True, "ephemeral": True,
                 "ephemeral_range": "32768-60999"},
                {"type": "service", "name": "team-api", "port": 9000, "process": "gunicorn",
                 "listening": False, "ephemeral": False}]
    report = session({**HEALTHY, "services": services}, tmp_path).checkup()
    team = [(f.id, f.status, f.summary) for f in report.findings if f.check == "team"]
    assert team == [
        ("doctor.team.running", "ok", "team-db (a team service) runs on port 55432: postgres "
         "(pid 7) on 127.0.0.1."),
        ("doctor.team.not_running", "warning", "team-api (a team service) is not running: "
         "nothing listens on its port 9000.")]
    (ephemeral,) = [f for f in report.findings if f.id == "doctor.ports.service_ephemeral"]
    assert ephemeral.check == "ports" and ephemeral.status == "warning"
    assert ephemeral.fix[0].command == (
        'r=$(cat /proc/sys/net/ipv4/ip_local_reserved_ports); sudo sysctl -w '
        'net.ipv4.ip_local_reserved_ports="${r:+$r,}55432"')
    assert not checkup.has_problem(report)  # warnings only: exit 0


def test_a_check_that_cannot_tell_is_a_question_mark(system: Any, tmp_path: Path) -> None:
    report = session(HEALTHY, tmp_path, failing={"loopback_filter": "nft: Operation not "
                                                  "permitted"}).checkup()
    (line,) = [f for f in report.findings if f.status == "unknown"]
    assert (line.check, line.id) == ("loopback", "check.loopback_filter")
    assert line.summary == ("Could not check whether the packet filter lets loopback "
                            "connections through: PermissionError: nft: Operation not permitted.")
    assert "doctor.loopback.filter_accepts" not in [f.id for f in report.findings]
    # placed in its area, after the area's concluded lines
    assert [f.id for f in report.findings if f.check == "loopback"] == [
        "doctor.loopback.up", "check.loopback_filter"]
    assert not checkup.has_problem(report)


def test_the_json_is_schema_1_kind_checkup(system: Any, tmp_path: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    from assistant.render.contract import report_schema

    machine = {**HEALTHY, "all_listeners": [NODE]}
    doc = session(machine, tmp_path).checkup().to_json()
    jsonschema.Draft202012Validator(report_schema()).validate(doc)
    assert (doc["schema"], doc["kind"], doc["diagnoses"]) == (1, "checkup", [])
    exposed = next(f for f in doc["findings"] if f["id"] == "doctor.ports.exposed_dev_server")
    assert list(exposed) == ["id", "check", "status", "summary", "fix", "data"]
    assert exposed["fix"][0]["os"] == "any" and exposed["status"] == "warning"
    assert exposed["data"]["evidence"] == ["command: node server.js"]
    assert exposed["data"]["processes"] == [{"pid": 4242, "cmdline": "node server.js",
                                             "name": "node"}]


def test_the_text_has_a_mark_per_line_and_fixes_under_problems(system: Any,
                                                               tmp_path: Path) -> None:
    machine = {**HEALTHY, "loopback": [{"type": "loopback_interface", "name": "lo", "up": False,
                                        "v4": False, "v6": False, "ipv6": "enabled"}]}
    out = render(session(machine, tmp_path).checkup(), width=80)
    lines = out.splitlines()
    at = lines.index("Loopback")
    assert lines[at - 1] == ""  # a blank line between areas
    assert lines[at:at + 8] == [
        "Loopback",
        "  ✗ The loopback interface lo is down: nothing on this machine can connect to",
        "    127.0.0.1 or ::1.",
        "      - lo: down, addresses: none",
        "    Fix:",
        "      sudo ip link set lo up",
        "        # bring it up (a new network namespace starts with it down)",
        "  ✓ No packet-filter rule drops or rejects loopback connections (127.0.0.1 and",
    ]
    assert out.endswith("\nProblems found: 1 problem (✗), 9 fine (✓).\n")


def test_cli_exit_codes_and_options_either_side(system: Any, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    machine: dict[str, Machine] = {"now": HEALTHY}
    real = run_checks
    monkeypatch.setattr(checkup, "run_checks", lambda names, ctx, by, _ov:
                        real(names, ctx, by, overrides(machine["now"])))
    env = {"ASSISTANT_CACHE_DIR": str(tmp_path / "cache"), "PATH": ""}
    ok = run_cli("doctor", "--json", environ=env)
    assert (ok.code, ok.json["kind"], ok.err) == (0, "checkup", "")
    assert run_cli("--json", "doctor", environ=env).json == ok.json
    machine["now"] = {**HEALTHY, "local_proxy": [{"type": "proxy_env", "set": True,
                                                  "variables": "http_proxy"}, PROXY]}
    bad = run_cli("doctor", environ=env)
    assert bad.code == 1 and "  ✗ curl, wget send requests for localhost" in bad.out
    md = run_cli("doctor", "--markdown", environ=env)
    assert md.code == 1 and "- ✗ curl, wget send requests" in md.out and "### Proxies" in md.out
    for argv, message in [
            (("doctor", "--timeout", "0"), "--timeout must be between 0 and 30 seconds"),
            (("--ask", "x", "doctor"), "doctor takes no question"),
            (("doctor", "--rules", str(tmp_path / "none")), "does not exist"),
            (("doctor", "extra"), "unrecognized arguments: extra")]:
        r = run_cli(*argv, environ=env)
        assert r.code == 2 and message in r.err and r.out == ""


def test_doctor_in_the_chat(system: Any, tmp_path: Path) -> None:
    lines: list[str] = []
    chat = Chat(session(HEALTHY, tmp_path), lines.append)
    chat.handle("/help")
    assert any(line.strip().startswith("/doctor") for line in lines)
    lines.clear()
    chat.handle("/doctor")
    shown = "\n".join(lines)
    assert shown.startswith("Names\n  ✓ localhost resolves to ::1, 127.0.0.1")
    assert shown.endswith("No problems found: 10 fine (✓).")
    assert chat.history == []  # /how and /again keep to the last diagnosis


def test_a_team_rule_that_needs_no_target_is_a_checkup_line(system: Any, tmp_path: Path) -> None:
    pack = tmp_path / "team"
    pack.mkdir()
    (pack / "team.yaml").write_text(textwrap.dedent("""\
        format: 1
        services:
          - {name: team-db, port: 55432, process: postgres}
        rules:
          - id: team.db_down
            title: The team database must run during development
            category: nothing-listening
            when:
              all:
                - {fact: service, as: s, match: {name: team-db, listening: false}}
            then:
              - conclude:
                  summary: "team-db is down: run `make db-up`."
                  fix: [{os: any, command: make db-up, why: the team's way}]
    """))
    down = [{"type": "service", "name": "team-db", "port": 55432, "process": "postgres",
             "listening": False, "ephemeral": True, "ephemeral_range": "32768-60999"}]
    report = session({**HEALTHY, "services": down}, tmp_path, rule_dirs=[pack]).checkup()
    team = [(f.check, f.id, f.status) for f in report.findings if f.check == "team"]
    assert team == [("team", "doctor.team.not_running", "warning"),
                    ("team", "team.db_down", "problem")]
    assert next(f for f in report.findings if f.id == "team.db_down").fix[0].command == \
        "make db-up"


def test_a_diagnosis_registers_no_checkup_rule_and_a_checkup_no_diagnosis_rule(
        tmp_path: Path) -> None:
    rules = session(HEALTHY, tmp_path).ruleset().enabled()
    target = symptoms.parse("cannot connect to 127.0.0.1:3000")
    diagnosis = initial_facts(target, "cannot connect to 127.0.0.1:3000")
    checking = [checkup.checkup_fact("linux", False)]
    doctor = {r.id for r in rules if r.id.startswith("doctor.")}
    assert len(doctor) >= 40
    assert not [r.id for r in rules if r.id in doctor and may_apply(r, diagnosis)]
    assert {r.id for r in rules if may_apply(r, checking)} == doctor


def test_every_checkup_collector_emits_only_what_it_declares_here() -> None:
    """The checkup's collectors on this machine, with no target at all."""
    ctx = Context(target=symptoms.Target(), env={"http_proxy": "http://proxy.invalid:3128"})
    names = ["local_names", "hosts_file", "loopback", "local_proxy", "port_ranges",
             "all_listeners", "time_wait", "services", "environment", "loopback_filter"]
    from assistant.facts.collectors import BY_NAME

    results: list[CheckResult] = run_checks(names, ctx, BY_NAME)
    for res in results:
        assert "emitted" not in (res.reason or ""), (res.name, res.reason)
    by = {r.name: r for r in results}
    assert by["local_proxy"].facts[0] == {"type": "proxy_env", "set": True,
                                          "variables": "http_proxy"}
    assert [f["role"] for f in by["local_names"].facts][:2] == ["localhost", "subdomain"]
