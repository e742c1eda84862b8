"""The question log's writer: one background thread, so no reply waits for SQLite's write lock.

Writes are queued in order and retried until they succeed: a full disk, a read-only file or
another process holding the write lock delays the log, never an answer, and loses nothing
while the process lives (issue 14: "compute, reply, then log (queued, never lost)").
:meth:`LogWriter.health` reports the backlog and the last failure for ``/healthz``.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from qa.store import StoreError
from qa.store.db import classify_error
from qa.store.log import QuestionLog

log = logging.getLogger(__name__)

#: Seconds between retries of a failing write: doubling from the first to the last value.
RETRY_FIRST_S, RETRY_MAX_S = 0.1, 5.0
#: Retries of a write that failed for a reason other than the database being unavailable
#: (a bug, a constraint): after these it is dropped with an error in the log.
MAX_OTHER_FAILURES = 3


@dataclass
class WriterHealth:
    """``pending`` writes queued; ``failures`` since start; ``last_error`` kind (or None; one of
    :func:`qa.store.db.classify_error`'s kinds);
    ``failing`` is True while the oldest write keeps failing."""

    pending: int
    failures: int
    last_error: str | None
    failing: bool

    def to_json(self) -> dict:
        return {"pending": self.pending, "failures": self.failures, "last_error": self.last_error,
                "failing": self.failing}


class LogWriter:
    """Runs ``job(question_log)`` callables in submission order on one daemon thread.

    Args:
        question_log: the store's :class:`~qa.store.log.QuestionLog`.
    """

    def __init__(self, question_log: QuestionLog) -> None:
        self.question_log = question_log
        self._queue: queue.Queue = queue.Queue()
        self._failures = 0
        self._last_error: str | None = None
        self._failing = False
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="question-log", daemon=True)
        self._thread.start()

    def submit(self, job: Callable[[QuestionLog], object]) -> None:
        """Queue one write (never blocks, never raises)."""
        if self._closed:
            log.error("question log: write submitted after close; writing it now")
            self._write(job)
            return
        self._queue.put(job)

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every write queued so far is done; False on timeout."""
        done = threading.Event()
        self._queue.put(done)
        return done.wait(timeout)

    def close(self, timeout: float = 30.0, *, give_up_failing_s: float = 3.0) -> bool:
        """Write what is queued and stop the thread; False when writes could not be saved (they
        are lost with the process, and logged). Waits up to ``timeout`` seconds while writes
        make progress, but only ``give_up_failing_s`` once they keep failing (a full disk must
        not hold a command for half a minute after its answer was printed)."""
        if self._closed:
            return True
        done = threading.Event()
        self._queue.put(done)
        deadline, failing_since = time.monotonic() + timeout, None
        while not done.wait(0.1):
            now = time.monotonic()
            failing_since = (failing_since or now) if self._failing else None
            if now > deadline or (failing_since is not None and now - failing_since > give_up_failing_s):
                break
        finished = done.is_set()
        self._closed = True
        self._queue.put(None)
        self._thread.join(1.0)
        if not finished:
            log.error("question log: %d writes could not be saved before shutdown", self._queue.qsize())
        return finished

    def health(self) -> WriterHealth:
        return WriterHealth(self._queue.qsize(), self._failures, self._last_error, self._failing)

    # ------------------------------------------------------------------- thread
    def _run(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            if isinstance(job, threading.Event):
                job.set()
                continue
            self._write(job)

    def _write(self, job: Callable[[QuestionLog], object]) -> None:
        delay, other = RETRY_FIRST_S, 0
        while True:
            try:
                job(self.question_log)
                self._failing = False
                return
            except (StoreError, sqlite3.OperationalError, sqlite3.DatabaseError) as exc:
                kind = "locked" if isinstance(exc, StoreError) else classify_error(exc)
                if kind in ("other", "damaged"):
                    other += 1
            except Exception:  # a bug must not stop the writer
                kind, other = "other", other + 1
                log.exception("question log: write failed")
            self._failures += 1
            self._last_error, self._failing = kind, True
            if other >= MAX_OTHER_FAILURES:
                log.error("question log: dropped a write after %d failures (%s)", other, kind)
                self._failing = False
                return
            if self._failures in (1, 10, 100) or self._failures % 1000 == 0:
                log.warning("question log: write failed (%s); retrying", kind)
            time.sleep(delay)
            delay = min(delay * 2, RETRY_MAX_S)
