"""Real servers for the tests above TCP, each on a free loopback port with
its data under a private temporary directory, stopped afterwards.

Each starter returns a `Running` (port, process) or skips the test when
the machine lacks the program (CI installs them: .ci/run).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import free_port


@dataclass
class Running:
    port: int
    proc: subprocess.Popen[bytes]

    @property
    def pid(self) -> int:
        return self.proc.pid


def wait_listening(port: int, proc: subprocess.Popen[bytes], what: str, timeout: float = 15,
                   host: str = "127.0.0.1") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
            raise RuntimeError(f"{what} exited with {proc.returncode}: {out[-2000:]}")
        try:
            socket.create_connection((host, port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on {port} in {timeout} s")


@contextmanager
def started(argv: list[str], port: int, what: str, host: str = "127.0.0.1",
            **kw: object) -> Iterator[Running]:
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            **kw)  # type: ignore[call-overload]
    try:
        wait_listening(port, proc, what, host=host)
        yield Running(port, proc)
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


def need(program: str, *extra: str) -> str:
    for candidate in (shutil.which(program), *extra):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    pytest.skip(f"{program} is not installed")


@contextmanager
def private_dir(owner: str | None = None) -> Iterator[Path]:
    """A fresh directory under /tmp, readable by `owner` when given (a server
    that runs as an ordinary user cannot enter pytest's root-only tmp)."""
    path = Path(tempfile.mkdtemp(prefix="assistant-test-"))
    try:
        if owner is not None:
            pw = pwd.getpwnam(owner)
            os.chown(path, pw.pw_uid, pw.pw_gid)
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@contextmanager
def http_server(bind: str = "127.0.0.1", port: int | None = None) -> Iterator[Running]:
    """Python's http.server: plain HTTP (on `port` when given, else a free one)."""
    port = port or free_port(bind)
    with private_dir() as d, started([sys.executable, "-m", "http.server", "--bind", bind,
                                      str(port)], port, "http.server", host=bind, cwd=d) as s:
        yield s


def certificate(d: Path) -> tuple[Path, Path]:
    """A self-signed certificate for localhost, made by openssl."""
    openssl = need("openssl")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
                    "-out", str(cert), "-days", "2", "-subj", "/CN=localhost"],
                   check=True, capture_output=True, timeout=60)
    return cert, key


@contextmanager
def tls_server() -> Iterator[Running]:
    """openssl s_server -www: TLS only."""
    openssl = need("openssl")
    port = free_port()
    with private_dir() as d:
        cert, key = certificate(d)
        with started([openssl, "s_server", "-www", "-quiet", "-accept", f"127.0.0.1:{port}",
                      "-cert", str(cert), "-key", str(key)], port, "openssl s_server",
                     stdin=subprocess.DEVNULL) as s:
            yield s


def nginx_config(d: Path, servers: str) -> str:
    """An nginx.conf in `d` (pid, logs and temp files there, in the foreground)
    with these `server` blocks."""
    return f"""
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log;
daemon off;
events {{ worker_connections 64; }}
http {{
  access_log off;
  client_body_temp_path {d}/body; proxy_temp_path {d}/proxy; fastcgi_temp_path {d}/fcgi;
  uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;
{servers}
}}
"""


def nginx_argv(binary: str, d: Path) -> list[str]:
    """nginx on the configuration `nginx_config` wrote in `d`."""
    return [binary, "-p", str(d), "-c", str(d / "nginx.conf"), "-e", str(d / "error.log")]


@dataclass
class Nginx:
    tls_port: int   # listen ... ssl
    front_port: int  # a reverse proxy whose upstream is a closed port: 502
    proc: subprocess.Popen[bytes]
    upstream_port: int = 0  # that closed port
    error_log: Path | None = None


