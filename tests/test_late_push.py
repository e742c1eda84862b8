"""Issue 14 item 3: an answer that misses the window of the last WeChat delivery is pushed
through the customer-service message API (客服消息) when WECHAT_APP_SECRET is set, tested
against a loopback stand-in of the API (tests/support/fake_wechat_api.py)."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
import warnings
from pathlib import Path

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from app.server import build_app
from channels.wechat_push import CustomerServicePush, PushError
from channels.wechat_xml import parse_message
from tests import wechat_harness as h
from tests.support.fake_wechat_api import FakeWeChatApi
from tests.test_wechat_inprocess import configured, slow_answers

APP_SECRET = "0123456789abcdef0123456789abcdef"
OPENID = "oLATE0123456789abcdefghijklm"  # 28 characters, like a real OpenID


def expected_body(openid: str, content: str) -> bytes:
    """The body wechatpy sends for a text message, written out by hand (compact separators)."""
    return ('{"touser":"%s","msgtype":"text","text":{"content":%s}}'
            % (openid, json.dumps(content, ensure_ascii=False))).encode("utf-8")


# ------------------------------------------------------------------ the client
def test_push_client_speaks_the_protocol_and_refreshes_an_expired_token(caplog):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="httpx")  # other modules may have quietened httpx
    with FakeWeChatApi(h.APP_ID, APP_SECRET) as fake:
        async def run():
            push = CustomerServicePush(h.APP_ID, APP_SECRET, base_url=fake.base_url)
            try:
                await push.send_text(OPENID, "第一条：宛城区2020年脱贫\"人数\"见下文。\n来源：《脱贫攻坚》")
                fake.expire_next_token_use()
                await push.send_text(OPENID, "第二条 😀")
                await push.send_text(OPENID, "第三条")
            finally:
                await push.aclose()
            return push
        push = asyncio.run(run())
    assert (push.sent, push.failed) == (3, 0)
    assert fake.token_requests == [{"grant_type": "client_credential", "appid": h.APP_ID, "secret": APP_SECRET}] * 2
    codes = [s.errcode for s in fake.sends]
    assert codes == [0, 42001, 0, 0]  # the expired token was refreshed once, then cached
    first_token, second_token = fake.sends[0].token, fake.sends[2].token
    assert fake.sends[1].token == first_token and fake.sends[3].token == second_token != first_token
    assert fake.sends[0].body == expected_body(OPENID, "第一条：宛城区2020年脱贫\"人数\"见下文。\n来源：《脱贫攻坚》")
    assert fake.sends[2].body == ('{"touser":"%s","msgtype":"text","text":{"content":"第二条 😀"}}' % OPENID).encode()
    assert fake.sends[0].content_type.startswith("application/json")
    logged = caplog.text
    assert "secret=***" in logged and "access_token=***" in logged  # httpx's request lines, redacted
    for secret in (APP_SECRET, first_token, second_token, OPENID, "第一条"):
        assert secret not in logged


def test_push_client_reports_refusals_without_secrets():
    with FakeWeChatApi(h.APP_ID, APP_SECRET) as fake:
        async def run():
            push = CustomerServicePush(h.APP_ID, "wrongsecret0123456789", base_url=fake.base_url)
            try:
                with pytest.raises(PushError) as refused:
                    await push.send_text(OPENID, "x")
            finally:
                await push.aclose()
            unreachable = CustomerServicePush(h.APP_ID, APP_SECRET, base_url="http://127.0.0.1:9", timeout_s=2)
            try:
                with pytest.raises(PushError) as down:
                    await unreachable.send_text(OPENID, "x")
            finally:
                await unreachable.aclose()
            return refused.value, down.value
        refused, down = asyncio.run(run())
    assert refused.errcode == 40125 and "wrongsecret" not in str(refused)
    assert down.errcode is None and "127.0.0.1" not in str(down) and APP_SECRET not in str(down)


# ------------------------------------------------------------ the endpoint
def _deliver_four_times(client, xml: bytes) -> list[str]:
    """Four deliveries of one message, 50 ms apart, each on its own thread (as the platform's
    retries overlap a slow first delivery); returns the reply bodies in delivery order."""
    replies: list[str | None] = [None] * 4

    def deliver(i):
        time.sleep(0.05 * i)
        replies[i] = client.post("/wechat", params=h.signed(), content=xml).text

    threads = [threading.Thread(target=deliver, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return replies


def test_answer_missing_the_last_window_is_pushed_once(runtime, settings):
    seen = slow_answers(runtime, 2.0)
    with FakeWeChatApi(h.APP_ID, APP_SECRET) as fake:
        app = build_app(runtime, configured(settings, answer_deadline_s=0.3, wechat_app_secret=APP_SECRET,
                                            wechat_api_base=fake.base_url))
        with TestClient(app) as client:
            replies = _deliver_four_times(client, h.text_xml(OPENID, h.QUESTION, 9400000001).encode())
            [sent] = fake.wait_for_sends(1)
        time.sleep(0.2)
    assert sorted(r == "success" for r in replies) == [False, False, False, True]
    answer = parse_message(next(r for r in replies if r != "success"))["Content"]
    assert "2652" in answer
    assert sent.body == expected_body(OPENID, answer)
    assert len(fake.sends) == 1 and seen == [h.QUESTION]


def test_without_the_secret_nothing_is_pushed(runtime, settings):
    slow_answers(runtime, 1.0)
    with FakeWeChatApi(h.APP_ID, APP_SECRET) as fake:
        app = build_app(runtime, configured(settings, answer_deadline_s=0.3, wechat_api_base=fake.base_url))
        with TestClient(app) as client:
            replies = _deliver_four_times(client, h.text_xml(OPENID, h.QUESTION, 9400000002).encode())
            time.sleep(1.5)
    assert "success" in replies and fake.requests == 0


def test_secret_needs_the_app_id():
    from app.settings import Settings
    from qa.errors import ConfigError

    env = {"WECHAT_TOKEN": h.TOKEN, "WECHAT_APP_SECRET": APP_SECRET}
    with pytest.raises(ConfigError, match="WECHAT_APP_ID"):
        Settings.from_env(environ=env, dotenv=Path("/nonexistent")).require_wechat()
    with pytest.raises(ConfigError, match="WECHAT_APP_SECRET"):
        Settings.from_env(environ={"WECHAT_APP_SECRET": "short"}, dotenv=Path("/nonexistent"))
