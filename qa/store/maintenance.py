"""Integrity checks and online backups of the database file.

``check`` runs SQLite's ``integrity_check``, FTS5's ``integrity-check`` on both indexes,
compares row counts with the counts recorded at the last reindex and with the article files,
and looks for leftovers of a crashed reindex. Each finding says what to do about it.
``backup`` uses SQLite's online backup API, which copies a consistent snapshot while the bot
keeps answering (https://sqlite.org/backup.html).
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

import sqlite_utils

from qa.store.db import Database


@dataclass
class CheckReport:
    """Findings of :func:`check`: ``problems`` need action, ``notes`` are informational."""

    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def check(db: Database, article_ids: set[str] | None = None, *, hash_key_missing: Path | None = None) -> CheckReport:
    """Verify the database; ``article_ids`` are the doc ids the articles directory holds now;
    ``hash_key_missing`` is the key file path when neither it nor BOT_HASH_KEY exists.

    Never raises for a damaged file: damage is reported as a problem.
    """
    report = CheckReport()
    conn = db.conn
    try:
        result = [r[0] for r in conn.execute("PRAGMA integrity_check").fetchall()]
    except sqlite3.DatabaseError as exc:
        report.problems.append(f"数据库文件损坏（{exc}）。请用备份恢复：停止机器人，把备份文件复制回 {db.path}，再运行 reindex。")
        return report
    if result != ["ok"]:
        # Never advise deleting the file: it holds the curated FAQ and the question log (issue 14).
        report.problems.append("SQLite 完整性检查失败：" + "；".join(result[:5]) +
                               f"。请先停止机器人，把 {db.path} 复制一份留存（原文件里有常见问题和问题日志，请保留），"
                               f"再用最近的备份恢复（见 README“备份与恢复”），然后运行 python3 bot.py check。")
    utils = sqlite_utils.Database(conn)
    tables = set(utils.table_names())
    for fts in ("sentences_fts", "paragraphs_fts"):
        if fts not in tables:
            report.problems.append(f"缺少索引表 {fts}：请运行 python bot.py reindex。")
            continue
        try:
            conn.execute(f"INSERT INTO {fts}({fts}) VALUES ('integrity-check')")
        except sqlite3.DatabaseError as exc:
            report.problems.append(f"全文索引 {fts} 损坏（{exc}）：请运行 python bot.py reindex 重建。")
    leftovers = sorted(t for t in tables if t.endswith("_build") or t.endswith("_old"))
    if leftovers:
        report.notes.append(f"有上次中断的重建留下的表（{', '.join(leftovers[:4])}…）；下次 reindex 会自动清理，线上索引不受影响。")
    row = conn.execute("SELECT value FROM meta WHERE key='index_counts'").fetchone()
    recorded = json.loads(row[0]) if row else {}
    if {"documents", "paragraphs", "sentences"} <= tables:
        actual = {t: utils[t].count for t in ("documents", "paragraphs", "sentences")}
        for table, count in actual.items():
            if recorded.get(table) not in (None, count):
                report.problems.append(f"{table} 有 {count} 行，但上次重建记录为 {recorded[table]} 行：请运行 reindex。")
        report.notes.append(f"索引：{actual['documents']} 篇文章，{actual['paragraphs']} 个段落，{actual['sentences']} 个句子。")
        if article_ids is not None:
            indexed = {r[0] for r in conn.execute("SELECT doc_id FROM documents")}
            missing, extra = sorted(article_ids - indexed), sorted(indexed - article_ids)
            if missing:
                report.problems.append(f"{len(missing)} 篇文章还没有进索引（如 {missing[0]}）：请运行 reindex。")
            if extra:
                report.notes.append(f"索引里有 {len(extra)} 篇文章已不在文章目录中（如 {extra[0]}）；reindex 后会移除。")
    faq_total = utils["faq_entries"].count if "faq_entries" in tables else 0
    disabled = conn.execute("SELECT COUNT(*) FROM faq_entries WHERE status='disabled'").fetchone()[0] if faq_total else 0
    blank = conn.execute("SELECT COUNT(*) FROM faq_entries WHERE TRIM(question)='' OR TRIM(answer)=''").fetchone()[0] \
        if faq_total else 0
    report.notes.append(f"常见问题：{faq_total} 条（停用 {disabled} 条）；问题日志 {utils['questions'].count} 条。")
    if blank:
        report.problems.append(f"{blank} 条常见问题的问题或答案为空：请用 faq edit 补全或 faq disable。")
    if hash_key_missing is not None and conn.execute(
            "SELECT 1 FROM questions WHERE user_hash IS NOT NULL LIMIT 1").fetchone():
        report.notes.append(f"没有找到哈希密钥 {hash_key_missing}：如果是从备份恢复的，请把备份的 .key 文件一起复制回来，"
                            f"否则之前记录的用户将无法对应（例如退订时删除其数据）。")
    lock = conn.execute("SELECT value FROM meta WHERE key='reindex_lock'").fetchone()
    if lock:
        holder = json.loads(lock[0])
        age = time.time() - holder.get("beat", 0)
        report.notes.append(f"重建锁由进程 {holder.get('pid')} 持有（{age:.0f} 秒前心跳）；进程结束或超时后自动释放。")
    return report


def backup(db: Database, target: Path) -> int:
    """Copy a consistent snapshot of the database to ``target`` (overwritten) while readers
    and writers continue. Returns the size of the copy in bytes.

    Raises:
        OSError: the target cannot be written.
        sqlite3.Error: the source cannot be read.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".partial")
    if tmp.exists():
        tmp.unlink()
    dest = sqlite3.connect(tmp)
    try:
        db.conn.backup(dest, pages=1024, sleep=0.005)
        dest.execute("PRAGMA journal_mode=DELETE")
    finally:
        dest.close()
    tmp.replace(target)
    return target.stat().st_size