@contextmanager
def nginx() -> Iterator[Nginx]:
    binary = need("nginx", "/usr/sbin/nginx")
    tls, front, gone = free_port(), free_port(), free_port()
    with private_dir() as d:
        certificate(d)
        (d / "nginx.conf").write_text(nginx_config(d, f"""
  server {{ listen 127.0.0.1:{tls} ssl; ssl_certificate {d}/cert.pem;
           ssl_certificate_key {d}/key.pem; return 200 "ok\\n"; }}
  server {{ listen 127.0.0.1:{front}; location / {{ proxy_pass http://127.0.0.1:{gone}; }} }}"""))
        with started(nginx_argv(binary, d), tls, "nginx") as s:
            wait_listening(front, s.proc, "nginx")
            yield Nginx(tls, front, s.proc, gone, d / "error.log")


@contextmanager
def redis_server(*extra: str) -> Iterator[Running]:
    binary = need("redis-server")
    port = free_port()
    with private_dir() as d, started([binary, "--bind", "127.0.0.1", "--port", str(port),
                                      "--save", "", "--appendonly", "no", "--dir", str(d),
                                      "--daemonize", "no", *extra], port, "redis-server") as s:
        yield s


def as_user(user: str = "nobody") -> tuple[list[str], str | None]:
    """The prefix that runs a program as `user` when we are root (initdb and
    postgres refuse root), and the user that must own its directory."""
    if os.geteuid() != 0:
        return [], None
    setpriv = need("setpriv")
    try:
        pw = pwd.getpwnam(user)
    except KeyError:
        pytest.skip(f"no account {user}")
    return [setpriv, f"--reuid={pw.pw_uid}", f"--regid={pw.pw_gid}", "--clear-groups"], user


@contextmanager
def postgres(user: str = "nobody", port: int | None = None,
             listen: str = "127.0.0.1", extra: tuple[str, ...] = ()) -> Iterator[Running]:
    """PostgreSQL from initdb in a private directory, as an ordinary user
    (ssl = off, as initdb leaves it; on `port` when given, else a free one;
    on the `listen` addresses; `extra` options for the server)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parts[-3]))
    initdb = need("initdb", *found[-1:])
    postgres_bin = str(Path(initdb).resolve().parent / "postgres")
    prefix, owner = as_user(user)
    port = port or free_port(listen.split(",")[0])
    with private_dir(owner) as d:
        subprocess.run([*prefix, initdb, "-D", str(d / "data"), "-A", "trust", "-U", "postgres"],
                       check=True, capture_output=True, timeout=120)
        with started([*prefix, postgres_bin, "-D", str(d / "data"), "-p", str(port), "-k", str(d),
                      "-c", f"listen_addresses={listen}", *extra], port, "postgres",
                     host=listen.split(",")[0]) as s:
            yield s


@contextmanager
def sshd() -> Iterator[Running]:
    """OpenSSH's sshd in the foreground with its own host key and config."""
    binary = need("sshd", "/usr/sbin/sshd")
    keygen = need("ssh-keygen")
    port = free_port()
    if os.geteuid() == 0:
        os.makedirs("/run/sshd", exist_ok=True)  # its privilege-separation directory
    with private_dir() as d:
        subprocess.run([keygen, "-q", "-t", "ed25519", "-N", "", "-f", str(d / "host_key")],
                       check=True, capture_output=True, timeout=30)
        (d / "sshd_config").write_text(f"ListenAddress 127.0.0.1:{port}\nHostKey {d}/host_key\n"
                                       f"PidFile {d}/sshd.pid\nUsePAM no\n")
        with started([binary, "-D", "-e", "-f", str(d / "sshd_config")], port, "sshd") as s:
            yield s


NEVER_ACCEPTS = """
import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(1)
port = s.getsockname()[1]
held = []
for _ in range(3):  # fill the queue: two complete, the rest wait in SYN-SENT
    c = socket.socket()
    c.setblocking(False)
    c.connect_ex(("127.0.0.1", port))
    held.append(c)
print(port, flush=True)
time.sleep(600)
"""


