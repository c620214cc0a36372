"""Who reads a rendering: which OS's commands, in which order, and how the
reader sees the rest."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from assistant.render.options import RenderOptions, os_of, without_sudo
from assistant.report import Command
from tests.support import run_script

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


@pytest.mark.parametrize("command,expected", [
    ("sudo ss -ltnp 'sport = :80'", "ss -ltnp 'sport = :80'"),
    ("echo -1.2.3.4 | sudo tee /proc/net/xt_recent/x", "echo -1.2.3.4 | tee /proc/net/xt_recent/x"),
    ("sudo -u postgres psql -c 'SHOW hba_file'", "runuser -u postgres -- psql -c 'SHOW hba_file'"),
    ("sudoedit /etc/ufw/user.rules", '"${EDITOR:-vi}" /etc/ufw/user.rules'),
    ("nginx -t && sudo systemctl reload nginx", "nginx -t && systemctl reload nginx"),
    ("kill $(sudo cat /run/x.pid)", "kill $(cat /run/x.pid)"),
    ("pseudo sudoku", "pseudo sudoku"),
])
def test_root_without_sudo_types_the_command_without_it(command: str, expected: str) -> None:
    assert without_sudo(command) == expected


def test_only_this_machines_commands_lose_sudo() -> None:
    fix = [Command("linux", "sudo ss -ltnp", "confirm"), Command("macos", "sudo lsof -nP", "x"),
           Command("any", "sudo kill PID", "y")]
    shown, _ = RenderOptions("terminal", os="linux", root_without_sudo=True).commands(fix)
    assert [c.command for c in shown] == ["ss -ltnp", "kill PID"]
    every, _ = RenderOptions("terminal", os="linux", all_os=True,
                             root_without_sudo=True).commands(fix)
    assert "sudo lsof -nP" in [c.command for c in every]  # another machine's: as written
    kept, _ = RenderOptions("terminal", os="linux").commands(fix)
    assert [c.command for c in kept] == ["sudo ss -ltnp", "sudo kill PID"]


def test_the_console_as_root_without_sudo_prints_no_sudo(tmp_path: Path) -> None:
    """Field trial 5: `sudo ...` as pasted by root in a container without
    sudo: "sudo: command not found". The text leaves it out; JSON keeps it."""
    if os.geteuid() != 0:
        pytest.skip("needs root: the commands change for root only")
    bare = tmp_path / "bin"
    bare.mkdir()
    env = {"PATH": str(bare), "HOME": str(tmp_path), "ASSISTANT_CACHE_DIR": str(tmp_path / "c")}
    text = "Error: listen EACCES: permission denied 0.0.0.0:80"
    out = run_script("--ask", text, "--color", "never", env=env)
    assert "linux    setcap 'cap_net_bind_service" in out.out, out.out
    assert "sudo setcap" not in out.out
    js = run_script("--ask", text, "--json", env=env)
    assert "sudo setcap" in js.out


def test_a_user_without_sudo_is_told_what_the_sudo_lines_need() -> None:
    """Field trial 11: as an ordinary user on a machine without sudo, every
    printed `sudo ...` failed with no word about it."""
    sudo = [Command("linux", "sudo ss -ltnp 'sport = :3000'", "who holds it")]
    plain = [Command("linux", "ss -ltn 'sport = :3000'", "")]
    note = RenderOptions(user_without_sudo=True).sudo_note(sudo)
    assert note is not None and note.startswith("sudo is not installed here")
    assert RenderOptions(user_without_sudo=True).sudo_note(plain) is None
    assert RenderOptions().sudo_note(sudo) is None
