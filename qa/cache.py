"""A bounded, thread-safe LRU of answers keyed by the data versions they were computed from.

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


class AnswerCache:
    """LRU of :class:`~qa.answer.Answer` objects; ``size`` 0 disables it."""

    def __init__(self, size: int = ANSWER_CACHE_SIZE) -> None:
        if size < 0:
            raise ValueError("size must be >= 0")
        self.size = size
        self._items: OrderedDict[Hashable, Answer] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Answer | None:
        """A private copy of the cached answer, or None."""
        with self._lock:
            found = self._items.get(key)
            if found is None:
                return None
            self._items.move_to_end(key)
        return _copy(found)

    def put(self, key: Hashable, answer: Answer) -> None:
        if self.size == 0:
            return
        with self._lock:
            self._items[key] = _copy(answer)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


def _copy(answer: Answer) -> Answer:
    return replace(answer, citations=list(answer.citations), suggestions=list(answer.suggestions),
                   suggestion_ids=list(answer.suggestion_ids))
