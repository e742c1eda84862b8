"""The result of matching one question against the FAQ, the decision lines, and what it offers residents."""

from __future__ import annotations

from dataclasses import dataclass, field

from qa.params import PARAMS
from qa.params_schema import FaqDecisionParams
from qa.rank import sigmoid
from qa.store.faq_rows import FaqRecord

#: From this score an entry is offered as 「您是不是想问」 (see faq/matcher.py for the answer line);
#: ``faq_decision.suggest_at`` of qa/params.json (set by judgement).
SUGGEST_AT = PARAMS.faq_decision.suggest_at
#: From this score an entry may appear under 「您可能还想问」 (``faq_decision.related_at``).
RELATED_AT = PARAMS.faq_decision.related_at


def length_blend(key_chars: int, long_chars: int | None = None) -> float:
    """``lam`` of faq/matcher.py's docstring, 0..1: 0 up to ``faq_scoring.short_chars`` characters of the question's
    key, 1 from ``long_chars`` (default ``faq_scoring.long_chars``; statements that ask nothing use
    ``faq_match.statement_long_chars``), linear between."""
    short = PARAMS.faq_scoring.short_chars
    long = long_chars if long_chars is not None else PARAMS.faq_scoring.long_chars
    return min(max((key_chars - short) / max(long - short, 1), 0.0), 1.0)


def decide(score: float, margin: float, lam: float,
           lines: FaqDecisionParams = PARAMS.faq_decision) -> tuple[str, float]:
    """(decision, confidence) for the best entry's ``score`` (0..100 points) and its ``margin``
    over the runner-up entry (points), for a question of length blend ``lam`` (0..1), with the
    decision lines ``lines`` (default: ``faq_decision`` of qa/params.json; bench/calibrate.py
    sweeps candidates). Decision is "answer", "suggest" or "none"; confidence is 0..1."""
    answer_at = lines.answer_at + lam * (lines.long_answer_at - lines.answer_at)
    if score >= max(lines.answer_clear, answer_at) or (score >= answer_at and margin >= lines.margin):
        decision = "answer"
    elif score >= lines.suggest_at:
        decision = "suggest"
    else:
        decision = "none"
    confidence = sigmoid((score - lines.conf_mid - (answer_at - lines.answer_at)) / lines.conf_scale
                         + (min(margin, 24.0) - lines.conf_margin_mid) / lines.conf_scale)
    return decision, confidence


def final_decision(score: float, rival_margin: float, runner_margin: float, lam: float, gated: bool,
                   lines: FaqDecisionParams = PARAMS.faq_decision, match=PARAMS.faq_match) -> tuple[str, float]:
    """The matcher's decision after :func:`decide`: a near-tie with an entry whose answer differs
    (``rival_margin`` below ``faq_match.tie_margin`` points) only suggests; the only entry near
    the question (``runner_margin`` of ``faq_match.lone_margin`` points over every other, from
    ``faq_match.lone_at`` points) answers; a ``gated`` entry (it lacks the detail asked, see
    :mod:`faq.gates`) only suggests. One function for the matcher and for bench/calibrate.py's
    replay. Returns (decision, confidence 0..1)."""
    decision, confidence = decide(score, rival_margin, lam, lines)
    if decision == "answer" and rival_margin < match.tie_margin:
        decision = "suggest"  # a near-tie with a different answer: let the resident choose
    rise = lam * (lines.long_answer_at - lines.answer_at)  # as the answer line
    if decision != "answer" and score >= match.lone_at + rise and runner_margin >= match.lone_margin:
        decision = "answer"  # the only entry near the question: residents' wording scores low
    if decision == "answer" and gated:
        decision = "suggest"
    return decision, confidence


@dataclass
class FaqMatch:
    """Result of matching one question against the FAQ.

    Attributes:
        decision: "answer", "suggest" or "none".
        entry: the best entry (None when the FAQ is empty or nothing scored).
        score: its score, 0..100; ``margin`` over the runner-up entry.
        confidence: 0..1, from score and margin (see :data:`CONF_MID`).
        matched: the phrasing (question or alternate) that matched best.
        top: (entry, score) best first, one per entry.
        length_blend: the question's ``lam`` (0 short question .. 1 long statement), which
            raises the answer line (:func:`faq.matcher.decide`).
        also: runner-up entries whose answers are compatible with the best one's (they do not
            compete with it; offered first under 「您可能还想问」).
        gate: why the best entry may not answer (``"year"``, ``"month"``, ``"type:date"`` ...,
            :func:`faq.gates.missing_detail`), or None.
        blocked: ids of entries dropped because the question is close to one of their
            negative questions.
    """

    decision: str
    entry: FaqRecord | None
    score: float
    margin: float
    confidence: float
    matched: str = ""
    top: list[tuple[FaqRecord, float]] = field(default_factory=list)
    length_blend: float = 0.0
    rival_margin: float = 0.0
    also: list[FaqRecord] = field(default_factory=list)
    gate: str | None = None
    blocked: list[str] = field(default_factory=list)

    @property
    def suggestions(self) -> list[FaqRecord]:
        """Entries worth offering as 「您是不是想问」 (within 15 points of the best, >= SUGGEST_AT - 5)."""
        return [e for e, s in self.top[:3] if s >= SUGGEST_AT - 5 and s >= self.score - 15]

    @property
    def related(self) -> list[FaqRecord]:
        """Entries for 「您可能还想问」: the compatible runners-up (:attr:`also`), then the loosely
        related ones (score >= RELATED_AT)."""
        out = {e.id: e for e in self.also}
        for e, s in self.top[:4]:
            if s >= RELATED_AT:
                out.setdefault(e.id, e)
        return list(out.values())

    def explain(self) -> dict:
        return {"decision": self.decision, "entry": self.entry.id if self.entry else None,
                "matched": self.matched, "score": round(self.score, 1), "margin": round(self.margin, 1),
                "confidence": round(self.confidence, 3), "gate": self.gate, "blocked": self.blocked,
                "also": [e.id for e in self.also],
                "runner_up": ({"entry": self.top[1][0].id, "score": round(self.top[1][1], 1)}
                              if len(self.top) > 1 else None)}
