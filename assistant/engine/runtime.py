"""The durable-rules adapter: the only module that imports `durable`.

One Host per process, without the dispatch timers durable starts (they
would never stop, and there is nothing to dispatch). One ruleset per
distinct rule set (rulesets cannot be removed; a reload registers a new
name). One session id reused across diagnoses, its facts retracted after
each (a new sid per question grows memory; `delete_state` can segfault).
Actions only record which rule matched which facts; all work happens in
the driver between rounds.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
from collections.abc import Callable
from typing import Any

from assistant.engine.model import ERROR_KEY, SEQ_KEY, SESSION_KEY
from assistant.errors import UserError

Firing = tuple[str, dict[str, dict[str, Any]]]  # (durable rule name, alias -> fact)


class EngineError(Exception):
    pass


# The Python versions the install is proven on (CI); also in README ("Install").
TESTED_PYTHONS = ((3, 10), (3, 15))


class EngineUnavailable(UserError):
    """durable-rules is missing or does not load: an install problem, said in
    one message that names this interpreter (not a traceback)."""

    def __init__(self, exc: BaseException):
        lo, hi = TESTED_PYTHONS
        v = sys.version_info
        tested = lo <= (v.major, v.minor) <= hi
        super().__init__(
            f"the rule engine (durable-rules 2.0.28) does not load on Python "
            f"{v.major}.{v.minor}.{v.micro} ({sys.executable}): {exc}\n"
            + ("Reinstall it as README 'Install' says (on Python 3.13 and newer it is compiled "
               "with CPPFLAGS=-DPyEval_CallObject=PyObject_CallObject)." if tested else
               f"This Python is not one this release is tested on (3.{lo[1]} to 3.{hi[1]}): "
               "install with one of those."))


_lock = threading.RLock()  # the C engine has no locks of its own
_host: Any = None
_registered: set[str] = set()
_sinks: dict[str, Callable[[Firing], None]] = {}


def _import_durable() -> Any:
    """Import durable.engine, also on Python 3.13 with a plain build.

    durable-rules 2.0.28 calls PyEval_CallObject, removed in 3.13. Our
    installer builds it with CPPFLAGS=-DPyEval_CallObject=PyObject_CallObject;
    a build without that still loads lazily, because the symbol is only used
    by the storage callbacks this project never sets.
    """
    try:
        import durable.engine as engine

        return engine
    except ImportError as exc:
        if "PyEval_CallObject" not in str(exc) or not hasattr(sys, "setdlopenflags"):
            raise
    for name in [m for m in sys.modules if m.startswith("durable")]:
        del sys.modules[name]
    old = sys.getdlopenflags()
    sys.setdlopenflags(os.RTLD_LAZY | (old & ~os.RTLD_NOW))
    try:
        import durable.engine as engine

        return engine
    finally:
        sys.setdlopenflags(old)


def _get_host() -> Any:
    global _host
    if _host is None:
        try:
            engine = _import_durable()
        except (ImportError, OSError) as exc:
            raise EngineUnavailable(exc) from None

        base: Any = engine.Host

        class QuietHost(base):
            """A Host without its dispatch timers.

            Host() starts two timers that re-arm forever, a new thread per
            tick (0 to 0.5 s), to dispatch queued events and timers. This
            project only asserts facts with synchronous actions, so there is
            never anything to dispatch; the threads only cost CPU in a
            long-running chat and fail where threads are scarce.
            """

            def _run(self) -> None:
                return None

        _host = QuietHost()
    return _host


def _make_action(ruleset: str, name: str) -> Callable[[Any], None]:
    # Exactly one parameter: durable treats a two-parameter callable as async.
    def action(c: Any) -> None:
        try:
            matched = {alias: dict(fact) for alias, fact in (c._m or {}).items()}
            _sinks[ruleset]((name, matched))
        except Exception as exc:  # noqa: BLE001 - durable would swallow it
            _sinks[ruleset]((name, {ERROR_KEY: {"message": repr(exc)}}))

    return action


def register(ruleset: str, definitions: dict[str, dict[str, Any]],
             sink: Callable[[Firing], None], copied: bool = False) -> None:
    """Register a compiled ruleset once; later calls only swap the sink.
    `copied`: the definitions are the caller's fresh copy, the engine's to mutate."""
    with _lock:
        _sinks[ruleset] = sink
        if ruleset in _registered:
            return
        # register_rulesets mutates its input; the definitions are JSON (they
        # come from the cache file), and a JSON round trip copies them ten
        # times faster than deepcopy.
        defs = definitions if copied else json.loads(json.dumps(definitions))
        for name, rule in defs.items():
            rule["run"] = _make_action(ruleset, name)
        try:
            _get_host().set_rulesets({ruleset: defs})
        except Exception as exc:
            raise EngineError(f"the rule engine refused the rule set: {exc}") from None
        _registered.add(ruleset)


class Session:
    """Assert facts into one engine session; retract them all at the end."""

    def __init__(self, ruleset: str, sid: str = "1"):
        self.ruleset, self.sid = ruleset, sid
        self._asserted: list[dict[str, Any]] = []
        self._n = 0

    def assert_fact(self, fact: dict[str, Any]) -> None:
        self._n += 1
        # SEQ_KEY keeps identical facts distinct (durable raises on a
        # duplicate); None values are dropped (JSON null counts as present for $ex).
        body = {k: v for k, v in fact.items() if v is not None}
        body.update({SESSION_KEY: self.sid, SEQ_KEY: self._n})
        with _lock:
            try:
                _get_host().assert_fact(self.ruleset, body)
            except Exception as exc:
                raise EngineError(f"asserting a {fact.get('type')} fact failed: {exc}") from None
        self._asserted.append(body)

    def clear(self) -> None:
        with _lock:
            for body in reversed(self._asserted):
                # Best effort: the sid is reused, a fact that will not go is harmless.
                with contextlib.suppress(Exception):
                    _get_host().retract_fact(self.ruleset, body)
        self._asserted.clear()


class Sessions:
    """The same facts asserted into every shard of a rule set, in order."""

    def __init__(self, rulesets: list[str], sid: str = "1"):
        self.shards = [Session(name, sid) for name in rulesets]

    def assert_fact(self, fact: dict[str, Any]) -> None:
        for shard in self.shards:
            shard.assert_fact(fact)

    def clear(self) -> None:
        for shard in self.shards:
            shard.clear()
