"""What channels need from the service besides answers, so they never touch the store:
reply caches for retries, paging, forgetting a user, feedback, retention, stats, audit."""

from __future__ import annotations

import time


class ChannelSupport:
    """Mixed into :class:`qa.service.Service` (uses its ``store``, ``user_hash`` and ``record``)."""

    def cached_reply(self, channel: str, dedupe_key: str) -> str | None:
        """The reply already produced for a retried message (WeChat MsgId), or None."""
        return self.store.log.cached_reply(channel, dedupe_key)

    def remember_reply(self, channel: str, dedupe_key: str, user: str | int | None, reply: str) -> bool:
        """Cache the reply to a non-question message (an event); False if it was cached already."""
        return self.store.log.remember_reply(channel, dedupe_key, self.user_hash(channel, user), reply)

    def set_pending_page(self, channel: str, user: str | int, rest: str | None) -> None:
        """Keep (or clear) the unsent rest of a long reply for 「更多」."""
        key = self.user_hash(channel, user)
        if key:
            self.store.log.set_page(channel, key, rest)

    def pending_page(self, channel: str, user: str | int) -> str | None:
        key = self.user_hash(channel, user)
        return self.store.log.page(channel, key) if key else None

    def forget_user(self, channel: str, user: str | int) -> int:
        """Delete every logged question, cached reply and page of one user (unsubscribe)."""
        key = self.user_hash(channel, user)
        return self.store.log.delete_user(key) if key else 0

    def feedback(self, question_id: int, helpful: bool, *, user: str | int, channel: str) -> bool:
        """Record 👍/👎 from ``user`` against a question that user asked on ``channel``; False
        when it no longer exists or was asked by someone else (issue 14)."""
        user_hash = self.user_hash(channel, user)
        return user_hash is not None and self.store.log.set_feedback(question_id, 1 if helpful else -1,
                                                                     user_hash=user_hash)

    def purge_log(self, retention_days: int, *, now: float | None = None) -> int:
        """Delete log rows older than ``retention_days`` days. Returns rows deleted."""
        cutoff = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime((now or time.time()) - retention_days * 86400))
        return self.store.log.purge_before(cutoff)

    def stats(self, *, now: float | None = None) -> dict:
        """Usage figures for admins: questions today (UTC) and over 7 days, answer rate, top
        questions and top unanswered questions of the 7 days."""
        now = now or time.time()
        today = time.strftime("%Y-%m-%d", time.gmtime(now))
        week = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 7 * 86400))
        n_today, answered_today = self.store.log.count_since(today)
        n_week, answered_week = self.store.log.count_since(week)
        return {"today": n_today, "today_answered": answered_today, "week": n_week, "week_answered": answered_week,
                "answer_rate_week": (answered_week / n_week) if n_week else None,
                "top_questions": self.store.log.top_texts(week),
                "top_unanswered": self.store.log.top_texts(week, outcomes=("unanswered", "suggested", "hedged"))}

    def audit(self, actor: str, action: str, detail: str = "") -> None:
        """Record a staff or admin action (never pass secrets)."""
        self.store.log.audit(actor, action, detail)
