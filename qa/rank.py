"""Pure re-ranking of candidate sentences and a calibrated confidence.

Given an analysed question and candidate sentences (with BM25 scores from FTS5 and their
paragraph context), compute features, a linear score and a confidence in [0, 1]. Nothing
here touches the database, jieba or the environment; everything is deterministic.

The features come from :mod:`qa.features`. The ranking weights were fitted listwise and the
confidence model by logistic regression with ``python bench/calibrate.py`` on the project's
own question sets plus half-corpora of CMRC 2018 and DRCD (their other halves serving as
out-of-scope questions); the numbers below are its output, rounded. A few weights are fixed
by judgement where our questions are too few to fit them (see FIXED in that script).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from qa.features import (  # noqa: F401  (re-exported: the ranker's vocabulary)
    NEAR_CHARS,
    TITLE_CREDIT,
    UNKNOWN_NON_NOUN,
    Candidate,
    WeightedTerm,
    coverage,
    features,
    idf,
    mark_known,
    proximity,
    term_match,
    title_named,
    weigh_terms,
)
from qa.query import Query

# ---------------------------------------------------------------- fitted constants
WEIGHTS = {
    "coverage": 0.87,          # IDF-weighted share of question terms in the sentence (title counts)
    "context": 0.88,           # ... in the sentence, its paragraph, section and title (partial credit)
    "type_ok": 0.77,           # sentence holds what the question asks for (count, date ...)
    "type_missing": -0.77,     # question asks for a type the sentence lacks
    "proximity": 0.61,         # the typed answer sits within a few characters of the matched terms
    "bm25": 1.33,              # sentence BM25 relative to the best candidate
    "paragraph": 2.30,         # paragraph BM25 relative to the best paragraph
    "numbers": 0.34,           # numbers stated in the question appear in the sentence
    "numbers_missing": -0.14,  # a year or figure of the question is nowhere in the paragraph
    "unknown": -0.00,          # share of question weight in names/nouns the corpus never uses
    "unknown_noun": -1.50,     # the question names something (卧龙区, 电话) the corpus never uses
    "year_absent": -3.00,      # the question's year (2021年) appears nowhere in the document
    "not_body": 0.41,        # lede or caption rather than body text
    "short": -0.18,            # fragment under 8 characters
    "rest_coverage": 0.31,     # share of the question's terms *outside the title* in the sentence
    "char_overlap": 3.05,      # share of the question's content characters in the sentence (食 in 为食)
    "title_in_question": 0.75, # the document's title is named in the question
    "lead": 0.44,              # first sentence of its document
    "place_conflict": -2.00,    # the question names a place the passage does not, and it names another
    "key_missing": 0.0,        # the question's heaviest noun is nowhere in the sentence's context
}
BIAS = 0.00

#: Confidence model: a second logistic regression over the *winning* candidate's absolute
#: features (relative BM25 is 1.0 for every winner, so it says nothing about correctness)
#: plus its margin over the runner-up. Fitted per question by bench/calibrate.py.
CONFIDENCE_WEIGHTS = {
    "coverage": 2.29,
    "context": 2.09,
    "type_ok": -0.10,
    "type_missing": -1.00,
    "proximity": 0.16,
    "numbers_missing": -0.51,
    "unknown": 0.02,
    "unknown_noun": -1.50,
    "year_absent": -5.00,
    "not_body": 0.09,
    "margin": 2.50,
    "place_conflict": -2.00,
}
CONFIDENCE_BIAS = -3.54
#: Score gap to the runner-up at which the margin feature saturates (score units).
MARGIN_SCALE = 2.0

def sigmoid(x: float) -> float:
    if x < -60:
        return 0.0
    if x > 60:
        return 1.0
    return 1.0 / (1.0 + math.exp(-x))

def linear_score(feats: dict[str, float]) -> float:
    return BIAS + sum(WEIGHTS[k] * v for k, v in feats.items())


#: Below this share of the question's weight found in the best sentence, a weak match counts
#: as evidence that the corpus does not answer the question (see :func:`out_of_scope_evidence`).
EVIDENCE_COVERAGE = 0.4


def out_of_scope_evidence(feats: dict[str, float]) -> bool:
    """True when the best candidate shows a concrete sign that the corpus does not answer the
    question: it names something the corpus never uses, a year or place the document does not
    have, asks for a type (count, date, name ...) the sentence lacks, or most of its words are
    missing. Uncertain matches without such a sign are answered with a hedge instead.
    Chosen by comparing decision rules on the dev, own, CMRC and DRCD sets (README, Performance)."""
    return (feats.get("unknown_noun", 0) > 0 or feats.get("year_absent", 0) > 0 or feats.get("place_conflict", 0) > 0
            or feats.get("type_missing", 0) > 0 or feats.get("key_missing", 0) > 0
            or feats.get("coverage", 0) < EVIDENCE_COVERAGE)


def confidence_features(ranked: Sequence[Candidate]) -> dict[str, float]:
    """Inputs of the confidence model for a ranked list (best first, non-empty)."""
    best = ranked[0]
    gap = best.score - ranked[1].score if len(ranked) > 1 else MARGIN_SCALE
    feats = {k: best.features.get(k, 0.0) for k in CONFIDENCE_WEIGHTS if k != "margin"}
    feats["margin"] = min(max(gap, 0.0), MARGIN_SCALE) / MARGIN_SCALE
    return feats


def confidence(ranked: Sequence[Candidate]) -> float:
    """Calibrated probability (0..1) that the best of ``ranked`` answers the question."""
    if not ranked:
        return 0.0
    feats = confidence_features(ranked)
    return sigmoid(CONFIDENCE_BIAS + sum(CONFIDENCE_WEIGHTS[k] * v for k, v in feats.items()))


def rank(query: Query, terms: Sequence[WeightedTerm], candidates: Iterable[Candidate]) -> list[Candidate]:
    """Score every candidate and return them best first (ties: higher BM25, then lower key)."""
    cands = list(candidates)
    if not cands:
        return []
    best_bm25 = max(c.bm25 for c in cands)
    best_paragraph = max(c.paragraph_score for c in cands)
    memo: dict = {}
    for cand in cands:
        cand.features = features(query, terms, cand, best_bm25, best_paragraph, memo)
        cand.score = linear_score(cand.features)
    cands.sort(key=lambda c: (-c.score, -c.bm25, c.key))
    return cands
