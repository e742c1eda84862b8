"""Residents on Telegram, end to end: real PTB Application <-> fake Bot API, real SQLite."""

from __future__ import annotations

import asyncio
import logging

import pytest

from channels.telegram import TEXT_APOLOGY
from channels.telegram_handlers import TEXT_ASK_USAGE, TEXT_HELP, TEXT_MEDIA_HINT, TEXT_UNKNOWN_COMMAND
from qa.ratelimit import TEXT_RATE_LIMITED, RateLimiter
from tests.support.telegram_html import utf16_len
from tests.test_telegram_harness import (  # noqa: F401  (fake is a fixture)
    BOT,
    CITATION,
    RESIDENT,
    ask,
    db_rows,
    fake,
    make_runtime,
    run,
    running_bot,
    texts,
    to_chat,
)

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
GROUP = -1001234567890
QUESTION = "宛城区2020年脱贫多少人？"
SPECIAL_QUESTION = "测试专用：特殊符号条目怎么显示？"
SPECIAL_ANSWER = '答案里有 <b>&"粗体"</b> 和 a < b > c & d 这样的字符。'
LONG_QUESTION = "测试专用：超长答案条目的全文是什么？"


@pytest.fixture(scope="module")
def runtime(tmp_path_factory):
    rt = make_runtime(tmp_path_factory.mktemp("residents"))
    rt.store.faq.add({"question": SPECIAL_QUESTION, "answer": SPECIAL_ANSWER, "alternates": [],
                      "source": "《测试<来源>&说明》", "tags": []}, actor="test")
    sentence = "第{n}条：宛城区扶贫车间吸纳群众就近务工，<工资> & “补贴”按月发放，确保稳定增收。"
    long_answer = "".join(sentence.format(n=n) for n in range(1, 200))[:6000]
    rt.store.faq.add({"question": LONG_QUESTION, "answer": long_answer, "alternates": [],
                      "source": "《测试长文》", "tags": []}, actor="test")
    rt.long_answer = long_answer
    yield rt
    rt.close()


def test_question_answered_with_citation_and_buttons(fake, runtime):
    async def scenario():
        async with running_bot(fake, runtime):
            return await ask(fake, fake.private_text(RESIDENT, QUESTION), RESIDENT)

    [reply] = run(scenario())
    text = reply.result["text"]
    assert "2652" in text and CITATION in text
    assert {"type": "italic", "offset": text.index(CITATION), "length": len(CITATION)} in reply.result["entities"]
    assert "您可能还想问" not in text  # suggestions are buttons, not text
    actions = fake.calls("sendChatAction")
    assert actions and actions[0].params["action"] == "typing" and actions[0].time <= reply.time
    keyboard = reply.params["reply_markup"]["inline_keyboard"]
    assert all(row[0]["callback_data"].startswith("faq:") for row in keyboard[:-1]) and len(keyboard) >= 2
    assert runtime.conversation.writer.flush(5)  # the log row is written after the reply
    question_id = db_rows(runtime, "SELECT max(id) FROM questions")[0][0]
    assert [b["callback_data"] for b in keyboard[-1]] == [f"fb:{question_id}:1", f"fb:{question_id}:0"]
    assert reply.params["link_preview_options"] == {"is_disabled": True}


def test_html_special_characters_escaped(fake, runtime):
    async def scenario():
        async with running_bot(fake, runtime):
            special = await ask(fake, fake.private_text(RESIDENT, SPECIAL_QUESTION), RESIDENT)
            user = await ask(fake, fake.private_text(RESIDENT, '<b>脱贫</b> & "人数" <script>x</script>'), RESIDENT)
            return special + user

    special, user = run(scenario())
    assert special.result["text"].startswith(SPECIAL_ANSWER)
    assert "来源：《测试<来源>&说明》" in special.result["text"]
    assert "&lt;b&gt;&amp;" in special.params["text"]
    assert user.ok  # whatever the answer, the user's markup-like text did not break the HTML


def test_long_reply_split_at_sentences(fake, runtime):
    async def scenario():
        async with running_bot(fake, runtime):
            return await ask(fake, fake.private_text(RESIDENT, LONG_QUESTION), RESIDENT, count=2)

    parts = run(scenario())
    assert len(parts) == 2
    for part in parts:
        assert utf16_len(part.params["text"]) <= 4096 and utf16_len(part.result["text"]) <= 4096
    first, last = texts(parts)
    assert first.endswith("。")  # split after a sentence
    assert (first + last).startswith(runtime.long_answer)
    assert last.endswith("来源：《测试长文》")
    assert "reply_markup" not in parts[0].params and "reply_markup" in parts[1].params
    assert parts[1].time >= parts[0].time


