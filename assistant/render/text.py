"""Terminal text: checks, diagnosis, evidence, fixes per OS, KB ids.

For the terminal (`--ask`) and the chat alike; `RenderOptions` says which
reads it (see render/options.py): the chat gets no command-line flags and
asks its questions itself.
"""

from __future__ import annotations

import textwrap

from assistant.render.options import RenderOptions
from assistant.report import Command, Report

MARKS = {"ok": "✓", "warning": "!", "problem": "✗", "unknown": "?"}
SEV_MARK = {"problem": "✗", "warning": "!", "info": "✓"}
COLORS = {"ok": "32", "warning": "33", "problem": "31", "unknown": "90", "info": "32",
          "bold": "1", "dim": "2"}
EXAMPLES = {"host": "localhost", "port": "3000", "topic": "ID"}


class Style:
    def __init__(self, color: bool):
        self.color = color

    def __call__(self, text: str, kind: str) -> str:
        if not self.color or kind not in COLORS:
            return text
        return f"\x1b[{COLORS[kind]}m{text}\x1b[0m"


def _wrap(text: str, width: int, indent: str, hang: str | None = None) -> list[str]:
    return textwrap.wrap(text, width=max(40, width), initial_indent=indent,
                         subsequent_indent=hang if hang is not None else indent + "  ",
                         break_long_words=False, break_on_hyphens=False) or [indent]


def _paragraphs(text: str, width: int, indent: str) -> list[str]:
    """Wrap prose, keeping numbered and bulleted lines as their own lines."""
    out: list[str] = []
    for block in text.split("\n\n"):
        lines = block.splitlines()
        if any(ln.lstrip()[:2] in ("- ", "* ") or ln.lstrip()[:1].isdigit() for ln in lines[1:]):
            for line in lines:
                out += _wrap(line.strip(), width, indent, indent + "   ")
        else:
            out += _wrap(" ".join(block.split()), width, indent, indent)
        out.append("")
    return out[:-1]


def nothing_found(report: Report) -> str:
    """What was checked and what would help, when no rule concluded anything."""
    checked = ", ".join(f.check.replace("_", " ") for f in report.findings) or "nothing"
    t = report.target
    where = t.get("path") or (f"{t.get('host')}:{t.get('port')}" if t.get("host")
                              else f"port {t.get('port')}")
    if t.get("error") == "permission" and t.get("port") is not None and not t.get("path"):
        # A bind refused on a port anyone may bind: not the privileged range.
        return (f"No cause found for {where}: the checks above ({checked}) show nothing wrong "
                "now, and the port is not a privileged one here. A bind refused with "
                "permission denied there comes from a security policy (SELinux's port types, "
                "AppArmor) or a sandbox (systemd's SocketBindDeny=, a container's seccomp "
                "profile): the system log (journalctl -k, audit.log) names the denial.")
    if t.get("error") == "in-use":
        return (f"No cause found for {where}: the checks above ({checked}) show nothing wrong "
                "now: nothing holds the port. Start the server again; if it fails the same "
                "way, paste its whole output with the command that started it.")
    if t.get("error"):
        return (f"No cause found for {where}: the checks above ({checked}) show nothing wrong "
                "now. If it still fails, paste the client's whole output together with the "
                "command you ran (a verbose run, such as curl -v, names the layer that fails).")
    return (f"No cause found for {where} from the checks above ({checked}). Paste the exact "
            "error the client printed, with the command you ran: its wording tells which "
            "layer fails.")


