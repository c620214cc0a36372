"""One pasteable command that repeats the user's request without the proxy.

For curl and wget it is the user's own command line as pasted, less its
proxy options, with the tool's bypass option added: the options that make
the request work (-k, --cacert, -H, a method, the URL's path) stay, so the
command succeeds where the request itself would. For Python it is a
one-line script, and for any other client curl. Credentials the command
carried (-u, an Authorization header, a URL's user:password) are not
repeated: nothing else the assistant prints echoes them either. Pure.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Sequence

from assistant.understand.redact import clean

# curl: proxy options that take a value, and those that are flags. Every other
# --proxy-* and --socks* option takes a value too (--proxy-cacert FILE ...).
_CURL_PROXY_VALUE = {"-x", "--proxy", "--noproxy", "-U", "--proxy-user", "--preproxy"}
_CURL_PROXY_FLAGS = {"-p", "--proxytunnel", "--proxy-insecure", "--proxy-anyauth",
                     "--proxy-basic", "--proxy-digest", "--proxy-negotiate", "--proxy-ntlm",
                     "--proxy-ssl-allow-beast", "--proxy-ssl-auto-client-cert", "--proxy-http2",
                     "--proxy-tlsv1", "--socks5-basic", "--socks5-gssapi", "--socks5-gssapi-nec",
                     "--suppress-connect-headers"}
_CURL_SECRET_VALUE = {"-u", "--user", "--oauth2-bearer"}
_CURL_HEADER = {"-H", "--header"}
# wget: `--opt=value` or `--opt value`; -e/--execute runs a .wgetrc command.
_WGET_PROXY = {"--no-proxy", "--proxy-user", "--proxy-password", "-Y", "--proxy"}
_WGET_VALUE = {"--proxy-user", "--proxy-password", "-Y", "--proxy", "-e", "--execute", "--user",
               "--password", "--http-user", "--http-password", "--header"}
_WGET_SECRET = {"--user", "--password", "--http-user", "--http-password"}
_SECRET_HEADER = re.compile(r"\s*(?:proxy-)?authorization\s*:|\s*cookie\s*:", re.I)
_PS_SAFE = re.compile(r"[\w@%+=:,./-]+", re.ASCII)


def oneshot(labels: set[str], host: str, url: str, unset: str, lines: Sequence[str]) -> str:
    """The request without the proxy, for the clients in `labels`, from the
    command line in `lines` when one was pasted."""
    without = " ".join(f"-u {v}" for v in unset.split())
    if labels == {"curl"}:
        kept = _curl_words(lines)
        return shlex.join(["curl", "--noproxy", host, *(kept if kept else [url])])
    if labels == {"wget"}:
        kept = _wget_words(lines)
        # -O- once: the user's own -O (a file, or - already) stands when pasted.
        out = [] if any(w == "-O" or w.startswith(("-O", "--output-document")) for w in kept) \
            else ["-O-"]
        return shlex.join(["wget", "--no-proxy", *out, *(kept if kept else [url])])
    if labels == {"Python requests"}:
        script = f"import requests; print(requests.get({_py_str(url)}).status_code)"
        return f"env {without} python3 -c {shlex.quote(script)}"
    if labels and labels <= {"Python requests", "Python urllib"}:
        script = f"import urllib.request; print(urllib.request.urlopen({_py_str(url)}).status)"
        return f"env {without} python3 -c {shlex.quote(script)}"
    return shlex.join(["curl", "--noproxy", "*", "-sS", url])


def oneshot_windows(labels: set[str], url: str, lines: Sequence[str]) -> str:
    """curl.exe without the proxy, in PowerShell's quoting: the user's curl
    options when they pasted a curl command."""
    kept = _curl_words(lines) if labels == {"curl"} else []
    words = kept if kept else ["-sS", url]
    return 'curl.exe --noproxy "*" ' + " ".join(_ps_quote(w) for w in words)


def _py_str(text: str) -> str:
    """A Python string literal in double quotes (the shell quotes are single)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _ps_quote(word: str) -> str:
    return word if _PS_SAFE.fullmatch(word) else "'" + word.replace("'", "''") + "'"


def _arguments(lines: Sequence[str], program: str) -> list[str] | None:
    """The arguments of the first pasted command that runs `program` (after
    any VAR=value, sudo, timeout... before it)."""
    for line in lines:
        try:
            words = shlex.split(line)
        except ValueError:
            continue
        at = next((i for i, w in enumerate(words) if w.rsplit("/", 1)[-1] == program), None)
        if at is not None:
            return words[at + 1:]
    return None


def _curl_words(lines: Sequence[str]) -> list[str]:
    """curl's arguments without proxy options or credentials ([] without a
    curl command, or one that names no URL)."""
    args = _arguments(lines, "curl")
    if not args:
        return []
    kept: list[str] = []
    skip = False
    for i, w in enumerate(args):
        if skip:
            skip = False
            continue
        value = args[i + 1] if i + 1 < len(args) else ""
        if w in _CURL_PROXY_FLAGS:
            continue
        if w in _CURL_PROXY_VALUE or w in _CURL_SECRET_VALUE or (
                w.startswith(("--proxy-", "--socks")) and w not in _CURL_PROXY_FLAGS):
            skip = True
            continue
        if w[:2] in ("-x", "-U", "-u") and len(w) > 2 and not w.startswith("--"):
            continue  # the value glued to the option: -xhttp://proxy:3128
        if w in _CURL_HEADER and _SECRET_HEADER.match(value):
            skip = True
            continue
        kept.append(w)
    return _without_secrets(kept)


def _wget_words(lines: Sequence[str]) -> list[str]:
    """wget's arguments without proxy options or credentials."""
    args = _arguments(lines, "wget")
    if not args:
        return []
    kept: list[str] = []
    skip = False
    for i, w in enumerate(args):
        if skip:
            skip = False
            continue
        name, eq, inline = w.partition("=")
        value = inline if eq else (args[i + 1] if i + 1 < len(args) else "")
        takes = name in _WGET_VALUE and not eq
        drop = (name in _WGET_PROXY or name in _WGET_SECRET
                or (name in ("-e", "--execute") and "proxy" in value.lower())
                or (name == "--header" and _SECRET_HEADER.match(value) is not None))
        if drop:
            skip = takes
            continue
        kept.append(w)
    return _without_secrets(kept)


def _without_secrets(words: Iterable[str]) -> list[str]:
    """Words as the assistant may show them; a URL that carried credentials
    loses them (the server asks for them again, the proxy is still bypassed)."""
    out = []
    for w in words:
        shown = clean(w)
        if shown != w and "://" in w:
            shown = re.sub(r"^([A-Za-z][A-Za-z0-9+.\-]*://)[^/@]*@", r"\1", w)
        out.append(shown)
    # A command that names no URL (curl localhost:8000) is not repeated: the
    # caller's URL is used then.
    return out if any("://" in w for w in out) else []
