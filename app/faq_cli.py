"""Staff commands: `bot.py faq add|edit|disable|list|show|import|export|promote` and
`bot.py unanswered`. All accept --db PATH; changes are recorded as ``cli:<login name>``."""

from __future__ import annotations

import getpass
import json
import sys
import time
from pathlib import Path


def _positive(value: str) -> int:
    import argparse

    if not value.isascii() or not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"需要正整数，收到的是 {value!r}")
    return int(value)


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no login name in some containers
        return "cli:unknown"


def _default_since(days: int = 30) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(time.time() - days * 86400))


def _since(value: str | None) -> str:
    """``--since`` as YYYY-MM-DD (default: 30 days ago).

    Raises:
        FaqError: not a real date (the message shows the expected form).
    """
    from faq.staff import FaqError

    if not value:
        return _default_since()
    try:
        time.strptime(value, "%Y-%m-%d")
    except ValueError:
        raise FaqError(f"--since 需要日期，格式为 YYYY-MM-DD（例如 2026-11-01），收到的是 {value!r}") from None
    return value


def add_commands(sub, add_db) -> None:
    faq = sub.add_parser("faq", help="staff: manage the curated FAQ")
    faq_sub = faq.add_subparsers(dest="faq_command", required=True, metavar="ACTION")

    add = faq_sub.add_parser("add", help="add an entry (stops on a near-duplicate unless --force)")
    add.add_argument("--question", required=True)
    add.add_argument("--answer", required=True)
    add.add_argument("--alternates", default="", help='alternate questions separated by | ("甲|乙")')
    add.add_argument("--source", default="", help="where the answer comes from (title and/or URL)")
    add.add_argument("--negatives", default="", help='negative questions this entry must never answer ("甲|乙")')
    add.add_argument("--force", action="store_true", help="add even if a similar entry exists")
    add_db(add)

    edit = faq_sub.add_parser("edit", help="change fields of an entry")
    edit.add_argument("id")
    edit.add_argument("--question")
    edit.add_argument("--answer")
    edit.add_argument("--alternates", help="replace all alternate questions (| separated)")
    edit.add_argument("--add-alternates", help="append alternate questions (| separated)")
    edit.add_argument("--source")
    edit.add_argument("--negatives", help="replace all negative questions (| separated; \"\" clears them)")
    edit.add_argument("--add-negatives", help="append negative questions (| separated)")
    edit.add_argument("--enable", action="store_true", help="re-activate a disabled entry")
    add_db(edit)

    disable = faq_sub.add_parser("disable", help="stop answering with an entry (history is kept)")
    disable.add_argument("id")
    add_db(disable)

    listing = faq_sub.add_parser("list", help="list entries")
    listing.add_argument("--all", action="store_true", help="include disabled entries")
    listing.add_argument("--json", action="store_true")
    add_db(listing)

    show = faq_sub.add_parser("show", help="show one entry with its change history")
    show.add_argument("id")
    add_db(show)

    imp = faq_sub.add_parser("import", help="import CSV (UTF-8/GB18030) or XLSX, all-or-nothing")
    imp.add_argument("file", type=Path)
    add_db(imp)

    exp = faq_sub.add_parser("export", help="export every entry to FILE.csv or FILE.xlsx")
    exp.add_argument("file", type=Path)
    add_db(exp)

    promote = faq_sub.add_parser("promote", help="turn an unanswered group into alternates or a new entry")
    promote.add_argument("group", help="group id printed by `bot.py unanswered` (G123)")
    target = promote.add_mutually_exclusive_group(required=True)
    target.add_argument("--to", metavar="ID", help="add the group's questions as alternates of entry ID")
    target.add_argument("--new", action="store_true", help="create a new entry from the group")
    promote.add_argument("--answer", help="answer of the new entry (without it the entry stays disabled)")
    promote.add_argument("--source", help="source of the new entry")
    promote.add_argument("--since", default=None, help="same window as `unanswered --since` (default: 30 days)")
    add_db(promote)
    faq.set_defaults(handler=run_faq)

    unanswered = sub.add_parser("unanswered", help="staff: similar unanswered questions, grouped, with counts")
    unanswered.add_argument("--since", default=None, metavar="DATE", help="YYYY-MM-DD (default: 30 days ago)")
    unanswered.add_argument("--limit", type=_positive, default=30, help="groups shown (default 30)")
    unanswered.add_argument("--json", action="store_true")
    add_db(unanswered)
    unanswered.set_defaults(handler=run_unanswered)


def _print_entry(record, history=None) -> None:
    status = "" if record.status == "active" else "（已停用）"
    print(f"{record.id}{status} 问：{record.question}")
    if record.alternates:
        print("   其他问法：" + " | ".join(record.alternates))
    if record.negatives:
        print("   反例问题（不用本条回答）：" + " | ".join(record.negatives))
    print(f"   答：{record.answer}")
    if record.source:
        print(f"   来源：{record.source}")
    print(f"   创建：{record.created_by} {record.created_at}  更新：{record.updated_by} {record.updated_at}")
    for row in history or []:
        print(f"   · {row['at']} {row['actor']} {row['action']} {row['new'] or ''}")


