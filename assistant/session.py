"""One conversation: text in, Report out. The REPL and --ask share it."""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.dirs import cache_dir
from assistant.engine.model import RuleSet
from assistant.errors import InputError
from assistant.facts.base import CheckResult, Context, Fact, run_checks
from assistant.report import Answer, Finding, Question, Report
from assistant.understand import commands, symptoms
from assistant.understand.patterns import CLIENT_QUESTIONS
from assistant.understand.redact import clean, shortened

if TYPE_CHECKING:
    from assistant.engine.driver import Compiled, Outcome
    from assistant.knowledge.entries import Entry, KnowledgeBase

MAX_ECHO = 2000
# Confidence (kbsearch: share of the question's word weight an entry covers).
# Measured on the labelled questions (tests/data): correct first answers have
# a median of 0.69 and a 10th percentile of 0.31; off-topic text stays
# mostly under 0.25.
ANSWER_THRESHOLD = 0.3
ALSO_THRESHOLD = 0.3
DID_YOU_MEAN = 0.12
PORT_QUESTION = "Which port? (the number after the colon, e.g. 3000 in localhost:3000)"
TIED_QUESTION = "That fits more than one answer. Which did you mean? (answer with the id)"
USUAL_LOCAL = ("127.0.0.1", "::1")
# The port the knowledge base's commands use as their example (the seed
# question's); an answer to a question about another port shows that one.
# The example ports knowledge-base commands use, put back to the asked port.
KB_EXAMPLE_PORTS = re.compile(r"(?<!\d)(?:62893|3000)(?!\d)")
# "is port 7712 free?", "is 8080 in use", "is anything listening on port 5000"
IS_PORT_FREE = re.compile(r"\bis (?:port )?\d{1,5} (?:free|available|in use|taken|used|busy)\b|"
                          r"\bis (?:any|some)(?:thing|one) (?:listening|running|using)\b", re.I)
# The OS a question asks about: "which process uses port 7750 on Windows?".
_ASKED_OS = re.compile(r"\b(?:on|for|in|with|using) (?:a |an |the |my )?(?:(?P<macos>mac(?:os| ?os ?x|"
                       r"book)?|os ?x)|(?P<windows>windows(?: 1[01])?|powershell|cmd)|"
                       r"(?P<linux>linux|ubuntu|debian|fedora|wsl))\b", re.I)
# Words that put a service on the host (a container's or WSL's view), beside "on Windows".
_HOST_WORDS = re.compile(r"\b(?:on|in) (?:the|my) host\b|\bhost machine\b|host\.docker\.internal|"
                         r"\bfrom (?:the )?host\b|\bwsl\b", re.I)


def _asked_os(text: str) -> str | None:
    m = _ASKED_OS.search(text)
    return next((k for k, v in m.groupdict().items() if v), None) if m else None


# A question about what an error word means, with nothing to diagnose.
_DEFINITION = re.compile(r"^\s*(?:what(?:'s| does| do| is| are) (?:an? |the )?\S.{0,50}? mean(?:s|ing)?|"
                         r"what(?:'s| is) (?:an? |the )?E[A-Z]{3,15}|(?:explain|define) (?:an? |the )?"
                         r"E[A-Z]{3,15})\s*[?.!]*\s*$", re.I)
_QUESTION_WORDS = re.compile(
    r"^\s*(?:what|how|why|when|where|which|who|can|could|should|is|are|do|does|will|would|"
    r"explain|tell me|difference)\b|\?\s*$", re.I)
# A server's own refusal pasted alone ("NOAUTH Authentication required."):
# a failing connection whose port is still to ask, not a KB question.
SERVER_ANSWERS = frozenset({"redis-maxclients", "redis-auth", "mysql-access-denied",
                            "pg-auth-failed", "pg-too-many-clients", "ws-not-upgraded",
                            "mysql-unknown-db", "pg-unknown-db", "pg-hba-no-entry",
                            "cert-name", "cert-expired", "cert-untrusted",
                            "mysql-host-not-allowed", "pg-peer-auth", "pg-no-password",
                            "client-cert", "mysql-too-many", "ssh-host-key-changed",
                            "pg-server-closed"})
