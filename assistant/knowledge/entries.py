"""The knowledge base: one YAML entry per file, looked up by id or text."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from assistant.dirs import data_dir, write_cache
from assistant.engine import yamlsafe
from assistant.engine.loader import read_text
from assistant.engine.spec import did_you_mean
from assistant.errors import RuleFileError, UserError
from assistant.knowledge import concepts
from assistant.knowledge import model as kbmodel
from assistant.knowledge import search as kbsearch
from assistant.report import Command

# Every entry names where its facts come from: a non-empty list of
# {title: ..., url: ...} mappings, primary sources first (RFCs, man pages,
# the vendor's own documentation). The URL is an absolute http(s) address
# without spaces; the title says what the page is, for a reader who cannot
# follow the link. No other keys, so a typo ("link:") is an error.


@dataclass
class Entry:
    id: str
    question: str
    answer: str
    phrasings: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    commands: list[Command] = field(default_factory=list)
    related: list[str] = field(default_factory=list)
    sources: list[dict[str, str]] = field(default_factory=list)  # [{title, url}]
    source: str = ""  # the file the entry was loaded from


def directories(environ: Mapping[str, str] | None = None) -> list[Path]:
    """The built-in entries, then the directories in ASSISTANT_KB_PATH."""
    extra = (environ or {}).get("ASSISTANT_KB_PATH", "")
    return [data_dir("kb")] + [Path(d) for d in extra.split(os.pathsep) if d]


def entry_files(dirs: list[Path]) -> list[Path]:
    for d in dirs:
        if not d.is_dir():
            raise UserError(f"knowledge-base directory {d} does not exist")
    return [p for d in dirs for p in sorted(d.glob("*.yaml"))]


def load_entries(dirs: list[Path] | None = None) -> list[Entry]:
    """Load and validate every entry; all problems at once (RuleFileError)."""
    entries: list[Entry] = []
    problems: list[str] = []
    seen: dict[str, str] = {}
    related_at: dict[tuple[str, int], str] = {}  # (entry id, index) -> file:line:column
    unique: dict[Path, Path] = {}
    for d in dirs or [data_dir("kb")]:
        unique.setdefault(d.resolve(), d)  # a folder named twice is read once
    for path in entry_files(list(unique.values())):
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
        for i in range(len(entry.related)):
            line, col = loaded.where(("related", i))
            related_at[(entry.id, i)] = f"{path}:{line}:{col}"
    ids = {e.id for e in entries}
    for e in entries:
        for i, r in enumerate(e.related):
            if r not in ids:
                problems.append(f"{related_at[(e.id, i)]}: related: no entry {r!r}"
                                + did_you_mean(r, ids))
    if problems:
        raise RuleFileError(problems)
    return entries


def _entry(loaded: yamlsafe.Loaded, path: str, problems: list[str]) -> Entry | None:
    """One entry, or None with every problem of its file (at its place) recorded."""
    from assistant.engine.filespecs import kb_entry, kb_label
    from assistant.engine.spec import issues

    d = loaded.data
    found = issues(kb_entry(), d)
    for issue in found:
        line, col = loaded.where(issue.path)
        problems.append(f"{path}:{line}:{col}: {kb_label(issue.path)}: {issue.message}")
    if isinstance(d, dict) and isinstance(d.get("id"), str) and Path(path).stem != d["id"]:
        line, col = loaded.where(("id",))
        problems.append(f"{path}:{line}:{col}: id: must match the file name ({Path(path).stem})")
        return None
    if found:
        return None
    return Entry(id=d["id"], question=d["question"].strip(), answer=d["answer"].strip(),
                 phrasings=list(d.get("phrasings", [])), tags=list(d.get("tags", [])),
                 commands=[Command(c["os"], c["command"], str(c.get("why", "")))
                           for c in d.get("commands", [])],
                 related=list(d.get("related", [])),
                 sources=[{k: s[k].strip() for k in ("title", "url")} for s in d["sources"]],
                 source=path)


class KnowledgeBase:
    """Entries plus their search index.

    Entries loaded from the cache stay JSON text until one is needed: a
    question touches a handful of the thousands a team may have.
    """

    def __init__(self, entries: list[Entry] | None = None, index: kbsearch.Index | None = None,
                 raw: list[str] | None = None, ids: list[str] | None = None,
                 model: kbmodel.Model | None = None):
        self._entries: list[Entry | None] = list(entries) if entries is not None \
            else [None] * len(raw or [])
        self._raw = raw or []
        ids = ids if ids is not None else [e.id for e in entries or []]
        self.ids = ids
        self._pos = {eid: i for i, eid in enumerate(ids)}
        self.index = index or kbsearch.Index.build(_fields(e) for e in entries or [])
        self._model = model

    @property
    def model(self) -> kbmodel.Model:
        """The classifier that re-orders the index's first hits: from the
        cache, or trained on first use (counting: tens of ms for 50 entries)."""
        if self._model is None:
            self._model = kbmodel.Model.build(
                [e.question, *e.phrasings, " ".join(e.tags)] for e in self.entries)
        return self._model

    def hits(self, text: str, limit: int) -> list[kbsearch.Hit]:
        """The index's hits re-ordered by the classifier (see model.rerank)."""
        hits = self.index.search(text, max(limit, kbmodel.RERANK_K))
        return kbmodel.rerank(self.model, text, hits)[:limit]

    def entry(self, i: int) -> Entry:
        e = self._entries[i]
        if e is None:
            data = json.loads(self._raw[i])
            data["commands"] = [Command(**c) for c in data["commands"]]
            e = self._entries[i] = Entry(**data)
        return e

    @property
    def entries(self) -> list[Entry]:
        return [self.entry(i) for i in range(len(self._entries))]

    def get(self, entry_id: str) -> Entry | None:
        i = self._pos.get(entry_id)
        return None if i is None else self.entry(i)

    def search(self, text: str, limit: int = 5) -> list[tuple[Entry, float]]:
        return [(self.entry(h.index), h.score) for h in self.hits(text, limit)]

    def near_ties(self, text: str) -> list[tuple[Entry, float]]:
        """The entries too close to call for this question, best first, with
        their confidence; empty when the first answer stands alone (see
        kbsearch.near_ties). A caller asks "did you mean A or B?" when this
        is not empty instead of answering the first."""
        hits = self.hits(text, kbsearch.NEAR_TIE_MAX)
        return [(self.entry(h.index), h.score) for h in kbsearch.near_ties(hits)]


