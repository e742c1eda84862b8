"""Resident language (issue 11): colloquial rules, question finding, number hints, detail gating."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa import approx, detail, focus
from qa.colloquial import Colloquial, ColloquialFileError, Rules, normalize_colloquial


def test_colloquial_rewrites_dialect_and_question_tails():
    assert normalize_colloquial("俺娃念大学想贷款") == "我孩子上大学想贷款"
    assert normalize_colloquial("能办不") == "能办吗"
    assert normalize_colloquial("村里喝的水干净不有人检测没") == "村里饮用水安全吗有人检测了吗"
    assert normalize_colloquial("那个颜料厂的老板叫啥名") == "那个颜料公司的董事长叫什么名"


def test_colloquial_protects_names_and_fixed_forms():
    assert normalize_colloquial("娃哈哈南阳生产基地") == "娃哈哈南阳生产基地"
    assert normalize_colloquial("对不对") == "对不对"
    assert normalize_colloquial("要不要") == "要不要"


def test_colloquial_file_errors_name_the_line(tmp_path: Path):
    path = tmp_path / "c.txt"
    path.write_text("# ok\n俺 => 我\n坏行\n", encoding="utf-8")
    with pytest.raises(ColloquialFileError, match="line 3"):
        Rules.load(path)
    path.write_text("!娃哈哈\n娃 => 孩子\n喂 =>\n", encoding="utf-8")
    rules = Colloquial(Rules.load(path))
    assert rules.apply("喂娃哈哈的娃") == "娃哈哈的孩子"


def test_question_clauses_in_unpunctuated_speech():
    text = "我是官庄镇的我家地不多但是不知道给多少钱到底亩多少钱"
    assert focus.asking_clauses(text) == ["不知道给多少钱", "到底亩多少钱"]
    assert focus.asking_clauses("宛城区有几个脱贫村") is None


def test_length_cap_keeps_the_question_at_the_end():
    story = "我家的事说来话长" * 40 + "全区一共有多少个脱贫村"
    window = focus.question_window(story, 200)
    assert len(window) <= 200 and window.endswith("全区一共有多少个脱贫村")
    assert focus.question_window("短问题", 200) == "短问题"


@pytest.mark.parametrize("question, rewritten, inside, outside", [
    ("2020年脱贫了2000多人对不对", "2020年脱贫了多少人对不对", 2652, 3075),
    ("扶贫产品卖了大几千万吧", "扶贫产品卖了多少万吧", 99_390_000, 40_000_000),
    ("村级幸福大院有百十个吗", "村级幸福大院有多少个吗", 100, 44),
    ("床位改造了一千五六百张对吧", "床位改造了多少张对吧", 1536, 1700),
])
def test_approximate_numbers_become_ranges(question, rewritten, inside, outside):
    text, ranges = approx.hints(question)
    assert text == rewritten
    assert any(inside in r for r in ranges) and not any(outside in r for r in ranges)


def test_an_age_in_a_story_is_no_number_hint():
    assert approx.hints("我父亲70多了") == ("我父亲70多了", ())
    assert approx.hints("宛城区2020年脱贫多少人") == ("宛城区2020年脱贫多少人", ())


def test_in_range_reads_units():
    _, ranges = approx.hints("销售额快1个亿了吧")
    assert approx.in_range("扶贫产品销售金额为9939万元", ranges)
    assert not approx.in_range("实现销售额4000万元", ranges)


def test_detail_gate_refuses_a_sentence_without_the_asked_place():
    asked = detail.asked_detail("娃哈哈南阳生产基地在哪个乡镇", "place")
    sentence = "在1天之内,乐凯华光、南阳防爆宛城分公司、娃哈哈南阳生产基地等6家大型骨干工业企业实现复工生产。"
    assert detail.missing(asked, sentence, ["在", "1", "天", "之内", "乐凯华光", "南阳", "防爆", "宛城", "分公司"],
                          "娃哈哈南阳生产基地在哪个乡镇")
    ok = detail.missing(asked, "宛城区瓦店镇通过采取", ["宛城区", "瓦店镇", "通过", "采取"], "基地在哪个乡镇")
    assert ok is None


def test_detail_gate_checks_the_person_belongs_to_the_asked_entity():
    text = "该区凌宝珠光颜料公司董事长付中华荣获2020年度河南省脱贫攻坚奉献奖"
    right = detail.asked_detail("凌宝珠光颜料公司董事长是谁", "person")
    wrong = detail.asked_detail("乐凯华光公司的董事长是谁", "person")
    assert detail.missing(right, text, [], "凌宝珠光颜料公司董事长是谁") is None
    assert detail.missing(wrong, text, [], "乐凯华光公司的董事长是谁") is not None


def test_detail_gate_months_and_lists():
    months = detail.asked_detail("临时救助3月份又拨了多少钱", "money")
    assert detail.missing(months, "2月份,又拨付临时救助资金67万元", [], "临时救助3月份又拨了多少钱")
    firms = detail.asked_detail("还有哪些企业复工了", "list")
    assert detail.missing(firms, "乐凯华光、南阳防爆宛城分公司、娃哈哈南阳生产基地等6家企业", [], "还有哪些企业") is None
    assert detail.missing(firms, "通过临时救助、组织捐助等多项措施", [], "还有哪些企业") is not None


def test_service_answers_residents_and_refuses_detail_traps(service):
    from qa.answer import Answer  # noqa: F401  (the type under test)

    answered = service.answer("俺们宛城区一共有几个脱贫村啊")
    assert answered.kind in ("passage", "faq") and "21" in "".join(c.quote for c in answered.citations)
    voice = service.answer("我想了解一下宛城区建档立卡的情况一共有多少户多少人")
    assert voice.kind in ("passage", "faq") and "4550户9900人" in "".join(c.quote for c in voice.citations)
    trap = service.answer("凌宝珠光颜料公司在哪个位置")
    assert trap.kind == "none"


def test_multi_part_quotes_render_with_one_source_line_in_plain_text_and_telegram():
    from channels.replies import Replies
    from channels.telegram_render import answer_blocks
    from qa.answer import Answer, Citation

    first = Citation(doc_id="d", title="标题", section="小节", paragraph=1, quote="1月拨付92万元。", start=0, end=9)
    second = Citation(doc_id="d", title="标题", section="小节", paragraph=2, quote="2月拨付67万元。", start=20, end=29)
    answer = Answer("临时救助一月二月分别拨了多少钱", "passage", 0.9, [first, second], outcome="answered")
    replies = Replies(contact="12345")
    text = replies.text(answer)
    assert "1月拨付92万元。\n2月拨付67万元。\n来源：《标题》 · 小节 · 第1段；《标题》 · 小节 · 第2段" in text
    blocks = answer_blocks(answer, replies)
    assert [b for b in blocks if b[1] == "i"] == [("来源：《标题》 · 小节 · 第1段；《标题》 · 小节 · 第2段", "i")]


def test_service_quotes_each_part_in_reading_order(service):
    answer = service.answer("临时救助一月二月分别拨了多少钱")
    quotes = [c.quote for c in answer.citations]
    assert answer.kind == "passage" and len(quotes) == 2
    assert "92万元" in quotes[0] and "67万元" in quotes[1]


def test_detail_gate_dates_by_grain():
    day = detail.asked_detail("扶贫车间哪天全部复工的", "date")
    assert detail.missing(day, "2020年3月19日,全区13个扶贫车间全部复工复产。", [], "扶贫车间哪天全部复工的") is None
    assert detail.missing(day, "全区13个扶贫车间全部复工复产。", [], "扶贫车间哪天全部复工的") is not None


def test_eval_reports_per_split_and_class(service, replies):
    from app.evaluate import evaluate

    rows = [
        {"question": "俺们宛城区一共有几个脱贫村啊", "scope": "in", "expect_any": ["21"], "class": "colloquial", "split": "tune"},
        {"question": "凌宝珠光颜料公司在哪个位置", "scope": "out", "class": "detail_trap", "split": "holdout"},
        {"question": "宛城区有多少个脱贫村", "scope": "in", "expect_any": ["999"]},
    ]
    report = evaluate(service, rows, replies)
    groups = {g["group"]: g for g in report.breakdown()}
    assert groups["split=tune"]["in"] == "1/1" and groups["split=holdout"]["out"] == "1/1"
    assert groups["class=colloquial"]["in_accuracy"] == 1.0 and groups["class=detail_trap"]["out_abstention"] == 1.0
    assert list(groups)[:2] == ["split=holdout", "split=tune"] and len(groups) == 4
    assert report.in_total == 2 and report.in_right == 1
