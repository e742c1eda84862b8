"""Rules that keep an FAQ entry from answering a question it only resembles.

* :func:`missing_detail`: the question names a year or a month that the entry's text never
  gives, or asks for a detail (a date, a place, a count, a phone number ...;
  :func:`qa.query.answer_type`) that none of the entry's own phrasings asks for and its answer
  does not contain (an entry written for 「补助多少钱」 answers with whatever staff wrote; an
  entry about what 四集中 is does not answer 「四集中哪年开始的」): the entry may be suggested,
  never answered (issue 11: "an FAQ entry is
  accepted for a detail its answer does not contain").
A pure function of prepared entry data.
"""

from __future__ import annotations

import re

from qa.query import YEAR, sentence_has_type

#: Answer types whose absence from the answer stops the entry from answering.
GATED_TYPES = frozenset({"count_household", "count_person", "money", "count", "date", "place", "phone",
                         "hours", "address", "person", "number"})
#: Answer types that ask for a figure: an entry all of whose phrasings ask one does not answer
#: a how-question.
FIGURE_TYPES = frozenset({"count_household", "count_person", "money", "count", "number", "date"})
_MONTH = re.compile(r"(?<!\d)(1[0-2]|[1-9])月")


def months(norm: str) -> frozenset[str]:
    """Months named in a normalised text: 「3月」 -> {"3"}."""
    return frozenset(_MONTH.findall(norm))


def years(norm: str) -> frozenset[str]:
    """Four-digit years 1900..2099 named in a normalised text."""
    return frozenset(YEAR.findall(norm))


def missing_detail(question_norm: str, kind: str | None, question_numbers: frozenset[str], entry_text: str,
                   answer_norm: str, asked: frozenset[str | None] = frozenset()) -> str | None:
    """Why the entry cannot answer (``"year"``, ``"month"``, ``"type:<kind>"``) or None.

    Args:
        question_norm: the normalised question.
        kind: its answer type (:func:`qa.query.answer_type`) or None.
        question_numbers: numbers the question states (2+ digits).
        entry_text: the normalised question, alternates and answer of the entry.
        answer_norm: the normalised answer.
        asked: answer types the entry's question and alternates ask for (a how-question is
            refused by an entry whose phrasings all ask for a figure).
    """
    if years(question_norm) - years(entry_text):
        return "year"
    if months(question_norm) - months(entry_text):
        return "month"
    if kind == "how" and asked and asked <= FIGURE_TYPES:
        return "type:how"  # 「怎么注册」 is not answered by an entry written for 「有多少家」
    if kind in GATED_TYPES and kind not in asked and not sentence_has_type(answer_norm, kind, question_numbers,
                                                     question_norm=question_norm):
        return f"type:{kind}"
    return None
