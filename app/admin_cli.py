"""Admin commands: `bot.py check [--db PATH]` and `bot.py backup FILE [--db PATH]`.

Restore (documented in README): stop the bot, copy the backup file over the database file
(and ``FILE.key`` over ``<db>.key`` unless BOT_HASH_KEY is set), start the bot, run
``python bot.py check``.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


def add_commands(sub, add_db) -> None:
    check = sub.add_parser("check", help="admin: verify the database and the index, say what to do")
    add_db(check)
    check.set_defaults(handler=run_check)
    backup = sub.add_parser("backup", help="admin: consistent online copy of the database (and its hash key)")
    backup.add_argument("file", type=Path, metavar="FILE")
    add_db(backup)
    backup.set_defaults(handler=run_backup)


def run_check(args, settings) -> int:
    from qa.article_files import article_paths
    from qa.store import Store
    from qa.store.maintenance import check

    db_path = Path(args.db or settings.db_path)
    if not db_path.exists():
        print(f"没有数据库文件 {db_path}：运行 python bot.py reindex 建立索引。", file=sys.stderr)
        return 1
    from app.runtime import resolve_articles_dir

    store = Store(db_path)
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
    from qa.store import Store
    from qa.store.maintenance import backup

    db_path = Path(args.db or settings.db_path)
    if not db_path.exists():
        print(f"没有数据库文件 {db_path}", file=sys.stderr)
        return 1
    store = Store(db_path)
    try:
        size = backup(store.db, args.file)
    finally:
        store.close()
    key = Path(f"{db_path}.key")
    if key.exists():
        shutil.copy2(key, Path(f"{args.file}.key"))
    print(f"已备份到 {args.file}（{size / 1024:.0f} KB）" + ("，以及哈希密钥 " + f"{args.file}.key" if key.exists() else ""))
    return 0
