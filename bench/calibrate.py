"""Fit the ranking weights and the confidence curve of qa/rank.py by logistic regression.

Data: every candidate sentence the retriever produces for the project's own question sets
(data/eval/*.jsonl) on the seed article, plus two more corpora built from the even-numbered
passages of CMRC 2018 dev and DRCD dev: their questions are in scope, the questions on the
odd-numbered passages are realistic "not in the corpus" negatives. A candidate is positive
when it contains an expected answer string of an in-scope question. CMRC questions asked
against the seed article add more negatives. Only general features are fitted; nothing
about a dataset's answers enters the product.

The fitted linear score doubles as the ranking score and, through the sigmoid, as the
confidence. The script prints the WEIGHTS/BIAS block to paste into qa/rank.py and reports
5-fold cross-validated accuracy so the numbers are not only in-sample.

Usage: python bench/calibrate.py [--extra-negatives 300] [--l2 0.01]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.evaluate import load_questions  # noqa: E402
from app.runtime import open_runtime  # noqa: E402
from app.settings import Settings  # noqa: E402
from qa import rank  # noqa: E402
from qa.query import analyse  # noqa: E402
from qa.smalltalk import strip_greeting  # noqa: E402
from qa.text import normalize  # noqa: E402

FEATURES = list(rank.WEIGHTS)
#: Weights fixed by judgement rather than fitted: these signals occur in too few of our
#: questions for the regression to weigh them, but each one alone means "not in the corpus".
FIXED = {"year_absent": -3.0, "unknown_noun": -1.5, "place_conflict": -2.0}
CONF_FEATURES = list(rank.CONFIDENCE_WEIGHTS)
CONF_FIXED = {"year_absent": -5.0, "unknown_noun": -1.5, "place_conflict": -2.0, "type_missing": -1.0}
SETS = [ROOT / "data/eval/dev_questions.jsonl", ROOT / "data/eval/own_questions.jsonl"]


def half_corpus(runtime, name: str, limit_in: int, limit_out: int, rebuild: bool):
    """(retriever over the even-numbered passages of dataset ``name``, rows): in-scope rows are
    questions on those passages; out-of-scope rows are questions on the odd-numbered passages
    (in-domain questions the corpus cannot answer)."""
    from bench import datasets
    from qa.indexer import reindex
    from qa.retrieve import PassageRetriever
    from qa.store import Store

    data = datasets.load(name)
    even = {p["pid"] for i, p in enumerate(data.passages) if i % 2 == 0}
    work = ROOT / "bench/out/calib" / name
    db = work.with_suffix(".db")
    if rebuild or not db.exists():
        if work.exists():
            shutil.rmtree(work)
        for path in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
            path.unlink(missing_ok=True)
        datasets.write_articles(work, [p for p in data.passages if p["pid"] in even])
        reindex(Store(db), work, runtime.segmenter)
    store = Store(db)
    retriever = PassageRetriever(store.passages, persons=runtime.segmenter.persons, places=runtime.segmenter.places,
                                 is_word=runtime.segmenter.is_word)
    rng = random.Random(5)
    inside = [q for q in data.questions if q["pid"] in even]
    outside = [q for q in data.questions if q["pid"] not in even]
    rng.shuffle(inside)
    rng.shuffle(outside)
    rows = [{"question": q["question"], "scope": "in", "expect_any": q["answers"], "set": f"{name}-in"}
            for q in inside[:limit_in]]
    rows += [{"question": q["question"], "scope": "out", "set": f"{name}-out"} for q in outside[:limit_out]]
    return retriever, rows


#: The product's own domain counts this many times a Wikipedia question when fitting.
HOME_WEIGHT = 4.0


def collect(runtime, rows, retriever=None, weight: float = HOME_WEIGHT):
    """[(question index, feature matrix, labels, in_scope, weight)] per question."""
    retriever = retriever or runtime.service.retriever
    out = []
    for i, row in enumerate(rows):
        query = analyse(strip_greeting(normalize(row["question"])), runtime.segmenter)
        result = retriever.retrieve(query)
        if result is None:
            out.append((i, np.zeros((0, len(FEATURES))), np.zeros(0), row["scope"] == "in", weight))
            continue
        expected = (row.get("expect_any") or []) + (row.get("expect_all") or [])
        feats, labels = [], []
        for cand in result.ranked:
            text = result.rows[cand.key].text
            feats.append([cand.features[f] for f in FEATURES])
            labels.append(1.0 if row["scope"] == "in" and any(e in text for e in expected) else 0.0)
        out.append((i, np.array(feats), np.array(labels), row["scope"] == "in", weight))
    return out


def fit(groups, l2: float, epochs: int = 1500, lr: float = 0.5):
    """Listwise ranking weights: maximise, per in-scope question, the softmax probability of
    its right candidates among all its candidates (ListNet top-1 cross-entropy, uniform over
    the right ones). Question-level features (equal for every candidate) cancel out and stay
    at FIXED / their current value."""
    lists = [(x, y, wt) for _, x, y, in_scope, wt in groups if in_scope and len(x) and y.any() and not y.all()]
    x = np.vstack([l[0] for l in lists])
    y = np.concatenate([l[1] for l in lists])
    sizes = np.array([len(l[1]) for l in lists])
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    group = np.repeat(np.arange(len(lists)), sizes)
    target = y / np.add.reduceat(y, starts)[group]
    list_weight = np.array([l[2] for l in lists])
    list_weight = list_weight / list_weight.mean()
    row_weight = list_weight[group]
    w = np.array([rank.WEIGHTS[f] for f in FEATURES], dtype=float)
    fixed_mask = np.array([f in FIXED for f in FEATURES])
    for f, v in FIXED.items():
        w[FEATURES.index(f)] = v
    for _ in range(epochs):
        s = x @ w
        s -= np.maximum.reduceat(s, starts)[group]
        e = np.exp(s)
        p = e / np.add.reduceat(e, starts)[group]
        grad = x.T @ ((p - target) * row_weight) / len(lists) + l2 * w
        grad[fixed_mask] = 0.0
        w -= lr * grad
    return w, 0.0


def _logistic(x, y, w_sample, names, fixed, l2, epochs, lr):
    fixed_mask = np.array([f in fixed for f in names])
    w = np.array([fixed.get(f, 0.0) for f in names])
    b = 0.0
    for _ in range(epochs):
        z = x @ w + b
        p = 1 / (1 + np.exp(-z))
        g = (p - y) * w_sample
        step = lr * (x.T @ g / len(y) + l2 * w)
        step[fixed_mask] = 0.0
        w -= step
        b -= lr * g.mean()
    return w, b


def top_features(groups, w, b):
    """Per question: (confidence feature vector of the top candidate, top is right, in scope)."""
    out = []
    for _, x, y, in_scope, weight in groups:
        if len(x) == 0:
            out.append((np.zeros(len(CONF_FEATURES)), 0.0, in_scope))
            continue
        scores = x @ w + b
        order = np.argsort(-scores)
        top = order[0]
        gap = scores[top] - scores[order[1]] if len(order) > 1 else rank.MARGIN_SCALE
        feats = dict(zip(FEATURES, x[top]))
        feats["margin"] = min(max(gap, 0.0), rank.MARGIN_SCALE) / rank.MARGIN_SCALE
        out.append((np.array([feats[f] for f in CONF_FEATURES]), float(y[top]), in_scope))
    return out


def fit_confidence(tops, l2: float):
    x = np.vstack([t[0] for t in tops])
    y = np.array([t[1] for t in tops])
    w_sample = np.where(y == 1, (y == 0).sum() / max((y == 1).sum(), 1), 1.0)  # balance classes
    w_sample = w_sample / w_sample.mean()
    return _logistic(x, y, w_sample, CONF_FEATURES, CONF_FIXED, l2, 6000, 0.5)


def evaluate(groups, w, b, threshold: float, cw=None, cb=None):
    in_right = in_total = out_right = out_total = 0
    for _, x, y, in_scope, _weight in groups:
        if len(x) == 0:
            conf, right = 0.0, False
        else:
            scores = x @ w + b
            top = int(np.argmax(scores))
            right = bool(y[top])
            if cw is None:
                conf = 1 / (1 + np.exp(-scores[top]))
            else:
                feats = top_features([(0, x, y, in_scope, 1.0)], w, b)[0][0]
                conf = 1 / (1 + np.exp(-(feats @ cw + cb)))
        answered = conf >= threshold
        if in_scope:
            in_total += 1
            in_right += answered and right
        else:
            out_total += 1
            out_right += not answered
    return in_right / max(in_total, 1), out_right / max(out_total, 1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--extra-negatives", type=int, default=60, help="CMRC questions used as out-of-scope")
    parser.add_argument("--l2", type=float, default=0.003)
    parser.add_argument("--show", action="store_true", help="list the questions the fitted model gets wrong")
    parser.add_argument("--corpora", default="cmrc,drcd", help="datasets whose even half becomes a calibration corpus")
    parser.add_argument("--per-corpus", type=int, default=800, help="in-scope questions per corpus (half as many out)")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the calibration indexes")
    args = parser.parse_args()
    runtime = open_runtime(Settings.from_env())
    rows = [dict(r, set=path.stem) for path in SETS for r in load_questions(path)]
    cmrc = ROOT.parent / "shared/eval-data/cmrc2018_dev/questions.jsonl"
    if args.extra_negatives and cmrc.exists():
        extra = [json.loads(line) for line in cmrc.read_text(encoding="utf-8").splitlines()]
        random.Random(7).shuffle(extra)
        rows += [{"question": r["question"], "scope": "out", "set": "cmrc"} for r in extra[: args.extra_negatives]]
    groups = collect(runtime, rows)
    for name in [c for c in args.corpora.split(",") if c]:
        retriever, extra_rows = half_corpus(runtime, name, args.per_corpus, args.per_corpus // 2, args.rebuild)
        groups += collect(runtime, extra_rows, retriever, weight=1.0)
        rows += extra_rows
    w, b = fit(groups, args.l2)
    print("WEIGHTS = {")
    for name, value in zip(FEATURES, w):
        print(f'    "{name}": {value:.2f},')
    print("}")
    print(f"BIAS = {b:.2f}")
    cw, cb = fit_confidence(top_features(groups, w, b), args.l2)
    print("CONFIDENCE_WEIGHTS = {")
    for name, value in zip(CONF_FEATURES, cw):
        print(f'    "{name}": {value:.2f},')
    print("}")
    print(f"CONFIDENCE_BIAS = {cb:.2f}")
    for threshold in (0.0, 0.2, 0.3, 0.4, 0.5, 0.6):
        acc, abst = evaluate(groups, w, b, threshold, cw, cb)
        print(f"in-sample  threshold {threshold}: in-scope accuracy {acc:.3f}, out-of-scope abstention {abst:.3f}")
    if args.show:
        for (i, x, y, in_scope, _weight), row in zip(groups, rows):
            if not len(x):
                continue
            scores = x @ w + b
            top = int(np.argmax(scores))
            feats = top_features([(0, x, y, in_scope, 1.0)], w, b)[0][0]
            conf = 1 / (1 + np.exp(-(feats @ cw + cb)))
            wrong = (in_scope and (not y[top] or conf < 0.5)) or (not in_scope and conf >= 0.5)
            if wrong and row["set"] in ("dev_questions", "own_questions"):
                print(f"  {row.get('id')}: {row['question']} conf={conf:.2f} right={bool(y[top])}")
    for name in sorted({r["set"] for r in rows}):
        subset = [g for g, r in zip(groups, rows) if r["set"] == name]
        cells = []
        for threshold in (0.0, 0.3, 0.4, 0.5):
            acc, abst = evaluate(subset, w, b, threshold, cw, cb)
            cells.append(f"t={threshold}: {acc if 'out' not in name and name != 'cmrc' else abst:.3f}")
        print(f"  {name:16s} " + "  ".join(cells) + ("  (abstention)" if "out" in name or name == "cmrc" else ""))
    # 5-fold cross-validation by question.
    order = list(range(len(groups)))
    random.Random(11).shuffle(order)
    for threshold in (0.4, 0.5):
        accs, absts = [], []
        for k in range(5):
            test = [groups[i] for i in order[k::5]]
            train = [groups[i] for j, i in enumerate(order) if j % 5 != k]
            wk, bk = fit(train, args.l2)
            cwk, cbk = fit_confidence(top_features(train, wk, bk), args.l2)
            acc, abst = evaluate(test, wk, bk, threshold, cwk, cbk)
            accs.append(acc)
            absts.append(abst)
        print(f"5-fold CV  threshold {threshold}: in-scope accuracy {np.mean(accs):.3f}, "
              f"out-of-scope abstention {np.mean(absts):.3f}")
    runtime.close()


if __name__ == "__main__":
    main()