_PROBLEM_WORDS = re.compile(r"\b(?:connect|connection|refused|reach|fail|error|cannot|can't|"
                            r"unable|won't|doesn't work|not working|down|timeout)\b", re.I)

# Any word of a failure, for telling a question about a port from a failure
# reported as a question ("why does 127.0.0.1:3000 refuse?").
_FAILING = re.compile(r"\b(?:refus|fail|error|time[sd]?\s?out|hang|hung|denied|reset|block|"
                      r"drop|unreachable|broke|crash|stuck|slow)\w*|\bnot\s+(?:work|respond|"
                      r"load|open|reach)\w*", re.I)

Overrides = Mapping[str, Callable[[Context], list[Fact]]]
Progress = Callable[[str, "CheckResult | None"], None]


class Options:
    """How a session looks (a plain class: a dataclass costs startup time)."""

    def __init__(self, env: Mapping[str, str] | None = None,
                 rule_dirs: list[Path] | None = None, cwd: Path | None = None,
                 probe_timeout: float = 1.5, hosts_path: str = "/etc/hosts",
                 check_overrides: Overrides | None = None) -> None:
        self.env: Mapping[str, str] = dict(os.environ) if env is None else env
        self.rule_dirs = rule_dirs if rule_dirs is not None else []  # --rules, last on the path
        self.cwd = cwd if cwd is not None else Path.cwd()  # where .assistant/rules.d is looked for
        self.probe_timeout = probe_timeout
        self.hosts_path = hosts_path
        self.check_overrides = check_overrides  # tests replace collectors here


