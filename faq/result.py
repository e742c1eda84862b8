"""The result of matching one question against the FAQ, and what it offers residents."""

from __future__ import annotations

from dataclasses import dataclass, field

from qa.store.faq_rows import FaqRecord

#: From this score an entry is offered as 「您是不是想问」 (see faq/matcher.py for the answer line).
SUGGEST_AT = 35.0
#: From this score an entry may appear under 「您可能还想问」.
RELATED_AT = 30.0


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
    """

    decision: str
    entry: FaqRecord | None
    score: float
    margin: float
    confidence: float
    matched: str = ""
    top: list[tuple[FaqRecord, float]] = field(default_factory=list)

    @property
    def suggestions(self) -> list[FaqRecord]:
        """Entries worth offering as 「您是不是想问」 (within 15 points of the best, >= SUGGEST_AT - 5)."""
        return [e for e, s in self.top[:3] if s >= SUGGEST_AT - 5 and s >= self.score - 15]

    @property
    def related(self) -> list[FaqRecord]:
        """Loosely related entries for 「您可能还想问」 (score >= RELATED_AT)."""
        return [e for e, s in self.top[:4] if s >= RELATED_AT]

    def explain(self) -> dict:
        return {"decision": self.decision, "entry": self.entry.id if self.entry else None,
                "matched": self.matched, "score": round(self.score, 1), "margin": round(self.margin, 1),
                "confidence": round(self.confidence, 3),
                "runner_up": ({"entry": self.top[1][0].id, "score": round(self.top[1][1], 1)}
                              if len(self.top) > 1 else None)}
