"""The knowledge base: one YAML entry per file, looked up by id or text."""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from assistant.dirs import data_dir, write_cache
from assistant.engine import yamlsafe
from assistant.engine.loader import read_text
from assistant.errors import RuleFileError, UserError
from assistant.knowledge import search as kbsearch
from assistant.report import Command

ENTRY_KEYS = {"id", "question", "phrasings", "tags", "answer", "commands", "related", "sources"}
_ID = re.compile(r"[a-z0-9][a-z0-9\-]{1,60}")
# Every entry names where its facts come from: a non-empty list of
# {title: ..., url: ...} mappings, primary sources first (RFCs, man pages,
# the vendor's own documentation). The URL is an absolute http(s) address
# without spaces; the title says what the page is, for a reader who cannot
# follow the link. No other keys, so a typo ("link:") is an error.
SOURCE_KEYS = ("title", "url")
_URL = re.compile(r"https?://[^\s/]+\S*")


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
    for path in entry_files(dirs or [data_dir("kb")]):
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
    _check_sources(loaded, path, problems)
    if len(problems) > before:
        return None
    return Entry(id=d["id"], question=d["question"].strip(), answer=d["answer"].strip(),
                 phrasings=list(d.get("phrasings", [])), tags=list(d.get("tags", [])),
                 commands=[Command(c["os"], c["command"], str(c.get("why", ""))) for c in cmds],
                 related=list(d.get("related", [])),
                 sources=[{k: s[k].strip() for k in SOURCE_KEYS} for s in d["sources"]],
                 source=path)


def _check_sources(loaded: yamlsafe.Loaded, path: str, problems: list[str]) -> None:
    """`sources` is required: a non-empty list of {title, url}. Each problem
    names the item and field it concerns (sources[2].url) at its position."""
    sources = loaded.data.get("sources")

    def bad(where: tuple[int | str, ...], msg: str) -> None:
        line, col = loaded.where(("sources", *where))
        label = "sources" + "".join(f"[{w}]" if isinstance(w, int) else f".{w}" for w in where)
        problems.append(f"{path}:{line}:{col}: {label}: {msg}")

    if "sources" not in loaded.data:
        bad((), "required: a list of {title: ..., url: https://...}, primary sources first")
        return
    if not isinstance(sources, list) or not sources:
        bad((), "must be a non-empty list of {title: ..., url: https://...}")
        return
    for i, src in enumerate(sources):
        if not isinstance(src, dict):
            bad((i,), "each source is a mapping {title: ..., url: https://...}")
            continue
        for key in src:
            if key not in SOURCE_KEYS:
                bad((i, str(key)), f"unknown key (allowed: {', '.join(SOURCE_KEYS)})")
        if not isinstance(src.get("title"), str) or not src["title"].strip():
            bad((i, "title"), "required text")
        if not isinstance(src.get("url"), str) or not _URL.fullmatch(src["url"].strip()):
            bad((i, "url"), "required: an absolute http:// or https:// address without spaces")


class KnowledgeBase:
    """Entries plus their search index.

    Entries loaded from the cache stay JSON text until one is needed: a
    question touches a handful of the thousands a team may have.
    """

    def __init__(self, entries: list[Entry] | None = None, index: kbsearch.Index | None = None,
                 raw: list[str] | None = None, ids: list[str] | None = None):
        self._entries: list[Entry | None] = list(entries) if entries is not None \
            else [None] * len(raw or [])
        self._raw = raw or []
        ids = ids if ids is not None else [e.id for e in entries or []]
        self.ids = ids
        self._pos = {eid: i for i, eid in enumerate(ids)}
        self.index = index or kbsearch.Index.build(_fields(e) for e in entries or [])

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
        return [(self.entry(h.index), h.score) for h in self.index.search(text, limit)]

    def near_ties(self, text: str) -> list[tuple[Entry, float]]:
        """The entries too close to call for this question, best first, with
        their confidence; empty when the first answer stands alone (see
        kbsearch.near_ties). A caller asks "did you mean A or B?" when this
        is not empty instead of answering the first."""
        hits = self.index.search(text, kbsearch.NEAR_TIE_MAX)
        return [(self.entry(h.index), h.score) for h in kbsearch.near_ties(hits)]


CACHE_VERSION = "kb-5"  # bump when the index format or the ranking's tokens change


def fingerprint(files: list[Path]) -> str:
    """Names, sizes and modification times of the entry files: any edit changes it."""
    h = hashlib.sha256(CACHE_VERSION.encode())
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
    if path is not None and path.is_file():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return KnowledgeBase(index=kbsearch.Index.from_data(data["index"]),
                                 raw=data["entries"], ids=data["ids"])
        except (OSError, ValueError, KeyError, TypeError):
            pass  # a damaged cache is rebuilt below
    kb = KnowledgeBase(load_entries(dirs))
    if path is not None:
        _write_cache(path, kb)
    return kb


def _write_cache(path: Path, kb: KnowledgeBase) -> None:
    write_cache(path, {"ids": kb.ids, "entries": [json.dumps(asdict(e)) for e in kb.entries],
                       "index": kb.index.to_data()})


def _fields(e: Entry) -> dict[str, str]:
    return {"question": e.question, "phrasings": "\n".join(e.phrasings), "tags": " ".join(e.tags),
            "answer": e.answer}
