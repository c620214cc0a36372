"""`assistant doctor`: a checkup of this machine's local networking, with no
error to start from.

The same engine, collectors and rule files as a diagnosis. The session
asserts one `checkup` fact and nothing else; rules on it need no target
(rules/doctor.yaml gathers the machine's facts and concludes on them, and a
team's rules may do the same). Each conclusion is one line of the checkup:
its severity gives the mark (problem ✗, warning !, info ✓), its rule id
the area (`doctor.AREA.…`; a team's own rules are `team`), and its fixes
are this system's. A check that could not tell is a `?` line of its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from assistant.facts.base import CheckResult, Context, run_checks
from assistant.report import Finding, Report

if TYPE_CHECKING:
    from assistant.engine.driver import Conclusion
    from assistant.session import Progress, Session

# The areas, in the order a checkup shows them, with their headings.
AREAS = {"names": "Names", "loopback": "Loopback", "proxy": "Proxies", "ports": "Ports",
         "team": "Team services", "environment": "Environment"}
# A check that could not tell: its area, and what could not be checked.
CHECK_AREAS = {"local_names": ("names", "how this machine's names resolve"),
               "hosts_file": ("names", "the hosts file"),
               "loopback": ("loopback", "the loopback interface"),
               "loopback_filter": ("loopback", "whether the packet filter lets loopback "
                                   "connections through"),
               "local_proxy": ("proxy", "the proxy variables"),
               "port_ranges": ("ports", "the port ranges"),
               "all_listeners": ("ports", "what listens on this machine"),
               "time_wait": ("ports", "the sockets in TIME_WAIT"),
               "services": ("team", "the team's services"),
               "environment": ("environment", "where this runs")}
STATUS = {"problem": "problem", "warning": "warning", "info": "ok"}
# The report's OS names for sys.platform's.
OS_OF = {"linux": "linux", "darwin": "macos", "win32": "windows"}


def this_os(system: str) -> str:
    """`linux`, `macos`, `windows` (or `other`) for a sys.platform value."""
    return OS_OF.get(system, "linux" if system.startswith("linux") else "other")


def checkup_fact(system: str, root: bool) -> dict[str, Any]:
    return {"type": "checkup", "os": this_os(system), "root": root}


def _is_root() -> bool:
    import os

    return hasattr(os, "geteuid") and os.geteuid() == 0


def area_of(rule_id: str) -> str:
    parts = rule_id.split(".")
    if parts[0] == "doctor" and len(parts) > 2 and parts[1] in AREAS:
        return parts[1]
    return "team"  # a rule that needs no target and is not built in: a team's


def line(c: Conclusion, os_name: str) -> Finding:
    """One checkup line from a conclusion: its mark, sentence and this OS's fixes."""
    d = c.diagnosis
    status = STATUS[d.severity]
    fix = [f for f in d.fix if f.os in (os_name, "any")] if status != "ok" else []
    data: dict[str, Any] = {"evidence": d.evidence, "processes": d.processes, "kb": d.kb}
    if d.links:
        data["links"] = [link.to_json() for link in d.links]
    return Finding(area_of(d.rule), status, d.summary, data, id=d.rule, fix=fix)


def unknown_line(res: CheckResult) -> Finding:
    from assistant.facts.collectors import BY_NAME

    collector = BY_NAME.get(res.name)
    doc = collector.doc.rstrip(".") if collector else res.name
    area, what = CHECK_AREAS.get(res.name, ("team", f"{doc[0].lower()}{doc[1:]}"))
    return Finding(area, "unknown", f"Could not check {what}: {res.reason}.",
                   {"ms": round(res.ms, 1)}, res.ms, id=f"check.{res.name}")


def findings(conclusions: list[Conclusion], results: list[CheckResult], order: dict[str, int],
             os_name: str) -> list[Finding]:
    """The checkup's lines: by area, then in the rule files' order (firing
    order within a rule), then the checks that could not tell."""
    lines = [(line(c, os_name), order.get(c.rule.id, len(order)), c.order) for c in conclusions]
    lines += [(unknown_line(r), len(order) + 1, i) for i, r in enumerate(results)
              if r.status == "unknown"]
    area = list(AREAS)
    lines.sort(key=lambda x: (area.index(x[0].check) if x[0].check in area else len(area),
                              x[1], x[2]))
    return [f for f, _, _ in lines]


def run(session: Session, progress: Progress | None = None) -> Report:
    """The checkup, over the session's rules (built-in and team)."""
    from assistant.engine import driver
    from assistant.facts.collectors import BY_NAME
    from assistant.facts.system import platform
    from assistant.understand.symptoms import Target

    opts = session.options
    ctx = Context(target=Target(), env=opts.env, probe_timeout=opts.probe_timeout,
                  hosts_path=opts.hosts_path, services=session.ruleset().services)

    def checks(names: list[str]) -> list[CheckResult]:
        if progress:
            for n in names:
                progress(n, None)
        results = run_checks(names, ctx, BY_NAME, opts.check_overrides)
        if progress:
            for r in results:
                progress(r.name, r)
        return results

    compiled = session.compiled()
    system = platform.system()
    outcome = driver.run(compiled, [checkup_fact(system, _is_root())], checks, {},
                         separate=True)
    order = {r.id: i for i, r in enumerate(compiled.rules)}
    report = Report("checkup", "doctor", {"host": None, "port": None, "scheme": None,
                                          "error": None, "client": None})
    report.findings = findings(outcome.conclusions, outcome.checks, order, this_os(system))
    report.trace = outcome.trace
    report.notes = list(outcome.errors)
    return report


def has_problem(report: Report) -> bool:
    """Exit 1: some line is ✗."""
    return any(f.status == "problem" for f in report.findings)
