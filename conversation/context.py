"""Where conversation frames live: SQLite (so a restart or a second worker process continues a
live conversation) with an in-memory copy of the frames this process saved but the background
writer may not have written yet.

A conversation is keyed by ``scope`` (the channel, or ``"telegram:<chat id>"`` so that a
Telegram group keeps one context per user in that chat) and the pseudonymous user hash. A
frame older than ``minutes`` (BOT_CONTEXT_MINUTES) is ignored.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

from conversation.log_writer import LogWriter
from qa.frame import Frame
from qa.store import Store

#: Frames kept in memory (the database keeps them all).
RECENT_FRAMES = 20_000


class ContextKeeper:
    """Loads and saves conversation frames.

    Args:
        store: the store whose ``contexts`` table holds frames.
        writer: the background writer saves go through (the reply never waits for it).
        minutes: how long a frame lives after the turn that left it (1..1440).
    """

    def __init__(self, store: Store, writer: LogWriter, *, minutes: int) -> None:
        if minutes <= 0:
            raise ValueError("minutes must be > 0")
        self.store, self.writer, self.ttl_s = store, writer, minutes * 60.0
        self._recent: OrderedDict[tuple[str, str], tuple[Frame | None, float]] = OrderedDict()
        self._lock = threading.Lock()

    def load(self, scope: str, user_hash: str | None, *, now: float | None = None) -> Frame | None:
        """The live frame of this conversation, or None (no user, none saved, or expired).
        One primary-key read; the newer of the database row and this process's own save wins."""
        if user_hash is None:
            return None
        now = time.time() if now is None else now
        newer_than = now - self.ttl_s
        with self._lock:
            mine = self._recent.get((scope, user_hash))
        row = self.store.contexts.get(scope, user_hash, newer_than=newer_than)
        candidates = [c for c in (mine, (Frame.from_json(row[0]), row[1]) if row else None) if c and c[1] > newer_than]
        if not candidates:
            return None
        return max(candidates, key=lambda c: c[1])[0]

    def save(self, scope: str, user_hash: str | None, frame: Frame | None, *, now: float | None = None) -> None:
        """Keep ``frame`` (None forgets the conversation) as of ``now``; written in the background."""
        if user_hash is None:
            return
        now = time.time() if now is None else now
        with self._lock:
            self._recent[(scope, user_hash)] = (frame, now)
            self._recent.move_to_end((scope, user_hash))
            while len(self._recent) > RECENT_FRAMES:
                self._recent.popitem(last=False)
        data = frame.to_json() if frame is not None else None
        contexts = self.store.contexts
        self.writer.submit(lambda _log: contexts.put(scope, user_hash, data, now))

    def forget_user(self, user_hash: str) -> None:
        """Drop this process's copies of one user's frames (the database rows go with the
        user's log, :meth:`qa.store.log.QuestionLog.delete_user`)."""
        with self._lock:
            for key in [k for k in self._recent if k[1] == user_hash]:
                del self._recent[key]