class Session:
    """Holds the compiled rules and the knowledge base across questions."""

    def __init__(self, options: Options | None = None):
        self.options = options or Options()
        self._compiled: Compiled | None = None
        self._ruleset: RuleSet | None = None
        self._definitions: dict[str, Any] | None = None
        self._kb: KnowledgeBase | None = None
        self.last: Report | None = None
        # Messages for the user about the rule search path (untrusted dirs).
        self.warnings: list[str] = []
        self._progress: Progress | None = None
        self._text = ""  # the question being diagnosed, for the symptom's `text`
        self._asked_os: str | None = None  # the OS the question names ("... on Windows?")
        self._target: symptoms.Target | None = None  # the target being diagnosed

    # -- lazily loaded parts ------------------------------------------------
    def ruleset(self) -> RuleSet:
        if self._ruleset is None:
            from assistant.engine.cache import load_ruleset
            from assistant.engine.sources import files_of, search_path

            found = search_path(self.options.env, self.options.cwd, self.options.rule_dirs)
            self.warnings.extend(found.skipped)
            self._ruleset, self._definitions = load_ruleset(files_of(found),
                                                            cache_dir(self.options.env))
        return self._ruleset

    def compiled(self) -> Compiled:
        if self._compiled is None:
            from assistant.engine.driver import Compiled

            ruleset = self.ruleset()
            self._compiled = Compiled(ruleset, self._definitions)
        return self._compiled

    def kb(self) -> KnowledgeBase:
        if self._kb is None:
            from assistant.knowledge import entries as kb

            self._kb = kb.load(kb.directories(self.options.env), cache=cache_dir(self.options.env))
        return self._kb

    # -- the use case -------------------------------------------------------
    def ask(self, text: str, answers: Mapping[str, str] | None = None,
            progress: Progress | None = None, skipped: Collection[str] = ()) -> Report:
        """Diagnose or answer `text`. Raises InputError for unusable input.

        `answers` are the user's answers to questions by id; `skipped` the
        ids of questions the user chose not to answer (never an answer value).
        `progress(name, result)` is called when a check starts (result None)
        and when it ends, so a shell can show each check as it runs.
        """
        answers = dict(answers or {})
        skipped = frozenset(skipped) - set(answers)
        self._progress = progress
        self._text = text
        echo = clean(text.strip())
        if len(echo) > MAX_ECHO:
            echo = echo[:MAX_ECHO] + f"… ({len(text)} characters in all)"
        if answers.get("topic"):
            return self._done(self._topic(answers["topic"], echo))
        target = symptoms.parse(text)
        target = symptoms.with_answers(target, answers)
        # A client's own question (psql's "Is the server running ...?") is not the user's.
        question_like = bool(_QUESTION_WORDS.search(
            CLIENT_QUESTIONS.rx.sub("", text) if CLIENT_QUESTIONS.applies(text.lower()) else text))
        self._asked_os = _asked_os(text) if question_like else None
        if self._asked_os and "service-on-host" in target.signals \
                and not _HOST_WORDS.search(text):
            # "how do I ... on Windows?" names the reader's OS, not where a service runs.
            target.signals = [s for s in target.signals if s != "service-on-host"]
        # A name that does not resolve, or loopback reached from elsewhere,
        # can be diagnosed without a port.
        host_only = target.port is None and target.host is not None and (
            target.error == "unresolved"
            or bool(target.remote and target.parsed and target.parsed.loopback))
        if target.port is None and "unsafe-port" in target.signals:
            host_only = True  # the browser refused the port itself: no address is needed
        if target.port is None and "bad-port" in target.signals:
            host_only = True  # the program refused a port no socket can have (node's -1)
        if target.port is None and "socks-missing" in target.signals:
            host_only = True  # the client stopped before any connection: no address needed
        if target.port is None and target.role == "server" and target.error == "permission":
            host_only = True  # a refused bind: the privileged range is the answer (field trial 10)
        if target.host is None and target.role == "server" \
                and "addr-not-available" in target.signals:
            host_only = True  # its address is not this machine's, whatever the port
        proxy_note = None
        if target.port is None and target.host is None and target.path is None \
                and target.role == "client" and target.error in ("refused", "timeout") \
                and not host_only:
            proxy_note = _proxy_target(target, self.options.env)
            host_only = proxy_note is not None
        if target.assumed_path and target.client == "docker":
            _docker_endpoint(target, self.options.env, question_like)
        if target.path is not None:
            return self._done(self._diagnosis(target, answers, echo, True, skipped))
        if target.port is None and target.host is None and not host_only \
                and _DEFINITION.match(text):
            # "what does ECONNREFUSED mean?" asks a meaning, not a diagnosis
            # (field trial 11: it ended in "which host and port?", exit 3).
            report = self._kb_report(text, echo, target)
            if report is not None:
                return self._done(report)
        if target.port is None and not host_only:
            if target.error is None and not host_only and (
                    question_like or not (_PROBLEM_WORDS.search(text)
                                          or SERVER_ANSWERS & set(target.signals)
                                          or "curl-bad-url" in target.signals)):
                report = self._kb_report(text, echo, target)
                if report is not None:
                    return self._done(report)
                if question_like and target.host is None:
                    return self._done(Report("needs-input", echo, target.to_json(), questions=[
                        Question("topic", "No knowledge-base entry matches that. Rephrase the "
                                 "question, or describe the failing connection with its host "
                                 "and port.")]))
            return self._done(self._need_address(text, echo, target, skipped))
        if question_like and target.error is None and target.role == "server" \
                and set(target.signals) <= {"server-start"}:
            # "what is listening on port 22?" is a question, not a server's banner.
            target.role = "client"
            target.signals = []
        if question_like and target.error is None and not target.signals \
                and target.role != "server" and not _PROBLEM_WORDS.search(text) \
                and not _FAILING.search(text):
            about = self._about_port(text, echo, target)
            if about is not None:
                return self._done(about)
        report = self._diagnosis(target, answers, echo, host_only, skipped)
        if proxy_note is not None:
            report.notes.insert(0, proxy_note)
        if question_like:
            report.answers = self._answers(text)
        return self._done(report)

    def checkup(self, progress: Progress | None = None) -> Report:
        """`assistant doctor`: this machine's checkup, no target (checkup.py)."""
        from assistant.checkup import run

        return self._done(run(self, progress))

    def _diagnosis(self, target: symptoms.Target, answers: dict[str, str], echo: str,
                   host_only: bool, skipped: frozenset[str]) -> Report:
        notes: list[str] = []
        if target.host is None and target.path is None and target.role != "server":
            _assume_localhost(target)
            if "host" in skipped:
                # The usual local addresses, whatever localhost resolves to here.
                target.dial = list(USUAL_LOCAL)
                notes.append("host skipped: checking localhost, " + " and ".join(USUAL_LOCAL))
            else:
                notes.append("no host given: assuming localhost")
        if target.assumed_path and target.client == "php":
            notes.append(f"no socket in the text: PHP's MySQL drivers take host=localhost to mean "
                         f"the UNIX socket; assuming their usual default {target.path} (php -i "
                         "| grep default_socket shows yours)")
        elif target.assumed_path:
            notes.append(f"no socket in the text: assuming the {target.client} CLI's default "
                         f"{target.path}")
        if target.assumed_port:
            notes.append(f"no port in the text: assuming {target.client}'s default {target.port} "
                         "(answer port=N if the client used another)")
        outcome = self._diagnose(target, answers, skipped)
        report = Report("diagnosis", echo, target.to_json(), notes=notes)
        report.findings = [finding(r, target) for r in outcome.checks]
        report.diagnoses = [c.diagnosis for c in outcome.conclusions]
        report.questions = list(outcome.questions)
        report.trace = outcome.trace
        report.notes.extend(outcome.errors)
        if host_only and not report.diagnoses and target.path is None and target.port is None:
            report.questions.append(Question("port", PORT_QUESTION))
        if not report.diagnoses and report.questions:
            report.kind = "needs-input"
        return report

    def _context(self, target: symptoms.Target,
                 services: list[dict[str, Any]] | None = None) -> Context:
        """What the checks look at for this target, from the session's options."""
        return Context(target=target, env=self.options.env,
                       probe_timeout=self.options.probe_timeout,
                       hosts_path=self.options.hosts_path, services=services)

    def _about_port(self, text: str, echo: str, target: symptoms.Target) -> Report | None:
        """A question that names a port and reports no failure ("which program
        is using port 7251?", "is it ok to run node as root for 443?"): the
        knowledge base answers it, with that port in its commands, and what
        listens on the port now stands beside it (alone, with a note, when
        no entry answers it)."""
        if target.port is None:
            return None
        answers = self._answers(text)
        port = str(target.port)

        def here(words: str) -> str:
            return KB_EXAMPLE_PORTS.sub(port, words)

        answers = [a._replace(commands=[c._replace(command=here(c.command), why=here(c.why))
                                        for c in a.commands]) for a in answers]
        if target.host is None:
            _assume_localhost(target)
        ctx = self._context(target)
        from assistant.facts.collectors import BY_NAME

        results = run_checks(["listeners"], ctx, BY_NAME, self.options.check_overrides)
        # No failure was reported: a free port is information, not a problem.
        found = [f._replace(status="ok") if f.status == "problem" else f
                 for f in (finding(r, target) for r in results)]
        notes = [] if answers else [
            f"the text reports no failure: above is what listens on port {port} now; paste "
            "the client's error to diagnose a connection that fails"]
        if IS_PORT_FREE.search(text) and results and results[0].status in ("ok", "problem"):
            taken = any(f.get("type") == "listener" for f in results[0].facts)
            notes.insert(0, f"port {port} is in use: see the listener above; pick another port "
                         "for your server" if taken else
                         f"port {port} is free: nothing listens on it (TCP, any address), so a "
                         "server can bind it")
            # The yes or no is the answer: an entry on stopping whatever holds a
            # port reads as advice to kill it (field trial 9).
            answers = []
        return Report("answer", echo, target.to_json(), notes=notes, findings=found,
                      answers=answers)

    def _need_address(self, text: str, echo: str, target: symptoms.Target,
                      skipped: frozenset[str]) -> Report:
        questions = []
        if target.role == "server":
            # A server that failed to bind: the port it wanted is likely held by
            # one of the listeners, and no client host is involved.
            questions.append(self._port_question(
                "Which port did the server try to use? (e.g. 8000 in python3 -m http.server "
                "8000)"))
            return Report("needs-input", echo, target.to_json(), questions=questions)
        if target.host is None and "host" not in skipped:
            questions.append(Question("host", "Which host or address does the client connect "
                                      "to? (e.g. localhost, 127.0.0.1, ::1)"))
        if "port" not in skipped:
            questions.append(self._port_question(client=target.client, scheme=target.scheme))
        if "curl-bad-url" in target.signals:
            # Its words say the URL is malformed, not which way: the URL says.
            return Report("needs-input", echo, target.to_json(), questions=questions, notes=[
                "curl rejected the URL itself (error 3: malformed URL) and sent nothing. Paste "
                "the command with its URL: a word where the port number goes "
                "(localhost:http-alt), an IPv6 address without brackets (http://::1:8000/), "
                "or a space or quote inside it are the usual causes"])
        # A database's own refusal (ERROR 1045) is no topic for the knowledge
        # base's near matches (field trial 11: "is 127.0.0.1 safe?").
        answers = [] if SERVER_ANSWERS & set(target.signals) else self._answers(text)
        return Report("needs-input", echo, target.to_json(), questions=questions,
                      answers=answers)

    def _port_question(self, text: str | None = None, client: str | None = None,
                       scheme: str | None = None) -> Question:
        """The port question, offering what listens on this machine now (the most
        recently started first, a server of the client's protocol before all:
        mariadbd for mysql): the user's server is likely among them."""
        from assistant.facts.listeners import listening_ports
        from assistant.facts.speaks import SERVER_PROCESSES, client_service

        ports = listening_ports(Context(target=symptoms.Target(), env=self.options.env))
        wanted = SERVER_PROCESSES.get(client_service(client, scheme) or "", ())
        if wanted:
            ports.sort(key=lambda p: (p[1] or "") not in wanted)
        lead = text or PORT_QUESTION
        if not ports:
            return Question("port", f"{lead} Nothing listens on this machine right now.")
        named = [f"{port} ({name or 'a process'})" for port, name in ports]
        shown = named[0] if len(named) == 1 else ", ".join(named[:-1]) + " and " + named[-1]
        return Question("port", f"{lead} Listening now: {shown}."
                        + ("" if text else (" Is it that one?" if len(ports) == 1 else
                                            " Is it one of those?")),
                        [str(port) for port, _ in ports])

    def _kb_report(self, text: str, echo: str, target: symptoms.Target) -> Report | None:
        """An answer when the best entry is a confident match; a "did you mean"
        question when it is a weak one; None when nothing matches."""
        hits = self.kb().search(text, limit=5)
        if not hits or hits[0][1] < DID_YOU_MEAN:
            return None
        if hits[0][1] >= ANSWER_THRESHOLD:
            tied = self.kb().near_ties(text)
            if tied:
                # Two entries answer it about equally well: ask rather than guess.
                return Report("needs-input", echo, target.to_json(),
                              answers=[_answer(e, score) for e, score in tied],
                              questions=[Question("topic", TIED_QUESTION, [e.id for e, _ in tied])])
            return Report("answer", echo, target.to_json(), answers=[
                _answer(e, score) for e, score in hits[:3] if score >= ALSO_THRESHOLD or e is hits[0][0]])
        choices = [e for e, score in hits[:4] if score >= DID_YOU_MEAN]
        return Report("needs-input", echo, target.to_json(),
                      answers=[_answer(e, score) for e, score in hits[:4] if e in choices],
                      questions=[Question("topic", "Not sure what you mean. Did you mean one of "
                                          "these? (answer with the id)", [e.id for e in choices])])

    def _topic(self, entry_id: str, echo: str) -> Report:
        entry = self.kb().get(entry_id.strip())
        if entry is None:
            raise InputError(f"no knowledge-base entry {entry_id.strip()!r} "
                             "(see `assistant kb list`)")
        return Report("answer", echo, {"host": None, "port": None, "scheme": None, "error": None,
                                       "client": None}, answers=[_answer(entry, 1.0)])

    def _done(self, report: Report) -> Report:
        report.asked_os = self._asked_os
        self.last = report
        return report

    def _answers(self, text: str) -> list[Answer]:
        """Confident answers only: for text that is also a live symptom."""
        return [_answer(e, score) for e, score in self.kb().search(text, limit=3)
                if score >= ANSWER_THRESHOLD]

    def check_question(self, name: str) -> str:
        """A running check as a plain question about the current target, for
        progress lines ("is anything listening on 3000?")."""
        from assistant.facts.collectors import get

        collector = get(name)
        if collector is None or self._target is None:
            return f"checking {name.replace('_', ' ')}"
        return collector.question(self._target)

    def _diagnose(self, target: symptoms.Target, answers: dict[str, str],
                  skipped: frozenset[str]) -> Outcome:
        from assistant.engine import driver

        self._target = target
        ctx = self._context(target, self.ruleset().services)

        def checks(names: list[str]) -> list[CheckResult]:
            if self._progress:
                for n in names:
                    self._progress(n, None)
            from assistant.facts.collectors import BY_NAME

            results = run_checks(names, ctx, BY_NAME, self.options.check_overrides)
            if self._progress:
                for r in results:
                    self._progress(r.name, r)
            return results

        facts = initial_facts(target, self._text)
        return driver.run(self.compiled(), facts, checks, answers, skipped)


