"""Per-user rate limiting (sliding window, in memory, thread-safe).

One bot process serves each channel, so an in-process window is enough; a restart forgets
the counts, which errs on the side of the resident.
"""

from __future__ import annotations

import threading
import time
from collections import deque

#: Shown when a resident sends more than the limit.
TEXT_RATE_LIMITED = "您提问太快了，请稍等一分钟再问。感谢理解！"
#: Users tracked at most; the least recently seen are dropped first (bounds memory under abuse).
MAX_USERS = 100_000


class RateLimiter:
    """At most ``limit`` events per ``window_s`` seconds per key.

    Args:
        limit: events allowed per window, >= 1 (BOT_RATE_LIMIT, default 20 a minute).
        window_s: window length in seconds.
    """

    def __init__(self, limit: int, window_s: float = 60.0) -> None:
        if limit < 1:
            raise ValueError("limit must be >= 1")
        self.limit, self.window_s = limit, window_s
        self._events: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str, *, now: float | None = None) -> bool:
        """Record one event for ``key``; False when it exceeds the limit (not recorded then)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            events = self._events.pop(key, None) or deque()
            while events and now - events[0] >= self.window_s:
                events.popleft()
            allowed = len(events) < self.limit
            if allowed:
                events.append(now)
            self._events[key] = events  # re-insert: dict order = recency
            if len(self._events) > MAX_USERS:
                self._events.pop(next(iter(self._events)))
            return allowed
