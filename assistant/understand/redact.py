"""Remove credentials and terminal control characters from user text.

Everything the assistant echoes back (JSON `input`, text output, reports)
goes through `clean()`: pasted errors often carry connection strings with
passwords, and raw escape sequences could repaint the user's terminal.
"""

from __future__ import annotations

import re

MASK = "***"

# scheme://user:password@host  or  scheme://token@host: the whole userinfo goes.
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]{0,30}://)[^\s/@:]{0,256}(?::[^\s/@]{0,256})?@")
# key=value and key: value pairs whose key names a secret.
_SECRET_KV = re.compile(
    r"(?i)\b((?:[a-z0-9_\-]{0,40}(?:password|passwd|pwd|secret|token|api[_-]?key|apikey|"
    r"access[_-]?key|auth)[a-z0-9_\-]{0,40})\s{0,3}[=:]\s{0,3})(\"[^\"\n]{0,512}\"|'[^'\n]{0,512}'|[^\s&;,'\"]{1,512})"
)
# Authorization: Bearer xxx / Basic xxx (header form).
_AUTH_HEADER = re.compile(
    r"(?i)\b(authorization\s{0,3}:\s{0,3}(?:bearer|basic|token|digest)?\s{0,3})[^\s'\"]{1,4096}")
_BEARER = re.compile(r"(?i)\b(bearer\s{1,3})[A-Za-z0-9\-._~+/]{8,4096}=*")
# mysql -pSECRET style (password glued to the flag).
_MYSQL_P = re.compile(r"(?<![\w-])(-p)(?=[^\s-])[^\s]{1,256}")
# C0 controls except tab and newline, DEL, and C1 controls.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def strip_control(text: str) -> str:
    """Replace control characters (escape sequences included) with a space."""
    return _CONTROL.sub(" ", text)


def redact(text: str) -> str:
    """Mask credentials: URL userinfo, secret=value pairs, auth headers."""
    text = _URL_USERINFO.sub(lambda m: m.group(1) + MASK + "@", text)
    text = _AUTH_HEADER.sub(lambda m: m.group(1) + MASK, text)
    text = _BEARER.sub(lambda m: m.group(1) + MASK, text)
    text = _SECRET_KV.sub(lambda m: m.group(1) + MASK, text)
    text = _MYSQL_P.sub(lambda m: m.group(1) + MASK, text)
    return text


def clean(text: str) -> str:
    """What may be shown back to the user: no controls, no credentials."""
    return redact(strip_control(text))
