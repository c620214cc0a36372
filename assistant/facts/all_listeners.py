"""Every listening TCP socket on this machine, one fact per process and port.

The listeners check looks at one port; a checkup looks at all of them, for
what it can say without a question: a development server on every
interface, a server whose process is stopped, one whose parent is a zombie.
Read from the socket table (sock_diag or /proc on Linux, psutil elsewhere):
nothing is dialled.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from assistant.facts.base import Collector, Context, Fact, FactType, Field, Summary
from assistant.facts.devservers import RUNTIME_NAMES, TOOL_NAMES, classify
from assistant.facts.listeners import PROCESS_FIELDS, owned, process_words
from assistant.facts.system.procfs import read_text
from assistant.understand.addresses import hostport, is_loopback, is_wildcard

if TYPE_CHECKING:
    from assistant.facts.listeners import Describe
    from assistant.facts.system.socktable import Listen
    from assistant.understand.symptoms import Target

LISTENING = FactType("listening", "A process listening on a TCP port of this machine (any port; "
                     "one fact per process and port).", {
    "port": Field("int", "the port"),
    "address": Field("str", "the bound address that reaches furthest (a wildcard first)",
                     example="0.0.0.0"),
    "addresses": Field("str", "every bound address", example="0.0.0.0, ::"),
    "wildcard": Field("bool", "bound to 0.0.0.0 or :: (every interface)"),
    "loopback": Field("bool", "bound to loopback addresses only"),
    "families": Field("str", "the IP families of its addresses: 4, 6, or 4,6",
                      ("4", "6", "4,6")),
    **PROCESS_FIELDS,
    "status": Field("str", "the process state", example="sleeping"),
    "stopped": Field("bool", "the process is stopped, traced, zombie or dead"),
    "ppid": Field("int", "the parent's pid"),
    "parent": Field("str", "the parent's name", example="npm"),
    "parent_zombie": Field("bool", "the parent is a zombie: it exited, and nobody reaped it"),
    "orphaned": Field("bool", "a development server whose parent is an init process (what "
                      "started it exited and it was handed over), outside any service unit"),
    "runtime": Field("str", "the runtime it runs on, when recognised", RUNTIME_NAMES),
    "tool": Field("str", "the development server it runs, when recognised", TOOL_NAMES),
    "dev_server": Field("bool", "it looks like a development server (a runtime or a tool "
                        "above, outside a system service)"),
}, lambda f: f"listening {hostport(f.get('address'), f.get('port'))}{process_words(f)}")


# What an orphan is handed to: pid 1 or a subreaper (launchd aside: on macOS
# every app's helper hangs off it, orphan or not).
INITS = ("systemd", "init", "tini", "dumb-init", "docker-init", "catatonit", "s6-svscan",
         "runit", "openrc-init")


def _rank(address: str) -> int:
    """Wildcards first, then other addresses, loopback last: the furthest reach."""
    return 0 if is_wildcard(address) else 2 if is_loopback(address) else 1


def listening_facts(rows: list[Listen], describe: Describe,
                    parent_of: Any = lambda pid: {}) -> list[Fact]:
    """Pure: one fact per (process, port) from socket rows; `parent_of(pid)`
    gives {ppid, parent, parent_zombie, managed} (managed: a service unit
    runs it, system or user)."""
    groups: dict[tuple[int | None, int], list[Listen]] = {}
    for r in rows:
        groups.setdefault((r.pid, r.port), []).append(r)
    facts: list[Fact] = []
    for (pid, port), group in sorted(groups.items(), key=lambda kv: (kv[0][1], kv[0][0] or 0)):
        addrs = sorted(dict.fromkeys(r.address for r in group), key=_rank)
        fact: Fact = {"type": "listening", "port": port, "address": addrs[0],
                      "addresses": ", ".join(addrs), "wildcard": any(map(is_wildcard, addrs)),
                      "loopback": all(map(is_loopback, addrs)),
                      "families": ",".join(sorted({str(r.family) for r in group}))}
        info = describe(pid) if pid else {}
        fact.update({k: v for k, v in info.items() if k in LISTENING.fields})
        if pid:
            fact.update(parent_of(pid))
        runtime, tool = classify(info.get("process"), info.get("cmdline"))
        managed = bool(info.get("unit") or fact.pop("managed", False))
        dev = bool(runtime or tool) and not managed
        fact.update(runtime=runtime, tool=tool, dev_server=dev,
                    orphaned=dev and fact.get("parent") in INITS)
        facts.append(owned(fact, group[0].uid))
    return facts


def parent(pid: int) -> dict[str, Any]:
    """{ppid, parent, parent_zombie} from /proc (Linux), or psutil."""
    def stat(p: int) -> tuple[str, str, int] | None:
        try:
            with open(f"/proc/{p}/stat") as fh:
                text = fh.read()
        except OSError:
            return None
        name = text[text.index("(") + 1:text.rindex(")")]
        state, ppid = text[text.rindex(")") + 2:].split()[:2]
        return name, state, int(ppid)

    own = stat(pid)
    if own is None:
        return _psutil_parent(pid)
    ppid = own[2]
    up = stat(ppid) if ppid > 0 else None
    out: dict[str, Any] = {"ppid": ppid, "managed": in_unit(pid)}
    if up is not None:
        out.update(parent=up[0], parent_zombie=up[1] == "Z")
    return out


def in_unit(pid: int) -> bool:
    """Whether a systemd service (system or user) runs the process: its cgroup
    names a `.service` other than the user manager's own."""
    text = read_text(f"/proc/{pid}/cgroup", 4096)
    return text is not None and unit_in_cgroup(text)


