"""Tests for channels.wechat_xml: parsing literal messages, hostile XML, rendering, truncation."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qa.sentences import utf8_truncate_at_sentence
from channels.wechat_xml import (
    BadXml,
    cdata,
    parse_message,
    render_encrypted_envelope,
    render_text_reply,
    strip_control_chars,
)

# Message layouts from the Official Account docs (接收普通消息 / 接收事件推送), with Chinese content.
TEXT_MESSAGE = """<xml>
  <ToUserName><![CDATA[gh_0123456789ab]]></ToUserName>
  <FromUserName><![CDATA[oUser_OpenID_123]]></FromUserName>
  <CreateTime>1348831860</CreateTime>
  <MsgType><![CDATA[text]]></MsgType>
  <Content><![CDATA[四集中供养是什么政策？]]></Content>
  <MsgId>1234567890123456</MsgId>
</xml>"""

VOICE_MESSAGE = """<xml><ToUserName><![CDATA[toUser]]></ToUserName>
<FromUserName><![CDATA[fromUser]]></FromUserName>
<CreateTime>1357290913</CreateTime>
<MsgType><![CDATA[voice]]></MsgType>
<MediaId><![CDATA[media_id]]></MediaId>
<Format><![CDATA[amr]]></Format>
<Recognition><![CDATA[生源地助学贷款怎么申请]]></Recognition>
<MsgId>1234567890123456</MsgId>
</xml>"""

SUBSCRIBE_EVENT = """<xml>
  <ToUserName><![CDATA[toUser]]></ToUserName>
  <FromUserName><![CDATA[FromUser]]></FromUserName>
  <CreateTime>123456789</CreateTime>
  <MsgType><![CDATA[event]]></MsgType>
  <Event><![CDATA[subscribe]]></Event>
</xml>"""

# Safe-mode POST body: only ToUserName and Encrypt (消息加解密说明).
SAFE_MODE_BODY = (
    "<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName>"
    "<Encrypt><![CDATA[hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJl+/ab==]]></Encrypt></xml>"
)

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<xml><MsgType>text</MsgType><Content>&lol9;</Content></xml>"""

EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<xml><MsgType>text</MsgType><Content>&x;</Content></xml>"""

PARAMETER_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY % p SYSTEM "http://127.0.0.1/evil.dtd"> %p;]>
<xml><Content>x</Content></xml>"""


# --- parsing ---------------------------------------------------------------------------------


def test_parse_text_message():
    assert parse_message(TEXT_MESSAGE) == {
        "ToUserName": "gh_0123456789ab",
        "FromUserName": "oUser_OpenID_123",
        "CreateTime": "1348831860",
        "MsgType": "text",
        "Content": "四集中供养是什么政策？",
        "MsgId": "1234567890123456",
    }


def test_parse_voice_message_with_recognition():
    fields = parse_message(VOICE_MESSAGE.encode("utf-8"))
    assert fields["MsgType"] == "voice"
    assert fields["Recognition"] == "生源地助学贷款怎么申请"
    assert fields["Format"] == "amr"


def test_parse_subscribe_event():
    fields = parse_message(SUBSCRIBE_EVENT)
    assert (fields["MsgType"], fields["Event"]) == ("event", "subscribe")
    assert "Content" not in fields


def test_parse_safe_mode_body():
    fields = parse_message(SAFE_MODE_BODY)
    assert fields == {
        "ToUserName": "gh_10f6c3c3ac5a",
        "Encrypt": "hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJl+/ab==",
    }


def test_parse_keeps_whitespace_inside_content_and_plain_text_elements():
    fields = parse_message("<xml><Content>  两不愁 三保障 </Content><Empty/></xml>")
    assert fields == {"Content": "  两不愁 三保障 ", "Empty": ""}


