"""`python bot.py ...` as residents, staff and admins run it, on a real SQLite file.

The commands run in this process (``bot`` fixture: the CLI's ``main(argv)``, sharing the
session's jieba); one test runs `bot.py` as a real process on a fresh database (first run on a
fresh clone).
"""

import csv
import json
import os
import sqlite3
import subprocess
import sys

import pytest

from tests.conftest import HASH_KEY, ROOT, TITLE


def test_first_ask_on_a_fresh_database_builds_the_index(tmp_path):
    """The one subprocess run of this file: a new process, nothing loaded, no database."""
    db = tmp_path / "fresh.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "TELEGRAM_", "WECHAT_", "WECOM_"))}
    env.update({"BOT_HASH_KEY": HASH_KEY, "PYTHONIOENCODING": "utf-8"})
    result = subprocess.run([sys.executable, str(ROOT / "bot.py"), "ask", "宛城区2020年脱贫多少人？", "--db", str(db)],
                            capture_output=True, text=True, encoding="utf-8", env=env, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "2652" in result.stdout and f"来源：《{TITLE}》" in result.stdout
    assert "首次运行" in result.stderr
    assert db.exists()


def test_ask_json_contract(bot, db_path):
    result = bot("ask", "--json", "四集中", "床位", "多少", db=db_path)
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["question"] == "四集中 床位 多少"
    assert data["kind"] in ("faq", "passage") and "1536" in data["answer"]
    assert 0 <= data["confidence"] <= 1 and data["latency_ms"] > 0


def test_ask_stdin_prints_one_result_per_line_blank_lines_included(bot, db_path):
    lines = ["宛城区2020年脱贫多少人？", "", "你好", "怎么申请公租房", "😀", '" NEAR( *', "x" * 5000]
    result = bot("ask", "--json", "--stdin", db=db_path, stdin="\n".join(lines) + "\n")
    assert result.code == 0, result.err
    out = [json.loads(line) for line in result.out.splitlines()]
    assert len(out) == len(lines)
    assert [o["kind"] for o in out[:4]] == ["faq", "none", "smalltalk", "none"]
    assert out[1]["answer"] and out[4]["kind"] == "none"
    for o in out:
        if o["kind"] == "passage":
            assert o["citations"][0]["quote"] in o["answer"]


def test_ask_explain_shows_the_winner(bot, db_path):
    result = bot("ask", "--explain", "扶贫车间哪天复工的", db=db_path)
    assert result.code == 0, result.err
    assert "3月19日" in result.out and "—— 解释 ——" in result.out and "FAQ：决定=" in result.out


def test_ask_without_question_is_a_usage_error(bot, db_path):
    result = bot("ask", db=db_path)
    assert result.code == 2 and "请给出问题" in result.err


def test_unknown_command_and_bad_flag_are_usage_errors(bot, db_path):
    assert bot("nonsense").code == 2
    assert bot("unanswered", "--limit", "0", db=db_path).code == 2


def test_reindex_reports_counts_and_keeps_faq(bot, db_path, tmp_path):
    assert bot("faq", "add", "--question", "公租房怎么申请？", "--answer", "问住建局。", "--source", "测试", db=db_path).code == 0
    result = bot("reindex", db=db_path)
    assert result.code == 0, result.err
    assert "索引已重建：1 篇文章" in result.out
    assert "F052" in bot("faq", "list", db=db_path).out
    missing = bot("reindex", "--replace", "--articles", str(tmp_path / "nope"), db=db_path)
    assert missing.code == 1 and "文章目录不存在" in missing.err


def test_eval_prints_the_summary(bot, db_path):
    result = bot("eval", str(ROOT / "data/eval/dev_questions.jsonl"), db=db_path)
    assert result.code == 0, result.err
    assert "in-scope accuracy:        1.0  (40/40)" in result.out
    assert "out-of-scope abstention:  1.0  (10/10)" in result.out
    assert "citation validity:        1.0" in result.out
    assert "latency p50 / p95:" in result.out


def test_faq_staff_round_trip(bot, db_path, tmp_path):
    added = bot("faq", "add", "--question", "公租房怎么申请？", "--answer", "请到区住建局咨询。",
                "--alternates", "公租房申请条件|公租房去哪办", "--source", "区住建局公告", db=db_path)
    assert added.code == 0 and "已添加 F052" in added.out
    dup = bot("faq", "add", "--question", "公租房怎么申请", "--answer", "x", db=db_path)
    assert dup.code == 1 and "非常相似" in dup.err and "--force" in dup.err
    blank = bot("faq", "add", "--question", " ", "--answer", "x", db=db_path)
    assert blank.code == 1 and "问题不能为空" in blank.err
    asked = bot("ask", "--json", "公租房去哪里办", db=db_path)
    assert json.loads(asked.out)["kind"] == "faq"
    assert bot("faq", "edit", "F052", "--answer", "新答案。", db=db_path).code == 0
    shown = bot("faq", "show", "F052", db=db_path).out
    assert "新答案。" in shown and "cli:" in shown
    assert bot("faq", "disable", "F052", db=db_path).code == 0
    assert json.loads(bot("ask", "--json", "公租房去哪里办", db=db_path).out)["kind"] != "faq"
    listed = bot("faq", "list", "--all", "--json", db=db_path)
    assert {"id": "F052", "status": "disabled"}.items() <= json.loads(listed.out)[-1].items()
    assert "F052" not in bot("faq", "list", db=db_path).out
    for name in ("out.csv", "out.xlsx"):
        exported = bot("faq", "export", str(tmp_path / name), db=db_path)
        assert exported.code == 0 and "已导出 52 条" in exported.out
    wrong = bot("faq", "export", str(tmp_path / "out.txt"), db=db_path)
    assert wrong.code == 1 and wrong.err.startswith("未完成：")
    unknown = bot("faq", "show", "F999", db=db_path)
    assert unknown.code == 1 and "没有编号为 F999" in unknown.err


def test_faq_export_import_round_trips_exactly(bot, db_path, tmp_path):
    out = tmp_path / "all.csv"
    assert bot("faq", "export", str(out), db=db_path).code == 0
    imported = bot("faq", "import", str(out), db=db_path)
    assert imported.code == 0 and "新增 0 条，更新 0 条，未变 51 条" in imported.out
    again = tmp_path / "again.csv"
    bot("faq", "export", str(again), db=db_path)
    assert out.read_bytes() == again.read_bytes()


def test_faq_import_gb18030_from_excel_into_a_fresh_db(bot, tmp_path):
    path = tmp_path / "excel.csv"
    with path.open("w", encoding="gb18030", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "question", "alternates", "answer", "source"])
        writer.writerow(["H1", "医保卡丢了怎么补办？", "医保卡补办|社保卡丢了咋办", "携带身份证到区医保局窗口补办。", "区医保局"])
    db = tmp_path / "fresh.db"
    result = bot("faq", "import", str(path), db=db)
    assert result.code == 0, result.err
    assert bot("reindex", db=db).code == 0
    answer = json.loads(bot("ask", "--json", "医保卡丢了咋补", db=db).out)
    assert answer["kind"] == "faq" and "区医保局" in answer["answer"]


