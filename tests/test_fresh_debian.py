"""A fresh Debian machine, as a new user finds it: Debian unstable in a chroot
(debootstrap), with Debian's own Python 3.14 ("externally managed") and 3.15,
first without python3-venv, then without headers, without a C compiler, then
with GCC: Debian's default (build-essential, GCC 16 there) and GCC 14; the
quickstart, pip, pipx from apt, and uv.

Needs root and ASSISTANT_DEBIAN_CHROOT=DIR: DIR holds the base system, made
there with debootstrap when absent (about a minute; later runs reuse it).
Each run works on a copy. CI sets it, and ASSISTANT_REQUIRE_DEBIAN=1 turns a
skip into a failure. Tests run in file order, each stating the packages it
needs present or absent.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import assistant

ROOT = Path(__file__).resolve().parent.parent
BASE = os.environ.get("ASSISTANT_DEBIAN_CHROOT", "")
SUITE = "sid"  # the Debian with Python 3.14 (its python3) and 3.15
SEED = "cannot connect to 127.0.0.1:62893"
DEFINE = "CPPFLAGS=-DPyEval_CallObject=PyObject_CallObject"
pytestmark = pytest.mark.slow
# Certificates and proxies of the host, so the chroot reaches the package index as it does.
PASS_ENV = ("SSL_CERT_FILE", "SSL_CERT_DIR", "PIP_CERT", "REQUESTS_CA_BUNDLE", "http_proxy",
            "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "no_proxy", "NO_PROXY")


def unavailable(reason: str) -> None:
    if os.environ.get("ASSISTANT_REQUIRE_DEBIAN") == "1":
        pytest.fail(f"the fresh-Debian tests must run here: {reason}")
    pytest.skip(reason)


@dataclass
class Chroot:
    root: Path

    def run(self, script: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
        """`sh -c script` inside, as root with a clean environment, /proc /dev /sys
        mounted in a private mount namespace (gone when the command ends)."""
        r = shlex.quote(str(self.root))
        env = ["HOME=/root", "LANG=C.UTF-8", "DEBIAN_FRONTEND=noninteractive",
               "PATH=/root/.local/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
               *(f"{k}={os.environ[k]}" for k in PASS_ENV if k in os.environ)]
        inner = f"chroot {r} /usr/bin/env -i {' '.join(map(shlex.quote, env))} sh -c {shlex.quote(script)}"
        outer = (f"mount -t proc proc {r}/proc && mount --rbind /dev {r}/dev && "
                 f"mount -t sysfs sys {r}/sys && {inner}")
        return subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", outer],
                              capture_output=True, text=True, timeout=timeout)

    def ok(self, script: str, timeout: float = 900) -> str:
        proc = self.run(script, timeout)
        assert proc.returncode == 0, f"{script}\n{proc.stdout}\n{proc.stderr}"
        return proc.stdout

    def packages(self, present: tuple[str, ...] = (), absent: tuple[str, ...] = ()) -> None:
        if absent:
            self.ok(f"apt-get purge -y -qq {' '.join(absent)} >/dev/null; "
                    "apt-get autoremove -y -qq >/dev/null")
        if present:
            self.ok(f"apt-get install -y -qq --no-install-recommends {' '.join(present)} >/dev/null")

    def fresh_source(self) -> str:
        """A new copy of the tree at /src-N; returns its path inside."""
        n = len(list(self.root.glob("src-*")))
        dest = self.root / f"src-{n}"
        shutil.copytree(ROOT, dest, ignore=shutil.ignore_patterns(
            ".venv*", ".git", "__pycache__", "*.egg-info", "build", ".*_cache"))
        return f"/src-{n}"


def debootstrap(base: Path) -> None:
    if shutil.which("debootstrap") is None:
        unavailable("debootstrap is not installed (CI installs it)")
    base.parent.mkdir(parents=True, exist_ok=True)
    work = base.with_name(base.name + ".part")
    shutil.rmtree(work, ignore_errors=True)
    proc = subprocess.run(["debootstrap", "--variant=minbase", "--include=ca-certificates", SUITE,
                           str(work), "http://deb.debian.org/debian"], capture_output=True,
                          text=True, timeout=1800)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    # The archive may be served as a snapshot whose Release files are past
    # their Valid-Until date: apt would then refuse every list.
    (work / "etc/apt/apt.conf.d/99snapshot").write_text('Acquire::Check-Valid-Until "false";\n')
    work.rename(base)


@pytest.fixture(scope="module")
def debian(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chroot]:
    if not BASE:
        unavailable("ASSISTANT_DEBIAN_CHROOT is not set")
    if not sys.platform.startswith("linux") or os.geteuid() != 0 or shutil.which("unshare") is None:
        unavailable("needs root on Linux with unshare")
    base = Path(BASE).absolute()
    if not (base / "etc" / "debian_version").exists():
        debootstrap(base)
    root = tmp_path_factory.mktemp("debian") / "root"
    subprocess.run(["cp", "-a", str(base), str(root)], check=True)
    shutil.copy("/etc/resolv.conf", root / "etc" / "resolv.conf")
    # The chroot trusts what the host trusts (a proxy's CA included).
    for bundle in ("/etc/ssl/certs/ca-certificates.crt",
                   *(os.environ.get(v, "") for v in ("SSL_CERT_FILE", "PIP_CERT", "REQUESTS_CA_BUNDLE"))):
        if bundle and Path(bundle).is_file():
            (root / bundle.lstrip("/")).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(bundle, root / bundle.lstrip("/"))
    chroot = Chroot(root)
    chroot.ok("apt-get update -qq")
    yield chroot
    shutil.rmtree(root, ignore_errors=True)


def seed(chroot: Chroot, command: str) -> None:
    proc = chroot.run(f"cd /tmp && {command} --ask {shlex.quote(SEED)} --json")
    assert "Traceback" not in proc.stderr, proc.stderr
    rep = json.loads(proc.stdout)
    assert (proc.returncode, rep["kind"], rep["diagnoses"][0]["category"]) == \
        (1, "diagnosis", "nothing-listening"), proc.stdout


def python3_version(debian: Chroot) -> str:
    """Debian's python3 (3.14 when written; unstable moves on)."""
    return debian.ok("python3 -c 'import sys; print(*sys.version_info[:2], sep=\".\")'").strip()


