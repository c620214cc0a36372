"""A second ranking signal: multinomial naive Bayes over the entries' wording.

BM25 (search.py) scores the words a question shares with an entry; it is
blind to how an entry's many phrasings, taken together, use words. A naive
Bayes classifier trained on each entry's question, phrasings and tags
(label: the entry) adds that: which words and which spellings make up an
entry. Features: stemmed words and word pairs after search.words(), and
character 3- to 5-grams of the raw words (bounded by "<" and ">"), which
meet typos and other forms of a word that stemming misses.

It only re-orders BM25's first RERANK_K hits (see rerank): the classifier
never brings in an entry BM25 did not find, and its cost per question is
RERANK_K entries, not the size of the knowledge base. Training is
counting, done when the index is built; the counts are kept per entry as
text and decoded only for the entries a question's hits name.

Chosen on the tuning sets (TUNED in tests/test_kb.py) and on held-back
phrasings of the entries themselves, never on the held-out sets (README,
"Knowledge-base retrieval").
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from assistant.knowledge import search as kbsearch

RERANK_K = 10          # BM25 hits the classifier may re-order
MODEL_WEIGHT = 0.5     # weight of the classifier's posterior beside BM25's relative score (0..1)
TEMPERATURE = 10.0     # flattens the log-likelihoods: naive Bayes is over-confident
ALPHA = 0.3            # additive smoothing
# Feature weights by kind: a word pair counts half a word, and one word
# gives a dozen character n-grams, so each counts little.
WORD, PAIR, CHARS = 1.0, 0.5, 0.3
NGRAMS = (3, 4, 5)
_RAW = re.compile(r"[a-z0-9]+")
_KIND = {"w": WORD, "p": PAIR, "c": CHARS}


def features(text: str) -> Counter[str]:
    """Feature -> count; the kind is the first letter (see _KIND)."""
    return expand(terms(text))


def terms(text: str) -> Counter[str]:
    """Words ("w"), word pairs ("p") and the raw words ("t") whose character
    n-grams are features: an entry is stored as these, several times
    smaller than its n-grams, and expanded when a question needs it."""
    ws = kbsearch.words(text)
    out: Counter[str] = Counter("w" + w for w in ws)
    out.update("p" + p for p in kbsearch.pairs(ws))
    out.update("t" + tok for tok in _RAW.findall(text.lower()) if tok not in kbsearch.STOP)
    return out


@lru_cache(maxsize=65536)
def grams(token: str) -> tuple[str, ...]:
    t = f"<{token}>"
    return tuple("c" + t[i:i + n] for n in NGRAMS for i in range(len(t) - n + 1))


def expand(counts: Counter[str]) -> Counter[str]:
    out: Counter[str] = Counter()
    for f, n in counts.items():
        if f[0] == "t":
            for g in grams(f[1:]):
                out[g] += n
        else:
            out[f] += n
    return out


class Model:
    """Per-entry terms (see terms) as text ("term count" pairs) until used,
    and every feature the entries have, as text until a question needs it."""

    def __init__(self, counts: list[str], vocabulary: str):
        self.raw = counts
        self.vocabulary = vocabulary
        self._decoded: dict[int, tuple[dict[str, float], float]] = {}
        self._known: set[str] | None = None

    @classmethod
    def build(cls, docs: Iterable[list[str]]) -> Model:
        """One entry's training texts per item (its question, phrasings, tags)."""
        counts: list[str] = []
        vocab: set[str] = set()
        for texts in docs:
            c: Counter[str] = Counter()
            for text in texts:
                c.update(terms(text))
            for f in c:
                vocab.update(grams(f[1:]) if f[0] == "t" else (f,))
            counts.append(" ".join(f"{f} {n}" for f, n in c.items()))
        return cls(counts, " ".join(sorted(vocab)))

    def to_data(self) -> dict[str, Any]:
        return {"counts": self.raw, "vocabulary": self.vocabulary}

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Model:
        return cls(data["counts"], data["vocabulary"])

    def _entry(self, doc: int) -> tuple[dict[str, float], float]:
        """An entry's weighted feature counts and their total (decoded once)."""
        got = self._decoded.get(doc)
        if got is None:
            parts = self.raw[doc].split()
            stored = Counter({f: int(n) for f, n in zip(parts[::2], parts[1::2], strict=True)})
            counts = {f: _KIND[f[0]] * n for f, n in expand(stored).items()}
            got = self._decoded[doc] = (counts, sum(counts.values()))
        return got

    def known(self) -> set[str]:
        if self._known is None:
            self._known = set(self.vocabulary.split())
        return self._known

    def log_likelihoods(self, text: str, docs: list[int]) -> dict[int, float]:
        known = self.known()
        # A feature no entry has says nothing about which of them is meant.
        q = {f: _KIND[f[0]] * n for f, n in features(text).items() if f in known}
        size = max(len(known), 1)
        out = {}
        for doc in docs:
            counts, total = self._entry(doc)
            denom = math.log(total + ALPHA * size)
            out[doc] = sum(n * (math.log(counts.get(f, 0.0) + ALPHA) - denom) for f, n in q.items())
        return out


def rerank(model: Model, text: str, hits: list[kbsearch.Hit]) -> list[kbsearch.Hit]:
    """BM25's hits re-ordered by its relative score plus MODEL_WEIGHT times
    the classifier's posterior over those hits; strength is relative to the
    new first hit, so near_ties compares the combined scores."""
    if len(hits) < 2:
        return hits
    ll = model.log_likelihoods(text, [h.index for h in hits])
    top = max(ll.values())
    exp = {d: math.exp((v - top) / TEMPERATURE) for d, v in ll.items()}
    z = sum(exp.values())
    combined = {h.index: h.strength + MODEL_WEIGHT * exp[h.index] / z for h in hits}
    ranked = sorted(hits, key=lambda h: (-combined[h.index], h.index))
    first = combined[ranked[0].index] or 1.0
    return [kbsearch.Hit(h.index, h.score, combined[h.index] / first) for h in ranked]
