"""Listeners on ports a slip away from the asked one (a digit off, two
digits swapped, a few apart), or held by a process told to use the port."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from assistant.facts.base import Collector, Context, Fact, FactType, Field, Summary
from assistant.facts.listeners import PROCESS_FIELDS, Describe, holder, owned, process_words
from assistant.facts.system.socktable import Listen, source
from assistant.understand.addresses import hostport

if TYPE_CHECKING:
    from assistant.understand.symptoms import Target

NEAR_LISTENER = FactType("near_listener", "A listener on a port near the asked one.", {
    "address": Field("str", "the bound address"),
    "port": Field("int", "the near port", example=3001),
    "family": Field("int", "4 or 6", (4, 6)),
    **PROCESS_FIELDS,
    "relation": Field("str", "how the port is near the asked one",
                      ("digit", "swap", "offset", "same-process")),
    "distance": Field("int", "how far: 1 for a digit or a swap, else the difference"),
}, lambda f: f"listener on near port {hostport(f.get('address'), f.get('port'))}"
             f"{process_words(f)} ({f.get('relation')})")


def near_relation(asked: int, other: int) -> tuple[str, int] | None:
    """Whether `other` is a plausible slip for `asked`: digit, swap, offset."""
    a, b = str(asked), str(other)
    if a == b:
        return None
    if len(a) == len(b):
        diffs = [i for i in range(len(a)) if a[i] != b[i]]
        if len(diffs) == 1:
            return ("digit", 1)
        if len(diffs) == 2 and diffs[1] == diffs[0] + 1 and a[diffs[0]] == b[diffs[1]] \
                and a[diffs[1]] == b[diffs[0]]:
            return ("swap", 1)
    elif abs(len(a) - len(b)) == 1:
        longer, shorter = (a, b) if len(a) > len(b) else (b, a)
        if any(longer[:i] + longer[i + 1:] == shorter for i in range(len(longer))):
            return ("digit", 1)
    if abs(asked - other) <= 10:
        return ("offset", abs(asked - other))
    return None


def near_from(table: Iterable[Listen], port: int, describe: Describe,
              mentioning: set[int] | None = None) -> list[Fact]:
    """Pure: near-miss listener facts for `port`.

    `mentioning`: pids of processes whose command line names the asked port
    (told to use it, listening elsewhere: relation `same-process`).
    """
    facts: list[Fact] = []
    seen: set[tuple[int, int | None]] = set()
    for row in table:
        if row.port == port or (row.port, row.pid) in seen:
            continue
        rel = near_relation(port, row.port)
        if rel is None and row.pid and row.pid in (mentioning or set()):
            rel = ("same-process", abs(port - row.port))
        if rel is None:
            continue
        seen.add((row.port, row.pid))
        fact: Fact = {"type": "near_listener", "address": row.address, "port": row.port,
                      "family": row.family, "relation": rel[0], "distance": rel[1]}
        info = describe(row.pid)
        fact.update({k: v for k, v in info.items() if k in PROCESS_FIELDS})
        facts.append(owned(fact, row.uid))
    facts.sort(key=lambda f: (f["distance"], f["port"]))
    return facts[:10]


def collect(ctx: Context) -> list[Fact]:
    port = ctx.target.port
    if port is None:
        return []
    src = source(ctx)
    near = src.with_pids([r for r in src.table() if r.port != port and near_relation(port, r.port)])
    mentioned = src.mentioning(port)
    return near_from(near + [r for r in mentioned if r not in near], port, src.describe,
                     {r.pid for r in mentioned if r.pid})


def summarise(facts: list[Fact], target: Target) -> Summary:
    if not facts:
        return Summary("ok", f"no listener on a port near {target.port}")
    parts = [f"{f['port']} ({f['relation']}, {holder(f)})" for f in facts[:3]]
    return Summary("warning", "near ports with listeners: " + "; ".join(parts))


COLLECTOR = Collector("near_listeners", "Listeners on near-miss ports of the asked one.",
                      (NEAR_LISTENER,), collect, summarise, timeout=3.0,
                      asks=lambda t: f"is something listening on a port close to {t.port}?")
