"""Admin operations on the article collection: list, upload, reindex in the background with
progress, integrity check.

Uploaded files are validated by parsing them exactly as a reindex would
(:func:`qa.ingest.parse_article`) and written atomically (temporary file + ``os.replace``) into
the articles directory; they are answered from after the next reindex.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from qa.article_files import SUFFIXES, article_paths, load_article
from qa.ingest import ArticleError
from qa.store import Store
from qa.store.maintenance import CheckReport, check

log = logging.getLogger(__name__)

#: Upload suffixes. Another change adds .docx/.pdf/.html ingest; extend this tuple with it.
UPLOAD_SUFFIXES = SUFFIXES  # .txt .md .docx .pdf .html .htm (qa.article_files)
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_\-\u4e00-\u9fff][A-Za-z0-9_.\-\u4e00-\u9fff]{0,99}$")


class DocumentError(ValueError):
    """An upload or reindex request that cannot be carried out (Chinese message)."""


@dataclass
class ReindexJob:
    """State of the background reindex. ``done``/``total`` count article files."""

    running: bool = False
    done: int = 0
    total: int = 0
    started_at: float = 0.0
    finished_at: float = 0.0
    actor: str = ""
    summary: str = ""
    error: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def percent(self) -> int:
        return int(100 * self.done / self.total) if self.total else 0


class Documents:
    """Articles of one deployment.

    Args:
        store: the open store.
        articles_dir: returns the articles directory in use (it may change after a reindex).
        reindex: ``reindex(progress)`` rebuilds the index and reloads the seed FAQ; ``progress``
            is called with (files done, files total); returns a report with ``summary()``.
    """

    def __init__(self, store: Store, articles_dir: Callable[[], Path], reindex: Callable) -> None:
        self.store, self._articles_dir, self._reindex = store, articles_dir, reindex
        self.job = ReindexJob()

    @property
    def articles_dir(self) -> Path:
        return Path(self._articles_dir())

    def list(self) -> list[dict]:
        """Indexed documents: doc_id, title, date, source, path, n_sentences (by doc_id)."""
        return self.store.reports.documents()

    def upload(self, filename: str, data: bytes, *, actor: str) -> str:
        """Validate and save one article file; returns a Chinese confirmation.

        Raises:
            DocumentError: bad name or suffix, too large, unreadable or empty article.
        """
        name = Path((filename or "").replace("\\", "/")).name
        if Path(name).suffix.lower() not in UPLOAD_SUFFIXES:
            raise DocumentError(f"只支持 {' / '.join(UPLOAD_SUFFIXES)} 文件")
        if not _SAFE_NAME.match(name):
            raise DocumentError("文件名只能包含字母、数字、汉字、点、- 和 _")
        if len(data) > MAX_UPLOAD_BYTES:
            raise DocumentError(f"文件太大（上限 {MAX_UPLOAD_BYTES // 1024 // 1024} MB）")
        with tempfile.TemporaryDirectory() as scratch:  # read it as reindex will, before it is saved
            probe = Path(scratch) / name
            probe.write_bytes(data)
            try:
                doc = load_article(probe, Path(scratch))
            except ArticleError as exc:
                raise DocumentError(f"无法读取这篇文章：{exc}") from None
        directory = self.articles_dir
        if not directory.is_dir():
            raise DocumentError(f"文章目录不存在：{directory}")
        target = directory / name
        replaced = target.exists()
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".upload-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self.store.log.audit(actor, "document upload", f"{name} ({len(data)} bytes)")
        verb = "已替换" if replaced else "已上传"
        return f"{verb}《{doc.title}》（{name}）。重建索引后即可用于回答。"

    def start_reindex(self, *, actor: str) -> bool:
        """Start a reindex in a background thread; False when one is already running."""
        with self.job.lock:
            if self.job.running:
                return False
            self.job.running, self.job.done, self.job.total = True, 0, len(article_paths(self.articles_dir)) \
                if self.articles_dir.is_dir() else 0
            self.job.started_at, self.job.actor, self.job.summary, self.job.error = time.time(), actor, "", ""
        self.store.log.audit(actor, "reindex", str(self.articles_dir))
        threading.Thread(target=self._run_reindex, name="console-reindex", daemon=True).start()
        return True

    def _progress(self, done: int, total: int) -> None:
        self.job.done, self.job.total = done, total

    def _run_reindex(self) -> None:
        try:
            report = self._reindex(self._progress)
            self.job.summary = report.summary()
        except Exception as exc:  # shown to the admin on the page; the server keeps running
            log.exception("console reindex failed")
            self.job.error = str(exc) or type(exc).__name__
        finally:
            self.job.finished_at = time.time()
            self.job.running = False

    def check(self) -> CheckReport:
        """SQLite/FTS5 integrity and counts against the article files (``bot.py check``)."""
        directory = self.articles_dir
        ids = None
        if directory.is_dir():
            ids = {p.relative_to(directory).with_suffix("").as_posix() for p in article_paths(directory)}
        return check(self.store.db, ids)
