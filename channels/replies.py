"""What a resident reads: the one module of reply templates and plain-text rendering.

Every channel renders an :class:`qa.answer.Answer` through :class:`Replies`: the console, WeChat
and WeCom send :meth:`Replies.text`; Telegram and the web page show :meth:`Replies.body` and put
the suggestions on buttons; ``bot.py ask --json`` prints :meth:`Replies.to_json`. An answer is
verbatim source text, then the citation line (来源：《标题》 · 小节 · 第N段), then at most three
numbered suggestions (DESIGN.md, "Tone of the product").
"""

from __future__ import annotations

from qa.answer import MAX_SUGGESTIONS, Answer, Citation
from qa.smalltalk import EXAMPLES

TEXT_NO_ANSWER = "抱歉，现有资料里没有找到能回答这个问题的内容。"
TEXT_SCOPE = "我能回答的是宛城区政策方面的问题（现有资料：{sources}），答案都摘自原文并注明出处。"
TEXT_CLOSE = "您是不是想问："
TEXT_CLOSE_BUTTONS = "您是不是想问下面这些问题？也可以换个说法再问。"
TEXT_SUGGEST = "您可能还想问："
TEXT_EMPTY = "请直接输入您想咨询的问题，例如：“宛城区2020年脱贫多少人？”"
TEXT_NOT_TEXT = "没能看懂这条消息。请用文字描述您的问题，例如：“四集中是什么？”"
#: A fragment with nothing to continue (「资金呢」 as a first message, a bare 「3」): say what to add.
TEXT_CLARIFY = ("您是接着前面的问题问的吗？我没能确定您问的是哪件事。请把问题说完整一些：写上要问的事项，"
                "需要时再加上年份或地点，例如：“2020年宛城区脱贫多少人？”")
#: A follow-up whose rewrite (shown above it) found nothing that answers it.
TEXT_CLARIFY_NOT_FOUND = "现有资料里没有找到这个问题的答案。您可以换一个年份、地点或事项再问，或把问题说完整一些。"
TEXT_TRUNCATED = "（您的消息较长，我只按其中提问的部分（{limit}字以内）作答。）"
TEXT_HEDGE = "没有找到完全对应的说法，以下原文可能与您的问题有关："
TEXT_SOURCE = "来源：{label}"
TEXT_UNDERSTOOD = "按“{question}”理解："
TEXT_ROLE_LABEL = {"lede": "导语", "caption": "图片说明", "byline": "署名"}
TEXT_PICK_HINT = "（回复数字即可选择）"

_HINT = "您可以直接问我，比如：\n" + "\n".join(f"{i}. {q}" for i, q in enumerate(EXAMPLES, 1)) + "\n" + TEXT_PICK_HINT
#: Small-talk replies by kind (qa.smalltalk.classify).
SMALLTALK = {
    "greeting": "您好！我是宛城区政策问答助手，回答都摘自区里发布的文章和常见问题，并注明出处。" + _HINT,
    "identity": "我是宛城区政策问答助手：您用一句话提问，我从区里发布的文章和常见问题里找原文回答，并告诉您出处；"
                "找不到就直说，并告诉您该问谁。" + _HINT,
    "thanks": "不客气！还有其他问题，随时问我。",
    "bye": "再见！有政策方面的问题，随时来问。",
    "ack": "好的。还有其他问题，随时问我。",
}


def source_label(answer: Answer) -> str:
    """The label of the 来源 line: the FAQ entry's source, or the distinct citation labels of
    the quoted passages joined by ；(a multi-part answer may quote two paragraphs)."""
    if answer.kind == "faq":
        return answer.citations[0].title
    return "；".join(dict.fromkeys(citation_label(c) for c in answer.citations))


def citation_label(citation: Citation) -> str:
    """《标题》 · 小节 · 第N段 (parts that do not apply are left out)."""
    title = citation.title
    parts = [title if title.startswith("《") or citation.doc_id.startswith("faq:") else f"《{title}》"]
    if citation.section:
        parts.append(citation.section)
    if citation.role in TEXT_ROLE_LABEL:
        parts.append(TEXT_ROLE_LABEL[citation.role])
    elif citation.paragraph > 0:
        parts.append(f"第{citation.paragraph}段")
    return " · ".join(parts)


