"""Staff console pages in process: escaping of residents' text, import dry run, promote, hit
test, FAQ search and filters, near-duplicates, documents and reindex, synonyms, stats."""

from __future__ import annotations

import time

import pytest

from tests.console_support import add_account, csrf, login, make_client, resident_asks

SCRIPT = '<script>alert("x")</script>宛城区火星移民补贴怎么领'
HEADER = "id,question,alternates,answer,source,tags,status\n"


@pytest.fixture
def client(runtime, settings):
    add_account(runtime, "alice", "admin")
    with make_client(runtime, settings) as c:
        login(c, "alice")
        yield c


def test_residents_script_is_shown_as_text_in_queue_stats_and_hit_test(client, service, runtime):
    for _ in range(3):
        resident_asks(runtime, SCRIPT, "r1")
    pages = {"queue": client.get("/admin/unanswered").text, "stats": client.get("/admin/stats").text,
             "test": client.get("/admin/test", params={"q": SCRIPT}).text}
    for name, page in pages.items():
        assert '<script>alert("x")</script>' not in page, name
        assert "&lt;script&gt;" in page, name


def _upload(client, content: str, mode: str, name: str = "faq.csv", encoding: str = "utf-8"):
    token = csrf(client, "/admin/faq/import")
    return client.post("/admin/faq/import", data={"csrf_token": token, "mode": mode},
                       files={"file": (name, content.encode(encoding), "text/csv")})


def test_import_dry_run_writes_nothing_and_reports_each_line(client, runtime):
    first = runtime.store.faq.all()[0]
    before = [r.public() for r in runtime.store.faq.all()]
    content = (HEADER + f"{first.id},{first.question},{'|'.join(first.alternates)},{first.answer},{first.source},"
               f"{'|'.join(first.tags)},active\n"
               f"{first.id}X,{first.question}（改）,,改过的答案,,,\n"
               ",宛城区新问题一,,答案一,,,\n"
               ",,,缺问题的行,,,\n")
    response = _upload(client, content, "preview")
    assert response.status_code == 200
    page = response.text
    assert [r.public() for r in runtime.store.faq.all()] == before
    assert "第5行" in page and "question 不能为空" in page
    assert "确认导入" not in page  # errors: nothing can be imported
    compact = page.replace(" ", "").replace("\n", "")
    assert "新增<b>2</b>" in compact and "未变<b>1</b>" in compact and "错误<b>1</b>" in compact


def test_import_preview_counts_then_confirm_imports_without_a_second_upload(client, runtime):
    entry = runtime.store.faq.all()[0]
    content = HEADER + f",宛城区新问题二,,答案二,,,\n{entry.id},{entry.question},,新的答案,,,disabled\n"
    page = _upload(client, content, "preview").text
    compact = page.replace(" ", "").replace("\n", "")
    assert "新增<b>1</b>" in compact and "修改<b>1</b>" in compact and "错误<b>0</b>" in compact
    assert runtime.store.faq.get(entry.id).answer == entry.answer
    token = page.split('name="token" value="')[1].split('"')[0]
    done = client.post("/admin/faq/import", data={"csrf_token": csrf(client, "/admin/faq"), "mode": "confirm",
                                                  "token": token})
    assert "导入完成" in done.text
    updated = runtime.store.faq.get(entry.id)
    assert updated.answer == "新的答案" and updated.status == "disabled" and updated.updated_by == "web:alice"
    again = client.post("/admin/faq/import", data={"csrf_token": csrf(client, "/admin/faq"), "mode": "confirm",
                                                   "token": token})
    assert again.status_code == 400 and "过期" in again.text


def test_faq_search_and_filters(client, runtime):
    records = runtime.store.faq.all()
    target = records[0]
    word = target.question[:4]
    page = client.get("/admin/faq", params={"q": word}).text
    assert target.id in page
    assert all(r.id not in page for r in records if word not in r.question and
               not any(word in a for a in r.alternates) and f">{r.id}<" in page)
    client.post(f"/admin/faq/{target.id}", data={"csrf_token": csrf(client, "/admin/faq"), "action": "disable"})
    disabled = client.get("/admin/faq", params={"status": "disabled"}).text
    assert f">{target.id}</a>" in disabled and f">{records[1].id}</a>" not in disabled
    active = client.get("/admin/faq", params={"status": "active"}).text
    assert f">{target.id}</a>" not in active


def test_near_duplicate_warns_and_force_adds(client, runtime):
    existing = runtime.store.faq.all(status="active")[0]
    token = csrf(client, "/admin/faq/new")
    warned = client.post("/admin/faq/new", data={"csrf_token": token, "question": existing.question,
                                                  "answer": "另一个答案"})
    assert warned.status_code == 409 and existing.id in warned.text and 'name="force"' in warned.text
    count = len(runtime.store.faq.all())
    forced = client.post("/admin/faq/new", data={"csrf_token": token, "question": existing.question,
                                                  "answer": "另一个答案", "force": "1"})
    assert forced.status_code == 303 and len(runtime.store.faq.all()) == count + 1


def test_edit_keeps_old_question_as_alternate_and_shows_history(client, runtime):
    entry = runtime.store.faq.all()[0]
    token = csrf(client, f"/admin/faq/{entry.id}")
    response = client.post(f"/admin/faq/{entry.id}", data={
        "csrf_token": token, "action": "save", "question": "改写后的标准问题", "answer": entry.answer,
        "alternates": "\n".join(entry.alternates), "source": entry.source})
    assert response.status_code == 303
    record = runtime.store.faq.get(entry.id)
    assert record.question == "改写后的标准问题" and entry.question in record.alternates
    page = client.get(f"/admin/faq/{entry.id}").text
    assert "修改记录" in page and "web:alice" in page


