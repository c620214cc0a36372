"""Shell conventions, all from the one argparse definition in main.py:
`assistant completion bash|zsh|fish`, `assistant help [COMMAND...]`, and the
walk over the parser that the man page (manpage.py) uses too.

Completion is argcomplete's: the script a shell loads calls the program back
with _ARGCOMPLETE set, and `complete` answers from the parser, so a new
option or command completes without a change here.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from typing import TYPE_CHECKING

from assistant.cli.env import Env
from assistant.errors import EXIT_OK, UserError

if TYPE_CHECKING:
    from assistant.cli.main import Parser

SHELLS = ("bash", "zsh", "fish")
# Both console scripts (pyproject.toml): `assistant`, and `lc-assistant`
# where /usr/bin/assistant is Qt Assistant.
NAMES = ("assistant", "lc-assistant")
ENABLE = """\
to enable:
  bash   eval "$(assistant completion bash)"          (in ~/.bashrc)
  zsh    eval "$(assistant completion zsh)"           (in ~/.zshrc, after compinit)
  fish   assistant completion fish > ~/.config/fish/completions/assistant.fish
"""


def add_parsers(sub: argparse._SubParsersAction[Parser]) -> None:
    c = sub.add_parser("completion", help="print the tab-completion script for bash, zsh or fish",
                       description="Print the script that makes SHELL complete assistant's "
                       "commands and options (for both names, assistant and lc-assistant).",
                       epilog=ENABLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    c.add_argument("shell", choices=SHELLS, metavar="SHELL", help="the shell: bash, zsh or fish")
    h = sub.add_parser("help", help="show the help of assistant or of a COMMAND",
                       description="Show the help of assistant, or of a command: "
                       "`assistant help rules test` is `assistant rules test --help`.")
    h.add_argument("topic", nargs="*", metavar="COMMAND", help="a command, e.g. rules or rules test")


def subcommands(p: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The parser's commands, in the order they were declared."""
    for action in p._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def walk(p: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> Iterator[
        tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Every (command words, parser) pair, the program itself first."""
    yield path, p
    for name, child in subcommands(p).items():
        yield from walk(child, (*path, name))


def command_help(p: argparse.ArgumentParser) -> dict[str, str]:
    """Each command's one-line help as the parent declared it."""
    for action in p._actions:
        if isinstance(action, argparse._SubParsersAction):
            return {a.dest: a.help or "" for a in action._choices_actions}
    return {}


def find(p: argparse.ArgumentParser, words: list[str]) -> argparse.ArgumentParser:
    for i, word in enumerate(words):
        subs = subcommands(p)
        if word not in subs:
            known = ", ".join(subs) or "none"
            raise UserError(f"no command '{' '.join(words[:i + 1])}' (commands here: {known})\n"
                            "Try 'assistant help'.")
        p = subs[word]
    return p


def complete(p: argparse.ArgumentParser) -> None:
    """Answer a shell's completion request (_ARGCOMPLETE is set) and exit."""
    import argcomplete

    argcomplete.autocomplete(p)


def run(args: argparse.Namespace, env: Env, p: argparse.ArgumentParser) -> int:
    if args.command == "completion":
        from argcomplete.shell_integration import shellcode

        env.stdout.write(shellcode(list(NAMES), shell=args.shell))
        return EXIT_OK
    env.stdout.write(find(p, list(args.topic)).format_help())
    return EXIT_OK