def test_faq_import_error_names_the_line_and_changes_nothing(bot, db_path, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("id,question,alternates,answer,source\nZ1,好问题？,,好答案。,\nZ2,,,没有问题,\n", encoding="utf-8")
    result = bot("faq", "import", str(path), db=db_path)
    assert result.code == 1 and "第3行" in result.err
    assert "Z1" not in bot("faq", "list", db=db_path).out


def test_unanswered_and_promote(bot, db_path):
    for q in ["公租房怎么申请", "公租房申请条件", "新能源汽车补贴"]:
        bot("ask", q, db=db_path)
    listed = bot("unanswered", "--since", "2000-01-01", "--json", db=db_path)
    groups = json.loads(listed.out)
    assert groups[0]["count"] == 2
    promoted = bot("faq", "promote", groups[0]["group"], "--new", "--since", "2000-01-01", db=db_path)
    assert promoted.code == 0 and "停用中" in promoted.out
    bad_date = bot("unanswered", "--since", "2026-13-01", db=db_path)
    assert bad_date.code == 2 and "YYYY-MM-DD" in bad_date.err


@pytest.mark.parametrize("variable, value", [("TELEGRAM_ADMIN_IDS", "12,abc"), ("BOT_RATE_LIMIT", "zero"),
                                              ("WECHAT_ENCODING_AES_KEY", "short"), ("BOT_DEBUG", "maybe")])
def test_bad_configuration_names_the_variable(bot, db_path, variable, value):
    result = bot("ask", "你好", db=db_path, env={variable: value})
    assert result.code == 2 and result.err.startswith(f"配置错误 {variable}:")


def test_unreadable_database_is_a_clear_message(bot, tmp_path):
    db = tmp_path / "broken.db"
    db.write_bytes(b"garbage" * 1000)
    for args in (("ask", "你好"), ("faq", "list"), ("check",)):
        result = bot(*args, db=db)
        assert result.code == 1 and "Traceback" not in result.err and result.out == ""
        assert "backup" in result.err or "reindex" in result.err


def test_stdin_with_invalid_utf8_keeps_one_result_per_line(bot, db_path):
    stdin = "宛城区2020年脱贫多少人\n".encode() + b"\xff\xfe\n" + "扶贫车间哪天复工的\n".encode()
    result = bot("ask", "--stdin", "--json", db=db_path, stdin=stdin)
    assert result.code == 0, result.err
    lines = [json.loads(line) for line in result.out.splitlines()]
    assert len(lines) == 3 and lines[1]["kind"] == "none" and "3月19日" in lines[2]["answer"]


def test_same_name_txt_and_md_are_indexed_once(bot, db_path, tmp_path):
    articles = tmp_path / "arts"
    articles.mkdir()
    (articles / "a.txt").write_text("---\ntitle: 甲\n---\n\n甲文的内容。", encoding="utf-8")
    (articles / "a.md").write_text("# 乙\n\n乙文的内容。", encoding="utf-8")
    result = bot("reindex", "--replace", "--articles", str(articles), db=db_path)
    assert result.code == 0 and "1 篇文章" in result.out and "文档编号相同" in result.out


# ------------------------------------------------------------ read-only commands stay light
#: Modules the read-only commands must not need: jieba, OpenCC and everything built on them.
HEAVY = ("jieba", "opencc", "qa.text", "qa.service", "qa.indexer", "faq.matcher", "faq.unanswered", "app.runtime")


def _old_question(db) -> None:
    """A logged question far older than any retention period."""
    conn = sqlite3.connect(db)
    conn.execute("INSERT INTO questions(at, channel, text_norm, kind, outcome, confidence) "
                 "VALUES ('2001-01-01T00:00:00Z', 'cli', '很久以前的问题', 'none', 'unanswered', 0)")
    conn.commit()
    conn.close()


def _table_counts(db) -> dict[str, int]:
    conn = sqlite3.connect(db)
    try:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                for t in ("questions", "audit", "faq_entries", "sentences")}
    finally:
        conn.close()


