"""Pure re-ranking of candidate sentences and a calibrated confidence.

Given an analysed question and candidate sentences (with BM25 scores from FTS5 and their
paragraph context), compute features, a linear score and a confidence in [0, 1]. Nothing
here touches the database, jieba or the environment; everything is deterministic.

The features come from :mod:`qa.features`. The numbers live in qa/params.json (read through
:mod:`qa.params`): the ranking weights are fitted listwise and the confidence model by
logistic regression with ``python3 bench/calibrate.py --write`` on the project's own question
sets plus half-corpora of CMRC 2018 and DRCD (their other halves serving as out-of-scope
questions). A few weights are fixed by judgement where our questions are too few to fit them
(FIXED in that script); each block of the file records its data files, their sha256 and the
seed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from qa.features import Candidate, WeightedTerm, features
from qa.params import PARAMS
from qa.params_schema import CONFIDENCE_FEATURES, ConfidenceParams, RankingParams
from qa.query import Query


def sigmoid(x: float) -> float:
    """Logistic function, 0..1 (exactly 0 or 1 beyond |x| > 60)."""
    if x < -60:
        return 0.0
    if x > 60:
        return 1.0
    return 1.0 / (1.0 + math.exp(-x))


def linear_score(feats: dict[str, float], params: RankingParams = PARAMS.ranking) -> float:
    """Ranking score (score units, unbounded) of one feature vector: ``bias + sum(w_f * x_f)``
    with the weights of the ``ranking`` block of qa/params.json (fitted by bench/calibrate.py)."""
    weights = params.weights
    return params.bias + sum(weights[k] * v for k, v in feats.items())


def out_of_scope_evidence(feats: dict[str, float], coverage_floor: float = PARAMS.decision.evidence_coverage) -> bool:
    """True when the best candidate shows a concrete sign that the corpus does not answer the
    question: it names something the corpus never uses, a year or place the document does not
    have, asks for a type (count, date, name ...) the sentence lacks, or less than
    ``coverage_floor`` (``decision.evidence_coverage`` of qa/params.json) of its weight is
    found. Uncertain matches without such a sign are answered with a hedge instead."""
    return (feats.get("unknown_noun", 0) > 0 or feats.get("year_absent", 0) > 0 or feats.get("place_conflict", 0) > 0
            or feats.get("type_missing", 0) > 0 or feats.get("key_missing", 0) > 0
            or feats.get("coverage", 0) < coverage_floor)


def confidence_features(ranked: Sequence[Candidate], margin_scale: float = PARAMS.ranking.margin_scale
                        ) -> dict[str, float]:
    """Inputs of the confidence model for a ranked list (best first, non-empty): the winner's
    features named in :data:`qa.params.CONFIDENCE_FEATURES` plus ``margin``, its score gap to
    the runner-up divided by ``margin_scale`` and clipped to 0..1."""
    best = ranked[0]
    gap = best.score - ranked[1].score if len(ranked) > 1 else margin_scale
    feats = {k: best.features.get(k, 0.0) for k in CONFIDENCE_FEATURES if k != "margin"}
    feats["margin"] = min(max(gap, 0.0), margin_scale) / margin_scale
    return feats


def confidence(ranked: Sequence[Candidate], params: ConfidenceParams = PARAMS.confidence,
               margin_scale: float = PARAMS.ranking.margin_scale) -> float:
    """Calibrated probability (0..1) that the best of ``ranked`` answers the question: the
    logistic model of the ``confidence`` block of qa/params.json (fitted by bench/calibrate.py)."""
    if not ranked:
        return 0.0
    feats = confidence_features(ranked, margin_scale)
    return sigmoid(params.bias + sum(params.weights[k] * v for k, v in feats.items()))


def rank(query: Query, terms: Sequence[WeightedTerm], candidates: Iterable[Candidate],
         params: RankingParams = PARAMS.ranking) -> list[Candidate]:
    """Score every candidate with ``params`` (default: qa/params.json) and return them best
    first (ties: higher BM25, then lower key)."""
    cands = list(candidates)
    if not cands:
        return []
    best_bm25 = max(c.bm25 for c in cands)
    best_paragraph = max(c.paragraph_score for c in cands)
    memo: dict = {}
    for cand in cands:
        cand.features = features(query, terms, cand, best_bm25, best_paragraph, memo)
        cand.score = linear_score(cand.features, params)
    cands.sort(key=lambda c: (-c.score, -c.bm25, c.key))
    return cands
