"""FAQ matching: a retrieval stage (:mod:`faq.index`: BM25 over words, synonyms, pinyin and
character bigrams, plus the closest keys by ``fuzz.ratio``), then this scorer on the candidates
(rapidfuzz at character, pinyin and word level), then the gates of :mod:`faq.gates`.

The matcher is updated in place when an entry changes (:meth:`FaqMatcher.update`,
:meth:`FaqMatcher.put`, :meth:`FaqMatcher.remove`), never rebuilt on the answer path.

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
``long_answer_at`` for long statements) and leads the best *competing* entry by ``margin``, or
scores ``answer_clear`` whatever the margin; ``suggest`` (「您是不是想问」) from
``suggest_at``; otherwise ``none`` and passages answer. An entry whose answer is compatible
with the best one's (:func:`faq.gates.compatible`) does not compete: it is offered beside the
answer. An entry is dropped when the question is at least as close to one of its negative
questions as to its own phrasings; an answer is turned into a suggestion when the entry lacks
the asked detail (:func:`faq.gates.missing_detail`). A question noun no phrasing uses costs
:data:`UNKNOWN_NOUN_PENALTY`. Questions of one or two characters only match a phrasing
they equal exactly.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz

from faq.gates import compatible, missing_detail
from faq.index import Phrasing, PhrasingIndex, bigrams
from faq.result import FaqMatch, decide, length_blend
from qa.params import PARAMS
from qa.query import YEAR, Query, answer_type, sentence_has_type
from qa.store.faq_rows import FaqRecord
from qa.text import NAME_TAGS, NOUN_TAGS, Segmenter, is_cjk, normalize, syllables

_S = PARAMS.faq_scoring
_M = PARAMS.faq_match
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
_TYPED = frozenset({"count_household", "count_person", "money", "count", "date", "person", "place", "phone",
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

_NUMBERS = re.compile(r"\d{2,}(?:\.\d+)?")
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
    return length_blend(len(key), _M.statement_long_chars)
_STRIP = re.compile(r"[\s\W_]+")
_TAIL = re.compile(r"(吗|呢|啊|呀|吧|么|嘛|哈)+$")
_HEAD = re.compile(r"^(请问|请教一下|请教|问一下|想问一下|想问|我想问一下|我想问|我想知道|想知道)")


def _key(norm: str) -> str:
    """Characters that carry the question: punctuation, a leading 请问 and trailing particles off."""
    key = _STRIP.sub("", norm)
    return _TAIL.sub("", _HEAD.sub("", key)) or key


@dataclass(frozen=True)
class _Entry:
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
class _QueryWords:
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


class FaqMatcher:
    """Matches questions against the active FAQ entries; updated in place on change.

    Thread-safe: matching and updating take one lock (an update of one entry takes well under
    a millisecond per phrasing; see bench/faq_scale.py).

    Args:
        entries: FAQ records; disabled ones are ignored.
        segmenter: the process's segmenter (content words, synonyms).
    """

    def __init__(self, entries: Sequence[FaqRecord], segmenter: Segmenter) -> None:
        self.segmenter = segmenter
        self.index = PhrasingIndex()
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.RLock()
        for record in entries:
            self.put(record)

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def entries(self) -> list[FaqRecord]:
        """The active entries matched, in insertion order."""
        return [e.record for e in self._entries.values()]

    # ------------------------------------------------------------------ updates
    def _phrasing_item(self, text: str) -> tuple[str, str, list[str], dict[str, str]]:
        norm = normalize(text)
        key = _key(norm)
        return text, key, syllables(key), self._words(norm)

    def put(self, record: FaqRecord) -> None:
        """Add or replace one entry (a disabled record is removed). Costs time in proportion
        to the entry's phrasings and answer, never to the FAQ's size."""
        with self._lock:
            self.remove(record.id)
            if record.status != "active":
                return
            texts = [t for t in dict.fromkeys([record.question, *record.alternates]) if t.strip()]
            items = [self._phrasing_item(t) for t in texts]
            self.index.add(record.id, items)
            text_norm = normalize(" ".join([record.question, *record.alternates, record.answer]))
            answer_norm = normalize(record.answer)
            answer_words = self._words(answer_norm)
            bag: dict[str, str] = {}
            for _, _, _, words in items:
                bag.update(words)
            bag.update(answer_words)
            negatives = []
            for text in dict.fromkeys(record.negatives):
                text, key, pinyin, words = self._phrasing_item(text)
                if key:
                    negatives.append(Phrasing(-1, record.id, text, key, pinyin, words,
                                              {py: w for w, py in words.items() if len(w) >= 2}))
            self._entries[record.id] = _Entry(
                record, bag, {py: w for w, py in bag.items() if len(w) >= 2},
                frozenset(w for w in bag if w in self.segmenter.places), frozenset(_NUMBERS.findall(text_norm)),
                text_norm, answer_norm, frozenset(answer_words) | frozenset(_NUMBERS.findall(answer_norm)),
                tuple(negatives), frozenset(answer_type(normalize(t)) for t in texts))

    def remove(self, entry_id: str) -> None:
        """Stop matching one entry (nothing happens for an unknown id)."""
        with self._lock:
            if self._entries.pop(entry_id, None) is not None:
                self.index.remove(entry_id)

    def update(self, records: Iterable[FaqRecord]) -> int:
        """Bring the matcher to exactly ``records`` (the active entries now stored): entries
        that changed are replaced, new ones added, missing ones removed. Returns how many
        entries changed."""
        with self._lock:
            wanted = {r.id: r for r in records if r.status == "active"}
            changed = 0
            for entry_id in [i for i in self._entries if i not in wanted]:
                self.remove(entry_id)
                changed += 1
            for entry_id, record in wanted.items():
                current = self._entries.get(entry_id)
                if current is None or current.record != record:
                    self.put(record)
                    changed += 1
            return changed

    def sync(self, rows) -> int:
        """Apply the entries of ``rows`` (a :class:`~qa.store.faq_rows.FaqRows`) written since
        the last sync (:meth:`~qa.store.faq_rows.FaqRows.changed_since`); the first sync reads
        them all. Returns how many entries changed."""
        with self._lock:
            changed, self._rev = rows.changed_since(getattr(self, "_rev", -1))
            for record in changed:
                self.put(record)  # a disabled record is removed
            return len(changed)

    # ------------------------------------------------------------------ scoring parts
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

    def _words(self, norm: str) -> dict[str, str]:
        return {w: " ".join(syllables(w)) for w in self.segmenter.content_words(norm)}

    def _unknown_penalty(self, norm: str) -> float:
        """Points off for nouns of the question (2+ characters) that no phrasing uses, even as
        a synonym, homophone or part of a longer word: proper names cost
        :data:`UNKNOWN_NAME_PENALTY`, other nouns :data:`UNKNOWN_NOUN_PENALTY` (at most two)."""
        df, pinyins = self.index.word_df, self.index.word_pinyin
        nouns = names = 0
        for word, flag in self.segmenter.tagged_content_words(norm):
            if flag not in NOUN_TAGS or len(word) < 2 or any(v in df for v in self.segmenter.variants(word)):
                continue
            if " ".join(syllables(word)) in pinyins or any(word in w for w in df):
                continue
            if flag in NAME_TAGS:
                names += 1
            else:
                nouns += 1
        return UNKNOWN_NAME_PENALTY * min(names, 1) + UNKNOWN_NOUN_PENALTY * min(nouns, 2)

    def _query_words(self, key: str, norm: str, words: dict[str, str], kind: str | None) -> _QueryWords:
        entries = [(w, py, self.segmenter.variants(w), self.index.idf(w)) for w, py in words.items()]
        return _QueryWords(norm=norm, key=key, pinyin=syllables(key), numbers=frozenset(_NUMBERS.findall(norm)),
                           kind=kind, words=entries, total=sum(e[3] for e in entries) or 1.0,
                           nouns=[e for e in entries if len(e[0]) >= 2 and self.segmenter.is_noun(e[0])],
                           places=frozenset(w for w in words if w in self.segmenter.places), lam=blend(key, norm))

    @staticmethod
    def _word_match(qword: str, qpinyin: str, words: dict[str, str], by_pinyin: dict[str, str],
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

    def _coverage(self, query: _QueryWords, words: dict[str, str], by_pinyin: dict[str, str]) -> tuple[float, float]:
        """(share of the question's word weight found, share of the phrasing's found), 0..1."""
        if not query.words or not words:
            return 0.0, 0.0
        idf = self.index.idf
        p_total = sum(idf(w) for w in words)
        q_hit = p_hit = 0.0
        for qword, qpinyin, variants, weight in query.words:
            credit, hit = self._word_match(qword, qpinyin, words, by_pinyin, variants)
            if hit is not None:
                q_hit += credit * weight
                p_hit += credit * idf(hit)
        return q_hit / query.total, min(p_hit / p_total, 1.0)

    def _candidates(self, query: _QueryWords) -> set[int]:
        """Phrasing ids worth scoring: the retrieval stage of :mod:`faq.index`."""
        terms: dict[str, float] = {}
        for word, py, variants, _ in query.words:
            for variant in variants:
                terms[variant] = max(terms.get(variant, 0.0), 1.0 if variant == word else _M.synonym_weight)
            if len(word) >= 2:
                terms[f"py:{py}"] = max(terms.get(f"py:{py}", 0.0), _M.pinyin_weight)
        for gram in bigrams(query.key):
            terms.setdefault(f"bi:{gram}", _M.bigram_weight)
        out = {pid for pid, _ in self.index.bm25(terms, _M.retrieve)}
        out |= set(self.index.by_characters(query.key, CANDIDATES))
        return out

    def similarity(self, query: _QueryWords, p: Phrasing) -> float:
        """Closeness (0..100) of the question to one phrasing alone: the sequence view and the
        lexical view without the entry's other text (used for negative questions)."""
        lam = query.lam
        w_pinyin = PINYIN_SHARE * (1 - lam)
        sequence = (1 - w_pinyin) * fuzz.ratio(query.key, p.key) + w_pinyin * fuzz.ratio(query.pinyin, p.pinyin)
        q_cov, p_cov = self._coverage(query, p.words, p.by_pinyin)
        share = LEXICAL_SHARES[0] / (LEXICAL_SHARES[0] + LEXICAL_SHARES[1])
        lexical = 100 * (share * q_cov + (1 - share) * p_cov)
        return lam * sequence + (1 - lam) * (SHORT_SEQUENCE_SHARE * sequence + (1 - SHORT_SEQUENCE_SHARE) * lexical)

    def score(self, query: _QueryWords, pid: int, entry_memo: dict | None = None) -> float:
        """Score (at most 100; below 0 after penalties) of the question against phrasing ``pid``
        (see the module docstring). Ranking uses it unclipped; results report it clipped at 0.
        ``entry_memo`` caches per-entry parts (bag coverage, checks) within one question."""
        p = self.index.phrasings[pid]
        entry = self._entries[p.entry_id]
        key, numbers, kind = query.key, query.numbers, query.kind
        lam = query.lam
        w_pinyin = PINYIN_SHARE * (1 - lam)  # pinyin catches typos in short questions; long texts read by characters
        sequence = (1 - w_pinyin) * fuzz.ratio(key, p.key) + w_pinyin * fuzz.ratio(query.pinyin, p.pinyin)
        q_cov, p_cov = self._coverage(query, p.words, p.by_pinyin)
        memo = entry_memo if entry_memo is not None else {}
        cached = memo.get(p.entry_id)
        if cached is None:
            bag_cov, _ = self._coverage(query, entry.bag, entry.bag_by_pinyin)
            penalty = 0.0
            if kind in _TYPED and not sentence_has_type(entry.answer_norm, kind, numbers, question_norm=key):
                penalty += ANSWER_TYPE_PENALTY
            if query.nouns and not any(self._word_match(w, py, entry.bag, entry.bag_by_pinyin, v)[1]
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

    def _blocked(self, query: _QueryWords, entry: _Entry, pid: int) -> bool:
        """True when the question is close to a negative question of ``entry`` (similarity at
        least ``faq_match.negative_at``) and at least as close to it as to the phrasing ``pid``
        that matched the entry best (less ``faq_match.negative_margin``)."""
        if not entry.negatives:
            return False
        positive = self.similarity(query, self.index.phrasings[pid])
        negative = max(self.similarity(query, n) for n in entry.negatives)
        return negative >= _M.negative_at and negative >= positive - _M.negative_margin

    def _answers_too(self, query: _QueryWords, entry: _Entry, memo: dict) -> bool:
        """True when ``entry`` would answer the question as well: its text covers at least
        ``faq_match.compatible_at`` of the question's word weight and, for a question asking a
        count, an amount, a date, a place ..., its answer holds one or one of its phrasings asks
        for it. Entries that all answer the question do not compete (near-ties, issue 11)."""
        cached = memo.get(entry.record.id)
        if cached is None:
            bag_cov, _ = self._coverage(query, entry.bag, entry.bag_by_pinyin)
        else:
            bag_cov = cached[0]
        if bag_cov < _M.compatible_at:
            return False
        return query.kind not in _TYPED or query.kind in entry.asked or sentence_has_type(
            entry.answer_norm, query.kind, query.numbers, question_norm=query.key)

    # ------------------------------------------------------------------ matching
    def match(self, query: Query | str) -> FaqMatch:
        """Score the entries for a question (an analysed :class:`~qa.query.Query` or raw text)."""
        with self._lock:
            return self._match(query)

    def _match(self, query: Query | str) -> FaqMatch:
        norm = query.norm if isinstance(query, Query) else normalize(query)
        if len(norm) <= CORRECT_MAX_CHARS:
            norm = self.correct_homophones(norm)
        key = _key(norm)
        if not self._entries or not key:
            return FaqMatch("none", None, 0.0, 0.0, 0.0)
        kind = query.answer_type if isinstance(query, Query) else answer_type(norm)
        words = self._words(norm)
        qw = self._query_words(key, norm, words, kind)
        memo: dict = {}
        if len(key) <= SHORT_QUERY_CHARS:
            scored = [(100.0, pid) for pid in self.index.exact.get(key, ())]
        else:
            penalty = self._unknown_penalty(norm)
            # Unclipped: penalties shared by every candidate must not flatten the ranking to 0s.
            scored = [(self.score(qw, pid, memo) - penalty, pid) for pid in self._candidates(qw)]
        best: dict[str, tuple[float, int]] = {}
        for score, pid in scored:
            entry_id = self.index.phrasings[pid].entry_id
            if entry_id not in best or score > best[entry_id][0]:
                best[entry_id] = (score, pid)
        blocked = [i for i, (_, pid) in best.items() if self._blocked(qw, self._entries[i], pid)]
        for entry_id in blocked:
            del best[entry_id]
        if not best:
            return FaqMatch("none", None, 0.0, 0.0, 0.0, blocked=blocked)
        ranked = [(i, (max(s, 0.0), pid)) for i, (s, pid) in sorted(best.items(), key=lambda item: (-item[1][0], item[0]))]
        top = [(self._entries[i].record, s) for i, (s, _) in ranked]
        first_id, (score, pid) = ranked[0]
        first = self._entries[first_id]
        runner_up = ranked[1][1][0] if len(ranked) > 1 else 0.0
        fits = {i: self._answers_too(qw, self._entries[i], memo) for i, _ in ranked[:8]}
        also = [self._entries[i].record for i, (s, _) in ranked[1:4]
                if fits.get(i) and fits[first_id] and s >= score - _M.tie_window]
        rival = next((s for i, (s, _) in ranked[1:] if not (fits.get(i) and fits[first_id])), 0.0)
        lam = qw.lam
        decision, confidence = decide(score, score - rival, lam)
        if decision == "answer" and score - rival < _M.tie_margin:
            decision = "suggest"  # a near-tie with a different answer: let the resident choose
        gate = missing_detail(norm, kind, qw.numbers, first.text_norm, first.answer_norm, first.asked)
        if decision == "answer" and gate is not None:
            decision = "suggest"
        return FaqMatch(decision, first.record, score, score - runner_up, confidence,
                        self.index.phrasings[pid].text, top, lam, also=also, gate=gate, blocked=blocked)
