"""A small stale-while-revalidate cache for console figures that are costly to compute (the
unanswered queue, the stats page) and may be up to a minute old.

A value younger than ``ttl_s`` is returned as is; an older one is returned too while one
background thread recomputes it; a missing key (first use, or the key changed because the data
changed, e.g. the FAQ version after a promote) is computed in the caller's thread.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable
from typing import Any

log = logging.getLogger(__name__)


class StaleCache:
    """Thread-safe; holds at most ``max_keys`` values (oldest dropped first)."""

    def __init__(self, ttl_s: float = 60.0, *, max_keys: int = 32) -> None:
        self.ttl_s, self.max_keys = ttl_s, max_keys
        self._values: dict[Hashable, tuple[float, Any]] = {}
        self._refreshing: set[Hashable] = set()
        self._lock = threading.Lock()

    def get(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """The cached value of ``key``, computing it with ``compute()`` when missing."""
        with self._lock:
            item = self._values.get(key)
            stale = item is not None and time.monotonic() - item[0] >= self.ttl_s and key not in self._refreshing
            if stale:
                self._refreshing.add(key)
        if item is None:
            value = compute()
            self._put(key, value)
            return value
        if stale:
            threading.Thread(target=self._refresh, args=(key, compute), name="console-cache", daemon=True).start()
        return item[1]

    def _put(self, key: Hashable, value: Any) -> None:
        with self._lock:
            self._values[key] = (time.monotonic(), value)
            while len(self._values) > self.max_keys:
                self._values.pop(next(iter(self._values)))

    def _refresh(self, key: Hashable, compute: Callable[[], Any]) -> None:
        try:
            self._put(key, compute())
        except Exception:  # the stale value stays; the next request tries again
            log.exception("console cache: refresh failed")
        finally:
            with self._lock:
                self._refreshing.discard(key)
