"""End-to-end: `python bot.py ...` as residents, staff and admins run it, on a real SQLite file."""

import csv
import json

import pytest

from tests.conftest import ROOT, TITLE, run_bot


def test_first_ask_on_a_fresh_database_builds_the_index(tmp_path):
    db = tmp_path / "fresh.db"
    result = run_bot("ask", "宛城区2020年脱贫多少人？", db=db)
    assert result.returncode == 0, result.stderr
    assert "2652" in result.stdout and f"来源：《{TITLE}》" in result.stdout
    assert "首次运行" in result.stderr
    assert db.exists()


def test_ask_json_contract(db_path):
    result = run_bot("ask", "--json", "四集中", "床位", "多少", db=db_path)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["question"] == "四集中 床位 多少"
    assert data["kind"] in ("faq", "passage") and "1536" in data["answer"]
    assert 0 <= data["confidence"] <= 1 and data["latency_ms"] > 0


def test_ask_stdin_prints_one_result_per_line_blank_lines_included(db_path):
    lines = ["宛城区2020年脱贫多少人？", "", "你好", "怎么申请公租房", "😀", '" NEAR( *', "x" * 5000]
    result = run_bot("ask", "--json", "--stdin", db=db_path, stdin="\n".join(lines) + "\n")
    assert result.returncode == 0, result.stderr
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(out) == len(lines)
    assert [o["kind"] for o in out[:4]] == ["faq", "none", "smalltalk", "none"]
    assert out[1]["answer"] and out[4]["kind"] == "none"
    for o in out:
        if o["kind"] == "passage":
            assert o["citations"][0]["quote"] in o["answer"]


def test_ask_explain_shows_the_winner(db_path):
    result = run_bot("ask", "--explain", "扶贫车间哪天复工的", db=db_path)
    assert result.returncode == 0, result.stderr
    assert "3月19日" in result.stdout and "—— 解释 ——" in result.stdout and "FAQ：决定=" in result.stdout


def test_ask_without_question_is_a_usage_error(db_path):
    result = run_bot("ask", db=db_path)
    assert result.returncode == 2 and "请给出问题" in result.stderr


def test_reindex_reports_counts_and_keeps_faq(db_path, tmp_path):
    assert run_bot("faq", "add", "--question", "公租房怎么申请？", "--answer", "问住建局。", "--source", "测试", db=db_path).returncode == 0
    result = run_bot("reindex", db=db_path)
    assert result.returncode == 0, result.stderr
    assert "索引已重建：1 篇文章" in result.stdout
    assert "F052" in run_bot("faq", "list", db=db_path).stdout
    missing = run_bot("reindex", "--replace", "--articles", str(tmp_path / "nope"), db=db_path)
    assert missing.returncode == 1 and "文章目录不存在" in missing.stderr


def test_eval_prints_the_summary(db_path):
    result = run_bot("eval", str(ROOT / "data/eval/dev_questions.jsonl"), db=db_path)
    assert result.returncode == 0, result.stderr
    assert "in-scope accuracy:        1.0  (40/40)" in result.stdout
    assert "out-of-scope abstention:  1.0  (10/10)" in result.stdout
    assert "citation validity:        1.0" in result.stdout
    assert "latency p50 / p95:" in result.stdout


def test_faq_staff_round_trip(db_path, tmp_path):
    added = run_bot("faq", "add", "--question", "公租房怎么申请？", "--answer", "请到区住建局咨询。",
                    "--alternates", "公租房申请条件|公租房去哪办", "--source", "区住建局公告", db=db_path)
    assert added.returncode == 0 and "已添加 F052" in added.stdout
    dup = run_bot("faq", "add", "--question", "公租房怎么申请", "--answer", "x", db=db_path)
    assert dup.returncode == 1 and "非常相似" in dup.stderr and "--force" in dup.stderr
    blank = run_bot("faq", "add", "--question", " ", "--answer", "x", db=db_path)
    assert blank.returncode == 1 and "问题不能为空" in blank.stderr
    asked = run_bot("ask", "--json", "公租房去哪里办", db=db_path)
    assert json.loads(asked.stdout)["kind"] == "faq"
    assert run_bot("faq", "edit", "F052", "--answer", "新答案。", db=db_path).returncode == 0
    shown = run_bot("faq", "show", "F052", db=db_path).stdout
    assert "新答案。" in shown and "cli:" in shown
    assert run_bot("faq", "disable", "F052", db=db_path).returncode == 0
    assert json.loads(run_bot("ask", "--json", "公租房去哪里办", db=db_path).stdout)["kind"] != "faq"
    for name in ("out.csv", "out.xlsx"):
        exported = run_bot("faq", "export", str(tmp_path / name), db=db_path)
        assert exported.returncode == 0 and "已导出 52 条" in exported.stdout


