"""The proxy collector's per-client decision table, pure.

Each row of DIRECT_OR_PROXY is what the real client did on this project's
machine with a dead proxy on a loopback port and a live http.server (curl
7.88, wget 1.21, Python 3.11 requests and urllib, Go 1.19, Node.js 20):
`P` it went to the proxy, `-` it went direct. tests/test_proxy_scenarios.py
runs the real clients for the rows that matter most.
"""

from __future__ import annotations

import pytest

from assistant.facts.proxy import Request, proxy_facts, same_address, split_address, summarise
from assistant.facts.proxyrules import covers, models_for
from assistant.understand.symptoms import Target

PX = "http://127.0.0.1:3128"
CLIENTS = ("curl", "wget", "requests", "urllib", "go", "node")

# (host, scheme, env, what curl wget requests urllib go node did)
DIRECT_OR_PROXY = [
    ("localhost", "http", {"http_proxy": PX}, "PPPP--"),
    ("localhost", "http", {"HTTP_PROXY": PX}, "--PP--"),
    ("localhost", "http", {"https_proxy": PX}, "------"),
    ("localhost", "http", {"HTTPS_PROXY": PX}, "------"),
    ("localhost", "http", {"all_proxy": PX}, "P-P---"),
    ("localhost", "http", {"ALL_PROXY": PX}, "P-P---"),
    ("localhost", "https", {"http_proxy": PX}, "------"),
    ("localhost", "https", {"https_proxy": PX}, "PPPP--"),
    ("localhost", "https", {"HTTPS_PROXY": PX}, "P-PP--"),
    ("localhost", "https", {"all_proxy": PX}, "P-P---"),
    ("localhost", "http", {"http_proxy": PX, "no_proxy": "localhost"}, "------"),
    ("localhost", "http", {"http_proxy": PX, "NO_PROXY": "localhost"}, "-P----"),
    ("localhost", "http", {"http_proxy": PX, "REQUEST_METHOD": "GET"}, "PPPP--"),
    ("localhost", "http", {"HTTP_PROXY": PX, "REQUEST_METHOD": "GET"}, "------"),
    ("localhost", "http", {"http_proxy": PX, "NODE_USE_ENV_PROXY": "1"}, "PPPP-P"),
    ("127.0.0.1", "http", {"http_proxy": PX, "no_proxy": "127.0.0.0/8"}, "-P-P--"),
    ("127.0.0.1", "http", {"HTTP_PROXY": PX, "no_proxy": "127.0.0.0/8"}, "---P--"),
    ("127.0.0.1", "http", {"http_proxy": PX, "no_proxy": "127.0.0.1"}, "------"),
    ("localhost", "http", {"http_proxy": PX, "no_proxy": ".localhost"}, "-P----"),
    ("localhost", "http", {"http_proxy": PX, "no_proxy": "*"}, "-P----"),
    ("127.0.0.1", "http", {"http_proxy": PX, "no_proxy": "localhost"}, "PPPP--"),
    ("vm", "http", {"HTTP_PROXY": PX, "http_proxy": PX}, "PPPPP-"),
    ("127.0.0.2", "http", {"HTTP_PROXY": PX, "http_proxy": PX}, "PPPP--"),
    ("::1", "http", {"HTTP_PROXY": PX, "http_proxy": PX}, "PPPP--"),
    ("vm", "http", {"http_proxy": PX, "HTTP_PROXY": PX, "no_proxy": "vm", "NO_PROXY": "x.example"},
     "----P-"),
    ("vm", "http", {"http_proxy": PX, "HTTP_PROXY": PX, "NO_PROXY": "vm", "no_proxy": "x.example"},
     "PPPP--"),
    ("vm", "http", {"http_proxy": PX, "HTTP_PROXY": PX, "NO_PROXY": "vm"}, "-P----"),
    ("vm", "http", {"http_proxy": PX, "HTTP_PROXY": PX, "no_proxy": "localhost, vm"}, "------"),
    ("vm", "http", {"http_proxy": PX, "HTTP_PROXY": PX, "no_proxy": ".vm"}, "-P--P-"),
    ("vm", "http", {"http_proxy": "", "HTTP_PROXY": PX}, "----P-"),
    ("vm", "http", {"all_proxy": PX}, "P-P---"),
]


