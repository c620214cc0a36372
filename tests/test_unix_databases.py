"""PostgreSQL, MariaDB and Redis on UNIX sockets in private directories, the
real psql, mysql and redis-cli producing the text, the assistant reading
it. Servers run as their own users when the tests run as root (as CI does),
as the current user otherwise; a test skips, saying why, when a server's
binaries are not installed (.ci/run installs them)."""

from __future__ import annotations

import os
import pwd
import shlex
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support import free_port, run_cli, run_script
from tests.unixsupport import (
    ROOT,
    as_user,
    assistant_as,
    binary,
    killing,
    listening_sockets,
    need,
    need_root,
    open_dir,
    run,
    top,
    user_ids,
    wait_listening,
)


def redis_on_tcp() -> bool:
    """A Redis server of this machine (not a test's) listening on TCP."""
    import psutil

    for c in psutil.net_connections("tcp"):
        if c.status == psutil.CONN_LISTEN and c.pid:
            try:
                if psutil.Process(c.pid).name() == "redis-server":
                    return True
            except psutil.Error:
                continue
    return False


def ask(text: str) -> tuple[int, dict]:
    r = run_cli("--ask", text, "--json")
    return r.code, r.json


def service_user(name: str) -> list[str]:
    """argv prefix running a server as its own account (root) or as us."""
    if not ROOT:
        return []
    try:
        uid, gid = user_ids(name)
    except KeyError:
        pytest.skip(f"the {name} account does not exist (its server package creates it)")
    home = pwd.getpwuid(uid).pw_dir
    return as_user(uid, gid, home)


def own(path: Path, name: str) -> None:
    if ROOT:
        uid, gid = user_ids(name)
        os.chown(path, uid, gid)


# --- PostgreSQL --------------------------------------------------------------

@dataclass
class Pg:
    bindir: str
    root: Path
    prefix: list[str]
    port: int = field(default_factory=free_port)

    @property
    def sock(self) -> Path:
        return self.root / "sock"

    def ctl(self, *args: str) -> tuple[int, str]:
        return run(self.prefix + [f"{self.bindir}/pg_ctl", "-D", str(self.root / "data"),
                                  "-l", str(self.root / "log"), *args], timeout=60)

    def start(self, opts: str) -> None:
        self.stop()
        code, out = self.ctl("-w", "-o", f"-p {self.port} {opts}", "start")
        assert code == 0, out + (self.root / "log").read_text()

    def stop(self) -> None:
        if (self.root / "data" / "postmaster.pid").exists():
            self.ctl("-m", "immediate", "-w", "stop")

    def kill(self) -> None:
        pid = int((self.root / "data" / "postmaster.pid").read_text().split()[0])
        os.kill(pid, signal.SIGKILL)
        for _ in range(50):  # its children notice and exit
            if not run(["pgrep", "-f", str(self.root / "data")])[1].strip():
                break
            time.sleep(0.1)


def psql(*args: str, prefix: list[str] | None = None) -> str:
    code, out = run((prefix or []) + ["psql", "-X", "-U", "postgres", *args, "-c", "select 1"],
                    env={"PGCONNECT_TIMEOUT": "5"})
    assert code != 0 or "(1 row)" in out, out
    return out


@pytest.fixture(scope="module")
def pg() -> Iterator[Pg]:
    need("psql")
    initdb = binary("/usr/lib/postgresql/*/bin/initdb", "/usr/local/pgsql/bin/initdb")
    prefix = service_user("postgres")
    root = open_dir("pgsock-")
    for d in ("sock", "elsewhere"):
        (root / d).mkdir()
    for p in (root, root / "sock", root / "elsewhere"):
        own(p, "postgres")
    code, out = run(prefix + [initdb, "-D", str(root / "data"), "-A", "trust", "-U", "postgres",
                              "--no-sync"], timeout=120)
    assert code == 0, out
    cluster = Pg(os.path.dirname(initdb), root, prefix)
    yield cluster
    cluster.stop()
    shutil.rmtree(root, ignore_errors=True)


def socket_only(pg: Pg) -> str:
    return f"-c unix_socket_directories={pg.sock} -c listen_addresses=''"


