"""The durable-rules adapter: the only module that imports durable-rules.

It drives the C engine (durable_rules_engine) directly: no Host, so none of
the dispatch timers a Host starts (they never stop, and there is nothing to
dispatch). One ruleset per
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
_engine: Any = None
_handles: dict[str, int] = {}
_sinks: dict[str, Callable[[Firing], None]] = {}


def _import_engine() -> Any:
    """Import durable-rules' C engine, also on Python 3.13 with a plain build.

    The engine is driven directly, without the package's Python layer
    (durable.engine): that layer imports logging, inspect, random, datetime
    and traceback, about 10 ms of the seed question's start-up, for a Host
    whose timers, promises and storage callbacks this project never uses.
    What it does for synchronous facts is the loop in `_run_actions`.

    durable-rules 2.0.28 calls PyEval_CallObject, removed in 3.13. Our
    installer builds it with CPPFLAGS=-DPyEval_CallObject=PyObject_CallObject;
    a build without that still loads lazily, because the symbol is only used
    by the storage callbacks this project never sets.
    """
    try:
        import durable_rules_engine

        return durable_rules_engine
    except ImportError as exc:
        if "PyEval_CallObject" not in str(exc) or not hasattr(sys, "setdlopenflags"):
            raise
    old = sys.getdlopenflags()
    sys.setdlopenflags(os.RTLD_LAZY | (old & ~os.RTLD_NOW))
    try:
        import durable_rules_engine

        return durable_rules_engine
    finally:
        sys.setdlopenflags(old)


def _get_engine() -> Any:
    global _engine
    if _engine is None:
        try:
            _engine = _import_engine()
        except (ImportError, OSError) as exc:
            raise EngineUnavailable(exc) from None
    return _engine


def compile_check(ruleset: str, definitions: dict[str, Any]) -> None:
    """Create a ruleset only to see whether the engine takes it; the engine's
    own exception (a bare numeric code) goes to the caller (isolate.py)."""
    _get_engine().create_ruleset(ruleset, json.dumps(definitions, ensure_ascii=False))


def register(ruleset: str, definitions: dict[str, dict[str, Any]],
             sink: Callable[[Firing], None]) -> None:
    """Register a compiled ruleset once; later calls only swap the sink.
    The definitions are only read (durable's Host would mutate them)."""
    with _lock:
        _sinks[ruleset] = sink
        if ruleset in _handles:
            return
        try:
            handle = _get_engine().create_ruleset(ruleset,
                                                  json.dumps(definitions, ensure_ascii=False))
        except Exception as exc:
            raise EngineError(f"the rule engine refused the rule set: {exc}") from None
        _handles[ruleset] = handle


def _run_actions(ruleset: str, result: Any, fact: dict[str, Any]) -> None:
    """What durable.engine's Host does after a synchronous assert or retract:
    run each rule the engine starts, write the (unchanged) state back and
    complete it, until the engine starts no more."""
    code, state_handle = result[0], result[1]
    if code == 1:  # durable's MessageNotHandledException
        raise EngineError(f"no rule handles the fact {json.dumps(fact)[:200]}")
    if code == 2:  # durable's MessageObservedException
        raise EngineError(f"the fact was asserted already: {json.dumps(fact)[:200]}")
    if code == 3:
        return
    engine, handle = _engine, _handles[ruleset]
    started = engine.start_action_for_state(handle, state_handle)
    if not started:
        return
    leased = True  # an action is started and not yet completed
    state = started[0]
    try:
        message = json.loads(started[1])
        while message:
            name, matched = next(iter(message.items()))
            try:
                # A matched "all" rule gives {alias: fact}; anything else matched
                # nothing nameable.
                _sinks[ruleset]((name, matched if isinstance(matched, dict) else {}))
            except Exception as exc:  # noqa: BLE001 - the sink is ours; say it, go on
                with contextlib.suppress(Exception):
                    _sinks[ruleset]((name, {ERROR_KEY: {"message": repr(exc)}}))
            try:
                engine.update_state(handle, state)
                following = engine.complete_and_start_action(handle, state_handle)
            except Exception as exc:
                leased = False
                engine.abandon_action(handle, state_handle)
                raise EngineError(f"the rule engine failed after rule {name}: {exc}") from None
            leased = following is not None
            message = json.loads(following) if following else None
    except BaseException:
        # Ctrl-C or a failing sink: complete what the engine started (its
        # firings are dropped; the facts are retracted by clear()). Left
        # started, the session's actions stay leased for 60 s; abandon_action
        # would leave a frame that a retract cannot delete (corrupts memory).
        if leased:
            with contextlib.suppress(Exception):
                while True:
                    engine.update_state(handle, state)
                    if not engine.complete_and_start_action(handle, state_handle):
                        break
        raise


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
            # Recorded first: whatever happens below, clear() retracts it
            # (retracting a fact the engine did not keep is harmless).
            self._asserted.append(body)
            try:
                _run_actions(self.ruleset, _engine.assert_fact(
                    _handles[self.ruleset], json.dumps(body, ensure_ascii=False)), body)
            except Exception as exc:
                raise EngineError(f"asserting a {fact.get('type')} fact failed: {exc}") from None

    def clear(self) -> None:
        with _lock:
            for body in reversed(self._asserted):
                # Best effort: the sid is reused, a fact that will not go is harmless.
                with contextlib.suppress(Exception):
                    _run_actions(self.ruleset, _engine.retract_fact(
                        _handles[self.ruleset], json.dumps(body, ensure_ascii=False)), body)
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