def test_parse_nested_element_gives_empty_string_and_first_duplicate_wins():
    xml = (
        "<xml><Event><![CDATA[scancode_push]]></Event>"
        "<ScanCodeInfo><ScanType>qrcode</ScanType></ScanCodeInfo>"
        "<Event>second</Event></xml>"
    )
    assert parse_message(xml) == {"Event": "scancode_push", "ScanCodeInfo": ""}


def test_parse_bytes_with_bom_and_declaration():
    raw = b'\xef\xbb\xbf<?xml version="1.0" encoding="UTF-8"?><xml><Content>\xe5\x8a\xa9</Content></xml>'
    assert parse_message(raw) == {"Content": "助"}


@pytest.mark.parametrize(
    "xml",
    [
        pytest.param(BILLION_LAUGHS, id="billion-laughs"),
        pytest.param(BILLION_LAUGHS.encode(), id="billion-laughs-bytes"),
        pytest.param(EXTERNAL_ENTITY, id="external-entity"),
        pytest.param(PARAMETER_ENTITY, id="parameter-entity"),
        pytest.param('<!DOCTYPE xml SYSTEM "http://127.0.0.1/x.dtd"><xml/>', id="external-dtd"),
        pytest.param("<!DOCTYPE xml><xml><Content>x</Content></xml>", id="bare-doctype"),
        pytest.param("<xml><Content>x</xml>", id="unclosed"),
        pytest.param("<xml><Content>x</Content></xml><xml/>", id="two-roots"),
        pytest.param("<root><Content>x</Content></root>", id="wrong-root"),
        pytest.param("<XML><Content>x</Content></XML>", id="uppercase-root"),
        pytest.param("", id="empty"),
        pytest.param("   ", id="blank"),
        pytest.param("not xml at all", id="text"),
        pytest.param("<xml><a>&undefined;</a></xml>", id="undefined-entity"),
        pytest.param(None, id="none"),
        pytest.param(12345, id="int"),
    ],
)
def test_hostile_or_malformed_xml_raises_bad_xml(xml):
    with pytest.raises(BadXml):
        parse_message(xml)


def test_declared_encoding_is_ignored_bytes_are_utf8():
    # Both platforms send UTF-8; a declaration claiming otherwise does not change decoding.
    raw = '<?xml version="1.0" encoding="GBK"?><xml><Content>中</Content></xml>'.encode("utf-8")
    assert parse_message(raw) == {"Content": "中"}
    assert parse_message(b'<?xml version="1.0" encoding="UTF-16"?><xml/>') == {}


def test_bad_xml_is_a_value_error():
    assert issubclass(BadXml, ValueError)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), st.binary()))
def test_parse_arbitrary_input_raises_only_bad_xml(raw):
    try:
        assert isinstance(parse_message(raw), dict)
    except BadXml:
        pass


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from("<>/xml![]CDAT&;\"' =?a中\x00\x0b")))
def test_parse_xml_like_noise_raises_only_bad_xml(raw):
    try:
        parse_message("<xml>" + raw)
    except BadXml:
        pass


# --- control characters ----------------------------------------------------------------------


def test_strip_control_chars_keeps_tab_newline_cr():
    assert strip_control_chars("a\x00b\x01c\x08d\x0be\x0cf\x1fg\x7fh\ti\nj\rk") == "abcdefgh\ti\nj\rk"


def test_strip_control_chars_removes_xml_illegal_code_points():
    assert strip_control_chars("x\ud800y\ufffez\uffff") == "xyz"
    assert strip_control_chars("中文😀\u2028\x85") == "中文😀\u2028\x85"  # legal in XML 1.0


def test_strip_control_chars_decodes_bytes_leniently():
    assert strip_control_chars(b"\xef\xbb\xbfok\x00\xff") == "ok\ufffd"


def test_parse_strips_control_characters_before_parsing():
    raw = "<xml><Content><![CDATA[扶贫\x01车间\x1b在哪]]></Content>\x00</xml>"
    assert parse_message(raw) == {"Content": "扶贫车间在哪"}
    assert parse_message(raw.encode("utf-8")) == {"Content": "扶贫车间在哪"}


