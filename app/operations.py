"""Staff and admin operations, as one object the wiring hands to channels (Telegram staff
commands, the web console). Channels never reach :mod:`qa.store` or :mod:`qa.indexer`; they call
these methods (blocking: run them off the event loop).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from conversation.identity import UserHasher
from faq.seed import sync_seed
from faq.staff import FaqStaff
from qa.indexer import reindex
from qa.store import ReindexBusy, Store
from qa.text import Segmenter

#: What ``reindex`` says when another reindex holds the lock.
TEXT_REINDEX_BUSY = "另一个重建索引任务正在运行，请稍后再试。"


class Operations:
    """FAQ curation, the unanswered queue, reindex, stats and the audit trail of one store.

    Args:
        store: the open store.
        segmenter: the process's segmenter (FAQ near-duplicate checks, reindex).
        hasher: pseudonymous user ids (audit lines name unlisted users by pseudonym only).
        articles_dir: ``() -> Path`` of the articles directory a plain reindex uses.
        faq_seed_dir: the seed FAQ directory re-loaded after a reindex.
    """

    def __init__(self, store: Store, segmenter: Segmenter, *, hasher: UserHasher,
                 articles_dir: Callable[[], Path], faq_seed_dir: Path) -> None:
        self.store, self.segmenter, self.pseudonym = store, segmenter, hasher
        self.faq = FaqStaff(store, segmenter)
        self._articles_dir, self._faq_seed_dir = articles_dir, faq_seed_dir

    def reindex(self, articles_dir: Path | None = None, *, wait_s: float = 0.0,
                replace: bool = False) -> tuple[bool, str]:
        """Rebuild the passage index and re-load the seed FAQ (staff edits are kept);
        ``replace`` allows a folder that drops documents indexed before (see
        :func:`qa.indexer.reindex`).

        Returns ``(True, summary)`` or ``(False, reason)`` when another reindex is running.

        Raises:
            OSError, ValueError: the articles directory is missing, empty or unreadable, or it
                would drop documents without ``replace`` (:class:`qa.indexer.ReplaceRefused`).
        """
        try:
            report = reindex(self.store, Path(articles_dir or self._articles_dir()), self.segmenter, wait_s=wait_s,
                             replace=replace)
        except ReindexBusy:
            return False, TEXT_REINDEX_BUSY
        sync_seed(self.store, self._faq_seed_dir)
        return True, report.summary()

    def audit(self, actor: str, action: str, detail: str = "") -> None:
        """Record a staff or admin action (never pass secrets)."""
        self.store.log.audit(actor, action, detail)

    def stats(self, *, now: float | None = None) -> dict:
        """Usage figures: questions today (UTC) and over 7 days, answer rate, top questions and
        top unanswered questions of the 7 days."""
        now = now or time.time()
        today = time.strftime("%Y-%m-%d", time.gmtime(now))
        week = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 7 * 86400))
        n_today, answered_today = self.store.log.count_since(today)
        n_week, answered_week = self.store.log.count_since(week)
        return {"today": n_today, "today_answered": answered_today, "week": n_week, "week_answered": answered_week,
                "answer_rate_week": (answered_week / n_week) if n_week else None,
                "top_questions": self.store.log.top_texts(week),
                "top_unanswered": self.store.log.top_texts(week, outcomes=("unanswered", "suggested", "hedged"))}

    def purge_log(self, retention_days: int, *, now: float | None = None) -> int:
        """Delete log rows older than ``retention_days`` days. Returns rows deleted."""
        cutoff = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime((now or time.time()) - retention_days * 86400))
        return self.store.log.purge_before(cutoff)