#: Actions that only read: they take the light path (no jieba, no index build, no writes).
READ_ONLY = ("list", "show", "export")


def _open(args, settings):
    from app.runtime import open_runtime
    from faq.staff import FaqStaff

    runtime = open_runtime(settings, db_path=args.db)
    return runtime, FaqStaff(runtime.store, runtime.segmenter)


def run_faq(args, settings) -> int:
    """`faq ACTION`: returns the exit status (1 when the action was refused, with the reason)."""
    from faq.io import FaqFileError
    from faq.staff import FaqError

    try:
        if args.faq_command in READ_ONLY:
            return _read(args, settings)
        return _change(args, settings)
    except (FaqError, FaqFileError) as exc:
        print(f"未完成：{exc}", file=sys.stderr)
        return 1


def _read(args, settings) -> int:
    """`faq list|show|export` on the existing database only."""
    from app.store_access import MissingDatabase, open_existing_store
    from faq.staff import FaqStaff

    try:
        store = open_existing_store(settings, args.db)
    except MissingDatabase as exc:
        print(exc, file=sys.stderr)
        return 1
    staff = FaqStaff(store, None)
    try:
        command = args.faq_command
        if command == "list":
            records = store.faq.all(status=None if args.all else "active")
            if args.json:
                print(json.dumps([r.public() | {"id": r.id} for r in records], ensure_ascii=False, indent=1))
            else:
                for r in records:
                    flag = "" if r.status == "active" else "（已停用）"
                    print(f"{r.id}{flag}  {r.question}  [{len(r.alternates)} 个其他问法]")
                print(f"共 {len(records)} 条")
        elif command == "show":
            record = staff.get(args.id)
            _print_entry(record, store.faq.history(record.id))
        elif command == "export":
            print(f"已导出 {staff.export_file(args.file)} 条到 {args.file}")
        return 0
    finally:
        store.close()


def _change(args, settings) -> int:
    """`faq add|edit|disable|import|promote`: the full runtime (the near-duplicate check needs
    jieba; a fresh database gets its index and seed FAQ first); the change is audited."""
    runtime, staff = _open(args, settings)
    actor = _actor()
    try:
        command = args.faq_command
        if command == "add":
            record = staff.add(question=args.question, answer=args.answer, alternates=args.alternates,
                               source=args.source, actor=actor, force=args.force, negatives=args.negatives)
            print(f"已添加 {record.id}：{record.question}")
        elif command == "edit":
            record = staff.edit(args.id, actor=actor, question=args.question, answer=args.answer,
                                alternates=args.alternates, add_alternates=args.add_alternates,
                                source=args.source, enable=args.enable, negatives=args.negatives,
                                add_negatives=args.add_negatives)
            print(f"已更新 {record.id}")
            _print_entry(record)
        elif command == "disable":
            record = staff.disable(args.id, actor=actor)
            print(f"已停用 {record.id}：{record.question}")
        elif command == "import":
            print(staff.import_file(args.file, actor=actor).summary())
        elif command == "promote":
            record = staff.promote(args.group, actor=actor, since=_since(args.since),
                                   to=args.to, answer=args.answer, source=args.source)
            state = "" if record.status == "active" else "（停用中）"
            if args.to:
                print(f"已把这组问法并入 {record.id}{state}：现在共有 {len(record.alternates)} 个其他问法")
            elif record.status == "active":
                print(f"已新建 {record.id}：{record.question}")
            else:
                print(f"已新建 {record.id}（停用中）。请补充答案后启用：python3 bot.py faq edit {record.id} "
                      f"--answer \"……\" --source \"……\" --enable")
        runtime.operations.audit(actor, f"faq {command}", getattr(args, "id", "") or "")
        return 0
    finally:
        runtime.close()


def run_unanswered(args, settings) -> int:
    from faq.staff import FaqError

    try:
        since = _since(args.since)
    except FaqError as exc:
        print(f"未完成：{exc}", file=sys.stderr)
        return 2
    runtime, staff = _open(args, settings)
    try:
        groups = staff.unanswered(since)[: args.limit]
        if args.json:
            print(json.dumps([{"group": g.id, "count": g.count, "last_at": g.last_at, "questions": g.texts,
                               "asked_as": g.asked_as, "outcomes": dict(g.outcomes)} for g in groups],
                             ensure_ascii=False, indent=1))
            return 0
        if not groups:
            print(f"自 {since} 以来没有未答出的问题。")
            return 0
        print(f"自 {since} 以来未答出或把握不大的问题（按次数排序）：")
        for g in groups:
            shown = [t + (f"（追问原话：{g.asked_as[t]}）" if t in g.asked_as else "") for t in g.texts[:3]]
            print(f"{g.id}  ×{g.count}  最近 {g.last_at}  {' / '.join(shown)}"
                  + (f" 等{len(g.texts)}种问法" if len(g.texts) > 3 else ""))
        print("用 python3 bot.py faq promote 组号 --to 条目号（并入已有条目）或 --new（新建条目）。")
        return 0
    finally:
        runtime.close()
