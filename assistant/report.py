"""The Report: everything a shell renders. Its JSON form is a contract."""

from __future__ import annotations

from dataclasses import dataclass, field
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


@dataclass
class Finding:
    check: str
    status: str  # ok | problem | warning | unknown
    summary: str
    data: dict[str, Any] = field(default_factory=dict)
    ms: float = 0.0
    # A checkup line (kind `checkup`): the rule that concluded it (or
    # `check.NAME` for a check that could not tell), and this system's fix.
    id: str = ""
    fix: list[Command] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        if not self.id:
            return {"check": self.check, "status": self.status, "summary": self.summary,
                    "data": self.data}
        return {"id": self.id, "check": self.check, "status": self.status,
                "summary": self.summary, "fix": [c.to_json() for c in self.fix],
                "data": self.data}


@dataclass
class Diagnosis:
    rule: str
    category: str
    severity: Severity
    summary: str
    evidence: list[str]
    processes: list[dict[str, Any]]
    fix: list[Command]
    kb: list[str]
    links: list[Link] = field(default_factory=list)


@dataclass
class Answer:
    kb: str
    question: str
    answer: str
    score: float
    commands: list[Command] = field(default_factory=list)
    related: list[str] = field(default_factory=list)


@dataclass
class Question:
    id: str
    text: str
    choices: list[str] = field(default_factory=list)
    # Who asks, for "why?" (not in the JSON contract): a rule id, or "session".
    asked_by: str = "session"


@dataclass
class Report:
    kind: ReportKind
    input: str
    target: dict[str, Any]
    findings: list[Finding] = field(default_factory=list)
    diagnoses: list[Diagnosis] = field(default_factory=list)
    answers: list[Answer] = field(default_factory=list)
    questions: list[Question] = field(default_factory=list)
    trace: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

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
