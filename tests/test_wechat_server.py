"""End-to-end protocol tests: the real `python bot.py serve` on 127.0.0.1, real HTTP, literal
XML. Signatures, modes (plaintext, safe, compatible, WeCom), timestamps and abuse."""

from __future__ import annotations

import time

import httpx
import pytest

from channels.wechat_crypto import MessageCrypto, msg_signature, plain_signature
from channels.wechat_xml import parse_message
from tests import wechat_harness as h



# ------------------------------------------------------------------ URL verification
def test_verification_returns_echostr_verbatim(http):
    echostr = "7133475930152466397"
    r = http.get("/wechat", params=h.signed(echostr=echostr))
    assert r.status_code == 200
    assert r.text == echostr
    assert r.headers["content-type"].startswith("text/plain")


@pytest.mark.parametrize("params", [
    {"signature": "0" * 40},                                     # wrong
    {"signature": None},                                         # missing
    {"signature": plain_signature("another-token", "{ts}", "1")},  # another account's token
])
def test_verification_with_bad_signature_is_403(http, params):
    ts = str(h.now())
    query = {"timestamp": ts, "nonce": "1", "echostr": "abc"}
    if params["signature"] is not None:
        query["signature"] = params["signature"].replace("{ts}", ts)
    r = http.get("/wechat", params=query)
    assert r.status_code == 403
    assert "abc" not in r.text


@pytest.mark.parametrize("skew", [-301, 400, -100000])
def test_verification_with_stale_timestamp_is_403(http, skew):
    r = http.get("/wechat", params=h.signed(timestamp=h.now() + skew, echostr="abc"))
    assert r.status_code == 403


# ------------------------------------------------------------------- plaintext mode
def test_plaintext_round_trip(http):
    user = "oPlainRoundTrip01"
    before = h.now()
    r = http.post("/wechat", params=h.signed(openid=user), content=h.text_xml(user, h.QUESTION, 9100000001))
    assert r.status_code == 200
    reply = parse_message(r.text)
    assert reply["ToUserName"] == user
    assert reply["FromUserName"] == h.ACCOUNT
    assert reply["MsgType"] == "text"
    assert before - 1 <= int(reply["CreateTime"]) <= h.now() + 1
    assert set(reply) == {"ToUserName", "FromUserName", "CreateTime", "MsgType", "Content"}
    assert "2652" in reply["Content"]
    assert h.CITATION in reply["Content"]


@pytest.mark.parametrize("change", ["wrong", "missing", "stale", "future", "no-timestamp"])
def test_post_with_bad_signature_or_timestamp_is_403(http, change):
    params = h.signed()
    if change == "wrong":
        params["signature"] = "f" * 40
    elif change == "missing":
        del params["signature"]
    elif change == "stale":
        params = h.signed(timestamp=h.now() - 301)
    elif change == "future":
        params = h.signed(timestamp=h.now() + 301)
    else:
        del params["timestamp"]
    r = http.post("/wechat", params=params, content=h.text_xml("oBadSig", h.QUESTION, 9100000002))
    assert r.status_code == 403


# ----------------------------------------------------------------- safe / compatible
def test_safe_mode_round_trip(http):
    crypto = h.wechat_crypto()
    user = "oSafeRoundTrip01"
    query, body = h.encrypted(crypto, h.text_xml(user, h.QUESTION, 9100000003), nonce="11112222")
    r = http.post("/wechat", params=query, content=body)
    assert r.status_code == 200
    envelope, reply = h.open_reply(crypto, r.text)
    assert envelope["Nonce"] != "11112222"  # fresh nonce, fresh signature
    assert abs(int(envelope["TimeStamp"]) - h.now()) <= 2
    assert reply["ToUserName"] == user and reply["FromUserName"] == h.ACCOUNT and reply["MsgType"] == "text"
    assert "2652" in reply["Content"] and h.CITATION in reply["Content"]


def test_safe_mode_without_plain_signature_is_accepted(http):
    crypto = h.wechat_crypto()
    query, body = h.encrypted(crypto, h.text_xml("oSafeNoSig", h.QUESTION, 9100000004))
    del query["signature"]  # msg_signature alone authenticates body and query
    r = http.post("/wechat", params=query, content=body)
    assert r.status_code == 200
    assert "2652" in h.open_reply(crypto, r.text)[1]["Content"]


def test_compatible_mode_is_answered_encrypted(http):
    crypto = h.wechat_crypto()
    user = "oCompatible01"
    xml = h.text_xml(user, h.QUESTION, 9100000005)
    plain = xml[len("<xml>"):-len("</xml>")]
    query, body = h.encrypted(crypto, xml, plain_fields=plain.replace(f"<ToUserName><![CDATA[{h.ACCOUNT}]]></ToUserName>", ""))
    assert b"<Content>" in body and b"<Encrypt>" in body
    r = http.post("/wechat", params=query, content=body)
    assert r.status_code == 200
    reply = h.open_reply(crypto, r.text)[1]
    assert reply["ToUserName"] == user and "2652" in reply["Content"]