def test_pg_socket_in_another_directory(pg: Pg) -> None:
    pg.start(socket_only(pg))
    out = psql("-h", str(pg.root / "elsewhere"), "-p", str(pg.port))
    assert "No such file or directory" in out
    code, rep = ask(out)
    assert top(rep) == ("unix.pg_other_dir", "wrong-bind-address") and code == 1
    fix = f"psql -h {pg.sock} -p {pg.port}"
    assert fix in [f["command"] for f in rep["diagnoses"][0]["fix"]]
    assert "(1 row)" in psql(*fix.split()[1:])  # the printed fix works


def test_pg_socket_elsewhere_keeps_the_pasted_role_and_database(pg: Pg) -> None:
    """Field trial 10: the printed psql line dropped the user's -d postgres,
    and without it psql asked for a database named after the user."""
    pg.start(socket_only(pg))
    cmd = f"psql -h {pg.root / 'elsewhere'} -p {pg.port} -U postgres -d postgres"
    code, out = run(pg.prefix + cmd.split(), env={"PGCONNECT_TIMEOUT": "5"})
    assert "No such file or directory" in out, out
    code, rep = ask(f"$ {cmd}\n{out}")
    assert top(rep) == ("unix.pg_other_dir", "wrong-bind-address") and code == 1
    fix = f"psql -h {pg.sock} -p {pg.port} -U postgres -d postgres"
    assert fix in [f["command"] for f in rep["diagnoses"][0]["fix"]]
    code, shown = run(pg.prefix + fix.split() + ["-X", "-c", "select current_database()"],
                      env={"PGCONNECT_TIMEOUT": "5"})
    assert code == 0 and "postgres" in shown, shown  # the printed fix works as printed


def test_pg_socket_elsewhere_beats_its_tcp_port(pg: Pg) -> None:
    """Field trial 8: the cluster listens on TCP and on its socket in another
    directory; 'psql -h 127.0.0.1' asks a password the socket does not."""
    pg.start(f"-c unix_socket_directories={pg.sock} -c listen_addresses=127.0.0.1")
    out = psql("-h", str(pg.root / "elsewhere"), "-p", str(pg.port))
    code, rep = ask(out)
    assert top(rep) == ("unix.pg_other_dir", "wrong-bind-address") and code == 1
    assert f"psql -h {pg.sock} -p {pg.port}" in [f["command"] for f in rep["diagnoses"][0]["fix"]]


def test_pg_other_port_beside_it(pg: Pg) -> None:
    pg.start(socket_only(pg))
    out = psql("-h", str(pg.sock), "-p", str(pg.port + 1))
    code, rep = ask(out)
    assert top(rep) == ("unix.pg_other_port", "port-typo") and code == 1
    assert str(pg.port) in rep["diagnoses"][0]["summary"]


def test_pg_on_another_port_in_another_directory(pg: Pg) -> None:
    """Field trial 8: psql's defaults (another directory, another port) while
    the only cluster runs with its own port and socket directory. It is
    running: say where, not "PostgreSQL is not running"."""
    pg.start(socket_only(pg))
    out = psql("-h", str(pg.root / "elsewhere"), "-p", str(pg.port + 2))
    assert "No such file or directory" in out
    code, rep = ask(out)
    assert top(rep) == ("unix.pg_other_port", "port-typo") and code == 1
    fixes = [f["command"] for f in rep["diagnoses"][0]["fix"]]
    fix = f"psql -h {pg.sock} -p {pg.port}"
    assert fix in fixes
    assert "(1 row)" in psql(*fix.split()[1:])  # the printed fix works
    export = next(f for f in fixes if f.startswith("export PGHOST="))
    assert export == f"export PGHOST={pg.sock} PGPORT={pg.port}"
    code, out = run(["sh", "-c", export + " && psql -X -U postgres -c 'select 1'"],
                    env={"PGCONNECT_TIMEOUT": "5"})
    assert "(1 row)" in out, out


