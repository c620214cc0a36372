"""Values in fix commands read back unchanged by the real shells, wherever
the template puts them: bare, in '...' or in "..."."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from assistant.engine.driver import render_template
from assistant.engine.shellquote import context, quote

TRICKY = ["/tmp/my dir/app.sock", "it's", 'say "hi"', "$HOME", "`id`", "a;rm -rf x",
          "[::1]", "foo\\x2dbar.service", "http://h/?a=1&b=2", "*", "~root", "plain-name_1.0:80"]
TEMPLATES = {"bare": "printf %s {x.v}", "single": "printf %s '<{x.v}>'",
             "double": 'printf %s "<{x.v}>"'}


@pytest.mark.parametrize("shell", ["sh", "dash", "bash", "zsh"])
@pytest.mark.parametrize("where", sorted(TEMPLATES))
def test_posix_shells_read_every_value_back(shell: str, where: str) -> None:
    path = shutil.which(shell)
    if path is None:
        pytest.skip(f"{shell} is not installed")
    for value in TRICKY:
        command = render_template(TEMPLATES[where], {"x": {"v": value}}, "linux")
        out = subprocess.run([path, "-c", command], capture_output=True, text=True, timeout=10,
                             env={"HOME": "/nonexistent", "PATH": "/usr/bin:/bin"})
        want = value if where == "bare" else f"<{value}>"
        assert (out.returncode, out.stdout) == (0, want), (shell, command, out.stderr)


def test_safe_values_are_left_as_written() -> None:
    assert render_template("kill {l.pid}; ss -ltn 'sport = :{t.port}'",
                           {"l": {"pid": 4242}, "t": {"port": 3000}}, "linux") == \
        "kill 4242; ss -ltn 'sport = :3000'"


def test_powershell_quotes_its_own_way() -> None:
    assert quote("C:\\Program Files\\x", "", powershell=True) == "'C:\\Program Files\\x'"
    assert quote("it's", "'", powershell=True) == "it''s"
    assert quote('a"$b', '"', powershell=True) == 'a`"`$b'
    assert render_template("Get-Item {s.path}", {"s": {"path": "C:\\my dir\\a.sock"}},
                           "windows") == "Get-Item 'C:\\my dir\\a.sock'"


def test_context_follows_quotes_and_escapes() -> None:
    t = "a 'b \"c' \\\" d \"e 'f"
    assert context(t, t.index("b"), False) == "'"
    assert context(t, t.index("d"), False) == ""
    assert context(t, t.index("f"), False) == '"'


def test_collector_commands_go_in_verbatim() -> None:
    """A firewall fact's undo is a whole command: quoting it would break it."""
    undo = "nft delete rule inet filter input handle 7"
    matched = {"f": {"type": "firewall", "undo": undo, "chain": "my chain"}}
    assert render_template("sudo {f.undo}", matched, "linux") == f"sudo {undo}"
    assert render_template("nft list chain inet filter {f.chain}", matched, "linux") == \
        "nft list chain inet filter 'my chain'"


def test_text_that_is_not_a_command_is_not_quoted() -> None:
    assert render_template("{s.path} is missing", {"s": {"path": "/tmp/my dir/a"}}) == \
        "/tmp/my dir/a is missing"
