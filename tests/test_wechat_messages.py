"""End-to-end message tests against the real server: every message type and event, retries
answered once, paging with 「更多」, the rate limit, and `]]>` in questions and answers."""

from __future__ import annotations

import concurrent.futures
import itertools

import httpx
import pytest

from channels.wechat_messages import (
    MEDIA_HINTS, TEXT_MORE_HINT, TEXT_NO_MORE, TEXT_VOICE_UNRECOGNIZED, TEXT_WELCOME,
)
from channels.wechat_xml import cdata, parse_message
from qa import smalltalk
from qa.ratelimit import TEXT_RATE_LIMITED
from tests import wechat_harness as h

_ids = itertools.count(9200000001)



def send(http, xml: str) -> httpx.Response:
    return http.post("/wechat", params=h.signed(), content=xml.encode("utf-8"))


def content(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    assert response.text != "success"
    return parse_message(response.text)["Content"]


def media_xml(user: str, msg_type: str, body: str) -> str:
    return (f"<xml><ToUserName>{cdata(h.ACCOUNT)}</ToUserName><FromUserName>{cdata(user)}</FromUserName>"
            f"<CreateTime>{h.now()}</CreateTime><MsgType>{cdata(msg_type)}</MsgType>{body}"
            f"<MsgId>{next(_ids)}</MsgId></xml>")


# Bodies from Receiving_standard_messages (file from WeCom path/90239).
MEDIA = {
    "image": "<PicUrl><![CDATA[http://mmbiz.qpic.cn/x]]></PicUrl><MediaId><![CDATA[media_id]]></MediaId>",
    "video": "<MediaId><![CDATA[media_id]]></MediaId><ThumbMediaId><![CDATA[thumb]]></ThumbMediaId>",
    "shortvideo": "<MediaId><![CDATA[media_id]]></MediaId><ThumbMediaId><![CDATA[thumb]]></ThumbMediaId>",
    "location": "<Location_X>32.99</Location_X><Location_Y>112.53</Location_Y><Scale>20</Scale>"
                "<Label><![CDATA[南阳市宛城区]]></Label>",
    "link": "<Title><![CDATA[公众平台官网链接]]></Title><Description><![CDATA[描述]]></Description>"
            "<Url><![CDATA[https://example.com/]]></Url>",
    "file": "<Title><![CDATA[申请表.docx]]></Title><FileKey><![CDATA[key]]></FileKey>",
}


@pytest.mark.parametrize("msg_type", sorted(MEDIA))
def test_media_messages_get_a_short_hint(http, msg_type):
    reply = content(send(http, media_xml(f"oMedia_{msg_type}", msg_type, MEDIA[msg_type])))
    assert reply == MEDIA_HINTS[msg_type]
    assert len(reply.encode()) < 200


def test_voice_with_recognition_is_answered_as_text(http):
    body = ("<MediaId><![CDATA[media_id]]></MediaId><Format><![CDATA[amr]]></Format>"
            f"<Recognition><![CDATA[{h.QUESTION}]]></Recognition>")
    reply = content(send(http, media_xml("oVoice01", "voice", body)))
    assert "2652" in reply and h.CITATION in reply


def test_voice_without_recognition_gets_a_hint(http):
    body = "<MediaId><![CDATA[media_id]]></MediaId><Format><![CDATA[amr]]></Format>"
    assert content(send(http, media_xml("oVoice02", "voice", body))) == TEXT_VOICE_UNRECOGNIZED


def test_unknown_message_type_gets_success(http):
    r = send(http, media_xml("oUnknown01", "miniprogrampage", "<Title><![CDATA[x]]></Title>"))
    assert r.status_code == 200 and r.text == "success"


def test_subscribe_gets_welcome_with_three_examples(http):
    reply = content(send(http, h.event_xml("oSubscriber01", "subscribe", event_key="qrscene_123")))
    assert reply == TEXT_WELCOME
    assert sum(question in reply for question in smalltalk.EXAMPLES) == 3


@pytest.mark.parametrize("event, key", [("CLICK", "MENU_POLICY"), ("VIEW", "https://example.com/"),
                                        ("SCAN", "123"), ("LOCATION", None), ("TEMPLATESENDJOBFINISH", None)])
def test_other_events_get_success(http, event, key):
    xml = h.event_xml("oEvents01", event, event_key=key)
    if event == "LOCATION":
        xml = xml.replace("</xml>", "<Latitude>23.137466</Latitude><Longitude>113.352425</Longitude>"
                                    "<Precision>119.385040</Precision></xml>")
    r = send(http, xml)
    assert r.status_code == 200 and r.text == "success"


def test_unsubscribe_deletes_the_users_logged_data(http, server):
    user = "oLeaving01"
    content(send(http, h.text_xml(user, h.QUESTION, next(_ids))))
    content(send(http, h.event_xml(user, "subscribe")))
    assert h.question_rows(server.db, user, wait_for=1) == 1 and h.reply_rows(server.db, user, wait_for=2) == 2
    r = send(http, h.event_xml(user, "unsubscribe"))
    assert r.status_code == 200 and r.text == "success"
    assert h.question_rows(server.db, user) == 0 and h.reply_rows(server.db, user) == 0


# ------------------------------------------------------------------------- dedupe
def test_retry_with_same_msgid_is_answered_once(http, server):
    user, msg_id = "oRetry01", next(_ids)
    xml = h.text_xml(user, "“四集中”是什么？", msg_id)
    first = content(send(http, xml))
    second = content(send(http, xml))
    assert first == second
    assert h.question_rows(server.db, user, wait_for=1) == 1
    other = content(send(http, h.text_xml(user, "“四集中”是什么？", next(_ids))))  # a new MsgId is a new question
    assert other == first and h.question_rows(server.db, user, wait_for=2) == 2


def test_concurrent_retries_are_answered_once(server):
    user, msg_id = "oRetryConcurrent01", next(_ids)
    xml = h.text_xml(user, h.QUESTION, msg_id).encode()

    def post(_):
        with httpx.Client(base_url=server.base, timeout=10) as client:
            return client.post("/wechat", params=h.signed(), content=xml)

    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        replies = [content(r) for r in pool.map(post, range(6))]
    assert len(set(replies)) == 1 and "2652" in replies[0]
    assert h.question_rows(server.db, user, wait_for=1) == 1


def test_safe_mode_retry_gets_cached_reply_freshly_encrypted(http, server):
    crypto, user = h.wechat_crypto(), "oSafeRetry01"
    xml = h.text_xml(user, h.QUESTION, next(_ids))
    replies = []
    for nonce in ("1001", "1002"):
        query, body = h.encrypted(crypto, xml, nonce=nonce)
        r = http.post("/wechat", params=query, content=body)
        assert r.status_code == 200
        replies.append(h.open_reply(crypto, r.text))
    (env1, msg1), (env2, msg2) = replies
    assert msg1["Content"] == msg2["Content"]
    assert env1["Encrypt"] != env2["Encrypt"] and env1["Nonce"] != env2["Nonce"]
    assert h.question_rows(server.db, user, wait_for=1) == 1


def test_event_retry_is_remembered_once(http, server):
    user, at = "oSubscribeRetry01", h.now()
    for _ in range(3):
        assert content(send(http, h.event_xml(user, "subscribe", create_time=at))) == TEXT_WELCOME
    assert h.reply_rows(server.db, user, wait_for=1) == 1


# ------------------------------------------------------------------------- paging
def test_long_reply_is_paged_with_more(http):
    user = "oPaging01"
    pages = [content(send(http, h.text_xml(user, h.LONG_QUESTION, next(_ids))))]
    while pages[-1].endswith(TEXT_MORE_HINT):
        assert len(pages) < 10
        pages.append(content(send(http, h.text_xml(user, "更多", next(_ids)))))
    assert len(pages) >= 3  # about 4,400 bytes of answer
    for page in pages:
        assert len(page.encode("utf-8")) <= 2000
    for page in pages[:-1]:
        body = page[: -len(TEXT_MORE_HINT)].rstrip()
        assert body.endswith("。")  # cut at a sentence boundary
    whole = "".join(p[: -len(TEXT_MORE_HINT)].rstrip() if p.endswith(TEXT_MORE_HINT) else p for p in pages)
    assert h.LONG_ANSWER in whole and "来源：测试资料" in whole
    assert content(send(http, h.text_xml(user, "更多", next(_ids)))) == TEXT_NO_MORE


def test_new_question_resets_paging(http):
    user = "oPaging02"
    assert content(send(http, h.text_xml(user, h.LONG_QUESTION, next(_ids)))).endswith(TEXT_MORE_HINT)
    assert "2652" in content(send(http, h.text_xml(user, h.QUESTION, next(_ids))))
    assert content(send(http, h.text_xml(user, " 更多。", next(_ids)))) == TEXT_NO_MORE


# ---------------------------------------------------------------- rate limit, CDATA
def test_rate_limit_is_per_user_and_polite(http):
    user = "oHasty01"
    replies = [content(send(http, h.text_xml(user, f"“四集中”是什么？{i}", next(_ids))))
               for i in range(h.RATE_LIMIT + 2)]
    assert all(TEXT_RATE_LIMITED != r for r in replies[: h.RATE_LIMIT])
    assert replies[h.RATE_LIMIT:] == [TEXT_RATE_LIMITED] * 2
    assert "2652" in content(send(http, h.text_xml("oPatient01", h.QUESTION, next(_ids))))


def test_cdata_terminator_in_question_round_trips(http):
    xml = h.text_xml("oCdata01", "宛城区]]>2020年脱贫多少人？]]>", next(_ids))
    assert "]]]]><![CDATA[>" in xml
    r = send(http, xml)
    assert r.status_code == 200
    parse_message(r.text)  # well-formed


def test_cdata_terminator_in_answer_is_split_safely(http):
    r = send(http, h.text_xml("oCdata02", h.CDATA_QUESTION, next(_ids)))
    assert r.status_code == 200
    assert "]]]]><![CDATA[>" in r.text
    assert h.CDATA_ANSWER in parse_message(r.text)["Content"]