def test_pg_unknown_database_on_its_socket(pg: Pg) -> None:
    """Field trial 8: 'FATAL: database "x" does not exist' on the socket got
    only 'the socket works, the failure is above it'."""
    pg.start(socket_only(pg))
    out = psql("-h", str(pg.sock), "-p", str(pg.port), "-d", "nosuchdb")
    assert 'database "nosuchdb" does not exist' in out
    code, rep = ask(out)
    assert top(rep) == ("answer.pg_unknown_db_socket", "reachable")
    listing = rep["diagnoses"][0]["fix"][0]["command"]
    assert listing == f"psql -h {pg.sock} -p {pg.port} -d postgres -l"
    code, shown = run(pg.prefix + listing.split(), env={"PGCONNECT_TIMEOUT": "5"})
    assert code == 0 and "postgres" in shown, shown  # the printed command works


def test_pg_socket_only_and_psql_dials_tcp(pg: Pg) -> None:
    """unix-psql-socket-only-tcp-localhost, through the installed script."""
    pg.start(socket_only(pg))
    out = psql("-h", "127.0.0.1", "-p", str(pg.port))
    assert "Connection refused" in out
    r = run_script("--ask", out, "--json")
    assert (r.json["diagnoses"][0]["rule"], r.json["diagnoses"][0]["category"], r.code) == \
        ("unix.pg_socket_only", "wrong-bind-address", 1)
    assert "port.nothing_listening" not in [d["rule"] for d in r.json["diagnoses"]]


def test_pg_tcp_only(pg: Pg) -> None:
    pg.start("-c unix_socket_directories='' -c listen_addresses=127.0.0.1")
    out = psql("-h", str(pg.sock), "-p", str(pg.port))
    code, rep = ask(out)
    assert top(rep) == ("unix.pg_on_tcp", "wrong-bind-address") and code == 1
    fix = f"psql -h 127.0.0.1 -p {pg.port}"
    assert fix in [f["command"] for f in rep["diagnoses"][0]["fix"]]
    assert "(1 row)" in psql(*fix.split()[1:])


def as_pasted(command: str) -> str:
    """Run a printed command as this machine's user sees it (root without
    sudo reads runuser): its output, or the failure as a message."""
    from assistant.render.options import root_without_sudo, without_sudo

    line = without_sudo(command) if root_without_sudo() else command
    done = subprocess.run(["sh", "-c", line], capture_output=True, text=True, timeout=30)
    return done.stdout if done.returncode == 0 else f"{line}: rc {done.returncode}: {done.stderr}"


@pytest.mark.root
def test_pg_auth_failed_admin_through_the_clusters_socket(pg: Pg) -> None:
    """Field trial 10: a refused password on a cluster with its own socket
    directory got `sudo -u postgres psql -c 'SHOW hba_file'`, which reached
    no server. The admin command now uses that cluster's socket and owner."""
    need_root()  # the cluster runs as postgres, its superuser's own name
    hba = pg.root / "data" / "pg_hba.conf"
    before = hba.read_text()
    hba.write_text("local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n")
    try:
        pg.start(f"-c unix_socket_directories={pg.sock} -c listen_addresses=127.0.0.1")
        code, out = run(["psql", "-X", "-h", "127.0.0.1", "-p", str(pg.port), "-U", "app",
                         "-c", "select 1"], env={"PGPASSWORD": "wrong", "PGCONNECT_TIMEOUT": "5"})
        assert 'password authentication failed for user "app"' in out, out
        code, rep = ask(out)
        assert top(rep) == ("answer.pg_auth_failed_owner", "reachable") and code == 0
        admin = rep["diagnoses"][0]["fix"][0]["command"]
        assert admin == (f"sudo -u postgres psql -h {pg.sock} -p {pg.port} -d postgres "
                         "-c 'SHOW hba_file'")
        assert str(hba) in as_pasted(admin)  # the printed command works
        retry = f"psql -h 127.0.0.1 -p {pg.port} -U app -W"  # the refused role kept
        assert retry in [f["command"] for f in rep["diagnoses"][0]["fix"]]
    finally:
        hba.write_text(before)
        pg.stop()


