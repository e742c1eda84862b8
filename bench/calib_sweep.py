"""Threshold sweeps for bench/calibrate.py: the passage abstain/floor/hedge thresholds, FAQ_TIE
and the FAQ decision lines, chosen over the project's question sets (data/eval/*.jsonl).

Every question is analysed once with the real retriever (candidate ranking and confidence
params) and FAQ matcher; :func:`route` then replays :meth:`qa.service.Service._answer_query`
for any thresholds, so a sweep costs microseconds per setting. Rightness follows
``bot.py eval`` (app/evaluate.py): an in-scope row is right when the answer holds the expected
strings (and, with ``expect_faq``, comes from that FAQ entry); an out-of-scope row is right
when nothing answers.

The passage thresholds are also swept over the CMRC 2018 / DRCD half-corpus questions of the
ranking fit (:func:`cases_from_groups`: the same confidence and evidence, computed from their
feature matrices), so that a threshold good for the seed article is not bad for other articles.

Selection rule (deterministic; answer_clear takes the highest value of its plateau): maximise ``sum(weight * (right - cost * wrong))`` over the
questions (wrong: answered but not right, an answered out-of-scope question included; cost:
WRONG_COST for a passage, WRONG_FAQ_COST for an FAQ answer; weight:
HOME_WEIGHT for the project's own sets, 1 for CMRC/DRCD questions); among the settings within
1e-9 of the best, take the middle one in grid order (the centre of the plateau).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from app.evaluate import expected_in
from faq.result import final_decision
from qa import colloquial, rank, smalltalk
from qa.params_schema import DecisionParams, FaqDecisionParams
from qa.query import analyse
from qa.text import normalize

#: A wrong answer (a quote or FAQ entry that does not answer, or any answer to an out-of-scope
#: question) costs this much more than a refusal, in right answers: residents trust a cited
#: quote, but a refusal is a miss too (1.0 here refuses about 5 % more CMRC/DRCD questions).
WRONG_COST = 0.5
#: A wrong FAQ answer costs more: it is a staff answer shown as authoritative, without the hedge
#: line (below 3.0 the FAQ lines loosen and FAQ false accepts on faq_paraphrases rise).
WRONG_FAQ_COST = 3.0
#: Grids (fixed; the start of every sweep is the first value of each grid).
ABSTAIN_GRID = [round(0.20 + 0.05 * i, 2) for i in range(11)]        # 0.20 .. 0.70
FLOOR_GRID = [round(0.05 * i, 2) for i in range(15)]                 # 0.00 .. 0.70 (<= abstain_below)
TIE_GRID = [round(0.025 * i, 3) for i in range(9)]                   # 0.000 .. 0.200
ANSWER_AT_GRID = [float(v) for v in range(30, 62, 2)]                # 30 .. 60 points
MARGIN_GRID = [float(v) for v in range(0, 26, 2)]                    # 0 .. 24 points
CLEAR_GRID = [float(v) for v in range(60, 100, 5)]                   # 60 .. 95 points
HEDGE_GRID = [round(0.40 + 0.05 * i, 2) for i in range(11)]          # 0.40 .. 0.90
#: The hedge line goes on answers below the lowest confidence from which passage answers on
#: the sweep sets are right at least this often.
HEDGE_PRECISION = 0.9
#: The project's own question sets (data/eval); other cases come from CMRC/DRCD.
OWN_SETS = ("dev_questions", "own_questions", "faq_paraphrases", "policy_questions")
#: Sets whose passage answers decide the hedge line (faq_paraphrases expects FAQ answers, so a
#: right passage there still counts as a miss).
HEDGE_SETS = ("dev_questions", "own_questions", "policy_questions")


@dataclass(frozen=True)
class Case:
    """One question, analysed once. ``fixed`` is the outcome when the question never reaches
    the FAQ/passage decision (small talk, a task request, a bare number), else None."""

    set: str
    weight: float
    in_scope: bool
    fixed: str | None
    faq_score: float
    faq_margin: float
    faq_blend: float
    faq_right: bool
    faq_rival: float
    faq_gated: bool
    faq_detail: bool
    passage_conf: float | None
    passage_evidence_features: dict
    passage_right: bool


def analyse_rows(store, segmenter, retriever, matcher, rows: list[dict], weight: float) -> list[Case]:
    """Run the FAQ ``matcher`` and the ``retriever`` (built with candidate params) over ``store``
    once per row, the way Service._answer_query does (question clauses, detail gates), and keep
    what the decision needs."""
    from qa.service import Service

    service = Service(store, segmenter)
    service.retriever, service._faq_matcher = retriever, matcher
    cases = []
    for row in rows:
        norm = normalize(row["question"])
        in_scope = row["scope"] == "in"
        base = dict(set=row["set"], weight=weight, in_scope=in_scope, faq_score=0.0, faq_margin=0.0, faq_blend=0.0,
                    faq_right=False, faq_rival=0.0, faq_gated=False, faq_detail=False, passage_conf=None, passage_evidence_features={}, passage_right=False)
        kind = smalltalk.classify(norm)
        stripped = smalltalk.strip_greeting(norm)
        if kind or smalltalk.is_task_request(stripped):
            cases.append(Case(fixed="smalltalk" if kind else "none", **base))
            continue
        query = analyse(colloquial.default().apply(stripped) or norm, segmenter)  # as Service._answer
        if query.terms and all(t.numeric for t in query.terms) and len(query.terms) <= 2:
            cases.append(Case(fixed="none", **base))
            continue
        match = matcher.match(query) if matcher is not None else None
        if match is not None and match.decision != "answer":
            match = service._faq_on_question_clauses(query, match)
        if match is not None and match.entry is not None:
            entry = match.entry
            right = entry.id == row["expect_faq"] if row.get("expect_faq") else expected_in(row, entry.answer)
            base.update(faq_score=match.score, faq_margin=match.margin, faq_blend=match.length_blend,
                        faq_right=in_scope and right, faq_rival=match.rival_margin, faq_gated=match.gate is not None,
                        faq_detail=service.faq_lacks_detail(query, match))
        passage = retriever.retrieve(query)
        if passage is not None and service.passage_lacks_detail(query, passage):
            passage = None  # Service._gate
        if passage is not None:
            text = store.passages.document(passage.sentences[0].doc_id)["cleaned_text"]
            quote = text[passage.start:passage.end] + "".join(
                store.passages.document(r.doc_id)["cleaned_text"][r.start:r.end] for r in passage.extra)
            right = in_scope and not row.get("expect_faq") and expected_in(row, quote + passage.sentences[0].title)
            base.update(passage_conf=passage.confidence, passage_evidence_features=dict(passage.features),
                        passage_right=right)
        cases.append(Case(fixed=None, **base))
    return cases


def route(case: Case, d: DecisionParams, f: FaqDecisionParams) -> tuple[str, bool]:
    """(kind "faq" | "passage" | "none" | "smalltalk", right) for one case under thresholds
    ``d`` and FAQ lines ``f``; the same order of tests as Service._answer_query."""
    if case.fixed is not None:
        return case.fixed, (not case.in_scope) if case.fixed == "none" else False
    faq_answers, faq_conf = False, 0.0
    if case.faq_score > 0:
        decision, conf = final_decision(case.faq_score, case.faq_rival, case.faq_margin, case.faq_blend,
                                        case.faq_gated, f)
        if decision == "answer" and case.faq_detail:
            decision = "suggest"  # Service._gate
        faq_answers, faq_conf = decision == "answer", conf
    pconf = case.passage_conf if case.passage_conf is not None else 0.0
    if faq_answers and faq_conf >= pconf - d.faq_tie:
        return "faq", case.faq_right
    if case.passage_conf is not None and (pconf >= d.abstain_below or (
            pconf >= d.answer_floor and not rank.out_of_scope_evidence(case.passage_evidence_features,
                                                                       d.evidence_coverage))):
        return "passage", case.passage_right
    return "none", not case.in_scope


@dataclass(frozen=True)
class Tally:
    """Counts over a list of cases under one setting."""

    in_right: int
    in_total: int
    out_right: int
    out_total: int
    wrong: int
    faq_false: int
    utility: float


def tally(cases: list[Case], d: DecisionParams, f: FaqDecisionParams) -> Tally:
    """Counts of ``cases`` routed with ``d`` and ``f``, and the weighted utility."""
    in_right = in_total = out_right = out_total = wrong = faq_false = 0
    utility = 0.0
    for case in cases:
        kind, right = route(case, d, f)
        answered = kind in ("faq", "passage")
        if case.in_scope:
            in_total += 1
            in_right += right
        else:
            out_total += 1
            out_right += right
            faq_false += kind == "faq"
        wrong += answered and not right
        cost = WRONG_FAQ_COST if kind == "faq" else WRONG_COST
        utility += case.weight * (right - cost * (answered and not right))
    return Tally(in_right, in_total, out_right, out_total, wrong, faq_false, utility)


def best_of(settings: list, score, *, prefer_last: bool = False) -> object:
    """The middle of the settings (in grid order) whose score is within 1e-9 of the best, or
    the last of them with ``prefer_last`` (the most cautious value when the data cannot tell)."""
    scores = [score(s) for s in settings]
    top = max(scores)
    best = [s for s, v in zip(settings, scores) if v >= top - 1e-9]
    return best[-1] if prefer_last else best[(len(best) - 1) // 2]


def _table(tables, cases, title, header, settings, make, chosen) -> None:
    tables.append((title, header, [(x, tally(cases, *make(x)), x == chosen) for x in settings]))


def sweep_passage(cases: list[Case], d: DecisionParams, f: FaqDecisionParams, tables: list):
    """(abstain_below, answer_floor) jointly, given the FAQ lines ``f``. Returns new ``d``."""
    grid = [(a, fl) for a in ABSTAIN_GRID for fl in FLOOR_GRID if fl <= a]
    make = lambda x: (replace(d, abstain_below=x[0], answer_floor=x[1]), f)  # noqa: E731
    pick = best_of(grid, lambda x: tally(cases, *make(x)).utility)
    _table(tables, cases, "passage thresholds (abstain_below, answer_floor)", "abstain floor", grid, make, pick)
    return make(pick)[0]


def sweep_faq(cases: list[Case], d: DecisionParams, f: FaqDecisionParams, tables: list):
    """Given the passage thresholds of ``d``: (answer_at, margin) jointly, then answer_clear, then
    faq_tie, then hedge_below (own sets only). Returns (d, f)."""
    grid = [(a, m) for a in ANSWER_AT_GRID for m in MARGIN_GRID]
    make = lambda x: (d, replace(f, answer_at=x[0], margin=x[1]))  # noqa: E731
    pick = best_of(grid, lambda x: tally(cases, *make(x)).utility)
    _table(tables, cases, "FAQ answer line (answer_at, margin)", "answer_at margin", grid, make, pick)
    f = make(pick)[1]

    grid = [c for c in CLEAR_GRID if c >= f.answer_at]
    make = lambda x: (d, replace(f, answer_clear=x))  # noqa: E731
    # Our questions rarely score this high, so the table is mostly flat: take the highest line of
    # the plateau (answering without a margin only when the data shows it is safe; PAWS-X, with
    # long near-identical statements, has more false accepts below 85).
    pick = best_of(grid, lambda x: tally(cases, *make(x)).utility, prefer_last=True)
    _table(tables, cases, "FAQ answer_clear", "answer_clear", grid, make, pick)
    f = make(pick)[1]

    make = lambda x: (replace(d, faq_tie=x), f)  # noqa: E731
    pick = best_of(TIE_GRID, lambda x: tally(cases, *make(x)).utility)
    _table(tables, cases, "faq_tie", "faq_tie", TIE_GRID, make, pick)
    d = make(pick)[0]

    hedge, hedge_rows = choose_hedge([c for c in cases if c.set in HEDGE_SETS], d, f)
    tables.append(("hedge_below (dev and own sets: passage answers at confidence >= t)", "t", hedge_rows))
    return replace(d, hedge_below=max(hedge, d.abstain_below)), f


def sweep(cases: list[Case], d: DecisionParams, f: FaqDecisionParams):
    """All sweeps in order (passage thresholds, then the FAQ ones). Returns (d, f, tables:
    [(title, header, [(setting, Tally or (answered, right), chosen)])])."""
    tables: list = []
    d = sweep_passage(cases, d, f, tables)
    d, f = sweep_faq(cases, d, f, tables)
    return d, f, tables


def choose_hedge(cases: list[Case], d: DecisionParams, f: FaqDecisionParams) -> tuple[float, list]:
    """The lowest grid value from which every higher value keeps passage answers right at least
    HEDGE_PRECISION of the time (the last grid value if none does). Returns (value, table rows
    (t, (answered, right), chosen))."""
    answers = [(c.passage_conf, right) for c in cases for kind, right in [route(c, d, f)] if kind == "passage"]
    stats = []
    for t in HEDGE_GRID:
        above = [r for conf, r in answers if conf >= t]
        stats.append((t, len(above), sum(above)))
    pick = HEDGE_GRID[-1]
    for t, n, r in reversed(stats):
        if n and r / n < HEDGE_PRECISION:
            break
        pick = t
    return pick, [(t, (n, r), t == pick) for t, n, r in stats]


def cases_from_groups(groups, sets: list[str], w, b: float, cw, cb: float, margin_scale: float,
                      features: list[str], conf_features: list[str], weight: float = 1.0) -> list[Case]:
    """Cases of fit questions (bench/calib_data.collect groups, no FAQ) scored with ranking
    weights ``w``/``b`` and confidence weights ``cw``/``cb``: the top candidate's confidence,
    its features (for the out-of-scope evidence) and whether it holds the answer."""
    import numpy as np

    out = []
    for (x, y, in_scope, _wt), name in zip(groups, sets):
        base = dict(set=name, weight=weight, in_scope=in_scope, fixed=None, faq_score=0.0, faq_margin=0.0,
                    faq_blend=0.0, faq_right=False, faq_rival=0.0, faq_gated=False, faq_detail=False)
        if len(x) == 0:
            out.append(Case(passage_conf=None, passage_evidence_features={}, passage_right=False, **base))
            continue
        scores = x @ w + b
        order = np.argsort(-scores, kind="stable")
        top = int(order[0])
        gap = scores[top] - scores[order[1]] if len(order) > 1 else margin_scale
        feats = dict(zip(features, (float(v) for v in x[top])))
        feats["margin"] = min(max(gap, 0.0), margin_scale) / margin_scale
        z = cb + sum(cw[i] * feats[name_] for i, name_ in enumerate(conf_features))
        out.append(Case(passage_conf=rank.sigmoid(z), passage_evidence_features=feats, passage_right=bool(y[top]),
                        **base))
    return out
