"""The chat: its logic through Chat, prompt_toolkit through a pipe input, and
the real program in a pseudo-terminal."""

from __future__ import annotations

import io
import os
import stat
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from assistant.cli import Env
from assistant.conversation import Chat
from assistant.session import Options, Session
from tests.support import console_script, free_port_without_neighbours


def chat(tmp_path: Path | None = None) -> tuple[Chat, list[str]]:
    lines: list[str] = []
    env = {"PATH": os.environ.get("PATH", "")}
    if tmp_path is not None:
        env["ASSISTANT_CACHE_DIR"] = str(tmp_path / "cache")
    return Chat(Session(Options(env=env, probe_timeout=0.5)), lines.append), lines


def text(lines: list[str]) -> str:
    return "\n".join(lines)


def test_diagnosis_then_why_and_how(server: Any) -> None:
    s = server("::1")
    c, out = chat()
    c.handle(f"cannot connect to 127.0.0.1:{s.port}")
    shown = text(out)
    # each check as it runs, as the plain question it answers
    assert f"  … is anything listening on {s.port}?" in out
    assert f"  … does 127.0.0.1:{s.port} take a connection?" in out
    assert "checking listeners" not in shown
    assert "address-family-mismatch" in shown and "Diagnosis" in shown
    assert "address.family_mismatch" not in shown  # rule ids are for /how --trace
    out.clear()
    c.handle("/why")
    said = text(out)
    assert said.startswith("What I checked, and what led where:")
    assert f"Is anything listening on {s.port}? Listening: [::1]:{s.port}" in said
    assert "So: The server listens on ::1 (IPv6) only" in said
    assert "gather." not in said  # no engine trace
    assert out[-1].startswith("(Rule address.family_mismatch decided it; /how --trace shows")
    out.clear()
    c.handle("/how --trace")
    assert any(line.startswith("  → address.family_mismatch: ") for line in out)
    out.clear()
    c.handle("how do you know?")
    assert "So: The server listens on ::1 (IPv6) only" in text(out) and f"{s.pid}" in text(out)


def test_question_why_choices_and_answer_feed_the_next_round(server: Any) -> None:
    s = server("127.0.0.1")
    c, out = chat()
    c.handle(f"my app on 127.0.0.1:{s.port} says connection refused")
    assert c.pending is not None and c.pending.id == "client_location"
    assert out[-1].startswith("This machine accepts connections on that address. Where does")
    assert "[this machine / another machine / a container or VM, or skip]" in out[-1]
    assert "--answer" not in text(out) and "I need to know" not in text(out)
    out.clear()
    c.handle("why?")
    assert text(out).startswith("I'm asking because: Something here accepts connections")
    out.clear()
    c.handle("somewhere")  # not a choice: asked again, not guessed
    assert text(out).startswith("That is not one of the choices. Please answer this machine")
    assert c.pending is not None
    out.clear()
    c.handle("another")  # a unique prefix picks the choice
    assert "remote-loopback" in text(out) and c.pending is None


def test_skip_and_dont_know_are_always_allowed(server: Any) -> None:
    s = server("127.0.0.1")
    c, out = chat()
    c.handle(f"cannot connect to localhost:{s.port}, refused")
    assert c.pending is not None
    out.clear()
    c.handle("don't know")
    assert out[0] == "OK, I will go on without that: the checks decide alone."
    assert c.pending is None and "unknown" not in text(out)


def test_a_skipped_rule_question_is_recorded_as_skipped(server: Any) -> None:
    s = server("127.0.0.1")
    c, out = chat()
    c.handle(f"cannot connect to localhost:{s.port}, refused")
    assert c.pending is not None and c.pending.id == "client_location"
    c.handle("skip")
    assert c.skipped == {"client_location"} and "client_location" not in c.answers
    assert c.pending is None  # not asked again
    first, again = (ex.report for ex in c.history[-2:])
    assert "ask.client_location" in [t["rule"] for t in first.trace]
    # the skipped answer is a fact, so the rule that asks does not fire again,
    # and no rule reads a made-up value from it
    assert "ask.client_location" not in [t["rule"] for t in again.trace]
    assert [d.category for d in again.diagnoses] == [d.category for d in first.diagnoses]


