"""Run rules in rounds: assert facts, record intents, gather, repeat.

Actions only record intents. Checks (slow work) run here between rounds,
never inside an action; their facts are asserted first and the `checked`
fact last, so a negation never sees a half-gathered family.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable, Collection
from typing import TYPE_CHECKING, Any, NamedTuple

from assistant.engine import runtime
from assistant.engine.applicable import may_apply, selector_may_apply
from assistant.engine.model import (
    CATCH_ALL,
    ERROR_KEY,
    GUARD_PREFIX,
    SEQ_KEY,
    TEMPLATE_REF,
    Ask,
    Assert,
    Check,
    Conclude,
    Rule,
    RuleName,
    RuleSet,
)
from assistant.engine.operators import OPERATORS
from assistant.facts.base import CheckResult
from assistant.facts.catalogue import fact_line
from assistant.report import Command, Diagnosis, Link, Question
from assistant.understand.redact import clean, shortened

if TYPE_CHECKING:
    from assistant.engine.compiler import PostCheck

MAX_ROUNDS = 20
CheckRunner = Callable[[list[str]], list[CheckResult]]
Matched = dict[str, dict[str, Any]]  # alias -> fact


class Conclusion(NamedTuple):
    """A diagnosis and the rule behind it (for ranking)."""

    rule: Rule
    diagnosis: Diagnosis
    order: int = 0


class Outcome(NamedTuple):
    conclusions: list[Conclusion]
    questions: list[Question]
    trace: list[dict[str, Any]]
    checks: list[CheckResult]
    errors: list[str]


def render_template(text: str, matched: Matched, shell_os: str | None = None) -> str:
    """Replace `{alias.field}` (or `{alias.field|fallback}`) with matched values.

    No other formatting exists: values are inserted as text, never evaluated.
    With `shell_os` the text is a command for that OS: each value is quoted
    for its shell (engine/shellquote.py) unless its field is verbatim shell text.
    """
    powershell = shell_os == "windows"

    def sub(m: re.Match[str]) -> str:
        fact = matched.get(m.group(1), {})
        value = fact.get(m.group(2))
        if value is None or value == "":
            return m.group(3) if m.group(3) is not None else "?"
        shown = shortened(str(value))
        if shell_os is None or _is_shell_text(fact.get("type"), m.group(2)):
            return shown
        from assistant.engine import shellquote

        return shellquote.quote(shown, shellquote.context(text, m.start(), powershell),
                                powershell)

    return TEMPLATE_REF.sub(sub, text)


def _is_shell_text(fact_type: object, field: str) -> bool:
    from assistant.facts.catalogue import fact_type as declared

    t = declared(fact_type) if isinstance(fact_type, str) else None
    spec = t.fields.get(field) if t is not None else None
    return bool(spec and spec.verbatim)


class Compiled:
    """A rule set, compiled; registered with the engine per selection.

    Only the rules that can apply to a question's target and symptom are
    registered (engine/select.py), sharded within the engine's limits. Each
    distinct selection is registered once and reused.
    """

    def __init__(self, ruleset: RuleSet, definitions: dict[str, Any] | None = None,
                 select: bool = True):
        self.rules = ruleset.enabled()
        # Without selection every rule is registered once, whatever the facts:
        # one engine ruleset instead of one per distinct selection.
        self.select = select
        if definitions is None:
            from assistant.engine.compiler import compile_rules  # a cache miss only

            definitions = compile_rules(list(self.rules))
        self.definitions = definitions
        self.selectors = ruleset.selectors
        if ruleset.marks is None:
            from assistant.engine.compiler import text_marks

            self.marks = text_marks(list(self.rules))
        else:
            self.marks = ruleset.marks
        # The digest covers every rule file, overrides included.
        self.name = f"rs_{ruleset.digest[:24]}"
        self.firings: list[runtime.Firing] = []
        self._post: dict[RuleName, PostCheck] = {}
        self._by_selection: dict[tuple[int, ...], runtime.Sessions] = {}
        self.session: runtime.Sessions | None = None

    def use(self, initial: list[dict[str, Any]]) -> runtime.Sessions:
        """Select, register (once) and make current the rules for these facts."""
        selection = self.selection(initial) if self.select else tuple(range(len(self.rules)))
        sessions = self._by_selection.get(selection)
        if sessions is None:
            chosen = set(selection)
            names = [n for n in self.definitions if n == CATCH_ALL or _index(n) in chosen]
            # Cached definitions are JSON texts: parse the chosen ones in one call.
            many = getattr(self.definitions, "parse_many", None)
            defs = many(names) if many is not None else {n: self.definitions[n] for n in names}
            from assistant.engine.compiler import shard

            key = zlib.crc32(",".join(map(str, selection)).encode())
            names = []
            for k, part in enumerate(shard(defs)):
                names.append(f"{self.name}_{key:08x}_{k}")
                runtime.register(names[-1], part, self.firings.append)
            sessions = self._by_selection[selection] = runtime.Sessions(names)
        self.session = sessions
        return sessions

    def selection(self, initial: list[dict[str, Any]]) -> tuple[int, ...]:
        """The indexes of the rules that may apply to these facts (select.py)."""
        if self.selectors is not None:
            return tuple(i for i, sel in enumerate(self.selectors)
                         if selector_may_apply(sel, initial))
        return tuple(i for i, r in enumerate(self.rules) if may_apply(r, initial))

    def marked(self, fact: dict[str, Any]) -> dict[str, Any]:
        """`fact` with a mark for each text test that holds for it: text
        operators are Python's (operators.py), the engine tests the mark."""
        tests = self.marks.get(str(fact.get("type")))
        if not tests:
            return fact
        out = dict(fact)
        for fld, op, operand, name in tests:
            value = fact.get(fld)
            if value is not None and OPERATORS[op].holds(value, operand):
                out[name] = 1
        return out

    def stands(self, durable_name: str, rule: Rule, matched: Matched) -> bool:
        """Whether a firing holds once the tests the driver owns are applied
        (compiler.post_checks: joins other than equality, exceptions with a
        join on a matched fact)."""
        from assistant.engine.compiler import passes, post_checks

        name = RuleName.parse(durable_name)
        if name is None:
            return True
        check = self._post.get(name)
        if check is None:
            check = self._post[name] = post_checks(rule.alternatives[name.alternative],
                                                   rule.exceptions)
        return not (check.joins or check.exceptions) or passes(check, matched)

    def rule_for(self, durable_name: str) -> Rule | None:
        index = _index(durable_name)
        return None if index is None else self.rules[index]


