"""Conversations on Telegram, end to end (real PTB Application <-> fake Bot API, real SQLite):
a group keeps one context per member, and a typed number picks a suggestion besides the buttons."""

from __future__ import annotations

import pytest

from channels.replies import TEXT_CLARIFY
from tests.test_telegram_harness import (  # noqa: F401  (fake is a fixture)
    BOT,
    RESIDENT,
    ask,
    fake,
    make_runtime,
    run,
    running_bot,
)

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
GROUP = -1001234567891
ALICE, BOB = 7001, 7002


@pytest.fixture(scope="module")
def runtime(tmp_path_factory):
    rt = make_runtime(tmp_path_factory.mktemp("conversations"))
    yield rt
    rt.close()


def test_group_keeps_context_per_member(fake, runtime):
    async def scenario():
        async with running_bot(fake, runtime):
            first = await ask(fake, fake.group_text(GROUP, ALICE, f"@{BOT} 2020年宛城区脱贫了多少人"), GROUP)
            bob = await ask(fake, fake.group_text(GROUP, BOB, f"@{BOT} 那去年呢？"), GROUP)
            alice = await ask(fake, fake.group_text(GROUP, ALICE, f"@{BOT} 那去年呢？"), GROUP)
            # Alice's context lives in the group only: in a private chat she starts afresh
            private = await ask(fake, fake.private_text(ALICE, "那去年呢？"), ALICE)
            return first + bob + alice + private

    first, bob, alice, private = run(scenario())
    assert "2652" in first.result["text"]
    assert bob.result["text"] == TEXT_CLARIFY
    assert alice.result["text"].startswith("按“2019年宛城区脱贫了多少人”理解：") and "7248" in alice.result["text"]
    assert private.result["text"] == TEXT_CLARIFY


def test_typed_number_picks_a_suggestion(fake, runtime):
    async def scenario():
        async with running_bot(fake, runtime):
            [first] = await ask(fake, fake.private_text(RESIDENT, "四集中保障机构建了多少个"), RESIDENT)
            [picked] = await ask(fake, fake.private_text(RESIDENT, "2"), RESIDENT)
            return first, picked

    first, picked = run(scenario())
    keyboard = first.params["reply_markup"]["inline_keyboard"]
    faq_id = keyboard[1][0]["callback_data"].removeprefix("faq:")
    entry = runtime.store.faq.get(faq_id)
    text = picked.result["text"]
    assert text.startswith(f"按“{entry.question.rstrip('？')}”理解：")
    assert entry.answer in text


def test_typed_circled_number_then_a_follow_up(fake, runtime):
    async def scenario():
        async with running_bot(fake, runtime):
            [first] = await ask(fake, fake.private_text(RESIDENT + 1, "你好"), RESIDENT + 1)
            [picked] = await ask(fake, fake.private_text(RESIDENT + 1, "②"), RESIDENT + 1)
            [follow] = await ask(fake, fake.private_text(RESIDENT + 1, "那床位有多少呢"), RESIDENT + 1)
            return first, picked, follow

    first, picked, follow = run(scenario())
    assert "四集中" in picked.result["text"]
    assert follow.result["text"].startswith("按“") and "1536" in follow.result["text"]


def test_a_pressed_suggestion_button_becomes_the_topic(fake, runtime):
    async def scenario():
        async with running_bot(fake, runtime):
            [first] = await ask(fake, fake.private_text(RESIDENT + 2, "四集中兜底保障是什么"), RESIDENT + 2)
            keyboard = first.params["reply_markup"]["inline_keyboard"]
            data = next(row[0]["callback_data"] for row in keyboard if row[0]["callback_data"] == "faq:F003")
            await ask(fake, fake.callback_query(RESIDENT + 2, data, first.result["message_id"]), RESIDENT + 2)
            [follow] = await ask(fake, fake.private_text(RESIDENT + 2, "投了多少钱呢"), RESIDENT + 2)
            return follow

    follow = run(scenario())
    assert follow.result["text"].startswith("按“") and "3000" in follow.result["text"]