def test_pg_no_password_supplied(pg: Pg) -> None:
    """Field trial 12: libpq's "fe_sendauth: no password supplied" (a script
    without a terminal) got "above TCP" and a curl line for the PostgreSQL
    port."""
    hba = pg.root / "data" / "pg_hba.conf"
    before = hba.read_text()
    hba.write_text("local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n")
    try:
        pg.start(f"-c unix_socket_directories={pg.sock} -c listen_addresses=127.0.0.1")
        cmd = f"psql -X -h 127.0.0.1 -p {pg.port} -U app -d postgres -w -c 'select 1'"
        code, out = run(shlex.split(cmd), env={"PGCONNECT_TIMEOUT": "5", "PGPASSWORD": ""})
        assert "fe_sendauth: no password supplied" in out, out
        code, rep = ask(f"$ {cmd}\n{out}")
        assert top(rep) == ("answer.pg_no_password", "reachable") and code == 0
        fixes = [f["command"] for f in rep["diagnoses"][0]["fix"]]
        assert f"psql -h 127.0.0.1 -p {pg.port} -U app -d postgres -W" in fixes
        assert not any(f.startswith("curl") for f in fixes)
    finally:
        hba.write_text(before)
        pg.stop()


def test_pg_session_ended_by_the_server(pg: Pg) -> None:
    """Field trial 13: libpq's "server closed the connection unexpectedly"
    (its backend terminated) got "the client spoke plain HTTP"."""
    pg.start(f"-c unix_socket_directories={pg.sock} -c listen_addresses=127.0.0.1")
    try:
        cmd = ["psql", "-X", "-h", "127.0.0.1", "-p", str(pg.port), "-U", "postgres", "-c",
               "select pg_sleep(30)"]
        proc = subprocess.Popen(pg.prefix + cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True)
        for _ in range(50):
            time.sleep(0.1)
            if "(1 row)" in psql("-h", str(pg.sock), "-p", str(pg.port), "-c",
                                 "select 1 from pg_stat_activity where query like "
                                 "'select pg_sleep%' and pid <> pg_backend_pid()"):
                break
        run(pg.prefix + ["psql", "-X", "-h", str(pg.sock), "-p", str(pg.port), "-U", "postgres",
                         "-c", "select pg_terminate_backend(pid) from pg_stat_activity "
                         "where query like 'select pg_sleep%' and pid <> pg_backend_pid()"])
        out = proc.communicate(timeout=30)[0]
        assert "server closed the connection unexpectedly" in out, out
        code, rep = ask(f"$ {' '.join(cmd[:-1])} 'select pg_sleep(30)'\n{out}")
        assert top(rep) == ("answer.pg_server_closed", "reachable"), rep["diagnoses"]
        assert not [d for d in rep["diagnoses"] if d["category"] == "protocol-mismatch"]
    finally:
        pg.stop()


@pytest.mark.root
def test_pg_peer_authentication_on_the_socket(pg: Pg) -> None:
    """Field trial 11: "Peer authentication failed" on the socket got "the
    socket works, the failure is above it". The printed login as the
    socket's owner gets in."""
    need_root()  # the cluster runs as postgres; root is refused the role by peer
    hba = pg.root / "data" / "pg_hba.conf"
    before = hba.read_text()
    hba.write_text("local all all peer\n")
    try:
        pg.start(socket_only(pg))
        cmd = f"psql -X -h {pg.sock} -p {pg.port} -U postgres -d postgres"
        code, out = run(cmd.split() + ["-c", "select 1"], env={"PGCONNECT_TIMEOUT": "5"})
        assert 'Peer authentication failed for user "postgres"' in out, out
        code, rep = ask(f"$ {cmd}\n{out}")
        assert top(rep) == ("answer.pg_peer_auth_socket", "reachable") and code == 0
        login = rep["diagnoses"][0]["fix"][0]["command"]
        assert login == f"sudo -u postgres psql -h {pg.sock} -p {pg.port} -d postgres"
        assert "(1 row)" in as_pasted(login + " -X -c 'select 1'")  # the printed login works
    finally:
        hba.write_text(before)
        pg.stop()


@pytest.mark.root
def test_pg_socket_mode_0700(pg: Pg) -> None:
    need_root()
    pg.start(socket_only(pg) + " -c unix_socket_permissions=0700")
    out = psql("-h", str(pg.sock), "-p", str(pg.port), prefix=as_user())
    assert "Permission denied" in out
    code, rep = ask(out)
    assert top(rep) == ("unix.root_view", "socket-permission") and code == 1
    code, rep = assistant_as(out)
    assert top(rep) == ("unix.pg_permission", "socket-permission") and code == 1


