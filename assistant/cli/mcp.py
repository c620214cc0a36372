"""`assistant mcp`: the assistant as tools for coding agents, served over the
Model Context Protocol on stdio.

Agents start servers and meet "connection refused" all day, and cannot
drive a chat. Three tools: `diagnose` (the `--ask --json` report), `ask_kb`
and `list_rules`. `Tools` is their logic, thin functions over one Session,
free of the SDK; `serve()` builds the server with the official SDK (`mcp`
2.x, the optional extra), imported only when this command runs: it takes
about half a second to import, which `--ask` must never pay.

No `from __future__ import annotations` in this module: the SDK reads the
tool functions' annotations when they are registered (parameter schemas,
the Context parameter), and those name SDK types imported inside serve().
"""

import argparse
import contextlib
import json
import os
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from assistant import __version__
from assistant.cli.env import Env
from assistant.errors import EXIT_OK, InputError, UserError
from assistant.understand.redact import clean

if TYPE_CHECKING:
    from assistant.cli.main import Parser
    from assistant.facts.base import CheckResult
    from assistant.report import Report
    from assistant.session import Session

EXTRA = "pip install 'local-connection-assistant[mcp]'"
MAX_TEXT = 256 * 1024  # as the parser's bound: an error message and the lines around it
MAX_QUESTION = 2000
MAX_ANSWERS = 32
MAX_ANSWER = 2000
MAX_TIMEOUT = 30.0
KB_LIMIT = 4
T = TypeVar("T")

INSTRUCTIONS = """\
Finds out why a connection to a local server fails, from the live machine: nothing \
listening, the IPv4/IPv6 localhost mix-up, a wrong bind address, a port held by \
another process, a typo in the port, a proxy variable, a firewall rule. Call \
`diagnose` with the exact error text (and the command that printed it) whenever \
a client fails to connect to localhost, 127.0.0.1, ::1, a local port or a UNIX \
socket, or a server fails to bind. It only looks at this machine (loopback and \
local sockets), never changes anything, and redacts credentials."""

DIAGNOSE_DOC = """\
Diagnose a failing local connection from its error text: the same report as \
`assistant --ask TEXT --json` (schema 1). Pass the error exactly as printed, \
ideally with the command (e.g. "curl: (7) Failed to connect to localhost port 3000", \
"connect ECONNREFUSED ::1:5432", "listen EADDRINUSE :::8080"). Read `kind`: \
"diagnosis" lists `diagnoses` ranked most likely first, each with a `category`, \
`summary`, `evidence`, the `processes` involved and `fix` commands per OS; \
"needs-input" lists `questions` - call again with the same text and \
answers={question id: value} (e.g. {"port": "5432", "host": "localhost"}); \
"answer" is a knowledge-base answer. `findings` are the checks run on the live \
machine. Read-only: it connects only to this machine's loopback addresses."""

ASK_KB_DOC = """\
Answer a general question about local networking from the knowledge base \
(e.g. "what is the difference between localhost and 127.0.0.1?", "how do I find \
which process uses a port?"). Returns entries best first, each with a confidence \
`score` (0..1) and commands per OS. `confident` true: the first answers it (others \
scoring 0.3 or more are related); false: up to four guesses, pick the one that \
fits or rephrase. An empty list: nothing matches. For a failing connection, use \
`diagnose` instead."""

LIST_RULES_DOC = """\
The rules `diagnose` uses, each with where it comes from (built-in, system, \
user, project, env or cli), its file and line, category and priority; the \
rule directories searched in order (later ones override earlier ones); the \
services teams declared; and project rule directories that were skipped \
because they are not trusted (`assistant rules trust`) or changed since."""


def add_parser(sub: "argparse._SubParsersAction[Parser]") -> None:
    p = sub.add_parser("mcp", help="serve the assistant to coding agents (MCP on stdio)",
                       description=f"Serve diagnose, ask_kb and list_rules over the Model "
                       f"Context Protocol on stdin/stdout. Needs the extra: {EXTRA}")
    p.add_argument("--rules", action="append", default=[], metavar="DIR", dest="mcp_rules",
                   help="extra rule directory (repeatable)")
    p.add_argument("--timeout", type=float, default=None, metavar="SECONDS", dest="mcp_timeout",
                   help="default bound for each connect probe (default 1.5)")


