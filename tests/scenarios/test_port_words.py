"""Ports a client refused before connecting, with the real clients' words
(field trial 5): nc given a port with a digit typed twice, curl given a
service name where a URL's port goes."""

from __future__ import annotations

import random

import pytest

from tests import realservers as rs
from tests.scenarios.clients import ask, client, rules
from tests.support import port_taken


def test_nc_port_too_large_is_the_listening_port_with_a_digit_twice() -> None:
    for _ in range(50):
        port = random.randint(6600, 9999)  # ten times it is out of range
        if not port_taken(port):
            break
    else:
        pytest.skip("no free port in 6600-9999")
    typed = int(str(port) + str(port)[-1])  # the last digit typed twice
    with rs.http_server(port=port):
        out = client("nc", "-v", "-w", "1", "127.0.0.1", str(typed))
        if "too large" not in out:
            pytest.skip(f"this nc says otherwise: {out!r}")
        code, rep = ask(out)
    assert rep["target"]["port"] == typed
    assert (code, rules(rep)[0]) == (1, "port.out_of_range_near"), rules(rep)
    assert f"did you mean {port}?" in rep["diagnoses"][0]["summary"]


def test_curl_url_with_a_service_name_for_its_port() -> None:
    out = client("curl", "-sS", "http://localhost:http-alt/app.py")
    assert "(3)" in out  # curl refuses the URL; it connects nowhere
    code, rep = ask(out)
    assert (code, rules(rep)[0]) == (1, "port.url_port_name"), rules(rep)
    summary = rep["diagnoses"][0]["summary"]
    assert "'http-alt'" in summary and "http://localhost:8080/" in summary
    assert rep["target"]["port"] == 8080


def test_ipv6_address_without_brackets_in_the_url() -> None:
    """curl-ipv6-literal-without-brackets (field trials 4 and 5): curl and
    Python requests refuse http://::1:PORT/; the answer is the brackets, and
    its curl command, pasted, gets the server's page."""
    import shlex
    import subprocess
    import sys

    with rs.http_server("::1") as s:
        said = client("curl", "-sS", f"http://::1:{s.port}/")
        assert "(3)" in said
        code = f"import requests; requests.get('http://::1:{s.port}/')"
        py = client(sys.executable, "-c", code)
        if "No module named 'requests'" in py:
            pytest.skip("python3 without requests")
        assert "InvalidURL" in py
        answers = [ask(said), ask(py.strip().splitlines()[-1])]
        for exit_code, rep in answers:
            assert rep["diagnoses"], rep
            assert (exit_code, rules(rep)[0]) == (1, "host.ipv6_unbracketed"), rules(rep)
            assert (rep["target"]["host"], rep["target"]["port"]) == ("::1", s.port)
            assert f"http://[::1]:{s.port}/" in rep["diagnoses"][0]["summary"]
        fix = next(f["command"] for f in answers[0][1]["diagnoses"][0]["fix"]
                   if f["os"] == "linux")
        done = subprocess.run(shlex.split(fix), capture_output=True, text=True, timeout=30)
        assert done.returncode == 0 and "Directory listing" in done.stdout
