"""The request without the proxy: the user's own curl or wget command, less
its proxy options and credentials, so it works where the request would."""

from __future__ import annotations

import shlex

import pytest

from assistant.facts.oneshot import oneshot, oneshot_windows


def test_curl_keeps_the_users_options_and_path() -> None:
    """The field trial: `curl -sS https://127.0.0.1:8444/health -k` through a
    proxy; without -k the printed command failed with (60)."""
    lines = ["curl -sS https://127.0.0.1:8444/health -k"]
    assert oneshot({"curl"}, "127.0.0.1", "https://127.0.0.1:8444/", "https_proxy", lines) == \
        "curl --noproxy 127.0.0.1 -sS https://127.0.0.1:8444/health -k"
    assert oneshot_windows({"curl"}, "https://127.0.0.1:8444/", lines) == \
        'curl.exe --noproxy "*" -sS https://127.0.0.1:8444/health -k'


def test_curl_drops_proxy_options_and_credentials() -> None:
    line = ("https_proxy=http://p:3128 sudo -u ana curl -x http://p:3128 -U pu:pp --proxy-insecure "
            "--proxy-cacert /etc/p.pem -p -u bob:pw -H 'Authorization: Bearer abcdefghij' "
            "-H 'X-Team: a' --cacert '/tmp/my ca.pem' --insecure "
            "'https://u:secret@[::1]:8444/h?a=1&b=2'")
    got = oneshot({"curl"}, "::1", "https://[::1]:8444/", "https_proxy", [line])
    assert got == ("curl --noproxy ::1 -H 'X-Team: a' --cacert '/tmp/my ca.pem' --insecure "
                   "'https://[::1]:8444/h?a=1&b=2'")
    assert shlex.split(got)[-1] == "https://[::1]:8444/h?a=1&b=2"  # one word in any POSIX shell
    assert "secret" not in got and "bob" not in got and "Bearer" not in got
    assert oneshot_windows({"curl"}, "https://[::1]:8444/", [line]) == (
        "curl.exe --noproxy \"*\" -H 'X-Team: a' --cacert '/tmp/my ca.pem' --insecure "
        "'https://[::1]:8444/h?a=1&b=2'")


@pytest.mark.parametrize("lines", [[], ["curl -sS localhost:8000/x"], ["echo hi"], ["curl 'bad"]])
def test_curl_without_a_usable_command_line_uses_the_url(lines: list[str]) -> None:
    assert oneshot({"curl"}, "localhost", "http://localhost:8000/", "http_proxy", lines) == \
        "curl --noproxy localhost http://localhost:8000/"


def test_wget_keeps_its_options_less_the_proxy_ones() -> None:
    line = ("wget -q --no-check-certificate -e use_proxy=yes --proxy-user=x --proxy-password y "
            "--header='Cookie: s=1' --http-password=pw https://localhost:8000/a")
    assert oneshot({"wget"}, "localhost", "https://localhost:8000/", "https_proxy", [line]) == \
        "wget --no-proxy -O- -q --no-check-certificate https://localhost:8000/a"


def test_python_scripts_are_one_shell_word() -> None:
    got = oneshot({"Python urllib"}, "localhost", "http://localhost:8000/$x", "http_proxy", [])
    assert got == ("env -u http_proxy python3 -c 'import urllib.request; "
                   "print(urllib.request.urlopen(\"http://localhost:8000/$x\").status)'")
    assert shlex.split(got)[-1].endswith('urlopen("http://localhost:8000/$x").status)')


def test_other_clients_get_curl_for_every_proxy() -> None:
    assert oneshot({"Go"}, "vm", "http://[::1]:8000/", "HTTP_PROXY", []) == \
        "curl --noproxy '*' -sS 'http://[::1]:8000/'"
    assert oneshot_windows({"Go"}, "http://[::1]:8000/", ["curl -k https://x/"]) == \
        "curl.exe --noproxy \"*\" -sS 'http://[::1]:8000/'"