def went(client: str, host: str, scheme: str, env: dict[str, str]) -> str:
    name, library = ("python", client) if client in ("requests", "urllib") else (client, None)
    facts = proxy_facts(Request(host, 8000, scheme, name, library), env)
    return "P" if any(f["applies"] for f in facts) else "-"


@pytest.mark.parametrize("host,scheme,env,observed", DIRECT_OR_PROXY,
                         ids=[f"{h}-{s}-{'-'.join(f'{k}={v}' for k, v in e.items())}"
                              for h, s, e, _ in DIRECT_OR_PROXY])
def test_each_client_as_it_behaved(host: str, scheme: str, env: dict[str, str],
                                   observed: str) -> None:
    assert "".join(went(c, host, scheme, env) for c in CLIENTS) == observed


def test_precedence_between_the_cases_is_each_clients_own() -> None:
    """Both cases set to different proxies: which one each client dialled."""
    env = {"http_proxy": "http://127.0.0.1:1111", "HTTP_PROXY": "http://127.0.0.1:2222"}
    used = {c: [f["variable"] for f in proxy_facts(Request("vm", 80, "http", c, "requests"), env)
                if f["applies"]] for c in ("curl", "wget", "python", "go")}
    assert used == {"curl": ["http_proxy"], "wget": ["http_proxy"], "python": ["http_proxy"],
                    "go": ["HTTP_PROXY"]}
    env = {"http_proxy": "http://127.0.0.1:1111", "all_proxy": "http://127.0.0.1:2222"}
    assert [f["variable"] for f in proxy_facts(Request("vm", 80, "http", "curl"), env)
            if f["applies"]] == ["http_proxy"]


@pytest.mark.parametrize("host,value,style,expected", [
    ("localhost", "localhost,127.0.0.1", "curl", True),
    ("api.dev.local", ".local", "curl", True),
    ("127.0.0.5", "127.0.0.0/8", "curl", True),
    ("127.0.0.5", "127.0.0.0/8", "urllib", False),
    ("127.0.0.5", "127.0.0.0/8", "requests", True),
    ("127.0.0.5", "127.0.0.0/8", "wget", False),
    ("::1", "::1/128", "requests", False),  # requests' ranges are IPv4 only
    ("::1", "::1", "curl", True),
    ("::1", "[::1]", "curl", False),  # each as the real client did with a server on [::1]
    ("::1", "::1", "wget", True),
    ("::1", "[::1]", "wget", False),
    ("::1", "::1", "requests", True),
    ("::1", "[::1]", "requests", False),
    ("::1", "::1", "urllib", False),
    ("::1", "[::1]", "urllib", True),
    ("anything", "*", "curl", True),
    ("anything", "*", "wget", False),
    ("localhost", ".localhost", "wget", False),
    ("a.localhost", ".localhost", "wget", True),
    ("vm", ".vm", "go", False),
    ("a.vm", "*.vm", "go", True),
    ("vm", ".vm", "node", True),
    ("localhost", "example.com", "curl", False),
    ("localhost", "", "curl", False),
])
def test_exception_lists_as_each_client_matches_them(host: str, value: str, style: str,
                                                     expected: bool) -> None:
    assert covers(host, value, style) is expected


def test_a_failure_at_the_proxys_own_address() -> None:
    # The bare curl line: only the proxy's address, no URL.
    f, = proxy_facts(Request("127.0.0.1", 3128, None, "curl"), {"https_proxy": PX})
    assert (f["uses"], f["at_proxy"], f["target_is_proxy"], f["scheme"]) == (True, True, True,
                                                                               "https")
    assert "url" not in f and f["unset"] == "https_proxy"
    # The URL is known and the proxy is where it failed (wget, requests, Go).
    f, = proxy_facts(Request("localhost", 8000, "http", "wget", via="127.0.0.1:3128"),
                     {"http_proxy": "http://localhost:3128/"})
    assert (f["at_proxy"], f["target_is_proxy"], f["applies"]) == (True, False, True)
    assert f["oneshot"] == "wget --no-proxy -O- http://localhost:8000/"
    # curl never reads HTTP_PROXY: failing at its address is not curl using it.
    f, = proxy_facts(Request("127.0.0.1", 3128, None, "curl"), {"HTTP_PROXY": PX})
    assert (f["uses"], f["at_proxy"]) == (False, True)
    assert f["ignored_by"] == "curl does not read HTTP_PROXY"