@contextmanager
def never_accepting() -> Iterator[Running]:
    """A listener with backlog 1 that never calls accept(), its queue full."""
    proc = subprocess.Popen([sys.executable, "-c", NEVER_ACCEPTS], stdout=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        time.sleep(0.3)  # the queued handshakes complete
        yield Running(port, proc)
    finally:
        proc.kill()
        proc.wait(5)


FORWARDER = """#!{python}
# Stands in for docker-proxy whose container is gone: accepts, closes.
import socket, sys
s = socket.socket()
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(16)
while True:
    s.accept()[0].close()
"""


@contextmanager
def gone_forwarder() -> Iterator[Running]:
    """A process named docker-proxy that accepts and closes at once."""
    port = free_port()
    with private_dir() as d:
        script = d / "docker-proxy"
        script.write_text(FORWARDER.format(python=sys.executable))
        script.chmod(0o755)
        with started([str(script), str(port)], port, "docker-proxy stand-in") as s:
            yield s


@contextmanager
def mariadb() -> Iterator[Running]:
    """MariaDB on 127.0.0.1 as its packages leave it: no TLS (have_ssl DISABLED)."""
    server = need("mariadbd", "/usr/sbin/mariadbd")
    install = need("mariadb-install-db")
    port = free_port()
    as_root = os.geteuid() == 0
    with private_dir("mysql" if as_root else None) as d:
        user = ["--user=mysql"] if as_root else []
        subprocess.run([install, "--no-defaults", f"--datadir={d / 'data'}",
                        "--auth-root-authentication-method=normal", "--skip-test-db", *user],
                       check=True, capture_output=True, timeout=180)
        with started([server, "--no-defaults", f"--datadir={d / 'data'}",
                      f"--socket={d / 'mysqld.sock'}", f"--port={port}",
                      "--bind-address=127.0.0.1", f"--pid-file={d / 'mysqld.pid'}",
                      f"--log-error={d / 'err.log'}", *user], port, "mariadbd") as s:
            yield s


HTTPS = """
import http.server, ssl, sys
srv = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])),
                                      http.server.SimpleHTTPRequestHandler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[2], sys.argv[3])
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
srv.serve_forever()
"""


@contextmanager
def https_server(files: dict[str, str] | None = None) -> Iterator[Running]:
    """A local HTTPS app: http.server behind TLS, with a self-signed
    certificate, serving `files` (name: content)."""
    port = free_port()
    with private_dir() as d:
        cert, key = certificate(d)
        (d / "www").mkdir()
        for name, content in (files or {}).items():
            (d / "www" / name).write_text(content)
        with started([sys.executable, "-c", HTTPS, str(port), str(cert), str(key)], port,
                     "https server", cwd=d / "www") as s:
            yield s


TINYPROXY = """Port {port}
Listen 127.0.0.1
Timeout 60
LogFile "{d}/tinyproxy.log"
LogLevel Info
PidFile "{d}/tinyproxy.pid"
MaxClients 10
Allow 127.0.0.1
ConnectPort 443
ConnectPort 563
"""


@contextmanager
def tinyproxy() -> Iterator[Running]:
    """tinyproxy in the foreground with its Debian defaults that matter here:
    CONNECT only to ports 443 and 563 (a 403 for any other)."""
    binary = need("tinyproxy", "/usr/bin/tinyproxy")
    port = free_port()
    owner = "nobody" if os.geteuid() == 0 else None
    with private_dir(owner) as d:
        conf = TINYPROXY.format(port=port, d=d)
        if owner is not None:
            conf = "User nobody\nGroup nogroup\n" + conf  # it refuses to run as root
        (d / "tinyproxy.conf").write_text(conf)
        with started([binary, "-d", "-c", str(d / "tinyproxy.conf")], port, "tinyproxy") as s:
            yield s


CRASHES = """
const http = require('http');
const cfg = undefined;
http.createServer((req, res) => { res.end(cfg.greeting); })
  .listen(Number(process.argv[1]), '127.0.0.1', () => console.log('listening'));
"""


@contextmanager
def crashing_on_request() -> Iterator[Running]:
    """A Node.js app whose request handler throws: the first request kills it."""
    node = need("node")
    port = free_port()
    with started([node, "-e", CRASHES, str(port)], port, "node app") as s:
        yield s
