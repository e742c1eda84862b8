"""In-process tests of the endpoint (Starlette TestClient / ASGI transport on the real app
with a real runtime): the 5-second rule with a slow service, concurrent duplicates, route
configuration, the Telegram hook guard, the catch-all, paging units and fuzzing."""

from __future__ import annotations

import asyncio
import dataclasses
import sys
import time
import types
import warnings

import httpx
import pytest
from hypothesis import HealthCheck, given, settings as hyp_settings
from hypothesis import strategies as st
from starlette.responses import PlainTextResponse

with warnings.catch_warnings():  # Starlette 1.x prefers httpx2 for TestClient; httpx still works
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from app.server import build_app
from channels.wechat_messages import MAX_REPLY_BYTES, TEXT_MORE_HINT, is_more_command, paginate
from channels.wechat_xml import cdata, parse_message
from tests import wechat_harness as h


def configured(settings, **changes):
    base = dict(wechat_token=h.TOKEN, wechat_aes_key=h.AES_KEY, wechat_app_id=h.APP_ID, wechat_mode="compatible",
                wecom_token=None,
                wecom_aes_key=None, wecom_corp_id=None, telegram_webhook_url=None)
    base.update(changes)
    return dataclasses.replace(settings, **base)


def slow_answers(runtime, seconds: float) -> list[str]:
    """Make runtime.service.answer take ``seconds`` longer; returns the list of questions seen."""
    original, seen = runtime.service.answer, []

    def answer(text, **kwargs):
        seen.append(text)
        time.sleep(seconds)
        return original(text, **kwargs)

    runtime.service.answer = answer
    return seen


def test_deadline_overrun_is_left_for_the_retry_not_answered_success(runtime, settings):
    """WeChat does not retry after ``success`` (Passive_user_reply_message), so a late answer
    must not be replaced by it: the delivery stays open, the platform retries, and the retry
    gets the computed answer at once."""
    seen = slow_answers(runtime, 1.5)
    app = build_app(runtime, configured(settings, answer_deadline_s=0.5))
    xml = h.text_xml("oSlow01", h.QUESTION, 9300000001).encode()
    with TestClient(app) as client:
        r = client.post("/wechat", params=h.signed(), content=xml)
        assert r.status_code == 200 and r.text != "success"
        started = time.monotonic()
        retry = client.post("/wechat", params=h.signed(), content=xml)
        assert "2652" in parse_message(retry.text)["Content"]
        assert time.monotonic() - started < 0.5
    assert seen == [h.QUESTION]
    assert runtime.conversation.writer.flush(5)
    assert runtime.store.db.conn.execute("SELECT COUNT(*) FROM questions").fetchone()[0] == 1


def test_only_the_last_delivery_of_a_slow_answer_gets_success(runtime, settings):
    seen = slow_answers(runtime, 2.0)
    app = build_app(runtime, configured(settings, answer_deadline_s=0.3))
    xml = h.text_xml("oSlow02", h.QUESTION, 9300000005).encode()

    async def run():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test", timeout=30) as client:
            async def deliver(delay):
                await asyncio.sleep(delay)
                return await client.post("/wechat", params=h.signed(), content=xml)
            return await asyncio.gather(*(deliver(0.05 * i) for i in range(4)))

    replies = [r.text for r in asyncio.run(run())]
    assert replies[3] == "success"
    assert all("2652" in parse_message(r)["Content"] for r in replies[:3])
    assert seen == [h.QUESTION]


def test_concurrent_duplicates_share_one_answer(runtime, settings):
    seen = slow_answers(runtime, 0.6)
    app = build_app(runtime, configured(settings))
    xml = h.text_xml("oDup01", h.QUESTION, 9300000002).encode()

    async def run():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await asyncio.gather(*(client.post("/wechat", params=h.signed(), content=xml) for _ in range(5)))

    replies = asyncio.run(run())
    assert len({r.text for r in replies}) == 1 and "2652" in replies[0].text
    assert seen == [h.QUESTION]
    assert runtime.conversation.writer.flush(5)
    assert runtime.store.db.conn.execute("SELECT COUNT(*) FROM questions").fetchone()[0] == 1


def test_service_failure_gives_success_not_500(runtime, settings):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    runtime.service.answer = broken
    with TestClient(build_app(runtime, configured(settings))) as client:
        r = client.post("/wechat", params=h.signed(), content=h.text_xml("oBoom", h.QUESTION, 9300000003).encode())
        assert r.status_code == 200 and r.text == "success"


def test_unexpected_endpoint_error_gives_success(runtime, settings, monkeypatch):
    import channels.wechat as wechat

    def explode(*args, **kwargs):
        raise KeyError("unexpected")

    monkeypatch.setattr(wechat, "render_text_reply", explode)
    with TestClient(build_app(runtime, configured(settings))) as client:
        r = client.post("/wechat", params=h.signed(), content=h.text_xml("oBoom2", h.QUESTION, 9300000004).encode())
        assert r.status_code == 200 and r.text == "success"


