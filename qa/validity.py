"""Is a document in force, and which candidate answer should win because of it.

Pure functions over plain values; :mod:`qa.retrieve` supplies the documents' statuses (from
the index and staff settings, see ``qa.store.documents``) and the date.

Rules (DESIGN.md "Documents", issue 13): a document is *not current* when its status is
已废止 or 已修订, when its ``valid_until`` has passed, or when another indexed document
supersedes it. An answer never presents such a document as current: a current document's
candidate wins when it scores nearly as well (:data:`CURRENT_MARGIN`, or
:data:`SUCCESSOR_MARGIN` for the document that replaced it); when only a non-current
document answers, the reply says so (「该文件已于…废止，以下内容仅供参考」).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from qa.doc_meta import STATUS_AMENDED, STATUS_CURRENT, STATUS_REPEALED

#: Score units (qa.rank linear score; the margin feature saturates at 2.0): a current
#: document's candidate this close to a non-current winner takes its place.
CURRENT_MARGIN = 1.0
#: The document that supersedes the winner's document gets a wider margin: it states the
#: same rules in their current form.
SUCCESSOR_MARGIN = 2.0
#: Candidates looked at for a current alternative.
LOOKAHEAD = 30

TEXT_REPEALED = "该文件已于{date}废止，以下内容仅供参考。"
TEXT_REPEALED_UNDATED = "该文件已废止，以下内容仅供参考。"
TEXT_EXPIRED = "该文件已于{date}到期失效，以下内容仅供参考。"
TEXT_SUPERSEDED = "该文件已被《{title}》替代，以下内容仅供参考。"
TEXT_AMENDED = "该文件已修订，以下内容仅供参考，请以修订后的文件为准。"
TEXT_NOT_YET = "该文件自{date}起施行，以下内容在此之前仅供参考。"

C = TypeVar("C")


@dataclass(frozen=True)
class DocStatus:
    """What decides whether a document is current.

    Attributes:
        doc_id: the document.
        status: 现行有效 / 已废止 / 已修订, or None when nothing says.
        valid_from, valid_until: ISO dates or None.
        superseded_by: title of an indexed document that supersedes this one, or None.
    """

    doc_id: str
    status: str | None = None
    valid_from: str | None = None
    valid_until: str | None = None
    superseded_by: str | None = None


@dataclass(frozen=True)
class Verdict:
    """``current``: may be presented as in force; ``notice``: the sentence shown before a
    quote from it (None for current documents)."""

    current: bool
    notice: str | None = None


def _cn_date(iso: str) -> str:
    day = dt.date.fromisoformat(iso)
    return f"{day.year}年{day.month}月{day.day}日"


def assess(doc: DocStatus, today: dt.date) -> Verdict:
    """The verdict for one document on ``today``.

    Order: an explicit 已废止 status, a passed ``valid_until``, a superseding document, an
    已修订 status, a ``valid_from`` still ahead (current, but with a notice). Malformed
    dates are ignored (treated as absent).
    """
    until = _date(doc.valid_until)
    if doc.status == STATUS_REPEALED:
        when = until if until and until <= today else None
        return Verdict(False, TEXT_REPEALED.format(date=_cn_date(when.isoformat())) if when else TEXT_REPEALED_UNDATED)
    if until is not None and until < today:
        return Verdict(False, TEXT_EXPIRED.format(date=_cn_date(until.isoformat())))
    if doc.superseded_by and doc.status != STATUS_CURRENT:
        return Verdict(False, TEXT_SUPERSEDED.format(title=doc.superseded_by.strip("《》")))
    if doc.status == STATUS_AMENDED:
        return Verdict(False, TEXT_AMENDED)
    start = _date(doc.valid_from)
    if start is not None and start > today:
        return Verdict(True, TEXT_NOT_YET.format(date=_cn_date(start.isoformat())))
    return Verdict(True, None)


def _date(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


def prefer_current(ranked: Sequence[C], *, doc_of: Callable[[C], str], score_of: Callable[[C], float],
                   verdicts: dict[str, Verdict], successors: dict[str, str] | None = None) -> tuple[list[C], str | None]:
    """Reorder ranked candidates so that a non-current document does not win over a current one.

    Args:
        ranked: candidates, best first.
        doc_of, score_of: the candidate's doc_id and linear score.
        verdicts: {doc_id: Verdict}; documents missing from it count as current.
        successors: {doc_id: doc_id of the document that supersedes it}.

    Returns:
        (the candidates with the chosen one first, the notice to show with it or None).
        The input is not modified.
    """
    ranked = list(ranked)
    if not ranked:
        return ranked, None
    best = ranked[0]
    verdict = verdicts.get(doc_of(best), Verdict(True))
    if verdict.current:
        return ranked, verdict.notice
    successor = (successors or {}).get(doc_of(best))
    for i, cand in enumerate(ranked[1:LOOKAHEAD], 1):
        other = verdicts.get(doc_of(cand), Verdict(True))
        if not other.current:
            continue
        margin = SUCCESSOR_MARGIN if doc_of(cand) == successor else CURRENT_MARGIN
        if score_of(cand) >= score_of(best) - margin:
            return [cand] + ranked[:i] + ranked[i + 1:], other.notice
    return ranked, verdict.notice