def test_edited_message_answered_again(fake, runtime):
    async def scenario():
        async with running_bot(fake, runtime):
            await ask(fake, fake.private_text(RESIDENT, "你好"), RESIDENT)
            return await ask(fake, fake.edited_private_text(RESIDENT, QUESTION), RESIDENT)

    [edited] = run(scenario())
    assert "2652" in edited.result["text"]


def test_sticker_photo_voice_get_a_hint_and_a_caption_is_a_question(fake, runtime):
    async def scenario():
        async with running_bot(fake, runtime):
            replies = []
            for update in (fake.private_sticker(RESIDENT), fake.private_photo(RESIDENT),
                           fake.private_voice(RESIDENT), fake.private_photo(RESIDENT, caption=QUESTION)):
                replies += await ask(fake, update, RESIDENT)
            return replies

    sticker, photo, voice, caption = texts(run(scenario()))
    assert sticker == photo == voice == TEXT_MEDIA_HINT
    assert "2652" in caption and CITATION in caption


def test_group_answers_only_ask_mentions_and_replies(fake, runtime):
    async def scenario():
        async with running_bot(fake, runtime):
            ignored = [fake.group_text(GROUP, 7, "大家好，今天下午开会"),
                       fake.group_text(GROUP, 7, "/ask@OtherBot 四集中是什么"),
                       fake.group_text(GROUP, 7, "/help@OtherBot"),
                       fake.channel_post(-1009876543210, f"@{BOT} {QUESTION}")]
            for update in ignored:
                fake.push_update(update)
            mention = await ask(fake, fake.group_text(GROUP, 7, f"@{BOT} {QUESTION}"), GROUP)
            command = await ask(fake, fake.group_text(GROUP, 8, f"/ask@{BOT} “四集中”是什么？"), GROUP)
            bare = await ask(fake, fake.group_text(GROUP, 8, "/ask"), GROUP)
            reply = await ask(fake, fake.group_text(GROUP, 9, QUESTION, reply_to_bot=True), GROUP)
            await asyncio.sleep(0.5)  # give the ignored updates every chance to be answered
            return mention + command + bare + reply

    mention, command, bare, reply = run(scenario())
    assert "2652" in mention.result["text"]
    assert mention.params["reply_parameters"]["message_id"] == mention.result["reply_to_message"]["message_id"]
    assert "四集中" in command.result["text"] and "63" in command.result["text"]
    assert bare.result["text"] == TEXT_ASK_USAGE
    assert "2652" in reply.result["text"]
    assert len([c for c in fake.calls("sendMessage") if to_chat(GROUP)(c)]) == 4
    assert fake.dropped_updates and "channel_post" in fake.dropped_updates[-1]
    assert not [c for c in fake.calls("sendMessage") if c.params["chat_id"] == -1009876543210]


def test_suggestion_button_and_feedback(fake, runtime):
    async def scenario():
        async with running_bot(fake, runtime):
            [first] = await ask(fake, fake.private_text(RESIDENT, QUESTION), RESIDENT)
            keyboard = first.params["reply_markup"]["inline_keyboard"]
            press = fake.callback_query(RESIDENT, keyboard[0][0]["callback_data"], first.result["message_id"])
            [suggested] = await ask(fake, press, RESIDENT)
            vote = fake.callback_query(RESIDENT, keyboard[-1][0]["callback_data"], first.result["message_id"])
            fake.push_update(vote)
            await fake.wait_for_async("editMessageReplyMarkup")
            return first, keyboard, press, suggested, vote

    first, keyboard, press, suggested, vote = run(scenario())
    faq_id = keyboard[0][0]["callback_data"].removeprefix("faq:")
    entry = runtime.store.faq.get(faq_id)
    assert suggested.result["text"].startswith(entry.answer)
    assert press["callback_query"]["id"] in fake.answered_callbacks
    assert fake.answered_callbacks[vote["callback_query"]["id"]]["text"] == "感谢您的反馈！"
    question_id = int(keyboard[-1][0]["callback_data"].split(":")[1])
    assert db_rows(runtime, "SELECT feedback FROM questions WHERE id=?", question_id) == [(1,)]
    edited = fake.message(RESIDENT, first.result["message_id"])
    assert all(not b["callback_data"].startswith("fb:") for row in edited["reply_markup"]["inline_keyboard"]
               for b in row)


