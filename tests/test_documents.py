"""Documents one at a time, validity and reindex reporting, on real SQLite files: answers with
the right section from Word/PDF/HTML documents, a repealed document never presented as current,
incremental add/remove equal to a full rebuild, skipped files with reasons, docs commands."""

import datetime as dt
import shutil

import pytest

from qa.indexer import ReplaceRefused, index_document, reindex, unindex_document
from qa.retrieve import PassageRetriever
from qa.store.maintenance import check
from tests.conftest import SEED_ARTICLE
from tests.support.render import text as shown
from channels.replies import citation_label
from tests.support.documents import district_page, write_blank_pdf, write_pdf
from tests.test_formats import PAGE, write_docx

OLD_RULES = """---
title: 宛城区临时救助暂行办法
发文字号: 宛政〔2019〕3号
date: 2019-03-01
---

第一条 为规范临时救助工作，制定本办法。

第二条 临时救助标准为每户每次不超过800元。

第三条 本办法自2019年3月1日起施行。
"""


@pytest.fixture
def articles(tmp_path):
    directory = tmp_path / "articles"
    directory.mkdir()
    shutil.copy(SEED_ARTICLE, directory / SEED_ARTICLE.name)
    write_docx(directory / "linshi.docx")
    write_pdf(directory / "yiliao.pdf", [["宛城区困难群众医疗救助办法",
                                          "第一条 为了保障困难群众基本医疗权益，制定本办法。",
                                          "第二条 住院费用经基本医保报销后，政策范围内个人自付部分按70%比例救助。"]],
              header="宛城区人民政府文件")
    (directory / "yibao.html").write_text(PAGE, encoding="utf-8")
    write_blank_pdf(directory / "saomiao.pdf")
    (directory / "jiu.doc").write_bytes(b"\xd0\xcf\x11\xe0 old word")
    return directory


@pytest.fixture
def built(runtime, articles):
    report = reindex(runtime.store, articles, runtime.segmenter, replace=True)
    return runtime, report


def test_reindex_reports_every_skipped_file_with_its_reason(built):
    _, report = built
    reasons = dict(report.skipped)
    assert "没有文字层" in reasons["saomiao.pdf"] and ".doc" in reasons["jiu.doc"]
    assert sorted(report.added) == ["linshi", "yibao", "yiliao"] and report.removed == [] and report.changed == []
    assert "跳过 saomiao.pdf：" in report.summary()


@pytest.mark.parametrize("question, quote, label", [
    ("住院自付部分救助比例是多少", "70%", "《宛城区困难群众医疗救助办法》 · 第二条 · 第1段"),
    ("医保个人缴费标准是多少", "380元", "《关于开展2024年度城乡居民医保集中缴费工作的通知》 · 二、缴费标准 · 第1段"),
    ("因火灾导致基本生活出现严重困难的家庭能申请临时救助吗", "火灾", "《宛城区城乡居民临时救助实施办法》 · 第三条 · 第2段"),
    ("急难救助标准是多少", "3000元", "《宛城区城乡居民临时救助实施办法》 · 第四条"),
])
def test_answers_from_word_pdf_and_html_cite_the_right_section(built, question, quote, label):
    runtime, _ = built
    runtime.service.retriever.today = lambda: dt.date(2024, 6, 1)
    answer = runtime.service.answer(question)
    assert answer.kind == "passage", shown(answer)
    citation = answer.citations[0]
    assert quote in citation.quote and citation_label(citation).startswith(label)
    document = runtime.store.passages.document(citation.doc_id)
    assert document["cleaned_text"][citation.start:citation.end] == citation.quote


def test_an_expired_document_says_so(built, articles):
    runtime, _ = built
    retriever = runtime.service.retriever
    retriever.today = lambda: dt.date(2027, 1, 1)             # 有效期3年 from 2023-06-01 has passed
    answer = runtime.service.answer("急难救助标准是多少")
    assert shown(answer).startswith("该文件已于2026年5月31日到期失效，以下内容仅供参考。")


@pytest.mark.xfail(strict=True, reason="issue 13 item 6 open: with the refitted confidence the 临时救助 "
                   "passages of the two 办法 score below the answer floor, so neither is quoted")
def test_a_current_document_wins_over_the_one_it_replaces(built, articles):
    runtime, _ = built
    retriever = runtime.service.retriever
    (articles / "old.md").write_text(OLD_RULES, encoding="utf-8")
    index_document(runtime.store, articles / "old.md", articles, runtime.segmenter)
    retriever.today = lambda: dt.date(2024, 6, 1)
    for entry in runtime.store.faq.all():  # the seed FAQ's 2020 临时救助 figure is not what this tests
        if "临时救助" in entry.question:
            runtime.operations.faq.disable(entry.id, actor="test")
    # the new 办法 names the old one (「…同时废止」): the old one is superseded
    for question in ("临时救助标准为每户每次不超过多少元", "临时救助每户每次最多给多少元"):
        answer = runtime.service.answer(question)
        cited = answer.citations[0].doc_id if answer.citations else None
        assert cited == "linshi" or (cited == "old" and shown(answer).startswith(
            "该文件已被《宛城区城乡居民临时救助实施办法》替代，以下内容仅供参考。")), shown(answer)
    runtime.store.documents.set_validity("old", actor="test", status="已废止", valid_until="2023-05-31")
    answer = runtime.service.answer("临时救助标准为每户每次不超过多少元")
    assert answer.citations and answer.citations[0].doc_id == "linshi", shown(answer)
    assert "800元" not in shown(answer)
    runtime.store.documents.set_validity("linshi", actor="test", status="已废止", valid_until="2024-01-01")
    only_old = runtime.service.answer("临时救助标准为每户每次不超过多少元")
    assert "废止，以下内容仅供参考" in shown(only_old)


