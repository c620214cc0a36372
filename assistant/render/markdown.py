"""A Markdown report of a Report, for tickets and chat threads.

Everything in a Report is already redacted and free of control characters;
this renderer only escapes what Markdown would misread.
"""

from __future__ import annotations

from assistant.report import Report

MARK = {"ok": "✓", "warning": "!", "problem": "✗", "unknown": "?"}


def _code(text: str) -> str:
    """Inline code that survives backticks inside the text."""
    fence = "``" if "`" in text else "`"
    return f"{fence}{text}{fence}"


def _cell(text: str) -> str:
    """A table cell: a pipe, even inside code, would end the cell."""
    return text.replace("|", "\\|")


def _esc(text: str) -> str:
    return "".join("\\" + c if c in "\\`*_[]<>|#" else c for c in text)


def render(report: Report, title: str = "Connection diagnosis") -> str:
    t = report.target
    out = [f"# {title}", "", f"**Question:** {_esc(report.input)}", ""]
    if t.get("host") or t.get("port"):
        where = f"{t.get('host')}:{t.get('port')}"
        out.append(f"**Target:** {_code(where)} · error {_esc(str(t.get('error')))}"
                   f" · client {_esc(str(t.get('client')))}")
        out.append("")
    if report.findings:
        out += ["## Checks", ""]
        out += [f"- {MARK.get(f.status, '?')} {_esc(f.summary)}" for f in report.findings]
        out.append("")
    for i, d in enumerate(report.diagnoses):
        out += [f"## {'Diagnosis' if i == 0 else 'Also possible'}: {_esc(d.summary)}", "",
                f"Category {_code(d.category)}, rule {_code(d.rule)}, severity {d.severity}.", ""]
        out += [f"- {_esc(e)}" for e in d.evidence]
        for p in d.processes:
            out.append(f"- process {p.get('pid')} {_esc(str(p.get('name') or '?'))}"
                       + (f": {_code(str(p['cmdline']))}" if p.get("cmdline") else ""))
        if d.fix:
            out += ["", "| OS | command | why |", "|---|---|---|"]
            out += [f"| {fx.os} | {_cell(_code(fx.command))} | {_cell(_esc(fx.why))} |"
                    for fx in d.fix]
        if d.kb:
            out += ["", "Knowledge base: " + ", ".join(_code(k) for k in d.kb)]
        if d.links:
            out += [""] + [f"- [{_esc(link.title)}](<{link.url}>)" if link.title else
                           f"- <{link.url}>" for link in d.links]
        out.append("")
    for a in report.answers:
        out += [f"## {_esc(a.question)}", "", a.answer.strip(), "", f"(kb {_code(a.kb)})", ""]
    for q in report.questions:
        choices = f" ({', '.join(q.choices)})" if q.choices else ""
        out.append(f"- **Open question** {_code(q.id)}: {_esc(q.text)}{choices}")
    return "\n".join(out).rstrip() + "\n"