def unit_in_cgroup(text: str) -> bool:
    """Pure: `0::/user.slice/user-1000.slice/user@1000.service/app.slice/api.service` is
    in a unit; `.../app.slice/app-gnome-terminal-1234.scope` (a terminal) is not."""
    for line in text.splitlines():
        parts = line.rsplit(":", 1)[-1].split("/")
        if any(p.endswith(".service") and not p.startswith("user@") for p in parts):
            return True
    return False


def _psutil_parent(pid: int) -> dict[str, Any]:
    import psutil

    try:
        p = psutil.Process(pid).parent()
        if p is None:
            return {}
        return {"ppid": p.pid, "parent": p.name(), "parent_zombie": p.status() == "zombie"}
    except (psutil.Error, OSError):
        return {}


def collect(ctx: Context) -> list[Fact]:
    from assistant.facts.system.socktable import source

    src = source(ctx)
    rows = src.with_pids(list(src.table()))
    # One process often holds many listeners (a server's every port, a
    # browser's helpers): read each process once.
    described: dict[int | None, dict[str, Any]] = {}
    parents: dict[int, dict[str, Any]] = {}

    def describe(pid: int | None) -> dict[str, Any]:
        if pid not in described:
            described[pid] = src.describe(pid)
        return described[pid]

    def parent_of(pid: int) -> dict[str, Any]:
        if pid not in parents:
            parents[pid] = parent(pid)
        return parents[pid]

    facts = listening_facts(rows, describe, parent_of)
    hidden = [f for f in facts if not f.get("pid") and f.get("mine") is False]
    if hidden and os.geteuid() != 0:
        # Field trial 11: as an ordinary user, root's stopped server went
        # unmentioned ("no problems found"): say what could not be read.
        owners = sorted({f"{f.get('user') or 'another user'}: port {f['port']}"
                         for f in hidden})
        facts.append({"type": "unknown", "reason": (
            f"{len(hidden)} listening port{'s' if len(hidden) > 1 else ''} of other users "
            f"({', '.join(owners[:4])}{', ...' if len(owners) > 4 else ''}), whose processes "
            "are hidden from you: whether they are stopped was not checked (sudo assistant "
            "doctor reads them)")})
    return facts


def summarise(facts: list[Fact], target: Target) -> Summary:
    exposed = [f for f in facts if f.get("wildcard") and f.get("dev_server")]
    stopped = [f for f in facts if f.get("stopped")]
    parts = [f"{len(facts)} listening"]
    parts += [f"{f.get('process')} on {hostport(f['address'], f['port'])} (all interfaces)"
              for f in exposed]
    parts += [f"{f.get('process')} on port {f['port']} is {f.get('status')}" for f in stopped]
    return Summary("warning" if exposed or stopped else "ok", "; ".join(parts))


COLLECTOR = Collector("all_listeners", "Every listening TCP socket with its process: "
                      "development servers, stopped processes.", (LISTENING,), collect,
                      summarise, timeout=3.0,
                      asks=lambda t: "what listens on this machine, and on which addresses?")
