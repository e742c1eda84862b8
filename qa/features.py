"""Features of candidate sentences for the ranker (pure functions, all values in [0, 1]).

Term weighting (IDF), term matching with synonyms and sub-words, coverage, the proximity of a
typed answer to the question's words, title and context evidence. :mod:`qa.rank` turns these
into a score and a confidence.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from qa.params import PARAMS
from qa.query import ANSWER_TYPE_PREDICATES, Query, Term, sentence_has_type
from qa.text import is_cjk

#: The feature constants below come from the ``features`` block of qa/params.json (set by
#: judgement, written unchanged by bench/calibrate.py; see its ``source.method``).
#: Characters between a typed answer (2652人) and a matched question term that still count
#: as "near" for the proximity feature; a clause of the seed article is 10-20 characters.
NEAR_CHARS = PARAMS.features.near_chars
#: Credit for a question term found only in the document title (the article is about it).
TITLE_CREDIT = PARAMS.features.title_credit
#: Share of an unknown verb's or function word's weight that counts as "unknown" (names and
#: nouns count fully: 卧龙区 in a question about another district).
UNKNOWN_NON_NOUN = PARAMS.features.unknown_non_noun
#: Credit (0..1) for a match on a domain-lexicon expansion only (``residents.expansion_credit``):
#: below the resident's own word, which earns 1.0.
EXPANSION_CREDIT = PARAMS.residents.expansion_credit


def idf(df: int, n: int) -> float:
    """BM25-style inverse document frequency, > 0 (Robertson-Sparck Jones with +1 smoothing).

    Args:
        df: number of sentences containing the term, 0..n.
        n: number of sentences in the index, >= 0.
    """
    return math.log(1.0 + (n - df + 0.5) / (df + 0.5))

@dataclass(frozen=True)
class WeightedTerm:
    """A question term with its IDF weight and whether the corpus knows it at all."""

    term: Term
    weight: float
    known: bool

    def unknown_weight(self) -> float:
        if self.known:
            return 0.0
        return self.weight * (1.0 if self.term.noun else UNKNOWN_NON_NOUN)


def _kind_factor(term: Term) -> float:
    """Share of IDF a term's kind deserves: answer-type cues (人数) and single digits say little
    about which sentence answers; lone characters that are not nouns are mostly verbs or
    particles jieba split off (讲, 指)."""
    if term.cue:
        return 0.25
    if term.numeric:
        return 0.2 if len(term.text) == 1 else 0.5
    if len(term.text) == 1 and not term.noun:
        return 0.3
    return 1.0


def weigh_terms(query: Query, stats: dict[str, tuple[int, int]], n_sentences: int) -> list[WeightedTerm]:
    """IDF weight of each question term (the rarest of its variants decides; numbers count half).

    Args:
        query: the analysed question.
        stats: {token: (sentence df, paragraph df)} from the index.
        n_sentences: sentences in the index.
    """
    out = []
    for term in query.terms:
        dfs = [stats[v][0] for v in term.variants if v in stats] or [stats[v][0] for v in term.weak if v in stats]
        part_dfs = [stats[p][0] for p in term.parts if p in stats]
        known = bool(dfs) or (bool(term.parts) and len(part_dfs) == len(term.parts))
        df = min(dfs) if dfs else (max(part_dfs) if known else 0)
        weight = idf(df, n_sentences) * term.focus * _kind_factor(term)
        if term.focus < 1.0 and not known and not term.numeric:
            # a story word of a long message that the corpus never uses is neither evidence
            # for a sentence nor against the question (腿脚, 外地 in 「……腿脚不好……建了多少个」)
            weight = 0.0
        out.append(WeightedTerm(term, weight, known or term.numeric))
    return out


def mark_known(terms: Sequence[WeightedTerm], texts: Iterable[str]) -> list[WeightedTerm]:
    """Terms that are not index tokens but occur verbatim in one of ``texts`` (candidate
    sentences) are known after all: jieba segmented them differently in the article."""
    texts = list(texts)
    out = []
    for t in terms:
        if not t.known and any(len(v) >= 2 and v in x for v in t.term.variants | t.term.weak for x in texts):
            t = WeightedTerm(t.term, t.weight, True)
        out.append(t)
    return out


def term_match(term: Term, tokens: frozenset[str], norm: str, *, fuzzy: bool = False) -> float:
    """1.0 when the term (or a synonym) is in the text, partial credit for its sub-words; with
    ``fuzzy`` (words the corpus does not use, such as 漏掉 vs 一个不漏) 0.4 x the share of the
    word's characters found in the text."""
    for variant in term.variants:
        if variant in tokens or (len(variant) >= 2 and variant in norm):
            return 1.0
    for variant in term.weak:
        if variant in tokens or (len(variant) >= 2 and variant in norm):
            return EXPANSION_CREDIT
    if term.parts:
        hit = sum(1 for p in term.parts if p in tokens or p in norm)
        if hit:
            return 0.7 * hit / len(term.parts)
    if fuzzy and len(term.text) >= 2:
        return 0.4 * sum(1 for c in term.text if c in norm) / len(term.text)
    return 0.0


