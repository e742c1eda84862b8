"""The parts of qa/params.json that bench/calibrate.py does not fit: values set by judgement
(with the reason), the starting points of the sweeps, and the provenance texts.

Changing a value here and running ``python3 bench/calibrate.py --write`` is the only way to
change it in the product.
"""

from __future__ import annotations

SCRIPT = "bench/calibrate.py"

RANK_METHOD = (
    "fitted: ranking = listwise (ListNet top-1) gradient descent, confidence = class-balanced logistic "
    "regression on the top candidate; both from a fixed start (zeros plus the judgement weights FIXED / "
    "CONF_FIXED of bench/calib_fit.py: year_absent, unknown_noun, place_conflict, and type_missing in the "
    "confidence model), L2 0.003, on data/eval/{dev,own}_questions.jsonl against the seed article (weight 4) "
    "plus CMRC 2018 / DRCD half-corpora (seeded samples); margin_scale set by judgement")
SWEEP_METHOD = (
    "swept (bench/calib_sweep.py): abstain_below and answer_floor jointly, then faq_tie, maximising "
    "sum(weight * (right - cost * wrong)) (cost 0.5 for a passage, 3 for an FAQ answer; weight 4 for "
    "data/eval/{dev_questions,own_questions,faq_paraphrases}.jsonl, 1 for the CMRC/DRCD half-corpus questions "
    "of the ranking fit) with the ranking and confidence blocks of this file, plateau centre on ties; "
    "hedge_below = lowest confidence from which passage answers on the dev and own sets are right >= 90 %; "
    "evidence_coverage set by judgement (0.4 of the question's weight); seed = hold-out split and fit sample")
FAQ_SWEEP_METHOD = (
    "swept (bench/calib_sweep.py): (answer_at, margin) jointly, then answer_clear (highest of its plateau), "
    "with the objective of the "
    "decision block over data/eval/{dev_questions,own_questions,faq_paraphrases}.jsonl; long_answer_at "
    "(PAWS-X hard negatives, bench/faq_bench.py), suggest_at, related_at and the confidence curve "
    "(conf_*: about 0.68 on the answer line) set by judgement; seed = hold-out split only")
JUDGEMENT_FEATURES = (
    "set by judgement: near_chars = one clause of the seed article (10-20 characters); title_credit 0.9 "
    "(a term only in the title almost counts); unknown_non_noun 0.3 (unknown verbs say less than unknown nouns)")
JUDGEMENT_FAQ = (
    "set by judgement on data/eval/faq_paraphrases.jsonl (bench/faq_debug.py) and checked on PAWS-X zh "
    "(bench/faq_bench.py); not fitted")

#: Feature constants (qa/features.py).
FEATURES = {"near_chars": 14, "title_credit": 0.9, "unknown_non_noun": 0.3}
#: FAQ scoring (faq/matcher.py).
FAQ_SCORING = {
    "pinyin_share": 0.4, "short_sequence_share": 0.35, "lexical_question": 0.5, "lexical_phrasing": 0.25,
    "lexical_entry": 0.25, "short_chars": 12, "long_chars": 40, "number_mismatch": 20.0, "year_mismatch": 45.0,
    "answer_type": 15.0, "unknown_noun": 6.0, "no_shared_noun": 20.0, "unknown_name": 25.0, "short_query_chars": 2,
    "correct_max_chars": 24, "candidates": 40,
}
#: Passage decision: swept keys hold their sweep START here (fixed, not the committed values).
DECISION_START = {"abstain_below": 0.45, "answer_floor": 0.10, "hedge_below": 0.60, "faq_tie": 0.05,
                  "evidence_coverage": 0.4}
#: FAQ lines: answer_at, margin and answer_clear are sweep starts; the rest is judgement.
FAQ_DECISION_START = {"answer_at": 42.0, "long_answer_at": 90.0, "margin": 12.0, "answer_clear": 85.0,
                      "suggest_at": 35.0, "related_at": 30.0, "conf_mid": 40.0, "conf_margin_mid": 8.0,
                      "conf_scale": 8.0}
DECISION_KEYS = tuple(DECISION_START)
FAQ_DECISION_KEYS = tuple(FAQ_DECISION_START)


def num(value) -> float:
    """A fitted number as written to the file: a float rounded to 6 decimals (-0.0 -> 0.0)."""
    return round(float(value), 6) + 0.0


def provenance(method: str, data: dict[str, str], seed: int | None) -> dict:
    """The ``source`` object of a block."""
    return {"script": SCRIPT, "method": method, "data": data, "seed": seed}


#: Blocks other scripts write into qa/params.json, carried over unchanged: ``faq_match``
#: (bench/faq_fit.py) and ``residents`` (bench/residents_params.py); run those with --write first.
CARRIED_BLOCKS = ("faq_match", "residents")


def carried_blocks() -> dict:
    """The :data:`CARRIED_BLOCKS` as their own scripts last wrote them into qa/params.json."""
    import json

    from qa.params import DEFAULT_PATH

    blocks = json.loads(DEFAULT_PATH.read_text(encoding="utf-8"))["blocks"]
    return {name: blocks[name] for name in CARRIED_BLOCKS}


def document(ranking: dict, confidence: dict) -> dict:
    """A params document with the fitted blocks, the judgement blocks and the
    :data:`CARRIED_BLOCKS`; the decision blocks hold their sweep starts (bench/calibrate.py
    replaces them with the swept values)."""
    judgement = provenance(JUDGEMENT_FEATURES, {}, None)
    return {"format": 1, "blocks": {
        "features": dict(FEATURES, source=judgement),
        "ranking": ranking,
        "confidence": confidence,
        "decision": dict(DECISION_START, source=provenance("sweep start", {}, None)),
        "faq_scoring": dict(FAQ_SCORING, source=provenance(JUDGEMENT_FAQ, {}, None)),
        "faq_decision": dict(FAQ_DECISION_START, source=provenance("sweep start", {}, None)),
        **carried_blocks(),
    }}