def test_read_only_commands_load_nothing_heavy_and_change_nothing(bot, db_path, tmp_path, monkeypatch):
    _old_question(db_path)
    before, before_bytes = _table_counts(db_path), db_path.read_bytes()
    for name in HEAVY:  # importing any of these now fails, so a command that needs one fails
        monkeypatch.setitem(sys.modules, name, None)
    for args in (("faq", "list"), ("faq", "list", "--all", "--json"), ("faq", "show", "F001"),
                 ("faq", "export", str(tmp_path / "faq.csv")), ("faq", "export", str(tmp_path / "faq.xlsx")),
                 ("check",), ("backup", str(tmp_path / "copy.db")), ("settings",), ("settings", "--markdown")):
        result = bot(*args, db=None if args[0] == "settings" else db_path)
        assert result.code == 0, (args, result.err)
    assert db_path.read_bytes() == before_bytes  # not a byte written
    assert _table_counts(db_path) == before  # (so no purge of the old question, no audit row)
    assert (tmp_path / "faq.csv").exists() and (tmp_path / "copy.db").exists()


def test_read_only_commands_do_not_create_a_database(bot, tmp_path):
    db = tmp_path / "missing.db"
    for args in (("faq", "list"), ("faq", "show", "F001"), ("check",), ("backup", str(tmp_path / "b.db")),
                 ("purge-log",)):
        result = bot(*args, db=db)
        assert result.code == 1 and "reindex" in result.err
    assert not db.exists()


def test_log_is_purged_only_when_asked(bot, db_path):
    _old_question(db_path)
    bot("ask", "宛城区2020年脱贫多少人？", db=db_path)
    assert _table_counts(db_path)["questions"] == 2  # the old one and the new one
    purged = bot("purge-log", db=db_path, env={"BOT_LOG_RETENTION_DAYS": "30"})
    assert purged.code == 0 and "已删除 1 条 30 天前的记录" in purged.out
    assert _table_counts(db_path)["questions"] == 1


def test_settings_command_hides_secrets(bot):
    result = bot("settings", env={"TELEGRAM_BOT_TOKEN": "123:secret-token", "BOT_RATE_LIMIT": "7"})
    assert result.code == 0
    assert "secret-token" not in result.out and HASH_KEY not in result.out
    rows = {line.split()[0]: line for line in result.out.splitlines()}
    assert "(set)" in rows["TELEGRAM_BOT_TOKEN"] and rows["BOT_RATE_LIMIT"].split()[1] == "7"
    assert "[environment]" in rows["BOT_RATE_LIMIT"] and "[default]" in rows["BOT_DB"]


def test_importing_the_cli_loads_nothing_heavy(monkeypatch):
    """`import app.cli` and building the parser (every command module) stay light."""
    import importlib

    light = ("app.cli", "app.settings", "app.faq_cli", "app.admin_cli", "app.server_cli", "app.telegram_cli",
             "app.store_access", "faq.staff", "qa.errors")
    for name in light:  # import afresh; monkeypatch puts the original modules (and attributes) back
        importlib.import_module(name)
        package, _, child = name.rpartition(".")
        monkeypatch.delattr(sys.modules[package], child)
        monkeypatch.delitem(sys.modules, name)
    for name in HEAVY:
        monkeypatch.setitem(sys.modules, name, None)
    cli = importlib.import_module("app.cli")
    cli.build_parser()
    for name in ("app.store_access", "faq.staff"):
        importlib.import_module(name)
