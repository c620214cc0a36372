"""The conversation behind the terminal chat: plain functions over a Session.

No prompt_toolkit here: `Chat.handle(line)` takes what the user typed and
writes what to show through `say`. The REPL (repl.py) only reads lines and
prints; tests drive this class directly.
"""

from __future__ import annotations

import os
import re
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from assistant.errors import UserError
from assistant.render.text import render
from assistant.report import Question, Report

if TYPE_CHECKING:
    from assistant.engine.model import Rule
    from assistant.facts.base import CheckResult
    from assistant.session import Session
from assistant.understand.redact import clean

COMMANDS = {
    "/help": "this list",
    "/why": "while a question is pending: who asks and why; after a diagnosis: how it was reached",
    "/how": "how the last diagnosis was reached: rules fired, with the facts they matched",
    "/facts": "what was gathered for the last diagnosis, and how long each check took",
    "/rules": "the rules in use and where they come from",
    "/again": "run the last diagnosis again (after starting the server, say)",
    "/doctor": "a checkup of this machine's local networking, as `assistant doctor` gives it",
    "/report": "/report [FILE]: a Markdown report of this conversation, for a ticket",
    "/clear": "forget the conversation so far",
    "/quit": "leave (Ctrl-D does too)",
}
SKIP = ("skip", "don't know", "dont know", "no idea", "not sure", "?")
_WHY = re.compile(r"^\s*(why\??|why is that\??|why do you ask\??|how\??|how do you know\??|"
                  r"explain( that)?|how so\??)\s*$", re.I)
_YES = {"y": "yes", "yes": "yes", "n": "no", "no": "no"}


@dataclass
class Exchange:
    text: str
    report: Report


