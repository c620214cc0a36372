"""Fact types no collector gathers: the session asserts them from the user's
text and answers, the driver after each check, and rules (`assert` steps)."""

from __future__ import annotations

from assistant.facts.base import FactType, Field
from assistant.understand.patterns import CLIENT_NAMES, COMMAND_SIGNALS, ERROR_KINDS, SIGNALS

TARGET = FactType("target", "What the user is trying to reach, from the text and answers.", {
    "host": Field("str", "the host as the user wrote it (absent for a UNIX socket)",
                  example="localhost"),
    "port": Field("int", "the port (absent when the text names none; for a socket such as "
                  ".s.PGSQL.5432, the port it names)", example=3000),
    "path": Field("str", "a UNIX socket the client failed on", example="/var/run/docker.sock"),
    "url_host": Field("str", "the host as a URL writes it (an IPv6 literal in brackets)",
                      example="[::1]"),
    "url_path": Field("str", "the target URL's path and query, when it has more than /",
                      example="/api/orders?id=3"),
    "wrapped_port": Field("int", "for a port above 65535, what it wraps round to (port % 65536)",
                          example=4464),
    "port_name": Field("str", "a service name written where a URL's port goes (port is then "
                       "its number from the services database, when it has one)",
                       example="http-alt"),
    "scheme": Field("str", "URL scheme when the text has a URL", example="https"),
    "kind": Field("str", "what the host is (unix: the target is a socket path)",
                  ("ipv4", "ipv6", "name", "invalid", "unix", "none")),
    "family": Field("int", "4 or 6 for an address literal, 0 for a name", (0, 4, 6)),
    "address": Field("str", "the normalised address literal", example="127.0.0.1"),
    "loopback": Field("bool", "the host is a loopback address or localhost"),
    "wildcard": Field("bool", "the host is 0.0.0.0 or ::"),
    "assumed_host": Field("bool", "no host was given: localhost is assumed"),
}, lambda f: f"target {f['path']}" if f.get("path") else f"target {f.get('host')}:{f.get('port')}")

# What people write for an error kind or a client, for "did you mean" in
# `rules check` (a rule with `client: postgres` would never fire).
ERROR_SYNONYMS = (("econnrefused", "refused"), ("eaddrinuse", "in-use"), ("eacces", "permission"),
                  ("etimedout", "timeout"), ("timed-out", "timeout"), ("enotfound", "unresolved"),
                  ("dns", "unresolved"), ("econnreset", "reset"), ("ssl", "tls"),
                  ("enoent", "missing"), ("http", "http-status"))
CLIENT_SYNONYMS = (("postgres", "psql"), ("postgresql", "psql"), ("pg", "psql"),
                   ("mariadb", "mysql"), ("redis", "redis-cli"), ("k8s", "kubectl"),
                   ("netcat", "nc"), ("ncat", "nc"), ("nodejs", "node"), ("npm", "node"),
                   ("python3", "python"), ("golang", "go"), ("openssh", "ssh"), ("jvm", "java"),
                   ("chromium", "chrome"), ("browser", "chrome"), ("rails", "ruby"),
                   ("csharp", "dotnet"), ("browser", "firefox"))