def test_pg_killed_then_stopped(pg: Pg) -> None:
    pg.stop()
    # The postmaster as a child of ours (not daemonised by pg_ctl), so that
    # its corpse is reaped here: a zombie keeps its pid "running" to the next
    # postmaster, which then refuses the data directory.
    proc = subprocess.Popen(pg.prefix + [f"{pg.bindir}/postgres", "-D", str(pg.root / "data"),
                                         "-p", str(pg.port), "-k", str(pg.sock),
                                         "-c", "listen_addresses="],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    assert wait_listening(str(pg.sock / f".s.PGSQL.{pg.port}"), 30)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(10)
    for _ in range(50):  # its children notice and exit
        if not run(["pgrep", "-f", str(pg.root / "data")])[1].strip():
            break
        time.sleep(0.1)
    out = psql("-h", str(pg.sock), "-p", str(pg.port))
    assert "Connection refused" in out
    code, rep = ask(out)
    # A cluster started by hand (field trial 8): start that one, with the
    # options it last ran with, not the packaged service.
    assert top(rep) == ("unix.pg_stale_cluster", "nothing-listening") and code == 1
    start = rep["diagnoses"][0]["fix"][0]["command"]
    assert f"-D {pg.root / 'data'} " in start and f"-p {pg.port}" in start, start
    if start.startswith("sudo -u "):
        user, rest = start[len("sudo -u "):].split(" ", 1)
        start = f"runuser -u {user} -- {rest}"  # this machine may have no sudo
    done = subprocess.run(["sh", "-c", start], capture_output=True, text=True, timeout=60)
    log = pg.root / "data" / "logfile"
    assert done.returncode == 0, done.stdout + done.stderr + (log.read_text() if log.exists() else "")
    assert wait_listening(str(pg.sock / f".s.PGSQL.{pg.port}"), 30)
    assert "(1 row)" in psql("-h", str(pg.sock), "-p", str(pg.port))  # the printed fix works
    pg.stop()
    code, rep = ask(psql("-h", str(pg.sock), "-p", str(pg.port)))
    assert top(rep) == ("unix.service_not_running", "nothing-listening") and code == 1


# --- MariaDB -------------------------------------------------------------------

@dataclass
class My:
    root: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[str] | None = None

    def start(self, sock: str, *args: str) -> None:
        self.kill()
        argv = ["mariadbd", "--no-defaults", f"--datadir={self.root / 'data'}",
                f"--socket={sock}", f"--port={self.port}", f"--pid-file={self.root / 'my.pid'}",
                f"--log-error={self.root / 'err.log'}", *args] + (["--user=mysql"] if ROOT else [])
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)
        assert wait_listening(sock, 60), (self.root / "err.log").read_text()

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)


def mysql(*args: str) -> str:
    code, out = run(["mysql", "--no-defaults", "-u", "root", *args, "-e", "select 1"])
    return out


@pytest.fixture(scope="module")
def my() -> Iterator[My]:
    need("mysql", "mariadbd", "mariadb-install-db")
    root = open_dir("mysock-")
    for d in ("sock", "elsewhere"):
        (root / d).mkdir()
        own(root / d, "mysql")
    own(root, "mysql")
    code, out = run(["mariadb-install-db", "--no-defaults", f"--datadir={root / 'data'}",
                     "--auth-root-authentication-method=normal", "--skip-test-db"]
                    + (["--user=mysql"] if ROOT else []), timeout=180)
    assert code == 0, out
    server = My(root)
    yield server
    server.kill()
    shutil.rmtree(root, ignore_errors=True)


def test_mysql_socket_elsewhere(my: My) -> None:
    my.start(str(my.root / "sock" / "mysql.sock"), "--bind-address=127.0.0.1")
    out = mysql(f"--socket={my.root / 'elsewhere' / 'mysqld.sock'}")
    assert "through socket" in out and "(2)" in out
    code, rep = ask(out)
    assert top(rep) == ("unix.mysql_other_socket", "wrong-bind-address") and code == 1
    fixes = [f["command"] for f in rep["diagnoses"][0]["fix"]]
    fix = f"mysql --socket={my.root / 'sock' / 'mysql.sock'}"
    assert fix in fixes
    assert mysql(fix.split()[1]).split() == ["1", "1"]  # the printed fix works