@dataclass
class Chat:
    session: Session
    say: Callable[[str], None]
    color: bool = False
    width: int = 80
    history: list[Exchange] = field(default_factory=list)
    pending: Question | None = None
    last_text: str | None = None
    answers: dict[str, str] = field(default_factory=dict)
    skipped: set[str] = field(default_factory=set)

    # -- input ---------------------------------------------------------------
    def handle(self, line: str) -> bool:
        """Act on one input; False means leave."""
        text = line.strip()
        if not text:
            return True
        if text.startswith("/"):
            return self.command(text)
        if _WHY.match(text):
            return self.command("/why")
        if self.pending is not None:
            self.answer(text)
            return True
        self.answers, self.skipped = {}, set()
        self.run(text)
        return True

    def command(self, text: str) -> bool:
        name, _, arg = text.partition(" ")
        name = name.lower()
        if name in ("/quit", "/exit"):
            return False
        handler = {"/help": self.help, "/why": self.why, "/how": self.how, "/facts": self.facts,
                   "/rules": self.rules, "/again": self.again, "/clear": self.clear,
                   "/doctor": self.doctor,
                   "/report": lambda: self.report(arg.strip())}.get(name)
        if handler is None:
            self.say(f"Unknown command {clean(name)}; /help lists them.")
        else:
            handler()
        return True

    # -- diagnosing ----------------------------------------------------------
    def run(self, text: str) -> None:
        self.last_text = text

        def progress(name: str, result: CheckResult | None) -> None:
            if result is None:
                self.say(f"  … checking {name.replace('_', ' ')}")

        try:
            report = self.session.ask(text, self.answers, progress=progress, skipped=self.skipped)
        except UserError as exc:
            self.say(str(exc))
            return
        self.history.append(Exchange(clean(text), report))
        self.say(render(report, color=self.color, width=self.width).rstrip("\n"))
        pending = [q for q in report.questions if q.id not in self.answers
                   and (q.id not in self.skipped or q.choices)]
        self.pending = pending[0] if pending else None
        if self.pending is not None:
            self.tell(self._question_line(self.pending))

    def answer(self, text: str) -> None:
        q = self.pending
        assert q is not None
        value = text.strip()
        if value.lower() in SKIP:
            if q.id in self.skipped:
                # Asked again (with choices) and skipped again: stop asking.
                self.pending = None
                self.say("Without it there is nothing more to check. Paste the error, or "
                         "describe the failing connection with its host and port.")
                return
            self.say(f"Skipped ({q.id}).")
            self.skipped.add(q.id)
        else:
            chosen = self._choice(q, value)
            if chosen is None:
                self.say(f"Please answer one of: {', '.join(q.choices)} (or skip).")
                return
            self.answers[q.id] = chosen
        self.pending = None
        if self.last_text is not None:
            self.run(self.last_text)

    def _choice(self, q: Question, value: str) -> str | None:
        if not q.choices or (q.id == "port" and value.isdigit()):
            return value  # the port choices are what listens now; any port will do
        low = value.lower()
        if low in _YES and _YES[low] in [c.lower() for c in q.choices]:
            low = _YES[low]
        exact = [c for c in q.choices if c.lower() == low]
        starts = [c for c in q.choices if c.lower().startswith(low)]
        if exact:
            return exact[0]
        if len(starts) == 1:
            return starts[0]
        if q.id == "topic" and low in self.session.kb().ids:
            return low
        return None

    def _question_line(self, q: Question) -> str:
        choices = f" [{' / '.join(q.choices)}, or skip]" if q.choices else " (or skip)"
        return f"? {q.text}{choices}"

    # -- explanations --------------------------------------------------------
    def why(self) -> None:
        if self.pending is not None:
            q = self.pending
            if q.asked_by == "session":
                reason = ("without a host and port there is nothing to check"
                          if q.id in ("host", "port") else
                          "the question matched no knowledge-base entry well enough")
                self.tell(f"I ask '{q.id}' because {reason}.")
                return
            rule = self._rule(q.asked_by)
            goal = (rule.description or rule.title) if rule else q.asked_by
            self.tell(f"Rule {q.asked_by} asks '{q.id}'. It is trying to establish: "
                      f"{' '.join(goal.split())}")
            return
        self.how()

    def how(self) -> None:
        report = self._last()
        if report is None:
            return
        if not report.diagnoses:
            self.say("No conclusion yet: " + (report.kind if report.kind != "diagnosis"
                                               else "the checks found nothing to blame."))
            return
        top = report.diagnoses[0]
        rule = self._rule(top.rule)
        self.tell(f"I concluded {top.category} because rule {top.rule} matched"
                  + (f" ({rule.title})" if rule else "") + ":")
        for step in report.trace:
            marker = "→" if step["rule"] == top.rule else "·"
            facts = "; ".join(step["facts"])
            self.tell(f"{marker} {step['rule']}: {facts}", "  ")
        for e in top.evidence:
            self.tell(f"evidence: {e}", "  ")

    def facts(self) -> None:
        report = self._last()
        if report is None:
            return
        if not report.findings:
            self.say("Nothing was gathered for the last question.")
        for f in report.findings:
            ms = f.data.get("ms", 0)
            self.say(f"  {f.check:<15} {f.status:<8} {ms:>7.1f} ms  {f.summary}")

    def rules(self) -> None:
        ruleset = self.session.ruleset()
        for r in ruleset.enabled():
            self.say(f"  {r.id:<32} {r.category or '-':<24} {r.source}")
        for w in self.session.warnings:
            self.say(f"  note: {w}")

    def again(self) -> None:
        if self.last_text is None:
            self.say("Nothing to run again yet.")
            return
        self.run(self.last_text)

    def doctor(self) -> None:
        """The checkup (checkup.py), apart from the conversation: /how, /facts
        and /again keep to the last diagnosis."""
        from assistant.render.checkup import render as checkup_text

        try:
            report = self.session.checkup()
        except UserError as exc:
            self.say(str(exc))
            return
        self.say(checkup_text(report, color=self.color, width=self.width).rstrip("\n"))

    def clear(self) -> None:
        self.history.clear()
        self.pending, self.last_text, self.answers, self.skipped = None, None, {}, set()
        self.say("\x1b[2J\x1b[H" if self.color else "Cleared.")

    def report(self, target: str) -> None:
        from assistant.render.markdown import render as markdown

        if not self.history:
            self.say("Nothing to report yet.")
            return
        parts = [markdown(ex.report, title=f"{n}. {ex.text[:60]}")
                 for n, ex in enumerate(self.history, 1)]
        text = "# Connection troubleshooting report\n\n" + "\n".join(parts)
        if not target:
            self.say(text.rstrip("\n"))
            return
        path = Path(target).expanduser()
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
        except OSError as exc:
            self.say(f"Cannot write {path}: {exc.strerror}")
            return
        self.say(f"Report written to {path} ({len(self.history)} exchange(s)).")

    def help(self) -> None:
        self.say("Describe the problem or paste the error; ask plain questions too.")
        for name, text in COMMANDS.items():
            self.say(f"  {name:<8} {text}")
        self.say("  why? / how do you know?  work like /why and /how")

    # -- helpers -------------------------------------------------------------
    def tell(self, text: str, indent: str = "") -> None:
        """Say prose, wrapped to the terminal (rendered reports are already)."""
        self.say("\n".join(textwrap.wrap(text, width=max(40, self.width), initial_indent=indent,
                                         subsequent_indent=indent + "  ",
                                         break_on_hyphens=False)) or indent)
    def _last(self) -> Report | None:
        if not self.history:
            self.say("Nothing asked yet: describe a problem first.")
            return None
        return self.history[-1].report

    def _rule(self, rule_id: str) -> Rule | None:
        try:
            return {r.id: r for r in self.session.ruleset().rules}.get(rule_id)
        except UserError:
            return None

    def toolbar(self) -> str:
        """The bottom line: current target and the keys that matter."""
        if self.history:
            t = self.history[-1].report.target
            where = f"{t.get('host') or '?'}:{t.get('port') or '?'}"
            state = f" · {t.get('error')}" if t.get("error") else ""
        else:
            where, state = "no target yet", ""
        pending = f" · answering {self.pending.id}" if self.pending else ""
        return f" {where}{state}{pending} · /help · Ctrl-D leaves "

    def completions(self) -> list[str]:
        words = list(COMMANDS)
        if self.pending is not None:
            words = [*self.pending.choices, "skip", "don't know", *words]
        return words
