"""The question log, feedback, reply dedupe (WeChat retries), paging and the audit trail.

User ids are stored only as keyed hashes computed by the caller; this module never sees a
raw id. Times are UTC ISO-8601 strings (``2026-11-29T22:06:00Z``), which sort correctly.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass

from qa.store.db import Database


def _epoch(iso: str) -> float:
    """Seconds since 1970 of a UTC ``YYYY-MM-DD[THH:MM:SSZ]`` string."""
    import calendar

    fmt = "%Y-%m-%dT%H:%M:%SZ" if "T" in iso else "%Y-%m-%d"
    return float(calendar.timegm(time.strptime(iso, fmt)))


def utc_now() -> str:
    """Current UTC time as ``YYYY-MM-DDTHH:MM:SSZ``."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


@dataclass(frozen=True)
class LoggedQuestion:
    """A row of the question log as the unanswered queue and stats read it."""

    id: int
    at: str
    channel: str
    text_norm: str
    kind: str
    outcome: str
    confidence: float
    faq_id: str | None
    candidates: list
    understood: str | None = None


class QuestionLog:
    """Reads and writes of the log tables of one :class:`~qa.store.db.Database`."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def record(self, *, channel: str, user_hash: str | None, text_norm: str, kind: str, outcome: str,
               confidence: float, faq_id: str | None, doc_id: str | None, candidates: list,
               dedupe_key: str | None = None, reply: str | None = None, question_id: int | None = None,
               at: str | None = None, understood: str | None = None) -> int:
        """Log one answered question; with ``dedupe_key`` also cache ``reply`` for retries,
        in the same transaction. Returns the question id.

        Args:
            question_id: the id to use (the conversation layer allocates ids before the row is
                written, so a reply can carry it); None lets SQLite choose. An id already taken
                (a collision of two allocators) falls back to SQLite's choice.
            at: the UTC time the question arrived (default: now).
            understood: the question actually answered when it differs from the text (a
                follow-up rewritten from the conversation's context), normalised.

        Raises:
            qa.store.StoreError: the database stayed locked.
            sqlite3.OperationalError: the write failed (disk full, read-only file).
        """
        with self.db.write() as conn:
            values = (at or utc_now(), channel, user_hash, text_norm[:2000], kind, outcome, round(confidence, 4),
                      faq_id, doc_id, json.dumps(candidates, ensure_ascii=False), understood and understood[:2000])
            sql = ("INSERT INTO questions(id, at, channel, user_hash, text_norm, kind, outcome, confidence, faq_id, "
                   "doc_id, candidates, understood) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)")
            try:
                cur = conn.execute(sql, (question_id, *values))
            except sqlite3.IntegrityError:
                cur = conn.execute(sql, (None, *values))
            qid = int(cur.lastrowid)
            if dedupe_key is not None:
                conn.execute("INSERT OR IGNORE INTO replies(channel, dedupe_key, user_hash, question_id, reply, at) "
                             "VALUES (?,?,?,?,?,?)", (channel, dedupe_key, user_hash, qid, reply or "", utc_now()))
        return qid

    def remember_reply(self, channel: str, dedupe_key: str, user_hash: str | None, reply: str) -> bool:
        """Cache a reply that is not a logged question (events). False when already cached."""
        with self.db.write() as conn:
            cur = conn.execute("INSERT OR IGNORE INTO replies(channel, dedupe_key, user_hash, question_id, reply, at) "
                               "VALUES (?,?,?,NULL,?,?)", (channel, dedupe_key, user_hash, reply, utc_now()))
        return cur.rowcount == 1

    def cached_reply(self, channel: str, dedupe_key: str) -> str | None:
        """The reply already sent for this (channel, dedupe key), or None."""
        row = self.db.conn.execute("SELECT reply FROM replies WHERE channel=? AND dedupe_key=?",
                                   (channel, dedupe_key)).fetchone()
        return row[0] if row else None

    def set_feedback(self, question_id: int, value: int, *, user_hash: str) -> bool:
        """Record 👍 (1) or 👎 (-1) against a question logged for ``user_hash`` (the asker's
        pseudonymous id); False if it does not exist or someone else asked it."""
        with self.db.write() as conn:
            cur = conn.execute("UPDATE questions SET feedback=? WHERE id=? AND user_hash=?",
                               (value, question_id, user_hash))
        return cur.rowcount == 1

    def set_page(self, channel: str, user_hash: str, rest: str | None) -> None:
        """Store (or clear, with None) the unsent rest of a long reply for 「更多」."""
        with self.db.write() as conn:
            if rest:
                conn.execute("INSERT OR REPLACE INTO pages(channel, user_hash, rest, at) VALUES (?,?,?,?)",
                             (channel, user_hash, rest, utc_now()))
            else:
                conn.execute("DELETE FROM pages WHERE channel=? AND user_hash=?", (channel, user_hash))

    def page(self, channel: str, user_hash: str) -> str | None:
        row = self.db.conn.execute("SELECT rest FROM pages WHERE channel=? AND user_hash=?",
                                   (channel, user_hash)).fetchone()
        return row[0] if row else None

    _COLUMNS = "id, at, channel, text_norm, kind, outcome, confidence, faq_id, candidates, understood"

    @staticmethod
    def _logged(r) -> LoggedQuestion:
        return LoggedQuestion(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], json.loads(r[8]), r[9])

    @staticmethod
    def _since(select: str, since: str, outcomes: tuple[str, ...] | None) -> tuple[str, list]:
        """``select`` restricted to rows at or after ``since``, optionally to some outcomes."""
        sql, args = f"{select} WHERE at >= ?", [since]
        if outcomes:
            sql += f" AND outcome IN ({','.join('?' * len(outcomes))})"
            args.extend(outcomes)
        return sql, args

    def questions_since(self, since: str, *, outcomes: tuple[str, ...] | None = None,
                        limit: int = 20000) -> list[LoggedQuestion]:
        """Logged questions at or after ``since`` (ISO date or time), newest first."""
        sql, args = self._since(f"SELECT {self._COLUMNS} FROM questions", since, outcomes)
        return [self._logged(r) for r in self.db.conn.execute(sql + " ORDER BY id DESC LIMIT ?", [*args, limit])]

    def question(self, question_id: int) -> LoggedQuestion | None:
        r = self.db.conn.execute(f"SELECT {self._COLUMNS} FROM questions WHERE id=?", (question_id,)).fetchone()
        return self._logged(r) if r else None

    def count_since(self, since: str) -> tuple[int, int]:
        """(questions, answered questions) logged at or after ``since``."""
        row = self.db.conn.execute(
            "SELECT COUNT(*), COALESCE(SUM(outcome='answered'), 0) FROM questions WHERE at >= ? "
            "AND kind != 'smalltalk'", (since,)).fetchone()
        return int(row[0]), int(row[1])

    def top_texts(self, since: str, *, outcomes: tuple[str, ...] | None = None, limit: int = 5) -> list[tuple[str, int]]:
        """Most frequent normalised questions since ``since`` (optionally only some outcomes)."""
        sql, args = self._since("SELECT text_norm, COUNT(*) AS n FROM questions", since, outcomes)
        sql += " AND kind != 'smalltalk' GROUP BY text_norm ORDER BY n DESC, MAX(id) DESC LIMIT ?"
        return [(r[0], r[1]) for r in self.db.conn.execute(sql, [*args, limit])]

    def set_outcome(self, question_ids: list[int], outcome: str) -> int:
        """Re-label logged questions (``promoted`` once staff turned them into an FAQ entry)."""
        if not question_ids:
            return 0
        with self.db.write() as conn:
            marks = ",".join("?" * len(question_ids))
            return conn.execute(f"UPDATE questions SET outcome=? WHERE id IN ({marks})",
                                [outcome, *question_ids]).rowcount

    def delete_user(self, user_hash: str) -> int:
        """Delete everything logged for one user (WeChat unsubscribe). Returns rows deleted."""
        with self.db.write() as conn:
            n = conn.execute("DELETE FROM questions WHERE user_hash=?", (user_hash,)).rowcount
            n += conn.execute("DELETE FROM replies WHERE user_hash=?", (user_hash,)).rowcount
            n += conn.execute("DELETE FROM pages WHERE user_hash=?", (user_hash,)).rowcount
            n += conn.execute("DELETE FROM contexts WHERE user_hash=?", (user_hash,)).rowcount
        return n

    def purge_before(self, cutoff: str) -> int:
        """Retention: delete log rows, cached replies and pages older than ``cutoff``."""
        with self.db.write() as conn:
            n = conn.execute("DELETE FROM questions WHERE at < ?", (cutoff,)).rowcount
            n += conn.execute("DELETE FROM replies WHERE at < ?", (cutoff,)).rowcount
            n += conn.execute("DELETE FROM pages WHERE at < ?", (cutoff,)).rowcount
            n += conn.execute("DELETE FROM contexts WHERE at < ?", (_epoch(cutoff),)).rowcount
        return n

    def audit(self, actor: str, action: str, detail: str = "") -> None:
        """Append a staff/admin action to the audit trail (never secrets)."""
        with self.db.write() as conn:
            conn.execute("INSERT INTO audit(at, actor, action, detail) VALUES (?,?,?,?)",
                         (utc_now(), actor, action, detail[:1000]))
