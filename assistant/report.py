"""The Report: everything a shell renders. Its JSON form is a contract."""

from __future__ import annotations

from typing import Any, Literal, NamedTuple

SCHEMA = 1

ReportKind = Literal["diagnosis", "answer", "needs-input", "checkup"]
Severity = Literal["problem", "warning", "info"]
OS = Literal["linux", "macos", "windows", "any"]
OS_NAMES: tuple[OS, ...] = ("linux", "macos", "windows", "any")


class Command(NamedTuple):
    """A command to run (or a step to take) on one OS, and why."""

    os: OS
    command: str
    why: str = ""

    def to_json(self) -> dict[str, str]:
        return {"os": self.os, "command": self.command, "why": self.why}


class Link(NamedTuple):
    """A page to read for a diagnosis (a team's runbook)."""

    title: str
    url: str

    def to_json(self) -> dict[str, str]:
        return {"title": self.title, "url": self.url}


# Records are NamedTuples, not dataclasses: a question builds these classes
# at every start, and a dataclass costs ten times as much to define.
# Their list defaults are never mutated (a tuple's default is shared).


class Finding(NamedTuple):
    check: str
    status: str  # ok | problem | warning | unknown
    summary: str
    data: dict[str, Any] = {}
    ms: float = 0.0
    # A checkup line (kind `checkup`): the rule that concluded it (or
    # `check.NAME` for a check that could not tell), and this system's fix.
    id: str = ""
    fix: list[Command] = []

    def to_json(self) -> dict[str, Any]:
        if not self.id:
            return {"check": self.check, "status": self.status, "summary": self.summary,
                    "data": self.data}
        return {"id": self.id, "check": self.check, "status": self.status,
                "summary": self.summary, "fix": [c.to_json() for c in self.fix],
                "data": self.data}


class Diagnosis(NamedTuple):
    rule: str
    category: str
    severity: Severity
    summary: str
    evidence: list[str]
    processes: list[dict[str, Any]]
    fix: list[Command]
    kb: list[str]
    links: list[Link] = []


class Answer(NamedTuple):
    kb: str
    question: str
    answer: str
    score: float
    commands: list[Command] = []
    related: list[str] = []


class Question(NamedTuple):
    id: str
    text: str
    choices: list[str] = []
    # Who asks, for "why?" (not in the JSON contract): a rule id, or "session".
    asked_by: str = "session"


class Report:
    """One answer to one input; the session fills it in as it goes."""

    __slots__ = ("kind", "input", "target", "findings", "diagnoses", "answers", "questions",
                 "trace", "notes", "asked_os")

    def __init__(self, kind: ReportKind, input: str, target: dict[str, Any],
                 findings: list[Finding] | None = None,
                 diagnoses: list[Diagnosis] | None = None,
                 answers: list[Answer] | None = None,
                 questions: list[Question] | None = None,
                 trace: list[dict[str, Any]] | None = None,
                 notes: list[str] | None = None, asked_os: str | None = None) -> None:
        self.kind = kind
        self.input = input
        self.target = target
        self.findings = findings if findings is not None else []
        self.diagnoses = diagnoses if diagnoses is not None else []
        self.answers = answers if answers is not None else []
        self.questions = questions if questions is not None else []
        self.trace = trace if trace is not None else []
        self.notes = notes if notes is not None else []
        # The OS a question names ("... on Windows?"): its commands are shown.
        self.asked_os = asked_os

    def replaced(self, **changes: Any) -> Report:
        """A copy with some fields changed (dataclasses.replace's job)."""
        fields = {k: getattr(self, k) for k in self.__slots__}
        fields.update(changes)
        return Report(**fields)

    def __repr__(self) -> str:
        return f"Report({self.kind!r}, {self.input!r}, diagnoses={self.diagnoses!r})"

    def has_problem(self) -> bool:
        return any(d.severity in ("problem", "warning") and d.category != "reachable"
                   for d in self.diagnoses)

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "kind": self.kind,
            "input": self.input,
            "target": self.target,
            "findings": [f.to_json() for f in self.findings],
            "diagnoses": [{"rule": d.rule, "category": d.category, "severity": d.severity,
                           "summary": d.summary, "evidence": d.evidence,
                           "processes": d.processes, "fix": [c.to_json() for c in d.fix],
                           "kb": d.kb, "links": [link.to_json() for link in d.links]}
                          for d in self.diagnoses],
            "answers": [{"kb": a.kb, "question": a.question, "answer": a.answer,
                         "score": round(a.score, 3)} for a in self.answers],
            "questions": [{"id": q.id, "text": q.text, "choices": q.choices}
                          for q in self.questions],
            "trace": self.trace,
        }