# --- rendering -------------------------------------------------------------------------------


def test_render_text_reply_layout():
    assert render_text_reply("oUser", "gh_abc", "你好", 1348831860) == (
        "<xml><ToUserName><![CDATA[oUser]]></ToUserName>"
        "<FromUserName><![CDATA[gh_abc]]></FromUserName>"
        "<CreateTime>1348831860</CreateTime>"
        "<MsgType><![CDATA[text]]></MsgType>"
        "<Content><![CDATA[你好]]></Content></xml>"
    )


def test_cdata_splits_terminator():
    assert cdata("a]]>b") == "<![CDATA[a]]]]><![CDATA[>b]]>"
    assert cdata("") == "<![CDATA[]]>"
    with pytest.raises(TypeError):
        cdata(None)


@pytest.mark.parametrize(
    "content",
    [
        "a]]>b",
        "]]>",
        "]]>]]>",
        "]]]]>>",
        "x]]",
        "]",
        "<![CDATA[ nested ]]> end",
        "</Content><MsgType>news</MsgType>",
        "&amp; &lt; <b> \"'",
        "第一行\n第二行\t缩进  ",
        "政策依据：《宛城区“四集中”实施方案》]]>第3条",
    ],
)
def test_reply_content_round_trips_exactly(content):
    parsed = parse_message(render_text_reply("oUser", "gh_abc", content, 1))
    assert parsed["Content"] == content
    assert parsed["MsgType"] == "text"
    assert parsed["ToUserName"] == "oUser"


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_reply_content_round_trips_property(content):
    parsed = parse_message(render_text_reply("o]]>u", "gh", content, 1700000000))
    expected = strip_control_chars(content).replace("\r\n", "\n").replace("\r", "\n")
    assert parsed["Content"] == expected
    assert parsed["ToUserName"] == "o]]>u"


def test_render_strips_illegal_characters_from_content():
    parsed = parse_message(render_text_reply("u", "g", "a\x00b\x07c\r\nd", 1))
    assert parsed["Content"] == "abc\nd"


@pytest.mark.parametrize("create_time", ["1348831860", 1.5, True, None])
def test_render_text_reply_rejects_non_int_create_time(create_time):
    with pytest.raises(TypeError):
        render_text_reply("u", "g", "c", create_time)


def test_render_text_reply_rejects_negative_create_time():
    with pytest.raises(ValueError):
        render_text_reply("u", "g", "c", -1)


def test_render_encrypted_envelope_layout_and_round_trip():
    xml = render_encrypted_envelope("YWJj+/==", "407518b7649e86ef23978113f92d27afa9296533", "1411525903", "461056294")
    assert xml == (
        "<xml><Encrypt><![CDATA[YWJj+/==]]></Encrypt>"
        "<MsgSignature><![CDATA[407518b7649e86ef23978113f92d27afa9296533]]></MsgSignature>"
        "<TimeStamp>1411525903</TimeStamp>"
        "<Nonce><![CDATA[461056294]]></Nonce></xml>"
    )
    assert parse_message(xml) == {
        "Encrypt": "YWJj+/==",
        "MsgSignature": "407518b7649e86ef23978113f92d27afa9296533",
        "TimeStamp": "1411525903",
        "Nonce": "461056294",
    }
    assert render_encrypted_envelope("e", "s", 1411525903, "n") == render_encrypted_envelope(
        "e", "s", "1411525903", "n"
    )


@pytest.mark.parametrize("timestamp", ["", "12a", "1<2", " 1", "-1", None, 1.0])
def test_render_encrypted_envelope_rejects_bad_timestamp(timestamp):
    with pytest.raises((TypeError, ValueError)):
        render_encrypted_envelope("e", "s", timestamp, "n")


# --- UTF-8 truncation ------------------------------------------------------------------------


def _bytes(text):
    return len(text.encode("utf-8"))


