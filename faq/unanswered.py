"""The unanswered queue: similar unanswered or low-confidence questions grouped with counts.

Grouping is greedy and deterministic: questions are visited oldest first and join the first
group whose representative is similar (character ``fuzz.ratio`` >= :data:`SAME_AT` or, on
content words, ``fuzz.token_set_ratio`` >= :data:`SAME_WORDS_AT`, or the same nouns:
怎么缴纳水费 / 水费怎么交); otherwise they start a group. Promoted questions leave the queue. A group's id is ``G`` + the id of its oldest logged question, so the id printed by
``bot.py unanswered`` still names the same group when ``bot.py faq promote`` runs later.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from rapidfuzz import fuzz

from qa.store.log import LoggedQuestion
from qa.text import Segmenter

SAME_AT = 70.0
SAME_WORDS_AT = 85.0
_STRIP = re.compile(r"[\s\W_]+")


@dataclass
class Group:
    """Similar questions. ``texts`` are distinct normalised questions, most asked first: for a
    follow-up the question understood from the conversation (「2019年宛城区脱贫多少人」), which is
    what was answered; ``asked_as`` maps such a text to what the resident typed (「那去年呢」)."""

    id: str
    count: int = 0
    last_at: str = ""
    texts: list[str] = field(default_factory=list)
    outcomes: Counter = field(default_factory=Counter)
    question_ids: list[int] = field(default_factory=list)
    asked_as: dict[str, str] = field(default_factory=dict)
    _counts: Counter = field(default_factory=Counter, repr=False)


def group_id(question_id: int, taken: set[str]) -> str:
    """A short, stable id for the group first seen at ``question_id``: ``G`` and the id for the
    old autoincrement ids; for the time-ordered ids the conversation layer allocates (ms << 16 |
    random), ``G`` and the base-36 milliseconds (8 characters, easy to type into ``faq
    promote``), with a letter suffix in the rare case two groups start in the same ms."""
    if question_id < 1 << 32:
        return f"G{question_id}"
    ms, digits = question_id >> 16, ""
    while ms:
        ms, rest = divmod(ms, 36)
        digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"[rest] + digits
    candidate, n = f"G{digits}", 0
    while candidate in taken:
        n += 1
        candidate = f"G{digits}{chr(64 + n) if n < 27 else n}"
    return candidate


def group_questions(questions: Iterable[LoggedQuestion], segmenter: Segmenter) -> list[Group]:
    """Group logged questions; returns groups by count (then recency), largest first."""
    groups: list[tuple[Group, str, str, str]] = []  # (group, representative key, words, nouns)
    # The same text always lands in the group its first occurrence joined (groups are only
    # appended, and the comparison depends on the text alone): logs repeat the same few
    # questions, so this skips most segmentation and comparisons.
    seen: dict[str, Group | None] = {}
    for q in sorted(questions, key=lambda q: q.id):
        text = q.understood or q.text_norm
        target = seen.get(text)
        if target is None:
            if text in seen:
                continue
            key = _STRIP.sub("", text)
            if not key:
                seen[text] = None
                continue
            content = segmenter.content_words(text)
            words = " ".join(sorted(content))
            nouns = " ".join(sorted(w for w in content if len(w) >= 2 and segmenter.is_noun(w)))
            for group, rep_key, rep_words, rep_nouns in groups:
                if fuzz.ratio(key, rep_key) >= SAME_AT or (words and rep_words and
                                                           fuzz.token_set_ratio(words, rep_words) >= SAME_WORDS_AT) \
                        or (nouns and nouns == rep_nouns):
                    target = group
                    break
            if target is None:
                target = Group(id=group_id(q.id, {g.id for g, _, _, _ in groups}))
                groups.append((target, key, words, nouns))
            seen[text] = target
        target.count += 1
        target.question_ids.append(q.id)
        target.last_at = max(target.last_at, q.at)
        target._counts[text] += 1
        if q.understood and q.understood != q.text_norm:
            target.asked_as.setdefault(text, q.text_norm)
        target.outcomes[q.outcome] += 1
    out = []
    for group, _, _, _ in groups:
        group.texts = [t for t, _ in sorted(group._counts.items(), key=lambda tc: (-tc[1], tc[0]))]
        out.append(group)
    out.sort(key=lambda g: g.last_at, reverse=True)
    out.sort(key=lambda g: -g.count)
    return out
