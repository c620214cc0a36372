"""Values put into fix commands, quoted for the shell that runs them.

A fix template is written by a rule author; the values in it come from the
live system and from what the user pasted: a socket path with a space, a
URL with `&`, a systemd unit with a backslash (`foo\\x2dbar.service`), an
IPv6 URL's `[::1]` (a glob pattern to zsh). Unquoted, such a command fails
when pasted or does something else. Each value is quoted for the shell of
the fix's OS (POSIX sh for linux, macos and any; PowerShell for windows) and
for where it sits in the template: bare, inside '...' or inside "...".
Values a collector wrote as shell text (Field.verbatim) go in as they are.
"""

from __future__ import annotations

import re

# shlex's own notion of a word that needs no quotes.
_SAFE = re.compile(r"[\w@%+=:,./-]*", re.ASCII)


def context(template: str, end: int, powershell: bool) -> str:
    """'' (bare), "'" or '"': the quotes open at `end` of the template."""
    state = ""
    escape = "`" if powershell else "\\"
    skip = False
    for ch in template[:end]:
        if skip:
            skip = False
        elif state == "'":
            state = "" if ch == "'" else state
        elif ch == escape:
            skip = True
        elif state == '"':
            state = "" if ch == '"' else state
        elif ch in "'\"":
            state = ch
    return state


def quote(value: str, where: str, powershell: bool) -> str:
    """`value` as text the shell reads back unchanged at `where`."""
    if where == "'":
        return value.replace("'", "''") if powershell else value.replace("'", "'\\''")
    if where == '"':
        specials = "`$\"" if powershell else "\\$`\""
        escape = "`" if powershell else "\\"
        return "".join(escape + c if c in specials else c for c in value)
    if _SAFE.fullmatch(value):
        return value
    if powershell:
        return "'" + value.replace("'", "''") + "'"
    return "'" + value.replace("'", "'\\''") + "'"
