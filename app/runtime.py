"""Composition: settings -> segmenter, store, service, conversation, operations. Used by every
command and channel.

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
from channels.replies import Replies
from conversation.context import ContextKeeper
from conversation.core import Conversation
from conversation.identity import UserHasher
from conversation.log_writer import LogWriter
from app.store_access import resolve_articles_dir
from faq.matcher import FaqMatcher
from faq.seed import sync_seed
from qa.cachedir import usable_cache_dir
from ops.operations import Operations
from qa.followup import FollowUps
from qa.indexer import reindex
from qa.ratelimit import TEXT_RATE_LIMITED, RateLimiter
from qa.service import Service
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
    conversation: Conversation
    operations: Operations
    replies: Replies

    def articles_dir(self, explicit: Path | None = None) -> Path:
        """Where articles come from: ``--articles``, else BOT_ARTICLES, else the directory this
        database was last built from, else data/articles."""
        return resolve_articles_dir(self.settings, self.store, explicit)

    def close(self) -> None:
        """Write the queued question log, then close the database."""
        self.conversation.close()
        self.store.close()


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


def assemble(settings: Settings, store: Store, segmenter: Segmenter, db_path: Path) -> Runtime:
    """Build the service, conversation and operations around an open store (no I/O besides the
    hash key file)."""
    service = Service(store, segmenter, faq=lambda records: FaqMatcher(records, segmenter))
    hasher = UserHasher(hash_key(settings, db_path))
    rate_limiter = RateLimiter(settings.rate_limit_per_minute)
    writer = LogWriter(store.log)
    conversation = Conversation(service, store, hasher=hasher, rate_limiter=rate_limiter, writer=writer,
                                text_limit_message=TEXT_RATE_LIMITED, followups=FollowUps(segmenter),
                                contexts=ContextKeeper(store, writer, minutes=settings.context_minutes))
    operations = Operations(store, segmenter, service, pseudonym=hasher,
                            articles_dir=lambda: resolve_articles_dir(settings, store),
                            faq_seed_dir=settings.faq_seed_dir, synonyms_path=settings.text_dir / "synonyms.txt")
    return Runtime(settings, store, segmenter, service, rate_limiter, conversation, operations,
                   Replies(settings.contact))


#: Segmenters loaded in this process, by (text_dir, cache_dir): jieba loads once however many
#: runtimes are opened (in-process CLI tests, bench scripts).
_SEGMENTERS: dict[tuple[Path, Path], Segmenter] = {}


def shared_segmenter(settings: Settings, cache_dir=...) -> Segmenter:
    """The process's segmenter for these settings' resources (loaded on first use, ~1 s);
    ``cache_dir`` overrides ``settings.cache_dir`` (None: no jieba cache file)."""
    cache_dir = settings.cache_dir if cache_dir is ... else cache_dir
    key = (settings.text_dir, cache_dir)
    if key not in _SEGMENTERS:
        _SEGMENTERS[key] = Segmenter(TextResources.in_dir(settings.text_dir), cache_dir=cache_dir)
    return _SEGMENTERS[key]


def open_runtime(settings: Settings, *, db_path: Path | None = None, build_if_missing: bool = True,
                 quiet: bool = False) -> Runtime:
    """Load jieba (once per process), open the store and build the service. The question log
    is not purged here: long-running commands call ``operations.purge_log`` themselves.

    Args:
        settings: validated settings.
        db_path: overrides ``settings.db_path`` (the ``--db`` flag).
        build_if_missing: reindex from ``settings.articles_dir`` when the store has no index yet.
        quiet: do not print the first-run notice to stderr.

    Raises:
        qa.store.StoreError: the database cannot be used.
    """
    db_path = Path(db_path or settings.db_path)
    cache_dir = usable_cache_dir(settings.cache_dir, db_path.with_name(db_path.name + ".cache"))  # issue 14
    segmenter = shared_segmenter(settings, cache_dir)
    store = Store(db_path)
    if build_if_missing and store.passages.generation() == 0:
        if not quiet:
            print(f"首次运行：正在从 {settings.articles_dir} 建立索引……", file=sys.stderr)
        reindex(store, settings.articles_dir, segmenter, wait_s=120)
        sync_seed(store, settings.faq_seed_dir)
    elif store.faq.version() == 0 and store.meta("faq_seeded") is None:
        sync_seed(store, settings.faq_seed_dir)
    return assemble(settings, store, segmenter, db_path)
