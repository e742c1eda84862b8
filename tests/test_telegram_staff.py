"""Staff and admin commands on Telegram, end to end, with authorization and audit."""

from __future__ import annotations

import asyncio
import re
import threading
import types

import pytest

from channels.telegram import TEXT_APOLOGY
from channels.telegram_staff import (
    TEXT_ANONYMOUS,
    TEXT_NOT_ADMIN,
    TEXT_NOT_STAFF,
    TEXT_REINDEX_BUSY,
    TEXT_REINDEX_START,
    parse_add,
)
from faq.staff import FaqError
from tests.test_telegram_harness import (  # noqa: F401  (fake is a fixture)
    ADMIN,
    RESIDENT,
    STAFF,
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
NEW_QUESTION = "宛城区便民测试窗口在哪里办公？"
NEW_ANSWER = "便民测试窗口设在区政务服务中心一楼<3号>窗口 & 自助区旁边。"


@pytest.fixture(scope="module")
def runtime(tmp_path_factory):
    rt = make_runtime(tmp_path_factory.mktemp("staff"))
    yield rt
    rt.close()


def test_parse_add():
    assert parse_add(" 问 | 答 | 源 ") == ("问", "答", "源")
    assert parse_add("问｜答") == ("问", "答", "")
    assert parse_add("问 | 答a|b | 源") == ("问", "答a|b", "源")
    with pytest.raises(FaqError):
        parse_add("没有分隔符")


def test_staff_add_is_answerable_at_once(fake, runtime):
    async def scenario():
        async with running_bot(fake, runtime):
            [added] = await ask(fake, fake.private_command(
                STAFF, f"/faq_add {NEW_QUESTION} | {NEW_ANSWER} | 《测试通知》"), STAFF)
            [answer] = await ask(fake, fake.private_text(RESIDENT, "便民测试窗口在哪里办公"), RESIDENT)
            return added, answer

    added, answer = run(scenario())
    assert added.result["text"].startswith("已添加 F")
    faq_id = re.match(r"已添加 (F\d+)：", added.result["text"]).group(1)
    assert answer.result["text"].startswith(NEW_ANSWER) and "来源：《测试通知》" in answer.result["text"]
    record = runtime.store.faq.get(faq_id)
    assert record.created_by == f"telegram:{STAFF}" and record.answer == NEW_ANSWER
    assert (f"telegram:{STAFF}", "faq_add", faq_id) in db_rows(runtime, "SELECT actor, action, detail FROM audit")


def test_near_duplicate_and_force(fake, runtime):
    async def scenario():
        async with running_bot(fake, runtime):
            [dup] = await ask(fake, fake.private_command(STAFF, "/faq_add 两不愁三保障是什么意思 | 测试答案"), STAFF)
            [forced] = await ask(fake, fake.private_command(STAFF, "/faq_add_force 两不愁三保障是什么意思 | 测试答案"), STAFF)
            [usage] = await ask(fake, fake.private_command(STAFF, "/faq_add 只有问题"), STAFF)
            return dup, forced, usage

    dup, forced, usage = texts(run(scenario()))
    assert dup.startswith("未添加：与已有条目 F") and "/faq_add_force" in dup
    assert forced.startswith("已添加 F")
    assert usage.startswith("用法：/faq_add")


def test_edit_disable_search_unanswered(fake, runtime):
    runtime.conversation.ask("telegram", RESIDENT, "火星移民补贴怎么申请", render=runtime.replies.text)
    assert runtime.conversation.writer.flush(5)

    async def scenario():
        async with running_bot(fake, runtime):
            out = []
            for command in ("/faq 助学贷款", "/faq_edit F020 source 《新来源<测试>》", "/faq_edit F020 color 红",
                            "/faq_disable F020", "/faq_edit F020 enable", "/faq_disable F999", "/unanswered"):
                out += await ask(fake, fake.private_command(STAFF, command), STAFF)
            return out

    search, edit, bad_field, disable, enable, missing, unanswered = run(scenario())
    assert "F020" in search.result["text"] and {"type": "bold", "offset": search.result["text"].index("F020"),
                                                "length": 4} in search.result["entities"]
    assert edit.result["text"].startswith("已更新 F020") and "来源：《新来源<测试>》" in edit.result["text"]
    assert bad_field.result["text"].startswith("用法：/faq_edit")
    assert disable.result["text"].startswith("已停用 F020")
    assert "（已停用）" not in enable.result["text"] and runtime.store.faq.get("F020").status == "active"
    assert "F999" in missing.result["text"]
    assert "火星移民补贴怎么申请" in unanswered.result["text"]
    actions = [a for (a,) in db_rows(runtime, "SELECT action FROM audit WHERE actor=?", f"telegram:{STAFF}")]
    assert {"faq_search", "faq_edit", "faq_disable", "unanswered"} <= set(actions)
    history = db_rows(runtime, "SELECT actor, action FROM faq_history WHERE faq_id='F020'")
    assert (f"telegram:{STAFF}", "disable") in history


def test_unauthorized_and_anonymous_are_refused_politely(fake, runtime):
    async def scenario():
        async with running_bot(fake, runtime):
            out = []
            out += await ask(fake, fake.private_command(RESIDENT, "/reindex"), RESIDENT)
            out += await ask(fake, fake.private_command(RESIDENT, "/faq_add 问 | 答"), RESIDENT)
            out += await ask(fake, fake.private_command(STAFF, "/reindex"), STAFF)
            out += await ask(fake, fake.private_command(STAFF, "/stats"), STAFF)
            out += await ask(fake, fake.anonymous_admin_group_text(GROUP, "/reindex"), GROUP)
            out += await ask(fake, fake.anonymous_admin_group_text(GROUP, "/faq_add 问 | 答"), GROUP)
            return out

    resident_reindex, resident_add, staff_reindex, staff_stats, anon_reindex, anon_add = texts(run(scenario()))
    assert resident_reindex == staff_reindex == staff_stats == TEXT_NOT_ADMIN
    assert resident_add == TEXT_NOT_STAFF
    assert anon_reindex == anon_add == TEXT_ANONYMOUS
    assert TEXT_APOLOGY not in texts(fake.calls("sendMessage"))
    assert not [c for c in fake.calls("sendMessage") if "索引已重建" in c.params["text"]]
    denied = db_rows(runtime, "SELECT actor, detail FROM audit WHERE action='denied'")
    assert (f"telegram:chat:{GROUP}", "/reindex") in denied
    assert all(str(RESIDENT) not in actor.split(":")[-1] for actor, _ in denied)  # hashed, not raw


class HeldReindex:
    """The runtime, except that reindex() returns only after ``release`` is set (by the test,
    once every question is answered), so the overlap does not depend on machine speed."""

    def __init__(self, runtime) -> None:
        self._runtime = runtime
        self.started = threading.Event()
        self.release = threading.Event()

    def __getattr__(self, name):
        return getattr(self._runtime, name)

    def reindex(self, *args, **kwargs):
        self.started.set()
        report = self._runtime.reindex(*args, **kwargs)
        assert self.release.wait(60)
        return report


def test_reindex_while_twenty_questions_arrive(fake, runtime):
    held = HeldReindex(runtime.operations)
    wired = types.SimpleNamespace(conversation=runtime.conversation, replies=runtime.replies, operations=held)

    async def scenario():
        async with running_bot(fake, wired):
            fake.push_update(fake.private_command(ADMIN, "/reindex"))
            await fake.wait_for_async("sendMessage", predicate=lambda c: c.params["text"] == TEXT_REINDEX_START)
            assert await asyncio.to_thread(held.started.wait, 10)
            await ask(fake, fake.private_command(ADMIN, "/reindex"), ADMIN)  # refused: one at a time
            for user in range(20):
                fake.push_update(fake.private_text(5000 + user, "宛城区2020年脱贫多少人？"))
            answers = [await fake.wait_for_async("sendMessage", predicate=to_chat(5000 + user), timeout=30)
                       for user in range(20)]
            held.release.set()
            done = await fake.wait_for_async("sendMessage", predicate=lambda c: "索引已重建" in c.params["text"],
                                             timeout=60)
            return answers, done

    answers, done = run(scenario(), timeout=120)
    assert all(len(a) == 1 and "2652" in a[0].result["text"] for a in answers)
    assert "篇文章" in done[0].result["text"] and "用时" in done[0].result["text"]
    assert max(a[0].time for a in answers) < done[0].time
    assert TEXT_REINDEX_BUSY in texts(fake.calls("sendMessage"))
    assert any(action == "reindex" for (action,) in db_rows(runtime, "SELECT action FROM audit WHERE actor=?",
                                                             f"telegram:{ADMIN}"))


def test_reindex_refused_while_another_process_reindexes(fake, runtime):
    token = runtime.store.acquire_reindex_lock()

    async def scenario():
        async with running_bot(fake, runtime):
            return await ask(fake, fake.private_command(ADMIN, "/reindex"), ADMIN, count=2)

    try:
        start, busy = texts(run(scenario()))
    finally:
        runtime.store.release_reindex_lock(token)
    assert start == TEXT_REINDEX_START and busy == TEXT_REINDEX_BUSY


def test_stats_for_admins(fake, runtime):
    runtime.conversation.ask("telegram", RESIDENT, "宛城区2020年脱贫多少人？", render=runtime.replies.text)
    assert runtime.conversation.writer.flush(5)

    async def scenario():
        async with running_bot(fake, runtime):
            return await ask(fake, fake.private_command(ADMIN, "/stats"), ADMIN)

    [stats] = texts(run(scenario()))
    assert stats.startswith("使用统计") and "近 7 天：提问" in stats and "答出率" in stats
    assert "宛城区2020年脱贫多少人" in stats


def test_edited_command_is_not_run_again(fake, runtime):
    async def scenario():
        async with running_bot(fake, runtime):
            await ask(fake, fake.private_command(STAFF, "/faq 脱贫"), STAFF)
            return await ask(fake, fake.edited_private_text(STAFF, "/faq_disable F001"), STAFF)

    [edited] = texts(run(scenario()))
    assert "重新发送" in edited and runtime.store.faq.get("F001").status == "active"