def test_a_port_given_for_the_host_is_taken_as_the_port(tmp_path: Path, server: Any) -> None:
    """Field trial 11: "7796" typed at the host question became the host
    0.0.30.116 ("No cause found for 7796:7796")."""
    s = server("127.0.0.1")
    c, out = chat(tmp_path)
    c.handle("my web app won't load")
    assert c.pending is not None and c.pending.id == "host"
    out.clear()
    c.handle(str(s.port))
    assert out[0] == f"{s.port} is a port number, not a host: taken as the port."
    report = c.history[-1].report  # with a port and no host, this machine's addresses
    assert (report.target["host"], report.target["port"]) == ("localhost", s.port)
    assert "0.0.30" not in text(out) and (c.pending is None or c.pending.id != "host")


def test_a_skipped_host_means_the_usual_local_addresses(tmp_path: Path, server: Any) -> None:
    s = server("::1")
    c, out = chat(tmp_path)
    c.handle("my web app won't load")
    assert c.pending is not None and c.pending.id == "host"
    c.handle("skip")
    assert c.pending is not None and c.pending.id == "port"  # the host is not asked again
    out.clear()
    c.handle(str(s.port))
    report = c.history[-1].report
    assert report.target["host"] == "localhost"
    assert "does not resolve" not in text(out) and "'unknown'" not in text(out)
    probe = next(f for f in report.findings if f.check == "probe")
    assert {f["address"] for f in probe.data["facts"]} == {"127.0.0.1", "::1"}
    assert any("host skipped" in n for n in report.notes)


def test_the_port_question_offers_what_listens_and_a_skip_ends_it(tmp_path: Path,
                                                                   server: Any) -> None:
    s = server("127.0.0.1")
    c, out = chat(tmp_path)
    c.handle("the connection is refused")
    c.handle("127.0.0.1")
    assert c.pending is not None and c.pending.id == "port"
    assert str(s.port) in c.pending.choices and "Listening now" in c.pending.text
    assert f"{s.port} (python" in c.pending.text
    out.clear()
    c.handle("skip")  # no port: nothing to run, and it is not asked again
    assert out == ["OK. Without a port there is nothing I can check yet. When you know it, "
                   "tell me\n  the address (localhost:3000, say) or paste the error the client "
                   "printed."]
    assert c.pending is None and "port" in c.skipped


def test_missing_address_questions(tmp_path: Path) -> None:
    port = free_port_without_neighbours()
    c, out = chat(tmp_path)
    c.handle("the connection is refused")
    assert c.pending is not None and c.pending.id == "host"
    c.handle("127.0.0.1")
    assert c.pending is not None and c.pending.id == "port"
    out.clear()
    c.handle(str(port))
    assert "nothing-listening" in text(out)


def test_plain_question_and_did_you_mean(tmp_path: Path) -> None:
    c, out = chat(tmp_path)
    c.handle("what is the difference between localhost and 127.0.0.1?")
    assert "localhost-vs-127-0-0-1" in text(out)


def test_commands(tmp_path: Path, server: Any) -> None:
    s = server("127.0.0.2")
    c, out = chat(tmp_path)
    c.handle("/help")
    assert "/report" in text(out) and "/again" in text(out)
    out.clear()
    c.handle(f"curl http://user:hunter2@127.0.0.1:{s.port}/ refused")
    out.clear()
    c.handle("/facts")
    assert "listeners" in text(out) and " ms " in text(out)
    out.clear()
    c.handle("/rules")
    assert "port.nothing_listening" in text(out)
    out.clear()
    out.clear()
    c.handle("/again")
    assert out[0] == "  … checking again"
    assert out[1].startswith("The checks show the same as before. The server on port")
    assert "127.0.0.2" in out[1]
    report = tmp_path / "ticket.md"
    c.handle(f"/report {report}")
    body = report.read_text()
    assert "wrong-bind-address" in body and "hunter2" not in body
    assert stat.S_IMODE(report.stat().st_mode) == 0o600
    c.handle("/clear")
    assert c.history == []
    assert c.handle("/nope") is True and "Unknown command" in text(out)
    assert c.handle("/quit") is False


