"""conversation/log_writer.py: writes after the reply, in order, retried until they land."""

from __future__ import annotations

import sqlite3
import threading
import time

from conversation.log_writer import LogWriter
from qa.store.db import classify_error


def _rows(store):
    return [tuple(r) for r in store.db.conn.execute("SELECT id, text_norm FROM questions WHERE channel='w' ORDER BY id")]


def _record(qid, text):
    return lambda log: log.record(channel="w", user_hash="u", text_norm=text, kind="none", outcome="unanswered",
                                  confidence=0.0, faq_id=None, doc_id=None, candidates=[], question_id=qid)


def test_writes_land_in_order_on_a_real_database(runtime):
    writer = LogWriter(runtime.store.log)
    for i in range(20):
        writer.submit(_record(1000 + i, f"问题{i}"))
    assert writer.flush(5)
    assert _rows(runtime.store) == [(1000 + i, f"问题{i}") for i in range(20)]
    assert writer.health().to_json() == {"pending": 0, "failures": 0, "last_error": None, "failing": False}
    assert writer.close()


def test_a_full_disk_delays_the_write_and_health_says_so(runtime):
    writer = LogWriter(runtime.store.log)
    disk_full, failed = threading.Event(), []
    disk_full.set()

    def job(log):
        if disk_full.is_set():
            failed.append(1)
            raise sqlite3.OperationalError("database or disk is full")
        _record(2000, "满盘时的问题")(log)

    writer.submit(job)
    deadline = time.monotonic() + 5
    while len(failed) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    health = writer.health()
    assert health.failing and health.last_error == "disk_full" and health.failures >= 2
    assert _rows(runtime.store) == []
    disk_full.clear()  # space is back: the same write lands, nothing is lost
    assert writer.flush(10)
    assert _rows(runtime.store) == [(2000, "满盘时的问题")]
    assert not writer.health().failing
    assert writer.close()


def test_close_gives_up_on_writes_that_keep_failing(runtime):
    writer = LogWriter(runtime.store.log)
    writer.submit(lambda log: (_ for _ in ()).throw(sqlite3.OperationalError("attempt to write a readonly database")))
    started = time.monotonic()
    assert writer.close(timeout=30, give_up_failing_s=0.5) is False
    assert time.monotonic() - started < 5


def test_error_kinds():
    assert classify_error(sqlite3.OperationalError("database or disk is full")) == "disk_full"
    assert classify_error(sqlite3.OperationalError("attempt to write a readonly database")) == "read_only"
    assert classify_error(sqlite3.OperationalError("database is locked")) == "locked"
    assert classify_error(sqlite3.OperationalError("disk I/O error")) == "io"
    assert classify_error(ValueError("x")) == "other"