def render(report: Report, options: RenderOptions | None = None) -> str:
    opts = options or RenderOptions.here()
    s, width, chat = Style(opts.color), opts.width, opts.audience == "chat"
    out: list[str] = []
    if report.findings:
        out.append(s("Checks", "bold"))
        for f in report.findings:
            out += _wrap(f"{s(MARKS.get(f.status, '?'), f.status)} {f.summary}", width, "  ")
    for note in report.notes:
        out += _wrap(f"note: {note}", width, "  ")
    for i, d in enumerate(report.diagnoses):
        out.append("")
        head = "Diagnosis" if i == 0 else "Also possible"
        # The rule id is for people who write rules: /how --trace shows it in the chat.
        out.append(s(head, "bold") + s(f"  [{d.category}]" if chat else
                                       f"  [{d.category} · {d.rule}]", "dim"))
        out += _wrap(f"{s(SEV_MARK.get(d.severity, '!'), d.severity)} {d.summary}", width, "  ")
        if d.evidence:
            out.append("  Evidence:")
            for e in d.evidence:
                out += _wrap(f"- {e}", width, "    ")
        for p in d.processes:
            who = f" user {p['user']}" if p.get("user") else ""
            out += _wrap(f"process: pid {p['pid']} {p.get('name') or '?'}{who}", width, "  ")
            if p.get("cmdline"):
                # One line, cut to the width: a command line is for recognising.
                cmd = p["cmdline"]
                room = max(20, width - 13)
                out.append("    command: " + (cmd if len(cmd) <= room else cmd[:room - 1] + "…"))
        if d.fix and i == 0:
            shown, hidden = opts.commands(d.fix)
            if shown:
                out.append(_heading(shown))
            out += _commands(shown, s, width)
            for hint in (opts.sudo_note(shown), opts.more_commands(hidden)):
                if hint:
                    out += [s(line, "dim") for line in _wrap(hint, width, "    ")]
        if d.kb:
            out += _wrap("Knowledge base: " + ", ".join(d.kb), width, "  ")
        for link in d.links:
            # The address is never wrapped: a terminal makes it clickable.
            out += (_wrap(link.title, width, "  ") if link.title else ["  See:"]) + [
                "    " + s(link.url, "bold")]
    if report.kind == "diagnosis" and not report.diagnoses:
        out.append("")
        out += _wrap(nothing_found(report), width, "")
    topic = next((q for q in report.questions if q.id == "topic"), None)
    if topic is not None and report.answers:
        out.append("")
        out.append(s("Did you mean", "bold"))
        for n, a in enumerate(report.answers, 1):
            # The chat answers with a number; the command line with the id.
            out += _wrap(f"{n}. {a.question}" if chat else f"- {a.question}  [{a.kb}]",
                         width, "  ", "     " if chat else "    ")
        if not chat:
            out += _wrap("Answer with --answer topic=ID, or rephrase the question.", width, "  ")
        return "\n".join(out).lstrip("\n") + "\n"
    if chat and report.kind == "needs-input" and report.answers and report.questions:
        # The chat is about to ask for the address: background reading is a
        # pointer here, not the whole entry.
        out.append("")
        out.append(s("Meanwhile, these may help (ask me about one):", "bold"))
        out += [line for a in report.answers for line in _wrap(f"- {a.question}", width, "  ")]
        return "\n".join(out).lstrip("\n") + "\n"
    for n, a in enumerate(report.answers):
        if n == 0:
            out.append("")
            tag = f"[kb: {a.kb}]"
            if len(a.question) + 2 + len(tag) <= width:
                out.append(s(a.question, "bold") + "  " + s(tag, "dim"))
            else:  # the id on its own line rather than split in two
                out += [s(line, "bold") for line in _wrap(a.question, width, "", "  ")]
                out.append("  " + s(tag, "dim"))
            out += _paragraphs(a.answer, width, "  ")
            shown, hidden = opts.commands(a.commands)
            if shown:
                out.append("")
            out += _commands(shown, s, width)
            for hint in (opts.sudo_note(shown), opts.more_commands(hidden)):
                if hint:
                    out += [s(line, "dim") for line in _wrap(hint, width, "    ")]
            if a.related:
                out += _wrap("Related: " + ", ".join(a.related), width, "  ")
        else:
            if n == 1:
                out.append("")
                out.append(s("Also relevant", "bold"))
            out += _wrap(f"- {a.question}  [{a.kb}]", width, "  ", "    ")
    if report.questions and not chat:
        # The chat asks its questions itself, one at a time, with choices.
        out.append("")
        out.append(s("I need to know", "bold"))
        for q in report.questions:
            choices = f" [{' / '.join(q.choices)}]" if q.choices else ""
            out += _wrap(f"? ({q.id}) {q.text}{choices}", width, "  ")
        ids = [q.id for q in report.questions if q.id != "topic" or q.choices]
        if ids:
            example = " ".join(f"--answer {i}={EXAMPLES.get(i, 'VALUE')}" for i in ids)
            out += _wrap(f"Answer with {example}", width, "  ")
    return "\n".join(out).lstrip("\n") + "\n"


def _heading(commands: list[Command]) -> str:
    confirms = sum(c.why.lower().startswith("confirm") for c in commands)
    if confirms == len(commands):
        return "  Confirm:"
    return "  Confirm, then fix:" if confirms else "  Fix:"


def _commands(commands: list[Command], s: Style, width: int) -> list[str]:
    out: list[str] = []
    for c in commands:
        # Never broken across lines: a command copied from the terminal
        # must paste as the one command it is (the terminal soft-wraps).
        out.append(f"    {c.os:<8} {c.command}")
        if c.why:
            out += [s(line, "dim") for line in _wrap(f"# {c.why}", width, " " * 13, " " * 15)]
    return out
