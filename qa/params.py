"""The one reader of ``qa/params.json``: every number that decides an answer.

``qa/params.json`` holds the ranking feature weights, the confidence curve, the passage
abstain / hedge / floor thresholds, FAQ_TIE, and the FAQ matcher's weights and decision
lines. It is written by ``python3 bench/calibrate.py --write`` (never by hand); each block
records the script, the method, the data files with their sha256 and the seed that produced
it (see :class:`qa.params_schema.Provenance`). ``tests/test_params.py`` checks that the recorded hashes match
the data files and that the threshold sweeps reproduce the committed numbers.

:func:`load_params` validates the file and returns frozen dataclasses; a malformed file
raises :class:`ParamsError` naming the offending key (``blocks.ranking.weights.coverage``).
:data:`PARAMS` is the committed file, loaded once at import.
"""

from __future__ import annotations

import json
import math
from dataclasses import fields
from pathlib import Path
from types import MappingProxyType
from typing import Any

from qa.params_schema import (
    CONFIDENCE_FEATURES,
    RANKING_FEATURES,
    ConfidenceParams,
    DecisionParams,
    FaqDecisionParams,
    FaqMatchParams,
    ResidentsParams,
    FaqScoringParams,
    FeatureParams,
    Params,
    Provenance,
    RankingParams,
)

#: The committed parameter file.
DEFAULT_PATH = Path(__file__).with_name("params.json")
#: Version of the file layout this loader understands.
FORMAT = 1


class ParamsError(ValueError):
    """``qa/params.json`` is missing, not JSON or malformed; the message names the file and key."""


_BLOCKS = {f.name: f.type for f in fields(Params)}
_CLASSES = {"features": FeatureParams, "ranking": RankingParams, "confidence": ConfidenceParams,
            "decision": DecisionParams, "faq_scoring": FaqScoringParams, "faq_decision": FaqDecisionParams,
            "faq_match": FaqMatchParams, "residents": ResidentsParams}
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


def _exact_keys(found, expected, where: str, unknown: str = "unknown key") -> None:
    """Raise ParamsError naming the first key of ``expected`` missing from ``found`` (sorted),
    else the first key of ``found`` not in ``expected``."""
    missing, extra = sorted(set(expected) - set(found)), sorted(set(found) - set(expected))
    if missing:
        raise ParamsError(f"{where}.{missing[0]}: missing")
    if extra:
        raise ParamsError(f"{where}.{extra[0]}: {unknown}")


def _block(name: str, value: Any) -> Any:
    where = f"blocks.{name}"
    raw = _object(value, where)
    cls = _CLASSES[name]
    _exact_keys(raw, {f.name for f in fields(cls)}, where)
    kwargs: dict[str, Any] = {}
    for f in fields(cls):
        key = f"{where}.{f.name}"
        if f.name == "source":
            kwargs[f.name] = _provenance(raw[f.name], key)
        elif f.name == "weights":
            weights = _object(raw[f.name], key)
            names = _WEIGHT_NAMES[name]
            _exact_keys(weights, names, key, "unknown feature")
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
    if p.faq_match.rare_idf <= p.faq_match.common_idf:
        raise ParamsError("blocks.faq_match.rare_idf: must exceed common_idf")
    for key in ("synonym_weight", "pinyin_weight", "bigram_weight", "compatible_at", "common_floor",
                "best_cover_at"):
        unit("faq_match", key, getattr(p.faq_match, key))
    unit("residents", "expansion_credit", p.residents.expansion_credit)
    if p.residents.max_citations < 1:
        raise ParamsError("blocks.residents.max_citations: must be >= 1")
    for block, key in (("features", "near_chars"), ("ranking", "margin_scale"), ("faq_decision", "conf_scale"),
                       ("faq_scoring", "candidates"), ("faq_match", "retrieve")):
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
        _exact_keys(blocks, _BLOCKS, "blocks", "unknown block")
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
