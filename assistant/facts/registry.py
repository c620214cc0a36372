"""The collector interface, the explicit registry, and how checks are run.

A collector is a function `collect(ctx) -> list[dict]` in a module named in
REGISTRY; it returns facts (dicts with a `type` from the catalogue). It may
raise: the runner turns any failure or timeout into an `unknown` status with
a reason, so rules never see an exception.
"""

from __future__ import annotations

import importlib
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from assistant.symptoms import Target

Fact = dict[str, Any]

# check name -> (module, function, timeout seconds). Modules load on first use
# so that `--ask` never imports what its rules do not need.
REGISTRY: dict[str, tuple[str, str, float]] = {
    "listeners": ("assistant.facts.sockets", "collect_listeners", 3.0),
    "near_listeners": ("assistant.facts.sockets", "collect_near", 3.0),
    "probe": ("assistant.facts.probe", "collect", 5.0),
    "resolution": ("assistant.facts.resolve", "collect_resolution", 3.0),
    "hosts_file": ("assistant.facts.resolve", "collect_hosts_file", 1.0),
    "proxy": ("assistant.facts.proxy", "collect", 1.0),
    "port_info": ("assistant.facts.ports", "collect", 1.0),
    "host_check": ("assistant.facts.hostcheck", "collect", 3.0),
    "services": ("assistant.facts.services", "collect", 3.0),
    "firewall": ("assistant.facts.firewall", "collect", 8.0),
    "environment": ("assistant.facts.environment", "collect", 1.0),
    "app_firewall": ("assistant.facts.appfw", "collect", 4.0),
}


@dataclass
class Context:
    """What collectors may look at. One per diagnosis; shared cache."""

    target: Target
    env: Mapping[str, str]
    probe_timeout: float = 1.5
    hosts_path: str = "/etc/hosts"
    # Team services declared in rule files: name, port, process, usual_port...
    services: list[dict[str, Any]] = field(default_factory=list)
    cache: dict[str, Any] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    key_locks: dict[str, threading.Lock] = field(default_factory=dict)

    def memo(self, key: str, compute: Callable[[], Any]) -> Any:
        """Compute a shared value once (resolution is used by several checks)."""
        with self.lock:
            key_lock = self.key_locks.setdefault(key, threading.Lock())
        # One computation per key even when checks run concurrently.
        with key_lock:
            if key not in self.cache:
                self.cache[key] = compute()
            return self.cache[key]


@dataclass
class CheckResult:
    name: str
    status: str          # ok | unknown
    facts: list[Fact]
    ms: float
    reason: str | None = None


class _Running:
    def __init__(self, name: str, ctx: Context, fn: Callable[[Context], list[Fact]] | None):
        module, func, timeout = REGISTRY[name]
        if name == "probe":
            timeout = max(timeout, ctx.probe_timeout * 2 + 1.0)
        self.name, self.timeout = name, timeout
        self.box: dict[str, Any] = {}

        def work() -> None:
            try:
                call = fn or getattr(importlib.import_module(module), func)
                self.box["facts"] = call(ctx)
            except Exception as exc:  # noqa: BLE001 - a check must never raise
                self.box["error"] = f"{type(exc).__name__}: {exc}"

        self.start = time.perf_counter()
        # A daemon thread: a hung getaddrinfo must not keep the process alive.
        self.thread = threading.Thread(target=work, name=f"check-{name}", daemon=True)
        self.thread.start()

    def result(self) -> CheckResult:
        self.thread.join(max(0.0, self.timeout - (time.perf_counter() - self.start)))
        ms = (time.perf_counter() - self.start) * 1000
        if self.thread.is_alive():
            return CheckResult(self.name, "unknown", [], ms, f"timed out after {self.timeout:g} s")
        if "error" in self.box:
            return CheckResult(self.name, "unknown", [], ms, self.box["error"])
        facts = [{k: v for k, v in f.items() if v is not None} for f in self.box.get("facts") or []]
        unknown = [f for f in facts if f.get("type") == "unknown"]
        if unknown:
            facts = [f for f in facts if f.get("type") != "unknown"]
            return CheckResult(self.name, "unknown", facts, ms, str(unknown[0].get("reason")))
        return CheckResult(self.name, "ok", facts, ms)


def run_checks(names: list[str], ctx: Context,
               overrides: Mapping[str, Callable[[Context], list[Fact]]] | None = None
               ) -> list[CheckResult]:
    """Run checks concurrently, each bounded by its own timeout; never raises."""
    running = [_Running(n, ctx, (overrides or {}).get(n)) for n in names]
    return [r.result() for r in running]
