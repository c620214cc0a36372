"""Session routing: which kind of report a text gets, before any rule runs."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from assistant.errors import InputError
from assistant.session import Options, Session
from tests.support import free_port_without_neighbours


@pytest.fixture
def session(tmp_path: Path) -> Session:
    return Session(Options(env={"PATH": os.environ.get("PATH", ""),
                                "ASSISTANT_CACHE_DIR": str(tmp_path)}, probe_timeout=0.5))


def test_a_plain_question_is_answered_from_the_kb(session: Session) -> None:
    r = session.ask("what is the difference between localhost and 127.0.0.1?")
    assert (r.kind, r.answers[0].kb, r.diagnoses, r.findings) == (
        "answer", "localhost-vs-127-0-0-1", [], [])


def test_a_problem_without_an_address_asks_host_and_port(session: Session) -> None:
    r = session.ask("the connection is refused")
    assert r.kind == "needs-input" and [q.id for q in r.questions] == ["host", "port"]
    r = session.ask("the connection is refused", {"host": "127.0.0.1"})
    assert r.kind == "needs-input" and [q.id for q in r.questions] == ["port"]


def test_a_servers_refusal_pasted_alone_asks_the_address(session: Session) -> None:
    """Field trial 4: Redis's words alone went to an unrelated KB answer."""
    for said in ("ERR max number of clients reached", "NOAUTH Authentication required."):
        r = session.ask(said)
        assert r.kind == "needs-input" and [q.id for q in r.questions] == ["host", "port"], said


def test_a_bind_failure_without_a_port_asks_only_the_port(session: Session) -> None:
    r = session.ask("Error: listen EADDRINUSE: address already in use")
    assert r.kind == "needs-input" and [q.id for q in r.questions] == ["port"]


def test_a_refused_bind_without_a_port_says_what_it_means(session: Session) -> None:
    """Field trials 8 and 10: Python's PermissionError from bind(), the port a
    constant in the code. EACCES means the privileged range: that is the
    diagnosis at once (the fixes need no number), never a list of the ports
    that listen (another process's port is no EACCES)."""
    tb = ("$ python3 app.py\nTraceback (most recent call last):\n"
          '  File "/srv/app.py", line 3, in <module>\n'
          "    with socketserver.TCPServer((HOST, PORT), Handler) as httpd:\n"
          '  File "/usr/lib/python3.11/socketserver.py", line 472, in server_bind\n'
          "    self.socket.bind(self.server_address)\n"
          "PermissionError: [Errno 13] Permission denied\n")
    r = session.ask(tb)
    assert (r.kind, r.diagnoses[0].rule, r.diagnoses[0].category) == (
        "diagnosis", "bind.privileged_port_unnamed", "privileged-port")
    from assistant.facts.ports import unprivileged_start

    assert f"a port below {unprivileged_start()}," in r.diagnoses[0].summary
    assert not r.questions and "listeners" not in [f.check for f in r.findings]
    r = session.ask(tb, {"port": "443"})
    assert (r.kind, r.diagnoses[0].category) == ("diagnosis", "privileged-port")


def test_an_address_is_diagnosed(session: Session) -> None:
    port = free_port_without_neighbours()
    r = session.ask(f"cannot connect to 127.0.0.1:{port}")
    assert r.kind == "diagnosis" and r.diagnoses[0].category == "nothing-listening"
    assert r.target == {"host": "127.0.0.1", "port": port, "scheme": None, "error": None,
                        "client": None}


def test_a_port_without_a_host_assumes_localhost(session: Session) -> None:
    port = free_port_without_neighbours()
    r = session.ask(f"connection refused on port {port}")
    assert r.kind == "diagnosis" and r.target["host"] == "localhost"
    assert "no host given: assuming localhost" in r.notes


def test_an_unresolved_name_is_diagnosed_without_a_port(session: Session) -> None:
    r = session.ask("curl: (6) Could not resolve host: localhsot")
    assert r.kind == "diagnosis" and r.diagnoses[0].category == "host-typo"


def test_a_question_that_is_also_a_symptom_gets_both(session: Session) -> None:
    port = free_port_without_neighbours()
    r = session.ask(f"why does 127.0.0.1:{port} refuse the connection?")
    assert r.kind == "diagnosis" and r.diagnoses and r.answers


def test_a_topic_answer_returns_that_entry(session: Session) -> None:
    r = session.ask("anything", {"topic": "port-in-use"})
    assert (r.kind, [a.kb for a in r.answers]) == ("answer", ["port-in-use"])
    with pytest.raises(InputError):
        session.ask("anything", {"topic": "no-such-entry"})


def test_unusable_text_is_an_input_error(session: Session) -> None:
    for text in ("", "   ", "cannot connect to 127.0.0.1:-1"):
        with pytest.raises(InputError):
            session.ask(text)


def test_a_port_out_of_range_is_said_to_be(session: Session) -> None:
    r = session.ask("cannot connect to 127.0.0.1:99999")
    assert (r.kind, [d.rule for d in r.diagnoses]) == ("diagnosis", ["port.out_of_range"])
    assert "probe" not in [f.check for f in r.findings] and "99999" in r.diagnoses[0].summary


def test_the_last_report_is_kept(session: Session) -> None:
    r = session.ask("what is a loopback address?")
    assert session.last is r