def test_truncate_returns_whole_text_when_it_fits():
    assert utf8_truncate_at_sentence("全部都放得下。", 100) == ("全部都放得下。", "")
    assert utf8_truncate_at_sentence("", 0) == ("", "")
    assert utf8_truncate_at_sentence("正好", 6) == ("正好", "")


def test_truncate_cuts_after_last_sentence_end_that_fits():
    text = "第一句。第二句！第三句很长很长很长"
    head, rest = utf8_truncate_at_sentence(text, _bytes("第一句。第二句！第三"))
    assert (head, rest) == ("第一句。第二句！", "第三句很长很长很长")


@pytest.mark.parametrize("mark", ["。", "！", "？", "；", "!", "?", "\n"])
def test_truncate_recognises_each_sentence_mark(mark):
    text = f"甲乙{mark}丙丁戊己庚"
    head, rest = utf8_truncate_at_sentence(text, _bytes(f"甲乙{mark}丙丁"))
    assert head == f"甲乙{mark}"


def test_truncate_keeps_closing_quote_with_its_sentence():
    text = "他说：“按政策办理。”然后继续说明"
    head, rest = utf8_truncate_at_sentence(text, _bytes("他说：“按政策办理。”然后"))
    assert head == "他说：“按政策办理。”"


def test_truncate_falls_back_to_comma():
    text = "建档立卡贫困户，享受教育资助，以及医疗保障和就业帮扶"
    head, rest = utf8_truncate_at_sentence(text, _bytes("建档立卡贫困户，享受教育资助，以及医疗"))
    assert (head, rest) == ("建档立卡贫困户，享受教育资助，", "以及医疗保障和就业帮扶")


def test_truncate_falls_back_to_character_boundary_in_cjk():
    assert utf8_truncate_at_sentence("一二三四五", 7) == ("一二", "三四五")
    assert utf8_truncate_at_sentence("一二三四五", 8) == ("一二", "三四五")
    assert utf8_truncate_at_sentence("一二三四五", 9) == ("一二三", "四五")


def test_truncate_never_splits_emoji():
    assert utf8_truncate_at_sentence("😀😀😀", 5) == ("😀", "😀😀")
    assert utf8_truncate_at_sentence("😀😀😀", 3) == ("", "😀😀😀")


def test_truncate_keeps_zwj_sequence_and_skin_tone_together():
    family = "\U0001F468\u200d\U0001F469\u200d\U0001F467"
    text = "ab" + family + "cd"
    head, rest = utf8_truncate_at_sentence(text, _bytes("ab\U0001F468\u200d\U0001F469"))
    assert (head, rest) == ("ab", family + "cd")
    thumbs = "ok\U0001F44D\U0001F3FD!"
    assert utf8_truncate_at_sentence(thumbs, _bytes("ok\U0001F44D")) == ("ok", "\U0001F44D\U0001F3FD!")


def test_truncate_zero_and_negative_budget():
    assert utf8_truncate_at_sentence("文字", 0) == ("", "文字")
    with pytest.raises(ValueError):
        utf8_truncate_at_sentence("文字", -1)
    with pytest.raises(TypeError):
        utf8_truncate_at_sentence(b"bytes", 3)


_POLICY_ALPHABET = st.sampled_from(
    list("四集中两不愁三保障扶贫车间助学贷款abc 123。！？；!?\n，,、“”😀👍🏽\u200d\u0301")
)


@settings(max_examples=500, deadline=None)
@given(text=st.one_of(st.text(), st.text(alphabet=_POLICY_ALPHABET)), max_bytes=st.integers(0, 64))
def test_truncate_property(text, max_bytes):
    head, rest = utf8_truncate_at_sentence(text, max_bytes)
    assert head + rest == text
    assert len(head.encode("utf-8")) <= max_bytes
    if _bytes(text) <= max_bytes:
        assert rest == ""
    elif text and _bytes(text[0]) <= max_bytes:
        assert head  # progress whenever the first character fits
