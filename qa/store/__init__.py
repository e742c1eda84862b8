"""Storage: the only package that talks to SQLite (through sqlite-utils and sqlite3).

:class:`Store` opens the file, migrates the user-data schema and exposes one object per
concern: ``passages`` (the rebuildable index), ``documents`` (one document at a time, validity
settings), ``faq`` (curated entries), ``log`` (questions, feedback, reply dedupe, paging),
``contexts`` (conversation frames for follow-ups), ``accounts`` (staff console logins),
``reports`` (console statistics and audit reads), plus the cross-process reindex lock.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import time
from pathlib import Path

from qa.store.db import Database, StoreError, describe_database_error
from qa.store.passages import IndexBuild, IndexCounts, PassageIndex, SentenceRow, match_expression
from qa.store.schema import migrate

__all__ = ["Store", "StoreError", "ReindexBusy", "IndexBuild", "IndexCounts", "SentenceRow", "match_expression"]

#: A reindex that has not refreshed its lock for this long is presumed dead (killed -9,
#: power loss) and its lock may be taken over. Builds refresh it every chunk (< 1 s apart).
LOCK_STALE_S = 120.0


class ReindexBusy(StoreError):
    """Another reindex holds the lock; the message says which process and since when."""


class Store:
    """The SQLite file of one bot deployment.

    Args:
        path: database file (created with its directory when missing).

    Raises:
        StoreError: the file is not a usable SQLite database.
    """

    def __init__(self, path: Path) -> None:
        self.db = Database(path)
        try:
            migrate(self.db.conn)
        except sqlite3.DatabaseError as exc:
            raise StoreError(describe_database_error(path, exc)) from exc
        self.passages = PassageIndex(self.db)
        from qa.store.documents import DocumentCatalog
        self.documents = DocumentCatalog(self.db)
        from qa.store.accounts import AccountRows
        from qa.store.faq_rows import FaqRows
        from qa.store.contexts import ConversationContexts
        from qa.store.log import QuestionLog
        from qa.store.reports import Reports
        self.faq = FaqRows(self.db)
        self.log = QuestionLog(self.db)
        self.accounts = AccountRows(self.db)
        self.reports = Reports(self.db)
        self.contexts = ConversationContexts(self.db)

    @property
    def path(self) -> Path:
        return self.db.path

    def meta(self, key: str) -> str | None:
        row = self.db.conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self.db.write() as conn:
            conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    def versions(self) -> tuple[int, int]:
        """(index generation, FAQ version): both change whenever their data changes, so
        in-memory caches compare them before each use. One indexed read."""
        rows = dict(self.db.conn.execute(
            "SELECT key, value FROM meta WHERE key IN ('index_generation', 'faq_version')").fetchall())
        return int(rows.get("index_generation", 0)), int(rows.get("faq_version", 0))

    # -------------------------------------------------------------- reindex lock
    def acquire_reindex_lock(self, *, wait_s: float = 0.0) -> str:
        """Take the cross-process reindex lock; returns a token for :meth:`release_reindex_lock`.

        Raises:
            ReindexBusy: another live reindex holds it and ``wait_s`` passed.
        """
        token = f"{socket.gethostname()}:{os.getpid()}:{time.time():.6f}"
        deadline = time.monotonic() + wait_s
        while True:
            with self.db.write() as conn:
                row = conn.execute("SELECT value FROM meta WHERE key='reindex_lock'").fetchone()
                holder = json.loads(row[0]) if row else None
                if holder is None or not _alive(holder):
                    conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('reindex_lock', ?)",
                                 (json.dumps({"token": token, "host": socket.gethostname(), "pid": os.getpid(),
                                              "since": time.time(), "beat": time.time()}),))
                    return token
            if time.monotonic() >= deadline:
                since = time.strftime("%H:%M:%S", time.localtime(holder["since"]))
                raise ReindexBusy(f"另一个重建索引任务正在运行（进程 {holder['pid']}，开始于 {since}）")
            time.sleep(0.2)

    def refresh_reindex_lock(self, token: str) -> None:
        """Heartbeat: keep the lock fresh during a long build."""
        with self.db.write() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key='reindex_lock'").fetchone()
            if row and json.loads(row[0]).get("token") == token:
                holder = json.loads(row[0])
                holder["beat"] = time.time()
                conn.execute("UPDATE meta SET value=? WHERE key='reindex_lock'", (json.dumps(holder),))

    def release_reindex_lock(self, token: str) -> None:
        with self.db.write() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key='reindex_lock'").fetchone()
            if row and json.loads(row[0]).get("token") == token:
                conn.execute("DELETE FROM meta WHERE key='reindex_lock'")

    def close(self) -> None:
        self.db.close()


def _alive(holder: dict) -> bool:
    if time.time() - holder.get("beat", 0) > LOCK_STALE_S:
        return False
    if holder.get("host") != socket.gethostname():
        return True
    try:
        os.kill(int(holder["pid"]), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, ValueError, KeyError):
        return True
    return True
