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
from dataclasses import dataclass

from telegram import BotCommand, BotCommandScopeChat, BotCommandScopeDefault, Update
from telegram.constants import ChatType, UpdateType
from telegram.error import TelegramError
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, ContextTypes

from channels.telegram_handlers import Residents, send_parts
from channels.telegram_render import plain_parts
from channels.telegram_staff import ADMIN_COMMANDS, STAFF_COMMANDS, StaffCommands

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


@dataclass(frozen=True)
class TelegramConfig:
    """What the Telegram channel needs from the settings.

    Attributes:
        token: the bot token (TELEGRAM_BOT_TOKEN).
        base_url: Bot API base URL (TELEGRAM_BASE_URL).
        staff_ids, admin_ids: numeric user ids allowed the staff / admin commands.
        webhook_url, webhook_secret: webhook mode (TELEGRAM_WEBHOOK_URL / _SECRET), or None.
    """

    token: str
    base_url: str = "https://api.telegram.org/bot"
    staff_ids: frozenset[int] = frozenset()
    admin_ids: frozenset[int] = frozenset()
    webhook_url: str | None = None
    webhook_secret: str | None = None


def build_application(conversation, replies, operations, config: TelegramConfig, *, polling: bool = True,
                      post_init=None) -> Application:
    """An Application with every handler registered (not yet initialized).

    Args:
        conversation: a :class:`conversation.core.Conversation`.
        replies: a :class:`channels.replies.Replies`.
        operations: the staff operations object (see :class:`channels.telegram_staff.StaffCommands`).
        config: token, base URL and staff/admin ids.
        polling: False builds it without an Updater (webhook mode feeds ``update_queue``).
        post_init: coroutine ``f(application)`` run by ``run_polling`` after initialization.

    Raises:
        ValueError: no token.
    """
    if not config.token:
        raise ValueError("TELEGRAM_BOT_TOKEN is required")
    quiet_http_logs()
    builder = (ApplicationBuilder().token(config.token).base_url(config.base_url)
               .rate_limiter(AIORateLimiter(max_retries=MAX_RETRIES)).concurrent_updates(True))
    if not polling:
        builder = builder.updater(None)
    if post_init is not None:
        builder = builder.post_init(post_init)
    application = builder.build()
    staff = StaffCommands(operations, staff_ids=config.staff_ids, admin_ids=config.admin_ids)
    residents = Residents(conversation, replies)
    application.add_handlers(staff.handlers())  # before the residents' unknown-command catch-all
    application.add_handlers(residents.handlers())
    application.add_error_handler(on_error)
    return application


def _commands(pairs) -> list[BotCommand]:
    return [BotCommand(name, description) for name, description in pairs]


async def configure_bot(application: Application, config: TelegramConfig) -> None:
    """Publish command menus; a failing scoped menu (chat not found) is logged, not fatal."""
    bot = application.bot
    await bot.set_my_commands(_commands(RESIDENT_COMMANDS), scope=BotCommandScopeDefault())
    admins = config.admin_ids
    for user_id in sorted(config.staff_ids | admins):
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


__all__ = ["ALLOWED_UPDATES", "RESIDENT_COMMANDS", "TEXT_APOLOGY", "TelegramConfig", "build_application", "configure_bot",
           "on_error", "quiet_http_logs"]