def run_pipe(keys: str, tmp_path: Path) -> tuple[int, str, Path]:
    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output import DummyOutput

    from assistant.cli import chat as repl

    out = io.StringIO()
    environ = {"PATH": os.environ.get("PATH", ""), "XDG_STATE_HOME": str(tmp_path / "state"),
               "HOME": str(tmp_path)}
    env = Env(stdout=out, stdin=io.StringIO(), environ=environ)
    with create_pipe_input() as pipe:
        pipe.send_text(keys)
        code = repl.run(Session(Options(env=environ, probe_timeout=0.5)), env, False,
                        pt_input=pipe, pt_output=DummyOutput())
    return code, out.getvalue(), tmp_path / "state" / "assistant" / "history"


def test_prompt_toolkit_session_paste_and_ctrl_c_ctrl_d(tmp_path: Path) -> None:
    port = free_port_without_neighbours()
    paste = (f"\x1b[200~Traceback (most recent call last):\nConnectionRefusedError: refused "
             f"postgres://app:S3cr3t@127.0.0.1:{port}/db\x1b[201~\r")
    keys = "half-typed then Ctrl-C\x03" + paste + "/why\r" + "\x04"
    code, shown, hist = run_pipe(keys, tmp_path)
    assert code == 0
    assert "nothing-listening" in shown and "port.nothing_listening" in shown
    assert "half-typed" not in shown  # Ctrl-C dropped that input
    saved = hist.read_text()
    assert "S3cr3t" not in saved and "***" in saved and "/why" in saved
    assert stat.S_IMODE(hist.stat().st_mode) == 0o600


def test_real_terminal(tmp_path: Path, server: Any) -> None:
    pexpect = pytest.importorskip("pexpect")
    s = server("::1")
    # pexpect does not answer cursor-position requests as a terminal does
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "TERM": "xterm",
           "NO_COLOR": "1", "XDG_STATE_HOME": str(tmp_path / "state"),
           "PROMPT_TOOLKIT_NO_CPR": "1"}
    child = pexpect.spawn(str(console_script()), env=env, encoding="utf-8", timeout=20,
                          dimensions=(40, 80))
    child.logfile_read = sys.stdout if os.environ.get("ASSISTANT_SHOW_PTY") else None
    prompt = r"\r?\n[^\n]{0,40}>"  # the prompt, whatever cursor moves follow it
    start = time.perf_counter()
    child.expect("Ctrl-D leaves")
    child.expect(prompt)
    first_prompt = time.perf_counter() - start
    child.sendline(f"cannot connect to 127.0.0.1:{s.port}")
    child.expect("Diagnosis")
    child.expect("address-family-mismatch")
    child.expect(prompt)
    child.sendline("/why")
    child.expect("So: The server listens on ::1")
    child.expect(prompt)
    child.sendcontrol("d")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert first_prompt < 5  # the figure itself is a benchmark (README)