def _index(durable_name: str) -> int | None:
    name = RuleName.parse(durable_name)
    return None if name is None else name.position


def run(compiled: Compiled, initial: list[dict[str, Any]], checks: CheckRunner,
        answers: dict[str, str], skipped: Collection[str] = (), separate: bool = False
        ) -> Outcome:
    """Rounds until quiet. A rule's firings make one conclusion (its evidence
    and fixes gathered from each), or with `separate` one conclusion per
    firing: a checkup says each declared service, each exposed server, on
    its own line."""
    conclusions: dict[str, Conclusion] = {}
    questions: dict[str, Question] = {}
    trace: list[dict[str, Any]] = []
    errors: list[str] = []
    results: list[CheckResult] = []
    requested: set[str] = set()
    asserted_notes: set[tuple[Any, ...]] = set()
    pending = list(initial) + [{"type": "answer", "id": k, "value": v} for k, v in answers.items()]
    # A skipped question is answered "skipped", never with a made-up value.
    pending += [{"type": "answer", "id": k, "skipped": True} for k in skipped if k not in answers]
    # Trigger facts (target, symptom) last: negations must see context first.
    pending.sort(key=lambda f: f.get("type") in ("target", "symptom"))
    seen_firings: set[tuple[str, tuple[int, ...]]] = set()
    # Answers are known before any rule runs too: rules waiting for an
    # answer that was not given need not be registered.
    session = compiled.use([f for f in pending if f.get("type") == "answer"] + list(initial))
    try:
        for _ in range(MAX_ROUNDS):
            if not pending:
                break
            compiled.firings.clear()
            for fact in pending:
                session.assert_fact(compiled.marked(fact))
            pending = []
            to_check: list[str] = []
            for name, matched in list(compiled.firings):
                if ERROR_KEY in matched:
                    errors.append(f"rule action failed: {matched[ERROR_KEY]['message']}")
                    continue
                rule = compiled.rule_for(name)
                if rule is None or not compiled.stands(name, rule, matched):
                    continue
                key = (rule.id, tuple(sorted(int(f.get(SEQ_KEY, 0)) for f in matched.values())))
                if key in seen_firings:
                    continue
                seen_firings.add(key)
                facts = [f for alias, f in matched.items() if not alias.startswith(GUARD_PREFIX)]
                trace.append({"rule": rule.id, "facts": [fact_line(f) for f in facts]})
                for step in rule.steps:
                    match step:
                        case Check(names):
                            for c in names:
                                if c not in requested:
                                    requested.add(c)
                                    to_check.append(c)
                        case Assert(fields):
                            note = {"type": "note", **{
                                k: render_template(v, matched) if isinstance(v, str) else v
                                for k, v in fields.items()}}
                            sig = tuple(sorted(note.items()))
                            if sig not in asserted_notes:
                                asserted_notes.add(sig)
                                pending.append(note)
                        case Ask(qid, text, choices):
                            if qid not in answers and qid not in skipped and qid not in questions:
                                questions[qid] = Question(qid, text, list(choices), rule.id)
                        case Conclude():
                            _conclude(conclusions, rule, step, matched,
                                      f"{rule.id}#{key[1]}" if separate else rule.id)
            if to_check:
                for res in checks(to_check):
                    results.append(res)
                    pending.extend(res.facts)
                for res in results[-len(to_check):]:
                    pending.append({"type": "checked", "name": res.name, "status": res.status,
                                    "reason": res.reason})
    except runtime.EngineError as exc:
        errors.append(str(exc))
    finally:
        session.clear()
    return Outcome(rank(list(conclusions.values())), list(questions.values()), trace, results,
                   errors)