def _sdk_missing() -> str | None:
    """Why the SDK cannot serve, or None. Cheap: finds, does not import."""
    from importlib.util import find_spec

    if find_spec("mcp") is None:
        return f"`assistant mcp` needs the MCP SDK, an optional extra: {EXTRA}"
    if find_spec("mcp.server.mcpserver") is None:
        return f"`assistant mcp` needs version 2 of the MCP SDK: {EXTRA}"
    return None


def run(args: argparse.Namespace, env: Env) -> int:
    missing = _sdk_missing()
    if missing:
        raise UserError(missing)
    timeout = args.mcp_timeout if args.mcp_timeout is not None else args.timeout
    if not 0 < timeout <= MAX_TIMEOUT:
        raise UserError(f"--timeout must be between 0 and {MAX_TIMEOUT:g} seconds")
    rule_dirs = [Path(d) for d in args.rules + args.mcp_rules]
    extra = env.environ.get("ASSISTANT_RULES_PATH", "")
    for d in [Path(d) for d in extra.split(os.pathsep) if d] + rule_dirs:
        if not d.is_dir():
            raise UserError(f"rule directory {d} does not exist")
    if env.is_tty(env.stdin):
        env.note("serving MCP on stdin/stdout for an agent's client (README: Use from coding "
                 "agents); Ctrl-D stops")
    tools = Tools(env.environ, env.cwd, rule_dirs, timeout)
    # Rules, engine and knowledge base load while the SDK imports and the
    # client starts and shakes hands: the first call finds them ready.
    threading.Thread(target=tools.warm, daemon=True).start()
    serve(tools)
    return EXIT_OK