def test_plain_word_follow_ups_against_a_real_server(tmp_path: Path) -> None:
    from tests.support import start_server

    port = free_port_without_neighbours()
    c, out = chat(tmp_path)
    c.platform = "linux"
    c.handle(f"curl: (7) Failed to connect to 127.0.0.1 port {port}: Connection refused")
    assert "nothing-listening" in text(out)
    assert "    For macOS and Windows: /fix all (or ask \"how do I do that on a mac?\")" in \
        text(out).splitlines()
    out.clear()
    c.handle("still failing")  # nothing changed
    assert out[0] == "  … checking again"
    assert out[1].startswith("The checks show the same as before. Nothing listens on port")
    s = start_server("127.0.0.1", port)
    try:
        out.clear()
        c.handle("try again")
        assert out[1].startswith(f"It works now: 127.0.0.1:{port} accepts connections (python")
        assert f"pid {s.pid})." in out[1].replace("\n  ", " ")
        out.clear()
        c.handle("what's using that port?")
        assert len(out) == 1 and out[0].startswith("python")
        assert out[0].endswith(f"(pid {s.pid}, user {_user()}) is listening on 127.0.0.1:{port}.")
        out.clear()
        c.handle("show me the process")
        assert out[0].startswith("python") and out[0].endswith(f", pid {s.pid}")
        assert f"  listening on: 127.0.0.1:{port}" in out and any(
            line.startswith("  command: ") and "-c" in line for line in out)
    finally:
        s.stop()
    out.clear()
    c.handle("it works now")  # the server is gone again: not confirmed
    assert out[1] == "Not quite: something changed, but it does not work yet." or \
        out[1].startswith("Not yet: the checks show the same as before.")


def test_how_do_i_fix_it_shows_the_last_diagnosis_fix(tmp_path: Path) -> None:
    """Field trial 8: "how do I make it run again?" after a diagnosis got a
    knowledge-base entry on killing processes, with another port."""
    port = free_port_without_neighbours()
    c, out = chat(tmp_path)
    c.platform = "linux"
    c.handle(f"cannot connect to 127.0.0.1:{port}")
    fixes = [line for line in text(out).splitlines() if line.startswith("    linux ")]
    assert fixes
    for said in ("how do I make it run again?", "how do I fix it?", "what should I do now?"):
        out.clear()
        c.handle(said)
        assert fixes[0] in text(out).splitlines(), (said, out)
        assert "free-a-port" not in text(out)


def test_why_did_that_happen_explains_the_last_answer(tmp_path: Path) -> None:
    """Field trial 9: "why did that happen?" and "what does stopped mean?"
    went to the knowledge base and came back as menus of unrelated topics."""
    port = free_port_without_neighbours()
    c, out = chat(tmp_path)
    c.handle(f"cannot connect to 127.0.0.1:{port}")
    for said in ("why did that happen?", "what does that mean?", "so why is it refused?"):
        out.clear()
        c.handle(said)
        assert text(out).startswith("What I checked"), (said, out)
    out.clear()
    c.handle("why is the sky blue?")  # not about the last answer: a question of its own
    assert not text(out).startswith("What I checked")


def test_commands_for_another_os_and_every_os(tmp_path: Path) -> None:
    port = free_port_without_neighbours()
    c, out = chat(tmp_path)
    c.platform = "linux"
    c.handle(f"cannot connect to 127.0.0.1:{port}")
    out.clear()
    c.handle("how do I do that on a mac?")
    assert out[0] == "On macOS:"
    shown = text(out)
    assert f"    macos    sudo lsof -nP -iTCP:{port} -sTCP:LISTEN" in shown and "linux " not in shown
    out.clear()
    c.handle("/fix all")
    shown = text(out)
    assert all(f"    {name} " in shown for name in ("linux", "macos", "windows", "any"))
    assert "/fix all" not in shown
    out.clear()
    c.handle("/fix beos")
    assert out == ["Say /fix, /fix all, or /fix linux, /fix macos, /fix windows."]


def test_watch_in_the_chat_ends_when_a_real_server_starts(tmp_path: Path, server: Any) -> None:
    port = free_port_without_neighbours()
    c, out = chat(tmp_path)
    c.handle(f"cannot connect to 127.0.0.1:{port}")
    started: list[Any] = []
    ask = c.session.ask

    def ask_then_start(*args: Any, **kwargs: Any) -> Any:
        report = ask(*args, **kwargs)
        if not started:  # after the watch's first round: the server comes up
            started.append(server("127.0.0.1", port))
        return report

    c.session.ask = ask_then_start  # type: ignore[method-assign]
    out.clear()
    c.handle("tell me when it works")
    assert out[0].startswith("Watching (every second, up to 60 s; Ctrl-C stops).")
    assert any(f"✓ connect: 127.0.0.1:{port} ok" in line for line in out)
    assert out[-1].startswith(f"127.0.0.1:{port} now accepts connections (python")
    assert out[-1].endswith(f"pid {started[0].pid}): fixed.")