def _assume_localhost(target: symptoms.Target) -> None:
    """No host in the text: localhost, said so (assumed_host)."""
    target.host, target.assumed_host = "localhost", True
    target.parsed = symptoms.parse_target_host("localhost")


def _proxy_target(target: symptoms.Target, env: Mapping[str, str]) -> str | None:
    """A refusal that names no address, from a client that reads a proxy
    variable set here (urllib's `<urlopen error [Errno 111] Connection
    refused>`): through a proxy, a refused connect is the proxy's, so the
    proxy's address is the one to check. Sets the target; returns the note."""
    from assistant.facts.proxy import split_address, variable_for

    found = variable_for(target.client, target.library, env)
    if found is None:
        return None
    variable, value = found
    host, port = split_address(value, 1080)
    if not host or port is None:
        return None
    target.host, target.port = host, port
    target.parsed = symptoms.parse_target_host(host)
    return (f"the text names no address; {variable} is set and {target.client} sends "
            f"requests through it: checking the proxy {clean(value)} (--answer host=H "
            "--answer port=P checks the server instead)")


def _docker_endpoint(target: symptoms.Target, env: Mapping[str, str], question: bool) -> None:
    """The docker CLI's endpoint when the text names none: DOCKER_HOST when it
    names a socket; nothing for a question or another kind of endpoint."""
    host = env.get("DOCKER_HOST", "")
    if question or (host and not host.startswith("unix://")):
        target.path, target.assumed_path = None, False
    elif host:
        target.path = host.removeprefix("unix://")


