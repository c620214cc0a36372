"""The command-line contract: exit codes, JSON shape, questions, bad input."""

from __future__ import annotations

import pytest

from tests.support import free_port_without_neighbours, run_cli, run_script

JSON_KEYS = {"schema", "kind", "input", "target", "findings", "diagnoses", "answers", "questions",
             "trace"}


def test_json_contract_shape() -> None:
    port = free_port_without_neighbours()
    rep = run_cli("--ask", f"cannot connect to 127.0.0.1:{port}", "--json").json
    assert set(rep) == JSON_KEYS
    assert rep["schema"] == 1
    assert set(rep["target"]) == {"host", "port", "scheme", "error", "client"}
    for f in rep["findings"]:
        assert set(f) == {"check", "status", "summary", "data"}
        assert f["status"] in ("ok", "problem", "warning", "unknown")
    for d in rep["diagnoses"]:
        assert set(d) == {"rule", "category", "severity", "summary", "evidence", "processes",
                          "fix", "kb", "links"}
        assert d["severity"] in ("problem", "warning", "info")
        for fx in d["fix"]:
            assert set(fx) == {"os", "command", "why"}
            assert fx["os"] in ("linux", "macos", "windows", "any")
    for t in rep["trace"]:
        assert set(t) == {"rule", "facts"}


def test_no_address_needs_input_then_answers_complete_it() -> None:
    r = run_cli("--ask", "my server says connection refused", "--json")
    assert r.code == 3
    rep = r.json
    assert rep["kind"] == "needs-input"
    assert [q["id"] for q in rep["questions"]] == ["host", "port"]
    port = free_port_without_neighbours()
    r = run_cli("--ask", "my server says connection refused", "--answer", "host=127.0.0.1",
                "--answer", f"port={port}", "--json")
    assert r.code == 1
    assert r.json["target"]["port"] == port
    assert r.json["diagnoses"][0]["category"] == "nothing-listening"


def test_port_only_assumes_localhost() -> None:
    port = free_port_without_neighbours()
    r = run_cli("--ask", f"connection refused on port {port}", "--json")
    assert r.json["target"]["host"] == "localhost"
    assert r.json["diagnoses"][0]["category"] == "nothing-listening"


@pytest.mark.parametrize("argv,message", [
    (["--ask", ""], "nothing to diagnose"),
    (["--ask", "localhost:0"], "port 0"),
    (["--ask", "port -5 refused"], "out of range"),
    (["--ask", "connect to [fe80::zz]:80"], "IPv6"),
    (["--ask", "x", "--answer", "nonsense"], "KEY=VALUE"),
    (["--ask", "x", "--answer", "port=abc"], "not a port"),
    (["--ask", "x", "--timeout", "-1"], "timeout"),
    (["--bogus"], "unrecognized"),
    (["--ask", "x", "--rules", "/nonexistent/dir"], "does not exist"),
])
def test_bad_input_exit_2_with_message(argv: list[str], message: str) -> None:
    r = run_cli(*argv)
    assert r.code == 2
    assert message in r.err
    assert "Traceback" not in r.err + r.out


def test_a_port_above_65535_is_a_diagnosis_not_a_usage_error() -> None:
    r = run_cli("--ask", "localhost:99999 refused", "--json")
    assert r.code == 1 and r.json["diagnoses"][0]["rule"] == "port.out_of_range"
    assert "out of range" in r.json["diagnoses"][0]["summary"]
    assert "probe" not in [f["check"] for f in r.json["findings"]]


def test_control_characters_and_huge_input() -> None:
    r = run_cli("--ask", "\x1b]0;evil\x07\x1b[2J connect ECONNREFUSED 127.0.0.1:1", "--json")
    assert "\x1b" not in r.out and "\x07" not in r.out
    r = run_cli("--ask", "a" * 300_000)
    assert r.code == 2 and "KB" in r.err


def test_credentials_never_echoed() -> None:
    port = free_port_without_neighbours()
    text = (f"psql 'postgresql://admin:Sup3rS3cret@127.0.0.1:{port}/app' failed: connection "
            f"refused; PGPASSWORD=hunter2 Authorization: Bearer abcdef0123456789xyz")
    for fmt in ([], ["--json"]):
        r = run_cli("--ask", text, *fmt)
        for secret in ("Sup3rS3cret", "hunter2", "abcdef0123456789xyz", "admin:"):
            assert secret not in r.out + r.err


def test_plain_question_answers_from_kb() -> None:
    r = run_cli("--ask", "what is the difference between localhost and 127.0.0.1?", "--json")
    assert r.code == 0
    rep = r.json
    assert rep["kind"] == "answer"
    assert rep["answers"][0]["kb"] == "localhost-vs-127-0-0-1"


def test_version_and_help() -> None:
    with pytest.raises(SystemExit) as exc:
        run_cli("--version")
    assert exc.value.code == 0
    with pytest.raises(SystemExit):
        run_cli("--help")


def test_stdin_dash() -> None:
    port = free_port_without_neighbours()
    r = run_cli("--ask", "-", "--json", stdin=f"curl: (7) Failed to connect to 127.0.0.1 port {port}")
    assert r.json["target"]["client"] == "curl"


@pytest.mark.root
def test_an_unreadable_config_or_cache_directory_is_skipped_not_a_traceback(tmp_path) -> None:
    """A HOME shared with another user: ~/.config and ~/.cache may be theirs
    (here root's, mode 0700), and the assistant runs as nobody."""
    import os

    if os.geteuid() != 0:
        pytest.skip("needs root to run the command as another user")
    home = tmp_path / "home"
    for d in (".config/assistant/rules.d", ".cache/assistant"):
        (home / d).mkdir(parents=True)
    home.chmod(0o755)
    tmp_path.chmod(0o755)
    for d in (".config", ".cache"):
        (home / d).chmod(0o700)
    port = free_port_without_neighbours()
    r = run_script("--ask", f"cannot connect to 127.0.0.1:{port}", "--json",
                   wrapper=["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups"],
                   env={"HOME": str(home), "ASSISTANT_CACHE_DIR": "", "XDG_CACHE_HOME": ""})
    assert "Traceback" not in r.err, r.err
    assert r.code == 1 and r.json["diagnoses"][0]["category"] == "nothing-listening"
    assert "rules.d: not readable, so not used" in r.err or "Permission denied" in r.err
