"""Service.answer(question, context=None) -> Answer: small talk? FAQ? passages? refusal.

A pure read: it never writes, logs, hashes user ids or renders text. It never raises for any
input text. Side effects (the question log, rate limits, paging) belong to the conversation
layer (:mod:`conversation`); text belongs to the channels (:mod:`channels.replies`).
"""

from __future__ import annotations

import dataclasses
import re
import time

from qa import colloquial, detail, explain, focus, rank, smalltalk
from qa.answer import MAX_SUGGESTIONS, Answer, Citation, faq_citation
from qa.cache import ANSWER_CACHE_SIZE, AnswerCache
from qa.params import PARAMS
from qa.query import MAX_QUESTION_CHARS, Query, analyse
from qa.retrieve import PassageResult, PassageRetriever
from qa.store import Store
from qa.text import Segmenter, normalize, valid_unicode

#: Decision thresholds: the ``decision`` block of qa/params.json, chosen by the sweeps of
#: bench/calibrate.py (see that block's ``source``). A passage with out-of-scope evidence
#: (qa.rank.out_of_scope_evidence) needs ABSTAIN_BELOW; without it, ANSWER_FLOOR; below
#: HEDGE_BELOW it carries the hedge line.
ABSTAIN_BELOW = PARAMS.decision.abstain_below
HEDGE_BELOW = PARAMS.decision.hedge_below
ANSWER_FLOOR = PARAMS.decision.answer_floor
#: An FAQ answer is preferred over a passage unless the passage is more confident by more
#: than this (qa/params.json ``decision.faq_tie``, chosen by bench/calibrate.py).
FAQ_TIE = PARAMS.decision.faq_tie
_WORDLIKE = re.compile(r"[0-9a-z\u3400-\u9fff]")
_NON_WORD = re.compile(r"[\W_]+")