def test_promote_a_group_to_a_new_entry_from_the_queue(client, service, runtime):
    for text in ("宛城区养蜂补贴怎么申请", "宛城区养蜂补贴怎么申请？", "宛城区养蜂补贴如何申请"):
        resident_asks(runtime, text, "r2")
    page = client.get("/admin/unanswered").text
    assert "养蜂补贴" in page
    group = page.split('id="group-')[1].split('"')[0]
    response = client.post(f"/admin/unanswered/{group}/promote", data={
        "csrf_token": csrf(client, "/admin/unanswered"), "answer": "到乡镇农业服务中心申请。", "source": "农业局"})
    assert response.status_code == 303
    faq_id = response.headers["location"].rsplit("/", 1)[1]
    record = runtime.store.faq.get(faq_id)
    assert "养蜂补贴" in record.question and record.status == "active" and record.created_by == "web:alice"
    assert "养蜂补贴" in client.get(response.headers["location"]).text  # the new entry, with the flash
    assert "养蜂补贴" not in client.get("/admin/unanswered").text
    test = client.get("/admin/test", params={"q": "宛城区养蜂补贴怎么申请"}).text
    assert "到乡镇农业服务中心申请。" in test and faq_id in test


def test_hit_test_shows_the_residents_answer_and_the_explanation_without_logging(client, service, runtime):
    before = runtime.store.log.count_since("2000-01-01")
    page = client.get("/admin/test", params={"q": "宛城区2020年脱贫多少人？"}).text
    expected = runtime.replies.text(service.answer("宛城区2020年脱贫多少人？"))
    import html

    assert html.escape(expected, quote=False) in page
    assert "—— 解释 ——" in page and "FAQ：" in page
    assert runtime.store.log.count_since("2000-01-01") == before


def test_feedback_page_lists_thumbs_down_with_question_and_source(client, service, runtime):
    turn = resident_asks(runtime, "宛城区2020年脱贫多少人？", "r3")
    assert runtime.conversation.feedback(turn.question_id, False, channel="web", user="r3")
    page = client.get("/admin/feedback").text
    assert "宛城区2020年脱贫多少人" in page and "常见问题" in page


def test_stats_page_draws_svg_charts(client, service, runtime):
    for text in ("宛城区2020年脱贫多少人？", "扶贫车间有多少个", "宛城区有没有地铁"):
        resident_asks(runtime, text, "r4")
    page = client.get("/admin/stats").text
    assert page.count("<svg") >= 3 and "每天的提问数" in page and "回答率" in page
    assert "宛城区有没有地铁" in page  # top unanswered


def test_export_has_the_status_column(client, runtime):
    entry = runtime.store.faq.all()[0]
    client.post(f"/admin/faq/{entry.id}", data={"csrf_token": csrf(client, "/admin/faq"), "action": "disable"})
    text = client.get("/admin/faq/export.csv").content.decode("utf-8-sig")
    assert text.splitlines()[0] == "id,question,alternates,answer,source,tags,status,negatives"
    assert any(line.startswith(f"{entry.id},") and line.endswith(",disabled,") for line in text.splitlines())


def test_document_upload_reindex_progress_and_check(client, runtime, tmp_path):
    articles = tmp_path / "articles"
    articles.mkdir()
    from tests.conftest import SEED_ARTICLE

    (articles / SEED_ARTICLE.name).write_bytes(SEED_ARTICLE.read_bytes())
    runtime.store.set_meta("articles_dir", str(articles))
    token = csrf(client, "/admin/documents")
    body = "---\ntitle: 宛城区养老服务补贴办法\ndate: 2026-01-01\n---\n宛城区对80周岁以上老人每月发放高龄津贴100元。\n"
    bad = client.post("/admin/documents", data={"csrf_token": token},
                      files={"file": ("../evil.sh", b"#!/bin/sh", "text/plain")})
    assert bad.status_code == 400 and not (tmp_path / "evil.sh").exists()
    ok = client.post("/admin/documents", data={"csrf_token": token},
                     files={"file": ("elderly.md", body.encode(), "text/markdown")})
    assert ok.status_code == 303 and (articles / "elderly.md").read_text(encoding="utf-8") == body
    started = client.post("/admin/reindex", data={"csrf_token": token}, headers={"HX-Request": "true"})
    assert started.status_code == 200 and ("正在重建" in started.text or "索引已重建" in started.text)
    deadline = time.time() + 60
    status = started.text
    while "索引已重建" not in status and time.time() < deadline:
        time.sleep(0.3)
        status = client.get("/admin/reindex/status").text
        assert "重建失败" not in status, status
    assert "索引已重建：2 篇文章" in status
    docs = client.get("/admin/documents").text
    assert "宛城区养老服务补贴办法" in docs and "2026-01-01" in docs and "elderly.md" in docs
    assert "检查通过" in client.get("/admin/check").text


def test_synonyms_are_validated_and_written_atomically(client, runtime, tmp_path, settings):

    ops = runtime.operations
    ops.synonyms.path = tmp_path / "synonyms.txt"
    ops.synonyms.path.write_text("就医 看病\n", encoding="utf-8")
    from ops.synonyms import SynonymError, Synonyms

    with pytest.raises(SynonymError, match="第2行"):
        Synonyms.validate("就医 看病\n孤词\n")
    assert ops.synonyms.save("就医 看病 瞧病\n# 注释\n务工 打工", actor="web:alice") == 2
    assert ops.synonyms.path.read_text(encoding="utf-8") == "就医 看病 瞧病\n# 注释\n务工 打工\n"
    page = client.post("/admin/synonyms", data={"csrf_token": csrf(client, "/admin/synonyms"), "text": "孤词"})
    assert page.status_code == 400 and "第1行" in page.text
