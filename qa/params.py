"""The one reader of ``qa/params.json``: every number that decides an answer.

``qa/params.json`` holds the ranking feature weights, the confidence curve, the passage
abstain / hedge / floor thresholds, FAQ_TIE, and the FAQ matcher's weights and decision
lines. It is written by ``python3 bench/calibrate.py --write`` (never by hand); each block
records the script, the method, the data files with their sha256 and the seed that produced
it (see :class:`Provenance`). ``tests/test_params.py`` checks that the recorded hashes match
the data files and that the threshold sweeps reproduce the committed numbers.

:func:`load_params` validates the file and returns frozen dataclasses; a malformed file
raises :class:`ParamsError` naming the offending key (``blocks.ranking.weights.coverage``).
:data:`PARAMS` is the committed file, loaded once at import.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, fields
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

#: The committed parameter file.
DEFAULT_PATH = Path(__file__).with_name("params.json")
#: Version of the file layout this loader understands.
FORMAT = 1

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


class ParamsError(ValueError):
    """``qa/params.json`` is missing, not JSON or malformed; the message names the file and key."""


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
    """Constants inside the ranking features (:mod:`qa.features`).

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
    """Linear ranking score ``bias + sum(weights[f] * feature f)`` (score units).

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
    """Passage confidence ``sigmoid(bias + sum(weights[f] * x_f))`` over :data:`CONFIDENCE_FEATURES`."""

    weights: Mapping[str, float]
    bias: float
    source: Provenance


@dataclass(frozen=True)
class DecisionParams:
    """When a passage or an FAQ entry answers (see :meth:`qa.service.Service._answer_query`).

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
    """Weights and penalties of the FAQ score (0..100 points, see :mod:`faq.matcher`).

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
    """FAQ decision lines (points 0..100) and the FAQ confidence curve.

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
    residents: ResidentsParams


_BLOCKS = {f.name: f.type for f in fields(Params)}
_CLASSES = {"features": FeatureParams, "ranking": RankingParams, "confidence": ConfidenceParams,
            "decision": DecisionParams, "faq_scoring": FaqScoringParams, "faq_decision": FaqDecisionParams,
            "residents": ResidentsParams}
_WEIGHT_NAMES = {"ranking": RANKING_FEATURES, "confidence": CONFIDENCE_FEATURES}


def _number(value: Any, where: str, *, integer: bool = False) -> float | int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ParamsError(f"{where}: expected a finite number, got {value!r}")
    if integer:
        if isinstance(value, float) and not value.is_integer():
            raise ParamsError(f"{where}: expected an integer, got {value!r}")
        return int(value)
    return float(value)


def _object(value: Any, where: str) -> dict:
    if not isinstance(value, dict):
        raise ParamsError(f"{where}: expected an object, got {type(value).__name__}")
    return value


def _provenance(value: Any, where: str) -> Provenance:
    raw = _object(value, where)
    expected = {"script", "method", "data", "seed"}
    if set(raw) != expected:
        wrong = sorted(set(raw) ^ expected)
        raise ParamsError(f"{where}: keys must be {sorted(expected)} (check {wrong})")
    for key in ("script", "method"):
        if not isinstance(raw[key], str) or not raw[key]:
            raise ParamsError(f"{where}.{key}: expected a non-empty string")
    data = _object(raw["data"], f"{where}.data")
    for path, digest in data.items():
        if not (isinstance(digest, str) and len(digest) == 64 and all(c in "0123456789abcdef" for c in digest)):
            raise ParamsError(f"{where}.data.{path}: expected a sha256 hex digest, got {digest!r}")
    seed = raw["seed"]
    if seed is not None:
        seed = _number(seed, f"{where}.seed", integer=True)
    return Provenance(raw["script"], raw["method"], MappingProxyType(dict(data)), seed)


