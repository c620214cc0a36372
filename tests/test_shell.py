"""Shell conventions from the one argparse definition: `help`, `completion`
(answered by real bash, zsh and fish through the installed console scripts)
and the man page."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from assistant.cli import manpage, shell
from assistant.cli.main import parser
from tests.support import console_script, run_cli

ROOT = Path(__file__).resolve().parent.parent


def help_of(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    with pytest.raises(SystemExit) as exc:
        run_cli(*argv, "--help")
    assert exc.value.code == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("words", [[], ["rules"], ["rules", "test"], ["kb", "search"],
                                   ["completion"], ["help"]])
def test_help_command_is_the_help_option(words: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    expected = help_of(capsys, *words)
    r = run_cli("help", *words)
    assert (r.code, r.out, r.err) == (0, expected, "")


def test_help_of_an_unknown_command_is_a_usage_error() -> None:
    r = run_cli("help", "rules", "nope")
    assert r.code == 2 and r.out == ""
    assert r.err.startswith("assistant: no command 'rules nope' (commands here: list, check,")


def test_top_level_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    text = help_of(capsys)
    listed = shell.command_help(parser(tools=True))
    assert {"rules", "kb", "completion", "help"} <= set(listed)
    for name, line in listed.items():
        assert line, f"command {name} has no help line"
        assert f"    {name}" in text and line in text, name


def test_completion_prints_argcomplete_shell_code() -> None:
    for name in shell.SHELLS:
        r = run_cli("completion", name)
        assert r.code == 0
        assert "_ARGCOMPLETE" in r.out and "lc-assistant" in r.out, name
    assert run_cli("completion", "tcsh").code == 2


def script_env(home: Path) -> dict[str, str]:
    """The shells write their own files (fish's history, zsh's .zcompdump) in HOME."""
    return {"PATH": f"{console_script().parent}:{os.environ['PATH']}", "HOME": str(home),
            "TERM": "dumb", "NO_COLOR": "1"}


def need(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (CI installs it)")
    return path


BASH = r"""
eval "$(assistant completion bash)"
comp() {
  COMP_LINE="$1"; COMP_POINT=${#COMP_LINE}; read -ra COMP_WORDS <<< "$1"
  [[ "$1" == *" " ]] && COMP_WORDS+=("")
  COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMPREPLY=()
  _python_argcomplete "${COMP_WORDS[0]}" "${COMP_WORDS[-1]}" "${COMP_WORDS[-2]}"
  printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' '; echo
}
comp "assistant ru"
comp "lc-assistant rules t"
comp "assistant completion "
comp "assistant --co"
"""


def test_bash_completes_from_the_parser(tmp_path: Path) -> None:
    out = subprocess.run([need("bash"), "-c", BASH], capture_output=True, text=True,
                         env=script_env(tmp_path), timeout=60)
    assert out.stdout.splitlines() == ["rules  ", "test trust ", "--help -h bash fish zsh ", "--color  "], \
        out.stdout + out.stderr


def test_fish_completes_from_the_parser(tmp_path: Path) -> None:
    script = ('assistant completion fish | source; complete -C "assistant ru"; '
              'complete -C "lc-assistant kb "')
    out = subprocess.run([need("fish"), "--no-config", "-c", script], capture_output=True,
                         text=True, env=script_env(tmp_path), timeout=60)
    words = [line.split("\t")[0] for line in out.stdout.splitlines()]
    assert words[0] == "rules" and set(words[1:]) >= {"list", "check", "search"}, out.stdout


def test_zsh_completes_from_the_parser(tmp_path: Path) -> None:
    pexpect = pytest.importorskip("pexpect")
    z = pexpect.spawn(need("zsh"), ["-f", "-i"], env=script_env(tmp_path), encoding="utf-8", timeout=20,
                      dimensions=(24, 200))
    try:
        z.sendline('autoload -U compinit; compinit -u; eval "$(assistant completion zsh)"; '
                   'echo READY')
        z.expect("READY\r\n")
        z.send("lc-assistant rul\t")
        z.expect("lc-assistant rules ")
        z.sendcontrol("u")
        z.send("assistant completion f\t")
        z.expect("completion fish ")
    finally:
        z.close(force=True)


def test_man_pages_in_the_tree_are_generated_from_the_parser() -> None:
    """docs/man/ is what the wheel installs; `python3 dev.py man` rewrites it."""
    for name, text in manpage.pages(parser(tools=True)).items():
        assert (ROOT / "docs" / "man" / name).read_text() == text, \
            f"docs/man/{name} is stale: run `python3 dev.py man`"


def test_man_page_names_every_command_and_option() -> None:
    page = (ROOT / "docs" / "man" / "lc-assistant.1").read_text()
    for words, p in shell.walk(parser(tools=True)):
        if words and not shell.subcommands(p):
            assert f".SS\nassistant {' '.join(words)}".replace("-", "\\-") in page, words
        for action in p._actions:
            for opt in action.option_strings:
                assert opt.replace("-", "\\-") in page, opt


def test_man_renders_the_page_without_warnings(tmp_path: Path) -> None:
    man = need("man")
    if shutil.which("groff") is None and shutil.which("nroff") is None:
        pytest.skip("no roff formatter")
    page = ROOT / "docs" / "man" / "lc-assistant.1"
    out = subprocess.run([man, "--warnings", "-l", str(page)], capture_output=True, text=True,
                         env={"PATH": os.environ["PATH"], "MANWIDTH": "80", "MANPAGER": "cat",
                              "PAGER": "cat", "HOME": str(tmp_path)}, timeout=60)
    assert out.returncode == 0 and out.stderr == "", out.stderr
    assert "lc-assistant - find out why a local network connection fails" in out.stdout
    # `man assistant` through the alias page, as pip and pipx install them
    man1 = tmp_path / "share" / "man" / "man1"
    man1.mkdir(parents=True)
    for name in ("lc-assistant.1", "assistant.1"):
        shutil.copy(ROOT / "docs" / "man" / name, man1 / name)
    alias = subprocess.run([man, "-M", str(tmp_path / "share" / "man"), "assistant"],
                           capture_output=True, text=True, timeout=60,
                           env={"PATH": os.environ["PATH"], "MANPAGER": "cat", "PAGER": "cat",
                                "HOME": str(tmp_path), "MANWIDTH": "80"})
    assert alias.returncode == 0 and "LC-ASSISTANT(1)" in alias.stdout, alias.stderr


def test_completion_request_does_not_run_a_question(tmp_path: Path) -> None:
    """With _ARGCOMPLETE set the program only completes (argcomplete exits)."""
    env = {**script_env(tmp_path), "_ARGCOMPLETE": "1", "COMP_LINE": "assistant --ask x ", "COMP_POINT": "17",
           "_ARGCOMPLETE_STDOUT_FILENAME": os.devnull}
    out = subprocess.run([str(console_script())], capture_output=True, text=True, env=env,
                         timeout=60, stdin=subprocess.DEVNULL)
    assert out.returncode == 0 and out.stdout == "", out.stdout
