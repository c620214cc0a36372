"""Real packet filters in private namespaces: a server, the rules, the real
client's error, the assistant's answer, then its fix pasted into the shell
and the client working again.

Each case runs in `unshare -n -m -p -f`: its own loopback, mount table and
pid space, so rules, daemons (fail2ban, firewalld, dbus) and servers vanish
with it. ufw, fail2ban and firewalld work on private copies of their
configuration (tmpfs over /etc/ufw, /etc/fail2ban, /etc/firewalld, /run),
never the host's; a script refuses to run in the host's namespaces. CI runs
these as root and fails if they skip (.ci/run installs the tools).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support import console_script

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0,
                       reason="needs root for network, mount and pid namespaces"),
    pytest.mark.skipif(shutil.which("unshare") is None or shutil.which("ip") is None,
                       reason="needs unshare (util-linux) and ip (iproute2)"),
]

# An HTTP server that prints its port and answers every request with 200.
HTTP = textwrap.dedent("""
    import socket, sys, threading
    host = sys.argv[1]
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, 0))
    s.listen(int(sys.argv[2]) if len(sys.argv) > 2 else 64)
    print(s.getsockname()[1], flush=True)
    if len(sys.argv) > 2:  # a backlog given: never accept (a full accept queue)
        threading.Event().wait()
    def serve(c):
        try:
            c.recv(65536)
            c.sendall(b"HTTP/1.0 200 OK\\r\\nContent-Length: 3\\r\\n\\r\\nok\\n")
        except OSError:
            pass
        c.close()
    while True:
        c, _ = s.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()
""")

PROLOGUE = """
set -e
if [ "$(readlink /proc/self/ns/net)" = "$HOST_NETNS" ] \\
   || [ "$(readlink /proc/self/ns/mnt)" = "$HOST_MNTNS" ]; then
  echo "refusing: not in a private namespace" >&2; exit 97
