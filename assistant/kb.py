"""The knowledge base: one YAML entry per file, looked up by id or text."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.engine import yamlsafe
from assistant.engine.loader import read_text
from assistant.errors import RuleFileError
from assistant.paths import data_dir

ENTRY_KEYS = {"id", "question", "phrasings", "tags", "answer", "commands", "related"}
_ID = re.compile(r"[a-z0-9][a-z0-9\-]{1,60}")
_WORD = re.compile(r"[a-z0-9]+(?:[.:][a-z0-9]+)*")
_STOPWORDS = ("a an the is are was be to of in on for and or my i me it do does can how what "
              "why when which with this that there from by at as use using get")
_STOP = frozenset(_STOPWORDS.split())


@dataclass
class Entry:
    id: str
    question: str
    answer: str
    phrasings: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    commands: list[dict[str, str]] = field(default_factory=list)
    related: list[str] = field(default_factory=list)
    source: str = ""


def tokens(text: str) -> list[str]:
    return [t for t in _WORD.findall(text.lower()) if t not in _STOP]


def load_entries(directory: Path | None = None) -> list[Entry]:
    """Load and validate every entry; all problems at once (RuleFileError)."""
    directory = directory or data_dir("kb")
    entries: list[Entry] = []
    problems: list[str] = []
    seen: dict[str, str] = {}
    for path in sorted(directory.glob("*.yaml")):
        try:
            loaded = yamlsafe.load(read_text(path))
        except (OSError, yamlsafe.YamlError) as exc:
            problems.append(f"{path}:{getattr(exc, 'line', 1)}:{getattr(exc, 'column', 1)}: {exc}")
            continue
        entry = _entry(loaded, str(path), problems)
        if entry is None:
            continue
        if entry.id in seen:
            line = loaded.where(("id",))[0]
            problems.append(f"{path}:{line}: duplicate id {entry.id!r} (also in {seen[entry.id]})")
            continue
        seen[entry.id] = str(path)
        entries.append(entry)
    ids = {e.id for e in entries}
    for e in entries:
        for r in e.related:
            if r not in ids:
                problems.append(f"{e.source}: related id {r!r} does not exist")
    if problems:
        raise RuleFileError(problems)
    return entries


def _entry(loaded: yamlsafe.Loaded, path: str, problems: list[str]) -> Entry | None:
    d = loaded.data
    before = len(problems)

    def bad(key: str, msg: str) -> None:
        line, col = loaded.where((key,))
        problems.append(f"{path}:{line}:{col}: {key}: {msg}")

    if not isinstance(d, dict):
        problems.append(f"{path}:1:1: an entry is a mapping with id, question and answer")
        return None
    for key in d:
        if key not in ENTRY_KEYS:
            bad(str(key), f"unknown key (allowed: {', '.join(sorted(ENTRY_KEYS))})")
    if not isinstance(d.get("id"), str) or not _ID.fullmatch(d["id"]):
        bad("id", "required: lower-case words joined by '-'")
    elif Path(path).stem != d["id"]:
        bad("id", f"must match the file name ({Path(path).stem})")
    for key in ("question", "answer"):
        if not isinstance(d.get(key), str) or not d[key].strip():
            bad(key, "required text")
    for key in ("phrasings", "tags", "related"):
        if not isinstance(d.get(key, []), list) or not all(isinstance(x, str) for x in d.get(key, [])):
            bad(key, "must be a list of strings")
    cmds = d.get("commands", [])
    if not isinstance(cmds, list) or not all(
            isinstance(c, dict) and c.get("os") in ("linux", "macos", "windows", "any")
            and isinstance(c.get("command"), str) for c in cmds):
        bad("commands", "each is {os: linux|macos|windows|any, command: ..., why: ...}")
    if len(problems) > before:
        return None
    return Entry(id=d["id"], question=d["question"].strip(), answer=d["answer"].strip(),
                 phrasings=list(d.get("phrasings", [])), tags=list(d.get("tags", [])),
                 commands=[dict(c) for c in cmds], related=list(d.get("related", [])), source=path)


class Index:
    """Field-weighted BM25 over question, phrasings, tags and answer."""

    WEIGHTS = {"q": 3.0, "p": 2.5, "t": 2.0, "a": 1.0}

    def __init__(self, entries: list[Entry]):
        self.entries = entries
        self.by_id = {e.id: e for e in entries}
        self.docs: list[dict[str, float]] = []
        df: dict[str, int] = {}
        for e in entries:
            tf: dict[str, float] = {}
            for fld, text in (("q", e.question), ("p", " ".join(e.phrasings)),
                              ("t", " ".join(e.tags)), ("a", e.answer)):
                for tok in tokens(text):
                    tf[tok] = tf.get(tok, 0.0) + self.WEIGHTS[fld]
            self.docs.append(tf)
            for tok in tf:
                df[tok] = df.get(tok, 0) + 1
        n = max(len(entries), 1)
        self.idf = {t: math.log(1 + (n - c + 0.5) / (c + 0.5)) for t, c in df.items()}
        self.avg = sum(sum(d.values()) for d in self.docs) / n if self.docs else 1.0

    def search(self, text: str, limit: int = 5) -> list[tuple[Entry, float]]:
        query = set(tokens(text))
        if not query:
            return []
        k1, b = 1.2, 0.75
        scored: list[tuple[Entry, float]] = []
        best_possible = sum(self.idf.get(t, 0.0) for t in query) * (k1 + 1) or 1.0
        for e, tf in zip(self.entries, self.docs, strict=True):
            length = sum(tf.values())
            s = 0.0
            for t in query:
                f = tf.get(t)
                if f:
                    s += self.idf[t] * f * (k1 + 1) / (f + k1 * (1 - b + b * length / self.avg))
            if s > 0:
                scored.append((e, s / best_possible))
        scored.sort(key=lambda x: -x[1])
        return scored[:limit]


def entry_json(e: Entry) -> dict[str, Any]:
    return {"id": e.id, "question": e.question, "answer": e.answer, "tags": e.tags,
            "commands": e.commands, "related": e.related}
