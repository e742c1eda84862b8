"""The FAQ matcher's scorer: one question against the candidate phrasings of :mod:`faq.index`.

Each phrasing keeps three keys: its normalised characters without punctuation, their toneless
pinyin (homophone typos such as 低包户 / 低保户 or 玉露计划 / 雨露计划 meet), and its jieba content
words with synonyms. A question is scored against a phrasing by two views, both 0..100:

* ``sequence``: order-aware, ``(1 - p) * fuzz.ratio(chars) + p * fuzz.ratio(pinyin syllables)``
  with ``p`` = ``pinyin_share`` for short questions, 0 for long ones;
* ``lexical``: order-free, IDF-weighted coverage of the question's words by the phrasing
  (``lexical_question``), of the phrasing's words by the question (``lexical_phrasing``) and
  of the question's words by the whole entry, answer included (``lexical_entry``); synonyms,
  equal pinyin and containment count.

``score = lam * sequence + (1 - lam) * (s * sequence + (1 - s) * lexical)`` less penalties, with
``s`` = ``short_sequence_share`` and ``lam`` (:func:`blend`) rising from 0 at ``short_chars`` to
1 at ``long_chars`` characters (``faq_match.statement_long_chars`` for a text that asks
nothing: swapping words in a statement changes its meaning, PAWS-X). The numbers are the
``faq_scoring`` and ``faq_match`` blocks of qa/params.json.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rapidfuzz import fuzz

from faq.index import Phrasing, PhrasingIndex, bigrams
from faq.result import length_blend
from qa.params import PARAMS
from qa.query import YEAR, sentence_has_type
from qa.store.faq_rows import FaqRecord
from qa.text import NAME_TAGS, NOUN_TAGS, Segmenter, is_cjk, syllables

_S = PARAMS.faq_scoring
MATCH = PARAMS.faq_match
#: Scoring constants: the ``faq_scoring`` block of qa/params.json (set by judgement on
#: data/eval/faq_paraphrases.jsonl with bench/faq_debug.py and checked on PAWS-X with
#: bench/faq_bench.py). The decision lines are in :func:`faq.result.decide`; the retrieval
#: weights and the gates in the ``faq_match`` block (bench/faq_bench.py --fit).
SHORT_CHARS, LONG_CHARS = _S.short_chars, _S.long_chars
#: Points taken off when the question names a figure that the entry's question, alternates
#: and answer never mention, and more for a year: 「2021年销售额」 is not 「2020年销售额」.
NUMBER_MISMATCH_PENALTY = _S.number_mismatch
YEAR_MISMATCH_PENALTY = _S.year_mismatch
#: Points taken off when the question asks for a count, an amount, a date, a person or a
#: place (qa.query answer types) and the entry's answer holds none.
ANSWER_TYPE_PENALTY = _S.answer_type
TYPED_KINDS = frozenset({"count_household", "count_person", "money", "count", "date", "person", "place", "phone",
                    "hours", "address"})
#: Points taken off per question noun that no FAQ phrasing uses at all, at most two.
UNKNOWN_NOUN_PENALTY = _S.unknown_noun
#: Points taken off an entry that contains none of the question's nouns.
NO_SHARED_NOUN_PENALTY = _S.no_shared_noun
#: ... and per proper name (jieba tags ns/nr/nt) no phrasing uses, or a place of another district.
UNKNOWN_NAME_PENALTY = _S.unknown_name
SHORT_QUERY_CHARS = _S.short_query_chars
#: Homophone correction applies to questions up to this long.
CORRECT_MAX_CHARS = _S.correct_max_chars
#: Candidates taken from each retrieval source per question.
CANDIDATES = _S.candidates
PINYIN_SHARE = _S.pinyin_share
SHORT_SEQUENCE_SHARE = _S.short_sequence_share
LEXICAL_SHARES = (_S.lexical_question, _S.lexical_phrasing, _S.lexical_entry)

NUMBERS = re.compile(r"\d{2,}(?:\.\d+)?")
#: Cues of a question (qa.query's answer-type cues, yes/no forms and dialect tails): a text
#: without any is a statement, read by characters from a shorter length (PAWS-X: swapping
#: words in a statement changes its meaning).
_QUESTION = re.compile(r"[吗呢么?？]|什么|怎么|咋|啥|多少|几|哪|谁|是否|能否|可否|有没|是不是|能不能|可不可以|"
                       r"会不会|要不要|行不行|中不中|如何|怎样|为何|为什么|(?:不|没|没有)$")


def blend(key: str, norm: str) -> float:
    """``lam`` (0..1) of a question: :func:`faq.result.length_blend` of its key, reaching 1 at
    ``faq_match.statement_long_chars`` for a statement that asks nothing."""
    if _QUESTION.search(norm):
        return length_blend(len(key))
    return length_blend(len(key), MATCH.statement_long_chars)
_STRIP = re.compile(r"[\s\W_]+")
_TAIL = re.compile(r"(吗|呢|啊|呀|吧|么|嘛|哈)+$")
_HEAD = re.compile(r"^(请问|请教一下|请教|问一下|想问一下|想问|我想问一下|我想问|我想知道|想知道)")


def phrasing_key(norm: str) -> str:
    """Characters that carry the question: punctuation, a leading 请问 and trailing particles off."""
    key = _STRIP.sub("", norm)
    return _TAIL.sub("", _HEAD.sub("", key)) or key


@dataclass(frozen=True)
class Entry:
    """One active entry prepared for scoring (the index holds its phrasings)."""

    record: FaqRecord
    bag: dict[str, str]  # content words of question, alternates and answer -> pinyin
    bag_by_pinyin: dict[str, str]
    places: frozenset[str]
    numbers: frozenset[str]
    text_norm: str  # question, alternates and answer, normalised
    answer_norm: str
    answer_words: frozenset[str]
    negatives: tuple[Phrasing, ...]
    asked: frozenset[str | None]  # answer types its question and alternates ask for


@dataclass
class QueryWords:
    """One question prepared once for scoring against many phrasings."""

    norm: str
    key: str
    pinyin: list[str]
    numbers: frozenset[str]
    kind: str | None
    words: list[tuple[str, str, frozenset[str], float]]  # (word, pinyin, variants, weight)
    total: float
    nouns: list[tuple[str, str, frozenset[str], float]]
    places: frozenset[str]
    lam: float  # 0 short question .. 1 long statement (:func:`blend`)



class Scorer:
    """Scores questions against the phrasings of ``index`` and the entries of ``entries`` (both
    owned and updated by :class:`faq.matcher.FaqMatcher`; the scorer only reads them)."""

    def __init__(self, segmenter: Segmenter, index: PhrasingIndex, entries: dict[str, "Entry"]) -> None:
        self.segmenter, self.index, self._entries = segmenter, index, entries

    def correct_homophones(self, norm: str) -> str:
        """Replace stretches of the question that sound like an FAQ word but are written
        differently and are no word themselves (低包户 -> 低保户, 玉露计划 -> 雨露计划): residents
        type pinyin and pick the wrong character. Longest words first; never overlapping."""
        chars = list(norm)
        sounds = [syllables(c)[0] if is_cjk(c) else None for c in chars]
        taken = [False] * len(chars)
        changed = False
        df = self.index.word_df
        for i in range(len(chars)):
            if sounds[i] is None:
                continue
            for word, word_syllables in self.index.homophone_words(sounds[i]):
                n = len(word)
                if i + n > len(chars) or any(taken[i:i + n]) or tuple(sounds[i:i + n]) != word_syllables:
                    continue
                written = "".join(chars[i:i + n])
                if written == word or written in df or self.segmenter.is_word(written):
                    continue
                chars[i:i + n] = list(word)
                taken[i:i + n] = [True] * n
                changed = True
                break
        return "".join(chars) if changed else norm

    def words(self, norm: str) -> dict[str, str]:
        return {w: " ".join(syllables(w)) for w in self.segmenter.content_words(norm)}

    def unknown_penalty(self, norm: str) -> float:
        """Points off for nouns of the question (2+ characters) that no phrasing uses, even as
        a synonym, homophone or part of a longer word: proper names cost
        :data:`UNKNOWN_NAME_PENALTY`, other nouns :data:`UNKNOWN_NOUN_PENALTY` (at most two)."""
        df, pinyins = self.index.word_df, self.index.word_pinyin
        nouns = names = 0
        for word, flag in self.segmenter.tagged_content_words(norm):
            if flag not in NOUN_TAGS or len(word) < 2 or any(v in df for v in self.segmenter.variants(word)):
                continue
            if self.segmenter.general_idf(word) <= MATCH.common_idf + 1:  # an everyday word (东西), no topic
                continue
            if " ".join(syllables(word)) in pinyins or any(word in w for w in df):
                continue
            if flag in NAME_TAGS:
                names += 1
            else:
                nouns += 1
        return UNKNOWN_NAME_PENALTY * min(names, 1) + UNKNOWN_NOUN_PENALTY * min(nouns, 2)

    def weight(self, word: str) -> float:
        """Weight of a question word in the coverage shares: its idf over the phrasings; a word
        no phrasing uses keeps the largest idf only when it is rare in general Chinese
        (:meth:`qa.text.Segmenter.general_idf` at ``faq_match.rare_idf`` or more), and
        ``faq_match.common_floor`` of it for everyday words (``common_idf`` or less: 东西, 拿),
        linear between: a resident's filler words must not outweigh the topic word they
        share with the entry, while an unknown term (驾照) still counts fully."""
        idf = self.index.idf(word)
        if word in self.index.word_df:
            return idf
        general = self.segmenter.general_idf(word)
        share = (general - MATCH.common_idf) / (MATCH.rare_idf - MATCH.common_idf)
        return idf * min(max(share, MATCH.common_floor), 1.0)

    def query_words(self, key: str, norm: str, words: dict[str, str], kind: str | None) -> QueryWords:
        entries = [(w, py, self.segmenter.variants(w), self.weight(w)) for w, py in words.items()]
        return QueryWords(norm=norm, key=key, pinyin=syllables(key), numbers=frozenset(NUMBERS.findall(norm)),
                           kind=kind, words=entries, total=sum(e[3] for e in entries) or 1.0,
                           nouns=[e for e in entries if len(e[0]) >= 2 and self.segmenter.is_noun(e[0])],
                           places=frozenset(w for w in words if w in self.segmenter.places), lam=blend(key, norm))

    @staticmethod
    def word_match(qword: str, qpinyin: str, words: dict[str, str], by_pinyin: dict[str, str],
                    variants: frozenset[str]) -> tuple[float, str | None]:
        """Credit (0..1) for one question word among a phrasing's words: 1 for the same word, a
        synonym or the same pinyin (typo); 0.8 when one contains the other (监测户 / 边缘监测户)."""
        for variant in variants:
            if variant in words:
                return 1.0, variant
        if len(qword) >= 2:
            if qpinyin in by_pinyin:
                return 1.0, by_pinyin[qpinyin]
            for word in words:
                if len(word) >= 2 and (qword in word or word in qword):
                    return 0.8, word
        return 0.0, None

    def coverage(self, query: QueryWords, words: dict[str, str], by_pinyin: dict[str, str]) -> tuple[float, float]:
        """(share of the question's word weight found, share of the phrasing's found), 0..1."""
        if not query.words or not words:
            return 0.0, 0.0
        idf = self.index.idf
        p_total = sum(idf(w) for w in words)
        q_hit = p_hit = 0.0
        for qword, qpinyin, variants, weight in query.words:
            credit, hit = self.word_match(qword, qpinyin, words, by_pinyin, variants)
            if hit is not None:
                q_hit += credit * weight
                p_hit += credit * idf(hit)
        return q_hit / query.total, min(p_hit / p_total, 1.0)

    def candidates(self, query: QueryWords) -> set[int]:
        """Phrasing ids worth scoring: the retrieval stage of :mod:`faq.index`."""
        terms: dict[str, float] = {}
        for word, py, variants, _ in query.words:
            for variant in variants:
                terms[variant] = max(terms.get(variant, 0.0), 1.0 if variant == word else MATCH.synonym_weight)
            if len(word) >= 2:
                terms[f"py:{py}"] = max(terms.get(f"py:{py}", 0.0), MATCH.pinyin_weight)
        for gram in bigrams(query.key):
            terms.setdefault(f"bi:{gram}", MATCH.bigram_weight)
        out = {pid for pid, _ in self.index.bm25(terms, MATCH.retrieve)}
        out |= set(self.index.by_characters(query.key, CANDIDATES))
        return out

    def similarity(self, query: QueryWords, p: Phrasing) -> float:
        """Closeness (0..100) of the question to one phrasing alone: the sequence view and the
        lexical view without the entry's other text (used for negative questions)."""
        lam = query.lam
        w_pinyin = PINYIN_SHARE * (1 - lam)
        sequence = (1 - w_pinyin) * fuzz.ratio(query.key, p.key) + w_pinyin * fuzz.ratio(query.pinyin, p.pinyin)
        q_cov, p_cov = self.coverage(query, p.words, p.by_pinyin)
        share = LEXICAL_SHARES[0] / (LEXICAL_SHARES[0] + LEXICAL_SHARES[1])
        lexical = 100 * (share * q_cov + (1 - share) * p_cov)
        return lam * sequence + (1 - lam) * (SHORT_SEQUENCE_SHARE * sequence + (1 - SHORT_SEQUENCE_SHARE) * lexical)

    def score(self, query: QueryWords, pid: int, entry_memo: dict | None = None) -> float:
        """Score (at most 100; below 0 after penalties) of the question against phrasing ``pid``
        (see the module docstring). Ranking uses it unclipped; results report it clipped at 0.
        ``entry_memo`` caches per-entry parts (bag coverage, checks) within one question."""
        p = self.index.phrasings[pid]
        entry = self._entries[p.entry_id]
        key, numbers, kind = query.key, query.numbers, query.kind
        lam = query.lam
        w_pinyin = PINYIN_SHARE * (1 - lam)  # pinyin catches typos in short questions; long texts read by characters
        sequence = (1 - w_pinyin) * fuzz.ratio(key, p.key) + w_pinyin * fuzz.ratio(query.pinyin, p.pinyin)
        q_cov, p_cov = self.coverage(query, p.words, p.by_pinyin)
        memo = entry_memo if entry_memo is not None else {}
        cached = memo.get(p.entry_id)
        if cached is None:
            bag_cov, _ = self.coverage(query, entry.bag, entry.bag_by_pinyin)
            penalty = 0.0
            if kind in TYPED_KINDS and not sentence_has_type(entry.answer_norm, kind, numbers, question_norm=key):
                penalty += ANSWER_TYPE_PENALTY
            if query.nouns and not any(self.word_match(w, py, entry.bag, entry.bag_by_pinyin, v)[1]
                                       for w, py, v, _ in query.nouns):
                penalty += NO_SHARED_NOUN_PENALTY
            if query.places and entry.places and not query.places & entry.places:
                penalty += UNKNOWN_NAME_PENALTY  # 卧龙区 asked, the entry is about 宛城区
            cached = memo[p.entry_id] = (bag_cov, penalty)
        bag_cov, penalty = cached
        lexical = 100 * (LEXICAL_SHARES[0] * q_cov + LEXICAL_SHARES[1] * p_cov + LEXICAL_SHARES[2] * bag_cov)
        short = SHORT_SEQUENCE_SHARE * sequence + (1 - SHORT_SEQUENCE_SHARE) * lexical
        score = lam * sequence + (1 - lam) * short - (1 - lam) * penalty
        missing = numbers - entry.numbers
        if missing:
            score -= YEAR_MISMATCH_PENALTY if any(YEAR.fullmatch(n) for n in missing) else NUMBER_MISMATCH_PENALTY
        return score
