"""Property-based: generated messages, entities and button data through the real handlers.

One Application (no polling) runs on an event loop in a background thread; each example is
registered with the fake Bot API (so replies and callback answers are checked against it) and
fed to ``Application.process_update``. No handler may fail (the error handler must never run)
and every message sent must be valid Telegram HTML within 4096 UTF-16 units (the fake rejects
anything else, see ``tests/support/telegram_html.py``).
"""

from __future__ import annotations


import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from telegram import Update

from tests.test_telegram_harness import BOT, live_bot

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
GROUP = -1001234567890


@pytest.fixture(scope="module")
def bot(tmp_path_factory):
    yield from live_bot(tmp_path_factory, "fuzz")


_TOKENS = st.sampled_from(list("政策问答宛城区脱贫多少人。？！<>&\"' \n😀") +
                          [f"@{BOT}", "@OtherBot", "/ask", f"/ask@{BOT}", "/ask@OtherBot", "/start", "/faq_add",
                           "/reindex", "2020年", "四集中", " | ", "&amp;", "<b>"])
_TEXT = st.lists(_TOKENS, max_size=40).map("".join) | st.text(max_size=200)
_ENTITY = st.builds(
    lambda kind, offset, length, bot_user: {"type": kind, "offset": offset, "length": length,
                                            **({"user": {"id": 123 if bot_user else 9, "is_bot": bot_user,
                                                         "first_name": "x"}} if kind == "text_mention" else {})},
    st.sampled_from(["mention", "bot_command", "text_mention", "bold", "url"]),
    st.integers(0, 60), st.integers(0, 60), st.booleans())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_generated_updates_never_break_the_bot(bot, data):
    fake, application, call, errors = bot
    text = data.draw(_TEXT)
    entities = data.draw(st.none() | st.lists(_ENTITY, max_size=3))
    user = data.draw(st.integers(1, 10**9))
    kind = data.draw(st.sampled_from(["private", "group", "reply", "edited", "caption", "callback"]))
    if kind == "private":
        update = fake.private_text(user, text, entities=entities)
    elif kind == "group":
        update = fake.group_text(GROUP, user, text, entities=entities)
    elif kind == "reply":
        update = fake.group_text(GROUP, user, text, entities=entities, reply_to_bot=True)
    elif kind == "edited":
        update = fake.edited_private_text(user, text)
    elif kind == "caption":
        update = fake.private_photo(user, caption=text)
    else:
        update = fake.callback_query(user, data.draw(st.sampled_from(["faq:", "fb:", "ex:", ""]))
                                     + data.draw(st.text(max_size=20)))
    update = fake.push_update(update)  # registers chats, messages and the callback query id
    call(application.process_update(Update.de_json(update, application.bot)))
    assert errors == []
    bad = [c for c in fake.calls("sendMessage") if c.status != 200]
    assert bad == []
