"""Read-only queries behind the staff console: questions per day, answer kinds, top FAQ hits,
feedback to review and the audit trail. Small-talk turns are left out of every figure.

All ``since`` arguments are UTC ISO dates or times (``2026-11-01`` or ``2026-11-01T00:00:00Z``),
compared as strings against the log's ``at`` column (indexed).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass

from qa.store.db import Database


@dataclass(frozen=True)
class FeedbackRow:
    """A logged answer a resident rated. ``feedback`` is 1 (👍) or -1 (👎)."""

    id: int
    at: str
    channel: str
    question: str
    kind: str
    confidence: float
    faq_id: str | None
    doc_id: str | None
    feedback: int


class Reports:
    """Aggregate reads of the question log and the audit table."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def per_day(self, since: str) -> list[tuple[str, int, int, dict[str, int]]]:
        """``(YYYY-MM-DD, questions, answered, {kind: questions})`` per UTC day with at least
        one question, oldest first (kinds: faq, passage, none). One scan of the covering
        index ``questions_at_kind``."""
        days: dict[str, list] = {}
        for day, kind, answered, n in self.db.conn.execute(
                "SELECT substr(at, 1, 10) AS day, kind, outcome = 'answered', COUNT(*) FROM questions "
                "WHERE at >= ? AND kind != 'smalltalk' GROUP BY day, kind, outcome = 'answered'", (since,)):
            row = days.setdefault(day, [day, 0, 0, {}])
            row[1] += n
            row[2] += n if answered else 0
            row[3][kind] = row[3].get(kind, 0) + n
        return [tuple(days[d]) for d in sorted(days)]

    def top_faq_hits(self, since: str, limit: int = 10) -> list[tuple[str, int]]:
        """FAQ entries that answered most often: ``(faq id, answers)``, most first."""
        return [(r[0], r[1]) for r in self.db.conn.execute(
            "SELECT faq_id, COUNT(*) AS n FROM questions WHERE at >= ? AND faq_id IS NOT NULL AND kind = 'faq' "
            "GROUP BY faq_id ORDER BY n DESC, faq_id LIMIT ?", (since, limit))]

    def feedback(self, *, value: int = -1, since: str = "", limit: int = 200) -> list[FeedbackRow]:
        """Rated answers (``value`` 1 or -1), newest first."""
        return [FeedbackRow(*r) for r in self.db.conn.execute(
            "SELECT id, at, channel, text_norm, kind, confidence, faq_id, doc_id, feedback FROM questions "
            "WHERE feedback = ? AND at >= ? ORDER BY id DESC LIMIT ?", (value, since, limit))]

    def quote_of(self, question_id: int) -> str:
        """The first passage candidate's text logged with a question ('' when none)."""
        row = self.db.conn.execute("SELECT candidates FROM questions WHERE id=?", (question_id,)).fetchone()
        for cand in json.loads(row[0]) if row else []:
            if cand.get("kind") == "passage":
                return cand.get("text", "")
        return ""

    def audit(self, *, limit: int = 100) -> list[dict]:
        """The latest audit rows (at, actor, action, detail), newest first."""
        return [dict(r) for r in self.db.conn.execute(
            "SELECT at, actor, action, detail FROM audit ORDER BY id DESC LIMIT ?", (limit,))]

    def documents(self) -> list[dict]:
        """Indexed documents (doc_id, title, date, source, path, n_sentences), by doc_id."""
        try:
            return [dict(r) for r in self.db.conn.execute(
                "SELECT doc_id, title, date, source, path, n_sentences FROM documents ORDER BY doc_id")]
        except sqlite3.OperationalError:  # no index built yet
            return []