def test_the_port_question_offers_what_listens_now(server: Any, tmp_path: Path) -> None:
    s = server("127.0.0.1")
    env = {"PATH": os.environ.get("PATH", ""), "ASSISTANT_CACHE_DIR": str(tmp_path)}
    report = Session(Options(env=env)).ask("the connection is refused",
                                           {"host": "localhost"})
    port = next(q for q in report.questions if q.id == "port")
    assert str(s.port) in port.choices
    assert port.text.startswith("Which port? (the number after the colon, e.g. 3000 in "
                                "localhost:3000) Listening now: ")
    assert f"{s.port} (python" in port.text


def test_a_question_about_a_port_is_answered_with_what_listens_there(server: Any,
                                                                      session: Session) -> None:
    """Field trial 5: "which program is using port 7251?" was diagnosed ("the
    problem is above TCP") and its commands named the KB's example port."""
    s = server("127.0.0.1")
    r = session.ask(f"how do I find out which program is using port {s.port}?")
    assert (r.kind, r.diagnoses, r.answers[0].kb) == ("answer", [], "find-process-on-port")
    assert any(f"sport = :{s.port}'" in c.command for c in r.answers[0].commands)
    assert not any("62893" in c.command for c in r.answers[0].commands)
    assert [f.check for f in r.findings] == ["listeners"]
    assert f"127.0.0.1:{s.port} (python" in r.findings[0].summary
    # A question that reports a failure is still diagnosed.
    failing = session.ask(f"why does 127.0.0.1:{free_port_without_neighbours()} refuse?")
    assert failing.kind == "diagnosis" and failing.diagnoses


def test_is_a_port_free_gets_a_plain_yes_or_no(server: Any, session: Session) -> None:
    """Field trial 8: "is port 7712 free?" got a red "nothing listens" and the
    KB's example port 3000 in its commands, never a plain answer."""
    port = free_port_without_neighbours()
    r = session.ask(f"is port {port} free?")
    assert r.kind == "answer" and r.notes[0].startswith(f"port {port} is free")
    assert [f.status for f in r.findings] == ["ok"]
    assert not any("3000" in c.command for a in r.answers for c in a.commands)
    s = server("127.0.0.1")
    r = session.ask(f"is port {s.port} in use?")
    assert r.notes[0].startswith(f"port {s.port} is in use: see the listener above")
    assert not r.answers  # no entry on how to kill what holds it


def test_a_question_with_listening_in_it_is_no_server_banner(session: Session) -> None:
    """"what is listening on port N?" was read as a server's start-up line
    and answered "No cause found for None:N"."""
    port = free_port_without_neighbours()
    r = session.ask(f"what is listening on port {port}?")
    assert (r.kind, r.diagnoses) == ("answer", [])
    assert r.findings[0].summary == f"nothing listens on port {port}"


def test_a_question_about_a_port_no_entry_answers_gets_what_listens(server: Any,
                                                                    session: Session) -> None:
    """Field trial 6: "what is using port 7688?" got "the problem is above
    TCP" and a question about where the client runs."""
    s = server("127.0.0.1")
    r = session.ask(f"what is using port {s.port}?")
    assert (r.kind, r.diagnoses, r.questions) == ("answer", [], [])
    assert f"127.0.0.1:{s.port} (python" in r.findings[0].summary


def test_curls_malformed_url_alone_asks_for_the_command(session: Session) -> None:
    """Field trial 7: curl's '(3) URL using bad/illegal format' alone got a
    "did you mean" of unrelated topics."""
    r = session.ask("curl: (3) URL using bad/illegal format or missing URL")
    assert (r.kind, r.answers) == ("needs-input", [])
    assert "malformed URL" in r.notes[0] and {q.id for q in r.questions} == {"host", "port"}



def test_a_refused_bind_on_a_port_anyone_may_bind_names_the_policies(session: Session) -> None:
    """redis's one-line EACCES on a port from the unprivileged start up: not
    the privileged range, so the words point at SELinux, AppArmor or a
    sandbox, not at "the client's whole output"."""
    from assistant.facts.ports import unprivileged_start
    from assistant.render.text import render

    port = free_port_without_neighbours()
    if port < unprivileged_start():
        pytest.skip("every port is privileged on this machine")
    r = session.ask(f"# Could not create server TCP listening socket *:{port}: bind: "
                    "Permission denied")
    assert r.kind == "diagnosis" and r.target["port"] == port and not r.diagnoses
    shown = render(r)
    assert "security policy" in shown and "client's whole output" not in shown


def test_a_question_naming_an_os_gets_that_os_commands(session: Session) -> None:
    """Field trial 11: "... on Windows?" ran a diagnosis ("the service is on
    the host": "on Windows" read as WSL's host) and showed Linux commands."""
    from assistant.render.options import RenderOptions
    from assistant.render.text import render

    port = free_port_without_neighbours()
    r = session.ask(f"how do I see which process uses port {port} on Windows?")
    assert r.kind == "answer" and r.asked_os == "windows" and not r.diagnoses
    assert r.answers[0].kb == "find-process-on-port"
    shown = render(r, RenderOptions("terminal", False, 100, r.asked_os))
    assert f"Get-NetTCPConnection -LocalPort {port} -State Listen" in shown
    assert "linux    " not in shown  # no Linux command lines


def test_what_an_error_word_means_is_an_answer(session: Session) -> None:
    for question, entry in (("what does ECONNREFUSED mean?", "connection-refused-vs-timeout"),
                            ("what is ECONNRESET?", "connection-refused-vs-timeout"),
                            ("can two programs listen on the same port?", "port-in-use")):
        r = session.ask(question)
        assert (r.kind, r.answers[0].kb, r.questions) == ("answer", entry, []), question
