"""Admin commands: `bot.py check`, `bot.py backup FILE`, `bot.py purge-log` and
`bot.py settings [--markdown]`.

`check` and `backup` take the light path (:mod:`app.store_access`): they open the existing
database only, never load jieba, never build the index and never write to it.

Restore (documented in README): stop the bot, copy the backup file over the database file
(and ``FILE.key`` over ``<db>.key`` unless BOT_HASH_KEY is set), start the bot, run
``python bot.py check``.
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path


def add_commands(sub, add_db) -> None:
    check = sub.add_parser("check", help="admin: verify the database and the index, say what to do")
    add_db(check)
    check.set_defaults(handler=run_check)
    backup = sub.add_parser("backup", help="admin: consistent online copy of the database (and its hash key)")
    backup.add_argument("file", type=Path, metavar="FILE")
    add_db(backup)
    backup.set_defaults(handler=run_backup)
    purge = sub.add_parser("purge-log", help="admin: delete logged questions older than BOT_LOG_RETENTION_DAYS "
                                             "(serve and telegram also do it when they start)")
    add_db(purge)
    purge.set_defaults(handler=run_purge_log)
    shown = sub.add_parser("settings", help="admin: every setting with its current value (secrets hidden)")
    shown.add_argument("--markdown", action="store_true", help="print the README configuration table instead")
    shown.set_defaults(handler=run_settings)


def _open(args, settings):
    """The existing store, or None after printing why not (the caller returns 1)."""
    from app.store_access import MissingDatabase, open_existing_store

    try:
        return open_existing_store(settings, args.db)
    except MissingDatabase as exc:
        print(exc, file=sys.stderr)
        return None


def run_check(args, settings) -> int:
    from app.store_access import database_path, resolve_articles_dir
    from qa.article_files import article_paths
    from qa.store.maintenance import check

    store = _open(args, settings)
    if store is None:
        return 1
    db_path = database_path(settings, args.db)
    try:
        ids = None
        articles = resolve_articles_dir(settings, store)
        if articles.is_dir():
            ids = {p.relative_to(articles).with_suffix("").as_posix() for p in article_paths(articles)}
        key = Path(f"{db_path}.key")
        report = check(store.db, ids, hash_key_missing=None if settings.hash_key or key.exists() else key)
        changed = changed_sources(store, articles) if articles.is_dir() else []
        if changed:
            report.problems.append(f"{len(changed)} 篇文章的源文件在建索引后改动过（{'、'.join(changed[:5])}）："
                                   f"请运行 python bot.py reindex，或 python bot.py docs add 该文件。")
    finally:
        store.close()
    for note in report.notes:
        print(f"· {note}")
    for problem in report.problems:
        print(f"✗ {problem}")
    print("检查通过。" if report.ok else f"发现 {len(report.problems)} 个问题，请按上面的提示处理。")
    return 0 if report.ok else 1


def changed_sources(store, articles: Path) -> list[str]:
    """Stored paths of indexed documents whose file under ``articles`` now has other bytes than
    when it was indexed (sha256 stored per document; documents indexed without one are skipped)."""
    import hashlib

    changed = []
    for doc_id, (path, digest) in sorted(store.documents.hashes().items()):
        source = articles / path if path else None
        if digest and source is not None and source.is_file() and \
                hashlib.sha256(source.read_bytes()).hexdigest() != digest:
            changed.append(path)
    return changed


def run_backup(args, settings) -> int:
    from app.store_access import database_path
    from qa.store.maintenance import backup

    store = _open(args, settings)
    if store is None:
        return 1
    db_path = database_path(settings, args.db)
    try:
        size = backup(store.db, args.file)
    finally:
        store.close()
    key = Path(f"{db_path}.key")
    if key.exists():
        shutil.copy2(key, Path(f"{args.file}.key"))
    print(f"已备份到 {args.file}（{size / 1024:.0f} KB）" + ("，以及哈希密钥 " + f"{args.file}.key" if key.exists() else ""))
    return 0


def run_purge_log(args, settings) -> int:
    """Delete question-log rows, cached replies and pages older than the retention period."""
    store = _open(args, settings)
    if store is None:
        return 1
    days = settings.log_retention_days
    cutoff = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - days * 86400))
    try:
        removed = store.log.purge_before(cutoff)
    finally:
        store.close()
    print(f"已删除 {removed} 条 {days} 天前的记录（问题日志、缓存的回复和分页）。")
    return 0


def run_settings(args, settings) -> int:
    """Print the declared settings: current values and where they came from, or the README table."""
    from app.settings import describe, markdown_table, read_environment

    if args.markdown:
        print("\n".join(markdown_table()))
        return 0
    rows = describe(settings, read_environment())
    width = max(len(variable) for variable, _, _ in rows)
    for variable, value, source in rows:
        print(f"{variable:<{width}}  {value}  [{source}]")
    return 0
