"""Composition: settings -> segmenter, store, service. Used by every command and channel.

jieba is loaded here, once, before any question is taken; the first run on a fresh clone
builds the index and loads the seed FAQ by itself.
"""

from __future__ import annotations

import logging
import os
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path

from app.settings import Settings
from faq.matcher import FaqMatcher
from faq.seed import sync_seed
from qa.indexer import ReindexReport, reindex
from qa.ratelimit import RateLimiter
from qa.service import Service, ServiceConfig
from qa.store import Store
from qa.text import Segmenter, TextResources

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    """Everything a command needs, opened once per process."""

    settings: Settings
    store: Store
    segmenter: Segmenter
    service: Service
    rate_limiter: RateLimiter

    def articles_dir(self, explicit: Path | None = None) -> Path:
        """Where articles come from: ``--articles``, else BOT_ARTICLES, else the directory this
        database was last built from, else data/articles."""
        return resolve_articles_dir(self.settings, self.store, explicit)

    def reindex(self, articles_dir: Path | None = None, *, wait_s: float = 0.0, replace: bool = False) -> ReindexReport:
        """Rebuild the passage index and re-load the seed FAQ (staff edits are kept); ``replace``:
        see :func:`qa.indexer.reindex`."""
        report = reindex(self.store, self.articles_dir(articles_dir), self.segmenter, wait_s=wait_s, replace=replace)
        sync_seed(self.store, self.settings.faq_seed_dir)
        return report

    def close(self) -> None:
        self.store.close()


def resolve_articles_dir(settings: Settings, store: Store, explicit: Path | None = None) -> Path:
    """``explicit`` > BOT_ARTICLES > the directory recorded at the last reindex (if it still
    exists) > the default data/articles. A database built with ``reindex --articles DIR`` keeps
    using DIR for a plain ``reindex``."""
    if explicit is not None:
        return Path(explicit)
    if settings.articles_dir_set:
        return settings.articles_dir
    recorded = store.meta("articles_dir")
    if recorded and Path(recorded).is_dir():
        return Path(recorded)
    return settings.articles_dir


def hash_key(settings: Settings, db_path: Path) -> bytes:
    """BOT_HASH_KEY, or a random key kept in ``<db>.key`` (created 0600 on first use)."""
    if settings.hash_key:
        return settings.hash_key.encode()
    key_path = Path(f"{db_path}.key")
    try:
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return key_path.read_text(encoding="ascii").strip().encode()
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(secrets.token_hex(32))
    return key_path.read_text(encoding="ascii").strip().encode()


def open_runtime(settings: Settings, *, db_path: Path | None = None, build_if_missing: bool = True,
                 quiet: bool = False) -> Runtime:
    """Load jieba, open the store and build the service.

    Args:
        settings: validated settings.
        db_path: overrides ``settings.db_path`` (the ``--db`` flag).
        build_if_missing: reindex from ``settings.articles_dir`` when the store has no index yet.
        quiet: do not print the first-run notice to stderr.

    Raises:
        qa.store.StoreError: the database cannot be used.
    """
    db_path = Path(db_path or settings.db_path)
    segmenter = Segmenter(TextResources.in_dir(settings.text_dir), cache_dir=settings.cache_dir)
    store = Store(db_path)
    if build_if_missing and store.passages.generation() == 0:
        if not quiet:
            print(f"首次运行：正在从 {settings.articles_dir} 建立索引……", file=sys.stderr)
        reindex(store, settings.articles_dir, segmenter, wait_s=120)
        sync_seed(store, settings.faq_seed_dir)
    elif store.faq.version() == 0 and store.meta("faq_seeded") is None:
        sync_seed(store, settings.faq_seed_dir)
    service = Service(store, segmenter, ServiceConfig(contact=settings.contact, user_hash_key=hash_key(settings, db_path)),
                      faq=lambda records: FaqMatcher(records, segmenter))
    service.purge_log(settings.log_retention_days)
    return Runtime(settings, store, segmenter, service, RateLimiter(settings.rate_limit_per_minute))
