"""SQLite connection handling: one file, WAL, thread-local connections, explicit transactions.

Every write runs in ``BEGIN IMMEDIATE`` so a writer takes the write lock up front and waits
for it (``busy_timeout``) instead of failing half-way; readers run in a deferred transaction
so one answer sees one consistent snapshot even while a reindex swaps tables.
"""

from __future__ import annotations

import os
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


#: Primary SQLite result codes (sqlite.org/rescode.html) and what they mean to an operator.
_KIND_BY_CODE = {5: "locked", 6: "locked", 8: "read_only", 10: "io", 11: "damaged", 13: "disk_full",
                 14: "cant_open", 26: "damaged"}
#: Free space below which a disk counts as full when SQLite reports an I/O or open error (it
#: says "disk I/O error" when the -shm file cannot grow on a full disk). Measured: a database on
#: a filesystem with 0 or 8 KiB free fails to open with "disk I/O error", with 40 KiB free the
#: first write fails with "database or disk is full".
LOW_SPACE_BYTES = 1 << 20


def classify_error(exc: BaseException) -> str:
    """What a failed SQLite call means: "disk_full", "read_only", "locked", "io",
    "cant_open", "damaged" or "other". Uses the result code (Python 3.11+
    ``sqlite_errorcode``), else the message."""
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int) and (code & 0xFF) in _KIND_BY_CODE:
        return _KIND_BY_CODE[code & 0xFF]
    text = str(exc).lower()
    for kind, words in (("disk_full", ("is full",)), ("read_only", ("readonly", "read-only")),
                        ("locked", ("locked", "busy")), ("damaged", ("malformed", "not a database")),
                        ("cant_open", ("unable to open",)), ("io", ("i/o",))):
        if any(word in text for word in words):
            return kind
    return "other"


def filesystem_problem(path: Path) -> str | None:
    """"read_only" when ``path`` (or, when it does not exist, its directory) cannot be written
    or sits on a read-only mount, "disk_full" when its filesystem has less than
    :data:`LOW_SPACE_BYTES` free, else None. Never raises."""
    path = Path(path)
    directory = path.parent if not path.is_dir() else path
    try:
        stats = os.statvfs(directory)
    except OSError:
        return None
    if stats.f_flag & os.ST_RDONLY:
        return "read_only"
    if (path.exists() and not os.access(path, os.W_OK)) or not os.access(directory, os.W_OK):
        return "read_only"
    if stats.f_bavail * stats.f_frsize < LOW_SPACE_BYTES:
        return "disk_full"
    return None


def describe_database_error(path: Path, exc: BaseException) -> str:
    """What to do about a database that cannot be opened or written, in Chinese.

    A full disk, a read-only file or mount, a lock held by another process and a path problem
    are told apart from damage (issue 14 item 4): for those the file is intact, and the message
    says so and never advises deleting it or restoring a backup. Only a corrupt file (SQLite's
    CORRUPT/NOTADB, or an unexplained error) gets the restore-a-backup advice.
    """
    text, kind = str(exc), classify_error(exc)
    if kind in ("io", "cant_open"):
        kind = filesystem_problem(path) or kind
    intact = "数据库文件本身完好，请不要删除或替换它。"
    if kind == "disk_full":
        return (f"磁盘已满：数据库 {path} 所在的磁盘没有剩余空间，无法写入（{text}）。请清理该磁盘的空间，"
                f"或把数据库移到空间充足的磁盘（用 --db 或 BOT_DB 指向新位置），然后重试。{intact}")
    if kind == "read_only":
        return (f"数据库只读：{path} 无法写入（{text}）。请检查该文件及其所在目录的写权限（机器人还要在同一目录"
                f"创建 -wal 和 -shm 文件），以及文件系统是否以只读方式挂载；改为可写后重试。{intact}")
    if kind == "locked":
        return (f"数据库 {path} 正被另一个进程占用（写锁，{text}）：请稍后重试；如果一直如此，请检查是否有卡住的 "
                f"reindex 或其他 bot.py 命令。{intact}")
    if kind == "cant_open" or Path(path).is_dir():
        return (f"无法打开数据库 {path}（{text}）：请确认路径是一个文件、所在目录存在且可写，"
                f"并且当前用户有读写权限（机器人需要写入问题日志）。")
    if kind == "io":
        return (f"读写数据库 {path} 时发生磁盘 I/O 错误（{text}）：请检查磁盘空间和磁盘是否故障（系统日志），"
                f"然后运行 python3 bot.py check 检查数据库。请不要删除数据库文件。")
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
        try:
            self.conn.execute("PRAGMA journal_mode=WAL")
        except sqlite3.DatabaseError as exc:  # a full disk cannot create the -shm file
            self.close()
            raise StoreError(describe_database_error(self.path, exc)) from exc

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
                raise StoreError(describe_database_error(self.path, exc)) from exc
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
                    raise StoreError(describe_database_error(self.path, exc)) from exc
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