CACHE_VERSION = "kb-8"  # bump when the index format or the ranking's tokens change


def fingerprint(files: list[Path]) -> str:
    """Names, sizes and modification times of the entry files, and the
    concepts the index was built with: any edit changes it."""
    h = hashlib.sha256(CACHE_VERSION.encode())
    h.update(concepts.spec().encode())
    for p in files:
        st = p.stat()
        h.update(f"{p}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:32]


def load(dirs: list[Path] | None = None, cache: Path | None = None) -> KnowledgeBase:
    """The knowledge base, from the cache when no entry file changed.

    A cache is written only after every entry validated, so a cache hit is
    a validated knowledge base. Without a usable cache directory, it builds.
    """
    dirs = dirs or [data_dir("kb")]
    files = entry_files(dirs)
    path = cache / f"kb-{fingerprint(files)}.json" if cache else None
    if path is not None and os.access(path, os.R_OK):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return KnowledgeBase(index=kbsearch.Index.from_data(data["index"]),
                                 raw=data["entries"], ids=data["ids"],
                                 model=kbmodel.Model.from_data(data["model"]))
        except (OSError, ValueError, KeyError, TypeError):
            pass  # a damaged cache is rebuilt below
    kb = KnowledgeBase(load_entries(dirs))
    if path is not None:
        _write_cache(path, kb)
    return kb


def _write_cache(path: Path, kb: KnowledgeBase) -> None:
    write_cache(path, {"ids": kb.ids, "entries": [json.dumps(
        {**asdict(e), "commands": [c.to_json() for c in e.commands]}) for e in kb.entries],
                       "index": kb.index.to_data(), "model": kb.model.to_data()})


def _fields(e: Entry) -> dict[str, str]:
    return {"question": e.question, "phrasings": "\n".join(e.phrasings), "tags": " ".join(e.tags),
            "answer": e.answer,
            "commands": "\n".join(f"{c.os} {c.command} {c.why}" for c in e.commands)}
