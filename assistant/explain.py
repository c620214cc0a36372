"""Explanations for people: which checks led to a conclusion, and why a
question is asked, in sentences. The engine's raw trace stays in the JSON
(`trace`) and behind the chat's `/how --trace`.

Pure functions over a Report and the rules: no prompt_toolkit, no facts
gathered. The chat (conversation.py) prints what they return.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from assistant.engine.model import Rule
from assistant.report import Finding, Question, Report

Phrase = Callable[[str], str]  # check name -> its plain question ("is anything listening on 3000?")


def _sentence(text: str) -> str:
    text = " ".join(text.split())
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".?!:" else text + "."


def checks_read(rule: Rule | None, provider: dict[str, str]) -> set[str]:
    """The checks whose facts a rule matches (or requires to be absent)."""
    if rule is None:
        return set()
    types = {p.fact for alt in rule.alternatives for p in alt} | {p.fact for p in rule.exceptions}
    return {provider[t] for t in types if t in provider}


def how(report: Report, rule: Rule | None, provider: dict[str, str], phrase: Phrase) -> list[str]:
    """How the last answer was reached: the checks that decided it, each as
    its question and what it found, then the conclusion and why it matters."""
    if report.kind == "answer":
        first = report.answers[0] if report.answers else None
        if first is None:
            return ["I had no answer for that."]
        return [f"That was a knowledge-base answer, not a diagnosis: your words matched the "
                f"entry \"{first.question}\" best (confidence {first.score:.2f}). Nothing on "
                "this machine was checked for it."]
    if report.kind == "needs-input" and not report.findings:
        return ["Nothing is checked yet: I still need " + _missing(report.questions) + "."]
    if not report.diagnoses:
        lines = ["None of the checks found a cause:"]
        lines += [f"- {_qa(f, phrase)}" for f in report.findings]
        if report.findings and all(f.status == "ok" for f in report.findings):
            lines.append("Everything I can see from here looks right; the failure is "
                         "probably above TCP, in the client or the application.")
        return lines
    top = report.diagnoses[0]
    used = checks_read(rule, provider)
    decisive = [f for f in report.findings if f.check in used]
    others = [f for f in report.findings if f.check not in used]
    lines = ["What I checked, and what led where:"]
    lines += [f"- {_qa(f, phrase)}" for f in decisive]
    if not decisive:
        lines += [f"- {_qa(f, phrase)}" for f in report.findings if f.status != "ok"]
    lines.append(f"So: {_sentence(top.summary)}")
    if rule is not None and rule.description:
        lines.append(f"Why that matters: {_sentence(rule.description)}")
    unused = [f for f in others if f not in decisive and (decisive or f.status == "ok")]
    if unused:
        all_fine = all(f.status == "ok" for f in unused)
        lines.append(f"I also checked {_count(len(unused), 'other thing')}"
                     + (" that look fine" if all_fine else "")
                     + " (/facts lists every check).")
    if len(report.diagnoses) > 1:
        rest = "; ".join(_sentence(d.summary).rstrip(".") for d in report.diagnoses[1:3])
        lines.append(f"Less likely, but possible: {rest}.")
    lines.append(f"(Rule {top.rule} decided it; /how --trace shows the engine's trace.)")
    return lines


def why_asked(q: Question, rule: Rule | None) -> str:
    """Why a question is asked, in a sentence or two."""
    if q.id == "topic":
        return ("Your question is close to more than one knowledge-base entry, and answering "
                "the wrong one would answer a different question: pick the one you meant, "
                "or rephrase it.")
    if q.id in ("host", "port") and q.asked_by == "session":
        return ("Without the address the client connects to (a host and a port) there is "
                "nothing on this machine I can check: with it, I look at who listens there, "
                "try one connection, and compare.")
    if rule is None:
        return f"A rule ({q.asked_by}) needs to know this to go on."
    return f"I'm asking because: {_sentence(rule.description or rule.title)}"


def trace(report: Report) -> list[str]:
    """The engine's trace, line by line, for rule authors (/how --trace)."""
    top = report.diagnoses[0].rule if report.diagnoses else None
    return [f"{'→' if step['rule'] == top else '·'} {step['rule']}: {'; '.join(step['facts'])}"
            for step in report.trace]


def _qa(f: Finding, phrase: Phrase) -> str:
    return f"{_sentence(phrase(f.check))} {_sentence(f.summary)}"


def _missing(questions: Iterable[Question]) -> str:
    names = {"host": "the host", "port": "the port", "topic": "which topic you mean"}
    wanted = [names.get(q.id, q.id.replace("_", " ")) for q in questions]
    return " and ".join(wanted) or "more to go on"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")
