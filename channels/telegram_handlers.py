"""Resident-facing Telegram handlers: questions, /start and /help, buttons, media hints.

Thin by design (DESIGN.md): take the text out of the update, call ``Conversation.ask`` off the
event loop (``asyncio.to_thread``: jieba and SQLite are blocking), render with
:mod:`channels.telegram_render`, send. No ranking, thresholds or text rules live here.

Where the bot answers (Bot API update and chat types: https://core.telegram.org/bots/api#update):

* private chats: every text message (and edit), a media caption; stickers, photos, voice and
  other media without a caption get :data:`TEXT_MEDIA_HINT`;
* groups: only ``/ask 问题`` (PTB's CommandHandler drops ``/ask@OtherBot``), replies to the
  bot's messages and messages that mention the bot (the mention is stripped first);
* channel posts never reach a handler (filters ``UpdateType.MESSAGES``) and are ignored.

Callback data (at most 64 bytes): ``faq:<FAQ id>`` answers that FAQ entry, ``ex:<n>`` asks
example question n of :data:`qa.smalltalk.EXAMPLES`, ``fb:<question id>:<1|0>`` records 👍/👎.
Every callback query is answered.
"""

from __future__ import annotations

import asyncio
import re
import contextlib
import logging
from typing import TYPE_CHECKING

from telegram import InlineKeyboardMarkup, LinkPreviewOptions, Message, ReplyParameters, Update
from telegram.constants import ChatAction, ChatType, MessageEntityType, ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, ContextTypes, MessageHandler, filters

from channels.telegram_render import (
    plain_parts,
    render_answer,
    suggestion_buttons,
    without_feedback,
)
from channels.replies import Replies
from qa import smalltalk
from qa.answer import Answer

if TYPE_CHECKING:
    from telegram import Bot

    from conversation.core import Conversation, Turn

log = logging.getLogger(__name__)

CHANNEL = "telegram"
_EXAMPLE_LINES = "\n".join(f"· {q}" for q in smalltalk.EXAMPLES)
TEXT_HELP = ("您好！我是宛城区政策问答助手。回答都摘自区里发布的文章和常见问题，并注明出处；"
             "找不到答案时会直说，并告诉您可以问谁。\n\n直接发送您的问题即可，例如：\n" + _EXAMPLE_LINES +
             "\n\n在群里：发送“/ask 问题”，或@我提问，或回复我的消息。\n点下方按钮可以直接试一试。")
TEXT_MEDIA_HINT = "我目前只能看懂文字消息。请用文字写下您的问题，例如：“" + smalltalk.EXAMPLES[0] + "”"
TEXT_ASK_USAGE = "请把问题写在命令后面，例如：/ask " + smalltalk.EXAMPLES[0]
TEXT_MENTION_EMPTY = "请在@我的同时写上您的问题，例如：" + smalltalk.EXAMPLES[0]
TEXT_UNKNOWN_COMMAND = "没有这个命令。直接发送您的问题即可；发送 /help 查看使用说明。"
TEXT_FEEDBACK_THANKS = "感谢您的反馈！"
TEXT_FEEDBACK_GONE = "这条提问记录已过期，或不是您提的问题，无法记录反馈。"
TEXT_BUTTON_EXPIRED = "这个按钮已失效，请直接输入您的问题。"
TEXT_FAQ_GONE = "这条常见问题已停用或不存在，请直接输入您的问题。"

NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


def user_key(user_id: int) -> str:
    """Rate-limit key of a Telegram user (``telegram:<numeric id>``)."""
    return f"{CHANNEL}:{user_id}"


def thread_of(message: Message | None) -> int | None:
    """Forum topic to answer in (None outside forum topics)."""
    return message.message_thread_id if message is not None and message.is_topic_message else None


async def send_parts(bot: Bot, chat_id: int, parts: list[str], *, markup: InlineKeyboardMarkup | None = None,
                     reply_to: int | None = None, thread_id: int | None = None) -> None:
    """Send HTML parts in order; the keyboard goes on the last part, the quote on the first."""
    for index, part in enumerate(parts):
        await bot.send_message(
            chat_id, part, parse_mode=ParseMode.HTML, link_preview_options=NO_PREVIEW,
            reply_markup=markup if index == len(parts) - 1 else None, message_thread_id=thread_id,
            reply_parameters=(ReplyParameters(reply_to, allow_sending_without_reply=True)
                              if reply_to is not None and index == 0 else None))


async def reply_html(message: Message, parts: list[str], markup: InlineKeyboardMarkup | None = None) -> None:
    """Answer ``message`` in its chat (quoting it in groups) with pre-rendered HTML parts."""
    quote = message.message_id if message.chat.type != ChatType.PRIVATE else None
    await send_parts(message.get_bot(), message.chat_id, parts, markup=markup, reply_to=quote,
                     thread_id=thread_of(message))


