"""FAQ matching: the core's normaliser, then rapidfuzz at character, pinyin and word level.

Each phrasing (the question and every alternate of an active entry) keeps three keys: its
normalised characters without punctuation, their toneless pinyin (homophone typos such as
低包户 / 低保户 or 玉露计划 / 雨露计划 meet), and its jieba content words with synonyms. A
question is scored against a phrasing by two views, both 0..100:

* ``sequence``: order-aware, ``(1 - p) * fuzz.ratio(chars) + p * fuzz.ratio(pinyin syllables)``
  with ``p`` = ``pinyin_share`` (0.4 as committed) for short questions, 0 for long ones;
* ``lexical``: order-free, IDF-weighted coverage of the question's words by the phrasing
  (``lexical_question``), of the phrasing's words by the question (``lexical_phrasing``) and
  of the question's words by the whole entry, answer included (``lexical_entry``); synonyms,
  equal pinyin and containment count.

Short questions are paraphrased by swapping words (lexical view matters most); long
statements change meaning when words swap places (PAWS-X), so the sequence view takes over
as the question grows: ``score = lam * sequence + (1 - lam) * (s * sequence + (1 - s) * lexical)``
with ``s`` = ``short_sequence_share`` and ``lam`` rising from 0 at :data:`SHORT_CHARS` to 1 at
:data:`LONG_CHARS` characters. All these numbers are the ``faq_scoring`` block of qa/params.json.

Decision (:func:`faq.result.decide`, lines from the ``faq_decision`` block): ``answer`` when
the best entry scores at least the answer line (``answer_at`` for questions, rising to
``long_answer_at`` for long statements) and leads the runner-up entry by ``margin``, or
scores ``answer_clear`` whatever the margin; ``suggest`` (「您是不是想问」) from
``suggest_at``; otherwise ``none`` and passages answer. A question noun no phrasing uses costs
:data:`UNKNOWN_NOUN_PENALTY`. Questions of one or two characters only match a phrasing
they equal exactly.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from faq.result import FaqMatch, decide, length_blend
from qa.params import PARAMS
from qa.query import YEAR, Query, answer_type, sentence_has_type
from qa.store.faq_rows import FaqRecord
from qa.text import NAME_TAGS, NOUN_TAGS, Segmenter, is_cjk, normalize, syllables

_S = PARAMS.faq_scoring
#: Scoring constants: the ``faq_scoring`` block of qa/params.json (set by judgement on
#: data/eval/faq_paraphrases.jsonl with bench/faq_debug.py and checked on PAWS-X with
#: bench/faq_bench.py; written unchanged by bench/calibrate.py). The decision lines are in
#: :func:`faq.result.decide`.
SHORT_CHARS, LONG_CHARS = _S.short_chars, _S.long_chars
#: Points taken off when the question names a figure that the entry's question, alternates
#: and answer never mention, and more for a year: 「2021年销售额」 is not 「2020年销售额」.
NUMBER_MISMATCH_PENALTY = _S.number_mismatch
YEAR_MISMATCH_PENALTY = _S.year_mismatch
#: Points taken off when the question asks for a count, an amount, a date, a person or a
#: place (qa.query answer types) and the entry's answer holds none: 「签约一年要交多少钱」 is
#: not answered by an entry about who is in the team.
ANSWER_TYPE_PENALTY = _S.answer_type
_TYPED = frozenset({"count_household", "count_person", "money", "count", "date", "person", "place", "phone",
                    "hours", "address"})
#: Points taken off per question noun (电话, 利率) that no FAQ phrasing uses at all, at most
#: two: a question about something the FAQ never mentions is not answered by it.
UNKNOWN_NOUN_PENALTY = _S.unknown_noun
#: Points taken off an entry that contains none of the question's nouns (公租房去哪里办 is not
#: about student aid, however alike 「去哪里办」 reads).
NO_SHARED_NOUN_PENALTY = _S.no_shared_noun
#: ... and per proper name (jieba tags ns/nr/nt: 卧龙区, a person, an organisation): a question
#: about another district is not answered by this district's entry however alike the wording.
UNKNOWN_NAME_PENALTY = _S.unknown_name
_NAME_TAGS = NAME_TAGS
SHORT_QUERY_CHARS = _S.short_query_chars
#: Homophone correction applies to questions up to this long: residents' typos come in short
#: questions, while long statements are full of transliterated names that sound alike.
CORRECT_MAX_CHARS = _S.correct_max_chars
#: Phrasings fully scored per question: the best by characters, by pinyin and by shared words.
CANDIDATES = _S.candidates
#: Shares inside the score (see the module docstring).
PINYIN_SHARE = _S.pinyin_share
SHORT_SEQUENCE_SHARE = _S.short_sequence_share
LEXICAL_SHARES = (_S.lexical_question, _S.lexical_phrasing, _S.lexical_entry)

_NUMBERS = re.compile(r"\d{2,}(?:\.\d+)?")
_STRIP = re.compile(r"[\s\W_]+")
_TAIL = re.compile(r"(吗|呢|啊|呀|吧|么|嘛|哈)+$")
_HEAD = re.compile(r"^(请问|请教一下|请教|问一下|想问一下|想问|我想问一下|我想问|我想知道|想知道)")


def _key(norm: str) -> str:
    """Characters that carry the question: punctuation, a leading 请问 and trailing particles off."""
    key = _STRIP.sub("", norm)
    return _TAIL.sub("", _HEAD.sub("", key)) or key


def _pinyin(key: str) -> list[str]:
    return syllables(key)


@dataclass(frozen=True)
class _Phrasing:
    entry: FaqRecord
    text: str
    key: str
    pinyin: list[str]
    words: dict[str, str]  # content word -> its toneless pinyin
    numbers: frozenset[str]
    answer_norm: str


@dataclass
class _QueryWords:
    """One question prepared once for scoring against many phrasings."""

    key: str
    pinyin: list[str]
    numbers: frozenset[str]
    kind: str | None
    words: list[tuple[str, str, frozenset[str], float]]  # (word, pinyin, variants, weight)
    total: float
    nouns: list[tuple[str, str, frozenset[str], float]]
    places: frozenset[str]


class FaqMatcher:
    """Matches questions against a fixed list of FAQ entries (build a new one on change).

    Args:
        entries: FAQ records; disabled ones are ignored.
        segmenter: the process's segmenter (content words, synonyms).
    """

    def __init__(self, entries: Sequence[FaqRecord], segmenter: Segmenter) -> None:
        self.segmenter = segmenter
        self.entries = [e for e in entries if e.status == "active"]
        self._phrasings: list[_Phrasing] = []
        for entry in self.entries:
            numbers = frozenset(_NUMBERS.findall(normalize(" ".join([entry.question, *entry.alternates, entry.answer]))))
            for text in dict.fromkeys([entry.question, *entry.alternates]):
                if text.strip():
                    norm = normalize(text)
                    key = _key(norm)
                    self._phrasings.append(_Phrasing(entry, text, key, _pinyin(key), self._words(norm), numbers,
                                                     normalize(entry.answer)))
        df: Counter[str] = Counter()
        for p in self._phrasings:
            df.update(list(p.words))
        n = max(len(self._phrasings), 1)
        self._idf = {w: math.log(1 + (n - c + 0.5) / (c + 0.5)) for w, c in df.items()}
        self._idf_unknown = math.log(1 + (n + 0.5) / 0.5)
        self._bags = {}
        self._places: dict[str, frozenset[str]] = {}
        for entry in self.entries:
            bag: dict[str, str] = {}
            for text in (entry.question, *entry.alternates, entry.answer):
                bag.update(self._words(normalize(text)))
            self._bags[entry.id] = bag
            self._places[entry.id] = frozenset(w for w in bag if w in segmenter.places)
        self._keys = [p.key for p in self._phrasings]
        self._pinyins = [p.pinyin for p in self._phrasings]
        self._postings: dict[str, list[int]] = defaultdict(list)
        for i, p in enumerate(self._phrasings):
            for word in p.words:
                self._postings[word].append(i)
        self._exact = {p.key: i for i, p in reversed(list(enumerate(self._phrasings)))}
        self._vocabulary_pinyin = {py for p in self._phrasings for py in p.words.values()}
        self._py_cache: dict[int, dict[str, str]] = {}
        self._by_first_syllable: dict[str, list[tuple[str, list[str]]]] = defaultdict(list)
        for word in sorted(self._idf, key=len, reverse=True):
            if 2 <= len(word) <= 8 and all(is_cjk(c) for c in word):
                word_syllables = syllables(word)
                self._by_first_syllable[word_syllables[0]].append((word, word_syllables))

    def __len__(self) -> int:
        return len(self.entries)

    def correct_homophones(self, norm: str) -> str:
        """Replace stretches of the question that sound like an FAQ word but are written
        differently and are no word themselves (低包户 -> 低保户, 玉露计划 -> 雨露计划): residents
        type pinyin and pick the wrong character. Longest words first; never overlapping."""
        chars = list(norm)
        sounds = [syllables(c)[0] if is_cjk(c) else None for c in chars]
        taken = [False] * len(chars)
        changed = False
        for i in range(len(chars)):
            for word, word_syllables in self._by_first_syllable.get(sounds[i], ()):
                n = len(word)
                if i + n > len(chars) or any(taken[i:i + n]) or sounds[i:i + n] != word_syllables:
                    continue
                written = "".join(chars[i:i + n])
                if written == word or written in self._idf or self.segmenter.is_word(written):
                    continue
                chars[i:i + n] = list(word)
                taken[i:i + n] = [True] * n
                changed = True
                break
        return "".join(chars) if changed else norm

    def _words(self, norm: str) -> dict[str, str]:
        return {w: " ".join(syllables(w)) for w in self.segmenter.content_words(norm)}

    def _unknown_penalty(self, norm: str) -> float:
        """Points off for nouns of the question (2+ characters) that no phrasing uses, even as
        a synonym, homophone or part of a longer word: proper names cost
        :data:`UNKNOWN_NAME_PENALTY`, other nouns :data:`UNKNOWN_NOUN_PENALTY` (at most two)."""
        vocabulary_pinyin = self._vocabulary_pinyin
        nouns = names = 0
        for word, flag in self.segmenter.tagged_content_words(norm):
            if flag not in NOUN_TAGS or len(word) < 2 or any(v in self._idf for v in self.segmenter.variants(word)):
                continue
            if " ".join(syllables(word)) in vocabulary_pinyin or any(word in w for w in self._idf):
                continue
            if flag in _NAME_TAGS:
                names += 1
            else:
                nouns += 1
        return UNKNOWN_NAME_PENALTY * min(names, 1) + UNKNOWN_NOUN_PENALTY * min(nouns, 2)

    def _query_words(self, key: str, norm: str, words: dict[str, str], kind: str | None) -> "_QueryWords":
        entries = [(w, py, self.segmenter.variants(w), self._weight(w)) for w, py in words.items()]
        return _QueryWords(key=key, pinyin=_pinyin(key), numbers=frozenset(_NUMBERS.findall(norm)), kind=kind,
                           words=entries, total=sum(e[3] for e in entries) or 1.0,
                           nouns=[e for e in entries if len(e[0]) >= 2 and self.segmenter.is_noun(e[0])],
                           places=frozenset(w for w in words if w in self.segmenter.places))

    def _weight(self, word: str) -> float:
        return self._idf.get(word, self._idf_unknown)

    def _word_match(self, qword: str, qpinyin: str, words: dict[str, str],
                    variants: frozenset[str] | None = None) -> tuple[float, str | None]:
        """Credit (0..1) for one question word among a phrasing's words: 1 for the same word, a
        synonym or the same pinyin (typo); 0.8 when one contains the other (监测户 / 边缘监测户)."""
        variants = variants if variants is not None else self.segmenter.variants(qword)
        for variant in variants:
            if variant in words:
                return 1.0, variant
        if len(qword) >= 2:
            by_pinyin = self._pinyin_index(words)
            if qpinyin in by_pinyin:
                return 1.0, by_pinyin[qpinyin]
            for word in words:
                if len(word) >= 2 and (qword in word or word in qword):
                    return 0.8, word
        return 0.0, None

    def _pinyin_index(self, words: dict[str, str]) -> dict[str, str]:
        """{pinyin: word} of a phrasing's or entry's words, built once per word set."""
        key = id(words)
        index = self._py_cache.get(key)
        if index is None:
            index = {py: w for w, py in words.items() if len(w) >= 2}
            self._py_cache[key] = index
        return index

    def _coverage(self, query: "_QueryWords", words: dict[str, str]) -> tuple[float, float]:
        """(share of the question's word weight found, share of the phrasing's found), 0..1."""
        if not query.words or not words:
            return 0.0, 0.0
        p_total = sum(self._weight(w) for w in words)
        q_hit = p_hit = 0.0
        for qword, qpinyin, variants, weight in query.words:
            credit, hit = self._word_match(qword, qpinyin, words, variants)
            if hit is not None:
                q_hit += credit * weight
                p_hit += credit * self._weight(hit)
        return q_hit / query.total, min(p_hit / p_total, 1.0)

    def _candidates(self, key: str, pinyin: list[str], words: dict[str, str]) -> set[int]:
        out = {i for _, _, i in process.extract(key, self._keys, scorer=fuzz.ratio, limit=CANDIDATES)}
        out |= {i for _, _, i in process.extract(pinyin, self._pinyins, scorer=fuzz.ratio, limit=CANDIDATES)}
        shared: Counter[int] = Counter()
        for word in words:
            for variant in self.segmenter.variants(word):
                for i in self._postings.get(variant, ()):
                    shared[i] += self._weight(variant)
        out |= {i for i, _ in shared.most_common(CANDIDATES)}
        return out

    def score(self, query: "_QueryWords", i: int, entry_memo: dict | None = None) -> float:
        """Score (0..100) of the question against phrasing ``i`` (see the module docstring).
        ``entry_memo`` caches per-entry parts (bag coverage, checks) within one question."""
        p = self._phrasings[i]
        key, numbers, kind = query.key, query.numbers, query.kind
        lam = length_blend(len(key))
        w_pinyin = PINYIN_SHARE * (1 - lam)  # pinyin catches typos in short questions; long texts read by characters
        sequence = (1 - w_pinyin) * fuzz.ratio(key, p.key) + w_pinyin * fuzz.ratio(query.pinyin, p.pinyin)
        q_cov, p_cov = self._coverage(query, p.words)
        memo = entry_memo if entry_memo is not None else {}
        cached = memo.get(p.entry.id)
        if cached is None:
            bag = self._bags[p.entry.id]
            bag_cov, _ = self._coverage(query, bag)
            penalty = 0.0
            if kind in _TYPED and not sentence_has_type(p.answer_norm, kind, numbers, question_norm=key):
                penalty += ANSWER_TYPE_PENALTY
            if query.nouns and not any(self._word_match(w, py, bag, v)[1] for w, py, v, _ in query.nouns):
                penalty += NO_SHARED_NOUN_PENALTY
            places = self._places[p.entry.id]
            if query.places and places and not query.places & places:
                penalty += UNKNOWN_NAME_PENALTY  # 卧龙区 asked, the entry is about 宛城区
            cached = memo[p.entry.id] = (bag_cov, penalty)
        bag_cov, penalty = cached
        lexical = 100 * (LEXICAL_SHARES[0] * q_cov + LEXICAL_SHARES[1] * p_cov + LEXICAL_SHARES[2] * bag_cov)
        short = SHORT_SEQUENCE_SHARE * sequence + (1 - SHORT_SEQUENCE_SHARE) * lexical
        score = lam * sequence + (1 - lam) * short - (1 - lam) * penalty
        missing = numbers - p.numbers
        if missing:
            score -= YEAR_MISMATCH_PENALTY if any(YEAR.fullmatch(n) for n in missing) else NUMBER_MISMATCH_PENALTY
        return max(score, 0.0)

    def match(self, query: Query | str) -> FaqMatch:
        """Score the entries for a question (an analysed :class:`~qa.query.Query` or raw text)."""
        norm = query.norm if isinstance(query, Query) else normalize(query)
        if len(norm) <= CORRECT_MAX_CHARS:
            norm = self.correct_homophones(norm)
        key = _key(norm)
        if not self._phrasings or not key:
            return FaqMatch("none", None, 0.0, 0.0, 0.0)
        if len(key) <= SHORT_QUERY_CHARS:
            scored = [(100.0, self._exact[key])] if key in self._exact else []
        else:
            words = self._words(norm)
            kind = query.answer_type if isinstance(query, Query) else answer_type(norm)
            qw = self._query_words(key, norm, words, kind)
            penalty = self._unknown_penalty(norm)
            memo: dict = {}
            scored = [(max(self.score(qw, i, memo) - penalty, 0.0), i)
                      for i in self._candidates(key, qw.pinyin, words)]
        best: dict[str, tuple[float, int]] = {}
        for score, i in scored:
            entry_id = self._phrasings[i].entry.id
            if score > best.get(entry_id, (-1.0, i))[0]:
                best[entry_id] = (score, i)
        if not best:
            return FaqMatch("none", None, 0.0, 0.0, 0.0)
        ranked = sorted(best.values(), key=lambda si: (-si[0], self._phrasings[si[1]].entry.id))
        top = [(self._phrasings[i].entry, s) for s, i in ranked]
        score, index = ranked[0]
        margin = score - (ranked[1][0] if len(ranked) > 1 else 0.0)
        lam = length_blend(len(key))
        decision, confidence = decide(score, margin, lam)
        return FaqMatch(decision, self._phrasings[index].entry, score, margin, confidence,
                        self._phrasings[index].text, top, lam)
