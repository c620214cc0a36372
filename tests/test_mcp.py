"""`assistant mcp`, driven as an agent drives it: the SDK's own stdio client
starts the installed console script, initializes, lists the tools and calls
them against real listeners on loopback."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import anyio
import jsonschema
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.types import CallToolResult, LoggingMessageNotificationParams

from assistant.render.contract import report_schema
from tests.support import console_script, free_port_without_neighbours, run_cli

ROOT = Path(__file__).resolve().parent.parent
T = TypeVar("T")
SECRET = "Sup3rS3cret"


def env_for(tmp: Path) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp / "home"),
            "XDG_DATA_HOME": str(tmp / "data"), "XDG_CONFIG_HOME": str(tmp / "config"),
            "ASSISTANT_CACHE_DIR": str(tmp / "cache")}


def with_client(tmp: Path, fn: Callable[[Client], Awaitable[T]], *args: str,
                cwd: Path | None = None, mode: str = "legacy", logs: list[str] | None = None
                ) -> tuple[T, str]:
    """Start `assistant mcp ARGS` as an agent client does and run `fn` with the
    connected client; returns its result and what the server wrote to stderr."""
    log = tmp / "server.log"

    async def on_log(params: LoggingMessageNotificationParams) -> None:
        if logs is not None:
            logs.append(f"{params.level}: {params.data}")

    async def main() -> T:
        params = StdioServerParameters(command=str(console_script()), args=["mcp", *args],
                                       env=env_for(tmp), cwd=cwd or tmp)
        with log.open("w") as errlog:
            async with Client(stdio_client(params, errlog=errlog), mode=mode,
                              read_timeout_seconds=60, logging_callback=on_log) as client:
                return await fn(client)

    out = anyio.run(main)
    return out, log.read_text()


def text_of(result: CallToolResult) -> str:
    return "".join(getattr(block, "text", "") for block in result.content)


def refused_text(port: int) -> str:
    """What curl prints for a refused connection (the real client when there is one)."""
    if shutil.which("curl"):
        err = subprocess.run(["curl", "-sS", "--max-time", "5", f"http://127.0.0.1:{port}/"],
                             capture_output=True, text=True, timeout=10).stderr
        assert f"Failed to connect to 127.0.0.1 port {port}" in err, err
        return err
    return f"curl: (7) Failed to connect to 127.0.0.1 port {port} after 0 ms: Couldn't connect to server"


def test_initialize_and_list_tools(tmp_path: Path) -> None:
    async def run(client: Client) -> Any:
        return client.server_info, client.instructions, (await client.list_tools()).tools

    (info, instructions, tools), log = with_client(tmp_path, run)
    assert info is not None and info.name == "assistant"
    assert instructions is not None and "diagnose" in instructions
    by_name = {t.name: t for t in tools}
    assert sorted(by_name) == ["ask_kb", "diagnose", "list_rules"]
    diagnose = by_name["diagnose"]
    assert diagnose.input_schema["required"] == ["text"]
    props = diagnose.input_schema["properties"]
    assert props["text"]["type"] == "string" and props["text"]["description"]
    assert {"type": "object", "additionalProperties": {"anyOf": [{"type": "string"},
                                                                  {"type": "integer"}]}} \
        in props["answers"]["anyOf"]
    assert {"type": "number", "exclusiveMinimum": 0, "maximum": 30.0} in props["timeout"]["anyOf"]
    assert diagnose.output_schema == report_schema()
    assert by_name["ask_kb"].input_schema["required"] == ["question"]
    assert by_name["list_rules"].input_schema.get("required", []) == []
    for tool in tools:
        assert tool.description and len(tool.description) > 200, tool.name
        assert tool.output_schema is not None and tool.output_schema["type"] == "object"
        assert tool.annotations is not None and tool.annotations.read_only_hint is True
        assert tool.annotations.open_world_hint is False
    assert "Traceback" not in log


def test_diagnose_absent_then_present_listener_with_progress(tmp_path: Path, server: Any) -> None:
    port = free_port_without_neighbours()
    text = refused_text(port)
    progress: list[tuple[float, str | None]] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append((done, message))

    async def run(client: Client) -> tuple[CallToolResult, Any, CallToolResult]:
        absent = await client.call_tool("diagnose", {"text": text}, progress_callback=on_progress)
        cli = run_cli("--ask", text, "--json", environ=env_for(tmp_path)).json
        server(port=port)
        present = await client.call_tool("diagnose", {"text": text})
        return absent, cli, present

    (absent, cli, present), log = with_client(tmp_path, run)
    assert not absent.is_error and not present.is_error
    report = absent.structured_content
    assert report is not None
    assert json.loads(text_of(absent)) == report  # the JSON text is the structured content
    assert report["kind"] == "diagnosis" and report["schema"] == 1
    assert report["target"] == {"host": "127.0.0.1", "port": port, "scheme": None,
                                "error": "refused", "client": "curl"}
    assert report["diagnoses"][0]["rule"] == "port.nothing_listening"
    assert report["diagnoses"][0]["category"] == "nothing-listening"
    # The same report as --ask --json (timings and pids aside).
    assert [d["rule"] for d in cli["diagnoses"]] == [d["rule"] for d in report["diagnoses"]]
    assert (cli["kind"], cli["input"], cli["target"]) == (report["kind"], report["input"],
                                                          report["target"])
    # Progress: each check announced and finished, numbered in order.
    assert [d for d, _ in progress] == list(range(1, len(progress) + 1))
    messages = [m for _, m in progress]
    assert "checking listeners" in messages
    assert any(m is not None and m.startswith("listeners: ok in ") for m in messages)

    live = present.structured_content
    assert live is not None and live["diagnoses"][0]["rule"] == "port.accepts_now"
    assert live["diagnoses"][0]["category"] == "reachable"
    assert "Traceback" not in log


def test_needs_input_then_answers_complete_it(tmp_path: Path) -> None:
    port = free_port_without_neighbours()

    async def run(client: Client) -> tuple[Any, Any]:
        first = await client.call_tool("diagnose", {"text": "connection refused"})
        second = await client.call_tool("diagnose", {"text": "connection refused", "timeout": 0.5,
                                                     "answers": {"host": "127.0.0.1", "port": port}})
        return first.structured_content, second.structured_content

    (first, second), _ = with_client(tmp_path, run)
    assert first["kind"] == "needs-input"
    assert [q["id"] for q in first["questions"]] == ["host", "port"]
    assert second["kind"] == "diagnosis" and second["target"]["port"] == port
    assert second["diagnoses"][0]["rule"] == "port.nothing_listening"


def test_ask_kb(tmp_path: Path) -> None:
    async def run(client: Client) -> tuple[Any, Any]:
        hit = await client.call_tool("ask_kb", {
            "question": "what is the difference between localhost and 127.0.0.1?"})
        miss = await client.call_tool("ask_kb", {"question": "how do I bake sourdough bread"})
        return hit.structured_content, miss.structured_content

    (hit, miss), _ = with_client(tmp_path, run)
    assert hit["confident"] is True
    first = hit["answers"][0]
    assert first["kb"] == "localhost-vs-127-0-0-1" and first["score"] >= 0.3
    assert first["question"] and first["answer"] and first["commands"]
    assert miss == {"answers": [], "confident": False}


def test_bad_input_is_a_tool_error_and_the_next_call_is_served(tmp_path: Path) -> None:
    port = free_port_without_neighbours()
    bad: list[tuple[str, dict[str, Any], str]] = [
        ("diagnose", {"text": ""}, "text is empty"),
        ("diagnose", {"text": "   \n\t"}, "text is empty"),
        ("diagnose", {"text": "x" * 2_000_000}, "give at most 262144"),
        ("diagnose", {"text": 42}, "valid string"),
        ("diagnose", {}, "Field required"),
        ("diagnose", {"text": "localhost:0 refused"}, "port 0"),
        ("diagnose", {"text": "refused", "answers": {"port": "abc"}}, "not a port"),
        ("diagnose", {"text": "refused", "answers": {"topic": "no-such-entry"}}, "no-such-entry"),
        ("diagnose", {"text": "refused", "timeout": 0}, "greater than 0"),
        ("diagnose", {"text": "refused", "timeout": 31}, "less than or equal to 30"),
        ("diagnose", {"text": "refused", "answers": {str(i): "x" for i in range(40)}}, "at most 32"),
        ("ask_kb", {"question": ""}, "question is empty"),
        ("ask_kb", {"question": "why " * 1000}, "give at most 2000"),
        ("no_such_tool", {}, "no_such_tool"),
    ]

    async def run(client: Client) -> tuple[list[CallToolResult], CallToolResult, CallToolResult]:
        results = [await client.call_tool(name, args) for name, args, _ in bad]
        hostile = await client.call_tool("diagnose", {
            "text": f"\x1b]0;evil\x07\x1b[2J\x00 connect ECONNREFUSED 127.0.0.1:{port}\x9b"})
        good = await client.call_tool("diagnose", {"text": f"cannot connect to 127.0.0.1:{port}"})
        return results, hostile, good

    (results, hostile, good), log = with_client(tmp_path, run)
    for (name, args, message), got in zip(bad, results, strict=True):
        assert got.is_error, (name, str(args)[:80])
        assert message in text_of(got), (message, text_of(got)[:300])
    # Control characters are removed, not fatal.
    assert not hostile.is_error and hostile.structured_content is not None
    assert hostile.structured_content["diagnoses"][0]["rule"] == "port.nothing_listening"
    for ch in ("\x1b", "\x07", "\x00", "\x9b"):
        assert ch not in text_of(hostile)
    assert not good.is_error and good.structured_content is not None
    assert good.structured_content["diagnoses"][0]["rule"] == "port.nothing_listening"
    assert "Traceback" not in log


def test_a_password_never_comes_back(tmp_path: Path) -> None:
    port = free_port_without_neighbours()
    url = f"postgresql://admin:{SECRET}@127.0.0.1:{port}/app"

    async def run(client: Client) -> list[CallToolResult]:
        return [
            await client.call_tool("diagnose", {"text": f"psql '{url}' failed: connection refused"}),
            await client.call_tool("diagnose", {"text": f"{url} PGPASSWORD={SECRET}"}),
            # In the wrong place or of the wrong type: the error must not quote it either.
            await client.call_tool("diagnose", {"text": "refused", "answers": {"port": url}}),
            await client.call_tool("diagnose", {"text": "refused", "answers": {"host": [url]}}),
            await client.call_tool("diagnose", {"text": [url]}),
            await client.call_tool("ask_kb", {"question": f"why does {url} fail?"}),
        ]

    results, log = with_client(tmp_path, run)
    assert [r.is_error for r in results] == [False, False, True, True, True, False]
    assert results[0].structured_content is not None
    assert results[0].structured_content["diagnoses"][0]["rule"] == "port.nothing_listening"
    for r in results:
        everything = text_of(r) + json.dumps(r.structured_content)
        assert SECRET not in everything and "admin:" not in everything
    assert SECRET not in log


def test_project_rules_only_when_trusted_and_again_after_a_change(tmp_path: Path) -> None:
    rules = tmp_path / "project" / ".assistant" / "rules.d"
    rules.mkdir(parents=True)
    team = rules / "team.yaml"
    team.write_text("format: 1\noverrides:\n  - id: port.nothing_listening\n    enabled: false\n"
                    "    reason: our services start on first connect\n")
    port = free_port_without_neighbours()
    ask = {"text": f"cannot connect to 127.0.0.1:{port}"}
    cwd = tmp_path / "project"

    def rules_fired(r: CallToolResult) -> list[str]:
        assert r.structured_content is not None, text_of(r)
        return [d["rule"] for d in r.structured_content["diagnoses"]]

    async def run(client: Client) -> list[Any]:
        out: list[Any] = [rules_fired(await client.call_tool("diagnose", ask)),
                          (await client.call_tool("list_rules", {})).structured_content]
        trusted = run_cli("rules", "trust", environ=env_for(tmp_path), cwd=cwd)
        assert trusted.code == 0, trusted.err
        out.append(rules_fired(await client.call_tool("diagnose", ask)))
        out.append((await client.call_tool("list_rules", {})).structured_content)
        team.write_text(team.read_text() + "# edited\n")
        out.append(rules_fired(await client.call_tool("diagnose", ask)))
        return out

    logs: list[str] = []
    (untrusted, listed, trusted, listed_trusted, changed), _ = with_client(tmp_path, run, cwd=cwd,
                                                                           logs=logs)
    assert "port.nothing_listening" in untrusted
    assert "not trusted" in listed["skipped"][0]
    assert "project" not in [d["origin"] for d in listed["directories"]]
    assert "port.nothing_listening" not in trusted
    assert listed_trusted["skipped"] == []
    assert {"path": str(rules), "origin": "project"} in listed_trusted["directories"]
    assert "port.nothing_listening" not in [r["id"] for r in listed_trusted["rules"]]
    assert "port.nothing_listening" in changed
    # Told once each, as a log message (the CLI's note on stderr).
    assert len(logs) == 2, logs
    assert logs[0].startswith("warning: ") and "not trusted, so not used" in logs[0]
    assert "changed since it was trusted" in logs[1]


def test_list_rules_names_origins_and_a_hostile_rule_file_runs_nothing(tmp_path: Path) -> None:
    team = tmp_path / "team"
    team.mkdir()
    pwned = tmp_path / "pwned"
    (team / "evil.yaml").write_text(f"!!python/object/apply:os.system ['touch {pwned}']\n")

    async def run(client: Client) -> list[CallToolResult]:
        return [await client.call_tool("list_rules", {}),
                await client.call_tool("diagnose", {"text": "cannot connect to 127.0.0.1:1"}),
                await client.call_tool("ask_kb", {"question": "what is a loopback address?"})]

    (listing, diagnosis, answer), log = with_client(tmp_path, run, "--rules", str(team))
    assert listing.is_error and diagnosis.is_error and "evil.yaml" in text_of(diagnosis)
    assert not answer.is_error  # the knowledge base does not need the rules
    assert not pwned.exists() and "Traceback" not in log

    (team / "evil.yaml").unlink()
    shutil.copy(ROOT / "examples" / "team-payments" / "rules.d" / "payments.yaml", team)

    async def listing_only(client: Client) -> Any:
        return (await client.call_tool("list_rules", {})).structured_content

    listed, _ = with_client(tmp_path, listing_only, "--rules", str(team))
    origins = {r["id"]: (r["origin"], r["source"]) for r in listed["rules"]}
    assert origins["port.nothing_listening"][0] == "built-in"
    assert origins["payments.db_down"][0] == "cli"
    assert origins["payments.db_down"][1].startswith(str(team / "payments.yaml") + ":")
    assert listed["directories"][-1] == {"path": str(team), "origin": "cli"}
    assert "team-db" in [s["name"] for s in listed["services"]]


def test_concurrent_calls_and_the_modern_handshake(tmp_path: Path) -> None:
    ports = [free_port_without_neighbours() for _ in range(3)]

    async def run(client: Client) -> list[Any]:
        got: list[Any] = [None] * len(ports)

        async def one(i: int) -> None:
            r = await client.call_tool("diagnose", {"text": f"cannot connect to 127.0.0.1:{ports[i]}"})
            got[i] = r.structured_content

        async with anyio.create_task_group() as tg:
            for i in range(len(ports)):
                tg.start_soon(one, i)
        return got

    reports, log = with_client(tmp_path, run, mode="auto")
    assert [r["target"]["port"] for r in reports] == ports
    assert all(r["diagnoses"][0]["rule"] == "port.nothing_listening" for r in reports)
    assert "Traceback" not in log


def test_without_the_extra_it_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "mcp", None)  # as if not installed: find_spec gives None
    r = run_cli("mcp")
    assert r.code == 2
    assert r.err == ("assistant: `assistant mcp` needs the MCP SDK, an optional extra: "
                     "pip install 'local-connection-assistant[mcp]'\n")


def test_bad_command_line_is_a_usage_error() -> None:
    r = run_cli("mcp", "--timeout", "0")
    assert r.code == 2 and "--timeout must be between 0 and 30 seconds" in r.err
    r = run_cli("mcp", "--rules", "/nonexistent/dir")
    assert r.code == 2 and "rule directory /nonexistent/dir does not exist" in r.err


@pytest.mark.parametrize("argv", [
    ["--ask", "cannot connect to 127.0.0.1:1", "--json"],
    ["--ask", "what is the difference between localhost and 127.0.0.1?", "--json"],
    ["--ask", "connection refused", "--json"],
    ["--ask", "curl: (7) Failed to connect to localhost port 99999", "--json"],
    ["--ask", "psql: error: connection to server on socket \"/tmp/nowhere/.s.PGSQL.5432\" failed: "
     "No such file or directory", "--json"],
])
def test_reports_and_golden_files_match_the_contract_schema(argv: list[str]) -> None:
    validator = jsonschema.Draft202012Validator(report_schema())
    validator.check_schema(report_schema())
    errors = list(validator.iter_errors(run_cli(*argv).json))
    assert not errors, [e.message for e in errors][:3]
    for golden in sorted((ROOT / "tests" / "golden").glob("*.json")):
        errors = list(validator.iter_errors(json.loads(golden.read_text())))
        assert not errors, (golden.name, [e.message for e in errors][:3])


def test_readme_registers_the_command_that_is_tested() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Use from coding agents (MCP)\n", 1)[1].split("\n## ", 1)[0]
    snippet = json.loads(section.split("```json\n", 1)[1].split("```", 1)[0])
    assert snippet == {"mcpServers": {"assistant": {"command": "assistant", "args": ["mcp"]}}}
    for tool in ("diagnose", "ask_kb", "list_rules"):
        assert f"| `{tool}` |" in section


def test_tools_remake_the_session_after_an_edit_or_a_failure(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """The logic without the SDK: a long-lived server sees rule edits, and a
    call that fails unexpectedly leaves no half-used Session behind."""
    from assistant.cli.mcp import Tools
    from assistant.session import Session

    team = tmp_path / "team"
    team.mkdir()
    tools = Tools(env_for(tmp_path), tmp_path, [team])
    before = tools.session()
    assert tools.session() is before
    assert "payments.db_down" not in [r["id"] for r in tools.list_rules()["rules"]]
    shutil.copy(ROOT / "examples" / "team-payments" / "rules.d" / "payments.yaml", team)
    assert "payments.db_down" in [r["id"] for r in tools.list_rules()["rules"]]
    assert tools.session() is not before

    def broken(self: Session, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("engine trouble")

    current = tools.session()
    monkeypatch.setattr(Session, "ask", broken)
    with pytest.raises(RuntimeError):
        tools.diagnose("cannot connect to 127.0.0.1:1")
    monkeypatch.undo()
    assert tools.session() is not current
    port = free_port_without_neighbours()
    report = tools.diagnose(f"cannot connect to 127.0.0.1:{port}", timeout=0.5)
    assert report.diagnoses[0].rule == "port.nothing_listening"


def test_on_a_terminal_it_says_what_it_is_and_ctrl_d_stops_it(tmp_path: Path) -> None:
    pexpect = pytest.importorskip("pexpect")
    child = pexpect.spawn(str(console_script()), ["mcp"], env=env_for(tmp_path), timeout=30,
                          encoding="utf-8")
    child.expect("assistant: note: serving MCP on stdin/stdout")
    child.sendeof()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
