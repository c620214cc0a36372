"""Who reads a rendering: which OS's commands, in which order, and how the
reader sees the rest."""

from __future__ import annotations

from assistant.render.options import RenderOptions, os_of
from assistant.report import Command

FIX = [Command("linux", "kill 42", "stop it"), Command("any", "use another port", "if it stays"),
       Command("macos", "lsof -i :3000", "confirm who holds it"),
       Command("windows", "netstat -ano", "confirm who holds it"),
       Command("linux", "ss -ltnp", "confirm who holds it")]


def test_this_machine_first_confirm_before_fix() -> None:
    shown, hidden = RenderOptions("terminal", os="linux").commands(FIX)
    assert [c.command for c in shown] == ["ss -ltnp", "kill 42", "use another port"]
    assert hidden == ["macos", "windows"]
    shown, hidden = RenderOptions("chat", os="macos").commands(FIX)
    assert [c.command for c in shown] == ["lsof -i :3000", "use another port"]
    assert hidden == ["linux", "windows"]


def test_every_os_for_tickets_json_and_on_request() -> None:
    for opts in (RenderOptions("ticket", os="linux"), RenderOptions("json", os="linux"),
                 RenderOptions("terminal", os="linux", all_os=True)):
        shown, hidden = opts.commands(FIX)
        # grouped by OS, this one first, confirming first within each
        assert [c.command for c in shown] == ["ss -ltnp", "kill 42", "use another port",
                                              "lsof -i :3000", "netstat -ano"]
        assert hidden == []


def test_how_to_see_the_rest_in_the_readers_terms() -> None:
    assert RenderOptions("terminal").more_commands(["macos", "windows"]) == \
        "For macOS and Windows: add --all-os"
    assert RenderOptions("chat").more_commands(["windows"]) == \
        "For Windows: /fix all (or ask \"how do I do that on windows?\")"
    assert RenderOptions("chat").more_commands([]) is None


def test_os_of_platform() -> None:
    assert [os_of(p) for p in ("linux", "darwin", "win32", "freebsd14")] == \
        ["linux", "macos", "windows", "linux"]
    assert RenderOptions.here(platform="darwin").os == "macos"
