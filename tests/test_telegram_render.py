"""Rendering for Telegram: escaping, splitting under 4096 UTF-16 units, keyboards, mentions."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from telegram import MessageEntity, User

from channels.telegram_handlers import strip_bot_mentions
from channels.telegram_render import (
    MAX_MESSAGE_UTF16,
    answer_blocks,
    answer_keyboard,
    escape,
    html_parts,
    plain_parts,
    render_answer,
    without_feedback,
)
from channels.replies import Replies
from qa.answer import Answer, Citation
from tests.support.telegram_html import parse_html, telegram_html_to_text, utf16_len


def visible(parts: list[str]) -> list[str]:
    return [telegram_html_to_text(p) for p in parts]


def squash(text: str) -> str:
    return "".join(text.split())


def test_escape():
    assert escape('<b>&"x"</b>') == '&lt;b&gt;&amp;"x"&lt;/b&gt;'
    assert telegram_html_to_text(escape("a & b < c > d &amp;")) == "a & b < c > d &amp;"


def test_short_text_is_one_trimmed_part():
    assert plain_parts("  你好 <世界> \n") == ["你好 &lt;世界&gt;"]
    assert plain_parts(" \n\t ") == []


def test_6000_characters_split_at_sentence_ends():
    text = "".join(f"第{n}句话，用来测试拆分。" for n in range(1000))[:6000]
    parts = plain_parts(text)
    assert len(parts) == 2 and all(utf16_len(p) <= MAX_MESSAGE_UTF16 for p in parts)
    shown = visible(parts)
    assert shown[0].endswith("。") and "".join(shown) == text


def test_the_html_source_is_what_is_bounded():
    """Escapes count: 6,000 visible characters that escape to ~9,000 units need three parts."""
    text = "".join(f"第{n}句话里有<尖括号>和&符号，用来测试拆分。" for n in range(400))[:6000]
    parts = plain_parts(text)
    assert len(parts) == 3 and all(utf16_len(p) <= MAX_MESSAGE_UTF16 for p in parts)
    shown = visible(parts)
    assert all(s.endswith("。") for s in shown[:-1]) and "".join(shown) == text


def test_a_sentence_longer_than_a_message_is_cut_between_characters():
    text = "😀" * 3000 + "&" * 10
    parts = plain_parts(text)
    assert [utf16_len(p) for p in parts][0] <= MAX_MESSAGE_UTF16 and len(parts) == 2
    assert "".join(visible(parts)) == text


def test_tags_are_closed_in_every_part():
    blocks = [("正文。" * 100, None), ("很长的引用句子，" * 300 + "。", "i"), ("结尾。", "b")]
    parts = html_parts(blocks, limit=1000)
    assert len(parts) > 3
    for part in parts:
        assert utf16_len(part) <= 1000
        parse_html(part)  # raises on an unclosed or broken tag
    assert squash("".join(visible(parts))) == squash("".join(t for t, _ in blocks))


REPLIES = Replies("请拨打12345。")


def _answer(**kw) -> Answer:
    citation = Citation("seed", "脱贫攻坚 宛城区交出满意答卷", "小节", 2, "2020年脱贫2652人。", 0, 10)
    base = dict(question="q", kind="passage", confidence=0.9, outcome="answered",
                citations=[citation], suggestions=["甲？"], suggestion_ids=["F001"])
    return Answer(**{**base, **kw})


def test_answer_citation_in_italics_and_keyboard():
    parts, markup = render_answer(_answer(), REPLIES, 7)
    assert parts == ["2020年脱贫2652人。\n<i>来源：《脱贫攻坚 宛城区交出满意答卷》 · 小节 · 第2段</i>"]
    rows = [[b.callback_data for b in row] for row in markup.inline_keyboard]
    assert rows == [["faq:F001"], ["fb:7:1", "fb:7:0"]]
    assert [[b.callback_data for b in r] for r in without_feedback(markup).inline_keyboard] == [["faq:F001"]]


def test_refusal_keeps_its_contact_line_and_long_ids_are_dropped():
    refusal = _answer(kind="none", citations=[], reason="did_you_mean", outcome="suggested",
                      suggestion_ids=["F" + "9" * 70])
    assert REPLIES.text(refusal) == "您是不是想问：\n1. 甲？\n（回复数字即可选择）\n\n请拨打12345。"
    assert answer_blocks(refusal, REPLIES) == [("您是不是想问下面这些问题？也可以换个说法再问。\n\n请拨打12345。", None)]
    assert answer_keyboard(refusal, 7) is None  # the 72-byte callback data would be rejected
    smalltalk = _answer(kind="smalltalk", citations=[], suggestions=[], suggestion_ids=[], reason="thanks")
    assert render_answer(smalltalk, REPLIES, 8) == (["不客气！还有其他问题，随时问我。"], None)


def test_strip_bot_mentions_uses_utf16_offsets():
    text = "😀 @PolicyTestBot 脱贫多少人 @other_user"
    entities = [MessageEntity("mention", 3, 14), MessageEntity("mention", 23, 11)]
    assert strip_bot_mentions(text, entities, "policytestbot", 1) == ("😀  脱贫多少人 @other_user", True)
    assert strip_bot_mentions(text, entities[1:], "PolicyTestBot", 1) == (text, False)
    bot = User(1, "Bot", True)
    assert strip_bot_mentions("机器人 你好", [MessageEntity("text_mention", 0, 3, user=bot)], None, 1) == (" 你好", True)
    assert strip_bot_mentions("短", [MessageEntity("mention", 5, 99)], "x", 1) == ("短", False)


_TOKENS = st.sampled_from(list("政策问答宛城区。！？；…“”<>&\"' \n\tab1😀👍\u3000\x00\u200b")
                         + ["&amp;", "<b>", "</i>", "。”", "\U0001F468\u200d\U0001F469", "宛城区2020年脱贫2652人。"])
_TEXT = st.lists(_TOKENS, max_size=1500).map("".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(blocks=st.lists(st.tuples(_TEXT | st.text(max_size=50),
                                 st.sampled_from([None, "b", "i", "code"])), max_size=6),
       limit=st.integers(64, MAX_MESSAGE_UTF16))
def test_property_parts_are_valid_html_within_the_limit(blocks, limit):
    parts = html_parts(blocks, limit=limit)
    for part in parts:
        assert utf16_len(part) <= limit
        shown = telegram_html_to_text(part)  # strict Telegram HTML
        assert shown.strip() and utf16_len(shown) <= limit
    assert squash("".join(visible(parts))) == squash("".join(t for t, _ in blocks))