def finding(res: CheckResult, target: symptoms.Target) -> Finding:
    """One check's line for the user, from its collector's own summary."""
    from assistant.facts.collectors import BY_NAME

    data: dict[str, Any] = {"facts": [{k: shortened(v) if isinstance(v, str) else v
                                       for k, v in f.items() if k != "type"}
                                      for f in res.facts], "ms": round(res.ms, 1)}
    collector = BY_NAME.get(res.name)
    if res.status != "ok" or collector is None:
        return Finding(res.name, "unknown", f"{res.name}: unknown, because {res.reason}", data,
                       res.ms)
    status, text = collector.summarise(res.facts, target)
    return Finding(res.name, status, text, data, res.ms)


def _answer(entry: Entry, score: float) -> Answer:
    return Answer(entry.id, entry.question, entry.answer, score, entry.commands, entry.related)


MAX_SYMPTOM_TEXT = 4000  # characters of the pasted text a rule may match


def symptom_text(text: str) -> str:
    """The pasted text as rules see it: redacted, without control characters,
    bounded (the start and the end of a long paste, where errors are)."""
    text = clean(text.strip())
    if len(text) <= MAX_SYMPTOM_TEXT:
        return text
    half = MAX_SYMPTOM_TEXT // 2
    return text[:half] + "\n…\n" + text[-half:]