fi
mount --make-rprivate /
ip link set lo up
cd "$WORK"
command -v sudo >/dev/null 2>&1 || sudo() { "$@"; }
"""

# Private copies of each frontend's configuration and run-time state.
UFW = """
mkdir -p ufw && cp -a /etc/ufw ufw/etc && cp -a /lib/ufw ufw/lib && cp -a /etc/default ufw/default
mount -t tmpfs ufw /etc/ufw && cp -a ufw/etc/. /etc/ufw/
mount -t tmpfs ufw /lib/ufw && cp -a ufw/lib/. /lib/ufw/
mount -t tmpfs ufw /etc/default && cp -a ufw/default/. /etc/default/
mount -t tmpfs run /run
: > ufw/sysctl.conf
sed -i "s#^IPT_SYSCTL=.*#IPT_SYSCTL=$WORK/ufw/sysctl.conf#" /etc/default/ufw
"""
FAIL2BAN = """
mkdir -p f2b && cp -a /etc/fail2ban f2b/conf
mount -t tmpfs f2b /etc/fail2ban && cp -a f2b/conf/. /etc/fail2ban/ && rm -f /etc/fail2ban/jail.d/*
mount -t tmpfs run /run && mkdir -p /run/fail2ban
cat > /etc/fail2ban/fail2ban.local <<CONF
[DEFAULT]
logtarget = $WORK/f2b/fail2ban.log
dbfile = :memory:
CONF
: > f2b/auth.log
"""
F2B_JAIL = """
cat > /etc/fail2ban/jail.local <<CONF
[DEFAULT]
backend = polling
banaction = {action}
[sshd]
enabled = true
port = ssh,$PORT
logpath = $WORK/f2b/auth.log
CONF
fail2ban-client start >/dev/null
for i in $(seq 100); do fail2ban-client ping >/dev/null 2>&1 && break; sleep 0.1; done
fail2ban-client set sshd banip 127.0.0.1 >/dev/null
"""
FIREWALLD = """
mkdir -p fwd && cp -a /etc/firewalld fwd/etc
mount -t tmpfs fwd /etc/firewalld && cp -a fwd/etc/. /etc/firewalld/
mount -t tmpfs run /run && mkdir -p /run/dbus
dbus-daemon --system --fork --nopidfile
firewalld --nofork --nopid --log-target file --log-file "$WORK/fwd/firewalld.log" &
for i in $(seq 150); do [ "$(firewall-cmd --state 2>/dev/null)" = running ] && break; sleep 0.2; done
firewall-cmd --state >/dev/null
"""

STEPS = """
{py} http.py {host} {backlog} > port.txt &
for i in $(seq 50); do [ -s port.txt ] && break; sleep 0.1; done
PORT=$(cat port.txt); URL="http://{url_host}:$PORT/"; export PORT URL
{setup}
set +e
{before}
CLIENT="curl -sS -m 2 -o /dev/null $URL"
ERR=$({as_user} $CLIENT 2>&1)
printf '$ %s\\n%s' "$CLIENT" "$ERR" > ask.txt
{ask_prefix}"$ASSISTANT" --ask "{question}" --json --timeout 0.5 > report.json 2> assistant.err
{py} -c '
import json, sys
fixes = [f["command"] for d in json.load(open("report.json"))["diagnoses"] for f in d["fix"]]
chosen = [c for c in fixes if c.startswith(sys.argv[1])]
print(chr(10).join(chosen if sys.argv[2] == "all" else chosen[:1]))' "$FIX" "$FIXES" > fix.txt
if [ -s fix.txt ]; then eval "$(cat fix.txt)" > fix.out 2>&1; echo $? > fix.rc; fi
{after}
{as_user} curl -sS -m 2 -o /dev/null -w '%{{http_code}}' "$URL" > after.txt 2>&1
exit 0
"""


@dataclass
class Run:
    report: dict[str, Any]
    fix: str             # the command pasted (empty: none started with the prefix)
    fix_output: str
    after: str           # the client's status after the fix: "200" when it works
    asked: str

    @property
    def top(self) -> dict[str, Any]:
        return self.report["diagnoses"][0]

    def fixes(self) -> list[str]:
        return [f["command"] for d in self.report["diagnoses"] for f in d["fix"]]

    def finding(self, check: str) -> dict[str, Any]:
        return next(f for f in self.report["findings"] if f["check"] == check)


def need(*tools: str) -> None:
    for tool in tools:
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (.ci/run installs it)")


def scenario(tmp_path: Path, setup: str, fix: str, *, private: str = "", before: str = "",
             after: str = "", as_user: str = "", host: str = "127.0.0.1", backlog: str = "",
             question: str = '$(cat ask.txt)', ask_prefix: str = "", every: bool = False) -> Run:
    """Build it, fail the client, ask, paste the first fix starting with `fix`
    (`every`: all of them, in order), retry."""
    (tmp_path / "http.py").write_text(HTTP)
    script = PROLOGUE + private + STEPS.format(
        py=sys.executable, host=host, backlog=backlog, setup=setup, before=before,
        after=after, as_user=as_user, question=question, ask_prefix=ask_prefix,
        url_host={"::": "127.0.0.1", "0.0.0.0": "127.0.0.1"}.get(host, f"[{host}]" if ":" in host
                                                                   else host))
    env = {**os.environ, "NO_COLOR": "1", "WORK": str(tmp_path), "FIX": fix,
           "FIXES": "all" if every else "first",
           "ASSISTANT": str(console_script()),
           "HOST_NETNS": os.readlink("/proc/self/ns/net"),
           "HOST_MNTNS": os.readlink("/proc/self/ns/mnt")}
    proc = subprocess.run(["unshare", "-n", "-m", "-p", "-f", "--mount-proc", "bash", "-c",
                           script], capture_output=True, text=True, timeout=180, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    err = (tmp_path / "assistant.err").read_text()
    assert "Traceback" not in err, err

    def read(name: str) -> str:
        p = tmp_path / name
        return p.read_text().strip() if p.exists() else ""

    return Run(json.loads(read("report.json")), read("fix.txt"), read("fix.out"),
               read("after.txt"), read("ask.txt"))


def worked(run: Run) -> None:
    """The client failed before, and works once the fix is pasted."""
    assert "curl: (" in run.asked, run.asked
    assert run.fix, f"no such fix in {run.fixes()}"
    assert run.after == "200", (run.fix, run.fix_output, run.after)


# --- nftables ------------------------------------------------------------------------

def test_verdict_map_element(tmp_path: Path) -> None:
    need("nft", "curl")
    run = scenario(tmp_path, """
nft add table inet filter
nft add chain inet filter input '{ type filter hook input priority 0; policy accept; }'
nft add rule inet filter input tcp dport vmap "{ 22 : accept, $PORT : drop }"
""", fix="sudo nft replace rule")
    assert (run.top["rule"], run.top["category"]) == ("firewall.rule_blocks", "firewall")
    assert "vmap { 22 : accept," in run.top["evidence"][0]
    worked(run)


def test_raw_prerouting(tmp_path: Path) -> None:
    need("nft", "curl")
    run = scenario(tmp_path, """
nft add table ip raw
nft add chain ip raw prerouting '{ type filter hook prerouting priority -300; }'
nft add rule ip raw prerouting tcp dport $PORT counter drop
""", fix="sudo nft delete rule ip raw prerouting handle")
    assert run.top["rule"] == "firewall.rule_blocks" and "hook prerouting" in run.top["summary"]
    worked(run)


def test_netdev_ingress_on_lo(tmp_path: Path) -> None:
    need("nft", "curl")
    run = scenario(tmp_path, """
nft add table netdev n
nft add chain netdev n c '{ type filter hook ingress device lo priority 0; }'
nft add rule netdev n c tcp dport $PORT counter drop
""", fix="sudo nft insert rule netdev n c iifname lo accept")
    assert run.top["rule"] == "firewall.rule_blocks" and "hook ingress" in run.top["summary"]
    worked(run)


def test_output_hook_gets_an_output_interface(tmp_path: Path) -> None:
    need("nft", "curl")
    run = scenario(tmp_path, """
nft add table inet filter
nft add chain inet filter output '{ type filter hook output priority 0; policy drop; }'
""", fix="sudo nft insert rule inet filter output oifname lo accept")
    assert run.top["rule"] == "firewall.policy_blocks"
    assert not [c for c in run.fixes() if "iifname" in c or " -i lo" in c]
    worked(run)


def test_ipv6_policy_in_the_ip6_family(tmp_path: Path) -> None:
    need("nft", "curl")
    run = scenario(tmp_path, """
nft add table ip6 filter
nft add chain ip6 filter input '{ type filter hook input priority 0; policy drop; }'
""", fix="sudo nft insert rule ip6 filter input iifname lo accept", host="::1")
    assert run.top["rule"] == "firewall.policy_blocks" and "IPv6" in run.top["summary"]
    worked(run)


def test_named_set_element(tmp_path: Path) -> None:
    need("nft", "curl")
    run = scenario(tmp_path, """
nft add table inet filter
nft add set inet filter blocked '{ type inet_service; flags interval; }'
nft add element inet filter blocked "{ 6379, $PORT }"
nft add chain inet filter input '{ type filter hook input priority 0; policy accept; }'
nft add rule inet filter input tcp dport @blocked counter drop
""", fix="sudo nft delete element inet filter blocked")
    assert run.fix.endswith("blocked '{ " + run.report["target"]["port"].__str__() + " }'")
    worked(run)


def test_sets_of_addresses_for_both_families(tmp_path: Path) -> None:
    """A dual-stack server, asked about 127.0.0.1: the ::1 rule needs its own fix."""
    need("nft", "curl")
    run = scenario(tmp_path, """
nft add table inet filter
nft add set inet filter blocked4 '{ type ipv4_addr; flags interval; }'
nft add set inet filter blocked6 '{ type ipv6_addr; flags interval; }'
nft add element inet filter blocked4 '{ 10.0.0.0/8, 127.0.0.0/8 }'
nft add element inet filter blocked6 '{ ::1, fc00::/7 }'
nft add chain inet filter input '{ type filter hook input priority 0; policy accept; }'
nft add rule inet filter input ip saddr @blocked4 tcp dport $PORT reject
nft add rule inet filter input ip6 saddr @blocked6 tcp dport $PORT reject
""", fix="sudo nft delete element", every=True, host="::",
                   after='curl -sS -m 2 -o /dev/null -w "%{http_code}" "http://[::1]:$PORT/" > after6.txt')
    assert run.report["target"]["host"] == "127.0.0.1"
    assert [d["rule"] for d in run.report["diagnoses"]] == ["firewall.rule_blocks"]
    assert run.fix.splitlines() == ["sudo nft delete element inet filter blocked4 '{ 127.0.0.0/8 }'",
                                    "sudo nft delete element inet filter blocked6 '{ ::1 }'"]
    assert (tmp_path / "after6.txt").read_text() == "200"
    worked(run)


# --- iptables-nft and iptables-legacy ------------------------------------------------------

def test_multiport_jump_into_a_chain(tmp_path: Path) -> None:
    need("iptables", "curl")
    run = scenario(tmp_path, """
iptables -N f2b-sshd
iptables -A f2b-sshd -s 127.0.0.1/32 -j REJECT --reject-with icmp-port-unreachable
iptables -A f2b-sshd -j RETURN
iptables -I INPUT 1 -p tcp -m multiport --dports 80,443,$PORT -j f2b-sshd
""", fix="sudo iptables -D f2b-sshd")
    assert run.top["rule"] == "firewall.iptables_rule_blocks"
    assert "-A f2b-sshd -s 127.0.0.1/32 -j REJECT" in run.top["evidence"][0]
    worked(run)


def test_mangle_prerouting(tmp_path: Path) -> None:
    need("iptables", "curl")
    run = scenario(tmp_path, "iptables -t mangle -A PREROUTING -i lo -p tcp --dport $PORT -j DROP",
                   fix="sudo iptables -t mangle -D PREROUTING")
    assert run.top["rule"] == "firewall.iptables_rule_blocks"
    worked(run)


def test_legacy_rule_gets_legacy_commands(tmp_path: Path) -> None:
    need("iptables-legacy", "nft", "curl")
    run = scenario(tmp_path, "iptables-legacy -A INPUT -p tcp --dport $PORT -j DROP",
                   fix="sudo iptables-legacy -D INPUT")
    assert run.top["rule"] == "firewall.iptables_rule_blocks"
    assert not [c for c in run.fixes() if c.startswith("sudo iptables ")]
    worked(run)


# --- conditional blocks ---------------------------------------------------------------

def test_connlimit_with_two_connections_held(tmp_path: Path) -> None:
    need("iptables", "curl")
    hold = (f"{sys.executable} -c 'import socket,time; s=socket.create_connection"
            "((\"127.0.0.1\", int(\"'$PORT'\"))); time.sleep(600)' &")
    run = scenario(tmp_path, f"""
iptables -A INPUT -p tcp --syn --dport $PORT -m connlimit --connlimit-above 2 \\
  --connlimit-mask 32 -j REJECT --reject-with tcp-reset
{hold}
{hold}
sleep 0.5
""", fix="sudo iptables -D INPUT")
    assert run.top["rule"] == "firewall.conditional_blocks"
    assert "more than 2 connections from 127.0.0.1 are open (2 open now" in run.top["summary"]
    assert "ss -tnp state established" in run.fixes()[0]
    worked(run)


def test_syn_rate_limit_then_drop(tmp_path: Path) -> None:
    need("iptables", "curl")
    run = scenario(tmp_path, """
iptables -A INPUT -p tcp --syn --dport $PORT -m limit --limit 1/min --limit-burst 1 -j ACCEPT
iptables -A INPUT -p tcp --syn --dport $PORT -j DROP
""", before="curl -sS -m 2 -o /dev/null $URL", fix="sudo iptables -D INPUT")
    assert run.top["rule"] == "firewall.conditional_blocks"
    assert "-m limit --limit 1/min --limit-burst 1" in run.top["summary"]
    assert "-j ACCEPT" in run.top["evidence"][1]
    worked(run)


def test_recent_list(tmp_path: Path) -> None:
    need("iptables", "curl")
    run = scenario(tmp_path, """
iptables -A INPUT -p tcp --syn --dport $PORT -m recent --name web --set
iptables -A INPUT -p tcp --syn --dport $PORT -m recent --name web --update --seconds 60 --hitcount 2 -j DROP
""", before="curl -sS -m 2 -o /dev/null $URL", fix="echo -127.0.0.1 |")
    assert run.top["rule"] == "firewall.conditional_blocks"
    assert "on the recent list web" in run.top["summary"]
    worked(run)  # forgotten: the next connection is the list's first again


def test_nft_ct_count_over(tmp_path: Path) -> None:
    need("nft", "curl")
    hold = (f"{sys.executable} -c 'import socket,time; s=socket.create_connection"
            "((\"127.0.0.1\", int(\"'$PORT'\"))); time.sleep(600)' &")
    run = scenario(tmp_path, f"""
nft add table inet filter
nft add set inet filter conncount '{{ type ipv4_addr; flags dynamic; }}'
nft add chain inet filter input '{{ type filter hook input priority 0; policy accept; }}'
nft add rule inet filter input tcp dport $PORT ct state new \\
  add @conncount '{{ ip saddr ct count over 2 }}' counter reject with tcp reset
{hold}
{hold}
sleep 0.5
""", fix="sudo nft delete rule inet filter input handle")
    assert run.top["rule"] == "firewall.conditional_blocks" and "(2 open now" in run.top["summary"]
    worked(run)


def test_nft_limit_rate_over(tmp_path: Path) -> None:
    need("nft", "curl")
    run = scenario(tmp_path, """
nft add table inet filter
nft add chain inet filter input '{ type filter hook input priority 0; policy accept; }'
nft add rule inet filter input tcp dport $PORT ct state new \\
  limit rate over 1/minute burst 1 packets counter drop
""", before="curl -sS -m 2 -o /dev/null $URL", fix="sudo nft delete rule inet filter input")
    assert run.top["rule"] == "firewall.conditional_blocks"
    assert "limit rate over 1/minute burst 1 packets" in run.top["summary"]
    worked(run)


# --- rules for some users only ------------------------------------------------------------

NOBODY = "setpriv --reuid 65534 --regid 65534 --clear-groups"


def test_owner_rule_tested_as_its_user(tmp_path: Path) -> None:
    need("iptables", "curl", "setpriv")
    run = scenario(tmp_path, "iptables -A OUTPUT -o lo -p tcp --dport $PORT -m owner "
                   "--uid-owner 65534 -j REJECT", fix="sudo iptables -D OUTPUT", as_user=NOBODY)
    assert "Failed to connect" in run.asked  # the user's client was refused; root's works
    assert run.top["rule"] == "firewall.user_blocks"
    assert "a connect as uid 65534 ends refused" in run.top["summary"]
    assert "port.reachable" not in [d["rule"] for d in run.report["diagnoses"]]
    worked(run)


def test_nft_skuid_rule(tmp_path: Path) -> None:
    need("nft", "curl", "setpriv")
    run = scenario(tmp_path, """
nft add table inet filter
nft add chain inet filter output '{ type filter hook output priority 0; policy accept; }'
nft add rule inet filter output meta skuid 65534 tcp dport $PORT counter drop
""", fix="sudo nft insert rule inet filter output oifname lo accept", as_user=NOBODY)
    assert run.top["rule"] == "firewall.user_blocks" and "ends timeout" in run.top["summary"]
    worked(run)


# --- frontends ----------------------------------------------------------------------------

def test_ufw_without_its_loopback_accept(tmp_path: Path) -> None:
    need("ufw", "curl")
    run = scenario(tmp_path, """
for f in /etc/ufw/before.rules /etc/ufw/before6.rules; do
  sed -i '/^-A ufw6\\?-before-input -i lo -j ACCEPT$/d' $f
  sed -i '/^-A ufw6\\?-before-output -o lo -j ACCEPT$/d' $f
done
ufw default deny incoming >/dev/null
ufw allow 22/tcp >/dev/null
ufw --force enable >/dev/null
""", fix="sudo ufw", private=UFW)
    assert (run.top["rule"], run.top["category"]) == ("firewall.frontend_blocks", "firewall")
    assert run.top["summary"].startswith("ufw drops connections")
    assert run.fix == "sudo ufw insert 1 allow in on lo"
    worked(run)


def test_ufw_deny_does_not_apply_to_loopback(tmp_path: Path) -> None:
    need("ufw", "curl")
    run = scenario(tmp_path, """
ufw default deny incoming >/dev/null
ufw deny $PORT/tcp >/dev/null
ufw --force enable >/dev/null
""", fix="-", private=UFW,
        question='I ran sudo ufw deny $PORT/tcp but curl http://127.0.0.1:$PORT/ still connects')
    assert (run.top["rule"], run.top["category"]) == ("firewall.loopback_exempt", "reachable")
    assert "-A ufw-before-input -i lo -j ACCEPT" in run.top["evidence"][0]


def test_full_accept_queue_behind_ufw(tmp_path: Path) -> None:
    """The filter lets loopback through; the listener never accepts. Nothing
    about the firewall is blamed (the accept queue is another rule's)."""
    need("ufw", "curl")
    fill = (f"for i in 1 2 3 4; do {sys.executable} -c 'import socket,time; "
            "s=socket.socket(); s.settimeout(1)\ntry: s.connect((\"127.0.0.1\", int(\"'$PORT'\")))"
            "\nexcept OSError: pass\ntime.sleep(600)' & done; sleep 1.5")
    run = scenario(tmp_path, f"""
ufw default deny incoming >/dev/null
ufw deny $PORT/tcp >/dev/null
ufw --force enable >/dev/null
{fill}
""", fix="-", private=UFW, backlog="1")
    assert run.report["target"]["error"] == "timeout"
    assert not [d for d in run.report["diagnoses"] if d["category"] == "firewall"]
    fw = run.finding("firewall")
    assert fw["status"] == "ok" and "ufw-before-input accepts it first" in fw["summary"]


@pytest.mark.parametrize("action", ["nftables-multiport", "iptables-multiport"])
def test_fail2ban_ban(tmp_path: Path, action: str) -> None:
    need("fail2ban-client", "nft", "iptables", "curl")
    run = scenario(tmp_path, F2B_JAIL.format(action=action), fix="sudo fail2ban-client",
                   private=FAIL2BAN)
    assert run.top["rule"] == "firewall.frontend_blocks"
    assert run.top["summary"].startswith("fail2ban rejects connections")
    assert run.fix == "sudo fail2ban-client set sshd unbanip 127.0.0.1"
    worked(run)


@pytest.mark.parametrize("fix", ["sudo firewall-cmd", "sudo nft insert rule"])
def test_firewalld_panic_mode(tmp_path: Path, fix: str) -> None:
    """Panic mode drops on the way out and again on the way in: the raw fixes
    come for both chains, and only both together do it."""
    need("firewalld", "firewall-cmd", "dbus-daemon", "curl")
    run = scenario(tmp_path, "firewall-cmd --panic-on >/dev/null", fix=fix, private=FIREWALLD,
                   every=fix.startswith("sudo nft"))
    assert [d["rule"] for d in run.report["diagnoses"]] == [
        "firewall.frontend_blocks", "firewall.then_frontend_blocks"]
    assert run.fix == ("sudo firewall-cmd --panic-off" if fix == "sudo firewall-cmd" else
                       "sudo nft insert rule inet firewalld_policy_drop raw_output oifname lo accept\n"
                       "sudo nft insert rule inet firewalld_policy_drop raw_prerouting iifname lo "
                       "accept")
    worked(run)


def test_firewalld_direct_rule(tmp_path: Path) -> None:
    need("firewalld", "firewall-cmd", "dbus-daemon", "curl")
    run = scenario(tmp_path, "firewall-cmd --direct --add-rule ipv4 filter INPUT 0 -p tcp "
                   "--dport $PORT -j REJECT >/dev/null", fix="sudo firewall-cmd",
                   private=FIREWALLD)
    assert run.top["rule"] == "firewall.frontend_blocks"
    assert run.fix.startswith("sudo firewall-cmd --direct --remove-rule ipv4 filter INPUT 0 -p "
                              "tcp --dport ")
    worked(run)
