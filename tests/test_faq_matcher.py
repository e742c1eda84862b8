"""faq/matcher.py with faq/index.py and faq/gates.py: near-ties between compatible entries,
negative questions, the detail gate, and updates in place."""

from dataclasses import replace

import pytest

from faq.matcher import FaqMatcher
from qa.store.faq_rows import FaqRecord

APPLY = FaqRecord(id="L1", question="低保怎么申请？", alternates=["低保去哪里申请", "申请低保的流程"],
                  answer="由本人向户籍所在乡镇人民政府提出书面申请，村委会可以代为提出，乡镇入户调查后报区民政局审核。")
WHERE = FaqRecord(id="L2", question="申请低保找哪里？", alternates=["低保去哪办"],
                  answer="低保由本人向户籍所在乡镇人民政府提出申请，村委会可以代为提出，区民政局审核确认。")
STANDARD = FaqRecord(id="L3", question="低保标准是多少？", alternates=["低保每月能领多少钱"],
                     answer="农村低保标准按区政府当年公布的标准执行，按月发放到户。", negatives=["低保怎么申请"])
SIJIZHONG = FaqRecord(id="L4", question="四集中是什么？", alternates=["什么是四集中兜底"],
                      answer="四集中是对特殊困难群体的兜底保障。")
RELIEF = FaqRecord(id="L5", question="临时救助资金发了多少？", alternates=["临时救助拨了多少钱"],
                   answer="2020年1月，区民政局下拨临时救助资金92万元。")


@pytest.fixture
def matcher(segmenter):
    return FaqMatcher([APPLY, WHERE, STANDARD, SIJIZHONG, RELIEF], segmenter)


def test_near_tie_between_compatible_entries_answers_the_best_and_offers_the_other(matcher):
    match = matcher.match("低保在哪里申请")
    assert {match.top[0][0].id, match.top[1][0].id} == {"L1", "L2"}
    assert match.top[0][1] - match.top[1][1] < 12  # a near-tie: the old margin rule suggested both
    assert match.decision == "answer"
    other = ({"L1", "L2"} - {match.entry.id}).pop()
    assert [e.id for e in match.also] == [other] and match.related[0].id == other


def test_near_tie_between_entries_that_do_not_both_answer_is_only_suggested(segmenter):
    allowance = FaqRecord(id="M1", question="低保怎么申请？", answer="向户籍所在乡镇人民政府申请低保。")
    insurance = FaqRecord(id="M2", question="医保怎么申请？", answer="城乡居民医保由村协办员代收，也可手机缴费。")
    match = FaqMatcher([allowance, insurance], segmenter).match("低保医保怎么申请")
    assert abs(match.top[0][1] - match.top[1][1]) < 12  # a near-tie ...
    assert match.decision == "suggest" and match.also == []  # ... and neither covers the whole question


def test_a_question_close_to_a_negative_question_is_not_answered_by_that_entry(segmenter):
    only = FaqMatcher([STANDARD], segmenter)
    match = only.match("低保咋申请")
    assert match.entry is None and match.blocked == ["L3"] and match.decision == "none"
    assert only.match("低保标准是多少").entry.id == "L3"  # its own phrasings still match
    without = FaqMatcher([replace(STANDARD, negatives=[])], segmenter).match("低保咋申请")
    assert without.entry is not None and without.entry.id == "L3"  # the negative made the difference


def test_negative_question_leaves_the_right_entry_to_answer(matcher):
    match = matcher.match("低保怎么申请")
    assert match.decision == "answer" and match.entry.id == "L1" and "L3" in match.blocked


@pytest.mark.parametrize("question, gate", [
    ("四集中是哪一年开始的", "type:date"),  # asks a date; the answer holds none
    ("临时救助资金3月份发了多少", "month"),  # names a month the entry never mentions
    ("2021年临时救助资金发了多少", "year"),
])
def test_an_entry_is_not_accepted_for_a_detail_it_does_not_give(matcher, question, gate):
    match = matcher.match(question)
    assert match.gate == gate and match.decision != "answer"


