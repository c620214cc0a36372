"""Remove credentials and terminal control characters from user text.

Everything the assistant echoes back (JSON `input`, text output, reports)
goes through `clean()`: pasted errors often carry connection strings with
passwords, and raw escape sequences could repaint the user's terminal.
"""

from __future__ import annotations

import re
from functools import cache
from typing import NamedTuple

MASK = "***"


class _Secret(NamedTuple):
    """A kind of credential: words every match contains (lower case), the
    pattern (group 1 is what stays before the mask), and what follows it.
    A text without the words cannot hold that kind, so the pattern is not
    even compiled: most questions hold no credentials at all."""

    needles: tuple[str, ...]
    every: bool  # all needles needed (else any one)
    pattern: str
    after: str = ""


_SECRETS = (
    # scheme://user:password@host  or  scheme://token@host: the whole userinfo goes.
    _Secret(("://", "@"), True,
            r"(?i)\b([a-z][a-z0-9+.\-]{0,30}://)[^\s/@:]{0,256}(?::[^\s/@]{0,256})?@", "@"),
    # Authorization: Bearer xxx / Basic xxx (header form).
    _Secret(("authorization",), False, r"(?i)\b(authorization\s{0,3}:\s{0,3}(?:bearer|basic|"
            r"token|digest)?\s{0,3})[^\s'\"]{1,4096}"),
    _Secret(("bearer",), False, r"(?i)\b(bearer\s{1,3})[A-Za-z0-9\-._~+/]{8,4096}=*"),
    # key=value and key: value pairs whose key names a secret.
    _Secret(("pass", "pwd", "secret", "token", "key", "auth"), False,
            r"(?i)\b((?:[a-z0-9_\-]{0,40}(?:password|passwd|pwd|secret|token|api[_-]?key|apikey|"
            r"access[_-]?key|auth)[a-z0-9_\-]{0,40})[ \t]{0,3}[=:][ \t]{0,3})"
            r"(\"[^\"\n]{0,512}\"|'[^'\n]{0,512}'|[^\s&;,'\"]{1,512})"),
    # mysql -pSECRET style (password glued to the flag), on a MySQL/MariaDB
    # client's (or sshpass's) line only: other programs' -p options are not
    # passwords (openssl's -pkeyopt came out as -p***); not "-p)" in prose.
    _Secret(("-p",), False,
            r"(\b(?:mysql|mariadb|mysqladmin|mysqldump|mariadb-dump|mariadb-admin|mysqlsh|"
            r"mysqlimport|mysqlcheck|sshpass)\b[^\n]{0,300}?(?<![\w-])-p)(?=[^\s-])"
            r"(?![)\]},;.](?:\s|$))[^\s]{1,256}"),
)
# C0 controls except tab and newline, DEL, and C1 controls.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def strip_control(text: str) -> str:
    """Replace control characters (escape sequences included) with a space."""
    return _CONTROL.sub(" ", text)


@cache
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def redact(text: str) -> str:
    """Mask credentials: URL userinfo, secret=value pairs, auth headers."""
    for secret in _SECRETS:
        low = text.lower()
        found = all if secret.every else any
        if found(n in low for n in secret.needles):
            text = _compiled(secret.pattern).sub(r"\g<1>" + MASK + secret.after, text)
    return text


def clean(text: str) -> str:
    """What may be shown back to the user: no controls, no credentials."""
    return redact(strip_control(text))


SHOWN = 300  # characters of a long value (a JVM's command line) shown in a report


def shortened(text: str, limit: int = SHOWN) -> str:
    """`text` cut to `limit` characters with an ellipsis: long values are
    matched whole but shown short."""
    return text if len(text) <= limit else text[:limit - 1] + "…"
