"""The structured result of one question: quoted spans with citations, suggestions, refusal
reason and confidence. No channel text lives here: channels render an :class:`Answer` with
:mod:`channels.replies` (plain text, the JSON contract) or their own renderer (Telegram HTML).
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: Suggestions offered with one answer (DESIGN.md: "at most three suggestions").
MAX_SUGGESTIONS = 3
#: Citation title of an FAQ entry that has no source of its own (「宛城区政策常见问题 F052」).
FAQ_TITLE = "宛城区政策常见问题 {id}"


@dataclass(frozen=True)
class Citation:
    """Where a quote comes from; for passages ``quote == cleaned_text[start:end]``.

    ``paragraph`` is the 1-based body paragraph within ``section`` (0 for a lede, caption or
    an FAQ entry); ``start``/``end`` are code-point offsets into the document's cleaned text
    (0/0 for FAQ entries, whose ``doc_id`` is ``faq:<id>``). ``role`` is "body", "lede",
    "caption" or "byline" (not part of the JSON contract).
    """

    doc_id: str
    title: str
    section: str | None
    paragraph: int
    quote: str
    start: int
    end: int
    role: str = "body"

    def to_json(self) -> dict:
        """The contract's citation object (DESIGN.md), without ``role``."""
        return {"doc_id": self.doc_id, "title": self.title, "section": self.section, "paragraph": self.paragraph,
                "quote": self.quote, "start": self.start, "end": self.end}


def faq_citation(entry_id: str, source: str, answer: str) -> Citation:
    """The one citation builder of an FAQ answer: the source staff gave, or the entry itself
    (「宛城区政策常见问题 F052」) so that every answer names where it comes from."""
    title = (source or "").strip() or FAQ_TITLE.format(id=entry_id)
    return Citation(doc_id=f"faq:{entry_id}", title=title, section=None, paragraph=0, quote=answer, start=0, end=0)


@dataclass
class Answer:
    """What :meth:`qa.service.Service.answer` found, as data.

    Attributes:
        question: the question as displayed (at most ``MAX_QUESTION_CHARS`` characters).
        kind: "faq", "passage", "smalltalk" or "none".
        confidence: 0..1, calibrated (see :mod:`qa.rank`).
        citations: the quoted spans; ``citations[0].quote`` is what answers.
        suggestions: at most :data:`MAX_SUGGESTIONS` questions to offer (FAQ entries when
            ``suggestion_ids`` has their ids, example questions otherwise).
        outcome: for the log: "answered", "hedged", "suggested", "unanswered", "off_topic",
            "smalltalk", "invalid", "clarify".
        reason: why there is no quote: "empty", "not_text", "off_topic", "no_answer",
            "did_you_mean", "clarify" (a fragment: the reply says what to add), or the small-talk kind ("greeting", "identity", "thanks", "bye",
            "ack"); None for answers.
        hedge: the match is uncertain (the quote is shown with a hedge line).
        truncated_at: the question was cut to this many characters (None: whole).
        sources: what the bot covers, for refusals (「《标题》等3篇文章和51条常见问题」).
        understood_as: the question actually answered when it differs from ``question``.
        caveat: shown before the quote when its document is not current (「该文件已于…废止，
            以下内容仅供参考。」, from :mod:`qa.validity`).
        explain: why this answer won (matched terms, scores, runner-up); not shown to residents.
        candidates: top FAQ entries and passages with scores (kept in the question log).
        latency_ms: time spent in ``Service.answer``, milliseconds.
    """

    question: str
    kind: str
    confidence: float
    citations: list[Citation] = field(default_factory=list)
    suggestions: list[str] = field(default_factory=list)
    suggestion_ids: list[str] = field(default_factory=list)
    outcome: str = "unanswered"
    reason: str | None = None
    hedge: bool = False
    truncated_at: int | None = None
    sources: str = ""
    understood_as: str | None = None
    caveat: str | None = None
    faq_id: str | None = None
    explain: dict = field(default_factory=dict)
    candidates: list[dict] = field(default_factory=list)
    latency_ms: float = 0.0

    @property
    def quoted(self) -> bool:
        """True when the answer quotes a source (an FAQ entry or a passage)."""
        return self.kind in ("faq", "passage") and bool(self.citations)
