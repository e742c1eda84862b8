"""Shared harness of the Telegram end-to-end tests (plus a few tests of the harness itself).

The real python-telegram-bot Application, built by ``channels.telegram.build_application``,
polls ``tests/support/fake_bot_api.py`` through ``TELEGRAM_BASE_URL``; the runtime is a real
SQLite file in a temporary directory, built once per test module (``make_runtime``).
pytest-asyncio is not installed: each test drives its coroutine with :func:`run`.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from pathlib import Path

import pytest

from app.runtime import open_runtime
from app.server import telegram_config
from app.settings import Settings
from channels.telegram import ALLOWED_UPDATES, build_application, configure_bot
from tests.support.fake_bot_api import Call, FakeBotApi
from tests.support.telegram_html import telegram_html_to_text, utf16_len

TOKEN = "123:ABC"
BOT = "PolicyTestBot"
ADMIN, STAFF, RESIDENT = 1001, 2002, 42
NO_DOTENV = Path("/nonexistent/.env")
CITATION = "来源：《脱贫攻坚 宛城区交出满意答卷》"


def make_settings(**env: str) -> Settings:
    """Settings from ``env`` only (no process environment, no .env file)."""
    base = {"BOT_RATE_LIMIT": "10000", "BOT_HASH_KEY": "test-hash-key-0123456789"}
    return Settings.from_env(environ={**base, **env}, dotenv=NO_DOTENV)


def make_runtime(directory: Path, **env: str):
    """A runtime on ``directory/bot.db`` (the first open builds the index, ~1 s)."""
    return open_runtime(make_settings(**env), db_path=directory / "bot.db", quiet=True)


def bot_settings(fake: FakeBotApi, **env: str) -> Settings:
    return make_settings(TELEGRAM_BOT_TOKEN=fake.token, TELEGRAM_BASE_URL=fake.base_url,
                         TELEGRAM_ADMIN_IDS=str(ADMIN), TELEGRAM_STAFF_IDS=str(STAFF), **env)


def telegram_app(runtime, settings: Settings, *, polling: bool = True):
    """The production Application for ``runtime`` as the wiring builds it."""
    return build_application(runtime.conversation, runtime.replies, runtime.operations, telegram_config(settings),
                             polling=polling)


def run(coro, timeout: float = 30.0):
    return asyncio.run(asyncio.wait_for(coro, timeout))


@contextlib.asynccontextmanager
async def running_bot(fake: FakeBotApi, runtime, **env: str):
    """The production Application, polling the fake with the production allowed_updates."""
    settings = bot_settings(fake, **env)
    application = telegram_app(runtime, settings)
    await application.initialize()
    await configure_bot(application, telegram_config(settings))
    await application.start()
    await application.updater.start_polling(poll_interval=0, timeout=1, allowed_updates=ALLOWED_UPDATES)
    # the first getUpdates (in flight) has set allowed_updates: updates pushed now are filtered
    await fake.wait_for_async("getUpdates", completed=False)
    try:
        yield application
    finally:
        await application.updater.stop()
        await application.stop()
        await application.shutdown()


@pytest.fixture
def fake():
    """A started fake; afterwards: no leftover threads, no fake bugs, every message valid."""
    before = set(threading.enumerate())
    server = FakeBotApi(token=TOKEN, bot_username=BOT).start()
    try:
        yield server
    finally:
        server.stop()
    leftover = [t for t in threading.enumerate() if t not in before and t.is_alive()]
    assert leftover == [], leftover
    assert server.internal_errors == []
    assert_messages_valid(server)


@contextlib.contextmanager
def threaded_application(fake: FakeBotApi, runtime, name: str):
    """The real Application (no polling) on an event loop in a thread; yields
    (application, call(coro) -> result, errors seen by the error handler)."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name=name, daemon=True)
    thread.start()
    application = telegram_app(runtime, bot_settings(fake), polling=False)
    errors: list[BaseException] = []

    async def record(update, context):
        errors.append(context.error)

    application.add_error_handler(record)

    def call(coro, timeout: float = 30):
        return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout)

    call(application.initialize())
    call(application.start())
    try:
        yield application, call, errors
    finally:
        call(application.stop())
        call(application.shutdown())
        call(loop.shutdown_default_executor())
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def live_bot(tmp_path_factory, name: str):
    """Generator body of a module fixture: a stand-in Bot API and the real Application in a
    thread on a fresh runtime; yields (fake, application, call, errors) and checks afterwards
    that the stand-in saw no internal error and every message was valid Telegram HTML."""
    fake = FakeBotApi(token=TOKEN, bot_username=BOT).start()
    runtime = make_runtime(tmp_path_factory.mktemp(name))
    try:
        with threaded_application(fake, runtime, f"{name}-loop") as (application, call, errors):
            yield fake, application, call, errors
    finally:
        runtime.close()
        fake.stop()
    assert fake.internal_errors == []
    assert_messages_valid(fake)


