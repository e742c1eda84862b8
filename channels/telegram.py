"""The Telegram channel: one python-telegram-bot v22 Application for polling and webhook mode.

Pieces:

* :func:`build_application` wires the resident handlers (:mod:`channels.telegram_handlers`),
  the staff/admin commands (:mod:`channels.telegram_staff`) and one error handler into an
  Application talking to ``settings.telegram_base_url`` (a self-hosted Bot API server or a test
  stand-in), with PTB's ``AIORateLimiter`` honouring flood-control ``RetryAfter`` replies
  (https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this) and
  concurrent update processing.
* :func:`configure_bot` publishes the command menus (``setMyCommands``): resident commands in
  the default scope, staff/admin commands scoped to each listed user's private chat
  (``BotCommandScopeChat``). Menus are a convenience only; every handler authorizes by
  numeric user id.
* :data:`ALLOWED_UPDATES` is passed explicitly to ``getUpdates`` and ``setWebhook``.

The runner is ``app/telegram_cli.py`` (``python bot.py telegram``, long polling);
``channels/telegram_webhook.py`` serves the same Application inside ``python bot.py serve``.
"""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING

from telegram import BotCommand, BotCommandScopeChat, BotCommandScopeDefault, Update
from telegram.constants import ChatType, UpdateType
from telegram.error import TelegramError
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, ContextTypes

from channels.telegram_handlers import Residents, send_parts
from channels.telegram_render import plain_parts
from channels.telegram_staff import ADMIN_COMMANDS, STAFF_COMMANDS, StaffCommands

if TYPE_CHECKING:
    from app.runtime import Runtime
    from app.settings import Settings

log = logging.getLogger(__name__)

#: Update types the bot asks for (https://core.telegram.org/bots/api#getupdates): channel
#: posts, inline queries, reactions and the rest are never delivered.
ALLOWED_UPDATES = [UpdateType.MESSAGE, UpdateType.EDITED_MESSAGE, UpdateType.CALLBACK_QUERY]
#: Retries of a request answered with 429 (PTB's AIORateLimiter needs >= 1 to retry at all).
MAX_RETRIES = 3
#: Resident command menu (default scope). Names: [a-z0-9_]{1,32}, descriptions 1-256 characters
#: (https://core.telegram.org/bots/api#botcommand).
RESIDENT_COMMANDS = [("start", "开始使用"), ("help", "使用说明和示例问题"), ("ask", "提问（群聊中使用：/ask 问题）")]
TEXT_APOLOGY = "抱歉，处理您的消息时出了点问题，请稍后再试。如急需帮助，请拨打12345政务服务便民热线。"


def quiet_http_logs() -> None:
    """httpx logs request URLs, which contain the bot token, at INFO: keep it at WARNING."""
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)


def build_application(runtime: Runtime, settings: Settings, *, polling: bool = True, post_init=None) -> Application:
    """An Application with every handler registered (not yet initialized).

    Args:
        runtime: the opened runtime (``service``, ``store``, ``segmenter``, ``rate_limiter``,
            ``reindex``).
        settings: validated settings; needs ``telegram_token``.
        polling: False builds it without an Updater (webhook mode feeds ``update_queue``).
        post_init: coroutine ``f(application)`` run by ``run_polling`` after initialization.

    Raises:
        ValueError: no token in the settings.
    """
    if not settings.telegram_token:
        raise ValueError("TELEGRAM_BOT_TOKEN is required")
    quiet_http_logs()
    builder = (ApplicationBuilder().token(settings.telegram_token).base_url(settings.telegram_base_url)
               .rate_limiter(AIORateLimiter(max_retries=MAX_RETRIES)).concurrent_updates(True))
    if not polling:
        builder = builder.updater(None)
    if post_init is not None:
        builder = builder.post_init(post_init)
    application = builder.build()
    staff = StaffCommands(runtime, settings)
    residents = Residents(runtime)
    application.add_handlers(staff.handlers())  # before the residents' unknown-command catch-all
    application.add_handlers(residents.handlers())
    application.add_error_handler(on_error)
    return application


def _commands(pairs) -> list[BotCommand]:
    return [BotCommand(name, description) for name, description in pairs]


async def configure_bot(application: Application, settings: Settings) -> None:
    """Publish command menus; a failing scoped menu (chat not found) is logged, not fatal."""
    bot = application.bot
    await bot.set_my_commands(_commands(RESIDENT_COMMANDS), scope=BotCommandScopeDefault())
    admins = settings.telegram_admin_ids
    for user_id in sorted(settings.telegram_staff_ids | admins):
        extra = STAFF_COMMANDS + (ADMIN_COMMANDS if user_id in admins else [])
        try:
            await bot.set_my_commands(_commands(RESIDENT_COMMANDS + extra), scope=BotCommandScopeChat(user_id))
        except TelegramError as exc:  # the user has not started the bot yet, for example
            log.warning("could not set the staff command menu for one user: %s", exc)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log the failure with its traceback; apologise to the user in Chinese."""
    update_id = update.update_id if isinstance(update, Update) else None
    log.error("failed to handle update %s", update_id, exc_info=context.error)
    if not isinstance(update, Update):
        return
    with contextlib.suppress(Exception):
        if update.callback_query is not None:
            await update.callback_query.answer()
    chat = update.effective_chat
    if chat is None or chat.type == ChatType.CHANNEL:
        return
    try:
        await send_parts(context.bot, chat.id, plain_parts(TEXT_APOLOGY))
    except Exception:  # never let the error handler fail loudly
        log.warning("could not send the apology for update %s", update_id)


__all__ = ["ALLOWED_UPDATES", "RESIDENT_COMMANDS", "TEXT_APOLOGY", "build_application", "configure_bot",
           "on_error", "quiet_http_logs"]
