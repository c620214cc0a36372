"""Golden renderings of canned reports: text, JSON and Markdown.

A change to any renderer shows up here as a diff to review. To accept an
intended change: ASSISTANT_UPDATE_GOLDEN=1 python3 dev.py test tests/test_golden.py
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from assistant.render import jsondoc as json_render
from assistant.render import markdown, text
from assistant.render.options import RenderOptions
from assistant.report import Answer, Command, Diagnosis, Finding, Link, Question, Report

GOLDEN = Path(__file__).parent / "golden"


def diagnosis() -> Report:
    return Report(
        kind="diagnosis", input="psql postgres://***@127.0.0.1:55432/app failed: connection refused",
        target={"host": "127.0.0.1", "port": 55432, "scheme": "postgres", "error": "refused",
                "client": "psql"},
        findings=[Finding("listeners", "warning", "listening: [::1]:55432 (postgres, pid 811, sleeping)",
                          {"ms": 1.2}),
                  Finding("probe", "problem", "connect: 127.0.0.1:55432 refused in 0 ms", {"ms": 0.4}),
                  Finding("firewall", "unknown", "firewall: unknown, because nft is not installed")],
        diagnoses=[Diagnosis(
            rule="address.family_mismatch", category="address-family-mismatch", severity="problem",
            summary="The server listens on ::1 (IPv6) only, but the client dialled 127.0.0.1 (IPv4).",
            evidence=["listener ::1:55432, pid 811 (postgres)", "connect to 127.0.0.1:55432: refused"],
            processes=[{"pid": 811, "name": "postgres", "user": "dev",
                        "cmdline": "postgres -D /var/lib/postgres/data -c listen_addresses=::1"}],
            fix=[Command("any", "connect to ::1 port 55432 instead of 127.0.0.1",
                         "dial the family the server listens on"),
                 Command("windows", "Get-NetTCPConnection -LocalPort 55432 -State Listen", "confirm"),
                 Command("linux", "sudo ss -ltnp 'sport = :55432'", "confirm")],
            kb=["ipv6-ipv4-localhost", "bind-address"],
            links=[Link("Runbook: the team database", "https://wiki.example.com/runbooks/db"),
                   Link("", "https://wiki.example.com/runbooks/ipv6-only-servers-and-why-"
                            "clients-dial-127.0.0.1-first")]),
            Diagnosis(rule="port.nothing_listening", category="nothing-listening", severity="problem",
                      summary="Nothing listens on port 55432 on 127.0.0.1.", evidence=[],
                      processes=[], fix=[], kb=["service-not-running"])],
        questions=[Question("client_location", "Where does the failing client run?",
                            ["this machine", "another machine"], "ask.client_location")],
        trace=[{"rule": "address.family_mismatch", "facts": ["target 127.0.0.1:55432"]}])


def answer() -> Report:
    return Report(
        kind="answer", input="what is the difference between localhost and 127.0.0.1?",
        target={"host": "127.0.0.1", "port": None, "scheme": None, "error": None, "client": None},
        answers=[Answer("localhost-vs-127-0-0-1", "What is the difference between localhost and "
                        "127.0.0.1?", "127.0.0.1 is an address; localhost is a name.\n\nDialling "
                        "127.0.0.1 skips name resolution:\n1. always IPv4\n2. no hosts file",
                        0.83, [Command("linux", "getent ahosts localhost",
                                       "what localhost resolves to")],
                        ["ipv6-ipv4-localhost"]),
                 Answer("what-is-loopback", "What is 127.0.0.1, the loopback address?", "x", 0.41)])


def did_you_mean() -> Report:
    """A near tie: two entries fit, the assistant asks which (never an answer)."""
    return Report(
        kind="needs-input", input="is it safe to expose my dev server",
        target={"host": None, "port": None, "scheme": None, "error": None, "client": None},
        answers=[Answer("dev-server-host-flag", "How do I make my dev server reachable from "
                        "other devices?", "x", 0.52),
                 Answer("loopback-safety", "Is it safe to run development services on "
                        "127.0.0.1?", "y", 0.5)],
        questions=[Question("topic", "That fits more than one answer. Which did you mean? "
                            "(answer with the id)", ["dev-server-host-flag", "loopback-safety"])])


CASES = {"diagnosis": diagnosis, "answer": answer, "did-you-mean": did_you_mean}
RENDERERS = {
    "txt": lambda r: text.render(r, RenderOptions("terminal", False, 80, "linux")),
    # the chat: no command-line flags, no rule ids, its questions asked apart
    "chat.txt": lambda r: text.render(r, RenderOptions("chat", False, 80, "linux")),
    "json": lambda r: json_render.render(r) + "\n",
    "md": markdown.render,
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("ext", list(RENDERERS))
def test_golden(case: str, ext: str) -> None:
    got = RENDERERS[ext](CASES[case]())
    path = GOLDEN / f"{case}.{ext}"
    if os.environ.get("ASSISTANT_UPDATE_GOLDEN") == "1" or not path.exists():
        path.write_text(got)
    assert got == path.read_text(), f"rendering of {case} changed; review, then update {path}"


def test_text_respects_width_and_no_color() -> None:
    out = text.render(diagnosis(), RenderOptions("terminal", False, 80, "linux", all_os=True))
    assert "\x1b[" not in out
    # A link's address is never split (a terminal could not open half of
    # it): it stands alone on its line, however long.
    lines = out.splitlines()
    assert "    https://wiki.example.com/runbooks/ipv6-only-servers-and-why-clients-dial-127.0.0" \
        ".1-first" in lines
    assert max(len(line) for line in lines if not line.strip().startswith("https://")) <= 80
    coloured = text.render(diagnosis(), RenderOptions("terminal", True, 80, "linux"))
    assert "\x1b[31m" in coloured


def test_no_diagnosis_says_what_was_checked_and_what_to_paste() -> None:
    base = dict(kind="diagnosis", input="x", findings=[Finding("listeners", "ok", "listening"),
                                                      Finding("probe", "ok", "connect ok")])
    with_error = Report(**base, target={"host": "127.0.0.1", "port": 8000, "scheme": None,
                                        "error": "refused", "client": "curl"})
    out = text.render(with_error)
    assert "No cause found for 127.0.0.1:8000: the checks above (listeners, probe)" in out
    assert "--ask" not in out and "command you ran" in out
    bare = Report(**base, target={"host": "127.0.0.1", "port": 8000, "scheme": None,
                                  "error": None, "client": None})
    assert "Paste the exact error the client printed" in text.render(bare)
