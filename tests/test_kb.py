"""The knowledge base: contents, validation, retrieval quality, cache, CLI."""

from __future__ import annotations

import os
import re
import stat
import statistics
import textwrap
import time
from pathlib import Path

import pytest
import yaml

from assistant.dirs import data_dir
from assistant.errors import RuleFileError
from assistant.knowledge import concepts
from assistant.knowledge import entries as kb
from assistant.knowledge import search as kbsearch
from tests.support import free_port_without_neighbours, run_cli

DATA = Path(__file__).parent / "data"
REQUIRED_IDS = """what-is-loopback dynamic-port-range open-local-web-app why-localhost-for-development
choosing-a-port cannot-connect-checklist find-process-on-port localhost-vs-127-0-0-1
loopback-remote-access common-port-mistakes loopback-safety loopback-in-production
service-not-running port-in-use firewall-blocks-port ipv6-ipv4-localhost bind-address
proxy-bypass-localhost privileged-ports stopped-process hosts-file-localhost typo-in-address"""
REQUIRED = REQUIRED_IDS.split()
# Labelled sets that shaped the ranking or the entries at some point (the
# two "final" sets and the tuning sets were used to sharpen the overlapping
# entries, to set the near-tie thresholds and the classifier's settings in
# knowledge/model.py), and the held-out sets, never
# used to tune. A and B were written before the first sharpening pass and
# measured once at its end: p@1 0.900 (A) and 0.833 (B), p@3 0.933 and
# 0.950. C and D were written for issue 15 before its pass (tune2 is that
# pass's tuning set) and measured before and once after it (README,
# "Measured"). The floor only guards against regressions; a set used for
# tuning moves to TUNED.
TUNED = ["kb_questions.yaml", "kb_questions_heldout.yaml", "kb_questions_fresh.yaml",
         "kb_questions_unseen.yaml", "kb_questions_final.yaml", "kb_questions_final2.yaml",
         "kb_questions_tune.yaml", "kb_questions_tune2.yaml", "kb_questions_tune3.yaml"]
# E and F were written for issue 15 item 6 before its pass (tune3 is that
# pass's tuning set): measured before it and once at its end.
FINAL = ["kb_questions_holdout_a.yaml", "kb_questions_holdout_b.yaml",
         "kb_questions_holdout_c.yaml", "kb_questions_holdout_d.yaml",
         "kb_questions_holdout_e.yaml", "kb_questions_holdout_f.yaml"]
FINAL_FLOOR = 0.8


@pytest.fixture(scope="module")
def base() -> kb.KnowledgeBase:
    return kb.KnowledgeBase(kb.load_entries())


def precision_at_1(base: kb.KnowledgeBase, name: str) -> tuple[float, list[str]]:
    p1, _, misses = precision(base, name)
    return p1, misses


def precision(base: kb.KnowledgeBase, name: str) -> tuple[float, float, list[str]]:
    """p@1, p@3 and the questions whose entry is not first."""
    items = yaml.safe_load((DATA / name).read_text())
    misses = []
    in3 = 0
    for it in items:
        ids = [e.id for e, _ in base.search(it["q"], 3)]
        in3 += it["id"] in ids
        if not ids or ids[0] != it["id"]:
            misses.append(f"{it['q']!r}: got {ids[0] if ids else None}, want {it['id']}")
    return 1 - len(misses) / len(items), in3 / len(items), misses


def test_required_ids_and_size(base: kb.KnowledgeBase) -> None:
    ids = set(base.ids)
    assert set(REQUIRED) <= ids
    assert len(ids) >= 40
    for e in base.entries:
        assert e.answer.strip() and e.question.strip()
        assert e.sources and all(s["url"].startswith("https://") and s["title"] for s in e.sources), e.id


def test_labelled_questions_cover_every_entry_and_are_not_phrasings(base: kb.KnowledgeBase) -> None:
    phrasings = {p.lower() for e in base.entries for p in e.phrasings + [e.question]}
    seen: set[str] = set()
    count = 0
    for name in TUNED:
        for it in yaml.safe_load((DATA / name).read_text()):
            assert it["id"] in base.ids, it
            assert it["q"].lower() not in phrasings, f"{it['q']!r} is an entry's own phrasing"
            seen.add(it["id"])
            count += 1
    assert count >= 60 and seen == set(base.ids)