def test_node_failing_at_the_proxy_means_a_library_read_it() -> None:
    f, = proxy_facts(Request("localhost", 8000, "http", "node", via="127.0.0.1:3128"),
                     {"HTTP_PROXY": PX})
    assert f["uses"] is True and "axios" in f["why"]
    f, = proxy_facts(Request("localhost", 8000, "http", "node"), {"HTTP_PROXY": PX})
    assert f["uses"] is False and "NODE_USE_ENV_PROXY" in f["ignored_by"]


def test_unknown_client_says_which_clients_it_affects() -> None:
    f, = proxy_facts(Request("localhost", 8000, "http", None), {"HTTP_PROXY": PX}, )
    assert f["client"] == "unknown"
    assert f["users"].startswith("Python requests, Python urllib")
    assert "curl does not read HTTP_PROXY" in f["ignored_by"]
    assert "Go never sends localhost to a proxy" in f["ignored_by"]
    assert f["exceptions"] == "NO_PROXY and no_proxy are unset"


def test_unset_exceptions_are_said_unset_never_a_question_mark() -> None:
    f, = proxy_facts(Request("localhost", 8000, "http", "curl"), {"http_proxy": PX})
    assert f["exceptions"] == "no_proxy and NO_PROXY are unset" and "no_proxy" not in f
    f, = proxy_facts(Request("localhost", 8000, "http", "wget"),
                     {"http_proxy": PX, "NO_PROXY": "localhost"})
    assert f["exceptions"] == "no_proxy is unset (wget ignores NO_PROXY='localhost')"
    f, = proxy_facts(Request("localhost", 8000, "http", "curl"),
                     {"http_proxy": PX, "NO_PROXY": "example.com"})
    assert (f["exceptions"], f["no_proxy"]) == ("NO_PROXY='example.com'", "example.com")


def test_fix_material_appends_and_names_this_client() -> None:
    f, = proxy_facts(Request("vm", 8000, "http", "go", via="127.0.0.1:3128"),
                     {"HTTP_PROXY": PX}, local_name=lambda h: h == "vm")
    assert f["bypass"] == "localhost,127.0.0.1,::1,vm" and f["local"] is True
    assert f["oneshot"] == "curl --noproxy '*' -sS http://vm:8000/"
    f, = proxy_facts(Request("example.com", 80, "http", "curl"), {"http_proxy": PX},
                     local_name=lambda h: False)
    assert f["bypass"] == "localhost,127.0.0.1,::1"  # a remote host keeps its proxy
    assert f["local"] is False and f["proxy_port"] == 3128
    lower, upper = proxy_facts(Request("localhost", 8000, "http", "python", "requests"),
                               {"HTTP_PROXY": PX, "http_proxy": PX})
    assert (lower["applies"], upper["applies"]) == (True, False)  # lower case wins
    assert upper["ignored_by"] == "Python requests uses http_proxy instead"
    f = lower
    assert f["unset"] == "http_proxy HTTP_PROXY"  # removing one would let the other take over
    assert f["oneshot"] == ("env -u http_proxy -u HTTP_PROXY python3 -c 'import requests; "
                            "print(requests.get(\"http://localhost:8000/\").status_code)'")
    f, = proxy_facts(Request("::1", 8000, "http", "curl"), {"http_proxy": PX})
    # Quoted: zsh reads an unquoted [::1] as a glob ("no matches found").
    assert (f["url"], f["oneshot"]) == ("http://[::1]:8000/",
                                        "curl --noproxy ::1 'http://[::1]:8000/'")
    assert f["bypass"] == "localhost,127.0.0.1,::1,[::1]"  # urllib wants the brackets


