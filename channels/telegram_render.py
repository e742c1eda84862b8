"""Telegram rendering: HTML escaping, message splitting, inline keyboards. Pure, no I/O.

Every reply is sent with ``parse_mode=HTML``. Dynamic text is escaped with :func:`escape`
(``&``, ``<`` and ``>`` become entities, as the Bot API requires:
https://core.telegram.org/bots/api#html-style); the only tags are the ones this module adds
around whole runs of text, *after* splitting, so a split never lands inside a tag or entity.

Limits (https://core.telegram.org/bots/api):

* ``sendMessage.text``: 1-4096 characters after entity parsing, counted in UTF-16 code units
  (https://core.telegram.org/bots/api#sendmessage). :func:`html_parts` keeps the *HTML source*
  of every part at or under :data:`MAX_MESSAGE_UTF16`, which bounds the visible text as well.
* ``InlineKeyboardButton.callback_data``: 1-64 bytes
  (https://core.telegram.org/bots/api#inlinekeyboardbutton); buttons whose data would be longer
  are left out rather than sent and rejected.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from channels.replies import TEXT_SOURCE, Replies, citation_label, source_label
from qa.answer import Answer
from qa.sentences import split_sentences

#: sendMessage text limit in UTF-16 code units (https://core.telegram.org/bots/api#sendmessage).
MAX_MESSAGE_UTF16 = 4096
#: callback_data limit in bytes (https://core.telegram.org/bots/api#inlinekeyboardbutton).
MAX_CALLBACK_BYTES = 64
#: Button labels longer than this (code points) are shortened with an ellipsis for display.
MAX_BUTTON_LABEL = 48
#: Tags this module may wrap around a run of text.
TAGS = frozenset({"b", "i", "code"})

LABEL_HELPFUL = "👍 有帮助"
LABEL_NOT_HELPFUL = "👎 没帮助"
ELLIPSIS = "…"

#: A run of plain (unescaped) text and the tag to wrap it in (None: no tag).
Block = tuple[str, str | None]


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of every Telegram length limit."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def escape(text: str) -> str:
    """Escape plain text for Telegram HTML (``&``, ``<``, ``>``; quotes need no escaping)."""
    return html.escape(text, quote=False)


def _cost(text: str, tag: str | None) -> int:
    """Upper bound of the HTML size (UTF-16 units) of ``text`` rendered alone in ``tag``."""
    return utf16_len(escape(text)) + (2 * len(tag) + 5 if tag else 0)


def _sentence_pieces(text: str) -> list[str]:
    """Lossless pieces of ``text`` ending at line breaks and sentence ends (qa.ingest rules)."""
    pieces: list[str] = []
    for line in re.split(r"(?<=\n)", text):
        if not line:
            continue
        start = 0
        for sentence in split_sentences(line):
            if sentence.end > start:
                pieces.append(line[start:sentence.end])
                start = sentence.end
        if start < len(line):
            pieces.append(line[start:])
    return pieces


def _hard_split(text: str, budget: int) -> list[str]:
    """Cut a piece with no usable sentence boundary so each escaped cut fits ``budget``."""
    cuts, current, size = [], [], 0
    for ch in text:
        width = utf16_len(escape(ch))
        if current and size + width > budget:
            cuts.append("".join(current))
            current, size = [], 0
        current.append(ch)
        size += width
    if current:
        cuts.append("".join(current))
    return cuts


def _render(units: list[Block]) -> str:
    """HTML of one part: adjacent runs with the same tag merged, outer whitespace trimmed."""
    runs: list[list] = []
    for text, tag in units:
        if runs and runs[-1][1] == tag:
            runs[-1][0] += text
        else:
            runs.append([text, tag])
    if runs:
        runs[0][0] = runs[0][0].lstrip()
        runs[-1][0] = runs[-1][0].rstrip()
    out = []
    for text, tag in runs:
        if not text:
            continue
        out.append(f"<{tag}>{escape(text)}</{tag}>" if tag else escape(text))
    return "".join(out)


def html_parts(blocks: Iterable[Block], limit: int = MAX_MESSAGE_UTF16) -> list[str]:
    """Render blocks to Telegram HTML messages of at most ``limit`` UTF-16 units each.

    Text is split only between sentences or lines (boundaries from :func:`qa.sentences.split_sentences`);
    a single sentence longer than a message is cut between characters. Tags are applied per part,
    so every part is well-formed on its own. Parts are trimmed; whitespace-only parts are dropped.

    Args:
        blocks: ``(plain text, tag)`` pairs; tag is None or one of :data:`TAGS`.
        limit: maximum HTML size of a part in UTF-16 units (>= 64).

    Returns:
        A list of HTML strings (empty if the blocks contain only whitespace).

    Raises:
        ValueError: an unknown tag or a limit below 64.
    """
    if limit < 64:
        raise ValueError("limit must be at least 64 UTF-16 units")
    units: list[Block] = []
    for text, tag in blocks:
        if tag is not None and tag not in TAGS:
            raise ValueError(f"unsupported tag {tag!r}")
        for piece in _sentence_pieces(text or ""):
            if _cost(piece, tag) <= limit:
                units.append((piece, tag))
            else:
                units.extend((cut, tag) for cut in _hard_split(piece, limit - _cost("", tag)))
    parts: list[str] = []
    current: list[Block] = []
    size = 0
    for text, tag in units:
        cost = _cost(text, tag)
        if current and size + cost > limit:
            parts.append(_render(current))
            current, size = [], 0
        current.append((text, tag))
        size += cost
    if current:
        parts.append(_render(current))
    return [part for part in parts if html.unescape(re.sub(r"<[^>]*>", "", part)).strip()]


def plain_parts(text: str) -> list[str]:
    """:func:`html_parts` of one untagged text."""
    return html_parts([(text, None)])


def answer_blocks(answer: Answer, replies: Replies) -> list[Block]:
    """The visible answer as blocks: text, with the citation line (来源：…) in italics.

    Suggestions are left to the keyboard: :meth:`Replies.body` is the answer without them and
    keeps the citation and, for refusals, the contact line.
    """
    text = replies.body(answer)
    for citation in answer.citations[:1]:
        for label in dict.fromkeys((source_label(answer), citation_label(citation), citation.title)):
            line = "\n" + TEXT_SOURCE.format(label=label)
            at = text.rfind(line)
            if at >= 0 and text[at + len(line):at + len(line) + 1] in ("", "\n"):
                end = at + len(line)
                return [(text[:at + 1], None), (text[at + 1:end], "i"), (text[end:], None)]
    return [(text, None)]


def _label(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_BUTTON_LABEL else text[:MAX_BUTTON_LABEL - 1] + ELLIPSIS


def _fits(data: str) -> bool:
    return 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_BYTES


def suggestion_buttons(questions: Sequence[str], data: Sequence[str]) -> list[list[InlineKeyboardButton]]:
    """One row per suggestion; pairs whose callback data exceeds 64 bytes are left out."""
    return [[InlineKeyboardButton(_label(q), callback_data=d)]
            for q, d in zip(questions, data) if q.strip() and _fits(d)]


def feedback_row(question_id: int) -> list[InlineKeyboardButton]:
    """👍/👎 buttons with callback data ``fb:<question id>:1`` / ``fb:<question id>:0``."""
    return [InlineKeyboardButton(LABEL_HELPFUL, callback_data=f"fb:{question_id}:1"),
            InlineKeyboardButton(LABEL_NOT_HELPFUL, callback_data=f"fb:{question_id}:0")]


def answer_keyboard(answer: Answer, question_id: int | None = None) -> InlineKeyboardMarkup | None:
    """Suggestions (``faq:<id>``) then 👍/👎 for answered questions; None when empty."""
    rows = suggestion_buttons(answer.suggestions, [f"faq:{i}" for i in answer.suggestion_ids])
    if question_id is not None and answer.kind in ("faq", "passage"):
        rows.append(feedback_row(question_id))
    return InlineKeyboardMarkup(rows) if rows else None


def render_answer(answer: Answer, replies: Replies,
                  question_id: int | None = None) -> tuple[list[str], InlineKeyboardMarkup | None]:
    """HTML parts of an answer and the keyboard to attach to the last part."""
    return html_parts(answer_blocks(answer, replies)), answer_keyboard(answer, question_id)


def without_feedback(markup: InlineKeyboardMarkup | None) -> InlineKeyboardMarkup | None:
    """The keyboard with its 👍/👎 row removed (after a vote); None when nothing is left."""
    if markup is None:
        return None
    rows = [row for row in markup.inline_keyboard
            if not any(str(b.callback_data or "").startswith("fb:") for b in row)]
    return InlineKeyboardMarkup(rows) if rows else None