class Service:
    """Answers questions from one :class:`~qa.store.Store` with one :class:`~qa.text.Segmenter`.

    Args:
        store: open store with an index (see :func:`qa.indexer.reindex`).
        segmenter: the process's segmenter (jieba already loaded).
        faq: an FAQ matcher factory ``faq(records) -> matcher`` (see :mod:`faq.matcher`); None
            answers from passages only.
        cache_size: answers kept for repeated questions (0: no cache).
    """

    def __init__(self, store: Store, segmenter: Segmenter, *, faq=None, cache_size: int = ANSWER_CACHE_SIZE) -> None:
        self.store, self.segmenter = store, segmenter
        self.colloquial = colloquial.default()  # the rule file is read at start-up, not in a request
        self.retriever = PassageRetriever(store.passages, persons=segmenter.persons, places=segmenter.places,
                                          is_word=segmenter.is_word)
        self._faq_factory = faq
        self._faq_matcher = None
        self._versions: tuple[int, int] | None = None
        self._sources = self._doc_sources = ""
        self.cache = AnswerCache(cache_size)

    @property
    def cache_size(self) -> int:
        return self.cache.size

    @cache_size.setter
    def cache_size(self, size: int) -> None:  # 0 turns the answer cache off (benchmarks of the ranking)
        self.cache = AnswerCache(size)

    def refresh(self) -> tuple[int, int]:
        """Reload what depends on the data when another process changed it: the FAQ matcher
        (FAQ version) and the source list (index generation). Returns the (index generation,
        FAQ version) read now."""
        versions = self.store.versions()
        if versions == self._versions:
            return versions
        previous = self._versions or (None, None)
        if self._faq_factory is not None and versions[1] != previous[1]:
            if hasattr(self._faq_matcher, "sync"):  # in place: only the changed entries (faq/matcher.py)
                self._faq_matcher.sync(self.store.faq)
            else:
                self._faq_matcher = self._faq_factory(self.store.faq.all(status="active"))
                if hasattr(self._faq_matcher, "sync"):
                    self._faq_matcher.sync(self.store.faq)
        if versions[0] != previous[0]:
            total, titles = self.store.passages.title_sample(2)
            shown = "、".join(f"《{t}》" for t in titles)
            self._doc_sources = f"{shown}等{total}篇文章" if total > 2 else shown or "暂无文章"
        self._sources = self._doc_sources
        if self._faq_matcher is not None and len(self._faq_matcher):
            self._sources += f"和{len(self._faq_matcher)}条常见问题"
        self.cache.clear()
        self._versions = versions
        return versions

    @property
    def faq_matcher(self):
        self.refresh()
        return self._faq_matcher

    # ------------------------------------------------------------------- answer
    def answer(self, question: str | None, context: dict | None = None) -> Answer:
        """Answer one question.

        Args:
            question: what the resident typed (any length, any characters, or None).
            context: the conversation's frame of the previous turn (reserved for follow-ups;
                None for a question on its own).

        Returns:
            An :class:`~qa.answer.Answer`; ``kind`` is "none" for refusals and bad input.
        """
        started = time.perf_counter()
        raw = valid_unicode(question) if isinstance(question, str) else ""
        answer = self._answer(raw)
        answer.latency_ms = (time.perf_counter() - started) * 1000
        return answer

    def answer_entry(self, faq_id: str) -> Answer | None:
        """The answer of one active FAQ entry (a suggestion was picked); None when the entry is
        gone or disabled."""
        entry = self.store.faq.get(faq_id)
        if entry is None or entry.status != "active":
            return None
        return Answer(entry.question, "faq", 1.0, [faq_citation(entry.id, entry.source, entry.answer)],
                      outcome="answered", faq_id=entry.id,
                      candidates=[{"kind": "faq", "id": entry.id, "score": 100.0, "chosen": True}])

    def _answer(self, raw: str) -> Answer:
        if len(raw) > MAX_QUESTION_CHARS and (raw[:1].isspace() or raw[:1] in "\u200b\u200c\u200d\ufeff"):
            raw = raw.lstrip(" \t\r\n\u3000\u200b\u200c\u200d\ufeff")  # a paste with padding in front
        truncated = MAX_QUESTION_CHARS if len(raw) > MAX_QUESTION_CHARS else None
        if truncated:  # keep the part that asks (residents ask at the end), not the head
            raw = focus.question_window(raw, MAX_QUESTION_CHARS)
        head = raw[:MAX_QUESTION_CHARS * 2]  # normalisation can only shorten; cap the work first
        norm = normalize(head)
        question = raw[:MAX_QUESTION_CHARS].strip()
        if not norm:
            return Answer(question, "none", 0.0, outcome="invalid", reason="empty")
        if not _WORDLIKE.search(norm):
            return Answer(question, "none", 0.0, outcome="invalid", reason="not_text")
        kind = smalltalk.classify(norm)
        if kind:
            return Answer(question, "smalltalk", 1.0, outcome="smalltalk", reason=kind,
                          suggestions=list(smalltalk.EXAMPLES) if kind in ("greeting", "identity") else [])
        with self.store.db.read():  # one snapshot: a concurrent reindex swap cannot split this answer
            # The versions belong to the key: an answer computed from data another thread has
            # meanwhile seen change is stored under the old versions and never served again.
            key = (self.refresh(), norm, truncated)
            cached = self.cache.get(key)
            if cached is not None:
                cached.question = question
                return cached
            if smalltalk.is_task_request(smalltalk.strip_greeting(norm)):
                answer = Answer(question, "none", 0.0, outcome="off_topic", reason="off_topic",
                                truncated_at=truncated, sources=self._sources)
            else:
                key_text = self.colloquial.apply(smalltalk.strip_greeting(norm)) or norm
                query = analyse(key_text, self.segmenter)
                answer = self._answer_query(question, query, truncated)
        self.cache.put(key, answer)
        return answer

    def _answer_query(self, question: str, query: Query, truncated: int | None) -> Answer:
        if query.terms and all(t.numeric for t in query.terms) and len(query.terms) <= 2:
            # 「-1」, 「1」, 「' OR 1=1 --」: a bare number is no question; any sentence with it
            # would match confidently. Ask for words instead.
            return Answer(question, "none", 0.0, outcome="invalid", reason="not_text", truncated_at=truncated)
        faq_match = self._faq_matcher.match(query) if self._faq_matcher is not None else None
        if faq_match is not None and faq_match.decision != "answer":
            faq_match = self._faq_on_question_clauses(query, faq_match)
        passage = self.retriever.retrieve(query)
        faq_match, passage = self._gate(query, faq_match, passage)
        faq_conf = faq_match.confidence if faq_match and faq_match.decision == "answer" else 0.0
        passage_conf = passage.confidence if passage else 0.0
        base = Answer(question, "none", 0.0, truncated_at=truncated, sources=self._sources,
                      explain=explain.explain(faq_match, passage), candidates=explain.candidates(faq_match, passage))
        if faq_match and faq_match.decision == "answer" and faq_conf >= passage_conf - FAQ_TIE:
            return self._faq_answer(base, faq_match)
        if passage and (passage_conf >= ABSTAIN_BELOW or (
                passage_conf >= ANSWER_FLOOR and not rank.out_of_scope_evidence(passage.features))):
            return self._passage_answer(base, passage, faq_match)
        return self._refusal(base, faq_match, passage)

    def _gate(self, query: Query, faq_match, passage: PassageResult | None):
        """Drop an FAQ answer or a passage that lacks the detail the question asks for (a
        place, a phone number, a list of firms ...; see :mod:`qa.detail`): the FAQ match is
        demoted to a suggestion, the passage to None (its entries stay as suggestions)."""
        details = detail.asked_detail(query.norm, query.answer_type)
        if not details:
            return faq_match, passage
        if faq_match is not None and faq_match.decision == "answer" and self.faq_lacks_detail(query, faq_match, details):
            faq_match = dataclasses.replace(faq_match, decision="suggest")
        if passage is not None and self.passage_lacks_detail(query, passage, details):
            passage = None
        return faq_match, passage

    def faq_lacks_detail(self, query: Query, faq_match, details=None) -> bool:
        """True when the matched entry's answer lacks the detail the question asks for (and the
        question is not the entry's own wording). Independent of the decision lines, so
        bench/calibrate.py replays it exactly. ``details``: :func:`qa.detail.asked_detail` of
        the query when the caller has it."""
        details = detail.asked_detail(query.norm, query.answer_type) if details is None else details
        if not details or faq_match is None or faq_match.entry is None or self._own_phrasing(query, faq_match):
            return False
        text = normalize(faq_match.entry.answer)
        return bool(detail.missing(details, text, self.segmenter.words(text), query.norm,
                                   places=self.segmenter.places, strict=True))

    def passage_lacks_detail(self, query: Query, passage: PassageResult, details=None) -> bool:
        """True when the passage (with its extra parts) lacks the detail the question asks for."""
        details = detail.asked_detail(query.norm, query.answer_type) if details is None else details
        if not details:
            return False
        text = "".join(s.norm for s in passage.sentences + passage.extra)
        title = normalize(passage.sentences[0].title)
        return bool(detail.missing(details, text, self.segmenter.words(text), query.norm, title,
                                   places=self.segmenter.places))

    def _faq_on_question_clauses(self, query: Query, faq_match):
        """For a long message whose story words were down-weighted (qa/focus.py), match the FAQ
        again on its asking clauses alone (with the clause before each, which often names the
        topic); the better decision wins. Short questions are returned unchanged."""
        if all(t.focus >= 1.0 for t in query.terms):
            return faq_match
        clauses = focus.clauses(query.norm)
        keep = [i for i, c in enumerate(clauses) if focus.cue_score(c) > 0]
        picked = sorted({j for i in keep for j in (i - 1, i) if j >= 0})
        short = analyse("，".join(clauses[j] for j in picked), self.segmenter)
        again = self._faq_matcher.match(short)
        rank_of = {"answer": 2, "suggest": 1}
        if (rank_of.get(again.decision, 0), again.score) > (rank_of.get(faq_match.decision, 0), faq_match.score):
            return again
        return faq_match

    def _own_phrasing(self, query: Query, faq_match) -> bool:
        """The question is the matched entry's own phrasing (question or alternate): staff wrote
        that answer for it, so detail gating does not second-guess it."""
        matched = self.colloquial.apply(normalize(faq_match.matched or ""))
        return bool(matched) and _NON_WORD.sub("", matched) == _NON_WORD.sub("", query.norm)

    # ----------------------------------------------------------------- builders
    @staticmethod
    def _offer(answer: Answer, entries, exclude: str | None = None) -> None:
        pairs = [(e.id, e.question) for e in entries if e.id != exclude][:MAX_SUGGESTIONS]
        answer.suggestions = [q for _, q in pairs]
        answer.suggestion_ids = [i for i, _ in pairs]

    def _faq_answer(self, answer: Answer, faq_match) -> Answer:
        entry = faq_match.entry
        answer.kind, answer.confidence, answer.outcome, answer.faq_id = "faq", faq_match.confidence, "answered", entry.id
        answer.citations = [faq_citation(entry.id, entry.source, entry.answer)]
        self._offer(answer, faq_match.related, exclude=entry.id)
        return answer

    def _passage_answer(self, answer: Answer, passage: PassageResult, faq_match) -> Answer:
        first = passage.sentences[0]
        document = self.store.passages.document(first.doc_id)
        quote = document["cleaned_text"][passage.start:passage.end]
        answer.citations = [Citation(doc_id=first.doc_id, title=first.title, section=first.section,
                                     paragraph=first.number, quote=quote, start=passage.start, end=passage.end,
                                     role=first.role)]
        answer.caveat = passage.validity_notice  # qa.validity: the document is not current
        for row in passage.extra:  # further parts of a multi-part question (qa/parts.py)
            text = self.store.passages.document(row.doc_id)["cleaned_text"]
            answer.citations.append(Citation(doc_id=row.doc_id, title=row.title, section=row.section,
                                             paragraph=row.number, quote=text[row.start:row.end], start=row.start,
                                             end=row.end, role=row.role))
        answer.citations.sort(key=lambda c: (c.doc_id, c.start))  # reading order
        answer.kind, answer.confidence = "passage", passage.confidence
        answer.hedge = passage.confidence < HEDGE_BELOW
        answer.outcome = "hedged" if answer.hedge else "answered"
        if faq_match is not None:
            self._offer(answer, faq_match.related)
        return answer

    def _refusal(self, answer: Answer, faq_match, passage: PassageResult | None) -> Answer:
        did_you_mean = bool(faq_match and faq_match.decision == "suggest")
        if faq_match is not None:
            self._offer(answer, faq_match.suggestions if did_you_mean else faq_match.related)
        answer.reason = "did_you_mean" if did_you_mean and answer.suggestions else "no_answer"
        answer.outcome = "suggested" if did_you_mean else "unanswered"
        confidence = max(faq_match.confidence if faq_match else 0.0, passage.confidence if passage else 0.0)
        answer.confidence = min(confidence, ABSTAIN_BELOW)
        return answer