def test_staff_validity_settings_survive_reindex(built, articles):
    runtime, _ = built
    runtime.store.documents.set_validity("yibao", actor="test", status="已废止", valid_until="2024-12-31")
    reindex(runtime.store, articles, runtime.segmenter)
    row = runtime.store.documents.get("yibao")
    assert (row["status"], row["valid_until"], row["set_by_staff"]) == ("已废止", "2024-12-31", ["status", "valid_until"])
    assert "该文件已于2024年12月31日废止" in shown(runtime.service.answer("医保个人缴费标准是多少"))


def _index_state(store):
    conn = store.db.conn
    return (sorted(tuple(r) for r in conn.execute("SELECT term, sdf, pdf FROM terms")),
            sorted(tuple(r) for r in conn.execute("SELECT doc_id, text, tokens FROM sentences")),
            (store.passages.counts().documents, store.passages.counts().sentences))


def test_incremental_add_and_remove_equal_a_full_rebuild(built, articles):
    runtime, _ = built
    page = district_page("宛城区2024年高龄津贴发放通知", ["80周岁以上老人每人每月发放高龄津贴100元。"])
    (articles / "gaoling.html").write_text(page, encoding="utf-8")
    generation = runtime.store.passages.generation()
    doc, outcome = index_document(runtime.store, articles / "gaoling.html", articles, runtime.segmenter)
    assert outcome == "added" and runtime.store.passages.generation() == generation + 1
    assert "100元" in shown(runtime.service.answer("80周岁以上老人的高龄津贴每月发多少"))
    incremental = _index_state(runtime.store)
    assert check(runtime.store.db).ok
    reindex(runtime.store, articles, runtime.segmenter)
    assert _index_state(runtime.store)[0] == incremental[0] and _index_state(runtime.store)[2] == incremental[2]
    assert unindex_document(runtime.store, "gaoling")
    assert "100元" not in shown(runtime.service.answer("80周岁以上老人的高龄津贴每月发多少"))
    assert check(runtime.store.db).ok                          # FTS5 integrity-check after 'delete'
    (articles / "gaoling.html").unlink()
    before_remove = _index_state(runtime.store)
    reindex(runtime.store, articles, runtime.segmenter)
    assert _index_state(runtime.store)[0] == before_remove[0]


def test_reindex_from_another_folder_needs_replace(built, tmp_path):
    runtime, _ = built
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(SEED_ARTICLE, other / "seed.txt")
    with pytest.raises(ReplaceRefused, match="--replace"):
        reindex(runtime.store, other, runtime.segmenter)
    assert runtime.store.passages.counts().documents == 4
    report = reindex(runtime.store, other, runtime.segmenter, replace=True)
    assert report.added == ["seed"]
    assert report.removed == ["linshi", "wancheng-poverty-alleviation-2020", "yibao", "yiliao"]


def test_docs_commands_and_check(bot, db_path, articles, tmp_path):
    assert bot("reindex", "--replace", "--articles", str(articles), db=db_path).code == 0
    new = tmp_path / "gaoling.html"
    new.write_text(district_page("宛城区2024年高龄津贴发放通知", ["80周岁以上老人每人每月发放高龄津贴100元。"]),
                   encoding="utf-8")
    added = bot("docs", "add", str(new), str(articles / "saomiao.pdf"), db=db_path)
    assert added.code == 1 and "已添加 gaoling《宛城区2024年高龄津贴发放通知》" in added.out
    assert "没有文字层" in added.err and (articles / "gaoling.html").exists()
    assert bot("docs", "set", "yibao", "--status", "作废", db=db_path).code == 2
    assert bot("docs", "set", "yibao", "--status", "已废止", "--valid-until", "2024年12月31日",
                   db=db_path).code == 0
    listing = bot("docs", "list", db=db_path).out
    assert "gaoling\t《宛城区2024年高龄津贴发放通知》" in listing and "已废止（工作人员设置：status、valid_until）" in listing
    assert "宛政办〔2023〕12号" in listing and "文件 linshi.docx" in listing
    removed = bot("docs", "remove", "gaoling", db=db_path)
    assert removed.code == 0 and (articles / ".removed" / "gaoling.html").exists()
    assert "gaoling" not in bot("docs", "list", db=db_path).out
    (articles / "yibao.html").write_text(PAGE.replace("380元", "400元"), encoding="utf-8")
    checked = bot("check", db=db_path)
    assert checked.code == 1 and "源文件在建索引后改动过（yibao.html）" in checked.out
    report = bot("reindex", db=db_path).out
    assert "更新：yibao" in report and "跳过 jiu.doc" in report and "跳过 saomiao.pdf" in report
