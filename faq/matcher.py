"""FAQ matching: a retrieval stage (:mod:`faq.index`: BM25 over words, synonyms, pinyin and
character bigrams, plus the closest keys by ``fuzz.ratio``), the scorer of :mod:`faq.scoring`
on the candidates, then the decision and the gates of :mod:`faq.gates`.

The matcher is updated in place when an entry changes (:meth:`FaqMatcher.sync` from the store,
or :meth:`FaqMatcher.put` / :meth:`FaqMatcher.remove` / :meth:`FaqMatcher.update`), never
rebuilt on the answer path (bench/faq_scale.py).

Decision (:func:`faq.result.decide`, lines from the ``faq_decision`` block): ``answer`` when
the best entry scores at least the answer line (``answer_at`` for questions, rising to
``long_answer_at`` for long statements) and leads the best *competing* entry by ``margin``, or
scores ``answer_clear`` whatever the margin; ``suggest`` (「您是不是想问」) from
``suggest_at``; otherwise ``none`` and passages answer. Then, from the ``faq_match`` block:

* the only entry near the question (from ``lone_at`` points, raised for long statements as
  the answer line is, every other entry at least ``lone_margin`` points lower) answers: a resident's own wording rarely reaches the answer
  line, and no other entry competes;
* an entry that answers the question too (:func:`faq.gates.answers_too`: its text
  covers the question and holds the asked detail) does not compete with the best one: within
  ``tie_window`` points it is offered beside the answer (:attr:`faq.result.FaqMatch.also`);
  a different entry within ``tie_margin`` points keeps the best a suggestion;
* an entry is dropped when the question is close to one of its negative questions
  (``negative_at``) and at least as close to it as to the entry's own phrasing (WeKnora's FAQ
  model drops an entry whose negative question equals the query; this extends it to near
  phrasings);
* an answer becomes a suggestion when the entry lacks the asked detail
  (:func:`faq.gates.missing_detail`: a year or month it never mentions, a detail it neither
  asks for nor gives, or a topic noun that neither it nor any FAQ phrasing mentions:
  :func:`faq.gates.unknown_topics`).

Questions of one or two characters only match a phrasing they equal exactly.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence

from faq.gates import answers_too, missing_detail, unknown_topics
from faq.index import Phrasing, PhrasingIndex
from faq.result import FaqMatch, final_decision
from faq.scoring import CORRECT_MAX_CHARS, MATCH, NUMBERS, SHORT_QUERY_CHARS, Entry, QueryWords, Scorer, phrasing_key
from qa.query import Query, answer_type
from qa.store.faq_rows import FaqRecord
from qa.text import Segmenter, normalize, syllables


class FaqMatcher:
    """Matches questions against the active FAQ entries; updated in place on change.

    Thread-safe: matching and updating take one lock (an update of one entry takes well under
    a millisecond per phrasing; see bench/faq_scale.py).

    Args:
        entries: FAQ records; disabled ones are ignored.
        segmenter: the process's segmenter (content words, synonyms).
        rewrite: applied to every normalised question, alternate and negative question before
            it is indexed (the query-time rewriting of the resident's text, e.g. colloquial
            forms, so both sides meet in one vocabulary); None keeps them as normalised.
    """

    def __init__(self, entries: Sequence[FaqRecord], segmenter: Segmenter, *,
                 rewrite: Callable[[str], str] | None = None) -> None:
        self.segmenter, self._rewrite = segmenter, rewrite
        self.index = PhrasingIndex()
        self._entries: dict[str, Entry] = {}
        self._lock = threading.RLock()
        self.scorer = Scorer(segmenter, self.index, self._entries)
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
        if self._rewrite is not None:
            norm = self._rewrite(norm) or norm
        key = phrasing_key(norm)
        return text, key, syllables(key), self.scorer.words(norm)

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
            answer_words = self.scorer.words(answer_norm)
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
            self._entries[record.id] = Entry(
                record, bag, {py: w for w, py in bag.items() if len(w) >= 2},
                frozenset(w for w in bag if w in self.segmenter.places), frozenset(NUMBERS.findall(text_norm)),
                text_norm, answer_norm, frozenset(answer_words) | frozenset(NUMBERS.findall(answer_norm)),
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

    def _blocked(self, query: QueryWords, entry: Entry, pid: int) -> bool:
        """True when the question is close to a negative question of ``entry`` (similarity at
        least ``faq_match.negative_at``) and at least as close to it as to the phrasing ``pid``
        that matched the entry best (less ``faq_match.negative_margin``)."""
        if not entry.negatives:
            return False
        positive = self.scorer.similarity(query, self.index.phrasings[pid])
        negative = max(self.scorer.similarity(query, n) for n in entry.negatives)
        return negative >= MATCH.negative_at and negative >= positive - MATCH.negative_margin

    # ------------------------------------------------------------------ matching
    def match(self, query: Query | str) -> FaqMatch:
        """Score the entries for a question (an analysed :class:`~qa.query.Query` or raw text)."""
        with self._lock:
            return self._match(query)

    def _match(self, query: Query | str) -> FaqMatch:
        norm = query.norm if isinstance(query, Query) else normalize(query)
        if len(norm) <= CORRECT_MAX_CHARS:
            norm = self.scorer.correct_homophones(norm)
        key = phrasing_key(norm)
        if not self._entries or not key:
            return FaqMatch("none", None, 0.0, 0.0, 0.0)
        kind = query.answer_type if isinstance(query, Query) else answer_type(norm)
        words = self.scorer.words(norm)
        qw = self.scorer.query_words(key, norm, words, kind)
        memo: dict = {}
        if len(key) <= SHORT_QUERY_CHARS:
            scored = [(100.0, pid) for pid in self.index.exact.get(key, ())]
        else:
            penalty = self.scorer.unknown_penalty(norm)
            # Unclipped: penalties shared by every candidate must not flatten the ranking to 0s.
            scored = [(self.scorer.score(qw, pid, memo) - penalty, pid) for pid in self.scorer.candidates(qw)]
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
        fits = {i: answers_too(qw, first, self._entries[i]) for i, _ in ranked[1:8]}
        also = [self._entries[i].record for i, (s, _) in ranked[1:4] if fits[i] and s >= score - MATCH.tie_window]
        rival = next((s for i, (s, _) in ranked[1:] if not fits.get(i)), 0.0)
        lam = qw.lam
        gate = missing_detail(norm, kind, qw.numbers, first.text_norm, first.answer_norm, first.asked)
        if gate is None:
            topics = unknown_topics(self.scorer, norm, first)
            gate = f"topic:{topics[0]}" if topics else None
        decision, confidence = final_decision(score, score - rival, score - runner_up, lam, gate is not None)
        return FaqMatch(decision, first.record, score, score - runner_up, confidence,
                        self.index.phrasings[pid].text, top, lam, also=also, gate=gate, blocked=blocked,
                        rival_margin=score - rival)
