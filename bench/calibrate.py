"""Fit the ranking weights and the confidence curve of qa/rank.py by logistic regression.

Data: every candidate sentence the retriever produces for the project's own question sets
(data/eval/*.jsonl). A candidate is positive when it contains an expected answer string of
an in-scope question; every candidate of an out-of-scope question is negative. Optionally
CMRC 2018 questions asked against the seed article add more "not in the corpus" negatives.

The fitted linear score doubles as the ranking score and, through the sigmoid, as the
confidence. The script prints the WEIGHTS/BIAS block to paste into qa/rank.py and reports
5-fold cross-validated accuracy so the numbers are not only in-sample.

Usage: python bench/calibrate.py [--extra-negatives 300] [--l2 0.01]
"""

from __future__ import annotations

import argparse
import json
import random
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
FIXED = {"year_absent": -3.0, "unknown_noun": -1.5}
CONF_FEATURES = list(rank.CONFIDENCE_WEIGHTS)
CONF_FIXED = {"year_absent": -5.0}
SETS = [ROOT / "data/eval/dev_questions.jsonl", ROOT / "data/eval/own_questions.jsonl"]


def collect(runtime, rows):
    """[(question index, feature matrix, labels, in_scope)] per question."""
    out = []
    for i, row in enumerate(rows):
        query = analyse(strip_greeting(normalize(row["question"])), runtime.segmenter)
        result = runtime.service.retriever.retrieve(query)
        if result is None:
            out.append((i, np.zeros((0, len(FEATURES))), np.zeros(0), row["scope"] == "in"))
            continue
        expected = (row.get("expect_any") or []) + (row.get("expect_all") or [])
        feats, labels = [], []
        for cand in result.ranked:
            text = result.rows[cand.key].text
            feats.append([cand.features[f] for f in FEATURES])
            labels.append(1.0 if row["scope"] == "in" and any(e in text for e in expected) else 0.0)
        out.append((i, np.array(feats), np.array(labels), row["scope"] == "in"))
    return out


def fit(groups, l2: float, epochs: int = 3000, lr: float = 0.3):
    """Listwise ranking weights: maximise, per in-scope question, the softmax probability of
    its right candidates among all its candidates (ListNet-style top-1 cross-entropy).
    Question-level features (the same for every candidate) cancel out and stay at FIXED/0."""
    lists = [(x, y) for _, x, y, in_scope in groups if in_scope and len(x) and y.any() and not y.all()]
    w = np.array([rank.WEIGHTS[f] for f in FEATURES], dtype=float)
    fixed_mask = np.array([f in FIXED for f in FEATURES])
    for f, v in FIXED.items():
        w[FEATURES.index(f)] = v
    for _ in range(epochs):
        grad = np.zeros_like(w)
        for x, y in lists:
            s = x @ w
            s -= s.max()
            p = np.exp(s)
            p /= p.sum()
            q = p * y
            q /= q.sum()
            grad += x.T @ (p - q)
        grad = grad / len(lists) + l2 * w
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
    for _, x, y, in_scope in groups:
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
    for _, x, y, in_scope in groups:
        if len(x) == 0:
            conf, right = 0.0, False
        else:
            scores = x @ w + b
            top = int(np.argmax(scores))
            right = bool(y[top])
            if cw is None:
                conf = 1 / (1 + np.exp(-scores[top]))
            else:
                feats = top_features([(0, x, y, in_scope)], w, b)[0][0]
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
    args = parser.parse_args()
    runtime = open_runtime(Settings.from_env())
    rows = [dict(r, set=path.stem) for path in SETS for r in load_questions(path)]
    cmrc = ROOT.parent / "shared/eval-data/cmrc2018_dev/questions.jsonl"
    if args.extra_negatives and cmrc.exists():
        extra = [json.loads(line) for line in cmrc.read_text(encoding="utf-8").splitlines()]
        random.Random(7).shuffle(extra)
        rows += [{"question": r["question"], "scope": "out", "set": "cmrc"} for r in extra[: args.extra_negatives]]
    groups = collect(runtime, rows)
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
        for (i, x, y, in_scope), row in zip(groups, rows):
            if not len(x):
                continue
            scores = x @ w + b
            top = int(np.argmax(scores))
            feats = top_features([(0, x, y, in_scope)], w, b)[0][0]
            conf = 1 / (1 + np.exp(-(feats @ cw + cb)))
            wrong = (in_scope and (not y[top] or conf < 0.5)) or (not in_scope and conf >= 0.5)
            if wrong and row["set"] != "cmrc":
                print(f"  {row.get('id')}: {row['question']} conf={conf:.2f} right={bool(y[top])}")
    for name in sorted({r["set"] for r in rows}):
        subset = [g for g, r in zip(groups, rows) if r["set"] == name]
        acc, abst = evaluate(subset, w, b, 0.5, cw, cb)
        print(f"  {name:18s} in-scope accuracy {acc:.3f}, out-of-scope abstention {abst:.3f}")
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