def initial_facts(target: symptoms.Target, text: str = "") -> list[Fact]:
    """The target, symptom and signal facts the session asserts before any rule runs."""
    parsed = target.parsed
    t: Fact = {"type": "target", "host": target.host, "port": target.port,
               "scheme": target.scheme, "assumed_host": target.assumed_host, "path": target.path}
    if target.host is not None:
        # How a URL or a command line writes the host: an IPv6 literal in brackets.
        t["url_host"] = f"[{target.host}]" if ":" in target.host else target.host
    if target.url_path and target.url_path != "/":
        t["url_path"] = target.url_path
    if target.port is not None and target.port > 65535:
        t["wrapped_port"] = target.port % 65536
    if target.port_name is not None:
        t["port_name"] = target.port_name
    if target.path is not None:
        t.update(kind="unix", loopback=True, wildcard=False)
    elif parsed is not None:
        t.update(kind=parsed.kind, family=parsed.family, address=parsed.address,
                 loopback=parsed.loopback, wildcard=parsed.wildcard)
    else:
        t.update(kind="none", loopback=False, wildcard=False)
    families = sorted({6 if ":" in q else 4 for q in target.quoted})
    s: Fact = {"type": "symptom", "error": target.error or "unspecified",
               "client": target.client or "unknown",
               "quoted": target.quoted[0] if target.quoted else None,
               "quoted_family": (6 if ":" in target.quoted[0] else 4) if target.quoted else None,
               "families": ",".join(str(f) for f in families) or None,
               "remote": target.remote, "role": target.role, "via": target.via,
               "here": target.here or None, "text": symptom_text(text) or None,
               "db_user": _db_user(text),
               "db_client_host": _db_client_host(text),
               "origin": _origin(text),
               "db_login": _db_login(target, text),
               "error_words": ERROR_WORDS.get(target.error or "unspecified")}
    if target.role == "server":
        from assistant.understand.relisten import another_port

        s["relisten"] = another_port(text, target.port)
        if s["relisten"]:
            narrowed = "127.0.0.1" in s["relisten"] and "127.0.0.1" not in text
            s["relisten_note"] = (" (your pasted command, on the next port"
                                  + ("; 127.0.0.1: this machine only" if narrowed else "") + ")")
    return [t, s, *({"type": "signal", "name": name} for name in target.signals)]


