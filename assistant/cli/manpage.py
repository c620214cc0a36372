"""The man page, written from the argparse definition in main.py.

`python3 dev.py man` writes docs/man/; the wheel installs those files in
share/man/man1 (where pip and pipx put man pages), and a test checks they
match this module's output. Everything is built here from the parser's
declarations rather than argparse's help formatter, whose wrapping follows
the terminal and whose layout (and colour) changes between Python versions.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from assistant import __version__
from assistant.cli.shell import command_help, subcommands, walk

PAGE = "lc-assistant"
# Not in the parser: read by the program, listed in README ("Usage").
ENVIRONMENT = [
    ("ASSISTANT_RULES_PATH", "extra rule directories, separated by ':' (before --rules)"),
    ("ASSISTANT_KB_PATH", "extra knowledge-base entry directories, separated by ':'"),
    ("ASSISTANT_CACHE_DIR", "where the rule and knowledge-base caches live "
                            "(default $XDG_CACHE_HOME/assistant)"),
    ("NO_COLOR", "no colour, as --color never"),
]


def esc(text: str) -> str:
    """Text as roff shows it: backslashes and hyphens literal, no request at a line start."""
    out = text.replace("\\", "\\e").replace("-", "\\-")
    return "\n".join(("\\&" + line) if line.startswith((".", "'")) else line
                     for line in out.split("\n"))


def metavar(action: argparse.Action) -> str:
    if action.metavar is not None:
        return str(action.metavar)
    if action.choices is not None and not isinstance(action, argparse._SubParsersAction):
        return "{" + ",".join(str(c) for c in action.choices) + "}"
    return action.dest.upper() if action.option_strings else action.dest


def takes_value(action: argparse.Action) -> bool:
    return action.nargs != 0


def invocation(action: argparse.Action) -> str:
    if not action.option_strings:
        return metavar(action)
    value = f" {metavar(action)}" if takes_value(action) else ""
    return ", ".join(f"{o}{value}" for o in action.option_strings)


def positional(action: argparse.Action) -> str:
    m = metavar(action)
    if isinstance(action, argparse._SubParsersAction):
        return f"{m} ..."
    return {"?": f"[{m}]", "*": f"[{m} ...]", "+": f"{m} [{m} ...]"}.get(str(action.nargs), m)


def synopsis(p: argparse.ArgumentParser) -> str:
    """`prog [--opt X] [--a | --b] POSITIONAL`, in declaration order, no wrapping."""
    grouped = {id(a): g for g in p._mutually_exclusive_groups for a in g._group_actions}
    parts: list[str] = []
    done: set[int] = set()
    for action in p._actions:
        if action.help == argparse.SUPPRESS or id(action) in done:
            continue
        if not action.option_strings:
            parts.append(positional(action))
            continue
        group = grouped.get(id(action))
        members = group._group_actions if group else [action]
        done.update(id(a) for a in members)
        first = [f"{a.option_strings[0]}" + (f" {metavar(a)}" if takes_value(a) else "")
                 for a in members]
        parts.append(f"[{' | '.join(first)}]")
    return " ".join([p.prog, *parts])


def options(p: argparse.ArgumentParser, with_help: bool = True) -> list[str]:
    out: list[str] = []
    for action in p._actions:
        if action.help == argparse.SUPPRESS or isinstance(action, argparse._SubParsersAction):
            continue
        if isinstance(action, argparse._HelpAction) and not with_help:
            continue  # said once, for the program
        text = action.help or ""
        if "%" in text:  # argparse's own placeholders: %(default)s, %(prog)s...
            text = text % dict(vars(action), prog=p.prog)
        out += [".TP", f"\\fB{esc(invocation(action))}\\fR", esc(text)]
    return out


def epilog_sections(epilog: str) -> list[str]:
    """The epilog's `heading: text` blocks, each a section, kept as laid out."""
    out: list[str] = []
    for block in epilog.strip().split("\n\n"):
        head, _, rest = block.partition(":")
        title = "EXIT STATUS" if head.strip() == "exit codes" else head.strip().upper()
        if rest.startswith("\n"):  # an indented block (examples): kept line by line
            out += [f".SH {title}", ".nf", esc(rest.strip("\n").rstrip()), ".fi"]
        else:  # a paragraph
            out += [f".SH {title}", esc(" ".join(rest.split()))]
    return out


def render(p: argparse.ArgumentParser) -> str:
    lines = [
        f'.TH {PAGE.upper()} 1 "" "local-connection-assistant {__version__}" "User Commands"',
        ".SH NAME",
        f"assistant, lc-assistant \\- {esc((p.description or '').rstrip('.').lower())}",
        ".SH SYNOPSIS", ".nh", ".ad l", esc(synopsis(p)), ".ad", ".hy",
        ".SH DESCRIPTION",
        esc(f"{p.description} Both names run the same program; lc-assistant is the one no "
            "other package uses (on Debian and Ubuntu, /usr/bin/assistant is Qt Assistant)."),
        ".PP",
        esc("Without --ask and with a terminal, assistant opens a chat; with stdin not a "
            "terminal, the whole input is one question."),
        ".SH OPTIONS", *options(p), ".SH COMMANDS",
    ]
    for path, child in walk(p):
        if not path or subcommands(child):
            continue  # the program itself, and groups such as `rules` (their leaves follow)
        parent_help = command_help(parent_of(p, path)).get(path[-1], "")
        lines += [".SS", esc(synopsis(child)), esc(parent_help or child.description or "")]
        lines += options(child, with_help=False)
    lines += epilog_sections(p.epilog or "")
    lines += [".SH ENVIRONMENT"]
    for name, text in ENVIRONMENT:
        lines += [".TP", f"\\fB{name}\\fR", esc(text)]
    lines += [".SH SEE ALSO", esc("assistant help [COMMAND]; the README of local-connection-assistant.")]
    return "\n".join(lines) + "\n"


def parent_of(p: argparse.ArgumentParser, path: tuple[str, ...]) -> argparse.ArgumentParser:
    for word in path[:-1]:
        p = subcommands(p)[word]
    return p


def pages(p: argparse.ArgumentParser) -> dict[str, str]:
    """File name -> content: the page, and `assistant.1` pointing to it."""
    return {f"{PAGE}.1": render(p), "assistant.1": f".so man1/{PAGE}.1\n"}


def main(argv: list[str]) -> int:
    from assistant.cli.main import parser

    if argv[:1] != ["--write"] or len(argv) != 2:
        sys.stdout.write(render(parser(tools=True)))
        return 0
    for name, text in pages(parser(tools=True)).items():
        (Path(argv[1]) / name).write_text(text)
        print(f"wrote {Path(argv[1]) / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