def test_a_detail_the_entry_gives_is_answered(matcher):
    match = matcher.match("临时救助资金1月份发了多少")
    assert (match.decision, match.entry.id, match.gate) == ("answer", "L5", None)


QUESTIONS = ["低保在哪里申请", "低保标准是多少", "四集中是什么意思", "临时救助拨了多少钱", "残疾人补贴怎么领",
             "公租房咋申请", "四集中兜底是啥"]


def _ranking(matcher, questions=QUESTIONS):
    return [(m.decision, m.entry.id if m.entry else None, round(m.score, 6))
            for m in (matcher.match(q) for q in questions)]


def test_updates_in_place_match_a_matcher_built_from_scratch(segmenter):
    matcher = FaqMatcher([APPLY, WHERE, STANDARD], segmenter)
    index = matcher.index
    disabled = FaqRecord(id="L6", question="残疾人补贴怎么领？", answer="向乡镇申请。", status="disabled")
    matcher.put(SIJIZHONG)
    matcher.put(RELIEF)
    matcher.put(disabled)  # a disabled record is never matched
    matcher.put(replace(WHERE, question="公租房怎么申请？", alternates=[], answer="向区住房保障部门申请。"))
    matcher.remove("L1")
    assert matcher.index is index  # the same index, changed in place
    final = [WHERE, STANDARD, SIJIZHONG, RELIEF]
    final[0] = replace(WHERE, question="公租房怎么申请？", alternates=[], answer="向区住房保障部门申请。")
    assert len(matcher) == 4
    assert _ranking(matcher) == _ranking(FaqMatcher(final, segmenter))
    assert matcher.match("公租房咋申请").entry.id == "L2"
    assert matcher.match("低保去哪里申请").entry is None or matcher.match("低保去哪里申请").entry.id != "L1"


def test_update_applies_only_the_differences(segmenter):
    matcher = FaqMatcher([APPLY, WHERE, STANDARD], segmenter)
    assert matcher.update([APPLY, WHERE, STANDARD]) == 0
    assert matcher.update([APPLY, replace(WHERE, status="disabled"), SIJIZHONG]) == 3  # L2 off, L3 gone, L4 new
    assert sorted(e.id for e in matcher.entries) == ["L1", "L4"]
    assert len(matcher.index) == 1 + len(APPLY.alternates) + 1 + len(SIJIZHONG.alternates)


def test_service_keeps_its_matcher_and_sees_an_edit_on_the_next_answer(runtime):
    from faq.staff import FaqStaff

    service = runtime.service
    before = service.faq_matcher
    staff = FaqStaff(runtime.store, runtime.segmenter)
    staff.add(question="秸秆禁烧有补助吗？", answer="以乡镇通知为准。", actor="cli:t", force=True)
    answer = service.answer("秸秆禁烧有补助吗")
    assert answer.kind == "faq" and service.faq_matcher is before
    staff.edit(answer.faq_id, actor="cli:t", negatives="秸秆禁烧有补助吗 |秸秆焚烧罚款吗", question="秸秆禁烧补助怎么领？")
    assert service.answer("秸秆禁烧有补助吗").faq_id != answer.faq_id
    staff.disable(answer.faq_id, actor="cli:t")
    assert service.answer("秸秆禁烧补助怎么领").faq_id != answer.faq_id
    assert service.faq_matcher is before


def test_a_how_question_is_not_answered_by_an_entry_written_for_a_figure(segmenter):
    suppliers = FaqRecord(id="N1", question="832平台上有多少家供应商？", alternates=["832平台供应商有几家"],
                          answer="在832平台推荐供应商32家。")
    match = FaqMatcher([suppliers], segmenter).match("832平台怎么注册成为供应商")
    assert match.entry.id == "N1" and match.gate == "type:how" and match.decision != "answer"
    assert FaqMatcher([suppliers], segmenter).match("832平台供应商有多少家").decision == "answer"