@pytest.mark.parametrize("tamper", ["msg_signature", "plain_signature", "other_app_id", "garbage", "stale"])
def test_safe_mode_refusals(http, tamper):
    crypto = h.wechat_crypto()
    if tamper == "other_app_id":
        crypto = MessageCrypto(h.TOKEN, h.AES_KEY, "wxSomebodyElse0001")
    query, body = h.encrypted(crypto, h.text_xml("oSafeBad", h.QUESTION, 9100000006),
                              timestamp=h.now() - 1000 if tamper == "stale" else None)
    if tamper == "msg_signature":
        query["msg_signature"] = "0" * 40
    elif tamper == "plain_signature":
        query["signature"] = "0" * 40
    elif tamper == "garbage":  # correctly signed, but not a ciphertext
        junk = "bm90IGEgY2lwaGVydGV4dA=="
        query["msg_signature"] = msg_signature(h.TOKEN, query["timestamp"], query["nonce"], junk)
        body = f"<xml><ToUserName><![CDATA[{h.ACCOUNT}]]></ToUserName><Encrypt><![CDATA[{junk}]]></Encrypt></xml>".encode()
    r = http.post("/wechat", params=query, content=body)
    assert r.status_code == (400 if tamper == "garbage" else 403)


# ------------------------------------------------------------------------ abuse
BOMB = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>
<xml><ToUserName>gh</ToUserName><FromUserName>oBomb</FromUserName><CreateTime>1</CreateTime>
<MsgType>text</MsgType><Content>&lol4;</Content><MsgId>1</MsgId></xml>"""
EXTERNAL = """<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<xml><ToUserName>gh</ToUserName><FromUserName>oXxe</FromUserName><CreateTime>1</CreateTime>
<MsgType>text</MsgType><Content>&xxe;</Content><MsgId>2</MsgId></xml>"""


@pytest.mark.parametrize("body", [BOMB, EXTERNAL, "<xml><Content>unclosed", "not xml at all", "",
                                  "<root><MsgType>text</MsgType></root>", "<xml>&#1;</xml>"])
def test_hostile_or_malformed_xml_is_400(http, body):
    r = http.post("/wechat", params=h.signed(), content=body.encode())
    assert r.status_code == 400
    assert "root:" not in r.text


@pytest.mark.parametrize("body", [BOMB, EXTERNAL])
def test_hostile_xml_inside_safe_mode_is_400(http, body):
    query, raw = h.encrypted(h.wechat_crypto(), body)
    assert http.post("/wechat", params=query, content=raw).status_code == 400


def test_body_over_64_kib_is_413(http):
    big = h.text_xml("oBig", "很" * 22000, 9100000007).encode()
    assert len(big) > 64 * 1024
    assert http.post("/wechat", params=h.signed(), content=big).status_code == 413

    def chunks():  # no Content-Length: the streamed size is counted
        for _ in range(70):
            yield b"<!-- " + b"x" * 1019 + b" -->"

    r = http.post("/wechat", params=h.signed(), content=chunks())
    assert r.status_code == 413


def test_body_of_exactly_64_kib_is_not_413(http):
    xml = h.text_xml("oEdge", h.QUESTION, 9100000008)
    padded = (xml + " " * (64 * 1024 - len(xml.encode()))).encode()
    assert len(padded) == 64 * 1024
    assert http.post("/wechat", params=h.signed(), content=padded).status_code == 200


def test_control_characters_are_stripped(http):
    user = "oControlChars01"
    raw = h.text_xml(user, "宛城区\x01\x08\x0b2020年\x1f脱贫\x7f多少人？", 9100000009).encode()
    r = http.post("/wechat", params=h.signed(), content=raw)
    assert r.status_code == 200
    assert "2652" in parse_message(r.text)["Content"]


def test_unknown_routes_and_methods_are_not_500(http):
    assert http.get("/nothing-here").status_code == 404
    assert http.put("/wechat", content=b"x").status_code == 405


# --------------------------------------------------------------------------- WeCom
def test_wecom_url_verification_decrypts_echostr(http):
    crypto = h.wecom_crypto()
    ts, nonce = str(h.now()), "5550001"
    echostr, signature = crypto.encrypt("1616140317555161061", nonce=nonce, timestamp=ts)
    r = http.get("/wecom", params={"msg_signature": signature, "timestamp": ts, "nonce": nonce, "echostr": echostr})
    assert r.status_code == 200
    assert r.text == "1616140317555161061"
    bad = http.get("/wecom", params={"msg_signature": "0" * 40, "timestamp": ts, "nonce": nonce, "echostr": echostr})
    assert bad.status_code == 403


def test_wecom_verification_with_raw_plus_in_query(server):
    """A '+' left unencoded in echostr reads back as a space; base64 has none, so it is undone."""
    crypto = h.wecom_crypto()
    ts = str(h.now())
    for nonce in map(str, range(1000, 1100)):
        echostr, signature = crypto.encrypt("echo-plus", nonce=nonce, timestamp=ts)
        if "+" in echostr:
            break
    url = f"{server.base}/wecom?msg_signature={signature}&timestamp={ts}&nonce={nonce}&echostr={echostr}"
    r = httpx.get(httpx.URL(url), timeout=10)
    assert r.status_code == 200 and r.text == "echo-plus"


def test_wecom_message_round_trip(http):
    crypto = h.wecom_crypto()
    user = "WangXiaoMing"
    xml = (f"<xml><ToUserName><![CDATA[{h.CORP_ID}]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
           f"<CreateTime>{h.now()}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
           f"<Content><![CDATA[{h.QUESTION}]]></Content><MsgId>9100000010</MsgId><AgentID>1000002</AgentID></xml>")
    query, body = h.encrypted(crypto, xml, to=h.CORP_ID, wecom=True)
    r = http.post("/wecom", params=query, content=body)
    assert r.status_code == 200
    reply = h.open_reply(crypto, r.text)[1]
    assert reply["ToUserName"] == user and reply["FromUserName"] == h.CORP_ID
    assert "2652" in reply["Content"]
    # The Official Account's key cannot talk to /wecom, and /wecom never takes plaintext.
    query, body = h.encrypted(h.wechat_crypto(), xml, to=h.CORP_ID, wecom=True)
    assert http.post("/wecom", params=query, content=body).status_code == 403
    assert http.post("/wecom", params=h.signed(h.WECOM_TOKEN), content=xml.encode()).status_code == 403


def test_wecom_events_get_an_empty_reply_or_the_welcome(http):
    crypto = h.wecom_crypto()
    for event, expected in (("enter_agent", ""), ("click", ""), ("subscribe", "welcome")):
        xml = h.event_xml("LiSi", event, to=h.CORP_ID).replace("</xml>", "<AgentID>1000002</AgentID></xml>")
        query, body = h.encrypted(crypto, xml, to=h.CORP_ID, wecom=True)
        r = http.post("/wecom", params=query, content=body)
        assert r.status_code == 200
        if expected:
            assert "感谢关注" in h.open_reply(crypto, r.text)[1]["Content"]
        else:
            assert r.text == ""  # WeCom's "no reply" is an empty 200 body


# ---------------------------------------------------------------------- operations
def test_healthz_reports_index_without_secrets(http):
    r = http.get("/healthz")
    assert r.status_code == 200
    data = r.json()
    assert data["status"] == "ok" and data["version"]
    assert data["index"]["documents"] >= 1 and data["index"]["generation"] >= 1
    assert set(data["channels"]) >= {"wechat", "wecom"}
    for secret in (h.TOKEN, h.AES_KEY, h.WECOM_TOKEN, h.WECOM_KEY, h.HASH_KEY):
        assert secret not in r.text


def test_log_has_no_secrets_or_message_text(http, server):
    user = "oLogPrivacy0001"
    http.post("/wechat", params=h.signed(), content=h.text_xml(user, "隐私检查：四集中是什么？", 9100000011))
    http.post("/wechat", params=h.signed(), content=BOMB.encode())
    http.post("/wechat", params={"signature": "0" * 40, "timestamp": "1", "nonce": "2"}, content=b"x")
    time.sleep(0.2)
    log = server.log()
    assert "refused" in log  # the refusals are logged ...
    for secret in (h.TOKEN, h.AES_KEY, h.WECOM_TOKEN, h.WECOM_KEY, h.HASH_KEY, user, "隐私检查", "lol"):
        assert secret not in log  # ... without secrets, user ids or text


@pytest.mark.parametrize("env, variable", [
    ({"WECHAT_TOKEN": h.TOKEN, "WECHAT_ENCODING_AES_KEY": h.AES_KEY}, "WECHAT_APP_ID"),
    ({"WECHAT_TOKEN": h.TOKEN, "WECHAT_ENCODING_AES_KEY": "tooShort", "WECHAT_APP_ID": h.APP_ID},
     "WECHAT_ENCODING_AES_KEY"),
    ({"WECHAT_ENCODING_AES_KEY": h.AES_KEY, "WECHAT_APP_ID": h.APP_ID}, "WECHAT_TOKEN"),
    ({"WECOM_TOKEN": h.WECOM_TOKEN, "WECOM_CORP_ID": h.CORP_ID}, "WECOM_ENCODING_AES_KEY"),
])
def test_bad_configuration_stops_start_up_naming_the_variable(bot, env, variable, tmp_path):
    # In process. The unusable host is a guard: were the configuration accepted by mistake, the
    # server could not bind and the run would end (status 1) instead of serving forever.
    done = bot("serve", "--host", "256.256.256.256", "--port", str(h.free_port()), db=tmp_path / "never.db", env=env)
    assert done.code == 2
    assert done.err.startswith(f"配置错误 {variable}:")
    assert not (tmp_path / "never.db").exists()  # stopped before opening anything
