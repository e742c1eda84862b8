"""The one home of sentence and bracket rules: splitting documents into sentences with
character offsets (ingest) and cutting replies at a sentence end to fit a byte budget (the
WeChat and Telegram message splitters).

A sentence ends after 。！？!?；; or …… outside brackets, keeping closing quotes; text without
such punctuation is cut so that no quote grows beyond :data:`MAX_SENTENCE_CHARS`.
"""

from __future__ import annotations

import re
import unicodedata

from qa.document import Sentence

#: Closing quotes and brackets that stay with the sentence they close.
CLOSERS = "”’」』）)》〉】\"'"
#: Sentence-final marks.
SENTENCE_MARKS = "。！？!?；;"
SENTENCE_END = re.compile(rf"(?:[{SENTENCE_MARKS}]+|…{{2,}}|\.{{3,}})[{re.escape(CLOSERS)}]*")
#: Where a reply may be cut, first choice: after a sentence mark or a line break.
REPLY_CUTS = frozenset(SENTENCE_MARKS + "\n")
#: Second-choice cut points of a reply.
CLAUSE_CUTS = frozenset("，,、")

_PAIRS = {"（": "）", "(": ")", "【": "】", "[": "]", "《": "》"}
#: Longest sentence kept whole, in characters. Text without sentence punctuation (tables,
#: lists, OCR output) is cut at the last comma or space before this length, else hard: a quote
#: must stay a sentence, not a page (the seed article's longest sentence has 120 characters).
MAX_SENTENCE_CHARS = 160
_SOFT_BREAK = "，,、：:）) "
#: A bracket that does not close within this many characters is treated as a stray mark.
_BRACKET_SPAN = 80


def _bracketed(text: str) -> list[bool]:
    """For each position, True when it lies inside a bracket pair that closes within
    :data:`_BRACKET_SPAN` characters (（；） in 硕塞（；） is not a sentence end)."""
    inside = [False] * (len(text) + 1)
    i = 0
    while i < len(text):
        close = _PAIRS.get(text[i])
        if close:
            j = text.find(close, i + 1, i + 1 + _BRACKET_SPAN)
            if j != -1:
                for k in range(i + 1, j):
                    inside[k] = True
                i = j
        i += 1
    return inside


def split_sentences(text: str, offset: int = 0) -> list[Sentence]:
    """Sentences of one paragraph, split after 。！？!?；; and …… outside brackets, closing
    quotes kept.

    Args:
        text: one paragraph of cleaned text.
        offset: where ``text`` starts in the cleaned document.

    Returns:
        Sentences with document offsets; leading/trailing spaces excluded from each span.
    """
    out: list[Sentence] = []
    start = 0
    inside = _bracketed(text)
    bounds = [m.end() for m in SENTENCE_END.finditer(text) if not inside[m.start()]]
    if not bounds or bounds[-1] != len(text):
        bounds.append(len(text))
    capped: list[int] = []
    previous = 0
    for end in bounds:
        while end - previous > MAX_SENTENCE_CHARS:
            window = text[previous:previous + MAX_SENTENCE_CHARS]
            cut = max(window.rfind(c) for c in _SOFT_BREAK)
            previous += cut + 1 if cut > MAX_SENTENCE_CHARS // 3 else MAX_SENTENCE_CHARS
            capped.append(previous)
        capped.append(end)
        previous = end
    for end in capped:
        chunk = text[start:end]
        lead = len(chunk) - len(chunk.lstrip())
        trail = len(chunk.rstrip())
        s, e = start + lead, start + trail
        if e > s:
            if out and not any(c.isalnum() for c in text[s:e]):
                prev = out.pop()  # a stray closing mark: give it to the previous sentence
                s = prev.start - offset
            out.append(Sentence(offset + s, offset + e, text[s:e]))
        start = end
    return out


def _is_extender(ch: str) -> bool:
    """True for code points that attach to the previous one (no cut before them)."""
    cp = ord(ch)
    return (
        unicodedata.combining(ch) != 0
        or cp in (0x200D, 0x20E3)  # zero width joiner, combining enclosing keycap
        or 0xFE00 <= cp <= 0xFE0F  # variation selectors
        or 0x1F3FB <= cp <= 0x1F3FF  # emoji skin-tone modifiers
        or 0xE0020 <= cp <= 0xE007F  # emoji tag sequences
    )


def _last_cut(candidate: str, marks: frozenset[str]) -> int:
    """Index just after the last mark in ``candidate`` (plus closers), or 0."""
    for i in range(len(candidate) - 1, -1, -1):
        if candidate[i] in marks:
            j = i + 1
            while j < len(candidate) and candidate[j] in CLOSERS:
                j += 1
            return j
    return 0


def utf8_truncate_at_sentence(text: str, max_bytes: int) -> tuple[str, str]:
    """Split ``text`` into ``(head, rest)`` with ``len(head.encode()) <= max_bytes``.

    ``head + rest == text`` always. If the whole text fits, ``rest`` is empty.
    Otherwise the cut is after the last sentence end (``。！？；;!?`` or newline,
    with any closing quotes/brackets that still fit), else after the last
    comma (``，,、``), else at the last code point that fits, moved back so that
    combining marks, ZWJ, variation selectors and skin tones stay with their
    base character when possible. A multi-byte character is never split.
    ``head`` is empty only when the first character alone exceeds ``max_bytes``.
    ``max_bytes`` is in UTF-8 bytes; raises ``ValueError`` if negative,
    ``TypeError`` if ``text`` is not ``str`` or ``max_bytes`` not ``int``.
    """
    if not isinstance(text, str):
        raise TypeError("text must be str")
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, int):
        raise TypeError("max_bytes must be int")
    if max_bytes < 0:
        raise ValueError("max_bytes must be >= 0")
    data = text.encode("utf-8", "surrogatepass")
    if len(data) <= max_bytes:
        return text, ""
    cut = max_bytes
    while cut > 0 and (data[cut] & 0xC0) == 0x80:  # continuation byte: back off
        cut -= 1
    candidate = data[:cut].decode("utf-8", "surrogatepass")
    n = _last_cut(candidate, REPLY_CUTS) or _last_cut(candidate, CLAUSE_CUTS)
    if not n:
        n = len(candidate)
        while n > 0 and (_is_extender(text[n]) or text[n - 1] == "\u200d"):
            n -= 1
        if n == 0:
            n = len(candidate)
    return text[:n], text[n:]