@dataclass
class Candidate:
    """A sentence under consideration. ``key`` is the caller's handle (a row id)."""

    key: int
    norm: str
    tokens: frozenset[str]
    context_tokens: frozenset[str]
    context_norm: str
    bm25: float
    paragraph_score: float
    role: str = "body"
    title_norm: str = ""
    doc_years: frozenset[str] = frozenset()
    has_person: bool = False
    has_place: bool = False
    place_conflict: bool = False
    lead: bool = False
    features: dict[str, float] = field(default_factory=dict)
    score: float = 0.0


def coverage(terms: Sequence[WeightedTerm], tokens: frozenset[str], norm: str) -> float:
    """IDF-weighted share (0..1) of the question's terms found in one text."""
    total = sum(t.weight for t in terms)
    if total <= 0:
        return 0.0
    return sum(t.weight * term_match(t.term, tokens, norm) for t in terms) / total


def _positions(term: Term, norm: str) -> list[int]:
    out = []
    for variant in term.variants | set(term.parts):
        if len(variant) < 2 and not variant.isdigit():
            continue
        start = norm.find(variant)
        while start != -1:
            out.append(start)
            start = norm.find(variant, start + 1)
    return out


def proximity(query: Query, terms: Sequence[WeightedTerm], norm: str) -> float:
    """How close the matched question terms sit to the best typed answer span in ``norm``:
    each term contributes its weight x (1 - gap / :data:`NEAR_CHARS`), so 脱贫1475户 scores
    higher than 脱贫村21个,建档立卡贫困户4550户. 0..1; 0 when the question has no answer type."""
    pattern = ANSWER_TYPE_PREDICATES.get(query.answer_type or "")
    if pattern is None:
        return 0.0
    total = sum(t.weight for t in terms) or 1.0
    positions = [(t.weight, _positions(t.term, norm)) for t in terms]
    best = 0.0
    for match in pattern.finditer(norm):
        value = next((g for g in match.groups() if g), match.group(0))
        if value.rstrip("余多") in query.numbers:
            continue
        near = 0.0
        for weight, ps in positions:
            gaps = [max(match.start() - p, p - match.end(), 0) for p in ps]
            if gaps:
                near += weight * max(0.0, 1.0 - min(gaps) / NEAR_CHARS)
        best = max(best, near / total)
    return best


_TITLE_STRIP = re.compile(r"[\s\W_]+")


def _content_chars(terms: Sequence[WeightedTerm], title_norm: str) -> set[str]:
    return {c for t in terms if not t.term.numeric for c in t.term.text if is_cjk(c) and c not in title_norm}


def _per_title(query: Query, terms: Sequence[WeightedTerm], title_norm: str, memo: dict) -> tuple:
    """(terms found in the title, question content characters outside it, title named in the
    question), computed once per document title within one ranking."""
    hit = memo.get(title_norm)
    if hit is None:
        in_title = [term_match(t.term, frozenset(), title_norm) >= 1.0 for t in terms]
        hit = memo[title_norm] = (in_title, _content_chars(terms, title_norm), title_named(title_norm, query.norm))
    return hit


_DISAMBIGUATION = re.compile(r"[_\s]*[(（][^()（）]*[)）]\s*$")
_TITLE_PARTS = re.compile(r"[·•・_\-—\s:：,，]+")


def title_named(title_norm: str, question_norm: str) -> float:
    """How much of a document's title the question names (0..1): the longest title part of two
    or more characters found in the question, as a share of the title without disambiguation
    (保罗·狄拉克 -> 狄拉克 named: 0.6; 山西省_(中华民国) -> 山西省 named: 1.0)."""
    core = _DISAMBIGUATION.sub("", title_norm)
    question = _TITLE_STRIP.sub("", question_norm)
    plain = _TITLE_STRIP.sub("", core)
    if len(plain) >= 2 and plain in question:
        return 1.0
    best = 0
    for part in _TITLE_PARTS.split(core):
        part = _TITLE_STRIP.sub("", part)
        if len(part) >= 2 and part in question:
            best = max(best, len(part))
    return best / len(plain) if plain else 0.0


