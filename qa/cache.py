"""Bounded, thread-safe LRU maps: :class:`Lru`, and :class:`AnswerCache`, answers keyed by the
data versions they were computed from.

Residents ask the same few questions over and over; a hit costs a dictionary lookup instead of
~3 ms of ranking. Keys include ``(index generation, FAQ version)``, so an answer computed from
data that has since changed is never served again (it simply ages out).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import replace

from qa.answer import Answer

#: Answers kept (measured: 4,096 answers take about 10 MB).
ANSWER_CACHE_SIZE = 4096


class Lru:
    """A bounded, thread-safe least-recently-used map; ``size`` 0 keeps nothing.

    Raises:
        ValueError: a negative size.
    """

    def __init__(self, size: int) -> None:
        if size < 0:
            raise ValueError("size must be >= 0")
        self.size = size
        self._items: OrderedDict[Hashable, object] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable):
        """The value of ``key`` (now the most recently used), or None."""
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: Hashable, value) -> None:
        if self.size == 0:
            return
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def pop(self, key: Hashable) -> None:
        with self._lock:
            self._items.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


class AnswerCache(Lru):
    """LRU of :class:`~qa.answer.Answer` objects handing out private copies; ``size`` 0
    disables it."""

    def __init__(self, size: int = ANSWER_CACHE_SIZE) -> None:
        super().__init__(size)

    def get(self, key: Hashable) -> Answer | None:
        """A private copy of the cached answer, or None."""
        found = super().get(key)
        return None if found is None else _copy(found)

    def put(self, key: Hashable, answer: Answer) -> None:
        super().put(key, _copy(answer))


def _copy(answer: Answer) -> Answer:
    return replace(answer, citations=list(answer.citations), suggestions=list(answer.suggestions),
                   suggestion_ids=list(answer.suggestion_ids))