def test_mysql_skip_networking_and_a_tcp_client(my: My) -> None:
    """tcp-mysql-h-127-server-skip-networking, with the command line pasted."""
    my.start(str(my.root / "sock" / "mysqld.sock"), "--skip-networking")
    cmd = f"mysql -h 127.0.0.1 -P {my.port} -u root -e 'select 1'"
    out = f"$ {cmd}\n" + mysql("-h", "127.0.0.1", "-P", str(my.port))
    assert "Can't connect to server on '127.0.0.1'" in out
    code, rep = ask(out)
    assert rep["target"]["port"] == my.port
    assert top(rep) == ("unix.mysql_socket_only", "wrong-bind-address") and code == 1


def test_mysql_access_denied_admin_through_the_servers_socket(my: My) -> None:
    """Field trial 10: ERROR 1045 from a server with its own socket got
    `sudo mysql -e ...`, which tried the packaged /run/mysqld socket."""
    sock = my.root / "sock" / "mysqld.sock"
    my.start(str(sock), "--bind-address=127.0.0.1")
    out = f"$ mysql -h 127.0.0.1 -P {my.port} -u app -p\n" + mysql(
        "-h", "127.0.0.1", "-P", str(my.port), "-u", "app", "-pwrong")
    assert "ERROR 1045" in out, out
    code, rep = ask(out)
    assert top(rep) == ("answer.mysql_access_denied_socket", "reachable") and code == 0
    listing = f'sudo mysql --socket={sock} -e "SELECT user, host, plugin FROM mysql.user"'
    assert listing in [f["command"] for f in rep["diagnoses"][0]["fix"]]
    if ROOT:  # the printed line works (root's account logs in through the socket)
        assert "root" in as_pasted(listing)


def test_mysql_1045_alone_asks_the_port_offering_mariadb_first(my: My) -> None:
    """Field trial 11: ERROR 1045 pasted alone got an unrelated knowledge-base
    entry ("is 127.0.0.1 safe?") and a port question led by other listeners."""
    my.start(str(my.root / "sock" / "mysqld.sock"), "--bind-address=127.0.0.1")
    out = mysql("-h", "127.0.0.1", "-P", str(my.port), "-u", "app", "-pwrong")
    line = next(ln for ln in out.splitlines() if "ERROR 1045" in ln)
    code, rep = ask(line)
    assert (rep["kind"], code, rep["answers"]) == ("needs-input", 3, [])
    port = next(q for q in rep["questions"] if q["id"] == "port")
    assert port["choices"][0] == str(my.port), port
    # The port answered: the server's refusal, through its own socket, and no
    # question where the client runs (it reached this server).
    rep = run_cli("--ask", line, "--answer", f"port={my.port}", "--json").json
    assert top(rep) == ("answer.mysql_access_denied_socket", "reachable")
    assert rep["questions"] == [], rep["questions"]


def test_mysql_too_many_connections(my: My) -> None:
    """Field trial 13: ERROR 1040 got "the problem is above TCP" with its
    command line, and the SSL entry pasted alone."""
    sock = str(my.root / "sock" / "mysqld.sock")
    my.start(sock, "--bind-address=127.0.0.1", "--max-connections=10")  # its minimum
    admin = ["mysql", "--no-defaults", f"--socket={sock}", "-u", "root", "-N", "-e"]
    # An account for this machine's addresses only: the module's other tests
    # rely on no account admitting 127.0.0.2.
    code, out = run(admin + ["CREATE USER IF NOT EXISTS 'web'@'localhost' IDENTIFIED BY 'pw'; "
                             "CREATE USER IF NOT EXISTS 'web'@'127.0.0.1' IDENTIFIED BY 'pw'"])
    assert code == 0, out
    held = []
    try:
        # Logged-in sessions of an ordinary account until they hold all ten
        # slots (one may be turned away while the count below takes a slot).
        count = "0"
        for _ in range(200):
            code, out = run(admin + ["SELECT COUNT(*) FROM information_schema.processlist "
                                     "WHERE user = 'web'"])
            count = out.strip()
            if count == "10":
                break
            if all(p.poll() is not None for p in held[-1:]) or len(held) < int(count or 0) + 1:
                held.append(subprocess.Popen(
                    ["mysql", "--no-defaults", "-h", "127.0.0.1", "-P", str(my.port), "-u",
                     "web", "-ppw", "-e", "SELECT SLEEP(60)"], stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL))
            time.sleep(0.05)
        assert count == "10", count
        cmd = f"mysql -h 127.0.0.1 -P {my.port} -u web -p -e 'select 1'"
        out = f"$ {cmd}\n" + mysql("-h", "127.0.0.1", "-P", str(my.port), "-u", "web", "-ppw")
        assert "ERROR 1040" in out and "Too many connections" in out, out
        code, rep = ask(out)
        assert top(rep) == ("answer.mysql_too_many", "reachable") and code == 0
    finally:
        for p in held:
            p.kill()
            p.wait(10)
        run(admin + ["DROP USER IF EXISTS 'web'@'localhost', 'web'@'127.0.0.1'"])