def numbered(title: str, suggestions: list[str]) -> str:
    """``title`` then ``1. …`` lines and :data:`TEXT_PICK_HINT` (a reply 「1」 picks the first:
    :mod:`conversation.dialogue`); empty without suggestions."""
    if not suggestions:
        return ""
    lines = [f"{i}. {s}" for i, s in enumerate(suggestions[:MAX_SUGGESTIONS], 1)]
    return "\n".join([title, *lines, TEXT_PICK_HINT])


class Replies:
    """Plain-text and JSON rendering of answers for one deployment.

    Args:
        contact: where residents can ask a person (BOT_CONTACT); ends every refusal.
    """

    def __init__(self, contact: str) -> None:
        self.contact = contact

    def text(self, answer: Answer) -> str:
        """Exactly what a resident sees on a text channel: the answer with its numbered
        suggestions."""
        return self._render(answer, with_suggestions=True)

    def body(self, answer: Answer) -> str:
        """The answer without its suggestion list (the channel shows the suggestions as
        buttons), keeping the citation and the contact line."""
        return self._render(answer, with_suggestions=False)

    def to_json(self, answer: Answer, *, with_understood: bool = False) -> dict:
        """The contract object of DESIGN.md: question, answer, kind, confidence, citations,
        suggestions, latency_ms (plus ``understood_as`` when asked for)."""
        data = {"question": answer.question, "answer": self.text(answer), "kind": answer.kind,
                "confidence": round(answer.confidence, 4), "citations": [c.to_json() for c in answer.citations],
                "suggestions": list(answer.suggestions), "latency_ms": round(answer.latency_ms, 3)}
        if with_understood:
            data["understood_as"] = answer.understood_as
        return data

    # ----------------------------------------------------------------- internals
    def _render(self, answer: Answer, *, with_suggestions: bool) -> str:
        notice = TEXT_TRUNCATED.format(limit=answer.truncated_at) if answer.truncated_at else None
        head = TEXT_UNDERSTOOD.format(question=answer.understood_as) + "\n" if answer.understood_as else ""
        suggestions = answer.suggestions if with_suggestions else []
        if answer.kind == "smalltalk":
            return SMALLTALK.get(answer.reason or "", SMALLTALK["ack"])
        if answer.reason == "empty":
            return TEXT_EMPTY
        if answer.reason == "not_text":
            return TEXT_NOT_TEXT
        if answer.reason == "clarify":
            return head + TEXT_CLARIFY_NOT_FOUND + f"\n\n{self.contact}" if answer.understood_as else TEXT_CLARIFY
        if answer.quoted:
            citation = answer.citations[0]
            label = source_label(answer)
            quote = "\n".join(c.quote for c in answer.citations) if answer.kind == "passage" else citation.quote
            caveat = f"{answer.caveat}\n" if answer.caveat else ""
            text = head + caveat + (TEXT_HEDGE + "\n" if answer.hedge else "") + f"{quote}\n{TEXT_SOURCE.format(label=label)}"
            if notice:
                text += "\n" + notice
            block = numbered(TEXT_SUGGEST, suggestions)
            return text + ("\n\n" + block if block else "")
        return head + self._refusal(answer, suggestions, notice)

    def _refusal(self, answer: Answer, suggestions: list[str], notice: str | None) -> str:
        tail = (f"\n{notice}" if notice else "") + f"\n\n{self.contact}"
        if answer.reason == "did_you_mean":
            if suggestions:
                return numbered(TEXT_CLOSE, suggestions) + tail
            if answer.suggestions:  # the list goes on buttons
                return TEXT_CLOSE_BUTTONS + tail
        text = TEXT_NO_ANSWER + TEXT_SCOPE.format(sources=answer.sources or "暂无资料")
        if notice:
            text += "\n" + notice
        block = numbered(TEXT_CLOSE, suggestions)
        return text + ("\n\n" + block if block else "") + f"\n\n{self.contact}"
