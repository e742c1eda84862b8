"""faq/: matching, files, staff operations, the unanswered queue."""

import csv

import pytest

from faq.io import FaqFileError, read_entries, write_entries
from faq.matcher import FaqMatcher
from faq.staff import FaqError, FaqStaff, NearDuplicate, PENDING_ANSWER
from qa.store.faq_rows import FaqRecord
from tests.support.render import text as shown


@pytest.fixture
def staff(runtime):
    return FaqStaff(runtime.store, runtime.segmenter)


@pytest.fixture(scope="module")
def matcher(segmenter):
    entries = [
        FaqRecord(id="A1", question="低保户怎么申请？", answer="到乡镇便民服务中心申请。", alternates=["低保去哪里办"]),
        FaqRecord(id="A2", question="雨露计划补助多少钱？", answer="以当年通知为准。", alternates=["雨露计划补助标准"]),
        FaqRecord(id="A3", question="宛城区有多少个脱贫村？", answer="21个。", alternates=["脱贫村有几个"]),
        FaqRecord(id="A4", question="四集中是什么？", answer="兜底保障。", alternates=["什么是四集中"]),
        FaqRecord(id="A5", question="停用的问题？", answer="x", status="disabled"),
    ]
    return FaqMatcher(entries, segmenter)


@pytest.mark.parametrize("question, entry", [
    ("低包户咋申请", "A1"),            # homophone typo
    ("玉露计划补助标准是多少", "A2"),   # homophone typo
    ("宛城區有幾個脫貧村", "A3"),       # traditional script
    ("四集中到底是啥", "A4"),           # colloquial
])
def test_paraphrases_and_typos_are_answered(matcher, question, entry):
    match = matcher.match(question)
    assert (match.decision, match.entry.id) == ("answer", entry)
    assert 0.5 < match.confidence <= 1.0


@pytest.mark.parametrize("question", ["你好", "好", "谢谢", "低", "的"])
def test_short_inputs_never_match_partially(matcher, question):
    assert matcher.match(question).decision == "none"


def test_two_character_input_matches_only_an_equal_phrasing(segmenter):
    m = FaqMatcher([FaqRecord(id="B1", question="低保是什么？", answer="a", alternates=["低保"])], segmenter)
    assert m.match("低保").decision == "answer"
    assert m.match("保障").decision == "none"


def test_other_district_and_other_year_are_not_answered(matcher):
    assert matcher.match("卧龙区有多少个脱贫村").decision != "answer"
    assert matcher.match("2021年宛城区有多少个脱贫村").decision != "answer"


def test_disabled_entries_never_match(matcher):
    assert all(e.id != "A5" for e, _ in matcher.match("停用的问题").top)


def test_unrelated_question_matches_nothing(matcher):
    assert matcher.match("怎么补办身份证").decision == "none"


def test_csv_utf8_bom_and_gb18030_and_xlsx_roundtrip(tmp_path):
    rows = [["id", "question", "alternates", "answer", "source"],
            ["X1", "问题一？", "甲|乙", "答案，含逗号,和\"引号\"\n以及换行。", "《来源》"],
            ["", "问题二？", "", "答案二。", ""]]
    for encoding in ("utf-8-sig", "utf-8", "gb18030"):
        path = tmp_path / f"f-{encoding}.csv"
        with path.open("w", encoding=encoding, newline="") as handle:
            csv.writer(handle).writerows(rows)
        entries = read_entries(path)
        assert entries[0] == {"id": "X1", "question": "问题一？", "alternates": ["甲", "乙"],
                              "answer": "答案，含逗号,和\"引号\"\n以及换行。", "source": "《来源》", "tags": []}
        assert entries[1]["id"] == "" and entries[1]["alternates"] == []
    records = [FaqRecord(id="X1", question="问题一？", answer="=1+1 不是公式", alternates=["甲", "乙"], source="s")]
    for name in ("out.csv", "out.xlsx"):
        write_entries(tmp_path / name, records)
        back = read_entries(tmp_path / name)
        assert back[0]["answer"] == "=1+1 不是公式" and back[0]["alternates"] == ["甲", "乙"]