SYMPTOM = FactType("symptom", "What went wrong, in the client's own words.", {
    "error": Field("str", "the kind of failure", ERROR_KINDS, synonyms=ERROR_SYNONYMS),
    "client": Field("str", "the program that printed the error", CLIENT_NAMES,
                    synonyms=CLIENT_SYNONYMS),
    "quoted": Field("str", "the first address the client says it dialled", example="::1"),
    "quoted_family": Field("int", "its family, 4 or 6", (4, 6)),
    "families": Field("str", "families of every quoted address, e.g. 4,6", example="4,6"),
    "remote": Field("str", "where the client runs, by the user's words",
                    example="a container"),
    "role": Field("str", "whose failure: a client connecting, or a server binding or starting",
                  ("client", "server")),
    "via": Field("str", "the address the client really connected to when it is not the target "
                 "(a proxy)", example="127.0.0.1:3128"),
    "here": Field("bool", "the output was plainly produced on this machine (a pasted command "
                  "line, or a command-line client); absent when it may come from elsewhere"),
    "relisten": Field("str", "for a server that failed to bind: its pasted command with the "
                      "next port, in the program's own form (gunicorn -b, php -S, a PORT= "
                      "variable, uvicorn --port...); absent when no such command was pasted",
                      example="gunicorn -b 127.0.0.1:8001 wsgi:app", verbatim=True),
    "relisten_note": Field("str", "what `relisten` is, for a fix's why (starts with a space); "
                           "absent with `relisten`",
                           example=" (your pasted command, on the next port)"),
    "error_words": Field("str", "the error kind in words, for a sentence",
                         example="connection refused"),
    "db_user": Field("str", "the account a database server refused, from its words "
                     "(password authentication failed for user \"app\", Access denied for "
                     "user 'root'@...)", example="app"),
    "db_client_host": Field("str", "the client's host as a MySQL/MariaDB server saw it, from "
                            "its 1130 refusal (Host '127.0.0.2' is not allowed to connect)",
                            example="127.0.0.2"),
    "origin": Field("str", "the page's origin a browser names in a CORS refusal (from origin "
                    "'http://localhost:5173')", example="http://localhost:5173"),
    "db_login": Field("str", "a pasted psql command's own -U and -d (its role and database), "
                      "shell-quoted with a leading space, to keep in a printed psql command; "
                      "absent when it named neither", example=" -U app -d appdb",
                      verbatim=True),
    "text": Field("str", "the pasted text itself, credentials redacted (its first and last "
                  "2,000 characters when longer): match your own error messages in it",
                  example="channel 2: open failed: connect failed: Connection refused",
                  ops=("contains", "icontains", "startswith", "endswith", "matches", "exists")),
}, lambda f: f"symptom {f.get('error') or 'unspecified'} from "
             f"{f.get('client') or 'unknown client'}")

ANSWER = FactType("answer", "The user's answer to a question a rule asked.", {
    "id": Field("str", "the question id", example="client_location"),
    "value": Field("str", "the answer (absent when the user skipped the question)"),
    "skipped": Field("bool", "the user chose not to answer"),
}, lambda f: f"answer {f.get('id')}="
             + ("(skipped)" if f.get("skipped") else str(f.get("value"))))

SIGNAL = FactType("signal", "Wording in the text that names a layer or a cause, one fact each.", {
    "name": Field("str", "which wording",
                  (*(name for name, _ in SIGNALS), *COMMAND_SIGNALS)),
}, lambda f: f"the text says {f.get('name')}")

CHECKED = FactType("checked", "Asserted after each check, after its facts.", {
    "name": Field("str", "the check's name", example="listeners"),
    "status": Field("str", "whether the check could tell", ("ok", "unknown")),
    "reason": Field("str", "why it could not tell"),
}, lambda f: f"checked {f.get('name')}: {f.get('status')}")

NOTE = FactType("note", "A derived fact a rule asserts (`assert` steps).", {
    "name": Field("str", "what the note says", example="dual_stack_ok"),
    "value": Field("str", "a value"),
    "port": Field("int", "a port"),
    "address": Field("str", "an address"),
    "pid": Field("int", "a process id"),
})

CHECKUP = FactType("checkup", "`assistant doctor`: asserted alone, with no target and no "
                   "symptom. A rule on it needs no target: a checkup rule.", {
    "os": Field("str", "this machine's system", ("linux", "macos", "windows", "other")),
    "root": Field("bool", "the checkup runs as root (or as administrator)"),
}, lambda f: f"checkup on {f.get('os')}" + (" as root" if f.get("root") else ""))

ASSERTED: tuple[FactType, ...] = (TARGET, SYMPTOM, SIGNAL, ANSWER, CHECKED, NOTE, CHECKUP)
