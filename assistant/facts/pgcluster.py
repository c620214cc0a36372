"""The PostgreSQL cluster behind a dead socket: its socket's .lock file names
the data directory, whose postmaster.opts holds the command line it last ran
with. From them, the command that starts that same cluster again (a cluster
started by hand with its own port and socket directory, which `service
postgresql start` would not touch)."""

from __future__ import annotations

import glob
import os
import shlex
import shutil

from assistant.facts.base import Fact
from assistant.facts.system.procfs import read_text
from assistant.facts.system.unix import as_owner, names

# Debian's clusters live here and start through their unit: the unit's rule says so.
PACKAGED = "/var/lib/postgresql/"


def stale_cluster(socket_path: str) -> Fact:
    """`datadir` and `pg_start` for the cluster that left `socket_path`, or
    nothing when its lock file or data directory cannot be read."""
    text = read_text(socket_path + ".lock", 4096)
    if text is None:
        return {}
    lines = text.splitlines()
    datadir = lines[1].strip() if len(lines) > 1 else ""
    if not datadir.startswith("/") or not os.path.isdir(datadir):
        return {}
    fact: Fact = {"datadir": datadir}
    if datadir.startswith(PACKAGED):
        return fact
    try:
        st = os.stat(datadir)
    except OSError:
        return fact
    command = start_command(datadir, read_text(os.path.join(datadir, "postmaster.opts"), 8192)
                            or "", (read_text(os.path.join(datadir, "PG_VERSION"), 64)
                                    or "").strip(), names(st.st_uid, st.st_gid)[0])
    if command:
        fact["pg_start"] = command
    return fact


def start_command(datadir: str, opts: str, version: str, owner: str | None) -> str | None:
    """Pure but for finding pg_ctl: pg_ctl start for `datadir` with the
    options of its last start (postmaster.opts: the server's argv)."""
    pg_ctl = _pg_ctl(version)
    if pg_ctl is None:
        return None
    try:
        words = shlex.split(opts)[1:]  # the postgres binary first
    except ValueError:
        return None
    options: list[str] = []
    skip = False
    for w in words:
        if skip:
            skip = False
        elif w == "-D":
            skip = True  # pg_ctl gives its own -D
        else:
            options.append(w)
    argv = [pg_ctl, "-D", datadir, "-l", os.path.join(datadir, "logfile")]
    if options:
        argv += ["-o", shlex.join(options)]
    argv.append("start")
    return (as_owner(owner) if owner else "") + shlex.join(argv)


def _pg_ctl(version: str) -> str | None:
    """pg_ctl of the cluster's major version (Debian keeps it off PATH)."""
    if version.isdigit() and os.path.exists(f"/usr/lib/postgresql/{version}/bin/pg_ctl"):
        return f"/usr/lib/postgresql/{version}/bin/pg_ctl"
    found = shutil.which("pg_ctl") or next(iter(sorted(glob.glob(
        "/usr/lib/postgresql/*/bin/pg_ctl"), reverse=True)), None)
    return found
