"""Command line: parse arguments, load settings, open the runtime, run one command.

Exit status: 0 success, 1 the command failed (message on stderr), 2 bad usage or
configuration (the message names the flag or variable). No traceback reaches the user;
``BOT_DEBUG=1`` (read by :mod:`app.settings`) shows it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from app.settings import Settings
from qa.errors import ConfigError, Refusal


def _add_db(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", type=Path, metavar="PATH", help="SQLite file (default: BOT_DB or data/index.db)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bot.py", description="宛城区政策问答机器人 (Wancheng District policy QA bot)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ask = sub.add_parser("ask", help="answer questions (text, or JSON Lines with --json)")
    ask.add_argument("question", nargs="*", help="the question (words are joined with spaces)")
    ask.add_argument("--json", action="store_true", help="print one JSON object per question")
    ask.add_argument("--stdin", action="store_true", help="read one question per line from standard input")
    ask.add_argument("--explain", action="store_true", help="show why the answer won")
    _add_db(ask)

    chat = sub.add_parser("chat", help="interactive console (one conversation: follow-ups and numbered picks)")
    chat.add_argument("--explain", action="store_true", help="show why each answer won")
    chat.add_argument("--json", action="store_true",
                      help="read messages from stdin, one per line, as one conversation; print one JSON line "
                           "per message (the answer contract plus understood_as)")
    _add_db(chat)

    reindex = sub.add_parser("reindex", help="rebuild the article index (FAQ and logs are kept)")
    reindex.add_argument("--articles", type=Path, metavar="DIR", help="articles directory (default: data/articles)")
    reindex.add_argument("--replace", action="store_true",
                         help="allow a different folder to drop documents indexed before that are not in it")
    _add_db(reindex)

    evaluate = sub.add_parser("eval", help="score a question set (JSON Lines)")
    evaluate.add_argument("file", type=Path, metavar="FILE.jsonl")
    evaluate.add_argument("--json", action="store_true", help="print the summary as JSON")
    evaluate.add_argument("--verbose", "-v", action="store_true", help="list every miss")
    evaluate.add_argument("--split", help='score only rows whose "split" is this (tune, holdout)')
    _add_db(evaluate)

    from app import admin_cli, docs_cli, faq_cli, server_cli, staff_cli, telegram_cli

    faq_cli.add_commands(sub, _add_db)
    admin_cli.add_commands(sub, _add_db)
    server_cli.add_commands(sub, _add_db)
    telegram_cli.add_commands(sub, _add_db)
    docs_cli.add_commands(sub, _add_db)
    staff_cli.add_commands(sub, _add_db)
    return parser


def _stdout_utf8() -> None:
    """UTF-8 on stdout/stderr whatever the locale; undecodable input bytes become U+FFFD
    (one bad line must not end a --stdin run)."""
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure") and (stream.encoding or "").lower() not in ("utf-8", "utf8"):
            stream.reconfigure(encoding="utf-8", errors="replace")
    if hasattr(sys.stdin, "reconfigure"):
        sys.stdin.reconfigure(encoding="utf-8", errors="replace")


def cmd_ask(args, settings: Settings) -> int:
    from app.runtime import open_runtime
    from channels.console import render_explain, render_json

    if args.stdin:
        questions = (line.rstrip("\r\n") for line in sys.stdin)
    elif args.question:
        questions = iter([" ".join(args.question)])
    else:
        print("请给出问题，例如：python bot.py ask 宛城区2020年脱贫多少人？（或用 --stdin 逐行读取）", file=sys.stderr)
        return 2
    runtime = open_runtime(settings, db_path=args.db)
    try:
        replies = runtime.replies
        for question in questions:
            turn = runtime.conversation.ask("cli", None, question, render=replies.text)
            answer = turn.answer
            print(render_json(answer, replies) if args.json else turn.reply, flush=True)
            if args.explain:
                print(render_explain(answer), file=sys.stderr if args.json else sys.stdout, flush=True)
            if not args.json and args.stdin:
                print(flush=True)
    finally:
        runtime.close()
    return 0


def cmd_chat(args, settings: Settings) -> int:
    import secrets

    from app.runtime import open_runtime
    from channels.console import render_explain, render_json

    runtime = open_runtime(settings, db_path=args.db)
    # one conversation per run: a fresh pseudonymous user, so a second run starts afresh
    user = f"console-{secrets.token_hex(8)}"
    replies = runtime.replies
    try:
        if args.json:
            for line in sys.stdin:
                turn = runtime.conversation.ask("cli", user, line.rstrip("\r\n"), render=replies.text,
                                                rate_limit=False)
                print(render_json(turn.answer, replies, with_understood=True), flush=True)
                if args.explain:
                    print(render_explain(turn.answer), file=sys.stderr, flush=True)
            return 0
        print("宛城区政策问答助手。直接输入问题，可以接着上一个问题追问，回复数字选择推荐的问题；输入“退出”或按 Ctrl-D 结束。")
        while True:
            try:
                question = input("\n问：")
            except (EOFError, KeyboardInterrupt):
                print()
                break
            if question.strip() in ("退出", "exit", "quit", "q"):
                break
            turn = runtime.conversation.ask("cli", user, question, render=replies.text, rate_limit=False)
            print("答：" + turn.reply)
            if args.explain and turn.answer is not None:
                print(render_explain(turn.answer))
    finally:
        runtime.close()
    return 0


def cmd_reindex(args, settings: Settings) -> int:
    from app.runtime import open_runtime

    runtime = open_runtime(settings, db_path=args.db, build_if_missing=False)
    try:
        done, summary = runtime.operations.reindex(runtime.articles_dir(args.articles), wait_s=600,
                                                   replace=args.replace)
        print(summary, file=sys.stdout if done else sys.stderr)
        if not done:
            return 1
    finally:
        runtime.close()
    return 0


def cmd_eval(args, settings: Settings) -> int:
    from app.evaluate import evaluate, load_questions
    from app.evaluate_conversations import evaluate_conversations
    from app.runtime import open_runtime

    rows = load_questions(args.file)
    if args.split:
        rows = [r for r in rows if r.get("split") == args.split]
    questions = [r for r in rows if "turns" not in r]
    conversations = [r for r in rows if "turns" in r]
    runtime = open_runtime(settings, db_path=args.db)
    try:
        report = evaluate(runtime.service, questions, runtime.replies)
        talk = evaluate_conversations(runtime.conversation.dialogue, conversations, runtime.replies)
    finally:
        runtime.close()
    summary = report.summary()
    if args.json:
        data = {"summary": summary, "groups": report.breakdown(), "failures": report.failures}
        if conversations:
            data = {"summary": summary, "groups": report.breakdown(), "conversations": talk.summary(),
                    "failures": report.failures + talk.failures}
        print(json.dumps(data, ensure_ascii=False, indent=2))
        return 0
    if args.verbose:
        for miss in report.failures:
            print(f"MISS {miss['id']} [{miss['kind']} {miss['confidence']}] {miss['question']} -> "
                  f"expected {miss['expected']}; got: {miss['answer']!r}")
        for miss in talk.failures:
            print(f"MISS {miss['id']} ({miss['split']}, {miss['role']}) {miss['text']} -> expected {miss['expected']}; "
                  f"understood as {miss['understood_as']!r}; got [{miss['kind']}] {miss['answer']!r}")
    if questions:
        _print_questions(args, questions, report, summary)
    if conversations:
        _print_conversations(args, talk)
    return 0


def _print_questions(args, rows, report, summary) -> None:
    print(f"questions: {len(rows)}  ({args.file})")
    print(f"in-scope accuracy:        {summary['in_scope_accuracy']}  ({summary['in_scope']})")
    print(f"out-of-scope abstention:  {summary['out_of_scope_abstention']}  ({summary['out_of_scope']})")
    print(f"citation validity:        {summary['citation_validity']}  ({summary['citations']})")
    if "faq_top1_accuracy" in summary:
        print(f"FAQ top-1 accuracy:       {summary['faq_top1_accuracy']}  ({report.faq_right}/{report.faq_total})")
        print(f"FAQ false-accept rate:    {summary['faq_false_accept_rate']}  ({report.faq_false_accepts}/{report.out_total})")
        print(f"answered right, any source: {summary['faq_rows_answered_any_source']}  "
              f"({report.faq_rows_answered}/{report.faq_total}; FAQ or a passage containing the expected text)")
    print(f"latency p50 / p95:        {summary['latency_p50_ms']} ms / {summary['latency_p95_ms']} ms")
    groups = report.breakdown()
    if groups:
        print("by split and class:")
    for group in groups:
        in_part = f"answered right {group['in_accuracy']} ({group['in']})" if group["in_accuracy"] is not None else ""
        out_part = f"refused {group['out_abstention']} ({group['out']})" if group["out_abstention"] is not None else ""
        print(f"  {group['group']:<24} {in_part}{'  ' if in_part and out_part else ''}{out_part}")


def _print_conversations(args, talk) -> None:
    from app.evaluate_conversations import RATE_NAMES

    for split, data in talk.summary().items():
        print(f"conversations ({split}): {data['conversations']}  ({args.file})")
        for role, name in RATE_NAMES.items():
            rate = data[role]
            print(f"  {name + ':':44s} {rate['rate']}  ({rate['right']}/{rate['total']})")


COMMANDS = {"ask": cmd_ask, "chat": cmd_chat, "reindex": cmd_reindex, "eval": cmd_eval}


def _database_problem(exc: Exception, args, settings) -> str | None:
    """What to do about a SQLite error that escaped a command (a write on a full disk or a
    read-only file, a lock held too long), or None for any other exception."""
    import sqlite3

    if not isinstance(exc, sqlite3.DatabaseError):
        return None
    from qa.store.db import classify_error, describe_database_error

    if classify_error(exc) == "other":
        return None
    path = getattr(args, "db", None) or (settings.db_path if settings is not None else "?")
    return describe_database_error(path, exc)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python bot.py``; returns the exit status."""
    _stdout_utf8()
    parser = build_parser()
    args = parser.parse_args(argv)
    settings = None
    try:
        settings = Settings.from_env()
        handler = COMMANDS.get(args.command) or args.handler
        return handler(args, settings)
    except ConfigError as exc:
        print(f"配置错误 {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `bot.py ask ... | head`: the reader left; not an error
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except FileNotFoundError as exc:  # a path the user gave does not exist: say which
        if settings is not None and settings.debug:
            raise
        missing = exc.filename if exc.filename else str(exc)
        print(f"找不到文件或目录：{missing}" if exc.filename else str(exc), file=sys.stderr)
        return 1
    except Exception as exc:  # the last line of defence: a message, never a traceback
        if settings is not None and settings.debug:
            raise
        if isinstance(exc, Refusal):  # an expected refusal (e.g. qa.indexer.ReplaceRefused), not a crash
            print(str(exc), file=sys.stderr)
            return 1
        database_problem = _database_problem(exc, args, settings)
        if database_problem is not None:
            print(f"出错了：{database_problem}", file=sys.stderr)
            return 1
        hint = "" if settings is not None and settings.debug else "（设置 BOT_DEBUG=1 可查看详细信息）"
        print(f"出错了：{exc}{hint}", file=sys.stderr)
        return 1
