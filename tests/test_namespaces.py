"""Scenarios that need root: a private network and mount namespace.

Inside `unshare -n -m` only `lo` exists, so addresses other than loopback
(a LAN-style bind address, the 172.0.0.1 typo) and a custom hosts file touch
nothing outside the test. CI runs as root and fails if these skip.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support import SERVER, console_script

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0,
                       reason="needs root for network and mount namespaces (unshare -n -m)"),
    pytest.mark.skipif(shutil.which("unshare") is None or shutil.which("ip") is None,
                       reason="needs unshare (util-linux) and ip (iproute2)"),
]


def in_namespace(tmp_path: Path, body: str, hosts: str | None = None,
                 extra_addr: str | None = None) -> str:
    """Run a shell script in a fresh network+mount namespace; return stdout."""
    server = tmp_path / "server.py"
    server.write_text(SERVER)
    resolv = tmp_path / "resolv.conf"
    # DNS questions go to loopback port 53, where nothing listens: they fail at once.
    resolv.write_text("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")
    lines = ["set -e", "ip link set lo up", f"mount --bind {resolv} /etc/resolv.conf"]
    if hosts is not None:
        hosts_file = tmp_path / "hosts"
        hosts_file.write_text(hosts)
        lines.append(f"mount --bind {hosts_file} /etc/hosts")
    if extra_addr:
        lines.append(f"ip addr add {extra_addr}/32 dev lo")
    lines += [f"SERVER={shlex.quote(f'{sys.executable} {server}')}",
              f"ASSISTANT={console_script()}", "export SERVER ASSISTANT", body]
    proc = subprocess.run(["unshare", "-n", "-m", "--propagation", "private", "sh", "-c",
                           "\n".join(lines)], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "NO_COLOR": "1"})
    assert "Traceback" not in proc.stderr, proc.stderr
    assert "{" in proc.stdout, f"no report; stderr: {proc.stderr[-2000:]}"
    return proc.stdout


def start_then_ask(addr: str, family: str, question: str) -> str:
    """Shell: start a server on addr (port chosen by the kernel), then ask."""
    return (f"$SERVER {addr} 0 {family} 1 > port.txt 2>/dev/null &\nSPID=$!\n"
            "for i in $(seq 50); do [ -s port.txt ] && break; sleep 0.1; done\n"
            "PORT=$(cat port.txt)\n"
            f"$ASSISTANT --ask \"{question}\" --json || true\n"
            "kill $SPID")


def parse(out: str) -> dict[str, Any]:
    return json.loads(out[out.index("{"):])


def test_localhost_missing_from_hosts_file(tmp_path: Path) -> None:
    out = in_namespace(tmp_path, "$ASSISTANT --ask 'cannot connect to localhost:8080' --json || true",
                       hosts="127.0.0.1 devbox\n::1 devbox\n")
    rep = parse(out)
    assert rep["target"]["host"] == "localhost"
    top = rep["diagnoses"][0]
    assert (top["category"], top["rule"]) == ("name-resolution", "name.localhost_missing")
    assert "hosts-file-localhost" in top["kb"]


def test_curl_resolves_localhost_itself(tmp_path: Path) -> None:
    """curl (since 7.78) answers `localhost` without the resolver, so a missing
    hosts entry is not what failed it: the assistant must not blame it."""
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    body = ("TEXT=$(curl -sS http://localhost:8080/ 2>&1 || true)\n"
            "$ASSISTANT --ask \"$TEXT\" --json || true")
    rep = parse(in_namespace(tmp_path, body, hosts="127.0.0.1 devbox\n"))
    assert rep["target"]["client"] == "curl"
    if rep["target"]["error"] == "unresolved":  # an old curl that asks the resolver
        assert rep["diagnoses"][0]["category"] == "name-resolution"
    else:
        assert rep["diagnoses"][0]["category"] == "nothing-listening"
        assert "name.localhost_missing" not in [d["rule"] for d in rep["diagnoses"]]


def test_a_stale_hosts_line_is_named(tmp_path: Path) -> None:
    """Field trial 10: a hosts line left from an old setup sends api.dev.test
    to 127.0.0.2 while the API listens on 127.0.0.1. The answer was right
    about the addresses but never named the line the user must correct."""
    if shutil.which("curl") is None or shutil.which("getent") is None:
        pytest.skip("needs curl and getent")
    hosts = "127.0.0.1 localhost\n# the old compose setup\n127.0.0.2 api.dev.test\n"
    body = (f"cd {tmp_path}\n$SERVER 127.0.0.1 0 4 1 > port.txt 2>/dev/null &\nSPID=$!\n"
            "for i in $(seq 50); do [ -s port.txt ] && break; sleep 0.1; done\n"
            "PORT=$(cat port.txt)\n"
            "TEXT=$(curl -sS http://api.dev.test:$PORT/health 2>&1 || true)\n"
            "echo \"$TEXT\" > curl.txt\ngetent hosts api.dev.test > getent.txt\n"
            "$ASSISTANT --ask \"$TEXT\" --json || true\nkill $SPID")
    rep = parse(in_namespace(tmp_path, body, hosts=hosts))
    assert "Failed to connect to api.dev.test" in (tmp_path / "curl.txt").read_text()
    top = rep["diagnoses"][0]
    assert (top["rule"], top["category"]) == ("address.wrong_bind_hosts_line",
                                              "wrong-bind-address")
    assert "line 3 of /etc/hosts" in top["summary"] and "127.0.0.2 api.dev.test" in top["summary"]
    fixes = [f["command"] for f in top["fix"] if f["os"] == "linux"]
    assert fixes[:2] == ["getent hosts api.dev.test", "sudoedit /etc/hosts"]
    # the printed confirmation shows the line's address
    assert (tmp_path / "getent.txt").read_text().split() == ["127.0.0.2", "api.dev.test"]


def test_server_bound_to_a_lan_address(tmp_path: Path) -> None:
    body = (f"cd {tmp_path}\n" + start_then_ask("192.0.2.10", "4",
                                                "curl: (7) Failed to connect to 127.0.0.1 "
                                                "port $PORT after 0 ms: Couldn't connect to server"))
    rep = parse(in_namespace(tmp_path, body, extra_addr="192.0.2.10"))
    top = rep["diagnoses"][0]
    assert top["category"] == "wrong-bind-address"
    assert "192.0.2.10" in top["summary"]
    assert top["processes"] and top["processes"][0]["pid"] > 0


def test_swapped_digits_172_0_0_1(tmp_path: Path) -> None:
    body = (f"cd {tmp_path}\n" + start_then_ask(
        "127.0.0.1", "4", "curl: (28) Failed to connect to 172.0.0.1 port $PORT after 1501 ms: "
        "Timeout was reached"))
    rep = parse(in_namespace(tmp_path, body))
    assert rep["target"]["host"] == "172.0.0.1"
    top = rep["diagnoses"][0]
    assert top["category"] == "host-typo" and "127.0.0.1" in top["summary"]
    probe = [f for f in rep["findings"] if f["check"] == "probe"]
    # 172.0.0.1 is not an address of this machine: never dialled
    assert not probe or "not probed" in probe[0]["summary"]


def test_privileged_port_without_the_capability(tmp_path: Path) -> None:
    if shutil.which("node"):
        make_error = ("TEXT=$(node -e \"require('net').createServer().listen(80)\" 2>&1 "
                      "| grep -m1 EACCES || true)")
    else:
        make_error = "TEXT='Error: listen EACCES: permission denied 0.0.0.0:80'"
    body = (f"{make_error}\n"
            "$ASSISTANT --ask \"$TEXT\" --json || true")
    script = (f"exec setpriv --bounding-set=-net_bind_service -- sh -c {shlex.quote(body)}")
    rep = parse(in_namespace(tmp_path, script))
    assert rep["target"]["port"] == 80 and rep["target"]["error"] == "permission"
    top = rep["diagnoses"][0]
    assert top["category"] == "privileged-port"
    assert "privileged-ports" in top["kb"]


# --- real packet filters ---------------------------------------------------------

def _firewall_case(tmp_path: Path, setup: str, error: str = "curl http://127.0.0.1:$PORT/ hangs",
                   privileged: bool = True) -> dict[str, Any]:
    """Start a server in a private namespace, filter its port, then ask."""
    ask = f'$ASSISTANT --ask "{error}" --json --timeout 0.5 || true'
    if not privileged:  # the same, without CAP_NET_ADMIN: the rules cannot be read
        ask = f"setpriv --bounding-set=-net_admin -- sh -c {shlex.quote(ask)}"
    body = (f"cd {tmp_path}\n"
            "$SERVER 127.0.0.1 0 4 1 > port.txt 2>/dev/null &\nSPID=$!\n"
            "for i in $(seq 50); do [ -s port.txt ] && break; sleep 0.1; done\n"
            "PORT=$(cat port.txt); export PORT\n"
            f"{setup}\n{ask}\nkill $SPID")
    return parse(in_namespace(tmp_path, body))


NFT_TABLE = ('nft add table inet t && nft add chain inet t input '
             '"{ type filter hook input priority 0; policy accept; }"')


def _need(tool: str) -> None:
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed (.ci/run installs it)")


def test_nft_drop(tmp_path: Path) -> None:
    _need("nft")
    rep = _firewall_case(tmp_path, f"{NFT_TABLE} && nft add rule inet t input tcp dport $PORT drop")
    top = rep["diagnoses"][0]
    assert (top["category"], top["rule"]) == ("firewall", "firewall.rule_blocks")
    assert "drop" in top["summary"] and "tcp dport" in top["evidence"][0]
    assert any("nft delete rule inet t input handle" in f["command"] for f in top["fix"])
    assert next(f for f in rep["findings"] if f["check"] == "probe")["summary"].count("timeout")


def test_nft_reject_with_a_set(tmp_path: Path) -> None:
    _need("nft")
    rep = _firewall_case(
        tmp_path, f"{NFT_TABLE} && nft add set inet t ports '{{ type inet_service; }}' && "
                  "nft add element inet t ports \"{ $PORT }\" && "
                  "nft add rule inet t input tcp dport @ports reject with tcp reset",
        error="connect ECONNREFUSED 127.0.0.1:$PORT")
    top = rep["diagnoses"][0]
    assert top["category"] == "firewall" and "reject" in top["summary"]
    assert "@ports" in top["evidence"][0]


def test_iptables_nft_backend_reject(tmp_path: Path) -> None:
    _need("iptables")
    rep = _firewall_case(tmp_path, "iptables -A INPUT -p tcp --dport $PORT -j REJECT",
                         error="connect ECONNREFUSED 127.0.0.1:$PORT")
    top = rep["diagnoses"][0]
    assert top["category"] == "firewall" and "reject" in top["summary"]


def test_iptables_legacy_drop(tmp_path: Path) -> None:
    _need("iptables-legacy")
    rep = _firewall_case(tmp_path, "iptables-legacy -A INPUT -i lo -p tcp --dport $PORT -j DROP")
    top = rep["diagnoses"][0]
    assert (top["category"], top["rule"]) == ("firewall", "firewall.iptables_rule_blocks")
    assert "-j DROP" in top["evidence"][0]
    # legacy rules are changed with iptables-legacy (iptables may well be iptables-nft)
    assert any(f["command"].startswith("sudo iptables-legacy -D INPUT -i lo -p tcp -m tcp")
               for f in top["fix"])


def test_drop_policy_on_output(tmp_path: Path) -> None:
    _need("nft")
    rep = _firewall_case(tmp_path, 'nft add table ip t && nft add chain ip t out '
                                   '"{ type filter hook output priority 0; policy drop; }"')
    top = rep["diagnoses"][0]
    assert (top["category"], top["rule"]) == ("firewall", "firewall.policy_blocks")


def test_filters_unreadable_without_privilege(tmp_path: Path) -> None:
    _need("nft")
    rep = _firewall_case(tmp_path, f"{NFT_TABLE} && nft add rule inet t input tcp dport $PORT drop",
                         privileged=False)
    top = rep["diagnoses"][0]
    assert (top["category"], top["rule"], top["severity"]) == ("firewall", "firewall.likely",
                                                               "warning")
    fw = next(f for f in rep["findings"] if f["check"] == "firewall")
    assert fw["status"] == "unknown" and "sudo nft" in fw["summary"]
    assert any(f["command"] == "sudo nft list ruleset" for f in top["fix"])


def test_ipv6_reject_with_ip6tables(tmp_path: Path) -> None:
    _need("ip6tables")
    body = (f"cd {tmp_path}\n"
            "$SERVER ::1 0 6 1 > port.txt 2>/dev/null &\nSPID=$!\n"
            "for i in $(seq 50); do [ -s port.txt ] && break; sleep 0.1; done\n"
            "PORT=$(cat port.txt); export PORT\n"
            "ip6tables -A INPUT -p tcp --dport $PORT -j REJECT --reject-with tcp-reset\n"
            '$ASSISTANT --ask "connect ECONNREFUSED ::1:$PORT" --json --timeout 0.5 || true\n'
            "kill $SPID")
    rep = parse(in_namespace(tmp_path, body))
    top = rep["diagnoses"][0]
    assert top["category"] == "firewall" and "reject" in top["summary"]
