"""Question finding in long and voice-style messages (no punctuation, the question at the end).

A resident's message often tells a story first (我是官庄镇的我妈七十多了一直吃药……) and asks
last (……要去哪办). This module splits a message into clauses (at punctuation and, without it,
before discourse markers such as 听说, 请问, 但是, 这个), scores each clause for question cues
(吗/呢/多少/哪/怎么/能不能/是不是/有没有/…吗 after the colloquial tail rule), and tells the
analyser which clauses ask: their words keep full weight, the story's words count as weak
context (:data:`qa.query.FOCUS_OTHER`). :func:`question_window` keeps the asking part of an
over-long message instead of its head.

Pure functions over strings; no state.
"""

from __future__ import annotations

import re

#: Clause boundaries: punctuation and whitespace.
_PUNCT = re.compile(r"[,.;:!?，。；：！？、…\s]+")
#: Discourse markers a clause starts with in unpunctuated speech (split before them). Chosen
#: from how residents dictate messages (data/eval/residents.jsonl, tune split); a marker inside
#: a word (这个 in 这个政策 is still a clause start) does no harm: only the asking clauses matter.
_MARKERS = re.compile(r"(?=听说|听人说|听村里人说|听别人说|请问|想问|想知道|想了解|不知道|但是|可是|后来|现在|所以|因为|"
                      r"这个|那个|到底|另外|还有|我们|我家|我孩子|我父亲|我母亲|你们|邻居)")
#: Question cues and their weights. A cue in a clause makes it an asking clause.
_CUES = (
    (re.compile(r"多少|几[个户人家年月天次回项位所条座亩张]|哪|什么|怎么|谁|如何|是否"), 2.0),
    (re.compile(r"是不是|能不能|有没有|可不可以|对不对|对吧|行吗|吗|呢|么$"), 2.0),
    (re.compile(r"分别|各"), 1.0),
)
#: Raw-text cues for :func:`question_window` (before normalisation: colloquial forms included).
_RAW_CUE = re.compile(r"多少|几|哪|什么|啥|怎么|咋|谁|如何|吗|呢|是不是|能不能|有没有|对不对|对吧|[?？]|不[?？。！!]*\s*$")


#: Characters kept after the last cue when no punctuation closes its clause (…多少钱啊 + a tail).
CLAUSE_TAIL = 40


def clauses(norm: str) -> list[str]:
    """Clauses of a normalised message, in order, empty ones dropped: split at punctuation,
    then before discourse markers (for unpunctuated voice-to-text)."""
    out: list[str] = []
    for part in _PUNCT.split(norm):
        out.extend(p for p in _MARKERS.split(part) if p)
    return out


def cue_score(clause: str) -> float:
    """Question-cue score (>= 0) of one clause: the sum of the weights of the cue kinds it holds."""
    return sum(weight for pattern, weight in _CUES if pattern.search(clause))


def asking_clauses(norm: str) -> list[str] | None:
    """The clauses that ask (cue score > 0) when the message has two or more clauses and at
    least one of them does not ask; None when the whole message is the question. When some
    asking clauses hold a question word (多少, 哪, 什么 ...), only those are kept."""
    parts = clauses(norm)
    if len(parts) < 2:
        return None
    asking = [c for c in parts if cue_score(c) > 0]
    if not asking or len(asking) == len(parts):
        return None
    wh = [c for c in asking if _CUES[0][0].search(c)]
    return wh or asking  # 建了多少个 is the question; 以后能不能住进去 a follow-up wish


def question_window(raw: str, cap: int) -> str:
    """At most ``cap`` characters of ``raw`` that keep its question: the text ending with the
    clause of the last question cue (residents ask at the end), or the head when no cue is
    found. ``raw`` shorter than ``cap`` is returned unchanged.

    Args:
        raw: the message as typed, any length.
        cap: maximum length in characters (> 0).
    """
    if len(raw) <= cap:
        return raw
    last = None
    for last in _RAW_CUE.finditer(raw):
        pass
    if last is None:
        return raw[:cap]
    boundary = _PUNCT.search(raw, last.end())
    end = min(boundary.start() if boundary else len(raw), last.end() + CLAUSE_TAIL)
    start = max(0, end - cap)
    return raw[start:start + cap]
