"""What the chat does with a follow-up: check again, say who holds the port,
show the commands for another OS, offer to stop a process, watch until it
works. Plain functions over a Chat (conversation.py), like its slash
commands; the words themselves are read by understand/followup.py.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from assistant import stopping, watch
from assistant.facts.system import processes
from assistant.render.options import OS_LABEL
from assistant.render.text import render
from assistant.report import Command, Report
from assistant.understand.addresses import hostport
from assistant.understand.followup import FollowUp

if TYPE_CHECKING:
    from assistant.conversation import Chat, Exchange

OS_NAMES = {"linux", "macos", "windows"}


def act(chat: Chat, said: FollowUp) -> None:
    """Carry out one follow-up."""
    if said.kind in ("again", "works", "still"):
        again(chat, said.kind)
    elif said.kind == "who":
        who(chat)
    elif said.kind == "process":
        process(chat)
    elif said.kind == "os":
        fix(chat, said.os or "")
    elif said.kind == "all-os":
        fix(chat, "all")
    elif said.kind == "fix":
        fix(chat, "")
    elif said.kind == "stop":
        stop(chat)
    elif said.kind == "watch":
        watch_command(chat, "")
    elif said.kind == "thanks":
        chat.tell("Glad to help. Describe another problem any time; Ctrl-D leaves.")
    elif said.kind == "hello":
        chat.tell("Hello. Describe the connection that fails (or paste the error), or ask a "
                  "question about localhost and ports.")
    else:  # a bare yes with nothing offered
        chat.tell("OK.")


def again(chat: Chat, why: str) -> None:
    """Run the last problem again and say what that showed, against what it was."""
    before = chat.last(diagnosis=True)
    if before is None or chat.problem is None:
        return
    chat.say("  … checking again")
    report = chat.recheck()
    if report is None:
        return
    if watch.works(report):
        chat.history.append(_exchange(chat, report))
        chat.pending = None
        if why == "still":
            chat.tell(f"From here it works: {watch.working(report)}. If your client still "
                      "fails, it dials something else or fails above TCP: paste its exact "
                      "error.")
        else:
            chat.tell(("Confirmed, it works: " if why == "works" else "It works now: ")
                      + watch.working(report) + ".")
        return
    same = [d.summary for d in before.diagnoses[:1]] == [d.summary for d in report.diagnoses[:1]]
    if same and report.diagnoses:
        chat.history.append(_exchange(chat, report))
        lead = "Not yet: the checks" if why == "works" else "The checks"
        chat.tell(f"{lead} show the same as before. {report.diagnoses[0].summary}")
        if len(report.diagnoses) > 1 and why == "still":
            chat.tell(f"If that is not it, the next likeliest: {report.diagnoses[1].summary}")
        chat.tell("Say \"watch it\" and I will check every second until it works.")
        return
    if why == "works":
        chat.say("Not quite: something changed, but it does not work yet.")
    chat.last_text = chat.problem.text
    chat.answers, chat.skipped = dict(chat.problem.answers), set(chat.problem.skipped)
    chat.show(report, chat.problem.text)


def fresh(chat: Chat) -> Report | None:
    """The last problem looked at again, quietly: who holds a port changes
    (a server started, a process stopped), so the answer is read now. After
    a question about a port ("is port 7650 free?"), that port's listeners
    (field trial 11: "who uses it?" had no connection to look at)."""
    asked = _asked_port(chat)
    if asked is not None:
        return chat.session.ask(f"what is listening on port {asked}?")
    before = chat.last(diagnosis=True)
    if before is None:
        return None
    report = chat.recheck()
    if report is None or report.kind != "diagnosis":
        return before
    chat.history.append(_exchange(chat, report))
    return report


def _asked_port(chat: Chat) -> int | None:
    """The port of the last answer about a port, when no diagnosis came after it."""
    for ex in reversed(chat.history):
        r = ex.report
        if r.kind == "diagnosis":
            return None
        port = r.target.get("port")
        if r.kind == "answer" and isinstance(port, int) and any(
                f.check == "listeners" for f in r.findings):
            return port
    return None


def who(chat: Chat) -> None:
    """Who listens on the diagnosed port now."""
    report = fresh(chat)
    if report is None:
        return
    port = report.target.get("port")
    found = stopping.holders(report)
    if found:
        for h in found:
            user = f", user {h.user}" if h.user else ""
            on = f" on {hostport(h.address, h.port)}" if h.address else f" on port {port}"
            chat.tell(f"{h.name} (pid {h.pid}{user}) is listening{on}.")
        return
    if stopping.hidden_holder(report):
        chat.tell(f"Something listens on port {port}, but its process is hidden from you (it "
                  f"belongs to another user). To see it: sudo ss -ltnp 'sport = :{port}' "
                  f"(macOS: sudo lsof -nP -iTCP:{port} -sTCP:LISTEN).")
        return
    if port is None:
        chat.tell("The last problem has no port to look at.")
        return
    chat.tell(f"Nothing listens on port {port} right now.")
    for line in _near(report):
        chat.tell(f"Close by: {line}.", "  ")


def _near(report: Report) -> list[str]:
    """`port 3001 has python3, pid 6941 (one digit off)` for each near listener."""
    near = [f for f in report.findings if f.check == "near_listeners"]
    out = []
    for fact in (near[0].data.get("facts", []) if near else [])[:3]:
        pid = f", pid {fact['pid']}" if fact.get("pid") else ""
        out.append(f"port {fact['port']} has {fact.get('process') or 'a process'}{pid} "
                   f"({_relation(fact)})")
    return out


def process(chat: Chat) -> None:
    """Everything the diagnosis sees of the process(es) on the port now."""
    report = fresh(chat)
    if report is None:
        return
    found = stopping.holders(report)
    if not found:
        who(chat)
        return
    for h in found:
        chat.tell(f"{h.name}, pid {h.pid}")
        for label, value in (("user", h.user), ("listening on", h.address and hostport(
                h.address, h.port)), ("service", h.unit), ("command", h.cmdline)):
            if value:
                chat.tell(f"{label}: {value}", "  ")


def fix(chat: Chat, arg: str) -> None:
    """The last diagnosis's commands: this OS's, every OS's (`all`), or one OS's."""
    report = chat.last(settled=True)
    if report is None:
        return
    arg = arg.lower().strip()
    os_name = {"mac": "macos", "osx": "macos", "win": "windows"}.get(arg, arg)
    if os_name and os_name != "all" and os_name not in OS_NAMES:
        chat.tell("Say /fix, /fix all, or /fix linux, /fix macos, /fix windows.")
        return
    commands = report.diagnoses[0].fix if report.diagnoses else \
        (report.answers[0].commands if report.answers else [])
    if not commands:
        chat.tell("The last answer has no commands to run.")
        return
    opts = chat.options(all_os=os_name == "all", os_name=os_name if os_name in OS_NAMES else None)
    shown, _ = opts.commands(commands)
    if os_name in OS_NAMES and not any(c.os == os_name for c in shown):
        chat.tell(f"Nothing {OS_LABEL[os_name]}-specific for this one; the steps are the same "
                  "on every OS:")
    elif os_name in OS_NAMES:
        chat.tell(f"On {OS_LABEL[os_name]}:")
    block = Report(report.kind, report.input, report.target, diagnoses=report.diagnoses[:1])
    if not report.diagnoses:
        chat.say(_commands_only(shown))
        return
    text = render(block, opts).split("\n")
    start = next((i for i, line in enumerate(text) if line.startswith(("  Confirm", "  Fix"))),
                 None)
    chat.say("\n".join(line for line in text[start:] if not line.startswith(
        "  Knowledge base")).rstrip() if start is not None else _commands_only(shown))


def stop(chat: Chat) -> None:
    """Offer to stop the process holding the port now; it stops only after a yes."""
    report = fresh(chat)
    if report is None:
        return
    found = stopping.holders(report)
    port = report.target.get("port")
    if not found:
        if stopping.hidden_holder(report):
            chat.tell(f"Something holds port {port}, but it belongs to another user, so I "
                      f"cannot even see which process. To find it: sudo ss -ltnp "
                      f"'sport = :{port}'; then, if it is safe: sudo kill PID.")
        else:
            chat.tell(f"Nothing holds port {port}, so there is nothing to stop."
                      if port else "There is no process in the last diagnosis to stop.")
            near = _near(report)
            if near:
                chat.tell(f"({near[0]}: that one may be the server you meant.)", "  ")
        return
    h = found[0]
    reason = stopping.refusal(h) or stopping.needs_sudo(h)
    if reason is not None:
        chat.tell(reason)
        return
    seen = processes.identity(h.pid)
    if seen is None:
        chat.tell(f"{h.name} (pid {h.pid}) is not running any more. Say \"try again\" to look "
                  "at the port now.")
        return
    others = [o for o in found[1:] if o.pid != h.pid]
    if others:
        chat.tell("Also on the port: " + ", ".join(f"{o.name} (pid {o.pid})" for o in others)
                  + "; I offer them one at a time.")

    def yes() -> None:
        chat.tell(stopping.stop(h, seen))
        chat.tell("Say \"try again\" to check the port now.")

    from assistant.conversation import Offer

    chat.offer = Offer(stopping.offer(h), yes)
    chat.tell(f"{chat.offer.text} [yes / no]")


def watch_command(chat: Chat, arg: str) -> None:
    """Check the last problem every second until it works, or the time is up."""
    try:
        timeout = float(arg) if arg else watch.DEFAULT_TIMEOUT
    except ValueError:
        chat.tell("/watch takes the number of seconds to keep watching, e.g. /watch 120.")
        return
    if not 0 < timeout <= watch.MAX_TIMEOUT:
        chat.tell(f"/watch takes between 1 and {watch.MAX_TIMEOUT:g} seconds.")
        return
    if chat.last(diagnosis=True) is None or chat.problem is None:
        return
    chat.tell(f"Watching (every second, up to {timeout:g} s; Ctrl-C stops). I will only say "
              "what changes.")
    last = None
    try:
        for r in watch.watch(lambda: _quiet(chat), timeout=timeout):
            last = r
            for line in r.changes:
                chat.tell(f"after {r.elapsed:.0f} s: {line}", "  ")
    except KeyboardInterrupt:
        chat.say("Stopped watching.")
        return
    finally:
        if last is not None:
            chat.history.append(_exchange(chat, last.report))
            chat.pending = None
    if last is None:
        return
    if last.state == "fixed":
        chat.tell(watch.fixed_line(last.report) + ".")
    elif last.state == "timeout":
        top = last.report.diagnoses[0].summary if last.report.diagnoses else "no cause found"
        chat.tell(f"Still not working after {timeout:g} s; I stopped watching. Now: {top}")
    else:
        chat.tell("There is nothing to watch: the last message needs an answer first.")


def report(chat: Chat, target: str) -> None:
    """/report [FILE]: the conversation as Markdown, for a ticket (mode 0600)."""
    from assistant.render.markdown import render as markdown

    if not chat.history:
        chat.say("Nothing to report yet.")
        return
    parts = [markdown(ex.report, title=f"{n}. {ex.text[:60]}")
             for n, ex in enumerate(chat.history, 1)]
    text = "# Connection troubleshooting report\n\n" + "\n".join(parts)
    if not target:
        chat.say(text.rstrip("\n"))
        return
    path = Path(target).expanduser()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
    except OSError as exc:
        chat.say(f"Cannot write {path}: {exc.strerror}")
        return
    chat.say(f"Report written to {path} ({len(chat.history)} exchange(s)).")


def providers() -> dict[str, str]:
    """Fact type -> the check that gathers it, for the checks loaded so far
    (the ones a diagnosis ran)."""
    from assistant.facts.collectors import loaded

    return {t.name: c.name for c in loaded() for t in c.provides}


def phrase(chat: Chat, report: Report) -> Callable[[str], str]:
    """A check's plain question about the report's target."""
    from assistant.facts.collectors import get
    from assistant.understand.symptoms import Target

    t = report.target
    target = Target(host=t.get("host"), port=t.get("port"), path=t.get("path"))

    def ask(name: str) -> str:
        c = get(name)
        return c.question(target) if c is not None else name.replace("_", " ")

    return ask


def _quiet(chat: Chat) -> Report:
    report = chat.recheck()
    if report is None:
        raise KeyboardInterrupt  # cannot happen after a diagnosis; stop watching if it does
    return report


def _exchange(chat: Chat, report: Report) -> Exchange:
    from assistant.conversation import Exchange

    return Exchange(chat.history[-1].text if chat.history else "", report)


def _relation(fact: dict[str, object]) -> str:
    return {"digit": "one digit off", "swap": "two digits swapped",
            "same-process": "the process was told to use your port"}.get(
        str(fact.get("relation")), f"{fact.get('distance')} away")


def _commands_only(commands: list[Command]) -> str:
    return "\n".join(f"    {c.os:<8} {c.command}" + (f"\n             # {c.why}" if c.why else "")
                     for c in commands)
