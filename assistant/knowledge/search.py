"""Ranking knowledge-base entries for a question.

BM25 per field over five weighted fields (question, phrasings, tags, answer,
and the entry's commands with their OS and reason), the weights applied
after saturation, so a word in an entry's question counts three times the
same word in its answer however often the answer repeats it. Words are
stemmed (Snowball), word pairs from the question, phrasings and tags count
as terms of their own (so "address already in use" beats its words
scattered), and unknown query words are matched fuzzily through rapidfuzz
("diference", "adress"). An address with a port is its host and its port
(`127.0.0.1:62893`, `localhost:3000`), and a dotted name is itself and its
parts (`api.localhost`, `host.docker.internal`). Domain concepts (see
concepts.py) let a word meet an entry that says the same thing in other
words ("taskkill" and "stop", "colleague" and "remote").

The score returned is a confidence in 0..1: how much of the query's weight
the entry covers. The index is plain data, so it can be cached as JSON.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from assistant.knowledge import concepts

FIELD_WEIGHTS = {"question": 3.0, "phrasings": 2.5, "tags": 2.0, "answer": 1.0,
                 # half an answer word: commands name tools and OSes in passing
                 "commands": 0.5}
PAIR_FIELDS = ("question", "phrasings", "tags")
PAIR_WEIGHT = 0.5     # weight of a word pair relative to a word
K1, B = 1.2, 0.75
FUZZY_CUTOFF = 82.0   # rapidfuzz ratio (0-100) for a typo to count as the word
FUZZY_WEIGHT = 0.8
SYNONYM_WEIGHT = 0.7
NUMBER_WEIGHT = 0.5
CLASS_WEIGHT = 0.3    # a class word words() adds for a token (see _number_class, _split)
CLASS_WORDS = frozenset({"127.x.x.x", "dynamic", "*.localhost"})
TITLE_BONUS = 0.5     # share of the top score added when the question/phrasings/tags cover the query
CONCEPT_WEIGHT = 0.7  # a query word matching an entry only through their shared concept

_TOKEN = re.compile(r"::1|[a-z0-9_]+(?:[.:][a-z0-9_]+)*")
# Not stopwords: "what", "who", "can", "should". They carry the question's
# intent ("what is X" asks for a definition, "who is using" for a process,
# "can I" and "should I" for advice), and as parts of word pairs
# ("what+localhost", "who+use") they tell overlapping entries apart.
_STOPWORDS = ("a an the is are was were be been to of in on for and or my me i it its do does did "
              "could how whats why when which with this that there from by at as use "
              "using get just so if then than into about any some your you we our us will would "
              "am im not no also "
              # filler that carries no topic
              "exactly just stuff thing things really actually basically please help weird "
              "tell explain anyone someone something keep keeps ok okay now")
STOP = frozenset(_STOPWORDS.split())
# Those intent words help ranking but say nothing about the topic: they do
# not count towards the confidence (so "what is a monad?" stays unanswered).
INTENT = frozenset({"what", "who", "can", "should"})
# A few words users say where entries say another (stems on both sides).
# Contractions, with and without the apostrophe, as people type them.
_CONTRACTIONS = {"can't": "cannot", "cant": "cannot", "won't": "not", "wont": "not",
                 "doesn't": "not", "doesnt": "not", "isn't": "not", "isnt": "not",
                 "don't": "not", "dont": "not", "didn't": "not", "didnt": "not",
                 "couldn't": "cannot", "couldnt": "cannot", "aren't": "not", "wasn't": "not"}
_CONTRACTION = re.compile(r"\b(" + "|".join(re.escape(k) for k in _CONTRACTIONS) + r")\b")
_SYNONYMS = {
    "kill": ("stop",), "busy": ("use",), "taken": ("use",), "occupied": ("use",),
    "pc": ("machine",), "computer": ("machine",), "laptop": ("machine",), "macbook": ("mac",),
    "app": ("application", "server"), "site": ("web",), "website": ("web",),
    "diff": ("difference",), "vs": ("difference",), "versus": ("difference",),
    "secure": ("safe",), "safety": ("safe",), "expose": ("reach",), "stuck": ("hang",),
    "freeze": ("hang",), "mistype": ("typo",), "misspell": ("typo",), "wrong": ("typo",),
    "dev": ("development",), "devs": ("development", "developer"), "security": ("safe",),
    "risk": ("safe",), "dangerous": ("safe",), "hold": ("use",), "holds": ("use",),
    "prod": ("production",), "wifi": ("network",), "lan": ("network",),
    # people and devices other than this machine
    "friend": ("other", "remote"), "colleague": ("other", "remote"), "coworker": ("other", "remote"),
    "teammate": ("other", "remote"), "phone": ("device", "remote"), "tablet": ("device", "remote"),
    "iphone": ("phone", "device"), "ipad": ("tablet", "device"), "android": ("phone", "device"),
    "mobile": ("phone", "device"),
    # threats
    "malware": ("safe",), "attack": ("safe",), "attacker": ("safe",), "hacker": ("safe",),
    "exploit": ("safe",), "vulnerable": ("safe",),
    # frameworks and servers people name instead of "server" or "app"
    "express": ("server",), "flask": ("server",), "django": ("server",), "rails": ("server",),
    "react": ("app",), "vite": ("dev",), "next": ("dev",), "nginx": ("server",),
    "apache": ("server",), "uvicorn": ("server",), "gunicorn": ("server",), "spring": ("server",),
    "postgres": ("database",), "postgresql": ("database",), "mysql": ("database",),
    "mongo": ("database",), "mongodb": ("database",), "redis": ("database",),
    # troubleshooting words
    "troubleshoot": ("debug",), "diagnose": ("debug",), "fix": ("debug",),
    "pitfall": ("mistake",),
}


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    if not word.isalpha():
        return word
    return _stemmer().stemWord(word)  # type: ignore[no-any-return]


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    import snowballstemmer

    return snowballstemmer.stemmer("english")


# Spellings of one word that the stopword list or the stemmer would miss.
_WORD_FORMS = {"whats": "what", "wats": "what"}
_ANY_LOCALHOST = re.compile(r"(?:\*|(?<![\w.]))\.localhost\b")  # "*.localhost", ".localhost"


def words(text: str) -> list[str]:
    text = _CONTRACTION.sub(lambda m: " " + _CONTRACTIONS[m.group(1)] + " ", text.lower().replace("’", "'"))
    text = _ANY_LOCALHOST.sub("any.localhost", text)
    out: list[str] = []
    for t in _TOKEN.findall(text):
        for part in _split(_WORD_FORMS.get(t, t)):
            if part in STOP or (len(part) == 1 and part.isalpha()):
                continue
            out.append(stem(part))
            klass = _number_class(part)
            if klass:
                out.append(klass)
    return out


_HOST_PORT = re.compile(r"([^:]+):(\d{1,5})")


def _split(token: str) -> list[str]:
    """A token as the words it stands for: `localhost:3000` is the host and
    the port, `127.0.0.1:62893` is 127.0.0.1 and 62893 (not "another
    loopback address"), and a dotted name such as `api.localhost` or
    `node.js` is itself plus its parts, so it meets text that names the
    parts. A name under .localhost also gives the class word `*.localhost`."""
    if token.count(":") >= 2:  # an IPv6 address written out: "0:0:0:0:0:0:0:1" is ::1
        return [_ipv6(token)]
    m = _HOST_PORT.fullmatch(token)
    if m:
        return _split(m.group(1)) + [m.group(2)]
    if "_" in token.strip("_"):  # ERR_CONNECTION_REFUSED: itself and its words
        return [token] + [p for p in token.split("_") if p]
    if "." not in token or not any(c.isalpha() for c in token) or ":" in token:
        return [token]
    parts = [p for p in token.split(".") if len(p) > 1 and any(c.isalpha() for c in p)]
    out = [token] + parts
    if token.endswith(".localhost") and token != ".localhost":
        out.append("*.localhost")
    return out


def _ipv6(token: str) -> str:
    import ipaddress

    try:
        return ipaddress.IPv6Address(token).compressed
    except ValueError:
        return token


def _number_class(token: str) -> str | None:
    """A class word for specific numbers, so "127.0.1.1" finds text about other
    loopback addresses and "54231" finds text about dynamic ports."""
    if (token.startswith("127.") and token != "127.0.0.1" and token.count(".") == 3
            and token.replace(".", "").isdigit()):
        return "127.x.x.x"
    if token.isdigit() and 49152 <= int(token) <= 65535:
        return "dynamic"
    return None


def _weight(token: str) -> float:
    """How much a query word counts. Port numbers in a question are mostly
    examples ("port 8080"), rarely the topic, and a class word only echoes
    its token: both count, but less than words."""
    return NUMBER_WEIGHT if token.isdigit() else CLASS_WEIGHT if token in CLASS_WORDS else 1.0


PAIR_SEP = "+"  # never inside a word (words keep "_": http_proxy, time_wait)


def pairs(ws: list[str]) -> list[str]:
    return [f"{a}{PAIR_SEP}{b}" for a, b in zip(ws, ws[1:], strict=False)]


SYNONYMS = {stem(k): tuple(stem(v) for v in vs) for k, vs in _SYNONYMS.items()}


@lru_cache(maxsize=1)
def concept_map() -> dict[str, list[str]]:
    """Stem -> concept tokens, and "stem stem" -> concept tokens for a word
    pair. Built on first use (stemming its ~300 words costs a few ms) and
    stored in the index cache, so a cached --ask never builds it."""
    single, double = concepts.build(words)
    out = {k: list(v) for k, v in single.items()}
    out.update({f"{a} {b}": list(v) for (a, b), v in double.items()})
    return out


def concept_terms(ws: list[str], cmap: dict[str, list[str]]) -> list[str]:
    """The concept tokens of a text's words, one per occurrence (see concepts)."""
    out = [c for w in ws for c in cmap.get(w, ())]
    out += [c for a, b in zip(ws, ws[1:], strict=False) for c in cmap.get(f"{a} {b}", ())]
    return out


@dataclass
class Hit:
    index: int
    score: float  # confidence 0..1: how much of the question the entry covers
    strength: float = 1.0  # ranking score relative to the first hit's (1.0 for the first)


class Index:
    """Per-field inverted index.

    Postings are stored flat, `term -> [doc, tf_question, tf_phrasings,
    tf_tags, tf_answer, tf_commands, doc, ...]` (as text when loaded from the cache) and
    decoded per term only when a query uses it: loading a cached index of
    thousands of entries costs a JSON parse, not a rebuild.
    """

    FIELDS = tuple(FIELD_WEIGHTS)
    STRIDE = 1 + len(FIELD_WEIGHTS)

    def __init__(self, postings: dict[str, list[int] | str], lengths: list[list[int]],
                 cmap: dict[str, list[str]] | None = None):
        self.flat = postings
        # the concept map the postings were built with, so a query matches them
        self.concepts = concept_map() if cmap is None else cmap
        self.lengths = lengths
        self.n = max(len(lengths), 1)
        self.avg = [max(sum(doc[f] for doc in lengths) / self.n, 1.0)
                    for f in range(len(self.FIELDS))]
        self.default_idf = math.log(1 + (self.n + 0.5) / 0.5)  # a word no entry has
        self._decoded: dict[str, dict[int, list[int]]] = {}
        self._idf: dict[str, float] = {}
        self._vocab: list[str] | None = None

    def __contains__(self, term: str) -> bool:
        return term in self.flat

    def docs(self, term: str) -> dict[int, list[int]]:
        """doc -> term frequency per field, for one term (decoded once)."""
        got = self._decoded.get(term)
        if got is None:
            raw, k = self.flat[term], self.STRIDE
            flat = [int(x) for x in raw.split(",")] if isinstance(raw, str) else raw
            got = {flat[i]: flat[i + 1:i + k] for i in range(0, len(flat), k)}
            self._decoded[term] = got
        return got

    def idf(self, term: str) -> float:
        got = self._idf.get(term)
        if got is None:
            got = self._idf[term] = self._compute_idf(term)
        return got

    def _compute_idf(self, term: str) -> float:
        raw = self.flat.get(term)
        if raw is None:
            df = 0
        elif isinstance(raw, str):  # cached form: count the fields, not parse them
            df = (raw.count(",") + 1) // self.STRIDE
        else:
            df = len(raw) // self.STRIDE
        return math.log(1 + (self.n - df + 0.5) / (df + 0.5))

    @classmethod
    def build(cls, docs: Iterable[dict[str, str]]) -> Index:
        postings: dict[str, dict[int, list[int]]] = {}
        lengths: list[list[int]] = []
        cmap = concept_map()
        nf = len(cls.FIELDS)
        for i, fields in enumerate(docs):
            doc_len = [0] * nf
            for f, name in enumerate(cls.FIELDS):
                ws = words(fields.get(name, ""))
                terms = ws + concept_terms(ws, cmap) + (pairs(ws) if name in PAIR_FIELDS else [])
                for term in terms:
                    postings.setdefault(term, {}).setdefault(i, [0] * nf)[f] += 1
                doc_len[f] = len(ws)
            lengths.append(doc_len)
        flat: dict[str, list[int] | str] = {
            t: [x for d, tf in p.items() for x in [d, *tf]] for t, p in postings.items()}
        return cls(flat, lengths, cmap)

    def to_data(self) -> dict[str, Any]:
        # Postings as comma-separated text: JSON parses a string per term
        # several times faster than an array of numbers per term.
        return {"postings": {t: v if isinstance(v, str) else ",".join(map(str, v))
                             for t, v in self.flat.items()},
                "lengths": self.lengths, "concepts": self.concepts}

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Index:
        return cls(data["postings"], data["lengths"], data["concepts"])

    # -- query side -----------------------------------------------------------
    def _groups(self, query: list[str]) -> list[dict[str, float]]:
        """One group of alternatives per query word (itself, synonyms, fuzzy
        matches) and per word pair. A document scores the best of each group,
        so a word never counts twice through its synonyms."""
        groups: list[dict[str, float]] = []
        for tok in dict.fromkeys(query):
            group: dict[str, float] = {}
            if tok in self:
                group[tok] = _weight(tok)
            for syn in SYNONYMS.get(tok, ()):
                if syn in self:
                    group.setdefault(syn, SYNONYM_WEIGHT)
            if tok not in self and len(tok) >= 5 and tok.isalpha():
                for word, score in self._fuzzy(tok):
                    group.setdefault(word, FUZZY_WEIGHT * score / 100.0)
            for concept in self.concepts.get(tok, ()) if CONCEPT_WEIGHT else ():
                if concept in self:
                    group.setdefault(concept, CONCEPT_WEIGHT)
            if group:
                groups.append(group)
        # Concepts that only a word pair names ("shut down", "timed out").
        named = {c for g in groups for c in g if c.startswith(concepts.CONCEPT_PREFIX)}
        for a, b in zip(query, query[1:], strict=False) if CONCEPT_WEIGHT else ():
            for concept in self.concepts.get(f"{a} {b}", ()):
                if concept in self and concept not in named:
                    named.add(concept)
                    groups.append({concept: CONCEPT_WEIGHT})
        for pair in dict.fromkeys(pairs(query)):
            if pair in self:
                groups.append({pair: PAIR_WEIGHT})
        return groups

    def _fuzzy(self, tok: str) -> list[tuple[str, float]]:
        from rapidfuzz import fuzz, process

        if self._vocab is None:
            self._vocab = [t for t in self.flat if PAIR_SEP not in t and len(t) >= 4
                           and not t.startswith(concepts.CONCEPT_PREFIX)]
        found = process.extract(tok, self._vocab, scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF,
                                limit=2)
        return [(word, float(score)) for word, score, _ in found]

    def _bm25f(self, idf: float, doc: int, tf: list[int]) -> float:
        # BM25 per field, weighted after saturation: a word in the question
        # counts three times a word in the answer, however often the answer
        # repeats it.
        total = 0.0
        for f, name in enumerate(self.FIELDS):
            if tf[f]:
                norm = 1 - B + B * self.lengths[doc][f] / self.avg[f]
                total += FIELD_WEIGHTS[name] * tf[f] * (K1 + 1) / (tf[f] + K1 * norm)
        return idf * total

    def search(self, text: str, limit: int = 5) -> list[Hit]:
        query = words(text)
        groups = self._groups(query)
        if not groups:
            return []
        scores: dict[int, float] = {}
        covered: dict[int, float] = {}
        titled: dict[int, float] = {}
        for group in groups:
            best: dict[int, tuple[float, float, bool]] = {}
            for term, qweight in group.items():
                idf = self.idf(term)
                for doc, tf in self.docs(term).items():
                    value = qweight * self._bm25f(idf, doc, tf)
                    if doc not in best or value > best[doc][0]:
                        best[doc] = (value, qweight * idf, bool(tf[0] or tf[1] or tf[2]))
            topical = not (PAIR_SEP in next(iter(group)) or next(iter(group)) in INTENT)
            for doc, (value, weight, in_title) in best.items():
                scores[doc] = scores.get(doc, 0.0) + value
                if topical:
                    covered[doc] = covered.get(doc, 0.0) + weight
                    if in_title:
                        titled[doc] = titled.get(doc, 0.0) + weight
        # Confidence: the share of the query's word weight the entry matches.
        # Words no entry knows weigh as much as the rarest word, so off-topic
        # text ("how do I bake bread") stays below the answer threshold.
        total = sum(_weight(t) * (self.idf(t) if t in self else self.default_idf)
                    for t in set(query) if t not in INTENT) or 1.0
        # An entry whose question, phrasings or tags carry the query's words is
        # what a person scanning the FAQ would pick: reward that coverage.
        top = max(scores.values())
        for doc in scores:
            scores[doc] += TITLE_BONUS * top * titled.get(doc, 0.0) / total
        ranked = sorted(scores.items(), key=lambda x: (-x[1], x[0]))[:limit]
        first = ranked[0][1] or 1.0
        # Words matched only in the answer count half: answers mention much
        # in passing that the entry is not about.
        return [Hit(doc, min(1.0, (titled.get(doc, 0.0) + covered.get(doc, 0.0)) / (2 * total)),
                    value / first)
                for doc, value in ranked]


# Near ties: when the first answer is a guess between close entries, the
# caller should ask "did you mean A or B?" rather than answer. A following
# hit is close when its ranking score is at least NEAR_TIE_RATIO of the
# first's, or when it covers at least as much of the question (confidence)
# with at least NEAR_TIE_COVER_RATIO of the first's ranking score (the two
# signals disagree). Measured on the tuning sets (TUNED in tests/test_kb.py,
# 413 questions, never the held-out sets), with the entries as they were
# before the sharpening pass (p@1 0.898) to see realistic mistakes: asking
# on 16% of questions cut wrong direct answers from 10.2% to 4.4%; with the
# sharpened entries it asks on 11% and answers wrongly 1.0% of the time.
# With the classifier re-ordering the first hits (model.py), a hit's
# strength is its combined score relative to the first's; the same
# thresholds then ask on 8.0% of the tuning questions and answer wrongly
# 1.0% of the time (measured on TUNED only; 0.85 would ask on 10.4% for
# 0.8% wrong, the BM25-only figures).
NEAR_TIE_RATIO = 0.90
NEAR_TIE_COVER_RATIO = 0.70
NEAR_TIE_MAX = 3


def near_ties(hits: list[Hit], ratio: float = NEAR_TIE_RATIO,
              cover_ratio: float = NEAR_TIE_COVER_RATIO, limit: int = NEAR_TIE_MAX) -> list[Hit]:
    """The hits too close to the first to pick one: the first hit and each of
    the next (up to `limit` in all) that is close to it, in rank order.
    Empty when the first hit stands alone: answer it; otherwise ask which
    of these the user meant."""
    if not hits:
        return []
    top = hits[0]
    close = [top] + [h for h in hits[1:limit]
                     if h.strength >= ratio or (h.strength >= cover_ratio and h.score >= top.score)]
    return close if len(close) >= 2 else []
