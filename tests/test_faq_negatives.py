"""Negative questions of FAQ entries: the store (migration, history, kept across reindex), CSV
and XLSX files, and the CLI."""

import re
import sqlite3

import pytest

from faq.io import FaqFileError, read_entries, write_entries
from faq.staff import FaqError, FaqStaff
from qa.store import Store
from qa.store.faq_rows import FaqRecord
from qa.store.schema import _MIGRATIONS, SCHEMA_VERSION


@pytest.fixture
def staff(runtime):
    return FaqStaff(runtime.store, runtime.segmenter)


def test_negatives_are_stored_with_history_and_survive_a_reindex(staff, runtime, settings, segmenter):
    record = staff.add(question="秸秆禁烧有补助吗？", answer="以乡镇通知为准。", actor="cli:t",
                       negatives="秸秆焚烧怎么处罚| 秸秆焚烧怎么处罚 ", force=True)
    assert record.negatives == ["秸秆焚烧怎么处罚"]
    staff.edit(record.id, actor="cli:t", add_negatives="禁烧期是几月")
    staff.edit(record.id, actor="cli:t", add_negatives="禁烧期是几月")  # no repeat
    assert runtime.store.faq.get(record.id).negatives == ["秸秆焚烧怎么处罚", "禁烧期是几月"]
    history = runtime.store.faq.history(record.id)
    assert [h["action"] for h in history] == ["add", "edit"] and "禁烧期是几月" in history[1]["new"]
    from qa.indexer import reindex

    reindex(runtime.store, settings.articles_dir, segmenter)
    assert runtime.store.faq.get(record.id).negatives == ["秸秆焚烧怎么处罚", "禁烧期是几月"]
    staff.edit(record.id, actor="cli:t", negatives="")
    assert runtime.store.faq.get(record.id).negatives == []


def test_a_negative_equal_to_a_positive_phrasing_is_refused(staff):
    with pytest.raises(FaqError, match="反例问题「秸秆 禁烧有补助吗？」"):
        staff.add(question="秸秆禁烧有补助吗？", answer="以乡镇通知为准。", actor="cli:t",
                  negatives="秸秆 禁烧有补助吗？", force=True)
    with pytest.raises(FaqError, match="反例"):
        staff.edit("F001", actor="cli:t", add_negatives="什么叫两不愁三保障")


def test_a_database_without_the_column_is_migrated_and_keeps_its_entries(tmp_path):
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    for statement in _MIGRATIONS[0]:  # the schema as released before negative questions
        conn.execute(statement)
    conn.execute("INSERT INTO faq_entries(id, question, answer, created_by, created_at, updated_by, updated_at) "
                 "VALUES ('F1', '旧问题？', '旧答案。', 'x', 't', 'x', 't')")
    conn.execute("PRAGMA user_version=1")
    conn.commit()
    conn.close()
    store = Store(path)
    try:
        assert store.db.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        record = store.faq.get("F1")
        assert record.question == "旧问题？" and record.negatives == []
        changed, rev = store.faq.changed_since(-1)
        assert [r.id for r in changed] == ["F1"] and rev == 0
        store.faq.update("F1", {"negatives": ["新问题"]}, actor="x")
        changed, rev = store.faq.changed_since(0)
        assert [r.negatives for r in changed] == [["新问题"]] and rev == store.faq.version()
        assert store.faq.changed_since(rev) == ([], rev)
    finally:
        store.close()


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_negatives_round_trip_through_export_and_import(tmp_path, suffix):
    records = [FaqRecord(id="A1", question="低保标准是多少？", answer="按当年标准。",
                         negatives=["低保怎么申请", "=低保去哪办"]),
               FaqRecord(id="A2", question="四集中是什么？", answer="兜底保障。")]
    path = tmp_path / f"faq{suffix}"
    write_entries(path, records)
    entries = read_entries(path)
    assert [e["negatives"] for e in entries] == [["低保怎么申请", "=低保去哪办"], []]


def test_a_file_without_the_column_keeps_the_entries_negatives(staff, runtime, tmp_path):
    staff.edit("F001", actor="cli:t", negatives="两不愁三保障哪年提出的")
    path = tmp_path / "old.csv"
    path.write_text("id,question,alternates,answer,source\nF001,两不愁三保障是什么意思？,,新答案。,s\n",
                    encoding="utf-8")
    staff.import_file(path, actor="cli:t")
    assert runtime.store.faq.get("F001").negatives == ["两不愁三保障哪年提出的"]
    assert runtime.store.faq.get("F001").answer == "新答案。"


def test_a_file_whose_negative_repeats_a_phrasing_is_refused_naming_the_line(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("id,question,alternates,answer,source,negatives\nA1,问题一？,问法一|问法二,答案。,s,问法二\n",
                    encoding="utf-8")
    with pytest.raises(FaqFileError, match="第2行.*问法二"):
        read_entries(path)


def test_cli_add_edit_show_and_export_negatives(bot, db_path, tmp_path):
    result = bot("faq", "add", "--question", "秸秆禁烧有补助吗？", "--answer", "以乡镇通知为准。",
                 "--negatives", "秸秆焚烧怎么处罚", "--force", db=db_path)
    assert result.code == 0, result.err
    entry_id = re.search(r"已添加 (F\d+)", result.out).group(1)
    assert bot("faq", "edit", entry_id, "--add-negatives", "禁烧期是几月", db=db_path).code == 0
    shown = bot("faq", "show", entry_id, db=db_path).out
    assert "反例问题（不用本条回答）：秸秆焚烧怎么处罚 | 禁烧期是几月" in shown
    out = tmp_path / "faq.csv"
    assert bot("faq", "export", str(out), db=db_path).code == 0
    assert "秸秆焚烧怎么处罚|禁烧期是几月" in out.read_text(encoding="utf-8-sig")
    refused = bot("faq", "edit", entry_id, "--negatives", "秸秆禁烧有补助吗？", db=db_path)
    assert refused.code == 1 and "反例问题" in refused.err
    asked = bot("ask", "--json", "秸秆焚烧怎么处罚", db=db_path)
    assert f'"faq:{entry_id}"' not in asked.out
