"""Service.answer(text) -> Answer: small talk? FAQ? passages? otherwise a polite refusal.

The one entry point every channel calls. It never raises for any input text; storage
failures while logging are swallowed after the answer is computed (the resident still gets
the answer; the failure is logged for the admin).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, replace

from qa import compose, explain, rank, smalltalk
from qa.channel_support import ChannelSupport
from qa.compose import Answer, Citation
from qa.params import PARAMS
from qa.query import MAX_QUESTION_CHARS, Query, analyse
from qa.retrieve import PassageResult, PassageRetriever
from qa.store import Store, StoreError
from qa.text import Segmenter, normalize, valid_unicode

log = logging.getLogger(__name__)

#: Decision thresholds: the ``decision`` block of qa/params.json, chosen by the sweeps of
#: bench/calibrate.py over data/eval/*.jsonl (see that block's ``source``). A passage with
#: out-of-scope evidence (qa.rank.out_of_scope_evidence) needs ABSTAIN_BELOW; without it,
#: ANSWER_FLOOR; below HEDGE_BELOW it carries the hedge line.
ABSTAIN_BELOW = PARAMS.decision.abstain_below
HEDGE_BELOW = PARAMS.decision.hedge_below
ANSWER_FLOOR = PARAMS.decision.answer_floor
#: Answers kept per (normalised question), valid until the index or the FAQ changes (both
#: bump a version in the meta table that every answer checks). Residents ask the same few
#: questions over and over; a hit costs one indexed read instead of ~3 ms of ranking.
ANSWER_CACHE_SIZE = 4096
#: An FAQ answer is preferred over a passage unless the passage is more confident by more
#: than this (qa/params.json ``decision.faq_tie``, chosen by bench/calibrate.py).
FAQ_TIE = PARAMS.decision.faq_tie
_WORDLIKE = re.compile(r"[0-9a-z\u3400-\u9fff]")


@dataclass(frozen=True)
class ServiceConfig:
    """Product settings the composition root passes in (the core never reads the environment).

    Attributes:
        contact: the line that tells residents where to ask a person.
        user_hash_key: secret key for pseudonymous user ids (HMAC-SHA256).
    """

    contact: str
    user_hash_key: bytes


class Service(ChannelSupport):
    """Answers questions from one :class:`~qa.store.Store` with one :class:`~qa.text.Segmenter`.

    Args:
        store: open store with an index (see :func:`qa.indexer.reindex`).
        segmenter: the process's segmenter (jieba already loaded).
        config: contact line and hashing key.
        faq: an FAQ matcher factory ``faq(records) -> matcher`` (see :mod:`faq.matcher`); None
            answers from passages only.
        cache_size: answers kept for repeated questions (0: no cache).
    """

    def __init__(self, store: Store, segmenter: Segmenter, config: ServiceConfig, *, faq=None,
                 cache_size: int = ANSWER_CACHE_SIZE) -> None:
        self.store, self.segmenter, self.config = store, segmenter, config
        self.retriever = PassageRetriever(store.passages, persons=segmenter.persons, places=segmenter.places,
                                          is_word=segmenter.is_word)
        self._faq_factory = faq
        self._faq_matcher = None
        self._versions: tuple[int, int] | None = None
        self._sources = self._doc_sources = ""
        self._cache: OrderedDict[tuple, Answer] = OrderedDict()
        self.cache_size = cache_size  # 0 turns the answer cache off (benchmarks of the ranking)
        self._cache_lock = threading.Lock()

    # ------------------------------------------------------------------ helpers
    def user_hash(self, channel: str, user: str | int | None) -> str | None:
        """Keyed hash (HMAC-SHA256, 32 hex chars) of a channel user id; never the raw id."""
        if user is None or user == "":
            return None
        digest = hmac.new(self.config.user_hash_key, f"{channel}:{user}".encode(), hashlib.sha256)
        return digest.hexdigest()[:32]

    def refresh(self) -> tuple[int, int]:
        """Reload what depends on the data when another process changed it: the FAQ matcher
        (FAQ version) and the source list (index generation); clears the answer cache.
        Returns the (index generation, FAQ version) read now."""
        versions = self.store.versions()
        if versions == self._versions:
            return versions
        previous = self._versions or (None, None)
        if self._faq_factory is not None and versions[1] != previous[1]:
            self._faq_matcher = self._faq_factory(self.store.faq.all(status="active"))
        if versions[0] != previous[0]:
            total, titles = self.store.passages.title_sample(2)
            shown = "、".join(f"《{t}》" for t in titles)
            self._doc_sources = f"{shown}等{total}篇文章" if total > 2 else shown or "暂无文章"
        self._sources = self._doc_sources
        if self._faq_matcher is not None and len(self._faq_matcher):
            self._sources += f"和{len(self._faq_matcher)}条常见问题"
        with self._cache_lock:
            self._cache.clear()
        self._versions = versions
        return versions

    @property
    def faq_matcher(self):
        self.refresh()
        return self._faq_matcher

    # ------------------------------------------------------------------- answer
    def answer(self, text: str | None, *, user: str | int | None = None, channel: str = "cli",
               log_question: bool = True) -> Answer:
        """Answer one question.

        Args:
            text: what the resident typed (any length, any characters, or None).
            user: the channel's user id (hashed before it is stored).
            channel: "cli", "telegram", "wechat", "wecom" ...
            log_question: write it to the question log (the unanswered queue reads it).

        Returns:
            An :class:`~qa.compose.Answer`; ``kind`` is "none" for refusals and bad input.
        """
        started = time.perf_counter()
        raw = valid_unicode(text) if isinstance(text, str) else ""
        answer = self._answer(raw)
        answer.latency_ms = (time.perf_counter() - started) * 1000
        if log_question and answer.outcome != "invalid":
            answer.question_id = self.record(answer, user=user, channel=channel)
        return answer

    def record(self, answer: Answer, *, user: str | int | None, channel: str, dedupe_key: str | None = None,
               reply: str | None = None) -> int | None:
        """Log an answer (and cache ``reply`` under ``dedupe_key``) in one transaction.
        Returns the question id, or None when the log could not be written."""
        first = answer.citations[0] if answer.citations else None
        try:
            return self.store.log.record(
                channel=channel, user_hash=self.user_hash(channel, user), text_norm=normalize(answer.question),
                kind=answer.kind, outcome=answer.outcome, confidence=answer.confidence, faq_id=answer.faq_id,
                doc_id=first.doc_id if first else None, candidates=answer.candidates,
                dedupe_key=dedupe_key, reply=reply)
        except StoreError:
            log.exception("question log write failed")
            return None

    def answer_entry(self, faq_id: str, *, user: str | int | None = None, channel: str = "cli") -> Answer | None:
        """The answer of one active FAQ entry (a suggestion button was pressed), logged like a
        question; None when the entry is gone or disabled."""
        entry = self.store.faq.get(faq_id)
        if entry is None or entry.status != "active":
            return None
        source = compose.faq_source(entry.id, entry.source)
        text = compose.faq_text(entry.answer, source, [], notice=None)
        citation = Citation(doc_id=f"faq:{entry.id}", title=source, section=None, paragraph=0,
                            quote=entry.answer, start=0, end=0)
        answer = Answer(entry.question, text, "faq", 1.0, [citation], outcome="answered", faq_id=entry.id,
                        body_text=text, candidates=[{"kind": "faq", "id": entry.id, "score": 100.0, "chosen": True}])
        answer.question_id = self.record(answer, user=user, channel=channel)
        return answer

    def _answer(self, raw: str) -> Answer:
        if len(raw) > MAX_QUESTION_CHARS and (raw[:1].isspace() or raw[:1] in "\u200b\u200c\u200d\ufeff"):
            raw = raw.lstrip(" \t\r\n\u3000\u200b\u200c\u200d\ufeff")  # a paste with padding in front
        truncated = len(raw) > MAX_QUESTION_CHARS
        head = raw[:MAX_QUESTION_CHARS * 2]  # normalisation can only shorten; cap the work first
        norm = normalize(head)
        question = raw[:MAX_QUESTION_CHARS].strip()
        notice = compose.TEXT_TRUNCATED.format(limit=MAX_QUESTION_CHARS) if truncated else None
        if not norm:
            return Answer(question, compose.TEXT_EMPTY, "none", 0.0, outcome="invalid")
        if not _WORDLIKE.search(norm):
            return Answer(question, compose.TEXT_NOT_TEXT, "none", 0.0, outcome="invalid")
        kind = smalltalk.classify(norm)
        if kind:
            return Answer(question, smalltalk.REPLIES[kind], "smalltalk", 1.0, outcome="smalltalk",
                          suggestions=list(smalltalk.EXAMPLES) if kind in ("greeting", "identity") else [])
        with self.store.db.read():  # one snapshot: a concurrent reindex swap cannot split this answer
            # The versions belong to the key: an answer computed from data another thread has
            # meanwhile seen change is stored under the old versions and never served again.
            key = (self.refresh(), norm, truncated)
            with self._cache_lock:
                cached = self._cache.get(key)
                if cached is not None:
                    self._cache.move_to_end(key)
            if cached is not None:
                return replace(cached, question=question, citations=list(cached.citations),
                               suggestions=list(cached.suggestions), question_id=None)
            if smalltalk.is_task_request(smalltalk.strip_greeting(norm)):
                answer = Answer(question, compose.refusal_text(self._sources, self.config.contact, [], notice=notice),
                                "none", 0.0, outcome="off_topic", notice=notice)
            else:
                answer = self._answer_query(question, analyse(smalltalk.strip_greeting(norm), self.segmenter), notice)
        with self._cache_lock:
            self._cache[key] = answer
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return replace(answer, citations=list(answer.citations), suggestions=list(answer.suggestions))

    def _answer_query(self, question: str, query: Query, notice: str | None) -> Answer:
        if query.terms and all(t.numeric for t in query.terms) and len(query.terms) <= 2:
            # 「-1」, 「1」, 「' OR 1=1 --」: a bare number is no question; any sentence with it
            # would match confidently. Ask for words instead.
            return Answer(question, compose.TEXT_NOT_TEXT, "none", 0.0, outcome="invalid", notice=notice)
        faq_match = self._faq_matcher.match(query) if self._faq_matcher is not None else None
        passage = self.retriever.retrieve(query)
        faq_conf = faq_match.confidence if faq_match and faq_match.decision == "answer" else 0.0
        passage_conf = passage.confidence if passage else 0.0
        candidates = explain.candidates(faq_match, passage)
        if faq_match and faq_match.decision == "answer" and faq_conf >= passage_conf - FAQ_TIE:
            return self._faq_answer(question, faq_match, passage, notice, candidates)
        if passage and (passage_conf >= ABSTAIN_BELOW or (
                passage_conf >= ANSWER_FLOOR and not rank.out_of_scope_evidence(passage.features))):
            return self._passage_answer(question, query, passage, faq_match, notice, candidates)
        return self._refusal(question, faq_match, passage, notice, candidates)

    # ----------------------------------------------------------------- builders
    def _related(self, faq_match, exclude: str | None = None) -> tuple[list[str], list[str]]:
        if faq_match is None:
            return [], []
        pairs = [(e.id, e.question) for e in faq_match.related if e.id != exclude][:compose.MAX_SUGGESTIONS]
        return [q for _, q in pairs], [i for i, _ in pairs]

    def _faq_answer(self, question: str, faq_match, passage: PassageResult | None, notice: str | None,
                    candidates: list[dict]) -> Answer:
        entry = faq_match.entry
        suggestions, ids = self._related(faq_match, exclude=entry.id)
        source = compose.faq_source(entry.id, entry.source)
        text = compose.faq_text(entry.answer, source, suggestions, notice=notice)
        body = compose.faq_text(entry.answer, source, [], notice=notice)
        citation = Citation(doc_id=f"faq:{entry.id}", title=source, section=None, paragraph=0,
                            quote=entry.answer, start=0, end=0)
        return Answer(question, text, "faq", faq_match.confidence, [citation], suggestions, outcome="answered",
                      faq_id=entry.id, explain=explain.explain(faq_match, passage), candidates=candidates,
                      notice=notice, suggestion_ids=ids, body_text=body)

    def _passage_answer(self, question: str, query: Query, passage: PassageResult, faq_match, notice: str | None,
                        candidates: list[dict]) -> Answer:
        first = passage.sentences[0]
        document = self.store.passages.document(first.doc_id)
        quote = document["cleaned_text"][passage.start:passage.end]
        citation = Citation(doc_id=first.doc_id, title=first.title, section=first.section, paragraph=first.number,
                            quote=quote, start=passage.start, end=passage.end, role=first.role)
        hedge = passage.confidence < HEDGE_BELOW
        suggestions, ids = self._related(faq_match)
        text = compose.passage_text(quote, citation, suggestions, hedge=hedge, notice=notice)
        body = compose.passage_text(quote, citation, [], hedge=hedge, notice=notice)
        return Answer(question, text, "passage", passage.confidence, [citation], suggestions,
                      outcome="hedged" if hedge else "answered", explain=explain.explain(faq_match, passage),
                      candidates=candidates, notice=notice, suggestion_ids=ids, body_text=body)

    def _refusal(self, question: str, faq_match, passage: PassageResult | None, notice: str | None,
                 candidates: list[dict]) -> Answer:
        did_you_mean = bool(faq_match and faq_match.decision == "suggest")
        if did_you_mean:
            pairs = [(e.id, e.question) for e in faq_match.suggestions][:compose.MAX_SUGGESTIONS]
        else:
            pairs = [(e.id, e.question) for e in (faq_match.related if faq_match else [])][:compose.MAX_SUGGESTIONS]
        suggestions = [q for _, q in pairs]
        text = compose.refusal_text(self._sources, self.config.contact, suggestions, notice=notice,
                                    did_you_mean=did_you_mean)
        body = compose.refusal_body(self._sources, self.config.contact, notice=notice,
                                    did_you_mean=did_you_mean and bool(suggestions))
        confidence = max(faq_match.confidence if faq_match else 0.0, passage.confidence if passage else 0.0)
        return Answer(question, text, "none", min(confidence, ABSTAIN_BELOW), [], suggestions,
                      outcome="suggested" if did_you_mean else "unanswered",
                      explain=explain.explain(faq_match, passage), candidates=candidates, notice=notice,
                      suggestion_ids=[i for i, _ in pairs], body_text=body)
