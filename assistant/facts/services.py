"""Team services declared in rule files, with who listens on their ports now."""

from __future__ import annotations

from typing import Any

from assistant.facts.registry import Context, Fact
from assistant.facts.sockets import Listen, source


def owner_ok(expected: str | None, info: dict[str, Any]) -> bool:
    """Pure: whether a listener's process is the one the service declares."""
    if not expected:
        return True
    want = expected.lower()
    name = str(info.get("process", "")).lower()
    if not name and not info.get("cmdline"):
        return True  # not visible to us: do not accuse it
    return name == want or name.startswith(want) or want in str(info.get("cmdline", "")).lower()


def service_facts(services: list[dict[str, Any]], table: list[Listen],
                  describe: Any) -> list[Fact]:
    """Pure: one `service` fact per declaration, from a socket table."""
    facts: list[Fact] = []
    for svc in services:
        rows = [r for r in table if r.port == svc["port"]]
        fact: Fact = {"type": "service", "name": svc["name"], "port": svc["port"],
                      "process": svc.get("process"), "usual_port": svc.get("usual_port"),
                      "description": svc.get("description"), "listening": bool(rows)}
        if rows:
            info = describe(rows[0].pid)
            fact.update(owner=info.get("process"), owner_pid=info.get("pid"),
                        owner_ok=owner_ok(svc.get("process"), info))
        facts.append(fact)
    return facts


def collect(ctx: Context) -> list[Fact]:
    if not ctx.services:
        return []
    src = source(ctx)
    ports = {s["port"] for s in ctx.services}
    rows = src.with_pids([r for r in src.table() if r.port in ports])
    return service_facts(ctx.services, rows, src.describe)
