"""qa/params.json: the loader's validation, the recorded data hashes, and the reproducibility of
what bench/calibrate.py wrote (the FAQ and hedge sweeps are re-run; the ranking fit is shown to
be deterministic and independent of the committed weights)."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType

import pytest

from qa.params import DEFAULT_PATH, PARAMS, ParamsError, load_params, parse_params
from qa.params_schema import CONFIDENCE_FEATURES, RANKING_FEATURES

ROOT = Path(__file__).resolve().parent.parent
BLOCKS = ("features", "ranking", "confidence", "decision", "faq_scoring", "faq_decision")


def committed_doc() -> dict:
    return json.loads(DEFAULT_PATH.read_text(encoding="utf-8"))


def numbers(block: dict) -> dict:
    """The numeric leaves of a block (weights flattened), without its source."""
    out = {}
    for key, value in block.items():
        if key == "source":
            continue
        if isinstance(value, dict):
            out.update({f"{key}.{k}": v for k, v in value.items()})
        else:
            out[key] = value
    return out


# ------------------------------------------------------------------ loader
def test_committed_file_loads_and_every_block_names_its_script():
    params = load_params()
    assert params == PARAMS
    for name in BLOCKS:
        source = getattr(params, name).source
        assert source.script == "bench/calibrate.py"
        assert source.method
    assert tuple(params.ranking.weights) == RANKING_FEATURES
    assert tuple(params.confidence.weights) == CONFIDENCE_FEATURES
    assert isinstance(params.ranking.weights, MappingProxyType)


@pytest.mark.parametrize("edit, key", [
    (lambda d: d["blocks"]["decision"].pop("abstain_below"), "blocks.decision.abstain_below: missing"),
    (lambda d: d["blocks"]["ranking"]["weights"].pop("coverage"), "blocks.ranking.weights.coverage: missing"),
    (lambda d: d["blocks"]["ranking"]["weights"].update(bogus=1.0), "blocks.ranking.weights.bogus: unknown"),
    (lambda d: d["blocks"]["faq_decision"].update(margin="12"), "blocks.faq_decision.margin: expected a finite"),
    (lambda d: d["blocks"]["faq_scoring"].update(candidates=40.5), "blocks.faq_scoring.candidates: expected an int"),
    (lambda d: d["blocks"]["decision"].update(hedge_below=1.5), "blocks.decision.hedge_below: must be in 0..1"),
    (lambda d: d["blocks"]["confidence"]["weights"].update(margin=True), "blocks.confidence.weights.margin"),
    (lambda d: d["blocks"]["ranking"]["source"]["data"].update({"x.jsonl": "abc"}),
     "blocks.ranking.source.data.x.jsonl: expected a sha256"),
    (lambda d: d["blocks"].pop("faq_scoring"), "blocks.faq_scoring: missing"),
    (lambda d: d.update(format=2), "format: expected 1"),
])
def test_malformed_files_name_the_key(tmp_path, edit, key):
    doc = committed_doc()
    edit(doc)
    path = tmp_path / "params.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(ParamsError) as info:
        load_params(path)
    assert key in str(info.value)
    assert str(path) in str(info.value)


def test_missing_and_broken_files(tmp_path):
    with pytest.raises(ParamsError, match="missing.*calibrate.py --write"):
        load_params(tmp_path / "nope.json")
    (tmp_path / "bad.json").write_text("{", encoding="utf-8")
    with pytest.raises(ParamsError, match="cannot be read as JSON"):
        load_params(tmp_path / "bad.json")


# ------------------------------------------------------------ data hashes
def test_recorded_data_files_are_the_current_ones():
    """Every data file a block records must hash as recorded: edit an eval set, an article, a
    dictionary or the seed FAQ and this fails until `python3 bench/calibrate.py --write`."""
    from bench import calib_data

    expected = {"ranking": calib_data.rank_files(), "confidence": calib_data.rank_files(),
                "decision": calib_data.sweep_files(), "faq_decision": calib_data.sweep_files()}
    for name in BLOCKS:
        data = dict(getattr(PARAMS, name).source.data)
        if name in expected:
            assert sorted(data) == sorted(calib_data.rel(p) for p in expected[name]), name
        for rel, digest in data.items():
            path = ROOT / rel
            if not path.exists() and rel.startswith("../"):
                pytest.skip(f"external data {rel} is not beside this checkout")
            assert calib_data.sha256_file(path) == digest, f"{rel} changed since qa/params.json was written"


# -------------------------------------------------------- reproducibility
@pytest.fixture(scope="module")
def own_cases(tmp_path_factory):
    from bench.calibrate import own_cases as build

    return build(PARAMS, tmp_path_factory.mktemp("sweep"))


def test_faq_lines_tie_and_hedge_reproduce(tmp_path):
    """The fast path of the refit: the FAQ lines, faq_tie and hedge_below swept again from the
    committed ranking/confidence/passage thresholds equal the committed numbers."""
    from bench.calibrate import refit_faq_blocks

    doc = committed_doc()
    decision, faq = refit_faq_blocks(copy.deepcopy(doc), tmp_path)
    for got, want in ((decision, doc["blocks"]["decision"]), (faq, doc["blocks"]["faq_decision"])):
        assert got["source"] == want["source"]
        got_n, want_n = numbers(got), numbers(want)
        assert got_n.keys() == want_n.keys()
        for key in want_n:
            assert abs(got_n[key] - want_n[key]) <= 1e-9, key


def test_replayed_decisions_match_bot_eval(own_cases, runtime):
    """calib_sweep.route replays Service._answer_query: per set, the committed thresholds give
    exactly the figures `bot.py eval` computes."""
    from app.evaluate import evaluate
    from bench import calib_data, calib_sweep

    for name in calib_data.SWEEP_SETS:
        report = evaluate(runtime.service, calib_data.set_rows([name]), runtime.replies)
        t = calib_sweep.tally([c for c in own_cases if c.set == name], PARAMS.decision, PARAMS.faq_decision)
        assert (t.in_right, t.in_total, t.out_right, t.out_total) == \
            (report.in_right, report.in_total, report.out_right, report.out_total), name
        assert t.faq_false == report.faq_false_accepts, name


def test_ranking_fit_is_deterministic_and_ignores_the_committed_weights(runtime):
    """The features the fit sees do not depend on the weights the retriever ranks with, and the
    fit starts from a fixed point: perturbing the committed weights changes nothing, and two
    fits agree to 1e-9."""
    import numpy as np

    from bench import calib_data, calib_fit
    from qa.retrieve import PassageRetriever

    rows = calib_data.set_rows(calib_data.RANK_SETS)
    seg = runtime.segmenter
    flat = replace(PARAMS.ranking, weights=MappingProxyType({f: 1.0 for f in RANKING_FEATURES}))
    other = PassageRetriever(runtime.store.passages, persons=seg.persons, places=seg.places, is_word=seg.is_word,
                             params=replace(PARAMS, ranking=flat))
    groups = calib_data.collect(runtime, rows, runtime.service.retriever, calib_data.HOME_WEIGHT)
    groups2 = calib_data.collect(runtime, rows, other, calib_data.HOME_WEIGHT)
    for (x1, y1, s1, _), (x2, y2, s2, _) in zip(groups, groups2):
        assert s1 == s2 and np.array_equal(x1, x2) and np.array_equal(y1, y2)
    w1, b1 = calib_fit.fit_ranking(groups, 0.003)
    w2, b2 = calib_fit.fit_ranking(groups2, 0.003)
    assert np.max(np.abs(w1 - w2)) <= 1e-9 and b1 == b2
    for name, value in calib_fit.FIXED.items():
        assert w1[calib_fit.FEATURES.index(name)] == value
    cw1, cb1 = calib_fit.fit_confidence(calib_fit.top_features(groups, w1, b1), 0.003)
    cw2, cb2 = calib_fit.fit_confidence(calib_fit.top_features(groups2, w2, b2), 0.003)
    assert np.max(np.abs(cw1 - cw2)) <= 1e-9 and abs(cb1 - cb2) <= 1e-9


def test_features_are_the_ones_the_params_weigh(runtime):
    from qa.query import analyse
    from qa.text import normalize

    query = analyse(normalize("宛城区2020年脱贫多少人"), runtime.segmenter)
    result = runtime.service.retriever.retrieve(query)
    assert tuple(result.ranked[0].features) == RANKING_FEATURES
    assert set(CONFIDENCE_FEATURES) - {"margin"} <= set(RANKING_FEATURES)


def test_params_change_the_ranking(runtime):
    """The retriever really ranks with the params it is given."""
    from qa.query import analyse
    from qa.retrieve import PassageRetriever
    from qa.text import normalize

    seg = runtime.segmenter
    query = analyse(normalize("宛城区2020年脱贫多少人"), seg)
    base = runtime.service.retriever.retrieve(query)
    zero = replace(PARAMS, confidence=replace(PARAMS.confidence, bias=-50.0))
    low = PassageRetriever(runtime.store.passages, persons=seg.persons, places=seg.places, is_word=seg.is_word,
                           params=zero).retrieve(query)
    assert base.confidence > 0.5 and low.confidence < 1e-6


def test_parse_params_round_trips_the_committed_document():
    assert parse_params(committed_doc()) == PARAMS