def test_faq_export_import_round_trips_exactly(db_path, tmp_path):
    out = tmp_path / "all.csv"
    assert run_bot("faq", "export", str(out), db=db_path).returncode == 0
    imported = run_bot("faq", "import", str(out), db=db_path)
    assert imported.returncode == 0 and "新增 0 条，更新 0 条，未变 51 条" in imported.stdout
    again = tmp_path / "again.csv"
    run_bot("faq", "export", str(again), db=db_path)
    assert out.read_bytes() == again.read_bytes()


def test_faq_import_gb18030_from_excel_into_a_fresh_db(tmp_path):
    path = tmp_path / "excel.csv"
    with path.open("w", encoding="gb18030", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "question", "alternates", "answer", "source"])
        writer.writerow(["H1", "医保卡丢了怎么补办？", "医保卡补办|社保卡丢了咋办", "携带身份证到区医保局窗口补办。", "区医保局"])
    db = tmp_path / "fresh.db"
    result = run_bot("faq", "import", str(path), db=db)
    assert result.returncode == 0, result.stderr
    assert run_bot("reindex", db=db).returncode == 0
    answer = json.loads(run_bot("ask", "--json", "医保卡丢了咋补", db=db).stdout)
    assert answer["kind"] == "faq" and "区医保局" in answer["answer"]


def test_faq_import_error_names_the_line_and_changes_nothing(db_path, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("id,question,alternates,answer,source\nZ1,好问题？,,好答案。,\nZ2,,,没有问题,\n", encoding="utf-8")
    result = run_bot("faq", "import", str(path), db=db_path)
    assert result.returncode == 1 and "第3行" in result.stderr
    assert "Z1" not in run_bot("faq", "list", db=db_path).stdout


def test_unanswered_and_promote(db_path):
    for q in ["公租房怎么申请", "公租房申请条件", "新能源汽车补贴"]:
        run_bot("ask", q, db=db_path)
    listed = run_bot("unanswered", "--since", "2000-01-01", "--json", db=db_path)
    groups = json.loads(listed.stdout)
    assert groups[0]["count"] == 2
    promoted = run_bot("faq", "promote", groups[0]["group"], "--new", "--since", "2000-01-01", db=db_path)
    assert promoted.returncode == 0 and "停用中" in promoted.stdout


@pytest.mark.parametrize("variable, value", [("TELEGRAM_ADMIN_IDS", "12,abc"), ("BOT_RATE_LIMIT", "zero"),
                                              ("WECHAT_ENCODING_AES_KEY", "short")])
def test_bad_configuration_names_the_variable(db_path, variable, value):
    result = run_bot("ask", "你好", db=db_path, env={variable: value})
    assert result.returncode == 2 and variable in result.stderr


def test_unreadable_database_is_a_clear_message(tmp_path):
    db = tmp_path / "broken.db"
    db.write_bytes(b"garbage" * 1000)
    result = run_bot("ask", "你好", db=db)
    assert result.returncode == 1 and "Traceback" not in result.stderr and "不是" not in result.stdout
    assert "backup" in result.stderr or "reindex" in result.stderr


def test_stdin_with_invalid_utf8_keeps_one_result_per_line(db_path):
    import subprocess
    import sys
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("BOT_")}
    env["BOT_HASH_KEY"] = "test-key-0123456789abcdef"
    result = subprocess.run([sys.executable, str(ROOT / "bot.py"), "ask", "--stdin", "--json", "--db", str(db_path)],
                            input="宛城区2020年脱贫多少人\n".encode() + b"\xff\xfe\n" + "扶贫车间哪天复工的\n".encode(),
                            capture_output=True, env=env, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr.decode()
    lines = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert len(lines) == 3 and lines[1]["kind"] == "none" and "3月19日" in lines[2]["answer"]


def test_same_name_txt_and_md_are_indexed_once(db_path, tmp_path):
    articles = tmp_path / "arts"
    articles.mkdir()
    (articles / "a.txt").write_text("---\ntitle: 甲\n---\n\n甲文的内容。", encoding="utf-8")
    (articles / "a.md").write_text("# 乙\n\n乙文的内容。", encoding="utf-8")
    result = run_bot("reindex", "--replace", "--articles", str(articles), db=db_path)
    assert result.returncode == 0 and "1 篇文章" in result.stdout and "文档编号相同" in result.stdout
