"""qa/store: FTS5 MATCH building, atomic reindex, FAQ rows with history, the question log."""

import shutil
import sqlite3
import threading

import pytest

from qa.indexer import reindex
from qa.store import ReindexBusy
from qa.store import Store, match_expression
from tests.conftest import SEED_ARTICLE
from tests.support.render import text as shown


@pytest.mark.parametrize("tokens, expected", [
    (["四集中", "床位"], '"四集中" OR "床位"'),
    (['a"b', "NEAR(", "*", "-", ":", "^", "+"], '"a""b" OR "NEAR(" OR "*" OR "-" OR ":" OR "^" OR "+"'),
    (["AND", "OR", "NOT", "AND"], '"AND" OR "OR" OR "NOT"'),
    (["", "  "], ""),
])
def test_match_expression_quotes_every_token(tokens, expected):
    assert match_expression(tokens) == expected


def test_fts_operators_are_plain_text(runtime):
    index = runtime.store.passages
    for token in ["NEAR(", "*", '"', "AND", "OR", "NOT", ":", "^", "-", "+", "col:x"]:
        index.sentence_hits(match_expression([token]), 5)  # must not raise an FTS5 syntax error


def test_reindex_is_idempotent(runtime, tmp_path):
    articles = tmp_path / "articles"
    articles.mkdir()
    shutil.copy(SEED_ARTICLE, articles / SEED_ARTICLE.name)
    first = reindex(runtime.store, articles, runtime.segmenter, replace=True)
    rows1 = runtime.store.db.conn.execute("SELECT id, text, tokens FROM sentences ORDER BY id").fetchall()
    second = reindex(runtime.store, articles, runtime.segmenter, replace=True)
    rows2 = runtime.store.db.conn.execute("SELECT id, text, tokens FROM sentences ORDER BY id").fetchall()
    assert (first.documents, first.sentences) == (second.documents, second.sentences) == (1, len(rows1))
    assert [tuple(r) for r in rows1] == [tuple(r) for r in rows2]
    assert second.generation == first.generation + 1


def test_answers_keep_working_during_reindex(runtime, tmp_path, settings):
    articles = tmp_path / "many"
    articles.mkdir()
    for i in range(60):
        shutil.copy(SEED_ARTICLE, articles / f"copy{i:03d}.txt")
    reader = Store(runtime.store.path)  # another connection, as another thread or process would have
    from qa.service import Service

    service = Service(reader, runtime.segmenter)
    errors, answers = [], []
    done = threading.Event()

    def rebuild():
        try:
            reindex(runtime.store, articles, runtime.segmenter, replace=True)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            done.set()

    thread = threading.Thread(target=rebuild)
    thread.start()
    while not done.is_set() or len(answers) < 5:
        answers.append(service.answer("宛城区2020年脱贫多少人？"))
    thread.join()
    assert not errors
    assert all(a.kind == "passage" and "2652" in shown(a) for a in answers)
    assert runtime.store.passages.counts().documents == 60
    reader.close()


def test_crashed_build_leaves_live_index_and_is_cleaned_up(runtime, tmp_path):
    before = runtime.store.passages.counts()
    build = runtime.store.passages.begin_build()
    build.add({"doc_id": "x", "title": "t", "cleaned_text": "x", "title_tokens": ""}, [], [])
    build.flush()
    del build  # the process "dies" here: no commit
    assert runtime.store.passages.counts() == before
    tables = {r[0] for r in runtime.store.db.conn.execute("SELECT name FROM sqlite_master")}
    assert "documents_build" in tables
    articles = tmp_path / "a"
    articles.mkdir()
    shutil.copy(SEED_ARTICLE, articles / "seed.txt")
    reindex(runtime.store, articles, runtime.segmenter, replace=True)
    tables = {r[0] for r in runtime.store.db.conn.execute("SELECT name FROM sqlite_master")}
    assert not any(t.endswith("_build") or t.endswith("_old") for t in tables)


def test_second_concurrent_reindex_is_refused(runtime, tmp_path):
    token = runtime.store.acquire_reindex_lock()
    try:
        with pytest.raises(ReindexBusy):
            reindex(runtime.store, SEED_ARTICLE.parent, runtime.segmenter)
    finally:
        runtime.store.release_reindex_lock(token)


def test_stale_lock_of_a_dead_process_is_taken_over(runtime):
    import json
    import socket
    import time

    runtime.store.set_meta("reindex_lock", json.dumps({"token": "x", "host": socket.gethostname(), "pid": 2 ** 22 + 7,
                                                       "since": time.time(), "beat": time.time()}))
    token = runtime.store.acquire_reindex_lock()
    runtime.store.release_reindex_lock(token)


def test_faq_rows_history_and_version(runtime):
    faq = runtime.store.faq
    version = faq.version()
    record = faq.add({"question": "测试问题？", "answer": "测试答案。", "alternates": ["问法一"]}, actor="cli:t")
    assert faq.version() == version + 1
    updated = faq.update(record.id, {"answer": "新答案。"}, actor="telegram:42")
    assert updated.answer == "新答案。" and updated.updated_by == "telegram:42"
    history = faq.history(record.id)
    assert [h["action"] for h in history] == ["add", "edit"]
    assert '"新答案。"' in history[1]["new"] and '"测试答案。"' in history[1]["old"]
    assert faq.update(record.id, {"answer": "新答案。"}, actor="x") == updated  # no-op writes nothing
    assert len(faq.history(record.id)) == 2


def test_seed_sync_keeps_staff_edits(runtime):
    faq = runtime.store.faq
    faq.update("F001", {"answer": "工作人员改过的答案。"}, actor="cli:staff")
    entry = {"id": "F001", "question": "两不愁三保障是什么意思？", "alternates": [], "answer": "种子里的新答案。",
             "source": "s", "tags": []}
    added, updated, kept = faq.sync_seed([(entry, "newhash")])
    assert (added, updated, kept) == (0, 0, 1)
    assert faq.get("F001").answer == "工作人员改过的答案。"


def test_question_log_dedupe_in_one_transaction(runtime):
    log = runtime.store.log
    qid = log.record(channel="wechat", user_hash="u1", text_norm="问", kind="none", outcome="unanswered",
                     confidence=0.1, faq_id=None, doc_id=None, candidates=[], dedupe_key="u1:123", reply="回复")
    assert log.cached_reply("wechat", "u1:123") == "回复"
    assert log.question(qid).text_norm == "问"
    assert log.delete_user("u1") >= 2
    assert log.cached_reply("wechat", "u1:123") is None


def test_not_a_database_is_reported(tmp_path):
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"this is not sqlite" * 100)
    from qa.store import StoreError

    with pytest.raises(StoreError, match="已损坏"):
        Store(bad)


def test_wal_mode(runtime):
    assert runtime.store.db.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert isinstance(runtime.store.db.conn, sqlite3.Connection)