@pytest.mark.parametrize("content, message", [
    ("id,question,answer\nX,q,a\n", "表头必须是"),
    ("id,question,alternates,answer,source\nX1,,,a,\n", "第2行：question 不能为空"),
    ("id,question,alternates,answer,source\nX1,q,,a,\nX1,q2,,a2,\n", "第3行：id X1 与第2行重复"),
    ("id,question,alternates,answer,source\nX1,q,,,\n", "第2行：answer 不能为空"),
    ("id,question,alternates,answer,source\nX 1,q,,a,\n", "第2行：id 只能包含"),
    ("", "文件是空的"),
])
def test_bad_files_are_rejected_naming_the_line(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(FaqFileError, match=message):
        read_entries(path)


def test_import_is_all_or_nothing(staff, tmp_path, runtime):
    before = len(runtime.store.faq.all())
    path = tmp_path / "imp.csv"
    path.write_text("id,question,alternates,answer,source\nN1,新问题？,,新答案。,s\nN2,,,x,\n", encoding="utf-8")
    with pytest.raises(FaqFileError):
        staff.import_file(path, actor="cli:t")
    assert len(runtime.store.faq.all()) == before


def test_staff_add_refuses_blanks_and_near_duplicates(staff):
    with pytest.raises(FaqError, match="问题不能为空"):
        staff.add(question="  ", answer="a", actor="cli:t")
    with pytest.raises(FaqError, match="答案不能为空"):
        staff.add(question="一个新问题？", answer="\u200b", actor="cli:t")
    with pytest.raises(NearDuplicate) as caught:
        staff.add(question="宛城区有几个脱贫村", answer="21个", actor="cli:t")
    assert caught.value.entry.id == "F013"
    record = staff.add(question="宛城区有几个脱贫村", answer="21个", actor="cli:t", force=True)
    assert record.id == "F052"


def test_staff_added_entry_is_answerable_at_once(staff, service):
    staff.add(question="公租房怎么申请？", answer="请向区住房保障部门咨询。", source="测试来源", actor="telegram:7",
              alternates="公租房申请条件|怎么申请公共租赁住房")
    answer = service.answer("公租房咋申请")
    assert answer.kind == "faq" and "住房保障部门" in shown(answer) and "来源：测试来源" in shown(answer)


def test_edit_disable_enable_and_history(staff, service, runtime):
    staff.edit("F013", actor="cli:t", add_alternates="村子脱贫了几个")
    staff.disable("F013", actor="cli:t")
    assert service.answer("宛城区有多少个脱贫村？").faq_id != "F013"
    staff.edit("F013", actor="cli:t", enable=True)
    assert service.answer("宛城区有多少个脱贫村？").faq_id == "F013"
    actions = [h["action"] for h in runtime.store.faq.history("F013")]
    assert actions[-3:] == ["edit", "disable", "edit"]


def test_unanswered_groups_and_promote(staff, conversation, replies):
    for text in ["公租房怎么申请", "公租房申请条件", "怎么申请公租房呀", "新能源汽车补贴"]:
        assert conversation.ask("cli", "u", text, render=replies.text).answer.kind == "none"
    assert conversation.writer.flush(5)
    groups = staff.unanswered("2000-01-01")
    assert groups[0].count == 3 and len(groups[0].texts) == 3
    record = staff.promote(groups[0].id, actor="cli:t", since="2000-01-01", to="F051")
    assert "公租房怎么申请" in record.alternates
    new = staff.promote(groups[1].id, actor="cli:t", since="2000-01-01")
    assert new.status == "disabled" and new.answer == PENDING_ANSWER
    with pytest.raises(FaqError, match="还没有答案"):
        staff.edit(new.id, actor="cli:t", enable=True)
    with pytest.raises(FaqError, match="找不到问题组"):
        staff.promote("G999999", actor="cli:t", since="2000-01-01", to="F001")


def test_import_refuses_fields_that_are_only_invisible_characters(tmp_path):
    path = tmp_path / "zw.csv"
    path.write_bytes("id,question,alternates,answer,source\nZW1,\u200b,扶贫车间哪天复工的,\u200b,\n".encode())
    with pytest.raises(FaqFileError, match="第2行：question 不能为空"):
        read_entries(path)


def test_import_rows_without_id_never_take_an_id_named_later_in_the_file(staff, tmp_path, runtime):
    path = tmp_path / "ids.csv"
    path.write_text("id,question,alternates,answer,source\n,第一条新问题是什么,,答案一,来源\nF052,第二条新问题是什么,,答案二,来源\n",
                    encoding="utf-8")
    report = staff.import_file(path, actor="cli:t")
    assert (report.added, report.updated) == (2, 0)
    answers = {r.answer for r in runtime.store.faq.all()}
    assert {"答案一", "答案二"} <= answers


def test_mixed_encodings_are_refused_not_garbled(tmp_path):
    path = tmp_path / "mixed.csv"
    head = "id,question,alternates,answer,source\n"
    path.write_bytes((head + "M1,残疾人补贴怎么领取,,到民政所申请,测试\n").encode("gb18030")
                     + "M2,教育资助怎么申请,,测试资料,你好\n".encode())
    with pytest.raises(FaqFileError, match="混用"):
        read_entries(path)


def test_formula_cells_are_exported_as_text_and_round_trip(tmp_path):
    records = [FaqRecord(id="X1", question='=HYPERLINK("http://evil.example","点我")', answer="+1", source="@x",
                         alternates=["-2"])]
    path = tmp_path / "f.csv"
    write_entries(path, records)
    raw = path.read_text(encoding="utf-8-sig")
    assert "'=HYPERLINK" in raw and ",'+1," in raw
    back = read_entries(path)[0]
    assert (back["question"], back["answer"], back["source"], back["alternates"]) == (
        '=HYPERLINK("http://evil.example","点我")', "+1", "@x", ["-2"])


def test_control_characters_never_reach_entries_or_xlsx(staff, tmp_path):
    record = staff.add(question="控制字符测试问题", answer="答案", alternates="alt\x01one|\x1b[31mred", actor="cli:t",
                       force=True)
    assert record.alternates == ["altone", "[31mred"]
    assert staff.export_file(tmp_path / "out.xlsx") > 50
    with pytest.raises(FaqFileError, match="目录不存在"):
        staff.export_file(tmp_path / "missing" / "out.csv")