def forwarder(port: int, source: str) -> int:
    """A TCP forwarder on 127.0.0.1 (a free port) to `port`, connecting from
    `source`: the server sees that address. Runs in daemon threads."""
    import socket
    import threading

    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(8)

    def pipe(a: socket.socket, b: socket.socket) -> None:
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                s.close()

    def serve() -> None:
        while True:
            client, _ = lsock.accept()
            up = socket.create_connection(("127.0.0.1", port), source_address=(source, 0))
            threading.Thread(target=pipe, args=(client, up), daemon=True).start()
            threading.Thread(target=pipe, args=(up, client), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    return int(lsock.getsockname()[1])


def test_mysql_host_not_allowed(my: My) -> None:
    """Field trial 11: ERROR 1130 (no account for the client's host) was read
    as the client dialling that host ("wrong bind address"), or as "above
    TCP"."""
    my.start(str(my.root / "sock" / "mysqld.sock"), "--bind-address=127.0.0.1",
             "--skip-name-resolve")
    # A forwarder whose outgoing address is 127.0.0.2, for which no account
    # exists (a container's or a tunnel's address does the same).
    front = forwarder(my.port, source="127.0.0.2")
    out = f"$ mysql -h 127.0.0.1 -P {front} -u root\n" + mysql(
        "-h", "127.0.0.1", "-P", str(front))
    assert "Host '127.0.0.2' is not allowed to connect" in out, out
    code, rep = ask(out)
    assert top(rep) == ("answer.mysql_host_not_allowed", "reachable") and code == 0
    assert rep["target"]["host"] == "127.0.0.1" and rep["target"]["port"] == front
    assert "CREATE USER 'NAME'@'127.0.0.2' IDENTIFIED BY 'PASSWORD'; GRANT ALL ON DB.* TO " \
           "'NAME'@'127.0.0.2';" in [f["command"] for f in rep["diagnoses"][0]["fix"]]
    # The error alone: 127.0.0.2 is where the server saw the client, not a dialled address.
    code, rep = ask(out.splitlines()[-1])
    assert rep["kind"] == "needs-input" and rep["target"]["host"] is None


def test_mysql_killed_leaves_its_socket(my: My) -> None:
    sock = str(my.root / "sock" / "mysqld.sock")
    my.start(sock, "--skip-networking")
    my.kill()
    out = mysql(f"--socket={sock}")
    assert "(111)" in out
    code, rep = ask(out)
    assert top(rep) == ("unix.service_stale", "nothing-listening") and code == 1


# --- Redis ---------------------------------------------------------------------

@pytest.fixture
def redis() -> Iterator[tuple[subprocess.Popen[str], str]]:
    need("redis-server", "redis-cli")
    root = open_dir("rdsock-")
    own(root, "redis")
    sock = str(root / "redis.sock")
    proc = subprocess.Popen(service_user("redis") + [
        "redis-server", "--port", "0", "--unixsocket", sock, "--unixsocketperm", "700",
        "--dir", str(root), "--save", "", "--appendonly", "no", "--daemonize", "no"],
        stdout=subprocess.DEVNULL, start_new_session=True)
    with killing(proc):
        assert wait_listening(sock, 30)
        yield proc, sock
    shutil.rmtree(root, ignore_errors=True)


def redis_cli(*args: str, prefix: list[str] | None = None) -> str:
    return run((prefix or []) + ["redis-cli", *args, "ping"])[1]


def test_redis_answers_on_its_socket(redis: tuple[subprocess.Popen[str], str]) -> None:
    proc, sock = redis
    if not ROOT:
        pytest.skip("the socket is the redis user's (0700): only root or redis may use it")
    out = f"$ redis-cli -s {sock} ping\n" + redis_cli("-s", sock)
    assert "PONG" in out
    code, rep = ask(out)
    assert top(rep) == ("unix.reachable", "reachable") and code == 0


@pytest.mark.root
def test_redis_socket_of_another_user(redis: tuple[subprocess.Popen[str], str]) -> None:
    need_root()
    _, sock = redis
    out = redis_cli("-s", sock, prefix=as_user())
    assert "Permission denied" in out
    code, rep = assistant_as(out)
    assert top(rep) == ("unix.permission", "socket-permission") and code == 1
    assert "redis:redis 0700" in rep["diagnoses"][0]["summary"]


def test_redis_port_0_and_a_tcp_client(redis: tuple[subprocess.Popen[str], str]) -> None:
    out = redis_cli("-h", "127.0.0.1", "-p", str(free_port()))
    code, rep = ask(out)
    assert top(rep) == ("unix.redis_socket_only", "wrong-bind-address") and code == 1


def test_redis_killed_then_gone(redis: tuple[subprocess.Popen[str], str]) -> None:
    proc, sock = redis
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(10)
    out = redis_cli("-s", sock)
    assert "Connection refused" in out
    # Another Redis of this machine on TCP is the way in, stale file or none.
    on_tcp = ("unix.redis_on_tcp", "wrong-bind-address") if redis_on_tcp() else None
    code, rep = ask(out)
    assert top(rep) == (on_tcp or ("unix.service_stale", "nothing-listening")) and code == 1
    os.unlink(sock)
    if listening_sockets("*redis*.sock"):
        pytest.skip("another Redis listens on this machine: it would be the answer")
    code, rep = ask(redis_cli("-s", sock))
    assert top(rep) == (on_tcp or ("unix.service_not_running", "nothing-listening")) and code == 1


WORKER = """
const net = require('net');
const port = Number(process.argv[process.argv.length - 1]);
console.log(`${new Date().toISOString()} info worker: connecting to redis 127.0.0.1:${port}`);
net.connect(port, '127.0.0.1').on('error', (e) => {
  console.log(`${new Date().toISOString()} error worker: redis connection failed: ${e.message} (${e.code})`);
});
"""


def test_redis_port_0_and_an_application_log(redis: tuple[subprocess.Popen[str], str]) -> None:
    """Field trial 8: a Node worker's log names Redis around ECONNREFUSED,
    while redis-server runs with port 0 on its socket: socket-only, not
    'nothing listens' (the client is node, so only the words say Redis)."""
    need("node")
    port = free_port()
    code, log = run(["node", "-e", WORKER, "--", str(port)])
    assert "ECONNREFUSED" in log, log
    code, rep = ask(log)
    assert rep["target"]["client"] == "node" and rep["target"]["scheme"] == "redis"
    assert top(rep) == ("unix.redis_socket_only", "wrong-bind-address") and code == 1


def test_pg_stopped_postmaster_on_its_socket(pg: Pg) -> None:
    """Field trial 9: psql hangs on the socket of a SIGSTOPped postmaster;
    the answer was 'the socket works'. Over TCP it was already process-stopped."""
    pg.start(socket_only(pg))
    pid = int((pg.root / "data" / "postmaster.pid").read_text().split()[0])
    os.kill(pid, signal.SIGSTOP)
    try:
        text = f"psql hangs, no prompt:\n$ psql -h {pg.sock} -p {pg.port}\n^C"
        code, rep = ask(text)
        assert top(rep) == ("unix.server_stopped", "process-stopped") and code == 1
        assert f"kill -CONT {pid}" in [f["command"] for f in rep["diagnoses"][0]["fix"]]
    finally:
        os.kill(pid, signal.SIGCONT)
