"""What a resident sees: answer text, citations, refusals and suggestion lists.

An answer is verbatim source text, then the citation line (来源：《标题》· 小节 · 第N段), then
at most three suggestions. Channels render this text; they never build their own.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

MAX_SUGGESTIONS = 3

TEXT_NO_ANSWER = "抱歉，现有资料里没有找到能回答这个问题的内容。"
TEXT_SCOPE = "我能回答的是宛城区政策方面的问题（现有资料：{sources}），答案都摘自原文并注明出处。"
TEXT_CLOSE = "您是不是想问："
TEXT_CLOSE_BUTTONS = "您是不是想问下面这些问题？也可以换个说法再问。"
TEXT_SUGGEST = "您可能还想问："
TEXT_EMPTY = "请直接输入您想咨询的问题，例如：“宛城区2020年脱贫多少人？”"
TEXT_NOT_TEXT = "没能看懂这条消息。请用文字描述您的问题，例如：“四集中是什么？”"
TEXT_TRUNCATED = "（您的消息较长，我只按前{limit}字作答。）"
TEXT_HEDGE = "没有找到完全对应的说法，以下原文可能与您的问题有关："
TEXT_SOURCE = "来源：{label}"
TEXT_ROLE_LABEL = {"lede": "导语", "caption": "图片说明", "byline": "署名"}


@dataclass(frozen=True)
class Citation:
    """Where a quote comes from; for passages ``quote == cleaned_text[start:end]``.

    ``paragraph`` is the 1-based body paragraph within ``section`` (0 for a lede, caption or
    an FAQ entry); ``start``/``end`` are code-point offsets into the document's cleaned text
    (0/0 for FAQ entries, whose ``doc_id`` is ``faq:<id>``).
    """

    doc_id: str
    title: str
    section: str | None
    paragraph: int
    quote: str
    start: int
    end: int
    role: str = "body"

    def label(self) -> str:
        """《标题》· 小节 · 第N段 (parts that do not apply are left out)."""
        parts = [f"《{self.title}》" if not self.title.startswith("《") else self.title]
        if self.section:
            parts.append(self.section)
        if self.role in TEXT_ROLE_LABEL:
            parts.append(TEXT_ROLE_LABEL[self.role])
        elif self.paragraph > 0:
            parts.append(f"第{self.paragraph}段")
        return " · ".join(parts)

    def to_json(self) -> dict:
        data = asdict(self)
        data.pop("role")
        return data


@dataclass
class Answer:
    """The result of one question (the JSON contract of DESIGN.md plus internal fields).

    Attributes:
        kind: "faq", "passage", "smalltalk" or "none".
        confidence: 0..1, calibrated (see :mod:`qa.rank`).
        outcome: for the log: "answered", "hedged", "suggested", "unanswered", "smalltalk",
            "invalid".
        explain: why this answer won (matched terms, scores, runner-up); not shown to residents.
    """

    question: str
    answer: str
    kind: str
    confidence: float
    citations: list[Citation] = field(default_factory=list)
    suggestions: list[str] = field(default_factory=list)
    latency_ms: float = 0.0
    outcome: str = "unanswered"
    faq_id: str | None = None
    question_id: int | None = None
    explain: dict = field(default_factory=dict)
    candidates: list[dict] = field(default_factory=list)
    notice: str | None = None
    suggestion_ids: list[str] = field(default_factory=list)
    body_text: str | None = None

    @property
    def body(self) -> str:
        """What to show when the suggestions are rendered separately (as buttons): the answer
        without its suggestion list, keeping the citation and the contact line."""
        return self.body_text if self.body_text is not None else self.answer

    def to_json(self) -> dict:
        """The contract object: question, answer, kind, confidence, citations, suggestions, latency_ms."""
        return {"question": self.question, "answer": self.answer, "kind": self.kind,
                "confidence": round(self.confidence, 4), "citations": [c.to_json() for c in self.citations],
                "suggestions": list(self.suggestions), "latency_ms": round(self.latency_ms, 3)}


def suggestions_block(title: str, suggestions: list[str]) -> str:
    if not suggestions:
        return ""
    lines = [title] + [f"{i}. {s}" for i, s in enumerate(suggestions[:MAX_SUGGESTIONS], 1)]
    return "\n\n" + "\n".join(lines)


def passage_text(quote: str, citation: Citation, suggestions: list[str], *, hedge: bool,
                 notice: str | None) -> str:
    """Quote, citation line, suggestions; a hedge line first for middling confidence."""
    head = (TEXT_HEDGE + "\n") if hedge else ""
    text = f"{head}{quote}\n{TEXT_SOURCE.format(label=citation.label())}"
    if notice:
        text += "\n" + notice
    return text + suggestions_block(TEXT_SUGGEST, suggestions)


TEXT_FAQ_SOURCE = "宛城区政策常见问题 {id}"


def faq_source(faq_id: str, source: str) -> str:
    """The citation of an FAQ entry: the source staff gave, or the entry itself (宛城区政策常见问题
    F052) so that every answer names where it comes from."""
    return source.strip() or TEXT_FAQ_SOURCE.format(id=faq_id)


def faq_text(answer: str, source: str, suggestions: list[str], *, notice: str | None) -> str:
    text = f"{answer}\n{TEXT_SOURCE.format(label=source)}"
    if notice:
        text += "\n" + notice
    return text + suggestions_block(TEXT_SUGGEST, suggestions)


def refusal_body(sources: str, contact: str, *, notice: str | None, did_you_mean: bool) -> str:
    """The refusal without its list of questions (shown as buttons by the channel)."""
    head = TEXT_CLOSE_BUTTONS if did_you_mean else f"{TEXT_NO_ANSWER}{TEXT_SCOPE.format(sources=sources)}"
    return head + (f"\n{notice}" if notice else "") + f"\n\n{contact}"


def refusal_text(sources: str, contact: str, suggestions: list[str], *, notice: str | None,
                 did_you_mean: bool = False) -> str:
    """No answer: say so, say what the bot covers, offer close questions, give the contact line."""
    if did_you_mean and suggestions:
        text = TEXT_CLOSE + "\n" + "\n".join(f"{i}. {s}" for i, s in enumerate(suggestions[:MAX_SUGGESTIONS], 1))
        return text + (f"\n{notice}" if notice else "") + f"\n\n{contact}"
    text = f"{TEXT_NO_ANSWER}{TEXT_SCOPE.format(sources=sources)}"
    if notice:
        text += "\n" + notice
    text += suggestions_block(TEXT_CLOSE, suggestions)
    return f"{text}\n\n{contact}"
