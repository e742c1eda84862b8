"""Conversations on the real WeChat/WeCom endpoint (`python bot.py serve` on loopback): follow-ups
and numbered picks per user, in plaintext and safe mode, and two users sharing nothing."""

from __future__ import annotations

import itertools
import re

from channels.replies import TEXT_CLARIFY, TEXT_NOT_TEXT
from channels.wechat_xml import cdata, parse_message
from qa import smalltalk
from tests import wechat_harness as h

_ids = itertools.count(9300000001)


def plain(http, user: str, text: str) -> str:
    r = http.post("/wechat", params=h.signed(), content=h.text_xml(user, text, next(_ids)).encode("utf-8"))
    assert r.status_code == 200 and r.text != "success", r.text
    return parse_message(r.text)["Content"]


def safe(http, user: str, text: str) -> str:
    crypto = h.wechat_crypto()
    query, body = h.encrypted(crypto, h.text_xml(user, text, next(_ids)))
    r = http.post("/wechat", params=query, content=body)
    assert r.status_code == 200, r.text
    return h.open_reply(crypto, r.text)[1]["Content"]


def wecom(http, user: str, text: str) -> str:
    crypto = h.wecom_crypto()
    xml = (f"<xml><ToUserName>{cdata(h.CORP_ID)}</ToUserName><FromUserName>{cdata(user)}</FromUserName>"
           f"<CreateTime>{h.now()}</CreateTime><MsgType>{cdata('text')}</MsgType>"
           f"<Content>{cdata(text)}</Content><MsgId>{next(_ids)}</MsgId><AgentID>1000002</AgentID></xml>")
    query, body = h.encrypted(crypto, xml, to=h.CORP_ID, wecom=True)
    r = http.post("/wecom", params=query, content=body)
    assert r.status_code == 200, r.text
    return h.open_reply(crypto, r.text)[1]["Content"]


def listed(reply: str) -> list[str]:
    """The numbered suggestions of a text reply (「1. …」 lines)."""
    return [m.group(1) for m in re.finditer(r"^[1-3]\. (.+)$", reply, re.M)]


def test_two_users_share_neither_context_nor_picks(http):
    alice, bob = "oConvAlice01", "oConvBob01"
    first = plain(http, alice, "2020年宛城区脱贫了多少人")
    assert "2652" in first and listed(first)
    # Bob has no context: his follow-up and his number get a clarifying reply, not Alice's list
    assert plain(http, bob, "那去年呢？") == TEXT_CLARIFY
    follow = plain(http, alice, "那去年呢？")
    assert follow.startswith("按“2019年宛城区脱贫了多少人”理解：") and "7248" in follow
    offered = listed(plain(http, alice, "四集中保障机构建了多少个"))
    assert offered
    assert plain(http, bob, "1") == TEXT_CLARIFY
    picked = plain(http, alice, "1")
    assert picked.startswith(f"按“{offered[0].rstrip('？')}”理解：")
    assert TEXT_NOT_TEXT not in picked


def test_numbered_pick_in_plaintext_mode(http):
    user = "oConvPlain01"
    assert listed(plain(http, user, "你好")) == list(smalltalk.EXAMPLES)
    reply = plain(http, user, "１")  # full-width digit
    assert reply.startswith("按“宛城区2020年脱贫多少人”理解：") and "2652" in reply


def test_numbered_pick_in_safe_mode(http):
    user = "oConvSafe01"
    assert listed(safe(http, user, "你好")) == list(smalltalk.EXAMPLES)
    reply = safe(http, user, "第三个")
    assert reply.startswith("按“生源地助学贷款办了多少”理解：") and "1804" in reply


def test_numbered_pick_and_follow_up_on_wecom(http):
    user = "ConvWeComUser01"
    assert listed(wecom(http, user, "您好")) == list(smalltalk.EXAMPLES)
    assert "四集中" in wecom(http, user, "②")
    reply = wecom(http, user, "那床位有多少呢")
    assert reply.startswith("按“") and "1536" in reply


def test_a_number_without_a_list_is_a_clarifying_reply(http):
    reply = plain(http, "oConvNoList01", "3")
    assert reply == TEXT_CLARIFY and TEXT_NOT_TEXT not in reply
