"""Deterministic fits for bench/calibrate.py: listwise ranking weights and the confidence model.

Both fits are full-batch gradient descent from a FIXED start (zeros, plus the weights fixed by
judgement), for a fixed number of epochs, so the result depends only on the feature matrices:
never on the committed qa/params.json. Inputs are "groups", one per question:
``(feature matrix [candidates x len(RANKING_FEATURES)], labels [candidates] 0/1, in_scope, weight)``.
"""

from __future__ import annotations

import numpy as np

from qa.params_schema import CONFIDENCE_FEATURES, RANKING_FEATURES

FEATURES = list(RANKING_FEATURES)
CONF_FEATURES = list(CONFIDENCE_FEATURES)
#: Ranking weights fixed by judgement rather than fitted: these signals occur in too few of our
#: questions for the regression to weigh them, but each one alone means "not in the corpus".
FIXED = {"year_absent": -3.0, "unknown_noun": -1.5, "place_conflict": -2.0}
#: The same for the confidence model (a lacking answer type costs confidence by judgement too).
CONF_FIXED = {"year_absent": -5.0, "unknown_noun": -1.5, "place_conflict": -2.0, "type_missing": -1.0}
#: Score gap at which the confidence model's margin input saturates (score units; judgement).
MARGIN_SCALE = 2.0
#: Optimiser settings (part of the method: changing them changes the numbers).
RANK_EPOCHS, RANK_LR = 1500, 0.5
CONF_EPOCHS, CONF_LR = 6000, 0.5


def start_weights(names: list[str], fixed: dict[str, float]) -> np.ndarray:
    """The fixed start: 0.0 for every fitted weight, the judgement value for fixed ones."""
    return np.array([fixed.get(f, 0.0) for f in names], dtype=float)


def fit_ranking(groups, l2: float) -> tuple[np.ndarray, float]:
    """Listwise ranking weights (ListNet top-1 cross-entropy): maximise, per in-scope question
    with both right and wrong candidates, the softmax probability of its right candidates
    (uniform over them), weighted by the group weight, plus ``l2`` x |w|^2 / 2. Features equal
    for every candidate of a question cancel out; FIXED weights stay fixed. Returns (weights in
    FEATURES order, bias 0.0: a constant shift does not change a ranking).

    Raises:
        ValueError: no usable question.
    """
    lists = [(x, y, wt) for x, y, in_scope, wt in groups if in_scope and len(x) and y.any() and not y.all()]
    if not lists:
        raise ValueError("no in-scope question with both right and wrong candidates")
    x = np.vstack([l[0] for l in lists])
    y = np.concatenate([l[1] for l in lists])
    sizes = np.array([len(l[1]) for l in lists])
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    group = np.repeat(np.arange(len(lists)), sizes)
    target = y / np.add.reduceat(y, starts)[group]
    list_weight = np.array([l[2] for l in lists], dtype=float)
    row_weight = (list_weight / list_weight.mean())[group]
    w = start_weights(FEATURES, FIXED)
    fixed_mask = np.array([f in FIXED for f in FEATURES])
    for _ in range(RANK_EPOCHS):
        s = x @ w
        s -= np.maximum.reduceat(s, starts)[group]
        e = np.exp(s)
        p = e / np.add.reduceat(e, starts)[group]
        grad = x.T @ ((p - target) * row_weight) / len(lists) + l2 * w
        grad[fixed_mask] = 0.0
        w -= RANK_LR * grad
    return w, 0.0


def top_features(groups, w: np.ndarray, b: float) -> list[tuple[np.ndarray, float, bool]]:
    """Per question: (confidence inputs of the top candidate, 1.0 if it is right, in scope);
    the same inputs as :func:`qa.rank.confidence_features`."""
    out = []
    for x, y, in_scope, _weight in groups:
        if len(x) == 0:
            out.append((np.zeros(len(CONF_FEATURES)), 0.0, in_scope))
            continue
        scores = x @ w + b
        order = np.argsort(-scores, kind="stable")
        top = order[0]
        gap = scores[top] - scores[order[1]] if len(order) > 1 else MARGIN_SCALE
        feats = dict(zip(FEATURES, x[top]))
        feats["margin"] = min(max(gap, 0.0), MARGIN_SCALE) / MARGIN_SCALE
        out.append((np.array([feats[f] for f in CONF_FEATURES]), float(y[top]), in_scope))
    return out


def fit_confidence(tops, l2: float) -> tuple[np.ndarray, float]:
    """Logistic regression of "the top candidate is right" on its confidence inputs, classes
    balanced, from the fixed start; CONF_FIXED weights stay fixed. Returns (weights in
    CONF_FEATURES order, bias)."""
    x = np.vstack([t[0] for t in tops])
    y = np.array([t[1] for t in tops])
    w_sample = np.where(y == 1, (y == 0).sum() / max((y == 1).sum(), 1), 1.0)
    w_sample = w_sample / w_sample.mean()
    fixed_mask = np.array([f in CONF_FIXED for f in CONF_FEATURES])
    w = start_weights(CONF_FEATURES, CONF_FIXED)
    b = 0.0
    for _ in range(CONF_EPOCHS):
        p = 1 / (1 + np.exp(-(x @ w + b)))
        g = (p - y) * w_sample
        step = CONF_LR * (x.T @ g / len(y) + l2 * w)
        step[fixed_mask] = 0.0
        w -= step
        b -= CONF_LR * g.mean()
    return w, float(b)


def top1_confidence(groups, w, b, cw, cb) -> list[tuple[float, bool, bool]]:
    """Per question: (confidence of the top candidate, top is right, in scope)."""
    out = []
    for (feats, right, in_scope), (x, _y, _s, _wt) in zip(top_features(groups, w, b), groups):
        conf = 0.0 if len(x) == 0 else float(1 / (1 + np.exp(-(feats @ cw + cb))))
        out.append((conf, bool(right), in_scope))
    return out


def accuracy_at(points, threshold: float) -> tuple[float, float]:
    """(in-scope accuracy, out-of-scope abstention) when answering at confidence >= threshold."""
    ins = [(c, r) for c, r, s in points if s]
    outs = [c for c, _r, s in points if not s]
    acc = sum(1 for c, r in ins if c >= threshold and r) / max(len(ins), 1)
    abst = sum(1 for c in outs if c < threshold) / max(len(outs), 1)
    return acc, abst


def cross_validate(groups, l2: float, seed_rng, folds: int = 5, thresholds=(0.4, 0.5)) -> dict[float, tuple]:
    """Held-out figures: ``folds``-fold CV by question (order from ``seed_rng``, a
    random.Random). Returns {threshold: (mean in-scope accuracy, mean abstention)}."""
    order = list(range(len(groups)))
    seed_rng.shuffle(order)
    results: dict[float, list] = {t: [] for t in thresholds}
    for k in range(folds):
        test = [groups[i] for i in order[k::folds]]
        train = [groups[i] for j, i in enumerate(order) if j % folds != k]
        wk, bk = fit_ranking(train, l2)
        cwk, cbk = fit_confidence(top_features(train, wk, bk), l2)
        points = top1_confidence(test, wk, bk, cwk, cbk)
        for t in thresholds:
            results[t].append(accuracy_at(points, t))
    return {t: (float(np.mean([a for a, _ in r])), float(np.mean([b for _, b in r]))) for t, r in results.items()}
