"""The shape of qa/params.json: frozen dataclasses per block and the feature names.

:mod:`qa.params` reads and validates the file into these classes; nothing else reads it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

#: Ranking features of :func:`qa.features.features`, in the order calibration uses them.
RANKING_FEATURES = (
    "coverage", "context", "type_ok", "type_missing", "proximity", "bm25", "paragraph", "numbers",
    "numbers_missing", "unknown", "unknown_noun", "year_absent", "not_body", "short", "rest_coverage",
    "char_overlap", "title_in_question", "lead", "place_conflict", "key_missing",
)
#: Inputs of the confidence model (:func:`qa.rank.confidence_features`): features of the
#: winning candidate plus its ``margin`` over the runner-up.
CONFIDENCE_FEATURES = (
    "coverage", "context", "type_ok", "type_missing", "proximity", "numbers_missing", "unknown",
    "unknown_noun", "year_absent", "not_body", "margin", "place_conflict",
)


@dataclass(frozen=True)
class Provenance:
    """Where a block's numbers come from.

    Attributes:
        script: the script that wrote the block (``bench/calibrate.py``).
        method: how the numbers were obtained (fitted, swept, or set by judgement and why).
        data: {path relative to the repository root: sha256 hex of the file}; empty when no data
            decided the numbers.
        seed: the random seed of the fit or of the hold-out split, None when nothing is random.
    """

    script: str
    method: str
    data: Mapping[str, str]
    seed: int | None


@dataclass(frozen=True)
class FeatureParams:
    """Constants inside the ranking features (:mod:`qa.features`); set by judgement in
    bench/calib_blocks.py and written unchanged by bench/calibrate.py.

    Attributes:
        near_chars: characters (> 0) between a typed answer and a question term that still count
            as near for the proximity feature.
        title_credit: credit (0..1) for a question term found only in the document title.
        unknown_non_noun: share (0..1) of an unknown verb's or function word's weight that counts
            as unknown (nouns count fully).
    """

    near_chars: int
    title_credit: float
    unknown_non_noun: float
    source: Provenance


@dataclass(frozen=True)
class RankingParams:
    """Linear ranking score ``bias + sum(weights[f] * feature f)`` (score units). Fitted by
    bench/calibrate.py (listwise) on data/eval/{dev,own}_questions.jsonl against the seed article
    plus CMRC 2018 / DRCD half-corpora; a few weights fixed by judgement (bench/calib_fit.py).

    Attributes:
        weights: one weight per name of :data:`RANKING_FEATURES`.
        bias: constant term.
        margin_scale: score gap (> 0) to the runner-up at which the confidence model's margin
            input saturates at 1.
    """

    weights: Mapping[str, float]
    bias: float
    margin_scale: float
    source: Provenance


@dataclass(frozen=True)
class ConfidenceParams:
    """Passage confidence ``sigmoid(bias + sum(weights[f] * x_f))`` over :data:`CONFIDENCE_FEATURES`;
    fitted by bench/calibrate.py (logistic regression on the same questions as the ranking)."""

    weights: Mapping[str, float]
    bias: float
    source: Provenance


@dataclass(frozen=True)
class DecisionParams:
    """When a passage or an FAQ entry answers (see :meth:`qa.service.Service._answer_query`);
    swept by bench/calibrate.py over data/eval/*.jsonl and the CMRC/DRCD fit questions
    (``evidence_coverage`` by judgement).

    Attributes:
        abstain_below: confidence (0..1) a passage with out-of-scope evidence needs.
        answer_floor: confidence (0..1) below which no passage answers; between it and
            ``abstain_below`` a passage answers (hedged) only without out-of-scope evidence.
        hedge_below: confidence (0..1) below which an answered passage carries the hedge line.
        faq_tie: an FAQ answer wins unless the passage is more confident by more than this (0..1).
        evidence_coverage: below this coverage (0..1) of the question in the best sentence, a weak
            match counts as out-of-scope evidence (:func:`qa.rank.out_of_scope_evidence`).
    """

    abstain_below: float
    answer_floor: float
    hedge_below: float
    faq_tie: float
    evidence_coverage: float
    source: Provenance


@dataclass(frozen=True)
class FaqScoringParams:
    """Weights and penalties of the FAQ score (0..100 points, see :mod:`faq.matcher`); set by
    judgement with bench/faq_debug.py and bench/faq_bench.py, written by bench/calibrate.py.

    Attributes:
        pinyin_share: share of the sequence view taken by pinyin for short questions.
        short_sequence_share: share of the sequence view in the score of short questions (the
            rest is the lexical view).
        lexical_question, lexical_phrasing, lexical_entry: shares of the lexical view (sum 1).
        short_chars, long_chars: key lengths where the long-statement blend starts and is complete.
        number_mismatch, year_mismatch, answer_type, unknown_noun, no_shared_noun, unknown_name:
            penalties in points.
        short_query_chars: questions this short only match a phrasing they equal.
        correct_max_chars: homophone correction applies to questions up to this long.
        candidates: phrasings fully scored per question and view.
    """

    pinyin_share: float
    short_sequence_share: float
    lexical_question: float
    lexical_phrasing: float
    lexical_entry: float
    short_chars: int
    long_chars: int
    number_mismatch: float
    year_mismatch: float
    answer_type: float
    unknown_noun: float
    no_shared_noun: float
    unknown_name: float
    short_query_chars: int
    correct_max_chars: int
    candidates: int
    source: Provenance


@dataclass(frozen=True)
class FaqDecisionParams:
    """FAQ decision lines (points 0..100) and the FAQ confidence curve; ``answer_at``,
    ``margin`` and ``answer_clear`` swept by bench/calibrate.py over data/eval/*.jsonl, the
    rest set by judgement (bench/calib_blocks.py).

    Attributes:
        answer_at: answer line of short questions; rises to ``long_answer_at`` for long statements.
        margin: lead over the runner-up entry needed on the answer line.
        answer_clear: score that answers whatever the margin.
        suggest_at: from here an entry is offered as 「您是不是想问」.
        related_at: from here an entry may appear under 「您可能还想问」.
        conf_mid, conf_margin_mid, conf_scale: confidence =
            sigmoid((score - conf_mid - line rise) / conf_scale + (min(margin, 24) - conf_margin_mid) / conf_scale).
    """

    answer_at: float
    long_answer_at: float
    margin: float
    answer_clear: float
    suggest_at: float
    related_at: float
    conf_mid: float
    conf_margin_mid: float
    conf_scale: float
    source: Provenance


@dataclass(frozen=True)
class FaqMatchParams:
    """The FAQ matcher's retrieval weights and gates (see :mod:`faq.index`, :mod:`faq.gates`).

    Attributes:
        synonym_weight, pinyin_weight, bigram_weight: BM25 query-term weights of a synonym of a
            question word, of a word's pinyin and of a character bigram (the question's own words
            weigh 1).
        retrieve: phrasings taken from BM25 per question.
        compatible_at: share (0..1) of the question's word weight that the best entry contains
            and another may lack while still answering the question too (then they do not compete).
        best_cover_at: share (0..1) of the question's word weight the best entry must contain
            before other entries can stop competing with it.
        tie_window: such an entry within this many points of the best is offered beside the answer.
        negative_at: similarity (points) from which a question is close to a negative question.
        negative_margin: an entry is dropped when the question's similarity to one of its
            negative questions reaches its similarity to the entry's phrasing less this (points).
        tie_margin: an entry within this many points of the best whose answer is not
            compatible makes the best a suggestion, whatever its score.
        common_idf, rare_idf, common_floor: a question word no phrasing uses weighs its full idf
            from general-language idf ``rare_idf`` (jieba's dictionary), ``common_floor`` of it
            at ``common_idf`` or below; no unknown-noun penalty up to ``common_idf`` + 1.
        lone_at, lone_margin: the best entry answers from ``lone_at`` points when every other
            entry scores at least ``lone_margin`` points less (the gates still apply).
        topic_idf: general-language idf from which a question noun no FAQ phrasing uses names a
            topic the FAQ does not cover (the best entry must mention it to answer).
        statement_long_chars: key length from which a text without question cues is read by
            characters only (``lam`` = 1; questions use ``faq_scoring.long_chars``).
    """

    synonym_weight: float
    pinyin_weight: float
    bigram_weight: float
    retrieve: int
    compatible_at: float
    best_cover_at: float
    tie_window: float
    negative_at: float
    negative_margin: float
    tie_margin: float
    statement_long_chars: int
    common_idf: float
    rare_idf: float
    common_floor: float
    topic_idf: float
    lone_at: float
    lone_margin: float
    source: Provenance


@dataclass(frozen=True)
class ResidentsParams:
    """Numbers of the resident-language layer (issue 11): lexicon expansions, number hints,
    multi-part quotes and detail gating. Written by ``python3 bench/residents_params.py --write``.

    Attributes:
        expansion_credit: match credit (0..1) of a domain-lexicon expansion (the resident's own
            word earns 1.0).
        approx_bonus: score units added to a candidate holding a number inside the range of the
            question's approximate or confirmed number (两千多人, 快一个亿).
        approx_window: only candidates within this many score units of the best get the bonus.
        max_citations: sentences quoted at most for a multi-part or list question (>= 1).
        part_window: a further sentence is quoted when its score is within this many score units
            of the best and it carries a part the quoted ones lack.
    """

    expansion_credit: float
    approx_bonus: float
    approx_window: float
    max_citations: int
    part_window: float
    source: Provenance


@dataclass(frozen=True)
class Params:
    """All blocks of ``qa/params.json``."""

    features: FeatureParams
    ranking: RankingParams
    confidence: ConfidenceParams
    decision: DecisionParams
    faq_scoring: FaqScoringParams
    faq_decision: FaqDecisionParams
    faq_match: FaqMatchParams
    residents: ResidentsParams
