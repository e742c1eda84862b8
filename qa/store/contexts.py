"""Conversation contexts: the frame of each conversation's last turn (follow-ups, numbered
picks), one row per (scope, user hash), so a restarted process or a second worker continues a
live conversation.

``scope`` names the conversation's place ("wechat", "telegram:<chat id>"); ``user_hash`` is the
caller's keyed hash of the user (this module never sees a raw id). ``at`` is seconds since
1970 (UTC) of the turn that left the frame; a frame older than the caller's window is ignored.
"""

from __future__ import annotations

import json

from qa.store.db import Database


class ConversationContexts:
    """Reads and writes of the ``contexts`` table of one :class:`~qa.store.db.Database`."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, scope: str, user_hash: str, *, newer_than: float) -> tuple[dict, float] | None:
        """(frame, at) of the conversation when it was saved after ``newer_than`` (seconds
        since 1970), else None. One primary-key read."""
        row = self.db.conn.execute("SELECT frame, at FROM contexts WHERE scope=? AND user_hash=? AND at > ?",
                                   (scope, user_hash, newer_than)).fetchone()
        if row is None:
            return None
        try:
            frame = json.loads(row[0])
        except ValueError:
            return None
        return (frame, float(row[1])) if isinstance(frame, dict) else None

    def put(self, scope: str, user_hash: str, frame: dict | None, at: float) -> None:
        """Save (or, with None, forget) the conversation's frame as of ``at``. A row saved
        later than ``at`` (by another worker) is kept.

        Raises:
            qa.store.StoreError: the database stayed locked.
        """
        with self.db.write() as conn:
            if frame is None:
                conn.execute("DELETE FROM contexts WHERE scope=? AND user_hash=? AND at <= ?", (scope, user_hash, at))
                return
            conn.execute("INSERT INTO contexts(scope, user_hash, frame, at) VALUES (?,?,?,?) "
                         "ON CONFLICT(scope, user_hash) DO UPDATE SET frame=excluded.frame, at=excluded.at "
                         "WHERE excluded.at >= contexts.at",
                         (scope, user_hash, json.dumps(frame, ensure_ascii=False), at))

    def purge_before(self, at: float) -> int:
        """Delete frames saved before ``at`` (expired conversations). Returns rows deleted."""
        with self.db.write() as conn:
            return conn.execute("DELETE FROM contexts WHERE at < ?", (at,)).rowcount
