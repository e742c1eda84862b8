"""The fake Bot API against the real python-telegram-bot v22 stack (no network needed).

pytest-asyncio is not installed: each test drives its coroutine with ``asyncio.run``.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import threading
import time
import urllib.parse

import httpx
import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, InvalidToken
from telegram.ext import (
    AIORateLimiter,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from tests.support.fake_bot_api import FakeBotApi
from tests.support.telegram_html import (
    TelegramHtmlError,
    parse_html,
    telegram_html_to_text,
    utf16_len,
)

TOKEN = "123:ABC"


@pytest.fixture
def fake():
    """A started fake; afterwards: no leftover threads and no internal errors of the fake."""
    before = set(threading.enumerate())
    server = FakeBotApi(token=TOKEN).start()
    try:
        yield server
    finally:
        server.stop()
    leftover = [t for t in threading.enumerate() if t not in before and t.is_alive()]
    assert leftover == [], leftover
    assert server.internal_errors == []


def run(coro, timeout: float = 8.0):
    return asyncio.run(asyncio.wait_for(coro, timeout))


@contextlib.asynccontextmanager
async def running_app(fake: FakeBotApi, *handlers, rate_limiter=None):
    """Application polling the fake exactly as production polls Telegram; stopped cleanly."""
    builder = (ApplicationBuilder().token(TOKEN).base_url(fake.base_url)
               .base_file_url(fake.base_file_url))
    if rate_limiter is not None:
        builder = builder.rate_limiter(rate_limiter)
    app = builder.build()
    for handler in handlers:
        app.add_handler(handler)
    await app.initialize()
    await app.start()
    await app.updater.start_polling(poll_interval=0, timeout=1)
    try:
        yield app
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()


async def echo(update: Update, context) -> None:
    await update.message.reply_text(html.escape(update.message.text), parse_mode="HTML")


def test_echo_round_trip_records_exact_request(fake):
    async def scenario():
        async with running_app(fake, MessageHandler(filters.TEXT & ~filters.COMMAND, echo)) as app:
            assert app.bot.username == "PolicyTestBot"
            fake.push_update(fake.private_text(42, "社保<缴费> & \"基数\"?"))
            return (await fake.wait_for_async("sendMessage"))[0]

    call = run(scenario())
    sent = '社保&lt;缴费&gt; &amp; &quot;基数&quot;?'
    assert call.params == {"chat_id": 42, "text": sent, "parse_mode": "HTML"}
    assert call.body == urllib.parse.urlencode(
        {"chat_id": "42", "text": sent, "parse_mode": "HTML"}).encode()
    assert call.headers["content-type"] == "application/x-www-form-urlencoded"
    assert call.http_method == "POST" and call.path == f"/bot{TOKEN}/sendMessage"
    assert call.status == 200
    assert call.result["text"] == '社保<缴费> & "基数"?'
    assert call.result["from"]["username"] == "PolicyTestBot"
    assert call.result["chat"] == {"id": 42, "first_name": "测试用户", "type": "private"}
    # the polling loop confirmed the update (offset = update_id + 1) when it stopped
    assert fake.pending_updates() == []
    methods = [c.method for c in fake.calls()]
    assert methods[:2] == ["getMe", "deleteWebhook"] and "getUpdates" in methods


def test_callback_query_answer_and_edit(fake):
    async def start(update, context):
        button = InlineKeyboardButton("养老保险", callback_data="topic:pension")
        keyboard = InlineKeyboardMarkup([[button]])
        await update.message.reply_text("请选择主题", reply_markup=keyboard)

    async def on_button(update, context):
        query = update.callback_query
        await query.answer("收到")
        await query.edit_message_text(f"已选择 <b>{html.escape(query.data)}</b>",
                                      parse_mode="HTML")

    async def scenario():
        async with running_app(fake, CommandHandler("start", start),
                               CallbackQueryHandler(on_button)) as app:
            fake.push_update(fake.private_command(42, "/start"))
            [sent] = await fake.wait_for_async("sendMessage")
            assert sent.params["reply_markup"] == {"inline_keyboard": [
                [{"text": "养老保险", "callback_data": "topic:pension"}]]}
            update = fake.push_update(fake.callback_query(42, "topic:pension",
                                                          sent.result["message_id"]))
            [answer] = await fake.wait_for_async("answerCallbackQuery")
            [edit] = await fake.wait_for_async("editMessageText")
            query_id = update["callback_query"]["id"]
            with pytest.raises(BadRequest, match="Query is too old"):
                await app.bot.answer_callback_query(query_id)
            with pytest.raises(BadRequest, match="Message is not modified"):
                await app.bot.edit_message_text("已选择 <b>topic:pension</b>", chat_id=42,
                                                message_id=sent.result["message_id"],
                                                parse_mode="HTML")
            return update, answer, edit

    update, answer, edit = run(scenario())
    assert update["callback_query"]["message"]["reply_markup"]["inline_keyboard"][0][0][
        "callback_data"] == "topic:pension"
    assert answer.ok and answer.params == {
        "callback_query_id": update["callback_query"]["id"], "text": "收到"}
    assert edit.result["text"] == "已选择 topic:pension"
    assert edit.result["entities"] == [{"offset": 4, "length": 13, "type": "bold"}]
    assert "reply_markup" not in edit.result  # editing without reply_markup drops the keyboard


# PTB's own AIORateLimiter reads RetryAfter.retry_after, which warns about a future type change.
@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
def test_429_is_retried_by_aio_rate_limiter(fake):
    fake.fail_next("sendMessage", status=429, retry_after=1)

    async def scenario():
        async with running_app(fake, MessageHandler(filters.TEXT, echo),
                               rate_limiter=AIORateLimiter(max_retries=1)):
            fake.push_update(fake.private_text(7, "hello"))
            return await fake.wait_for_async("sendMessage", count=2)

    first, second = run(scenario())
    assert first.status == 429 and first.response == {
        "ok": False, "error_code": 429, "description": "Too Many Requests: retry after 1",
        "parameters": {"retry_after": 1}}
    assert second.status == 200 and second.result["text"] == "hello"
    assert second.time - first.time >= 1.0  # PTB waited retry_after (+0.1 s) before retrying


def test_validation_errors_reach_ptb_as_bad_request(fake):
    async def scenario():
        async with Bot(TOKEN, base_url=fake.base_url) as bot:
            fake.push_update(fake.private_text(42, "hi"))  # makes chat 42 known
            ok = await bot.send_message(42, "😀" * 2048)  # 4096 UTF-16 units: the maximum
            assert ok.text == "😀" * 2048
            for kwargs, error in [
                ({"text": "a" + "😀" * 2048}, "Message is too long"),
                ({"text": "<b>unclosed", "parse_mode": "HTML"},
                 'Can\'t parse entities: can\'t find end tag corresponding to start tag "b"'),
                ({"text": " \n "}, "Message text is empty"),
                ({"text": "x", "reply_markup": InlineKeyboardMarkup(
                    [[InlineKeyboardButton("长", callback_data="政" * 22)]])},
                 "Button_data_invalid"),  # 66 bytes > 64; PTB capitalizes descriptions
                ({"text": "x", "parse_mode": "html5"}, "Unsupported parse_mode"),
            ]:
                with pytest.raises(BadRequest) as info:
                    await bot.send_message(42, **kwargs)
                assert info.value.message == error
            with pytest.raises(InvalidToken):
                async with Bot("123:WRONG", base_url=fake.base_url) as wrong:
                    await wrong.get_me()

    run(scenario())
    assert fake.calls("sendMessage")[-1].response == {
        "ok": False, "error_code": 400, "description": "Bad Request: unsupported parse_mode"}


def test_html_validator_rules():
    for bad, error in [
        ("<b>unclosed", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<script>x</script>", 'Unsupported start tag "script" at byte offset 0'),
        ("政策&nbsp;解读", 'Unsupported HTML entity "&nbsp;" at byte offset 6'),
        ("a & b", 'Unescaped "&" at byte offset 2'),
        ("<b><i>x</b></i>", 'Unmatched end tag at byte offset 7, expected "</i>", found "</b>"'),
        ('<span class="x">y</span>', 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
    ]:
        with pytest.raises(TelegramHtmlError) as info:
            telegram_html_to_text(bad)
        assert info.value.description.startswith(error)
    assert telegram_html_to_text("&nbsp;", strict=False) == "&nbsp;"  # what Telegram shows
    assert telegram_html_to_text(html.escape("1 < 2 & 3 > \"4\" 'x'")) == "1 < 2 & 3 > \"4\" 'x'"
    assert telegram_html_to_text("<b><i>x</i></b>") == "x"
    assert telegram_html_to_text('<a href="https://x">y</a>') == "y"
    assert telegram_html_to_text("  <b>\n标题</b>\n\n") == "标题"  # Telegram trims
    parsed = parse_html('😀<b>粗<i>斜</i></b><a href="https://x">y</a>'
                        '<pre><code class="language-python">p</code></pre>'
                        '<blockquote expandable>q</blockquote><tg-spoiler>s</tg-spoiler>')
    assert parsed.text == "😀粗斜ypqs"
    assert parsed.entities == [
        {"offset": 2, "length": 2, "type": "bold"}, {"offset": 3, "length": 1, "type": "italic"},
        {"offset": 4, "length": 1, "type": "text_link", "url": "https://x/"},
        {"offset": 5, "length": 1, "type": "pre", "language": "python"},
        {"offset": 6, "length": 1, "type": "expandable_blockquote"},
        {"offset": 7, "length": 1, "type": "spoiler"}]
    assert utf16_len("😀" * 2048) == 4096 and utf16_len("a" + "😀" * 2048) == 4097


def test_update_builders_compute_utf16_entities(fake):
    bot = "PolicyTestBot"
    cmd = fake.group_text(-1001234567890, 5, f"/ask@{bot} 问题")["message"]
    assert cmd["chat"]["type"] == "supergroup"
    assert cmd["entities"] == [{"offset": 0, "length": 18, "type": "bot_command"}]
    mention = fake.group_text(-1001234567890, 5, f"😀 @{bot} 问题",
                              reply_to_bot=True)["message"]
    assert mention["entities"] == [{"offset": 3, "length": 14, "type": "mention"}]
    assert mention["reply_to_message"]["from"]["username"] == bot
    assert "entities" not in fake.group_text(-5, 5, f"问@{bot}")["message"]  # CJK is a word char
    start = fake.private_command(42, "/start")["message"]
    assert start["entities"] == [{"offset": 0, "length": 6, "type": "bot_command"}]

    anon = fake.anonymous_admin_group_text(-1001234567890, "公告")["message"]
    assert anon["from"]["id"] == 1087968824 and anon["sender_chat"]["id"] == -1001234567890
    post = fake.channel_post(-1009876543210, "频道消息")["channel_post"]
    assert "from" not in post and post["sender_chat"]["type"] == "channel"

    updates = [fake.push_update(u) for u in (
        {"message": mention}, fake.edited_private_text(42, "改"), fake.private_sticker(42),
        fake.private_photo(42, caption="见 https://www.gov.cn/zhengce/"), fake.private_voice(42),
        {"message": anon}, {"channel_post": post})]
    for update in updates:  # every builder output parses into PTB objects
        assert Update.de_json(update, None).effective_chat is not None
    parsed = Update.de_json(updates[0], None).effective_message
    assert parsed.parse_entities() == {parsed.entities[0]: f"@{bot}"}
    caption = Update.de_json(updates[3], None).effective_message
    assert list(caption.parse_caption_entities().values()) == ["https://www.gov.cn/zhengce/"]
    assert [u["update_id"] for u in updates] == list(range(100_000, 100_007))


def test_get_updates_protocol(fake):
    api = f"{fake.base_url}{TOKEN}"
    with httpx.Client(timeout=5) as client:
        assert client.post(f"{fake.base_url}123:NOPE/getMe").json() == {
            "ok": False, "error_code": 401, "description": "Unauthorized"}
        assert client.get(f"{api}/GETME").json()["result"]["username"] == "PolicyTestBot"
        ids = [fake.push_update(fake.private_text(1, f"m{i}"))["update_id"] for i in range(3)]
        got = client.post(f"{api}/getUpdates", json={"limit": 2}).json()["result"]
        assert [u["update_id"] for u in got] == ids[:2]
        got = client.post(f"{api}/getUpdates", data={"offset": ids[1]}).json()["result"]
        assert [u["update_id"] for u in got] == ids[1:]  # ids[0] is now confirmed
        got = client.post(f"{api}/getUpdates", data={"offset": -1}).json()["result"]
        assert [u["update_id"] for u in got] == ids[2:]
        # long polling: blocks until an update arrives (pushed from another thread)
        timer = threading.Timer(0.2, lambda: fake.push_update(fake.private_text(1, "late")))
        timer.start()
        began = time.monotonic()
        got = client.post(f"{api}/getUpdates",
                          data={"offset": ids[2] + 1, "timeout": 3}).json()["result"]
        timer.join()
        assert [u["message"]["text"] for u in got] == ["late"]
        assert 0.15 < time.monotonic() - began < 2
        began = time.monotonic()
        assert client.post(f"{api}/getUpdates", data={"offset": got[0]["update_id"] + 1,
                                                      "timeout": 0.3}).json()["result"] == []
        assert time.monotonic() - began >= 0.25
        # allowed_updates persists and filters updates created afterwards
        client.post(f"{api}/getUpdates",
                    data={"timeout": 0, "allowed_updates": '["callback_query"]'})
        fake.push_update(fake.private_text(1, "filtered"))
        assert fake.dropped_updates[-1]["message"]["text"] == "filtered"
        # webhook and polling exclude each other
        assert client.post(f"{api}/setWebhook", data={"url": "http://x"}).status_code == 400
        assert client.post(f"{api}/setWebhook", data={"url": "https://x/hook"}).json()["ok"]
        conflict = client.post(f"{api}/getUpdates").json()
        assert conflict["error_code"] == 409
        assert client.post(f"{api}/getWebhookInfo").json()["result"]["url"] == "https://x/hook"
        client.post(f"{api}/deleteWebhook", data={"drop_pending_updates": "true"})
        assert fake.pending_updates() == []
        # JSON and multipart bodies are understood too
        sent = client.post(f"{api}/sendMessage", json={"chat_id": 1, "text": "json"}).json()
        assert sent["result"]["text"] == "json"
        photo = client.post(f"{api}/sendPhoto", data={"chat_id": "1", "caption": "<i>c</i>",
                                                      "parse_mode": "HTML"},
                            files={"photo": ("p.jpg", b"\xff\xd8\r\n\x00", "image/jpeg")})
        assert photo.json()["result"]["caption"] == "c"
        assert fake.calls("sendPhoto")[0].files["photo"].data == b"\xff\xd8\r\n\x00"
        file_id = photo.json()["result"]["photo"][-1]["file_id"]
        file_path = client.post(f"{api}/getFile",
                                data={"file_id": file_id}).json()["result"]["file_path"]
        assert client.get(f"{fake.base_file_url}{TOKEN}/{file_path}").content == b"\xff\xd8\r\n\x00"
        assert client.post(f"{api}/someFutureMethod", data={"a": "1"}).json() == {
            "ok": True, "result": True}
        assert fake.calls("somefuturemethod")[0].params == {"a": 1}


def test_bot_methods_round_trip(fake):
    voice = fake.push_update(fake.private_voice(42, content=b"OggS-voice-bytes"))["message"]

    async def scenario():
        async with Bot(TOKEN, base_url=fake.base_url, base_file_url=fake.base_file_url) as bot:
            # PTB downloads from base_file_url + "123%3AABC/voices/..." (token percent-encoded)
            file = await bot.get_file(voice["voice"]["file_id"])
            assert bytes(await file.download_as_bytearray()) == b"OggS-voice-bytes"
            sent = await bot.send_message(42, "稍等…")
            assert await bot.delete_message(42, sent.message_id)
            with pytest.raises(BadRequest, match="Message to delete not found"):
                await bot.delete_message(42, sent.message_id)
            await bot.set_my_commands([("ask", "提问"), ("start", "开始")])
            assert [(c.command, c.description) for c in await bot.get_my_commands()] == [
                ("ask", "提问"), ("start", "开始")]
            with pytest.raises(BadRequest, match="Bot_command_invalid"):
                await bot.set_my_commands([("Ask", "大写不行")])
            await bot.send_chat_action(42, "typing")
            await bot.delete_my_commands()
            assert await bot.get_my_commands() == ()

    run(scenario())
    assert fake.calls("setMyCommands")[0].params["commands"] == [
        {"command": "ask", "description": "提问"}, {"command": "start", "description": "开始"}]
