"""The FAQ matcher's retrieval stage: every phrasing (question and alternates of active entries)
in an index that can add and remove one entry at a time.

Three candidate sources, each returning phrasing ids (``pid``, int):

* BM25 (Robertson & Zaragoza, "The Probabilistic Relevance Framework: BM25 and Beyond", 2009;
  k1 = 1.2, b = 0.75 as in Lucene) over a phrasing's terms: its content words (jieba, the
  core's normaliser), the toneless pinyin of those words (``py:`` terms, so a typo such as
  低包 still meets 低保), and the character bigrams of its key. A question's own words weigh 1;
  synonyms from data/text/synonyms.txt, pinyin and bigrams weigh less (``faq_match`` block of
  qa/params.json): expansions never outrank the resident's own words.
* the best ``fuzz.ratio`` over the phrasing keys (character order; catches rewordings that
  keep most characters);
* an exact key lookup.

Nothing here scores a question for the decision; :mod:`faq.matcher` scores the candidates.
Adding or removing an entry costs time proportional to its phrasings (no rebuild), so an edit
is visible on the next answer (bench/faq_scale.py measures it at 10,000 entries).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from qa.text import is_cjk, syllables

#: BM25 constants (Lucene's defaults; not fitted).
K1, B = 1.2, 0.75
#: Terms in more than this share of the phrasings are skipped at query time once the FAQ holds
#: more than :data:`COMMON_MIN_PHRASINGS` phrasings: they rank nothing and cost a walk over most
#: postings (什么, 怎么 as bigrams).
COMMON_SHARE, COMMON_MIN_PHRASINGS = 0.2, 2000


@dataclass(frozen=True)
class Phrasing:
    """One question or alternate of an entry, prepared for matching.

    Attributes:
        pid: id inside the index (never reused).
        entry_id: the FAQ entry it belongs to.
        text: as staff wrote it; ``key``: normalised characters that carry the question.
        pinyin: toneless syllables of ``key``.
        words: {content word: its toneless pinyin, space-separated}.
        by_pinyin: {pinyin: word} of ``words`` of two or more characters.
    """

    pid: int
    entry_id: str
    text: str
    key: str
    pinyin: list[str]
    words: dict[str, str]
    by_pinyin: dict[str, str]


def bigrams(key: str) -> list[str]:
    """Character bigrams of the CJK runs of ``key`` (a lone CJK character counts as one term)."""
    out: list[str] = []
    run = ""
    for char in key + " ":
        if is_cjk(char):
            run += char
            continue
        if len(run) == 1:
            out.append(run)
        out.extend(run[i:i + 2] for i in range(len(run) - 1))
        run = ""
    return out


def phrasing_terms(p: Phrasing) -> Counter[str]:
    """Index terms of a phrasing with their counts: words, ``py:`` pinyin of words, bigrams."""
    terms: Counter[str] = Counter(list(p.words))
    terms.update(f"py:{py}" for w, py in p.words.items() if len(w) >= 2)
    terms.update(f"bi:{g}" for g in bigrams(p.key))
    return terms


class PhrasingIndex:
    """Phrasings with BM25 postings, keys for rapidfuzz, word document frequencies and the
    homophone vocabulary, all updated per entry (:meth:`add`, :meth:`remove`). Not
    thread-safe: :class:`faq.matcher.FaqMatcher` serialises access."""

    def __init__(self) -> None:
        self.phrasings: dict[int, Phrasing] = {}
        self.by_entry: dict[str, list[int]] = {}
        self.keys: dict[int, str] = {}
        self.exact: dict[str, set[int]] = defaultdict(set)
        self._postings: dict[str, dict[int, int]] = defaultdict(dict)
        self._lengths: dict[int, int] = {}
        self._total_length = 0
        self.word_df: Counter[str] = Counter()  # content word -> phrasings using it
        self.word_pinyin: Counter[str] = Counter()  # pinyin of a content word -> phrasings
        self._by_first_syllable: dict[str, dict[str, tuple[str, ...]]] = defaultdict(dict)
        self._next = 0

    def __len__(self) -> int:
        return len(self.phrasings)

    # ------------------------------------------------------------------ updates
    def add(self, entry_id: str, items: list[tuple[str, str, list[str], dict[str, str]]]) -> list[int]:
        """Index the phrasings of one entry: ``(text, key, pinyin syllables, words)`` each.
        Returns their pids. The entry must not be indexed already (:meth:`remove` it first)."""
        pids = []
        for text, key, pinyin, words in items:
            pid = self._next
            self._next += 1
            p = Phrasing(pid, entry_id, text, key, pinyin, words,
                         {py: w for w, py in words.items() if len(w) >= 2})
            self.phrasings[pid] = p
            self.keys[pid] = key
            self.exact[key].add(pid)
            terms = phrasing_terms(p)
            for term, count in terms.items():
                self._postings[term][pid] = count
            length = sum(terms.values())
            self._lengths[pid] = length
            self._total_length += length
            for word, py in words.items():
                if self.word_df[word] == 0 and 2 <= len(word) <= 8 and all(is_cjk(c) for c in word):
                    sounds = tuple(syllables(word))
                    self._by_first_syllable[sounds[0]][word] = sounds
                self.word_df[word] += 1
                self.word_pinyin[py] += 1
            pids.append(pid)
        self.by_entry[entry_id] = pids
        return pids

    def remove(self, entry_id: str) -> None:
        """Drop every phrasing of one entry (nothing happens for an unknown id)."""
        for pid in self.by_entry.pop(entry_id, []):
            p = self.phrasings.pop(pid)
            del self.keys[pid]
            self.exact[p.key].discard(pid)
            if not self.exact[p.key]:
                del self.exact[p.key]
            for term in phrasing_terms(p):
                postings = self._postings[term]
                postings.pop(pid, None)
                if not postings:
                    del self._postings[term]
            self._total_length -= self._lengths.pop(pid)
            for word, py in p.words.items():
                self.word_df[word] -= 1
                if self.word_df[word] <= 0:
                    del self.word_df[word]
                    first = syllables(word)[0] if word and is_cjk(word[0]) else None
                    if first is not None:
                        self._by_first_syllable[first].pop(word, None)
                self.word_pinyin[py] -= 1
                if self.word_pinyin[py] <= 0:
                    del self.word_pinyin[py]

    # ------------------------------------------------------------------ lookups
    def idf(self, word: str) -> float:
        """BM25 idf of a content word over the phrasings (unknown words get the largest)."""
        n = max(len(self.phrasings), 1)
        c = self.word_df.get(word, 0)
        return math.log(1 + (n - c + 0.5) / (c + 0.5))

    def homophone_words(self, first_syllable: str) -> list[tuple[str, tuple[str, ...]]]:
        """Vocabulary words starting with this syllable, longest first (homophone correction)."""
        words = self._by_first_syllable.get(first_syllable)
        if not words:
            return []
        return sorted(words.items(), key=lambda item: (-len(item[0]), item[0]))

    def bm25(self, terms: dict[str, float], limit: int) -> list[tuple[int, float]]:
        """The ``limit`` best phrasings for weighted query ``terms`` ({term: weight}), as
        (pid, BM25 score >= 0) best first."""
        n = len(self.phrasings)
        if not n:
            return []
        avg = self._total_length / n
        scores: dict[int, float] = defaultdict(float)
        for term, weight in terms.items():
            postings = self._postings.get(term)
            if not postings or (n > COMMON_MIN_PHRASINGS and len(postings) > COMMON_SHARE * n):
                continue
            idf = math.log(1 + (n - len(postings) + 0.5) / (len(postings) + 0.5)) * weight
            lengths = self._lengths
            for pid, tf in postings.items():
                scores[pid] += idf * tf * (K1 + 1) / (tf + K1 * (1 - B + B * lengths[pid] / avg))
        best = sorted(scores.items(), key=lambda item: -item[1])
        return best[:limit]

    def by_characters(self, key: str, limit: int) -> list[int]:
        """The ``limit`` phrasings whose keys are closest to ``key`` by ``fuzz.ratio``."""
        return [pid for _, _, pid in process.extract(key, self.keys, scorer=fuzz.ratio, limit=limit)]