def _conclude(conclusions: dict[str, Conclusion], rule: Rule, step: Conclude,
              matched: Matched, key: str) -> None:
    c = conclusions.get(key)
    if c is None:
        d = Diagnosis(rule=rule.id, category=rule.category or "", severity=rule.severity,
                      summary=clean(render_template(step.summary, matched)), evidence=[],
                      processes=[], fix=[], kb=list(step.kb),
                      links=[Link(clean(ln.title), ln.url) for ln in step.links])
        c = conclusions[key] = Conclusion(rule, d, order=len(conclusions))
    d = c.diagnosis
    for line in step.evidence:
        text = clean(render_template(line, matched))
        if text not in d.evidence:
            d.evidence.append(text)
    for fx in step.fix:
        # Commands are redacted too: a value may carry a proxy's password.
        item = Command(fx.os, clean(render_template(fx.command, matched, fx.os)),
                       clean(render_template(fx.why, matched)))
        if item not in d.fix:
            d.fix.append(item)
    for fact in matched.values():
        if fact.get("pid") and fact.get("type") in ("listener", "near_listener", "unix_socket",
                                                     "unix_alternative", "listening",
                                                     "accept_queue"):
            proc: dict[str, Any] = {k: fact[k] for k in ("pid", "cmdline", "user") if k in fact}
            if "cmdline" in proc:
                proc["cmdline"] = shortened(str(proc["cmdline"]))
            proc["name"] = fact.get("process")
            if all(p["pid"] != proc["pid"] for p in d.processes):
                d.processes.append(proc)


def rank(conclusions: list[Conclusion]) -> list[Conclusion]:
    """Priority first, then firing order; drop what a conclusion supersedes."""
    fired = {c.rule.id for c in conclusions}
    superseded = {s for c in conclusions for s in c.rule.supersedes if c.rule.id in fired}
    kept = [c for c in conclusions if c.rule.id not in superseded]
    return sorted(kept, key=lambda c: (-c.rule.priority, c.order))
