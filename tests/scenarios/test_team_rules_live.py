"""Team rules against real processes and real pasted text: a command line
matched whole (a JVM's main class after ~4,900 characters), an exception with
`contains` filtering the matched listener, the pasted text as a matchable
field, and a runbook link in every rendering."""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tests.support import run_cli, run_script

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="process names and command lines from /proc")
# A Kafka broker's command line: JVM options, a long class path, the main
# class at the very end.
KAFKA_ARGS = ["-Xmx1G", "-Xms1G", "-server", *[f"-Dkafka.opt{i}=value{i}" for i in range(160)],
              "-cp", ":".join(f"/opt/kafka/libs/lib{i}.jar" for i in range(120)),
              "kafka.Kafka", "config/server.properties"]


def env(tmp_path: Path) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", ""), "ASSISTANT_CACHE_DIR": str(tmp_path / "c"),
            "HOME": str(tmp_path), "NO_COLOR": "1"}


def pack(tmp_path: Path, text: str) -> Path:
    d = tmp_path / "team"
    d.mkdir(exist_ok=True)
    (d / "team.yaml").write_text(textwrap.dedent(text))
    return d


def rules_of(r: Any) -> list[str]:
    return [d["rule"] for d in r.json["diagnoses"]]


def test_is_it_our_broker(tmp_path: Path, named_server: Any) -> None:
    broker = named_server("java", *KAFKA_ARGS)
    stranger = named_server("java", "-jar", "kafka-ui.jar")
    team = pack(tmp_path, f"""\
        format: 1
        rules:
          - id: team.not_our_broker
            title: Something other than our broker holds a broker port
            category: port-conflict
            priority: 97
            when:
              all:
                - {{fact: target, as: t, match: {{port: {{in: [{broker}, {stranger}]}}}}}}
                - {{fact: listener, as: l, match: {{port: $t.port}}}}
            exceptions:
              - {{fact: listener, match: {{cmdline: {{contains: kafka.Kafka}}}}}}
            then:
              - conclude: {{summary: "pid {{l.pid}} is not our broker"}}
    """)
    assert len(" ".join(["java", *KAFKA_ARGS])) > 4000
    r = run_cli("--rules", str(team), "--ask", f"cannot connect to localhost:{broker}", "--json",
                environ=env(tmp_path))
    assert "team.not_our_broker" not in rules_of(r), r.json["diagnoses"]
    r = run_cli("--rules", str(team), "--ask", f"cannot connect to localhost:{stranger}",
                "--json", environ=env(tmp_path))
    assert rules_of(r)[0] == "team.not_our_broker"


def test_a_rule_keyed_to_the_teams_own_error_text_with_a_runbook(tmp_path: Path,
                                                               named_server: Any) -> None:
    tunnel = named_server("ssh", "-N", "-L", "15432:warehouse-db:5432", "bastion")
    team = pack(tmp_path, f"""\
        format: 1
        rules:
          - id: team.tunnel_far_end
            title: The tunnel is up; its far end refused
            category: reachable
            priority: 97
            when:
              all:
                - {{fact: target, as: t, match: {{port: {tunnel}}}}}
                - {{fact: symptom, match: {{text: {{matches: "channel \\\\d+: open failed: connect"}}}}}}
                - {{fact: listener, as: l, match: {{port: $t.port, process: ssh}}}}
            then:
              - check: listeners
              - conclude:
                  summary: "The tunnel on {{t.port}} works; the warehouse behind it refused."
                  links:
                    - {{title: "Runbook: the warehouse tunnel", url: "https://wiki.example.com/tunnel"}}
                    - https://wiki.example.com/warehouse
    """)
    text = (f"psql: error: connection to server at \"localhost\" (127.0.0.1), port {tunnel} "
            "failed: server closed the connection unexpectedly\n"
            "channel 2: open failed: connect failed: Connection refused")
    r = run_script("--rules", str(team), "--ask", text, "--json", env=env(tmp_path))
    top = r.json["diagnoses"][0]
    assert top["rule"] == "team.tunnel_far_end"
    assert top["links"] == [{"title": "Runbook: the warehouse tunnel",
                             "url": "https://wiki.example.com/tunnel"},
                            {"title": "", "url": "https://wiki.example.com/warehouse"}]
    out = run_script("--rules", str(team), "--ask", text, env=env(tmp_path)).out
    assert "  Runbook: the warehouse tunnel\n    https://wiki.example.com/tunnel\n" in out
    assert "  See:\n    https://wiki.example.com/warehouse\n" in out
    md = run_script("--rules", str(team), "--ask", text, "--markdown", env=env(tmp_path)).out
    assert "- [Runbook: the warehouse tunnel](<https://wiki.example.com/tunnel>)" in md
    # The same text without ssh's words is not this rule.
    plain = text.rsplit("\n", 1)[0]
    r = run_cli("--rules", str(team), "--ask", plain, "--json", environ=env(tmp_path))
    assert "team.tunnel_far_end" not in rules_of(r)


def test_the_text_rules_see_is_redacted(tmp_path: Path, named_server: Any) -> None:
    port = named_server("python3")
    team = pack(tmp_path, f"""\
        format: 1
        rules:
          - id: team.secret_seen
            title: T
            category: reachable
            priority: 99
            when:
              all:
                - {{fact: target, match: {{port: {port}}}}}
                - {{fact: symptom, match: {{text: {{contains: hunter2}}}}}}
            then: [{{conclude: {{summary: "the rule saw the password"}}}}]
    """)
    r = run_cli("--rules", str(team), "--ask",
                f"psql postgres://app:hunter2@localhost:{port}/db: connection refused", "--json",
                environ=env(tmp_path))
    assert "team.secret_seen" not in rules_of(r) and "hunter2" not in r.out