def assert_messages_valid(fake: FakeBotApi) -> None:
    """Every sendMessage was HTML, parsed, fitted 4096 UTF-16 units and succeeded (or was a
    429 injected by the test)."""
    for call in fake.calls("sendMessage"):
        assert call.params.get("parse_mode") == "HTML", call
        assert utf16_len(call.params["text"]) <= 4096
        telegram_html_to_text(call.params["text"])  # raises on invalid Telegram HTML
        assert call.status in (200, 429), call
        for row in (call.params.get("reply_markup") or {}).get("inline_keyboard", []):
            for button in row:
                assert 1 <= len(button["callback_data"].encode()) <= 64


def to_chat(chat_id: int):
    return lambda call: call.params.get("chat_id") == chat_id and call.ok


def texts(calls: list[Call]) -> list[str]:
    """Visible texts (what Telegram shows) of successful sendMessage calls."""
    return [c.result["text"] for c in calls if c.ok]


async def ask(fake: FakeBotApi, update: dict, chat_id: int, count: int = 1, timeout: float = 15) -> list[Call]:
    """Push ``update``; wait for ``count`` more messages to ``chat_id``; return the new ones."""
    before = len([c for c in fake.calls("sendMessage") if to_chat(chat_id)(c)])
    fake.push_update(update)
    found = await fake.wait_for_async("sendMessage", before + count, timeout, predicate=to_chat(chat_id))
    return found[before:]


def db_rows(runtime, sql: str, *params) -> list[tuple]:
    """Read the bot's SQLite file directly (a second connection, as an operator would)."""
    with contextlib.closing(sqlite3.connect(runtime.store.path)) as conn:
        return conn.execute(sql, params).fetchall()


# ---- tests of the harness --------------------------------------------------------------------
@pytest.fixture(scope="module")
def runtime(tmp_path_factory):
    rt = make_runtime(tmp_path_factory.mktemp("harness"))
    yield rt
    rt.close()


def test_menus_and_polling_setup(fake, runtime):
    async def scenario():
        async with running_bot(fake, runtime):
            await fake.wait_for_async("getUpdates")

    run(scenario())
    polls = [c for c in fake.calls("getUpdates") if "allowed_updates" in c.params]
    assert polls and polls[0].params["allowed_updates"] == ["message", "edited_message", "callback_query"]
    menus = {(c.params["scope"]["type"], c.params["scope"].get("chat_id")): [x["command"] for x in c.params["commands"]]
             for c in fake.calls("setMyCommands")}
    assert menus["default", None] == ["start", "help", "ask"]
    staff, admin = menus["chat", STAFF], menus["chat", ADMIN]
    assert "faq_add" in staff and "reindex" not in staff
    assert {"faq_add", "unanswered", "reindex", "stats"} <= set(admin)


def test_settings_come_from_the_environment_mapping(fake):
    settings = bot_settings(fake)
    assert settings.telegram_base_url == fake.base_url
    assert settings.telegram_admin_ids == frozenset({ADMIN}) and settings.telegram_staff_ids == frozenset({STAFF})
