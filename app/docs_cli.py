"""Document commands: `bot.py docs add FILE...`, `docs remove DOC`, `docs list`, `docs set DOC ...`.

The articles folder stays the source of truth: ``docs add`` copies each file into it (a file
already inside is used in place) and indexes that one document; ``docs remove`` takes the
document out of the index and moves its file to ``<articles>/.removed/`` (hidden folders are
not read), so a later ``reindex`` neither resurrects nor silently loses it.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sys
from pathlib import Path


def add_commands(sub, add_db) -> None:
    docs = sub.add_parser("docs", help="admin: add, remove, list documents; set their validity")
    docs_sub = docs.add_subparsers(dest="docs_command", required=True, metavar="ACTION")
    add = docs_sub.add_parser("add", help="add or replace documents (.txt .md .docx .pdf .html) one by one")
    add.add_argument("files", nargs="+", type=Path, metavar="FILE")
    add.add_argument("--articles", type=Path, metavar="DIR", help="articles folder to copy into (default: as reindex)")
    add_db(add)
    add.set_defaults(handler=run_add)
    remove = docs_sub.add_parser("remove", help="remove a document from the index (its file moves to .removed/)")
    remove.add_argument("doc", metavar="DOC", help="doc_id as shown by docs list")
    add_db(remove)
    remove.set_defaults(handler=run_remove)
    listing = docs_sub.add_parser("list", help="documents with title, dates, status, sentences, source file")
    listing.add_argument("--json", action="store_true", help="one JSON object per document")
    add_db(listing)
    listing.set_defaults(handler=run_list)
    settings = docs_sub.add_parser("set", help="staff: set validity (kept across reindex)")
    settings.add_argument("doc", metavar="DOC")
    settings.add_argument("--valid-from", metavar="D", help="YYYY-MM-DD or 2024年1月1日 ('' clears)")
    settings.add_argument("--valid-until", metavar="D", help="YYYY-MM-DD or 2024年1月1日 ('' clears)")
    settings.add_argument("--status", metavar="S", help="现行有效 / 已废止 / 已修订 ('' clears)")
    settings.add_argument("--supersedes", metavar="DOC", help="doc_id of the document this one replaces ('' clears)")
    add_db(settings)
    settings.set_defaults(handler=run_set)


def _open(args, settings, **kwargs):
    from app.runtime import open_runtime

    return open_runtime(settings, db_path=args.db, quiet=True, **kwargs)


def run_add(args, settings) -> int:
    """Copy and index each file; only the store and the segmenter are opened (no answer
    service), so the command costs start-up plus milliseconds per document."""
    from app.runtime import resolve_articles_dir
    from qa.article_files import SUFFIXES
    from qa.indexer import index_document, reindex
    from qa.ingest import ArticleError
    from qa.store import Store
    from qa.text import Segmenter, TextResources

    segmenter = Segmenter(TextResources.in_dir(settings.text_dir), cache_dir=settings.cache_dir)
    store = Store(Path(args.db or settings.db_path))
    failed = 0
    try:
        root = resolve_articles_dir(settings, store, args.articles).resolve()
        root.mkdir(parents=True, exist_ok=True)
        for file in args.files:
            file = file.resolve()
            if not file.is_file() or file.suffix.lower() not in SUFFIXES:
                print(f"跳过 {file}：不是可读取的文章文件（支持 {'、'.join(SUFFIXES)}）", file=sys.stderr)
                failed += 1
                continue
            inside = root in file.parents
            target = file if inside else root / file.name
            previous = target.read_bytes() if not inside and target.exists() else None
            if not inside:
                shutil.copyfile(file, target)
            try:
                if store.passages.generation() == 0:      # no index yet: build it from the folder
                    reindex(store, root, segmenter, wait_s=60)
                    from qa.article_files import load_article

                    doc, outcome = load_article(target, root), "added"
                else:
                    doc, outcome = index_document(store, target, root, segmenter, wait_s=60)
            except BaseException as exc:
                if not inside:                      # leave the folder as it was
                    target.write_bytes(previous) if previous is not None else target.unlink(missing_ok=True)
                if not isinstance(exc, (ArticleError, OSError)):
                    raise
                reason = str(exc).split(": ", 1)[-1] if str(exc).startswith(f"{target.name}: ") else str(exc)
                print(f"跳过 {file.name}：{reason}", file=sys.stderr)
                failed += 1
                continue
            verb = "已添加" if outcome == "added" else "已更新"
            print(f"{verb} {doc.doc_id}《{doc.title}》：{len(doc.sentences)} 个句子，文件 {target}")
    finally:
        store.close()
    return 1 if failed else 0


def run_remove(args, settings) -> int:
    from qa.indexer import unindex_document

    runtime = _open(args, settings, build_if_missing=False)
    try:
        row = runtime.store.documents.get(args.doc)
        if row is None:
            print(f"没有文档 {args.doc}（用 python bot.py docs list 查看编号）", file=sys.stderr)
            return 1
        unindex_document(runtime.store, args.doc, wait_s=60)
        root = runtime.articles_dir()
        source = root / row["path"] if row.get("path") else None
        note = ""
        if source is not None and source.is_file():
            parked = root / ".removed" / row["path"]
            parked.parent.mkdir(parents=True, exist_ok=True)
            source.replace(parked)
            note = f"；文件已移到 {parked}（reindex 不会再读取）"
        print(f"已移除 {args.doc}《{row['title']}》{note}")
    finally:
        runtime.close()
    return 0


def _effective(row: dict, statuses: dict, today: dt.date) -> str:
    from qa import validity

    status = statuses.get(row["doc_id"])
    if status is None:
        return row.get("status") or "现行有效"
    verdict = validity.assess(validity.DocStatus(row["doc_id"], **{k: v for k, v in status.items() if k != "title"}),
                              today)
    if verdict.current:
        return "现行有效" + ("（尚未施行）" if verdict.notice else "")
    if status.get("status") in ("已废止", "已修订"):
        return status["status"]
    if status.get("superseded_by"):
        return f"已被《{status['superseded_by']}》替代"
    return "已失效"


def run_list(args, settings) -> int:
    from qa.store import Store

    db_path = Path(args.db or settings.db_path)
    if not db_path.exists():
        print(f"没有数据库文件 {db_path}：运行 python bot.py reindex 建立索引。", file=sys.stderr)
        return 1
    store = Store(db_path)
    try:
        rows = store.documents.catalog()
        statuses, _ = store.documents.statuses([r["doc_id"] for r in rows])
    finally:
        store.close()
    today = dt.date.today()
    for row in rows:
        row["effective_status"] = _effective(row, statuses, today)
        row.pop("content_hash", None)
        if args.json:
            print(json.dumps(row, ensure_ascii=False))
            continue
        dates = f"发布 {row['date'] or '—'}，施行 {row['valid_from'] or '—'}，有效期至 {row['valid_until'] or '—'}"
        staff = f"（工作人员设置：{'、'.join(row['set_by_staff'])}）" if row["set_by_staff"] else ""
        number = f" {row['doc_number']}" if row.get("doc_number") else ""
        print(f"{row['doc_id']}\t《{row['title']}》{number}\n  {dates}；{row['effective_status']}{staff}；"
              f"{row['n_sentences']} 个句子；文件 {row['path']}")
    if not args.json:
        print(f"共 {len(rows)} 篇。")
    return 0


def run_set(args, settings) -> int:
    from qa.doc_meta import STATUSES, normalize_status, parse_date
    from qa.store import Store

    fields: dict[str, str | None] = {}
    for name in ("valid_from", "valid_until"):
        value = getattr(args, name)
        if value:
            parsed = parse_date(value)
            if parsed is None:
                print(f"--{name.replace('_', '-')} {value}：不是有效日期（例：2024-01-01）", file=sys.stderr)
                return 2
            value = parsed
        fields[name] = value
    if args.status:
        status = normalize_status(args.status)
        if status is None:
            print(f"--status {args.status}：只能是 {' / '.join(STATUSES)}", file=sys.stderr)
            return 2
        fields["status"] = status
    elif args.status is not None:
        fields["status"] = ""
    fields["supersedes"] = args.supersedes
    if all(v is None for v in fields.values()):
        print("请至少给出一个选项：--valid-from / --valid-until / --status / --supersedes", file=sys.stderr)
        return 2
    db_path = Path(args.db or settings.db_path)
    store = Store(db_path)
    try:
        if args.supersedes and store.documents.get(args.supersedes) is None:
            print(f"--supersedes {args.supersedes}：没有这篇文档（用 docs list 查看编号）", file=sys.stderr)
            return 1
        try:
            row = store.documents.set_validity(args.doc, actor="cli", **fields)
        except KeyError:
            print(f"没有文档 {args.doc}（用 python bot.py docs list 查看编号）", file=sys.stderr)
            return 1
    finally:
        store.close()
    shown = "，".join(f"{k}={row.get(k) or '—'}" for k in ("valid_from", "valid_until", "status", "supersedes"))
    print(f"已设置 {args.doc}《{row['title']}》：{shown}（重建索引后保留）")
    return 0
