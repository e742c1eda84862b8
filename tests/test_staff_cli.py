"""`bot.py staff ...` accounts and the CLI staff defects of issue 15 (item 5), as staff run them."""

from __future__ import annotations

import csv
import re

from tests.conftest import ROOT


def test_staff_add_list_passwd_disable(bot, tmp_path):
    db = tmp_path / "index.db"
    added = bot("staff", "add", "alice", "--role", "admin", "--password-stdin", db=db, stdin="s3cret-pass\n")
    assert added.code == 0, added.err
    assert bot("staff", "add", "alice", "--role", "staff", "--password-stdin", db=db,
                   stdin="s3cret-pass\n").code == 1
    short = bot("staff", "passwd", "alice", "--password-stdin", db=db, stdin="short\n")
    assert short.code == 1 and "至少 8" in short.err
    assert bot("staff", "passwd", "alice", "--password-stdin", db=db, stdin="another-pass\n").code == 0
    listing = bot("staff", "list", db=db)
    assert "alice" in listing.out and "admin" in listing.out and "s3cret" not in listing.out
    assert bot("staff", "disable", "alice", db=db).code == 0
    assert "已停用" in bot("staff", "list", db=db).out
    from ops.accounts import StaffAccounts
    from qa.store import Store

    store = Store(db)
    try:
        assert StaffAccounts(store).login("alice", "another-pass").account is None  # disabled
        assert store.accounts.get("alice").password_hash.startswith("$argon2id$")
        actions = [r["action"] for r in store.reports.audit()]
        assert {"staff add", "staff passwd", "staff disable"} <= set(actions)
    finally:
        store.close()


def test_bad_role_is_a_usage_error(bot, tmp_path):
    result = bot("staff", "add", "bob", "--role", "root", "--password-stdin", db=tmp_path / "x.db", stdin="x" * 9)
    assert result.code == 2


def _write(path, rows, encoding="utf-8-sig"):
    with path.open("w", encoding=encoding, newline="") as handle:
        csv.writer(handle).writerows(rows)


def test_importing_id_less_rows_twice_does_not_duplicate(bot, db_path, tmp_path):
    path = tmp_path / "new.csv"
    _write(path, [["id", "question", "alternates", "answer", "source"],
                  ["", "宛城区的图书馆几点开门？", "图书馆开放时间", "每天9点开门。", "区文旅局"]])
    assert bot("faq", "import", str(path), db=db_path).code == 0
    again = bot("faq", "import", str(path), db=db_path)
    assert again.code == 0 and "新增 0 条" in again.out and "未变 1 条" in again.out
    listing = bot("faq", "list", "--all", db=db_path).out
    assert listing.count("宛城区的图书馆几点开门？") == 1


def test_export_import_round_trips_disabled_entries(bot, db_path, tmp_path):
    assert bot("faq", "disable", "F001", db=db_path).code == 0
    out = tmp_path / "all.csv"
    assert bot("faq", "export", str(out), db=db_path).code == 0
    rows = list(csv.reader(out.open(encoding="utf-8-sig")))
    status = rows[0].index("status")
    assert next(r for r in rows if r[0] == "F001")[status] == "disabled"
    assert bot("faq", "edit", "F001", "--enable", db=db_path).code == 0
    back = bot("faq", "import", str(out), db=db_path)
    assert back.code == 0 and "更新 1 条" in back.out
    assert "F001（已停用）" in bot("faq", "list", "--all", db=db_path).out
    xlsx = tmp_path / "all.xlsx"
    assert bot("faq", "export", str(xlsx), db=db_path).code == 0
    assert "未变" in bot("faq", "import", str(xlsx), db=db_path).out


def test_promote_new_then_edit_question_keeps_the_residents_phrasing(bot, db_path):
    from app.runtime import open_runtime
    from app.settings import Settings

    settings = Settings.from_env(environ={"BOT_HASH_KEY": "test-key-0123456789abcdef"})
    runtime = open_runtime(settings, db_path=db_path, quiet=True)
    try:
        for _ in range(2):
            runtime.conversation.ask("cli", "r", "俺家娃上学的补助咋领", render=runtime.replies.text)
    finally:
        runtime.close()
    queue = bot("unanswered", db=db_path).out
    group = re.search(r"(G[0-9A-Z]+)\s+×\d+.*俺家娃上学的补助咋领", queue).group(1)
    created = bot("faq", "promote", group, "--new", db=db_path)
    faq_id = re.search(r"(F\d+)", created.out).group(1)
    assert bot("faq", "edit", faq_id, "--question", "学生资助怎么申请？", "--answer", "向学校资助办申请。",
                   "--enable", db=db_path).code == 0
    shown = bot("faq", "show", faq_id, db=db_path).out
    assert "学生资助怎么申请？" in shown and "俺家娃上学的补助咋领" in shown.split("其他问法：")[1].splitlines()[0]
    answer = bot("ask", "--json", "俺家娃上学的补助咋领", db=db_path).out
    assert f'"doc_id": "faq:{faq_id}"' in answer


def test_gb18030_file_with_gb18030_bom_imports(bot, db_path, tmp_path):
    path = tmp_path / "gb.csv"
    body = "id,question,alternates,answer,source\n,宛城区游泳馆在哪里？,,在体育中心。,区体育局\n"
    path.write_bytes(b"\x84\x31\x95\x33" + body.encode("gb18030"))
    result = bot("faq", "import", str(path), db=db_path)
    assert result.code == 0, result.err
    assert "宛城区游泳馆在哪里？" in bot("faq", "list", db=db_path).out


def test_readme_shows_alternates_in_the_plain_form(bot):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "\\|" not in readme
    assert '--alternates "甲|乙"' in readme