def test_routes_exist_only_when_configured(runtime, settings):
    with TestClient(build_app(runtime, configured(settings, wechat_token=None, wechat_aes_key=None))) as client:
        assert client.get("/wechat", params=h.signed(echostr="x")).status_code == 404
        assert client.get("/wecom").status_code == 404
        assert client.get("/healthz").json()["channels"] == []
    plain = configured(settings, wechat_aes_key=None, wechat_app_id=None, wechat_mode="plain")
    with TestClient(build_app(runtime, plain)) as client:
        r = client.post("/wechat", params=h.signed(), content=h.text_xml("oPlainOnly", h.QUESTION, 1).encode())
        assert "2652" in parse_message(r.text)["Content"]


def test_bad_key_names_the_variable(runtime, settings):
    from qa.errors import ConfigError

    with pytest.raises(ConfigError, match="WECOM_ENCODING_AES_KEY"):
        build_app(runtime, configured(settings, wecom_token="t", wecom_aes_key="short", wecom_corp_id="ww1"))


def test_telegram_start_failure_keeps_wechat_working(runtime, settings):
    unreachable = configured(settings, telegram_webhook_url="https://example.com/tg/hook", telegram_token="1:x",
                             telegram_webhook_secret="s" * 20, telegram_base_url="http://127.0.0.1:9/bot")
    with TestClient(build_app(runtime, unreachable)) as client:
        assert client.get("/wechat", params=h.signed(echostr="ok")).text == "ok"
        assert "telegram" in client.get("/healthz").json()["channels"]
        refused = client.post("/tg/hook", json={"update_id": 1},
                              headers={"X-Telegram-Bot-Api-Secret-Token": "s" * 20})
        assert refused.status_code == 503  # not started: Telegram retries later


# ------------------------------------------------------------------- paging units
@hyp_settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from("政策补贴。！？，ab1 \n😀"), min_size=0, max_size=3000))
def test_paginate_pages_fit_and_lose_nothing(text):
    rest, pages = text, 0
    while True:
        page, rest = paginate(rest)
        assert len(page.encode()) <= MAX_REPLY_BYTES
        pages += 1
        if not rest:
            break
        assert page.endswith(TEXT_MORE_HINT) and pages < 20


def test_more_command_variants():
    assert all(map(is_more_command, ["更多", " 更多。", "更多！", "查看更多", "MORE"]))
    assert not any(map(is_more_command, ["更多补贴政策", "没有更多", ""]))


# ------------------------------------------------------------------------ fuzzing
_xmlish = st.builds(
    lambda tag, kind, text, tail: f"<xml><{tag}>{cdata(text) if kind else text}</{tag}>{tail}</xml>",
    st.sampled_from(["ToUserName", "FromUserName", "MsgType", "Content", "MsgId", "Event", "Encrypt", "x", "CreateTime"]),
    st.booleans(), st.text(max_size=200),
    st.sampled_from(["", "<MsgType>text</MsgType>", "<MsgType>event</MsgType><Event>subscribe</Event>",
                     "<FromUserName>oFuzz</FromUserName><MsgType>text</MsgType><Content>更多</Content>", "<", "]]>",
                     "<!DOCTYPE x>", "<MsgType>voice</MsgType>"]))
_bodies = st.one_of(st.binary(max_size=2000), _xmlish.map(lambda s: s.encode("utf-8", "surrogatepass")),
                    st.text(max_size=500).map(lambda s: s.encode("utf-8", "surrogatepass")))


def test_fuzzed_bodies_never_give_5xx(runtime, settings):
    app = build_app(runtime, configured(settings, wecom_token=h.WECOM_TOKEN, wecom_aes_key=h.WECOM_KEY,
                                        wecom_corp_id=h.CORP_ID))
    crypto = h.wechat_crypto()
    with TestClient(app) as client:
        @hyp_settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
        @given(body=_bodies, mode=st.sampled_from(["plain", "safe", "wecom", "unsigned"]),
               query=st.dictionaries(st.sampled_from(["encrypt_type", "msg_signature", "openid", "echostr"]),
                                     st.text(max_size=20), max_size=3))
        def check(body, mode, query):
            path = "/wecom" if mode == "wecom" else "/wechat"
            if mode == "plain":
                params = {**query, **h.signed()}
                params.pop("encrypt_type", None)
            elif mode in ("safe", "wecom"):
                params, body = h.encrypted(h.wecom_crypto() if mode == "wecom" else crypto,
                                           body.decode("utf-8", "replace"), wecom=mode == "wecom",
                                           to=h.CORP_ID if mode == "wecom" else h.ACCOUNT)
            else:
                params = query
            r = client.post(path, params=params, content=body)
            assert r.status_code < 500
            if r.status_code == 200 and r.text not in ("success", ""):
                parse_message(r.text)
            g = client.get(path, params=params)
            assert g.status_code < 500

        check()
