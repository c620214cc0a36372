"""A checkup report (`assistant doctor`) as terminal text or Markdown: one
line per finding, ✓ / ! / ✗ (? for a check that could not tell), grouped
by area; for ! and ✗, the evidence and this system's fix."""

from __future__ import annotations

import textwrap

from assistant.checkup import AREAS as HEADINGS
from assistant.render.options import without_sudo
from assistant.report import Finding, Report

MARKS = {"ok": "✓", "warning": "!", "problem": "✗", "unknown": "?"}
# The same ANSI colours as the diagnosis text (render/text.py), kept here so
# this module stands alone.
COLORS = {"ok": "32", "warning": "33", "problem": "31", "unknown": "90", "bold": "1", "dim": "2"}


def _style(color: bool, text: str, kind: str) -> str:
    return f"\x1b[{COLORS[kind]}m{text}\x1b[0m" if color and kind in COLORS else text


def _wrap(text: str, width: int, indent: str, hang: str) -> list[str]:
    return textwrap.wrap(text, width=max(40, width), initial_indent=indent,
                         subsequent_indent=hang, break_long_words=False,
                         break_on_hyphens=False) or [indent]


def tally(report: Report) -> str:
    """`2 problems, 1 warning, 9 fine` (or that nothing is wrong)."""
    counts = {s: sum(f.status == s for f in report.findings) for s in MARKS}
    parts = [f"{counts['problem']} problem{'s' * (counts['problem'] != 1)} (✗)"
             if counts["problem"] else "",
             f"{counts['warning']} warning{'s' * (counts['warning'] != 1)} (!)"
             if counts["warning"] else "",
             f"{counts['unknown']} not checked (?)" if counts["unknown"] else "",
             f"{counts['ok']} fine (✓)"]
    head = "No problems found" if not counts["problem"] else "Problems found"
    return f"{head}: " + ", ".join(p for p in parts if p) + "."


def _details(f: Finding, width: int, color: bool, as_root: bool = False) -> list[str]:
    if f.status not in ("problem", "warning"):
        return []
    out: list[str] = []
    for e in f.data.get("evidence", []):
        out += [_style(color, ln, "dim") for ln in _wrap(f"- {e}", width, "      ", "        ")]
    if f.fix:
        out.append("    Fix:")
    for fx in f.fix:
        # Never wrapped: a command must paste as the one command it is.
        out.append(f"      {without_sudo(fx.command) if as_root else fx.command}")
        if fx.why:
            out += [_style(color, ln, "dim") for ln in _wrap(f"# {fx.why}", width, "        ",
                                                              "          ")]
    for link in f.data.get("links", []):
        out += _wrap(link.get("title") or "See:", width, "    ", "      ")
        out.append("      " + link["url"])
    return out


def render(report: Report, color: bool = False, width: int = 80,
           root_without_sudo: bool = False) -> str:
    """Terminal text; `root_without_sudo`: the reader is root where sudo is
    missing, so its fix commands leave sudo out (render.options)."""
    out: list[str] = []
    area = None
    for f in report.findings:
        if f.check != area:
            area = f.check
            if out:
                out.append("")
            out.append(_style(color, HEADINGS.get(area, area.capitalize()), "bold"))
        mark = _style(color, MARKS.get(f.status, "?"), f.status)
        out += _wrap(f"{mark} {f.summary}", width, "  ", "    ")
        out += _details(f, width, color, root_without_sudo)
    for note in report.notes:
        out += _wrap(f"note: {note}", width, "", "  ")
    out.append("")
    out.append(tally(report))
    return "\n".join(out) + "\n"


def _code(text: str) -> str:
    """Inline code that survives a backtick inside the command."""
    fence = "``" if "`" in text else "`"
    return f"{fence} {text} {fence}" if fence == "``" else f"`{text}`"


def markdown(report: Report, title: str = "Local network checkup") -> str:
    """The checkup for a ticket: one list per area, fixes as code."""
    out = [f"## {title}", ""]
    area = None
    for f in report.findings:
        if f.check != area:
            area = f.check
            out += ["", f"### {HEADINGS.get(area, area.capitalize())}", ""]
        out.append(f"- {MARKS.get(f.status, '?')} {f.summary}")
        if f.status in ("problem", "warning"):
            out += [f"  - {e}" for e in f.data.get("evidence", [])]
            out += [f"  - {_code(fx.command)}" + (f" ({fx.why})" if fx.why else "")
                    for fx in f.fix]
    out += ["", tally(report), ""]
    return "\n".join(out)