# The error kinds in words, for a rule's sentence ("failed there (refused)"
# read well; "(http-status)" did not: field trial 9).
ERROR_WORDS = {"refused": "connection refused", "timeout": "timed out",
               "reset": "connection reset", "http-status": "an HTTP error status",
               "tls": "a TLS error", "unresolved": "name not resolved", "hang": "no answer",
               "missing": "no such file", "permission": "permission denied",
               "in-use": "address already in use", "unspecified": "an error"}

# The account a database server refused: PostgreSQL's `for user "app"`,
# MySQL's `Access denied for user 'root'@'localhost'`.
_DB_USER = re.compile(r"""failed for user "([A-Za-z0-9_.@-]{1,63})"|"""
                      r"""for user '([A-Za-z0-9_.@-]{1,80})'@""")


def _db_login(target: symptoms.Target, text: str) -> str | None:
    """The pasted psql command's -U and -d; without one, PostgreSQL's refused
    role from its words (` -U app`), so a printed retry keeps both."""
    login = commands.psql_login(target.command_lines)
    if login is None and any(s.startswith("pg-") for s in target.signals):
        user = _db_user(text)
        return f" -U {shlex.quote(user)}" if user else None
    return login


_DB_CLIENT_HOST = re.compile(r"\bHost '([A-Za-z0-9_.:%\-]{1,255})' is not allowed to connect")


_ORIGIN = re.compile(r"from origin '(https?://[A-Za-z0-9.\-\[\]:]{1,300})'")


def _origin(text: str) -> str | None:
    """The page's origin a browser names in its CORS refusal."""
    m = _ORIGIN.search(text)
    return m.group(1) if m else None


def _db_client_host(text: str) -> str | None:
    """The client's host as MySQL/MariaDB saw it, from its 1130 refusal."""
    m = _DB_CLIENT_HOST.search(text)
    return m.group(1) if m else None


def _db_user(text: str) -> str | None:
    m = _DB_USER.search(text)
    return (m.group(1) or m.group(2)) if m else None