def test_retrieval_precision_at_1(base: kb.KnowledgeBase, capsys: pytest.CaptureFixture[str]) -> None:
    total = hits = 0
    report = []
    for name in TUNED:
        p, misses = precision_at_1(base, name)
        n = len(yaml.safe_load((DATA / name).read_text()))
        total += n
        hits += round(p * n)
        report.append(f"{name}: {p:.3f} ({n} questions)")
    overall = hits / total
    with capsys.disabled():
        print(f"\nKB precision@1 on {total} labelled questions: {overall:.3f}; " + "; ".join(report))
    assert overall >= 0.95, "\n".join(report)


@pytest.mark.parametrize("name", FINAL)
def test_final_unseen_sets_do_not_regress(base: kb.KnowledgeBase, name: str,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    p1, p3, misses = precision(base, name)
    with capsys.disabled():
        print(f"\nKB precision@1 on {name}: {p1:.3f} (p@3 {p3:.3f})")
    assert p1 >= FINAL_FLOOR, "\n".join(misses)


def test_concept_words_come_from_the_entries_or_the_tuning_sets() -> None:
    """A concept's words must be attested in an entry, a tuning set or the
    synonym list: a word only a held-out question uses would be tuning on it."""
    text = " ".join(p.read_text() for p in sorted(data_dir("kb").glob("*.yaml")))
    text += " " + " ".join(it["q"] for name in TUNED for it in yaml.safe_load((DATA / name).read_text()))
    text += " " + " ".join(kbsearch._SYNONYMS)
    attested = set(re.findall(r"[a-z0-9_]+", text.lower()))
    assert not concepts.vocabulary() - attested


def test_seed_faq_questions_rank_their_own_entry_first(base: kb.KnowledgeBase) -> None:
    """The twelve FAQ questions of the seed article, asked exactly as written."""
    items = yaml.safe_load((DATA / "kb_seed_faq.yaml").read_text())
    assert len(items) == 12 and {it["id"] for it in items} <= set(REQUIRED)
    for it in items:
        assert base.search(it["q"], 1)[0][0].id == it["id"], it["q"]


def hit(index: int, strength: float, score: float) -> kbsearch.Hit:
    return kbsearch.Hit(index, score, strength)


def test_near_ties_of_ranked_hits() -> None:
    alone = [hit(0, 1.0, 0.8), hit(1, 0.6, 0.5), hit(2, 0.5, 0.4)]
    assert kbsearch.near_ties(alone) == []
    assert kbsearch.near_ties([]) == [] and kbsearch.near_ties(alone[:1]) == []
    close = [hit(0, 1.0, 0.8), hit(1, 0.95, 0.5), hit(2, 0.5, 0.4)]
    assert [h.index for h in kbsearch.near_ties(close)] == [0, 1]
    # a lower hit that covers more of the question than the first is a tie too
    disagree = [hit(0, 1.0, 0.4), hit(1, 0.75, 0.6), hit(2, 0.72, 0.3)]
    assert [h.index for h in kbsearch.near_ties(disagree)] == [0, 1]
    # at most NEAR_TIE_MAX, in rank order
    many = [hit(i, 1.0 - i / 100, 0.5) for i in range(6)]
    assert [h.index for h in kbsearch.near_ties(many)] == list(range(kbsearch.NEAR_TIE_MAX))


def test_near_ties_for_questions(base: kb.KnowledgeBase) -> None:
    assert base.near_ties("how do I fix EADDRINUSE") == []
    assert base.near_ties("what is the difference between localhost and 127.0.0.1?") == []
    tied = [e.id for e, _ in base.near_ties("run django so that my phone can reach it")]
    assert {"dev-server-host-flag", "loopback-remote-access"} <= set(tied)


def test_near_tie_questions_are_rare_and_hold_the_answer(base: kb.KnowledgeBase,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    """On the tuning sets: how often a caller would ask instead of answer, and
    how often the right entry is then the answer or among the choices."""
    items = [it for name in TUNED for it in yaml.safe_load((DATA / name).read_text())]
    asked = resolved = 0
    for it in items:
        tied = [e.id for e, _ in base.near_ties(it["q"])]
        asked += bool(tied)
        resolved += it["id"] in tied if tied else base.search(it["q"], 1)[0][0].id == it["id"]
    with capsys.disabled():
        print(f"\nKB near ties on {len(items)} tuning questions: asks {asked / len(items):.3f}, "
              f"right answer or among the choices {resolved / len(items):.3f}")
    assert asked / len(items) <= 0.2 and resolved / len(items) >= 0.95


def test_search_is_fast(base: kb.KnowledgeBase) -> None:
    questions = [it["q"] for name in TUNED for it in yaml.safe_load((DATA / name).read_text())]
    base.search(questions[0])  # first use loads the stemmer and rapidfuzz
    times = []
    for q in questions:
        start = time.perf_counter()
        base.search(q, 5)
        times.append(time.perf_counter() - start)
    assert statistics.median(times) < 0.010


def test_classifier_only_reorders_the_index_hits_and_survives_the_cache(tmp_path: Path) -> None:
    """The classifier (knowledge/model.py) re-orders BM25's first hits and
    never brings in another entry; a cached model ranks like a fresh one."""
    fresh = kb.load(None, tmp_path)  # builds and writes the cache
    cached = kb.load(None, tmp_path)
    assert cached.model is not fresh.model
    items = yaml.safe_load((DATA / "kb_questions_tune3.yaml").read_text())
    for it in items[::7]:
        hits = fresh.hits(it["q"], 10)
        bm25 = fresh.index.search(it["q"], 10)
        assert {h.index for h in hits} == {h.index for h in bm25}
        assert hits[0].strength == 1.0
        assert [(h.index, round(h.strength, 9)) for h in cached.hits(it["q"], 10)] == \
            [(h.index, round(h.strength, 9)) for h in hits]


def test_typos_and_paraphrases(base: kb.KnowledgeBase) -> None:
    assert base.search("wat is the diference betwen localhost and 127.0.0.1", 1)[0][0].id == \
        "localhost-vs-127-0-0-1"
    assert base.search("EADDRINUSE adress alredy in use", 1)[0][0].id == "port-in-use"


def test_answer_kind_and_exit_code() -> None:
    r = run_cli("--ask", "what does binding to 0.0.0.0 mean?", "--json")
    assert r.code == 0
    rep = r.json
    assert rep["kind"] == "answer"
    assert rep["answers"][0]["kb"] == "bind-address"
    assert 0 < rep["answers"][0]["score"] <= 1


def test_weak_match_offers_did_you_mean_and_topic_answer_completes_it() -> None:
    r = run_cli("--ask", "how old is the universe", "--json")
    rep = r.json
    assert r.code == 3 and rep["kind"] == "needs-input"
    topic = rep["questions"][0]
    assert topic["id"] == "topic"
    if topic["choices"]:  # a weak match: the choices are kb ids
        assert [a["kb"] for a in rep["answers"]] == topic["choices"]
    r = run_cli("--ask", "how old is the universe", "--answer", "topic=port-zero", "--json")
    assert r.code == 0 and r.json["answers"][0]["kb"] == "port-zero"
    r = run_cli("--ask", "x", "--answer", "topic=no-such-entry")
    assert r.code == 2 and "no-such-entry" in r.err


def test_off_topic_question_is_not_answered() -> None:
    r = run_cli("--ask", "what is a monad?", "--json")
    assert r.code == 3
    assert r.json["answers"] == []
    assert r.json["questions"][0]["id"] == "topic"


def test_question_with_live_symptom_gets_diagnosis_and_answer() -> None:
    port = free_port_without_neighbours()
    r = run_cli("--ask", f"what should I do if I can't connect to 127.0.0.1:{port}?", "--json")
    rep = r.json
    assert rep["kind"] == "diagnosis" and r.code == 1
    assert rep["diagnoses"][0]["category"] == "nothing-listening"
    assert "cannot-connect-checklist" in [a["kb"] for a in rep["answers"]]


def test_text_rendering_of_an_answer() -> None:
    r = run_cli("--ask", "how do I find which app uses a port?")
    assert r.code == 0
    lines = r.out.splitlines()
    assert lines[0].startswith("How do I find out which process")
    assert all(len(line) <= 80 for line in lines), max(lines, key=len)
    assert any("Related:" in line for line in lines)
    # this machine's OS (the suite runs on Linux) and any; the rest on request
    assert any(line.lstrip().startswith("linux ") for line in lines)
    assert not any(line.lstrip().startswith(("windows ", "macos ")) for line in lines)
    assert "    For macOS and Windows: add --all-os" in lines
    every = run_cli("--ask", "how do I find which app uses a port?", "--all-os").out.splitlines()
    assert any(line.lstrip().startswith("windows ") for line in every)
    assert any(line.lstrip().startswith("macos ") for line in every)
    assert not any("--all-os" in line for line in every)


def write_entry(d: Path, name: str, body: str) -> Path:
    p = d / f"{name}.yaml"
    p.write_text(textwrap.dedent(body))
    return p


def test_validation_reports_every_problem_with_positions(tmp_path: Path) -> None:
    write_entry(tmp_path, "good-one", """\
        id: good-one
        question: A question?
        answer: An answer.
        related: [missing-one]
        sources: [{title: RFC 1122, url: "https://www.rfc-editor.org/rfc/rfc1122"}]
    """)
    write_entry(tmp_path, "bad-keys", """\
        id: bad-keys
        question: Q?
        answer: A.
        colour: blue
        commands: [{os: beos, command: x}]
    """)
    write_entry(tmp_path, "wrong-name", "id: other-name\nquestion: Q?\nanswer: A.\n")
    (tmp_path / "evil.yaml").write_text("!!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(RuleFileError) as exc:
        kb.load_entries([tmp_path])
    text = "\n".join(exc.value.problems)
    assert "bad-keys.yaml:4:1: colour: unknown key" in text
    assert "bad-keys.yaml:5:" in text and "commands" in text
    assert "wrong-name.yaml:1:" in text and "must match the file name" in text
    assert "evil.yaml:1:1" in text and "not allowed" in text
    assert "good-one.yaml:4:11: related: no entry 'missing-one'" in text


def test_sources_are_required_and_checked_with_positions(tmp_path: Path) -> None:
    write_entry(tmp_path, "no-sources", "id: no-sources\nquestion: Q?\nanswer: A.\n")
    write_entry(tmp_path, "empty-sources", "id: empty-sources\nquestion: Q?\nanswer: A.\nsources: []\n")
    write_entry(tmp_path, "bad-sources", """\
        id: bad-sources
        question: Q?
        answer: A.
        sources:
        - just a string
        - title: RFC 6761
          url: www.rfc-editor.org/rfc/rfc6761
        - url: https://man7.org/linux/man-pages/man7/ip.7.html
          link: https://example.org/
    """)
    with pytest.raises(RuleFileError) as exc:
        kb.load_entries([tmp_path])
    text = "\n".join(exc.value.problems)
    assert "no-sources.yaml:1:1: sources: required" in text
    assert "empty-sources.yaml:4:1: sources: must be a non-empty list" in text
    assert "bad-sources.yaml:5:3: sources[0]: each source is a mapping" in text
    assert "bad-sources.yaml:7:3: sources[1].url: required: an absolute http:// or https://" in text
    assert "bad-sources.yaml:8:3: sources[2].title: required text" in text
    assert "bad-sources.yaml:9:3: sources[2].link: unknown key" in text


def test_kb_check_cli(tmp_path: Path) -> None:
    r = run_cli("kb", "check")
    assert r.code == 0 and "entries: ok" in r.out
    write_entry(tmp_path, "x-entry", "id: x-entry\nquestion: Q?\n")
    r = run_cli("kb", "check", str(tmp_path))
    assert r.code == 2 and "x-entry.yaml:" in r.err and "answer" in r.err


def test_kb_check_finds_rule_kb_ids_that_do_not_exist(tmp_path: Path) -> None:
    (tmp_path / "team.yaml").write_text(textwrap.dedent("""\
        format: 1
        rules:
          - id: team.rule
            title: T
            category: nothing-listening
            when: {all: [{fact: target, as: t}]}
            then: [{conclude: {summary: x, kb: [no-such-entry]}}]
    """))
    r = run_cli("kb", "check", environ={"ASSISTANT_RULES_PATH": str(tmp_path), "PATH": ""})
    assert r.code == 2 and "team.rule" in r.err and "no-such-entry" in r.err


def test_kb_list_and_search_cli() -> None:
    r = run_cli("kb", "list")
    assert r.code == 0 and len(r.out.splitlines()) >= 40
    r = run_cli("kb", "search", "proxy", "localhost")
    assert r.code == 0 and r.out.splitlines()[0].split()[1] == "proxy-bypass-localhost"


def test_cache_is_used_invalidated_and_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = tmp_path / "kb"
    src.mkdir()
    for e in kb.entry_files([kb.data_dir("kb")])[:5]:
        data = yaml.safe_load(e.read_text())
        data["related"] = []  # the other entries are not copied
        (src / e.name).write_text(yaml.safe_dump(data))
    cache = tmp_path / "cache"
    first = kb.load([src], cache)
    files = list(cache.glob("*.json"))
    assert len(files) == 1
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600
    calls = []
    real = kb.load_entries
    monkeypatch.setattr(kb, "load_entries", lambda d=None: calls.append(d) or real(d))
    again = kb.load([src], cache)
    assert calls == [] and [e.id for e in again.entries] == [e.id for e in first.entries]
    assert again.search("proxy", 1) == first.search("proxy", 1)
    # an edit invalidates it
    target = sorted(src.glob("*.yaml"))[0]
    target.write_text(target.read_text() + "\n")
    os.utime(target, ns=(target.stat().st_atime_ns, target.stat().st_mtime_ns + 10**9))
    kb.load([src], cache)
    assert len(calls) == 1
    # a damaged cache is rebuilt, not trusted
    for f in cache.glob("*.json"):
        f.write_text("{not json")
    kb.load([src], cache)
    assert len(calls) == 2


@pytest.mark.parametrize("apostrophe", ["can’t", "can't", "cannot"])
def test_seed_faq_questions_through_the_cli(apostrophe: str) -> None:
    """The seed's FAQ asked as a user types it, through --ask: each question's
    own entry is the first answer (a live diagnosis may come beside it)."""
    items = yaml.safe_load((DATA / "kb_seed_faq.yaml").read_text())
    for it in items:
        q = it["q"].replace("can’t", apostrophe)
        r = run_cli("--ask", q, "--json", "--timeout", "0.2")
        answers = [a["kb"] for a in r.json["answers"]]
        assert answers and answers[0] == it["id"], (q, answers)


def test_a_near_tie_is_a_did_you_mean_in_json_and_text() -> None:
    """Two entries fit about equally: ask which (needs-input, schema 1), not guess."""
    question = "is it safe to expose my dev server"
    r = run_cli("--ask", question, "--json")
    assert r.code == 3
    rep = r.json
    assert rep["kind"] == "needs-input" and rep["schema"] == 1
    topic = rep["questions"][0]
    assert topic["id"] == "topic" and len(rep["questions"]) == 1
    assert topic["choices"] == [a["kb"] for a in rep["answers"]]
    assert {"dev-server-host-flag", "loopback-safety"} <= set(topic["choices"])
    text = run_cli("--ask", question)
    assert text.code == 3 and "Did you mean" in text.out
    assert "  Answer with --answer topic=ID, or rephrase the question." in text.out.splitlines()
    done = run_cli("--ask", question, "--answer", "topic=loopback-safety", "--json")
    assert done.code == 0 and done.json["answers"][0]["kb"] == "loopback-safety"