def test_a_near_tie_is_asked_with_numbers(tmp_path: Path) -> None:
    c, out = chat(tmp_path)
    c.handle("is it safe to expose my dev server")
    assert c.pending is not None and c.pending.id == "topic"
    assert "dev-server-host-flag" in c.pending.choices
    assert "Did you mean" in text(out) and "--answer" not in text(out)
    assert out[-1].startswith("Which one did you mean? Answer 1")
    n = c.pending.choices.index("dev-server-host-flag") + 1
    out.clear()
    c.handle(str(n))
    assert out[0].startswith("How do I make my dev server reachable from other devices?")
    assert c.pending is None


def _user() -> str:
    import pwd

    return pwd.getpwuid(os.getuid()).pw_name


def test_small_talk_and_stray_words_read_well(tmp_path: Path) -> None:
    c, out = chat(tmp_path)
    for said, reply in [("skip", "There is no open question to skip. Describe the problem, or "
                                 "/help."),
                        ("3000", "Is 3000 a port? Tell me the address the client uses "
                                 "(localhost:3000, say), or\n  paste the error it printed."),
                        ("thanks!", "Glad to help. Describe another problem any time; Ctrl-D "
                                    "leaves."),
                        ("yes", "OK.")]:
        out.clear()
        c.handle(said)
        assert out == [reply]
    assert c.history == []  # none of it was taken for a problem or a question


def test_kill_it_on_a_typo_port_points_at_the_near_listener(tmp_path: Path, server: Any) -> None:
    s = server("127.0.0.1")
    asked = s.port + 1 if s.port % 10 != 9 else s.port - 1
    c, out = chat(tmp_path)
    c.handle(f"curl: (7) Failed to connect to 127.0.0.1 port {asked}: Connection refused")
    assert "port-typo" in text(out)
    out.clear()
    c.handle("kill it")
    assert out[0] == f"Nothing holds port {asked}, so there is nothing to stop."
    assert out[1].startswith(f"  (port {s.port} has python") and "one digit off" in out[1]
    assert c.offer is None and s.proc.poll() is None


def test_try_again_after_a_kb_question_is_about_the_problem(tmp_path: Path) -> None:
    port = free_port_without_neighbours()
    c, out = chat(tmp_path)
    c.handle(f"cannot connect to 127.0.0.1:{port}")
    c.handle("what is the difference between localhost and 127.0.0.1?")
    out.clear()
    c.handle("try again")
    assert out[0] == "  … checking again"
    assert out[1].startswith(f"The checks show the same as before. Nothing listens on port {port}")


def test_follow_ups_before_any_answer_say_what_is_missing(tmp_path: Path) -> None:
    c, out = chat(tmp_path)
    c.handle("/fix all")
    assert out == ["Nothing asked yet: describe the problem or paste the error first."]
    c.handle("is it safe to expose my dev server")  # a near tie: a choice is pending
    out.clear()
    c.handle("how do I do that on a mac?")
    assert out == ["There is no answer yet: pick one of the choices above, or ask again."]
    assert c.pending is not None and c.pending.id == "topic"  # still open


def test_who_uses_it_after_a_question_about_a_port(tmp_path: Path, server: Any) -> None:
    """Field trial 11: after "is port N free?", "who uses it?" and "what's
    using that port?" had no connection to look at."""
    s = server("127.0.0.1")
    c, out = chat(tmp_path)
    c.handle(f"is port {s.port} free?")
    assert f"port {s.port} is in use" in text(out)
    for follow_up in ("who uses it?", "what's using that port?"):
        out.clear()
        c.handle(follow_up)
        assert len(out) == 1 and f"(pid {s.pid}," in out[0], out
        assert out[0].endswith(f"is listening on 127.0.0.1:{s.port}."), out