async def reply_plain(message: Message, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    """Escape, split and send a plain text reply."""
    await reply_html(message, plain_parts(text), markup)


def command_argument(message: Message, text: str | None = None) -> str:
    """The text after the leading ``/command`` (or ``/command@bot``) of ``message`` (or of
    ``text``, a version of the message text with the same command prefix)."""
    text = (message.text or "") if text is None else text
    for entity in message.entities:
        if entity.type == MessageEntityType.BOT_COMMAND and entity.offset == 0:
            return text[entity.length:]  # commands are ASCII: UTF-16 units == code points
    return text.partition(" ")[2]


def strip_bot_mentions(text: str, entities, username: str | None, bot_id: int) -> tuple[str, bool]:
    """Remove mentions of this bot (``@username`` or a text_mention) from ``text``.

    Entity offsets are UTF-16 code units (https://core.telegram.org/bots/api#messageentity).
    Returns (text without the mentions, whether the bot was mentioned).
    """
    encoded = text.encode("utf-16-le", "surrogatepass")  # a broken client may send lone surrogates
    spans = []
    for entity in entities or ():
        start, end = entity.offset * 2, (entity.offset + entity.length) * 2
        if entity.type == MessageEntityType.MENTION and username:
            name = encoded[start:end].decode("utf-16-le", errors="ignore")
            if name.lstrip("@").lower() == username.lower():
                spans.append((start, end))
        elif entity.type == MessageEntityType.TEXT_MENTION and entity.user and entity.user.id == bot_id:
            spans.append((start, end))
    if not spans:
        return text, False
    kept, position = [], 0
    for start, end in sorted(spans):
        if start >= position:
            kept.append(encoded[position:start])
            position = end
    kept.append(encoded[position:])
    return b"".join(kept).decode("utf-16-le", errors="ignore"), True


class Residents:
    """Handlers for residents.

    Args:
        conversation: answers, rate limits, logs and records feedback.
        replies: the plain-text renderer (the HTML renderer builds on it).
    """

    def __init__(self, conversation: Conversation, replies: Replies) -> None:
        self.conversation, self.replies = conversation, replies

    def handlers(self) -> list[BaseHandler]:
        messages = filters.UpdateType.MESSAGES
        private = filters.ChatType.PRIVATE & messages
        groups = filters.ChatType.GROUPS & messages
        return [
            CommandHandler(["start", "help"], self.on_help, filters=messages),
            CommandHandler("ask", self.on_ask, filters=messages),
            MessageHandler(private & filters.TEXT & ~filters.COMMAND, self.on_private_text),
            MessageHandler(private & filters.CAPTION, self.on_caption),
            MessageHandler(private & filters.COMMAND, self.on_unknown_command),
            MessageHandler(private & filters.ATTACHMENT, self.on_media),
            MessageHandler(groups & (filters.TEXT | filters.CAPTION) & ~filters.COMMAND, self.on_group_message),
            CallbackQueryHandler(self.on_callback),
        ]

    # ---------------------------------------------------------------- messages
    async def on_help(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        rows = suggestion_buttons(list(smalltalk.EXAMPLES), [f"ex:{i}" for i in range(len(smalltalk.EXAMPLES))])
        await reply_plain(update.effective_message, TEXT_HELP, InlineKeyboardMarkup(rows))

    async def on_ask(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        # mentions come after the command entity, so the command keeps its length when stripped
        stripped, _ = strip_bot_mentions(message.text or "", message.entities, context.bot.username, context.bot.id)
        text = command_argument(message, stripped)
        if not text.strip():
            await reply_plain(message, TEXT_ASK_USAGE)
            return
        await self.answer_message(update, text)

    async def on_private_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self.answer_message(update, update.effective_message.text)

    async def on_caption(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self.answer_message(update, update.effective_message.caption)

    async def on_unknown_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await reply_plain(update.effective_message, TEXT_UNKNOWN_COMMAND)

    async def on_media(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await reply_plain(update.effective_message, TEXT_MEDIA_HINT)

    async def on_group_message(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        text = message.text if message.text is not None else message.caption or ""
        entities = message.entities if message.text is not None else message.caption_entities
        stripped, mentioned = strip_bot_mentions(text, entities, context.bot.username, context.bot.id)
        replied = message.reply_to_message
        to_bot = bool(replied and replied.from_user and replied.from_user.id == context.bot.id)
        if not (mentioned or to_bot):
            return  # ordinary group chatter
        if not stripped.strip():
            await reply_plain(message, TEXT_MENTION_EMPTY)
            return
        await self.answer_message(update, stripped)

    async def answer_message(self, update: Update, text: str) -> None:
        """Answer ``text`` from the update's sender in the update's chat."""
        message = update.effective_message
        sender = update.effective_user.id if update.effective_user else message.chat_id
        quote = message.message_id if message.chat.type != ChatType.PRIVATE else None
        await self.answer(message.get_bot(), message.chat_id, sender, text, reply_to=quote,
                          thread_id=thread_of(message))

    async def answer(self, bot: Bot, chat_id: int, sender: int, text: str, *, reply_to: int | None = None,
                     thread_id: int | None = None, rate_limit: bool = True) -> Answer | None:
        """Rate-limit, show typing, answer off the event loop, send. Returns the answer sent."""
        if rate_limit and not self.conversation.rate_limiter.allow(user_key(sender)):
            await send_parts(bot, chat_id, plain_parts(self.conversation.text_limit_message), reply_to=reply_to,
                             thread_id=thread_id)
            return None
        with contextlib.suppress(TelegramError):
            await bot.send_chat_action(chat_id, ChatAction.TYPING, message_thread_id=thread_id)
        # one context per user per chat: in a group each member continues their own thread
        turn = await asyncio.to_thread(self.conversation.ask, CHANNEL, sender, text, render=self.replies.text,
                                       rate_limit=False, scope=f"{CHANNEL}:{chat_id}")
        await self.send_turn(bot, chat_id, turn, reply_to=reply_to, thread_id=thread_id)
        return turn.answer

    async def send_turn(self, bot: Bot, chat_id: int, turn: Turn, *, reply_to: int | None = None,
                        thread_id: int | None = None) -> None:
        if turn.answer is None:
            await send_parts(bot, chat_id, plain_parts(turn.reply), reply_to=reply_to, thread_id=thread_id)
            return
        parts, markup = render_answer(turn.answer, self.replies, turn.question_id)
        await send_parts(bot, chat_id, parts, markup=markup, reply_to=reply_to, thread_id=thread_id)

    # ---------------------------------------------------------------- buttons
    async def on_callback(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        data = query.data or ""
        kind, _, rest = data.partition(":")
        if kind == "fb":
            await self._feedback(update, rest)
            return
        question = None
        faq_id = None
        if kind == "ex" and _ASCII_NUMBER.fullmatch(rest) and int(rest) < len(smalltalk.EXAMPLES):
            question = smalltalk.EXAMPLES[int(rest)]
        elif kind == "faq" and rest:
            faq_id = rest
        else:
            await _answer_query(query, TEXT_BUTTON_EXPIRED)
            return
        if not self.conversation.rate_limiter.allow(user_key(query.from_user.id)):
            await _answer_query(query, self.conversation.text_limit_message, alert=True)
            return
        await _answer_query(query)
        message = query.message if query.message is not None and query.message.is_accessible else None
        chat_id = message.chat_id if message is not None else query.from_user.id
        thread_id = thread_of(message)
        bot = context.bot
        if faq_id is not None:
            await self._answer_faq(bot, chat_id, query.from_user.id, faq_id, thread_id)
            return
        await self.answer(bot, chat_id, query.from_user.id, question, thread_id=thread_id, rate_limit=False)

    async def _answer_faq(self, bot: Bot, chat_id: int, sender: int, faq_id: str, thread_id: int | None) -> None:
        """Answer FAQ entry ``faq_id`` directly (logged, with 👍/👎)."""
        turn = await asyncio.to_thread(self.conversation.ask_entry, CHANNEL, sender, faq_id, render=self.replies.text,
                                       scope=f"{CHANNEL}:{chat_id}")
        if turn is None:
            await send_parts(bot, chat_id, plain_parts(TEXT_FAQ_GONE), thread_id=thread_id)
            return
        await self.send_turn(bot, chat_id, turn, thread_id=thread_id)

    async def _feedback(self, update: Update, rest: str) -> None:
        query = update.callback_query
        question_id, _, value = rest.partition(":")
        if not _ASCII_NUMBER.fullmatch(question_id) or value not in ("0", "1"):
            await _answer_query(query, TEXT_BUTTON_EXPIRED)
            return
        recorded = await asyncio.to_thread(self.conversation.feedback, int(question_id), value == "1",
                                           channel=CHANNEL, user=query.from_user.id)
        await _answer_query(query, TEXT_FEEDBACK_THANKS if recorded else TEXT_FEEDBACK_GONE)
        message = query.message
        if recorded and message is not None and message.is_accessible:
            with contextlib.suppress(BadRequest):  # e.g. already edited by a second press
                await message.edit_reply_markup(without_feedback(message.reply_markup))


#: Button data numbers: ASCII digits that fit SQLite's 64-bit integers ('²'.isdigit() is True).
_ASCII_NUMBER = re.compile(r"[0-9]{1,18}")


async def _answer_query(query, text: str | None = None, *, alert: bool = False) -> None:
    """answerCallbackQuery, ignoring queries that are too old (text: 0-200 characters)."""
    with contextlib.suppress(BadRequest):
        await query.answer(text[:200] if text else None, show_alert=alert)


__all__ = ["Residents", "send_parts", "reply_html", "reply_plain", "command_argument", "strip_bot_mentions",
           "plain_parts", "TEXT_HELP", "TEXT_MEDIA_HINT", "TEXT_ASK_USAGE", "NO_PREVIEW"]