def test_quickstart_without_python3_venv_says_what_to_install(debian: Chroot) -> None:
    debian.packages(present=("python3",))
    v = python3_version(debian)
    debian.packages(absent=("python3-venv", f"python{v}-venv"))
    src = debian.fresh_source()
    proc = debian.run(f"cd {src} && python3 dev.py ask")
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    assert f"sudo apt install python{v}-venv" in proc.stderr, proc.stderr
    assert not (debian.root / src.lstrip("/") / ".venv").exists()


def test_quickstart_without_headers_says_what_to_install(debian: Chroot) -> None:
    debian.packages(present=("python3", "python3-venv"))
    v = python3_version(debian)
    debian.packages(absent=(f"python{v}-dev", f"libpython{v}-dev"))
    src = debian.fresh_source()
    proc = debian.run(f"cd {src} && python3 dev.py ask")
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    assert "Python.h" in proc.stderr and f"sudo apt install python{v}-dev" in proc.stderr, proc.stderr
    # the environment it made is whole, and is reused next time
    debian.ok(f"{src}/.venv/bin/python -m pip --version")


def test_quickstart_without_a_compiler_uses_zig(debian: Chroot) -> None:
    debian.packages(present=("python3", "python3-venv", "python3-dev"))
    assert debian.run("command -v cc || command -v gcc || command -v x86_64-linux-gnu-gcc").returncode
    src = debian.fresh_source()
    proc = debian.run(f"cd {src} && python3 dev.py ask", timeout=1800)
    assert "Traceback" not in proc.stderr, proc.stderr
    assert "compiling the rule engine with zig's" in proc.stderr
    assert proc.returncode == 1 and "nothing listens on port 62893" in proc.stdout, \
        proc.stdout + proc.stderr
    seed(debian, f"{src}/.venv/bin/lc-assistant")


def test_pip_user_on_debian_python_is_refused_as_readme_says(debian: Chroot) -> None:
    debian.packages(present=("python3-pip",))
    proc = debian.run(f"{DEFINE} python3 -m pip install --user local-connection-assistant")
    assert proc.returncode != 0 and "externally-managed-environment" in proc.stdout + proc.stderr


# `gcc` (build-essential's) also brings the x86_64-linux-gnu-gcc-ar that
# Debian's Python archives with; gcc-14 alone has only gcc-ar-14.
GCC = ("build-essential", "gcc-14")


def test_gcc14_refuses_the_engine_without_readme_variable(debian: Chroot) -> None:
    debian.packages(present=(*GCC, "python3-venv", "python3-dev"))
    debian.ok("python3 -m venv /tmp/plain")
    proc = debian.run("CC=gcc-14 /tmp/plain/bin/pip install --no-cache-dir -q durable-rules==2.0.28")
    assert proc.returncode != 0
    # GCC quotes with ‘’ in a UTF-8 locale
    assert re.search(r"error: implicit declaration of function .PyEval_CallObject.",
                     proc.stdout + proc.stderr), proc.stderr


def test_pipx_from_apt_on_debian_python_with_its_gcc(debian: Chroot) -> None:
    """README's pipx line as it is, with Debian's pipx, Python 3.14 and compiler."""
    debian.packages(present=("pipx", *GCC, "python3-dev"))
    assert "gcc" in debian.ok("x86_64-linux-gnu-gcc --version")
    src = debian.fresh_source()
    debian.ok(f"PIP_NO_CACHE_DIR=1 {DEFINE} pipx install {src}")
    version = debian.ok("/root/.local/bin/lc-assistant --version")
    assert version.strip() == f"assistant {assistant.__version__} (local-connection-assistant)"
    debian.ok("test -e /root/.local/share/man/man1/lc-assistant.1")  # a link pipx made
    seed(debian, "/root/.local/bin/lc-assistant")
    seed(debian, "/root/.local/bin/assistant")


def test_python315_pip_venv_with_gcc14(debian: Chroot) -> None:
    debian.packages(present=("python3.15-venv", "python3.15-dev", *GCC))
    src = debian.fresh_source()
    debian.ok(f"python3.15 -m venv /tmp/v315 && CC=gcc-14 {DEFINE} /tmp/v315/bin/python -m pip install "
              f"-q --no-cache-dir {src}")
    seed(debian, "/tmp/v315/bin/assistant")


def test_python315_uv_tool_with_debian_gcc(debian: Chroot) -> None:
    uv = Path(sys.executable).parent / "uv"
    if not uv.exists():
        unavailable("uv is not installed (the test extra has it)")
    shutil.copy(uv, debian.root / "usr/local/bin/uv")
    debian.packages(present=("python3.15-dev", *GCC))
    src = debian.fresh_source()
    # its own bin directory: pipx's commands are in ~/.local/bin already
    debian.ok(f"UV_NO_CACHE=1 UV_PYTHON_DOWNLOADS=never UV_TOOL_BIN_DIR=/opt/uv-bin {DEFINE} "
              f"uv tool install --python python3.15 {src}")
    seed(debian, "/opt/uv-bin/lc-assistant")
