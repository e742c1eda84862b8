"""SQLite connection handling: one file, WAL, thread-local connections, explicit transactions.

Every write runs in ``BEGIN IMMEDIATE`` so a writer takes the write lock up front and waits
for it (``busy_timeout``) instead of failing half-way; readers run in a deferred transaction
so one answer sees one consistent snapshot even while a reindex swaps tables.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

#: How long a writer waits for another process's write lock. A reindex commits in chunks of
#: well under a second (measured on 1,848 documents), so 30 s is generous headroom.
BUSY_TIMEOUT_S = 30.0


class StoreError(RuntimeError):
    """The database cannot be used (unreadable file, corrupt, locked for too long).
    The message says what to do."""


def describe_open_error(path: Path, exc: Exception) -> str:
    """A message that says what to do about a database that cannot be used: a path or
    permission problem (fix it; never delete the file, it holds the FAQ and the log) or a
    damaged file (restore a backup)."""
    text = str(exc)
    if "unable to open" in text or "readonly" in text or "read-only" in text or Path(path).is_dir():
        return (f"无法打开数据库 {path}（{text}）：请确认路径是一个文件、所在目录存在且可写，"
                f"并且当前用户有读写权限（机器人需要写入问题日志）。")
    return (f"数据库 {path} 已损坏或不是机器人的数据库（{text}）：请停止机器人，用备份恢复"
            f"（python3 bot.py backup 生成的文件），再运行 python3 bot.py check。")


class Database:
    """One SQLite file shared by threads (one connection per thread) and processes.

    Args:
        path: the database file; its directory is created when missing.
        busy_timeout_s: seconds a statement waits for another connection's lock.

    Raises:
        StoreError: the file cannot be opened as a database.
    """

    def __init__(self, path: Path, *, busy_timeout_s: float = BUSY_TIMEOUT_S) -> None:
        self.path = Path(path)
        self.busy_timeout_s = busy_timeout_s
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        if str(self.path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self.conn.execute("PRAGMA journal_mode=WAL")

    @property
    def conn(self) -> sqlite3.Connection:
        """This thread's connection (autocommit mode; transactions are explicit)."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            try:
                conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                                       timeout=self.busy_timeout_s)
                conn.execute(f"PRAGMA busy_timeout={int(self.busy_timeout_s * 1000)}")
                # NORMAL is durable against process crashes in WAL mode (sqlite.org/pragma.html#pragma_synchronous).
                conn.execute("PRAGMA synchronous=NORMAL")
                conn.execute("PRAGMA foreign_keys=ON")
            except sqlite3.DatabaseError as exc:
                raise StoreError(describe_open_error(self.path, exc)) from exc
            conn.row_factory = sqlite3.Row
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A ``BEGIN IMMEDIATE`` transaction: committed on success, rolled back on any error.

        Nested use joins the outer transaction. ``SQLITE_BUSY`` at BEGIN is retried until
        ``busy_timeout_s`` has passed, then raised as :class:`StoreError`.
        """
        conn = self.conn
        if conn.in_transaction:
            yield conn
            return
        deadline = time.monotonic() + self.busy_timeout_s
        while True:
            try:
                conn.execute("BEGIN IMMEDIATE")
                break
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
                if time.monotonic() > deadline:
                    raise StoreError(f"database {self.path} stayed locked for {self.busy_timeout_s:.0f} s") from exc
                time.sleep(0.05)
        try:
            yield conn
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A deferred transaction: every query inside sees the same snapshot."""
        conn = self.conn
        if conn.in_transaction:
            yield conn
            return
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            if conn.in_transaction:
                conn.execute("COMMIT")

    def close(self) -> None:
        """Close every connection this object opened (call once, at shutdown)."""
        with self._lock:
            for conn in self._all:
                try:
                    conn.close()
                except sqlite3.Error:
                    pass
            self._all.clear()
        self._local = threading.local()
