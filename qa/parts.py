"""Multi-part and list questions: which further sentences to quote beside the best one.

「临时救助一月二月分别拨了多少钱」「几回，各多少」「还有哪些」 are answered by several sentences
(92万元 in one, 67万元 in the next). :func:`is_multipart` recognises such questions and
:func:`extra_sentences` picks, from the ranked candidates, up to ``residents.max_citations - 1``
further sentences that score close to the best (``residents.part_window``), cover the question
about as well, carry the asked answer type, and add a part the quoted ones lack (another month
or year the question names, or another value of the asked type). Pure; no database.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from qa.query import ANSWER_TYPE_PREDICATES, Query, sentence_has_type

_MULTIPART = re.compile(r"分别|各(?:是|有|拨|发|给|多少|几)|几回|几次|哪几|哪些|都有什么|还有什么|和.{0,8}各")
_MONTH_OR_YEAR = re.compile(r"(?<!\d)((?:19|20)\d{2}年|(?:1[0-2]|[1-9])月)")
#: A further sentence must cover at least this share of the best sentence's coverage.
COVERAGE_SHARE = 0.75


def is_multipart(query: Query) -> bool:
    """True for questions that ask for several parts (分别, 各多少, 几回, 哪些 ...) or name two or
    more months or years (一月二月 ... 多少)."""
    return bool(_MULTIPART.search(query.norm)) or len(set(_MONTH_OR_YEAR.findall(query.norm))) >= 2


def _values(norm: str, kind: str | None, numbers: frozenset[str]) -> set[str]:
    pattern = ANSWER_TYPE_PREDICATES.get(kind or "")
    if pattern is None:
        return set()
    out = set()
    for match in pattern.finditer(norm):
        value = next((g for g in match.groups() if g), match.group(0))
        if value.rstrip("余多") not in numbers:
            out.add(match.group(0))
    return out


def extra_sentences(query: Query, ranked: Sequence, chosen_norms: Sequence[str], *, limit: int,
                    window: float) -> list:
    """Further candidates (in ranked order) worth quoting for a multi-part question.

    Args:
        query: the analysed question (:func:`is_multipart` should be true).
        ranked: candidates best first (objects with ``key``, ``norm``, ``score``, ``features``).
        chosen_norms: normalised texts already quoted (the best sentence and its neighbour).
        limit: how many further sentences at most (>= 0).
        window: score units below the best a further sentence may be.

    Returns:
        Up to ``limit`` candidates from ``ranked[1:]``.
    """
    if limit <= 0 or not ranked:
        return []
    best = ranked[0]
    quoted = "".join(chosen_norms)
    asked = set(_MONTH_OR_YEAR.findall(query.norm))
    covered_time = {p for p in asked if p in quoted}
    values = _values(quoted, query.answer_type, query.numbers)
    typed = query.answer_type not in (None, "how", "list")  # a list item need not hold 、
    out = []
    for cand in ranked[1:]:
        if len(out) >= limit or cand.score < best.score - window:
            break
        if cand.norm in quoted:
            continue
        if cand.features.get("coverage", 0.0) < COVERAGE_SHARE * best.features.get("coverage", 0.0):
            continue
        if typed and not sentence_has_type(cand.norm, query.answer_type, query.numbers):
            continue
        new_time = {p for p in asked if p in cand.norm} - covered_time
        new_values = _values(cand.norm, query.answer_type, query.numbers) - values
        if asked and not new_time:
            continue
        if not asked and typed and not new_values:
            continue
        if not asked and not typed and query.answer_type != "list":
            continue
        out.append(cand)
        quoted += cand.norm
        covered_time |= new_time
        values |= new_values
    return out
