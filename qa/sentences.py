"""Sentence splitting with character offsets (one job of :mod:`qa.ingest`).

A sentence ends after 。！？!?；; or …… outside brackets, keeping closing quotes; text without
such punctuation is cut so that no quote grows beyond :data:`MAX_SENTENCE_CHARS`.
"""

from __future__ import annotations

import re

from qa.document import Sentence

#: Closing quotes and brackets that stay with the sentence they close.
CLOSERS = "”’」』）)》〉】\"'"
SENTENCE_END = re.compile(rf"(?:[。！？!?；;]+|…{{2,}}|\.{{3,}})[{re.escape(CLOSERS)}]*")

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
