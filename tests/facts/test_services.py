"""Declared services: what `process:` matches (name or command line), and a
port forwarder in front of the service counts as the service."""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path

import pytest

from assistant.dirs import data_dir
from assistant.engine import yamlsafe
from assistant.facts.services import FORWARDERS, owner_ok, process_matches, service_facts
from assistant.facts.system.socktable import Listen
from tests.support import run_cli

KAFKA = ("/usr/lib/jvm/java-17/bin/java -Xmx1G " + "-Dx=y " * 700
         + "-cp /opt/kafka/libs/* kafka.Kafka /opt/kafka/config/server.properties")


@pytest.mark.parametrize("expected,info,ok", [
    ("postgres", {"process": "postgres"}, True),
    ("postgres", {"process": "postgres: 15/main"}, True),        # a name starting with it
    ("Postgres", {"process": "postgres"}, True),                 # case ignored
    ("postgres", {"process": "mysqld"}, False),
    ("uvicorn", {"process": "python3", "cmdline": "python3 -m uvicorn app:main"}, True),
    ("gunicorn", {"process": "python3", "cmdline": "/venv/bin/gunicorn app:app"}, True),
    ("kafka.Kafka", {"process": "java", "cmdline": KAFKA}, True),  # at the end of 4,900 chars
    ("api", {"process": "python3", "cmdline": "python3 rapid_server.py"}, False),  # not a word
    ("kafka", {"process": "java", "cmdline": "java -jar kafka-ui.jar"}, False),
])
def test_process_matches_the_name_or_a_word_of_the_command_line(expected: str, info: dict,
                                                                ok: bool) -> None:
    assert process_matches(expected, info) is ok


def test_a_forwarder_is_the_services_front_door() -> None:
    assert owner_ok("postgres", {"process": "docker-proxy", "cmdline": "/usr/bin/docker-proxy "
                                 "-proto tcp -host-ip 0.0.0.0 -host-port 5433"})
    assert not owner_ok("postgres", {"process": "nginx"})
    assert owner_ok("postgres", {})  # not visible to us: not accused
    rows = [Listen("0.0.0.0", 5433, 4, 811)]
    (fact,) = service_facts([{"name": "dev-db", "port": 5433, "process": "postgres"}], rows,
                            lambda pid: {"pid": pid, "process": "rootlessport"})
    assert fact["owner_ok"] is True and fact["forwarded"] is True and fact["owner"] == "rootlessport"


def test_forwarders_are_the_rules_forwarders() -> None:
    rules = yamlsafe.load((data_dir("rules") / "containers.yaml").read_text()).data
    assert tuple(rules["lists"]["forwarders"]) == FORWARDERS


def pack(tmp_path: Path, port: int, process: str) -> Path:
    d = tmp_path / "team"
    d.mkdir(exist_ok=True)
    (d / "services.yaml").write_text(textwrap.dedent(f"""\
        format: 1
        services:
          - {{name: dev-db, port: {port}, process: {process}}}
    """))
    return d


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="process names from /proc")
def test_docker_proxy_in_front_of_a_declared_service_is_not_a_wrong_owner(
        tmp_path: Path, named_server) -> None:  # type: ignore[no-untyped-def]
    port = named_server("docker-proxy", "-proto", "tcp", "-container-port", "5432")
    env = {"PATH": os.environ.get("PATH", ""), "ASSISTANT_CACHE_DIR": str(tmp_path / "c"),
           "HOME": str(tmp_path)}
    r = run_cli("--rules", str(pack(tmp_path, port, "postgres")), "--ask",
                f"cannot connect to localhost:{port}", "--json", environ=env)
    rules = [d["rule"] for d in r.json["diagnoses"]]
    assert "service.wrong_owner" not in rules
    finding = next(f for f in r.json["findings"] if f["check"] == "services")
    assert finding["summary"] == (f"team services: dev-db on {port}: docker-proxy (forwarding to a "
                                  "container)")
    # Something else there is still a wrong owner.
    other = named_server("nginx")
    r = run_cli("--rules", str(pack(tmp_path, other, "postgres")), "--ask",
                f"cannot connect to localhost:{other}", "--json", environ=env)
    assert r.json["diagnoses"][0]["rule"] == "service.wrong_owner"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="process names from /proc")
def test_process_found_in_the_command_line(tmp_path: Path, named_server) -> None:  # type: ignore[no-untyped-def]
    port = named_server("python3", "-m", "uvicorn", "app:main")
    env = {"PATH": os.environ.get("PATH", ""), "ASSISTANT_CACHE_DIR": str(tmp_path / "c"),
           "HOME": str(tmp_path)}
    for process, wrong in (("uvicorn", False), ("gunicorn", True)):
        r = run_cli("--rules", str(pack(tmp_path, port, process)), "--ask",
                    f"cannot connect to localhost:{port}", "--json", environ=env)
        assert ("service.wrong_owner" in [d["rule"] for d in r.json["diagnoses"]]) is wrong
