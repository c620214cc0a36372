"""Generate N team rules of four realistic shapes (port-specific service checks,
wrong owner, client hints with `in` lists, near-miss ports) for the scale benchmarks."""

import random
import sys
from pathlib import Path


def gen(n, out: Path, seed=3):
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    per_file = 100
    for f in range(0, n, per_file):
        lines = ["format: 1", "rules:"]
        for i in range(f, min(n, f + per_file)):
            port = 20000 + i
            kind = i % 4
            if kind == 0:   # a team service that should be running
                when = f"""      all:
        - {{fact: target, as: t, match: {{port: {port}}}}}
        - not: {{fact: listener, match: {{port: $t.port}}}}"""
            elif kind == 1:  # the wrong process holds the port
                when = f"""      all:
        - {{fact: target, as: t, match: {{port: {port}}}}}
        - {{fact: listener, as: l, match: {{port: $t.port, process: {{ne: svc{i}}}}}}}"""
            elif kind == 2:  # a client-specific hint
                other = port + 30000 if port + 30000 < 65536 else port
                when = f"""      all:
        - {{fact: symptom, match: {{client: {{in: [curl, node, python]}}, error: refused}}}}
        - {{fact: target, as: t, match: {{port: {{in: [{port}, {other}]}}}}}}"""
            else:  # a near-miss of the team's port
                when = f"""      all:
        - {{fact: target, as: t, match: {{port: {port}}}}}
        - {{fact: near_listener, as: n, match: {{port: {port + 1}}}}}"""
            lines.append(f"""  - id: team.r{i}
    title: Team rule {i}
    category: nothing-listening
    priority: {rng.randint(10, 90)}
    when:
{when}
    then:
      - conclude:
          summary: "team rule {i} for port {{t.port}}"
          kb: [service-not-running]""")
        (out / f"team{f // per_file:03d}.yaml").write_text("\n".join(lines) + "\n")
if __name__ == "__main__":
    gen(int(sys.argv[1]), Path(sys.argv[2]))
