"""Passage retrieval: FTS5 candidates at sentence and paragraph level, re-ranked by :mod:`qa.rank`.

Returns the best sentence (or two adjacent sentences when one does not carry the answer)
with its citation data, the runner-up and the features, or None when nothing matches.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import lru_cache

from qa import approx, features, parts, rank, validity
from qa.params import PARAMS
from qa.params_schema import Params
from qa.query import Query, sentence_has_type
from qa.store import PassageIndex, SentenceRow, match_expression
from qa.store.documents import DocumentCatalog
from qa.text import normalize, pinyin

#: Candidate pool sizes. Measured on the CMRC+DRCD benchmark (bench/run.py): more sentence
#: hits than 80 or paragraphs than 6 did not change hit@1 and cost latency.
SENTENCE_HITS = 80
PARAGRAPH_HITS = 6
PARAGRAPHS_EXPANDED = 3
#: Paragraphs whose title or section best matches the question are also expanded: a question
#: that names a document should be able to reach it even when other sentences share more words.
TITLE_HITS = 2
#: For 怎么/如何 questions the sentence after the best one joins the quote when it alone covers
#: this share of the question (D34 of the dev set: the method follows the topic sentence).
HOW_FOLLOW_COVERAGE = 0.3
#: Tokens in more than this share of sentences (and more than COMMON_TOKEN_MIN_DF of them)
#: are left out of MATCH but kept for re-ranking: on large corpora they add thousands of rows
#: to score and nothing to recall. Small corpora keep every token.
COMMON_TOKEN_SHARE = 0.15
COMMON_TOKEN_MIN_DF = 1000


@lru_cache(maxsize=4096)
def _title_norm(title: str) -> str:
    return normalize(title)


@dataclass
class PassageResult:
    """The winning passage answer.

    Attributes:
        sentences: one or two adjacent rows of the same paragraph, in reading order.
        confidence: 0..1 from :func:`qa.rank.confidence`.
        ranked: the ranked candidates (best first) for explanations and the log.
        terms: weighted question terms.
        validity_notice: 「该文件已于…废止，以下内容仅供参考」 when the quote comes from a document
            that is not current (:mod:`qa.validity`), else None.
    """

    sentences: list[SentenceRow]
    confidence: float
    score: float
    features: dict[str, float]
    ranked: list[features.Candidate] = field(default_factory=list)
    rows: dict[int, SentenceRow] = field(default_factory=dict)
    terms: list[features.WeightedTerm] = field(default_factory=list)
    validity_notice: str | None = None
    extra: list[SentenceRow] = field(default_factory=list)

    @property
    def start(self) -> int:
        return self.sentences[0].start

    @property
    def end(self) -> int:
        return self.sentences[-1].end


class PassageRetriever:
    """Candidate generation and re-ranking over one :class:`~qa.store.PassageIndex`."""

    def __init__(self, index: PassageIndex, *, persons: frozenset[str] = frozenset(),
                 places: frozenset[str] = frozenset(), is_word=lambda word: True,
                 today: Callable[[], dt.date] = dt.date.today, params: Params = PARAMS) -> None:
        """``persons`` / ``places``: words the segmenter's dictionary tags as person and place
        names (answer types 谁 and 哪里); ``is_word``: whether the dictionary knows a word
        (homophone corrections must be real words, not index bigrams such as 底保 in 兜底保障);
        ``params``: ranking and confidence numbers (default: the committed qa/params.json;
        bench/calibrate.py passes candidates)."""
        self.index = index
        self.params = params
        self.persons, self.places = persons, places
        self.is_word = is_word
        self.catalog, self.today = DocumentCatalog(index.db), today

    def _place_conflict(self, query_places: set[str], row: SentenceRow) -> bool:
        """The question names a place that neither the sentence's paragraph nor the title
        mentions, while the paragraph names another place (卧龙区 asked, 宛城区 answered)."""
        if not query_places:
            return False
        text = row.context_norm
        if any(p in text for p in query_places):
            return False
        return any(t in self.places for t in row.context_tokens)

    @staticmethod
    def _names(tokens: tuple[str, ...], names: frozenset[str], query: Query) -> set[str]:
        """Names among a sentence's tokens that the question does not already contain."""
        return {t for t in tokens if t in names and t not in query.norm}

    def retrieve(self, query: Query) -> PassageResult | None:
        """Best passage answer for an analysed question, or None when no sentence shares a term."""
        if not query.terms:
            return None
        query = self._with_homophones(query)
        tokens = query.match_tokens()
        stats = self.index.term_stats(sorted(set(tokens)))
        weak = [w for w in query.weak_tokens(set(stats)) if w not in stats]
        if weak:
            stats.update(self.index.term_stats(sorted(set(weak))))
            tokens += weak
        n = max(self.index.counts().sentences, 1)
        terms = features.weigh_terms(query, stats, n)
        known = [t for t in dict.fromkeys(tokens) if t in stats]
        if not known:
            return None
        limit = max(COMMON_TOKEN_SHARE * n, COMMON_TOKEN_MIN_DF)
        selective = [t for t in known if stats[t][0] <= limit] or known
        match = match_expression(selective)
        sentence_hits = self.index.sentence_hits(match, SENTENCE_HITS)
        paragraph_hits = self.index.paragraph_hits(match, PARAGRAPH_HITS)
        paragraph_score = dict(paragraph_hits)
        rows = {r.id: r for r in self.index.sentences([sid for sid, _ in sentence_hits])}
        expand = [pid for pid, _ in paragraph_hits[:PARAGRAPHS_EXPANDED]]
        expand += [pid for pid, _ in self.index.title_hits(match, TITLE_HITS) if pid not in expand]
        for row in self.index.sentences_in_paragraphs(expand):
            rows.setdefault(row.id, row)
        bm25 = dict(sentence_hits)
        # words of a candidate's title are corpus words too (「临时救助实施办法从什么时候施行」)
        terms = features.mark_known(terms, [*(r.norm for r in rows.values()), *{_title_norm(r.title) for r in rows.values()}])
        # places named in the story of a long message (我是新店乡的) are no conflict
        query_places = {t.text for t in query.terms if t.focus >= 1.0 and t.text in self.places}
        candidates = [
            features.Candidate(key=row.id, norm=row.norm, tokens=frozenset(row.tokens),
                           context_tokens=row.context_tokens, context_norm=row.context_norm,
                           bm25=bm25.get(row.id, 0.0), paragraph_score=paragraph_score.get(row.paragraph_id, 0.0),
                           role=row.role, title_norm=_title_norm(row.title), doc_years=row.doc_years,
                           has_person=query.answer_type == "person" and bool(self._names(row.tokens, self.persons, query)),
                           has_place=query.answer_type == "place" and bool(self._names(row.tokens, self.places, query)),
                           place_conflict=self._place_conflict(query_places, row),
                           lead=row.seq == 0 and row.number == 1 and row.section is None)
            for row in rows.values()
        ]
        ranked = rank.rank(query, terms, candidates, self.params.ranking)
        if not ranked:
            return None
        if query.approx:
            ranked = self._number_hints(query, ranked)
        ranked, validity_notice = self._current_first(ranked, rows)
        best = ranked[0]
        chosen = self._with_neighbour(query, terms, rows[best.key], best)
        conf = rank.confidence(ranked, self.params.confidence, self.params.ranking.margin_scale)
        extra: list[SentenceRow] = []
        if parts.is_multipart(query):
            limit = self.params.residents.max_citations - 1
            picked = parts.extra_sentences(query, ranked, [r.norm for r in chosen], limit=limit,
                                           window=self.params.residents.part_window)
            extra = [rows[c.key] for c in picked if rows[c.key].id not in {r.id for r in chosen}]
        return PassageResult(sentences=chosen, confidence=conf, score=best.score,
                             features=best.features, ranked=ranked, rows=rows, terms=terms,
                             validity_notice=validity_notice, extra=extra)

    def _current_first(self, ranked: list[features.Candidate], rows: dict[int, SentenceRow]
                       ) -> tuple[list[features.Candidate], str | None]:
        """A current document's candidate ahead of a repealed, expired or superseded winner
        (:func:`qa.validity.prefer_current`), and the notice to show when none is close."""
        doc_ids = list(dict.fromkeys(rows[c.key].doc_id for c in ranked[:validity.LOOKAHEAD]))
        statuses, successors = self.catalog.statuses(doc_ids)
        if not statuses:
            return ranked, None
        today = self.today()
        verdicts = {d: validity.assess(validity.DocStatus(d, **{k: v for k, v in s.items() if k != "title"}), today)
                    for d, s in statuses.items()}
        return validity.prefer_current(ranked, doc_of=lambda c: rows[c.key].doc_id, score_of=lambda c: c.score,
                                       verdicts=verdicts, successors=successors)

    def _number_hints(self, query: Query, ranked: list[features.Candidate]) -> list[features.Candidate]:
        """Candidates within ``residents.approx_window`` of the best that hold a number inside
        the range of the question's approximate or confirmed number (两千多人, 快一个亿) gain
        ``residents.approx_bonus``; the list is re-sorted (ties as in :func:`qa.rank.rank`)."""
        params = self.params.residents
        floor = ranked[0].score - params.approx_window
        for cand in ranked:
            if cand.score >= floor and approx.in_range(cand.norm, query.approx):
                cand.score += params.approx_bonus
        return sorted(ranked, key=lambda c: (-c.score, -c.bm25, c.key))

    def _with_homophones(self, query: Query) -> Query:
        """Add index words that sound the same to question words the index does not know
        (民证局 -> 民政局, 医升 -> 医生): residents type pinyin and pick the wrong character."""
        lookups = [t for t in query.terms if not t.numeric and pinyin(t.text)]
        if not lookups:
            return query
        stats = self.index.term_stats(sorted({v for t in lookups for v in t.variants}))
        changed = False
        terms = []
        for term in query.terms:
            if term in lookups and not any(v in stats for v in term.variants):
                extra = frozenset(w for w in self.index.homophones(pinyin(term.text), limit=8) if self.is_word(w))
                if extra:
                    term, changed = term.with_variants(extra), True
            terms.append(term)
        return replace(query, terms=tuple(terms)) if changed else query

    def _with_neighbour(self, query: Query, terms: list[features.WeightedTerm], row: SentenceRow,
                        best: features.Candidate) -> list[SentenceRow]:
        """Add the adjacent sentence of the same paragraph when it carries the answer type the
        best sentence lacks, when it adds at least a quarter of the question's weight, or, for
        怎么/如何 questions, when the next sentence elaborates the best one (it shares at least
        HOW_FOLLOW_COVERAGE of the question): a topic sentence rarely states the method itself."""
        siblings = self.index.sentences_in_paragraphs([row.paragraph_id])
        position = next((i for i, s in enumerate(siblings) if s.id == row.id), None)
        if position is None:
            return [row]
        own = features.coverage(terms, frozenset(row.tokens), row.norm)
        has_type = query.answer_type not in (None, "how")
        best_pair, best_gain = None, 0.0
        for offset in (1, -1):
            j = position + offset
            if not 0 <= j < len(siblings):
                continue
            other = siblings[j]
            pair = [row, other] if offset == 1 else [other, row]
            joint = features.coverage(terms, frozenset(row.tokens) | frozenset(other.tokens), row.norm + other.norm)
            gain = joint - own
            if has_type and best.features.get("type_missing") and \
                    sentence_has_type(other.norm, query.answer_type, query.numbers) and joint >= own:
                gain += 0.5
            if query.answer_type == "how" and offset == 1 and \
                    features.coverage(terms, frozenset(other.tokens), other.norm) >= HOW_FOLLOW_COVERAGE:
                gain = max(gain, 0.25)
            if gain >= 0.25 and gain > best_gain:
                best_pair, best_gain = pair, gain
        return best_pair or [row]
