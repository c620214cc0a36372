"""The collector interface, and how checks run.

A collector is one object (`Collector`) in one module: its name (what a
rule's `check:` step names), the fact types it provides with their fields,
a timeout, `collect(ctx) -> facts`, and `summarise(facts, target)` for its
finding line. `facts/collectors.py` lists them all; the catalogue, the
findings, the trace lines and the rule schema derive from that list.

`run_checks` runs collectors concurrently, each bounded by its timeout (a
collector that says it is quick here runs in the calling thread), and
never raises: a failure, a timeout, or a fact that does not match what the
collector declared becomes status `unknown` with a reason.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

if TYPE_CHECKING:
    from assistant.understand.symptoms import Target

Fact = dict[str, Any]
Status = Literal["ok", "problem", "warning", "unknown"]
FieldKind = Literal["str", "int", "bool"]
_PYTHON: dict[str, tuple[type, ...]] = {"str": (str,), "int": (int,), "bool": (bool,)}


class Field(NamedTuple):
    """One field of a fact type: its JSON type, meaning and allowed values."""

    kind: FieldKind
    doc: str = ""
    values: tuple[str | int, ...] = ()  # the only values it takes; () = any of its kind
    example: object = None
    # Operators a rule may use on it; () = every operator for its kind. The
    # pasted text, say, is matched with contains or matches, never equalled.
    ops: tuple[str, ...] = ()
    # Words people write for one of `values` ("postgres" for the client psql),
    # for the "did you mean" of an error.
    synonyms: tuple[tuple[str, str], ...] = ()
    # The value is shell text (a whole command, or words for one), written by
    # a collector: a fix command takes it verbatim. Any other value is quoted
    # there when it holds more than letters, digits and @%+=:,./-
    verbatim: bool = False

    def accepts(self, value: object) -> bool:
        """The value has this field's JSON type and is one of its values."""
        if not isinstance(value, _PYTHON[self.kind]) or (
                self.kind == "int" and isinstance(value, bool)):
            return False
        return not self.values or value in self.values


class FactType(NamedTuple):
    """A fact type rules may match: fields, and how a fact reads in a trace."""

    name: str
    doc: str
    fields: dict[str, Field]
    line: Callable[[Fact], str] | None = None  # one human line; None: field list

    def describe(self, fact: Fact) -> str:
        if self.line is not None:
            return self.line(fact)
        shown = ", ".join(f"{k}={v}" for k, v in fact.items() if k in self.fields)
        return f"{self.name} {shown}"

    def problems(self, fact: Fact) -> list[str]:
        """What in `fact` this type does not declare (empty when it fits)."""
        out = []
        for key, value in fact.items():
            if key == "type":
                continue
            spec = self.fields.get(key)
            if spec is None:
                out.append(f"undeclared field {self.name}.{key}")
            elif not spec.accepts(value) and not spec.values:
                out.append(f"{self.name}.{key} is {type(value).__name__}, declared {spec.kind}")
            elif not spec.accepts(value):
                out.append(f"{self.name}.{key}={value!r} is not one of "
                           f"{', '.join(map(str, spec.values))}")
        return out


class Summary(NamedTuple):
    """A check's finding line: how it went, in one sentence."""

    status: Status
    text: str


class Context:
    """What collectors may look at. One per diagnosis; shared cache."""

    def __init__(self, target: Target, env: Mapping[str, str], probe_timeout: float = 1.5,
                 hosts_path: str = "/etc/hosts",
                 services: list[dict[str, Any]] | None = None) -> None:
        self.target = target
        self.env = env
        self.probe_timeout = probe_timeout
        self.hosts_path = hosts_path
        # Team services declared in rule files: name, port, process, usual_port...
        self.services: list[dict[str, Any]] = services if services is not None else []
        self.cache: dict[str, Any] = {}
        self.lock = threading.Lock()
        self.key_locks: dict[str, threading.Lock] = {}

    def memo(self, key: str, compute: Callable[[], Any]) -> Any:
        """Compute a shared value once (resolution is used by several checks)."""
        with self.lock:
            key_lock = self.key_locks.setdefault(key, threading.Lock())
        # One computation per key even when checks run concurrently.
        with key_lock:
            if key not in self.cache:
                self.cache[key] = compute()
            return self.cache[key]


Collect = Callable[[Context], list[Fact]]


