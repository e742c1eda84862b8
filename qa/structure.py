"""Sections of a policy document from its headings and clause numbering.

Chinese official documents (GB/T 9704-2012 党政机关公文格式, and the usual layout of 办法 and
条例) number their structure 第X编 > 第X章 > 第X节 > 第X条, or 一、 > （一） > 1. > （1）.
A citation names the most specific unit a quote belongs to, so residents can find it:
《标题》 · 第三条 · 第2段, or 《标题》 · 二、保障措施 · （一）资金保障 · 第1段.

Everything here is pure: text in, labels out.
"""

from __future__ import annotations

import re

_CN_NUM = "〇零一二三四五六七八九十百千两壹贰叁肆伍陆柒捌玖拾佰"
_NUM = rf"[{_CN_NUM}\d]+"
#: (level, pattern) in order of depth; level numbers only compare with each other.
_HEADING_LEVELS: tuple[tuple[int, re.Pattern[str]], ...] = (
    (0, re.compile(rf"^第\s*{_NUM}\s*编")),
    (1, re.compile(rf"^第\s*{_NUM}\s*章")),
    (2, re.compile(rf"^第\s*{_NUM}\s*节")),
    (3, re.compile(rf"^第\s*{_NUM}\s*条")),
    (3, re.compile(rf"^[{_CN_NUM}]+\s*[、.．]")),
    (4, re.compile(rf"^[（(]\s*[{_CN_NUM}]+\s*[）)]")),
    (5, re.compile(r"^\d{1,2}\s*[、.．](?!\d)")),
    (6, re.compile(r"^[（(]\s*\d{1,2}\s*[）)]")),
)
#: A clause: 第X条 at the start of a paragraph, followed by a space or the clause text.
CLAUSE = re.compile(rf"^(第\s*{_NUM}\s*条)(?=[\s\u3000]|[^\s\u3000])")
#: An unnumbered heading resets the structure (a news report's 小标题).
UNNUMBERED = -1
#: At most this many levels are named in a citation (the deepest ones).
MAX_LABEL_PARTS = 2


def heading_level(text: str) -> int:
    """Depth of a heading from its numbering: 0 (第X编) .. 6 (（1）); :data:`UNNUMBERED` (-1)
    for a heading without numbering."""
    for level, pattern in _HEADING_LEVELS:
        if pattern.match(text):
            return level
    return UNNUMBERED


def clause_label(text: str) -> str | None:
    """``第三条`` when ``text`` (a paragraph) starts with a clause number, else None.
    Spaces inside the label are removed (第 三 条 -> 第三条)."""
    match = CLAUSE.match(text)
    return re.sub(r"\s+", "", match.group(1)) if match else None


class SectionTracker:
    """Follows headings and clauses in reading order and names the current section.

    Use: for each paragraph call :meth:`heading` (role heading) or :meth:`body` (any other
    role that counts toward 第N段) and read :attr:`label`.
    """

    def __init__(self) -> None:
        self._stack: list[tuple[int, str]] = []

    @property
    def label(self) -> str | None:
        """The section a citation names, or None before the first heading or clause."""
        if not self._stack:
            return None
        if self._stack[-1][0] == 3 and self._stack[-1][1].startswith("第"):
            return self._stack[-1][1]            # 第X条 is unique in its document
        return " · ".join(text for _, text in self._stack[-MAX_LABEL_PARTS:])

    def _push(self, level: int, text: str) -> None:
        if level == UNNUMBERED:
            self._stack = [(UNNUMBERED, text)]
            return
        while self._stack and self._stack[-1][0] >= level:   # an unnumbered 小标题 (-1) stays parent
            self._stack.pop()
        self._stack.append((level, text))

    def heading(self, text: str) -> str | None:
        """Enter a heading; returns the new label."""
        self._push(heading_level(text), text)
        return self.label

    def body(self, text: str) -> bool:
        """Note a body paragraph; True when it opens a new clause (第X条), which starts a new
        section whose paragraph count restarts at 1."""
        label = clause_label(text)
        if label is None:
            return False
        self._push(3, label)
        return True