def test_command_line_assignments_are_the_clients_environment() -> None:
    req = Request("localhost", 8000, "http", "curl", assigned={"http_proxy": PX})
    f, = proxy_facts(req, {})
    assert (f["source"], f["applies"]) == ("command line", True)
    # `env -u http_proxy curl ...`: the shell's variable never reached curl
    assert proxy_facts(Request("localhost", 8000, "http", "curl",
                               assigned={"http_proxy": None}), {"http_proxy": PX}) == []


def test_credentials_never_reach_a_fact() -> None:
    f, = proxy_facts(Request("localhost", 8000, "http", "curl"),
                     {"http_proxy": "http://user:s3cret@proxy.corp:3128"})
    assert "s3cret" not in str(f) and f["address"] == "proxy.corp:3128"


def test_who_reads_nothing() -> None:
    env = {"http_proxy": PX, "HTTP_PROXY": PX}
    for client in ("psql", "redis-cli", "ssh", "nc", "mysql"):
        assert proxy_facts(Request("localhost", 5432, None, client), env) == []
    assert proxy_facts(Request("localhost", 5432, "postgresql", None), env) == []
    f, = proxy_facts(Request("vm", 80, "http", "java"), {"http_proxy": PX})
    assert f["uses"] is False and "-Dhttp.proxyHost" in f["ignored_by"]
    # Browsers: never localhost; elsewhere the system settings, which on a
    # Linux machine without desktop settings are these variables.
    f, = proxy_facts(Request("localhost", 80, "http", "chrome"), {"http_proxy": PX})
    assert (f["uses"], f["applies"]) == (True, False)
    f, = proxy_facts(Request("vm", 80, "http", "firefox"), {"HTTP_PROXY": PX})
    assert f["applies"] is True
    f, = proxy_facts(Request("vm", 80, "http", "chrome", platform="darwin"), {"http_proxy": PX})
    assert f["uses"] is False and "system proxy settings" in f["ignored_by"]


def test_models_for_unknown_and_unverified_clients_ask_every_verified_client() -> None:
    labels = [m.label for m in models_for("ruby", None, {}, "linux")]
    assert labels[:5] == ["curl", "wget", "Python requests", "Python urllib", "Go"]
    f, = proxy_facts(Request("localhost", 3000, "http", "ruby"), {"http_proxy": PX})
    assert f["client"] == "unknown"  # so the rules say which clients, not "ruby reads it"
    assert [m.label for m in models_for("kubectl", None, {}, "linux")] == ["Go"]
    assert [m.label for m in models_for("node", None, {"NODE_OPTIONS": "--use-env-proxy"},
                                        "linux")] == ["Node.js (NODE_USE_ENV_PROXY)"]


@pytest.mark.parametrize("text,expected", [
    ("http://u:p@127.0.0.1:3128/", ("127.0.0.1", 3128)),
    ("127.0.0.1:3128", ("127.0.0.1", 3128)),
    ("http://proxy.corp", ("proxy.corp", 80)),
    ("socks5h://[::1]:1080", ("::1", 1080)),
    ("proxy.corp", ("proxy.corp", 1080)),  # curl's default proxy port
])
def test_split_address(text: str, expected: tuple[str, int]) -> None:
    assert split_address(text, 1080) == expected


def test_same_address_counts_the_local_names_as_one() -> None:
    assert same_address(("localhost", 3128), ("127.0.0.1", 3128))
    assert not same_address(("127.0.0.1", 3128), ("127.0.0.1", 3129))
    assert not same_address(("proxy.corp", 3128), ("127.0.0.1", 3128))


def test_summary_lines() -> None:
    t = Target(host="127.0.0.1", port=3128)
    assert summarise([], t) == ("ok", "no proxy variable is set")
    down = proxy_facts(Request("127.0.0.1", 3128, None, "curl"), {"http_proxy": PX})
    assert summarise(down, t).status == "problem"
    ignored = proxy_facts(Request("localhost", 8000, "http", "curl"), {"HTTP_PROXY": PX})
    assert summarise(ignored, t) == ("ok", "HTTP_PROXY is set, but not used here (curl does not "
                                     "read HTTP_PROXY)")