def test_start_help_and_example_button(fake, runtime):
    async def scenario():
        async with running_bot(fake, runtime):
            [help_] = await ask(fake, fake.private_command(RESIDENT, "/start"), RESIDENT)
            example = fake.callback_query(RESIDENT, "ex:0", help_.result["message_id"])
            [answer] = await ask(fake, example, RESIDENT)
            [unknown] = await ask(fake, fake.private_command(RESIDENT, "/nonsense"), RESIDENT)
            stale = fake.callback_query(RESIDENT, "zz:1", help_.result["message_id"])
            fake.push_update(stale)
            await fake.wait_for_async("answerCallbackQuery", 2)
            return help_, example, answer, unknown, stale

    help_, example, answer, unknown, stale = run(scenario())
    assert help_.result["text"] == TEXT_HELP.strip()
    assert [row[0]["callback_data"] for row in help_.params["reply_markup"]["inline_keyboard"]] == ["ex:0", "ex:1", "ex:2"]
    assert "2652" in answer.result["text"]
    assert unknown.result["text"] == TEXT_UNKNOWN_COMMAND
    assert {example["callback_query"]["id"], stale["callback_query"]["id"]} <= set(fake.answered_callbacks)


def test_rate_limit_per_user(fake, runtime, monkeypatch):
    monkeypatch.setattr(runtime.conversation, "rate_limiter", RateLimiter(2))

    async def scenario():
        async with running_bot(fake, runtime):
            replies = []
            for _ in range(3):
                replies += await ask(fake, fake.private_text(RESIDENT, QUESTION), RESIDENT)
            replies += await ask(fake, fake.private_text(RESIDENT + 1, QUESTION), RESIDENT + 1)
            return replies

    one, two, three, other = texts(run(scenario()))
    assert "2652" in one and "2652" in two and three == TEXT_RATE_LIMITED and "2652" in other


def test_flood_control_429_is_retried(fake, runtime):
    fake.fail_next("sendMessage", status=429, retry_after=1)

    async def scenario():
        async with running_bot(fake, runtime):
            fake.push_update(fake.private_text(RESIDENT, QUESTION))
            return await fake.wait_for_async("sendMessage", 2, timeout=15)

    first, second = run(scenario())
    assert first.status == 429 and second.ok and "2652" in second.result["text"]
    assert second.time - first.time >= 1.0


class _BrokenService:
    def answer(self, *args, **kwargs):
        raise RuntimeError("simulated failure")


def test_error_handler_logs_and_apologises(fake, runtime, caplog, monkeypatch):
    monkeypatch.setattr(runtime.conversation, "service", _BrokenService())
    caplog.set_level(logging.ERROR, logger="channels.telegram")

    async def scenario():
        async with running_bot(fake, runtime):
            return await ask(fake, fake.private_text(RESIDENT, QUESTION), RESIDENT)

    [apology] = run(scenario())
    assert apology.result["text"] == TEXT_APOLOGY
    [record] = [r for r in caplog.records if r.name == "channels.telegram"]
    assert record.exc_info and "simulated failure" in str(record.exc_info[1])


SPECIAL_ARTICLE = """---
title: 医保<缴费>&"标准"问答
---
城乡居民医保缴费标准

2021年宛城区城乡居民医保个人缴费标准为每人每年<320>元 & 由村（社区）代收，"按年度"缴纳。
"""


def test_html_special_characters_in_article_text(fake, tmp_path):
    articles = tmp_path / "articles"
    articles.mkdir()
    (articles / "special.txt").write_text(SPECIAL_ARTICLE, encoding="utf-8")
    own = make_runtime(tmp_path, BOT_ARTICLES=str(articles))

    async def scenario():
        async with running_bot(fake, own):
            return await ask(fake, fake.private_text(RESIDENT, "2021年城乡居民医保个人缴费标准是多少？"), RESIDENT)

    try:
        [reply] = run(scenario())
    finally:
        own.close()
    assert reply.result["text"].startswith('2021年宛城区城乡居民医保个人缴费标准为每人每年<320>元 & 由村（社区）代收，"按年度"缴纳。')
    assert '来源：《医保<缴费>&"标准"问答》 · 城乡居民医保缴费标准 · 第1段' in reply.result["text"]
    assert "&lt;320&gt;元 &amp;" in reply.params["text"]