class Collector(NamedTuple):
    """One check: what it provides and how it gathers and reports it.

    `collect` may raise; `run_checks` turns that into an `unknown` result. A
    fact `{"type": "unknown", "reason": ...}` in its output says "could not
    tell, because ..." while keeping whatever else it found.
    `summarise(facts, target)` is called only when the check succeeded.
    """

    name: str
    doc: str
    provides: tuple[FactType, ...]
    collect: Collect
    summarise: Callable[[list[Fact], Target], Summary]
    timeout: float = 3.0
    # The probe's bound grows with --timeout: (ctx) -> seconds.
    timeout_for: Callable[[Context], float] | None = None
    # The question this check answers, in plain words, for the chat's
    # progress lines and its explanations ("is anything listening on 3000?").
    asks: Callable[[Target], str] | None = None
    # True for a context where `collect` cannot wait (it reads only the
    # environment and this machine's fixed files, or has nothing to do): it
    # then runs in the calling thread, since a thread of its own costs more
    # than the work. None: it may wait, so it always gets a bounded thread.
    quick: Callable[[Context], bool] | None = None

    def question(self, target: Target) -> str:
        """What this check finds out, as a short plain question."""
        if self.asks is None:
            return f"checking {self.name.replace('_', ' ')}"
        try:
            return self.asks(target)
        except (AttributeError, TypeError, ValueError):
            return f"checking {self.name.replace('_', ' ')}"

    def describe(self, fact: Fact) -> str:
        for t in self.provides:
            if t.name == fact.get("type"):
                return t.describe(fact)
        return str(fact.get("type"))

    def bound(self, ctx: Context) -> float:
        return self.timeout_for(ctx) if self.timeout_for is not None else self.timeout


class CheckResult(NamedTuple):
    name: str
    status: Literal["ok", "unknown"]
    facts: list[Fact]
    ms: float
    reason: str | None = None


def validate(collector: Collector, facts: Iterable[Fact]) -> list[str]:
    """Every way `facts` differ from what `collector` declares."""
    types = {t.name: t for t in collector.provides}
    out: list[str] = []
    for f in facts:
        t = types.get(f.get("type"))  # type: ignore[arg-type]
        if t is None:
            out.append(f"fact type {f.get('type')!r} is not one {collector.name} provides")
        else:
            out += t.problems(f)
    return out


class _Running:
    def __init__(self, name: str, ctx: Context, collector: Collector | None,
                 fn: Collect | None):
        self.name, self.collector = name, collector
        self.timeout = collector.bound(ctx) if collector else 0.0
        self.box: dict[str, Any] = {}
        self.start = time.perf_counter()
        self.thread: threading.Thread | None = None
        self.ms = 0.0
        if collector is None:
            return
        call = fn or collector.collect

        def work() -> None:
            try:
                self.box["facts"] = call(ctx)
            except Exception as exc:  # noqa: BLE001 - a check must never raise
                self.box["error"] = f"{type(exc).__name__}: {exc}"

        self.work = work
        if fn is None and collector.quick is not None and _quick(collector, ctx):
            return  # run_checks calls it in this thread
        # A daemon thread: a hung getaddrinfo must not keep the process alive.
        self.thread = threading.Thread(target=work, name=f"check-{name}", daemon=True)
        self.thread.start()

    def run_here(self) -> None:
        """A quick check's work, in the calling thread (no bound needed)."""
        if self.collector is not None and self.thread is None:
            self.start = time.perf_counter()
            self.work()
            self.ms = (time.perf_counter() - self.start) * 1000

    def result(self) -> CheckResult:
        if self.collector is None:
            return CheckResult(self.name, "unknown", [], 0.0, f"no check is named {self.name!r}")
        if self.thread is not None:
            self.thread.join(max(0.0, self.timeout - (time.perf_counter() - self.start)))
            self.ms = (time.perf_counter() - self.start) * 1000
        ms = self.ms
        if self.thread is not None and self.thread.is_alive():
            return CheckResult(self.name, "unknown", [], ms, f"timed out after {self.timeout:g} s")
        if "error" in self.box:
            return CheckResult(self.name, "unknown", [], ms, self.box["error"])
        facts = [{k: v for k, v in f.items() if v is not None} for f in self.box.get("facts") or []]
        unknown = [f for f in facts if f.get("type") == "unknown"]
        facts = [f for f in facts if f.get("type") != "unknown"]
        wrong = validate(self.collector, facts)
        if wrong:
            # A collector that emits what it did not declare is a bug; rules
            # would silently never see the field, so nothing it said counts.
            return CheckResult(self.name, "unknown", [], ms,
                               f"the {self.name} check emitted {'; '.join(wrong[:3])}")
        if unknown:
            return CheckResult(self.name, "unknown", facts, ms, str(unknown[0].get("reason")))
        return CheckResult(self.name, "ok", facts, ms)


def run_checks(names: list[str], ctx: Context, collectors: Mapping[str, Collector],
               overrides: Mapping[str, Collect] | None = None) -> list[CheckResult]:
    """Run checks concurrently, each bounded by its own timeout; never raises.

    `overrides` replaces a collector's `collect` (tests); the declaration,
    the bound and the validation still apply.
    """
    running = [_Running(n, ctx, collectors.get(n), (overrides or {}).get(n)) for n in names]
    for r in running:  # quick ones while the others' threads run
        r.run_here()
    return [r.result() for r in running]


def _quick(collector: Collector, ctx: Context) -> bool:
    try:
        return bool(collector.quick and collector.quick(ctx))
    except Exception:  # noqa: BLE001 - unsure: a thread, as for any check
        return False
