"""The light path of commands that only read the database (`faq list/show/export`, `check`,
`backup`, `settings`): open the existing SQLite file, nothing else.

No jieba, no OpenCC, no Service, no index build, no seed FAQ sync and no log purge; importing
this module imports none of them either (tests/test_cli.py checks it).
"""

from __future__ import annotations

from pathlib import Path

from qa.store import Store


class MissingDatabase(FileNotFoundError):
    """The database file does not exist; the message says how to create it (in Chinese)."""


def database_path(settings, explicit: Path | None = None) -> Path:
    """``--db`` when given, else BOT_DB (``settings.db_path``)."""
    return Path(explicit or settings.db_path)


def open_existing_store(settings, explicit: Path | None = None) -> Store:
    """Open the database for reading without building or changing anything.

    Args:
        settings: an :class:`app.settings.Settings`.
        explicit: the ``--db`` flag, or None.

    Raises:
        MissingDatabase: the file does not exist (it is not created).
        qa.store.StoreError: the file is not a usable database.
    """
    path = database_path(settings, explicit)
    if not path.exists():
        raise MissingDatabase(f"没有数据库文件 {path}：运行 python3 bot.py reindex 建立索引。")
    return Store(path)


def resolve_articles_dir(settings, store: Store, explicit: Path | None = None) -> Path:
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
