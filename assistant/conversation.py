"""The conversation behind the terminal chat: plain functions over a Session.

No prompt_toolkit here: `Chat.handle(line)` takes what the user typed and
writes what to show through `say`. The REPL (cli/chat.py) only reads lines
and prints; tests drive this class directly. Follow-ups in plain words
("try again", "kill it") are understood by understand/followup.py and
carried out by followups.py.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from assistant import followups
from assistant.errors import UserError
from assistant.render.options import RenderOptions
from assistant.render.text import render
from assistant.report import Question, Report
from assistant.understand.followup import FollowUp, asks_why, read
from assistant.understand.redact import clean

if TYPE_CHECKING:
    from assistant.engine.model import Rule
    from assistant.facts.base import CheckResult
    from assistant.session import Session

COMMANDS = {
    "/help": "this list",
    "/why": "while a question is pending: why I ask; after a diagnosis: how I got there",
    "/how": "how the last diagnosis was reached (/how --trace: the engine's raw trace)",
    "/fix": "the fix commands again (/fix all: every OS; /fix macos, /fix windows)",
    "/again": "check the last problem again (after starting the server, say)",
    "/watch": "/watch [SECONDS]: check every second until it works (Ctrl-C stops)",
    "/facts": "what was gathered for the last diagnosis, and how long each check took",
    "/rules": "the rules in use and where they come from",
    "/doctor": "a checkup of this machine's local networking, as `assistant doctor` gives it",
    "/report": "/report [FILE]: a Markdown report of this conversation, for a ticket",
    "/clear": "forget the conversation so far",
    "/quit": "leave (Ctrl-D does too)",
}
PLAIN_WORDS = ("try again · it works now · still failing · what's using that port? · "
               "show me the process · kill it · how do I do that on a mac? · watch it · why?")
SKIP = ("skip", "don't know", "dont know", "do not know", "no idea", "not sure", "?", "idk",
        "dunno", "pass")
_YES = {"y": "yes", "yes": "yes", "n": "no", "no": "no"}


@dataclass
class Exchange:
    text: str
    report: Report


@dataclass
class Problem:
    text: str
    answers: dict[str, str]
    skipped: set[str]


@dataclass
class Offer:
    """A yes/no the chat itself asked (never a rule's): what yes does."""

    text: str
    on_yes: Callable[[], None]


@dataclass
class Chat:
    session: Session
    say: Callable[[str], None]
    color: bool = False
    width: int = 80
    platform: str | None = None  # sys.platform; tests pretend to be another OS
    history: list[Exchange] = field(default_factory=list)
    pending: Question | None = None
    offer: Offer | None = None
    last_text: str | None = None
    # The last problem diagnosed, with the answers it had: what "try again",
    # "kill it" and /watch are about, even after a knowledge-base question.
    problem: Problem | None = None
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
        said = read(text)
        if self.offer is not None:
            offer, self.offer = self.offer, None
            if said is not None and said.kind in ("yes", "no"):
                if said.kind == "yes":
                    offer.on_yes()
                else:
                    self.say("OK, I left it alone.")
                return True
        if said is not None and said.kind == "no" and self.pending is None:
            self.say("OK.")
            return True
        if text.lower().rstrip("?!. ") in ("why", "how", "how so", "why is that",
                                           "why do you ask", "how do you know", "explain",
                                           "explain that") or (
                self.history and asks_why(text)):
            return self.command("/why")
        if self.pending is not None:
            q = self.pending
            skip = text.lower().rstrip(".!") in SKIP
            # A choice, or for a free-text question (host, port) a short reply
            # that is no follow-up, answers it.
            fits = skip or (self._choice(q, text) is not None if q.choices else
                            said is None and not self._new_topic(text))
            if fits:
                self.answer(text)
                return True
            if said is not None and said.kind not in ("yes", "no"):
                followups.act(self, said)  # the question stays open
                return True
            if q.choices and q.id != "topic" and not self._new_topic(text):
                self.answer(text)  # says it is not one of the choices
                return True
            self.pending = None  # a new problem, not an answer: start over
        if said is not None:
            followups.act(self, said)
            return True
        if text.lower().rstrip(".!") in SKIP:
            self.tell("There is no open question to skip. Describe the problem, or /help.")
            return True
        if text.isdigit():
            self.tell(f"Is {text} a port? Tell me the address the client uses "
                      f"(localhost:{text}, say), or paste the error it printed.")
            return True
        self.answers, self.skipped = {}, set()
        self.run(text)
        return True

    def command(self, text: str) -> bool:
        name, _, arg = text.partition(" ")
        name, arg = name.lower(), arg.strip()
        if name in ("/quit", "/exit"):
            return False
        handlers: dict[str, Callable[[], None]] = {
            "/help": self.help, "/why": self.why, "/how": lambda: self.how(arg),
            "/facts": self.facts, "/rules": self.rules, "/clear": self.clear,
            "/again": lambda: followups.act(self, FollowUp("again")),
            "/doctor": self.doctor,
            "/fix": lambda: followups.fix(self, arg),
            "/watch": lambda: followups.watch_command(self, arg),
            "/report": lambda: followups.report(self, arg)}
        handler = handlers.get(name)
        if handler is None:
            self.say(f"Unknown command {clean(name)}; /help lists them.")
        else:
            handler()
        return True

    # -- diagnosing ----------------------------------------------------------
    def options(self, all_os: bool = False, os_name: str | None = None) -> RenderOptions:
        from assistant.facts.system import platform

        opts = RenderOptions.here("chat", color=self.color, width=self.width, all_os=all_os,
                                  platform=self.platform or platform.system())
        return opts if os_name is None else RenderOptions("chat", self.color, self.width, os_name)

    def ask(self, text: str, quiet: bool = False, problem: Problem | None = None
            ) -> Report | None:
        """One Session round for `text` with the answers so far (or the last
        problem's, again); None after a message the user has already seen."""

        def progress(name: str, result: CheckResult | None) -> None:
            if result is None and not quiet:
                self.say(f"  … {self.session.check_question(name)}")

        answers, skipped = (problem.answers, problem.skipped) if problem else \
            (self.answers, self.skipped)
        try:
            return self.session.ask(problem.text if problem else text, answers,
                                    progress=progress, skipped=skipped)
        except UserError as exc:
            self.say(str(exc))
            return None

    def recheck(self) -> Report | None:
        """The last problem diagnosed, checked again quietly (None: there is none)."""
        if self.problem is None:
            return None
        return self.ask(self.problem.text, quiet=True, problem=self.problem)

    def run(self, text: str) -> None:
        self.last_text = text
        report = self.ask(text)
        if report is not None:
            self.show(report, text)

    def show(self, report: Report, text: str) -> None:
        """Record and print a report, then ask its first open question."""
        prev = self.history[-1].report if self.history else None
        shown = report
        if report.kind == "needs-input" and prev is not None and prev.kind == "needs-input" \
                and [a.kb for a in prev.answers] == [a.kb for a in report.answers] \
                and not any(q.id == "topic" for q in report.questions):
            shown = report.replaced(answers=[])  # said a moment ago: only the next question
        self.history.append(Exchange(clean(text), report))
        if report.kind == "diagnosis":
            self.problem = Problem(text, dict(self.answers), set(self.skipped))
        text_out = render(shown, self.options(os_name=report.asked_os)).rstrip("\n")
        if text_out:
            self.say(text_out)
        pending = [q for q in report.questions if q.id not in self.answers
                   and q.id not in self.skipped]
        self.pending = pending[0] if pending else None
        if self.pending is not None:
            self.tell(self._question_line(self.pending))

    def answer(self, text: str) -> None:
        q = self.pending
        assert q is not None
        value = text.strip()
        if value.lower().rstrip(".!") in SKIP:
            self.tell(_skipped(q))
            self.skipped.add(q.id)
            if q.id in ("port", "topic"):
                # Nothing to run without it: the next message starts afresh.
                self.pending = None
                return
        elif q.id == "host" and value.isdigit() and 1 <= int(value) <= 65535:
            # A bare number is a port, not the host 0.0.30.116 (field trial 11):
            # take it as the port; the host is asked again.
            self.tell(f"{value} is a port number, not a host: taken as the port.")
            self.answers["port"] = value
        else:
            chosen = self._choice(q, value)
            if chosen is None:
                self.tell(f"That is not one of the choices. Please answer "
                          f"{_choices(q)}, or say skip.")
                return
            self.answers[q.id] = chosen
        self.pending = None
        if self.last_text is not None:
            self.run(self.last_text)

    def _choice(self, q: Question, value: str) -> str | None:
        if q.id == "topic" and value.isdigit() and 1 <= int(value) <= len(q.choices):
            return q.choices[int(value) - 1]  # the chat numbers the entries it offers
        if not q.choices or (q.id == "port" and value.isdigit()):
            return value  # the port choices are what listens now; any port will do
        low = value.lower().rstrip("?!. ")  # "this machine?" is still an answer
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

    @staticmethod
    def _new_topic(text: str) -> bool:
        """A message that is plainly not an answer: a pasted error or a sentence
        where a host, a port or one of a few choices was asked for."""
        return len(text.split()) >= 4 or "\n" in text

    def _question_line(self, q: Question) -> str:
        if q.id == "topic" and q.choices:
            n = len(q.choices)
            return f"Which one did you mean? Answer 1{'–' + str(n) if n > 1 else ''}, or " \
                   "ask it another way."
        if not q.choices or all(c in q.text for c in q.choices):
            return f"{q.text} (or skip)"  # the text already names its choices
        return f"{q.text} [{_choices(q)}, or skip]"

    # -- explanations --------------------------------------------------------
    def why(self) -> None:
        from assistant import explain

        if self.pending is not None:
            q = self.pending
            rule = self.rule(q.asked_by) if q.asked_by != "session" else None
            self.tell(explain.why_asked(q, rule))
            return
        self.how("")

    def how(self, arg: str = "") -> None:
        from assistant import explain

        report = self.last()
        if report is None:
            return
        if arg == "--trace":
            lines = explain.trace(report) or ["No rule fired for the last message."]
            for line in lines:
                self.tell(line, "  ")
            return
        rule = self.rule(report.diagnoses[0].rule) if report.diagnoses else None
        for line in explain.how(report, rule, followups.providers(), followups.phrase(self,
                                                                                      report)):
            self.tell(line, "  " if line.startswith("- ") else "")

    def facts(self) -> None:
        report = self.last()
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

    def doctor(self) -> None:
        """The checkup (checkup.py), apart from the conversation: /how, /facts
        and /again keep to the last diagnosis."""
        from assistant.render.checkup import render as checkup_text

        try:
            report = self.session.checkup()
        except UserError as exc:
            self.say(str(exc))
            return
        from assistant.render.options import root_without_sudo

        self.say(checkup_text(report, color=self.color, width=self.width,
                              root_without_sudo=root_without_sudo()).rstrip("\n"))

    def clear(self) -> None:
        self.history.clear()
        self.pending, self.offer, self.last_text, self.answers, self.skipped = \
            None, None, None, {}, set()
        self.problem = None
        self.say("\x1b[2J\x1b[H" if self.color else "Cleared.")

    def help(self) -> None:
        self.say("Describe the problem or paste the error; ask plain questions too.")
        for name, text in COMMANDS.items():
            self.say(f"  {name:<8} {text}")
        self.tell("Plain words work too: " + PLAIN_WORDS, "  ")

    # -- helpers -------------------------------------------------------------
    def tell(self, text: str, indent: str = "") -> None:
        """Say prose, wrapped to the terminal (rendered reports are already)."""
        self.say("\n".join(textwrap.wrap(text, width=max(40, self.width), initial_indent=indent,
                                         subsequent_indent=indent + "  ",
                                         break_on_hyphens=False, break_long_words=False))
                 or indent)

    def last(self, diagnosis: bool = False, settled: bool = False) -> Report | None:
        """The last report (the last diagnosis with `diagnosis`; the last diagnosis
        or answer with `settled`), or None after saying so."""
        for ex in reversed(self.history):
            kind = ex.report.kind
            if (not diagnosis or kind == "diagnosis") and (not settled or kind != "needs-input"):
                return ex.report
        if diagnosis:
            self.tell("I have not looked at a connection yet: describe the problem or paste "
                      "the error first.")
        elif self.history:
            self.tell("There is no answer yet: pick one of the choices above, or ask again.")
        else:
            self.tell("Nothing asked yet: describe the problem or paste the error first.")
        return None

    def rule(self, rule_id: str) -> Rule | None:
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
        pending = " · answering a question" if self.pending else ""
        return f" {where}{state}{pending} · /help · Ctrl-D leaves "

    def completions(self) -> list[str]:
        words = list(COMMANDS)
        if self.pending is not None:
            words = [*self.pending.choices, "skip", "don't know", *words]
        return words


def _choices(q: Question) -> str:
    shown = " / ".join(q.choices)
    return f"{shown}, or another number" if q.id == "port" else shown


def _skipped(q: Question) -> str:
    """What skipping a question means for the checks, in the conversation's words."""
    if q.id == "host":
        return "OK: I will check the usual local addresses, 127.0.0.1 and ::1."
    if q.id == "port":
        return ("OK. Without a port there is nothing I can check yet. When you know it, tell "
                "me the address (localhost:3000, say) or paste the error the client printed.")
    if q.id == "topic":
        return "OK. Ask it another way, or describe the failing connection."
    return "OK, I will go on without that: the checks decide alone."