def _block(name: str, value: Any) -> Any:
    where = f"blocks.{name}"
    raw = _object(value, where)
    cls = _CLASSES[name]
    expected = {f.name for f in fields(cls)}
    missing, extra = sorted(expected - set(raw)), sorted(set(raw) - expected)
    if missing:
        raise ParamsError(f"{where}.{missing[0]}: missing")
    if extra:
        raise ParamsError(f"{where}.{extra[0]}: unknown key")
    kwargs: dict[str, Any] = {}
    for f in fields(cls):
        key = f"{where}.{f.name}"
        if f.name == "source":
            kwargs[f.name] = _provenance(raw[f.name], key)
        elif f.name == "weights":
            weights = _object(raw[f.name], key)
            names = _WEIGHT_NAMES[name]
            for w in names:
                if w not in weights:
                    raise ParamsError(f"{key}.{w}: missing")
            for w in weights:
                if w not in names:
                    raise ParamsError(f"{key}.{w}: unknown feature")
            kwargs[f.name] = MappingProxyType({w: _number(weights[w], f"{key}.{w}") for w in names})
        else:
            kwargs[f.name] = _number(raw[f.name], key, integer=f.type in (int, "int"))
    return cls(**kwargs)


def _check_ranges(p: Params) -> None:
    def unit(block: str, key: str, value: float) -> None:
        if not 0.0 <= value <= 1.0:
            raise ParamsError(f"blocks.{block}.{key}: must be in 0..1, got {value}")

    for key in ("abstain_below", "answer_floor", "hedge_below", "faq_tie", "evidence_coverage"):
        unit("decision", key, getattr(p.decision, key))
    if p.decision.answer_floor > p.decision.abstain_below:
        raise ParamsError("blocks.decision.answer_floor: must not exceed abstain_below")
    for key in ("title_credit", "unknown_non_noun"):
        unit("features", key, getattr(p.features, key))
    unit("residents", "expansion_credit", p.residents.expansion_credit)
    if p.residents.max_citations < 1:
        raise ParamsError("blocks.residents.max_citations: must be >= 1")
    for block, key in (("features", "near_chars"), ("ranking", "margin_scale"), ("faq_decision", "conf_scale"),
                       ("faq_scoring", "candidates")):
        if getattr(getattr(p, block), key) <= 0:
            raise ParamsError(f"blocks.{block}.{key}: must be > 0")
    s = p.faq_scoring
    if abs(s.lexical_question + s.lexical_phrasing + s.lexical_entry - 1.0) > 1e-9:
        raise ParamsError("blocks.faq_scoring.lexical_entry: lexical shares must sum to 1")
    if s.short_chars >= s.long_chars:
        raise ParamsError("blocks.faq_scoring.long_chars: must exceed short_chars")


def parse_params(raw: Any, origin: str = "params") -> Params:
    """Validate a decoded params document and build :class:`Params`.

    Raises:
        ParamsError: naming ``origin`` and the first offending key.
    """
    try:
        doc = _object(raw, "top level")
        if doc.get("format") != FORMAT:
            raise ParamsError(f"format: expected {FORMAT}, got {doc.get('format')!r}")
        blocks = _object(doc.get("blocks"), "blocks")
        for name in _BLOCKS:
            if name not in blocks:
                raise ParamsError(f"blocks.{name}: missing")
        for name in blocks:
            if name not in _BLOCKS:
                raise ParamsError(f"blocks.{name}: unknown block")
        params = Params(**{name: _block(name, blocks[name]) for name in _BLOCKS})
        _check_ranges(params)
    except ParamsError as exc:
        raise ParamsError(f"{origin}: {exc}") from None
    return params


def load_params(path: Path | str | None = None) -> Params:
    """Read and validate a params file (default: the committed ``qa/params.json``).

    Raises:
        ParamsError: the file is missing, not UTF-8 JSON, or a key is missing, unknown, of the
            wrong type or out of range; the message names the file and the key.
    """
    path = Path(path) if path is not None else DEFAULT_PATH
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ParamsError(f"{path}: missing (regenerate it with python3 bench/calibrate.py --write)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ParamsError(f"{path}: cannot be read as JSON ({exc})") from None
    return parse_params(raw, str(path))


PARAMS = load_params()