def _per_context(terms: Sequence[WeightedTerm], cand: Candidate, memo: dict) -> list[float]:
    """Half credit per term found in the paragraph/section/title context, once per paragraph."""
    key = id(cand.context_tokens)
    hit = memo.get(key)
    if hit is None:
        hit = memo[key] = [0.5 * term_match(t.term, cand.context_tokens, cand.context_norm) for t in terms]
    return hit


def _key_missing(terms: Sequence[WeightedTerm], ctx: list[float]) -> float:
    """1.0 when the question's heaviest noun (its topic: 水费 in 「怎么缴纳水费」) is found
    neither in the sentence nor in its paragraph, section or title."""
    nouns = [(t.weight, c) for t, c in zip(terms, ctx) if t.term.noun and not t.term.numeric and len(t.term.text) >= 2]
    if not nouns:
        return 0.0
    return 1.0 if max(nouns)[1] == 0.0 else 0.0


def features(query: Query, terms: Sequence[WeightedTerm], cand: Candidate, best_bm25: float,
             best_paragraph: float, memo: dict | None = None) -> dict[str, float]:
    """Feature vector of one candidate (all values in [0, 1]). ``memo`` shares per-title and
    per-paragraph work between the candidates of one ranking."""
    memo = memo if memo is not None else {}
    total = sum(t.weight for t in terms) or 1.0
    in_title, chars, title_in_q = _per_title(query, terms, cand.title_norm, memo.setdefault("title", {}))
    direct = [term_match(t.term, cand.tokens, cand.norm, fuzzy=not t.known and not t.term.noun) for t in terms]
    own = [max(d, TITLE_CREDIT * float(it)) for d, it in zip(direct, in_title)]
    rest_total = sum(t.weight for t, it in zip(terms, in_title) if not it)
    rest = (sum(t.weight * d for t, d, it in zip(terms, direct, in_title) if not it) / rest_total) if rest_total else 0.0
    ctx = [max(o, c) for o, c in zip(own, _per_context(terms, cand, memo.setdefault("context", {})))]
    has_type = query.answer_type not in (None, "how")
    type_ok = sentence_has_type(cand.norm, query.answer_type, query.numbers, has_person=cand.has_person,
                                has_place=cand.has_place, question_norm=query.norm) if has_type else False
    numbers = [n for n in query.numbers]
    long_numbers = [n for n in numbers if len(n) >= 2]
    return {
        "coverage": sum(t.weight * o for t, o in zip(terms, own)) / total,
        "context": sum(t.weight * c for t, c in zip(terms, ctx)) / total,
        "type_ok": 1.0 if has_type and type_ok else 0.0,
        "type_missing": 1.0 if has_type and not type_ok else 0.0,
        "proximity": proximity(query, terms, cand.norm) if has_type and type_ok else 0.0,
        "bm25": cand.bm25 / best_bm25 if best_bm25 > 0 else 0.0,
        "paragraph": cand.paragraph_score / best_paragraph if best_paragraph > 0 else 0.0,
        "numbers": (sum(1 for n in numbers if n in cand.norm) / len(numbers)) if numbers else 0.0,
        "numbers_missing": (sum(1 for n in long_numbers if n not in cand.context_norm) / len(long_numbers))
        if long_numbers else 0.0,
        "unknown": sum(t.unknown_weight() for t in terms) / total,
        "unknown_noun": 1.0 if any(not t.known and t.term.noun and len(t.term.text) >= 2 and t.term.focus >= 1.0
                                   for t in terms) else 0.0,
        "year_absent": 1.0 if query.years and not query.years <= cand.doc_years else 0.0,
        "not_body": 0.0 if cand.role == "body" else 1.0,
        "short": 1.0 if len(cand.norm) < 8 else 0.0,
        "rest_coverage": rest,
        "char_overlap": (sum(1 for c in chars if c in cand.norm) / len(chars)) if chars else 0.0,
        "title_in_question": title_in_q,
        "lead": 1.0 if cand.lead else 0.0,
        "place_conflict": 1.0 if cand.place_conflict else 0.0,
        "key_missing": _key_missing(terms, ctx),
    }