class Tools:
    """The tools' logic over one Session, without the SDK.

    A server lives as long as the agent's session, so the Session is made
    again when a rule or KB file, or the trust in a project's rules, changed
    since: edits and `assistant rules trust`/`untrust` apply to the next
    call. Calls are serialised (one Session, one engine), and a call that
    fails unexpectedly drops the Session, so the next one starts clean.
    """

    def __init__(self, environ: Mapping[str, str], cwd: Path, rule_dirs: list[Path],
                 timeout: float = 1.5):
        self.environ, self.cwd, self.rule_dirs, self.timeout = dict(environ), cwd, rule_dirs, timeout
        self._session: Session | None = None
        self._key: tuple[object, ...] = ()
        self._lock = threading.Lock()
        self._told: set[str] = set()

    def untold(self) -> list[str]:
        """Warnings about the rule search path (an untrusted project directory)
        not yet passed on to the client."""
        news = [w for w in dict.fromkeys(self._session.warnings if self._session else [])
                if w not in self._told]
        self._told.update(news)
        return news

    def _fingerprint(self) -> tuple[object, ...]:
        from assistant.engine.sources import files_of, search_path
        from assistant.knowledge.entries import directories, entry_files

        found = search_path(self.environ, self.cwd, self.rule_dirs)
        files = files_of(found) + entry_files(directories(self.environ))
        return (*found.skipped, *((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in files))

    def session(self) -> "Session":
        from assistant.session import Options, Session

        key = self._fingerprint()
        if self._session is None or key != self._key:
            self._session = Session(Options(env=self.environ, rule_dirs=self.rule_dirs,
                                            cwd=self.cwd, probe_timeout=self.timeout))
            self._key = key
        return self._session

    def _call(self, fn: "Callable[[Session], T]") -> T:
        with self._lock:
            try:
                return fn(self.session())
            except UserError:
                raise
            except Exception:
                self._session = None
                raise

    def warm(self) -> None:
        """Load the rules, the engine and the knowledge base before the first call."""
        # A problem here (an invalid rule file, say) is reported by the first call.
        with contextlib.suppress(Exception):
            self._call(lambda s: (s.compiled(), s.kb()))

    def diagnose(self, text: str, answers: Mapping[str, "str | int"] | None = None,
                 timeout: float | None = None,
                 progress: Callable[[str], None] | None = None) -> "Report":
        text = _bounded(text, MAX_TEXT, "text")
        given = _answers(answers or {})
        if timeout is not None and not 0 < timeout <= MAX_TIMEOUT:
            raise InputError(f"timeout must be between 0 and {MAX_TIMEOUT:g} seconds")

        def report(name: str, result: "CheckResult | None") -> None:
            if progress is not None:
                progress(f"checking {name}" if result is None else
                         f"{name}: {result.status} in {result.ms:.0f} ms")

        def ask(session: "Session") -> "Report":
            session.options.probe_timeout = timeout or self.timeout
            return session.ask(text, given, report)

        return self._call(ask)

    def ask_kb(self, question: str) -> dict[str, Any]:
        """As the chat answers: the best entry and those close to it when it is
        confident; up to four guesses when it is not; nothing under the floor."""
        from assistant.session import ALSO_THRESHOLD, ANSWER_THRESHOLD, DID_YOU_MEAN

        question = _bounded(question, MAX_QUESTION, "question")
        hits = self._call(lambda s: s.kb().search(question, limit=KB_LIMIT))
        confident = bool(hits) and hits[0][1] >= ANSWER_THRESHOLD
        if confident:
            hits = [(e, score) for i, (e, score) in enumerate(hits[:3])
                    if i == 0 or score >= ALSO_THRESHOLD]
        else:
            hits = [(e, score) for e, score in hits[:4] if score >= DID_YOU_MEAN]
        return {"answers": [{"kb": e.id, "question": e.question, "answer": e.answer,
                             "score": round(score, 3), "commands": [c.to_json() for c in e.commands],
                             "related": e.related} for e, score in hits],
                "confident": confident}

    def list_rules(self) -> dict[str, Any]:
        from assistant.cli.rules import origin_of
        from assistant.engine.sources import search_path

        ruleset = self._call(lambda s: s.ruleset())
        found = search_path(self.environ, self.cwd, self.rule_dirs)
        return {
            "rules": [{"id": r.id, "title": r.title, "category": r.category,
                       "severity": r.severity, "priority": r.priority,
                       "origin": origin_of(r.source, found.dirs), "source": r.source,
                       "changed_by": r.changed_by} for r in ruleset.rules if r.enabled],
            "directories": [{"path": str(d.path), "origin": d.origin} for d in found.dirs],
            "skipped": found.skipped,
            "services": [dict(s) for s in ruleset.services],
        }


def _bounded(text: str, limit: int, name: str) -> str:
    """Text a tool accepts: not blank, not huge (the bound is checked before
    any work, so a megabyte costs nothing)."""
    if len(text) > limit:
        raise InputError(f"{name} is {len(text)} characters; give at most {limit} (the error "
                         "message and a few lines around it)")
    if not text.strip():
        raise InputError(f"{name} is empty: paste the error message, e.g. "
                         "\"curl: (7) Failed to connect to 127.0.0.1 port 3000\"")
    return text


def _answers(answers: Mapping[str, "str | int"]) -> dict[str, str]:
    if len(answers) > MAX_ANSWERS:
        raise InputError(f"{len(answers)} answers; give at most {MAX_ANSWERS}")
    out = {}
    for key, value in answers.items():
        text = str(value)
        if not key.strip() or len(key) > 64 or len(text) > MAX_ANSWER:
            raise InputError(f"answers: {clean(key[:64])!r} is not a question id with an answer "
                             f"of at most {MAX_ANSWER} characters")
        out[key.strip()] = text
    return out


def _schema(props: dict[str, Any], doc: str) -> dict[str, Any]:
    return {"type": "object", "description": doc, "properties": props, "required": list(props)}


_COMMANDS = {"type": "array", "items": _schema(
    {"os": {"enum": ["linux", "macos", "windows", "any"]}, "command": {"type": "string"},
     "why": {"type": "string"}}, "A command on one OS, and why.")}
ASK_KB_SCHEMA = _schema({
    "answers": {"type": "array", "items": _schema({
        "kb": {"type": "string"}, "question": {"type": "string"}, "answer": {"type": "string"},
        "score": {"type": "number"}, "commands": _COMMANDS,
        "related": {"type": "array", "items": {"type": "string"}}},
        "A knowledge-base entry: id, the question it answers, the answer, confidence 0..1.")},
    "confident": {"type": "boolean", "description": "the first answer scores 0.3 or more; "
                  "false: the answers are guesses"},
}, "Knowledge-base answers, best first.")
_STRS = {"type": "array", "items": {"type": "string"}}
LIST_RULES_SCHEMA = _schema({
    "rules": {"type": "array", "items": _schema({
        "id": {"type": "string"}, "title": {"type": "string"},
        "category": {"type": ["string", "null"]}, "severity": {"type": "string"},
        "priority": {"type": "integer"}, "origin": {"type": "string"},
        "source": {"type": "string", "description": "file:line"}, "changed_by": _STRS},
        "A rule in effect, and where it comes from.")},
    "directories": {"type": "array", "items": _schema(
        {"path": {"type": "string"}, "origin": {"type": "string"}}, "A rule directory.")},
    "skipped": {**_STRS, "description": "project rule directories not used, and why"},
    "services": {"type": "array", "items": {"type": "object"}},
}, "The effective rules and their sources.")


def serve(tools: Tools) -> None:
    """Serve the tools on stdin/stdout until the client closes them."""
    from typing import Annotated

    from anyio import from_thread, to_thread
    from mcp.server import ServerRequestContext
    from mcp.server.context import CallNext
    from mcp.server.mcpserver import Context, MCPServer
    from mcp.server.mcpserver.exceptions import ToolError
    from mcp.server.mcpserver.tools import Tool
    from mcp.types import CallToolResult, TextContent, ToolAnnotations
    from pydantic import Field

    from assistant.render.contract import report_schema
    from assistant.render.jsondoc import render

    async def call(fn: "Callable[[], T]") -> T:
        try:
            return await to_thread.run_sync(fn)
        except UserError as exc:  # bad input or bad files: the agent's to read, not a crash
            raise ToolError(clean(str(exc))) from None

    def result(data: dict[str, Any], text: str | None = None) -> CallToolResult:
        return CallToolResult(content=[TextContent(type="text", text=text or json.dumps(
            data, indent=2, ensure_ascii=False))], structured_content=data)

    async def diagnose(
        ctx: Context,
        text: Annotated[str, Field(description="the error text as printed, with the command if "
                                   "known; or a description (\"cannot connect to localhost:3000\")")],
        answers: Annotated[dict[str, str | int] | None, Field(
            description="answers to the `questions` of an earlier needs-input report, by "
            "question id, e.g. {\"port\": \"5432\"}; call again with the same text")] = None,
        timeout: Annotated[float | None, Field(
            description="bound in seconds for each connect probe (default 1.5, at most 30)",
            gt=0, le=MAX_TIMEOUT)] = None,
    ) -> CallToolResult:
        done = 0

        def progress(message: str) -> None:
            nonlocal done
            done += 1
            # Best effort: a notification that cannot be sent must not fail the diagnosis.
            with contextlib.suppress(Exception):
                from_thread.run(ctx.report_progress, done, None, message)

        report = await call(lambda: tools.diagnose(text, answers, timeout, progress))
        for warning in tools.untold():  # as the CLI's notes on stderr: a log message
            await ctx.warning(warning)
        return result(report.to_json(), render(report))

    async def ask_kb(question: Annotated[str, Field(
            description="a question in plain words")]) -> CallToolResult:
        return result(await call(lambda: tools.ask_kb(question)))

    async def list_rules() -> CallToolResult:
        return result(await call(tools.list_rules))

    async def redact_errors(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> Any:
        # The SDK's argument errors quote the values given (pydantic's input_value):
        # a connection string passed in the wrong place must not come back.
        got = await call_next(ctx)
        if isinstance(got, CallToolResult) and got.is_error:  # today the SDK passes a dict
            got = got.model_dump(mode="json", by_alias=True, exclude_none=True)
        if ctx.method == "tools/call" and isinstance(got, dict) and got.get("isError"):
            for block in got.get("content", []):
                if isinstance(block, dict) and isinstance(block.get("text"), str):
                    block["text"] = clean(block["text"])
        return got

    local = ToolAnnotations(read_only_hint=True, open_world_hint=False)
    registered = []
    for fn, doc, schema, title in (
            (diagnose, DIAGNOSE_DOC, report_schema(), "Diagnose a failing local connection"),
            (ask_kb, ASK_KB_DOC, ASK_KB_SCHEMA, "Ask the local-networking knowledge base"),
            (list_rules, LIST_RULES_DOC, LIST_RULES_SCHEMA, "List the diagnosis rules")):
        tool = Tool.from_function(fn, title=title, description=doc, annotations=local)
        # The result is built here (the report's own JSON, exactly as --json prints
        # it), so the SDK publishes this schema and leaves the content alone.
        tool.fn_metadata.output_schema = schema
        registered.append(tool)
    MCPServer("assistant", title="Local connection troubleshooter", version=__version__,
              instructions=INSTRUCTIONS, tools=registered, middleware=[redact_errors]).run("stdio")
