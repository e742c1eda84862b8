"""Staff and admin commands on Telegram, through the same FAQ functions as the CLI.

Authorization happens inside every handler, by the numeric ``effective_user.id`` against
``TELEGRAM_STAFF_IDS`` / ``TELEGRAM_ADMIN_IDS`` (admins are staff too); never by username or
by which command menu a user sees. Messages sent for a chat (anonymous group admins appear
as GroupAnonymousBot, id 1087968824, with ``sender_chat`` set: https://core.telegram.org/bots/api#message)
are refused politely, as are unlisted users. Every action, and every refusal, is audited with
``Service.audit``; FAQ changes also land in the FAQ change history as ``telegram:<user id>``.

Commands (arguments in one message):

* staff: ``/faq_add 问题 | 答案 | 来源`` (``/faq_add_force`` skips the near-duplicate check),
  ``/faq_edit ID 字段 新值``, ``/faq_disable ID``, ``/faq 词``, ``/unanswered [天数]``;
* admins: ``/reindex`` (off the event loop, one at a time), ``/stats``.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from typing import TYPE_CHECKING

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import BaseHandler, CommandHandler, ContextTypes, filters

from channels.telegram_handlers import command_argument, reply_html, reply_plain
from channels.telegram_render import html_parts
from faq.staff import FaqError, NearDuplicate

if TYPE_CHECKING:
    from collections.abc import Iterable

log = logging.getLogger(__name__)

#: User id Telegram shows for anonymous group admins (https://core.telegram.org/bots/api#message).
ANONYMOUS_ADMIN_ID = 1087968824
UNANSWERED_DAYS = 30
LIST_LIMIT = 10

STAFF_COMMANDS = [("faq_add", "新增常见问题：问题 | 答案 | 来源"), ("faq_edit", "修改常见问题：编号 字段 新值"),
                  ("faq_disable", "停用常见问题：编号"), ("faq", "搜索常见问题：关键词"),
                  ("unanswered", "近期没答上来的问题")]
ADMIN_COMMANDS = [("reindex", "重建文章索引"), ("stats", "使用统计")]

TEXT_NOT_STAFF = "抱歉，这个命令只对工作人员开放。如需咨询政策，直接发送问题即可。"
TEXT_NOT_ADMIN = "抱歉，这个命令只对管理员开放。"
TEXT_ANONYMOUS = "匿名管理员或以频道身份发送的消息无法核实身份，请关闭匿名后用个人账号发送。"
TEXT_EDITED = "修改过的命令不会再次执行，请重新发送命令。"
TEXT_ADD_USAGE = "用法：/faq_add 问题 | 答案 | 来源（来源可省略，三部分用竖线 | 分隔）"
TEXT_ADDED = "已添加 {id}：{question}\n居民现在提问即可得到这条答案。"
TEXT_NEAR_DUPLICATE = ("未添加：与已有条目 {id}「{question}」非常相似（相似度 {score:.0f}）。\n"
                       "· 如确需新增，请把命令换成 /faq_add_force 重新发送（其余内容不变）；\n"
                       "· 如只是同一问题的另一种问法，请发送：/faq_edit {id} add_alternates 新问法")
TEXT_EDIT_USAGE = ("用法：/faq_edit 编号 字段 新值\n字段：question（问题）、answer（答案）、source（来源）、"
                   "alternates（全部其他问法，用 | 分隔）、add_alternates（追加问法）；"
                   "/faq_edit 编号 enable 可重新启用已停用的条目。")
TEXT_EDITED_OK = "已更新 {id}。"
TEXT_DISABLE_USAGE = "用法：/faq_disable 编号，例如：/faq_disable F012"
TEXT_DISABLED = "已停用 {id}：{question}\n（可用 /faq_edit {id} enable 恢复）"
TEXT_SEARCH_USAGE = "用法：/faq 关键词，例如：/faq 助学贷款"
TEXT_SEARCH_NONE = "没有找到相关的常见问题。"
TEXT_UNANSWERED_NONE = "近 {days} 天没有未答出的问题。"
TEXT_UNANSWERED_HEAD = "近 {days} 天未答出的问题（按次数排列）："
TEXT_UNANSWERED_FOOT = "可用 /faq_add 为这些问题补充答案。"
TEXT_REINDEX_START = "开始重建索引，期间照常回答问题……"
TEXT_REINDEX_BUSY = "已有一个重建索引任务在运行，请等它完成后再试。"
TEXT_REINDEX_FAILED = "重建索引失败：{error}"
TEXT_ENTRY = "{id}{status}\n问：{question}\n答：{answer}\n来源：{source}"
TEXT_STATUS_DISABLED = "（已停用）"
TEXT_STATS = ("使用统计\n今天：提问 {today} 次，答出 {today_answered} 次\n"
              "近 7 天：提问 {week} 次，答出 {week_answered} 次，答出率 {rate}")
TEXT_TOP = "近 7 天热门问题："
TEXT_TOP_UNANSWERED = "近 7 天未答出的问题："

#: /faq_edit field names (English or Chinese) -> FaqStaff.edit keyword.
EDIT_FIELDS = {"question": "question", "问题": "question", "answer": "answer", "答案": "answer",
               "source": "source", "来源": "source", "alternates": "alternates", "问法": "alternates",
               "add_alternates": "add_alternates", "加问法": "add_alternates", "enable": "enable", "启用": "enable"}
_SEPARATORS = re.compile(r"[|｜]")


def parse_add(text: str) -> tuple[str, str, str]:
    """``问题 | 答案 | 来源`` -> (question, answer, source); the source part is optional and the
    answer may itself contain ``|`` when a source is given (the last part is the source).

    Raises:
        FaqError: fewer than two parts.
    """
    bars = [m.start() for m in _SEPARATORS.finditer(text)]
    if not bars:
        raise FaqError(TEXT_ADD_USAGE)
    first, last = bars[0], bars[-1]
    if first == last:
        return text[:first].strip(), text[first + 1:].strip(), ""
    return text[:first].strip(), text[first + 1:last].strip(), text[last + 1:].strip()


def entry_text(record) -> str:
    """Plain-text view of an FAQ entry for staff."""
    return TEXT_ENTRY.format(id=record.id, status="" if record.status == "active" else TEXT_STATUS_DISABLED,
                             question=record.question, answer=record.answer, source=record.source or "—")


class StaffCommands:
    """Handlers of the staff and admin commands.

    Args:
        operations: the staff operations object the wiring hands in (``faq``, ``audit``,
            ``pseudonym``, ``reindex``, ``usage``; see :class:`ops.operations.Operations`).
        staff_ids, admin_ids: numeric Telegram user ids (admins are staff too).
    """

    def __init__(self, operations, *, staff_ids: Iterable[int], admin_ids: Iterable[int]) -> None:
        self.operations = operations
        self.faq = operations.faq
        self.admin_ids = frozenset(admin_ids)
        self.staff_ids = frozenset(staff_ids) | self.admin_ids
        self._reindexing = False

    def handlers(self) -> list[BaseHandler]:
        staff = {"faq_add": self.faq_add, "faq_add_force": self.faq_add, "faq_edit": self.faq_edit,
                 "faq_disable": self.faq_disable, "faq": self.faq_search, "unanswered": self.unanswered}
        admin = {"reindex": self.reindex, "stats": self.stats}
        handlers = [CommandHandler(name, self._guarded(fn, admin=False), filters=filters.UpdateType.MESSAGES)
                    for name, fn in staff.items()]
        handlers += [CommandHandler(name, self._guarded(fn, admin=True), filters=filters.UpdateType.MESSAGES)
                     for name, fn in admin.items()]
        return handlers

    # ------------------------------------------------------------ authorization
    async def _audit(self, actor: str, action: str, detail: str = "") -> None:
        try:
            await asyncio.to_thread(self.operations.audit, actor, action, detail)
        except Exception:  # an audit failure must not hide the reply
            log.exception("audit write failed")

    def _guarded(self, handler, *, admin: bool):
        async def guarded(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            actor = await self.authorize(update, admin=admin)
            if actor is not None:
                await handler(update, context, actor)
        return guarded

    async def authorize(self, update: Update, *, admin: bool) -> str | None:
        """The actor string ``telegram:<id>`` of an allowed sender, or None after a polite refusal."""
        message = update.effective_message
        if message is None or message.chat.type == ChatType.CHANNEL:
            return None  # channel posts are ignored
        command = (message.text or "").split(maxsplit=1)[0][:64] if message.text else ""
        user = update.effective_user
        if message.sender_chat is not None or user is None or user.id == ANONYMOUS_ADMIN_ID:
            await self._audit(f"telegram:chat:{message.chat_id}", "denied", command)
            await reply_plain(message, TEXT_ANONYMOUS)
            return None
        if user.id not in (self.admin_ids if admin else self.staff_ids):
            pseudonym = self.operations.pseudonym("telegram", user.id)
            await self._audit(f"telegram:unlisted:{pseudonym}", "denied", command)
            await reply_plain(message, TEXT_NOT_ADMIN if admin else TEXT_NOT_STAFF)
            return None
        if update.edited_message is not None:
            await reply_plain(message, TEXT_EDITED)
            return None
        return f"telegram:{user.id}"

    # ------------------------------------------------------------------ staff
    async def faq_add(self, update: Update, context, actor: str) -> None:
        message = update.effective_message
        argument = command_argument(message)
        force = message.text.startswith("/faq_add_force") or argument.startswith("!")
        try:
            question, answer, source = parse_add(argument.removeprefix("!"))
            record = await asyncio.to_thread(self.faq.add, question=question, answer=answer, source=source,
                                             actor=actor, force=force)
        except NearDuplicate as exc:
            await reply_plain(message, TEXT_NEAR_DUPLICATE.format(id=exc.entry.id, question=exc.entry.question,
                                                                  score=exc.score))
            return
        except FaqError as exc:
            await reply_plain(message, str(exc))
            return
        await self._audit(actor, "faq_add", f"{record.id}{' force' if force else ''}")
        await reply_plain(message, TEXT_ADDED.format(id=record.id, question=record.question))

    async def faq_edit(self, update: Update, context, actor: str) -> None:
        message = update.effective_message
        match = re.match(r"\s*(\S+)\s+(\S+)(?:\s+(.*))?\s*$", command_argument(message), re.S)
        field = EDIT_FIELDS.get(match.group(2).lower()) if match else None
        value = (match.group(3) or "").strip() if match else ""
        if field is None or (field != "enable" and not value):
            await reply_plain(message, TEXT_EDIT_USAGE)
            return
        faq_id = match.group(1).upper()
        changes = {"enable": True} if field == "enable" else {field: value}
        try:
            record = await asyncio.to_thread(self.faq.edit, faq_id, actor=actor, **changes)
        except FaqError as exc:
            await reply_plain(message, str(exc))
            return
        await self._audit(actor, "faq_edit", f"{record.id} {field}")
        await reply_plain(message, TEXT_EDITED_OK.format(id=record.id) + "\n" + entry_text(record))

    async def faq_disable(self, update: Update, context, actor: str) -> None:
        message = update.effective_message
        faq_id = command_argument(message).strip().upper()
        if not faq_id or " " in faq_id:
            await reply_plain(message, TEXT_DISABLE_USAGE)
            return
        try:
            record = await asyncio.to_thread(self.faq.disable, faq_id, actor=actor)
        except FaqError as exc:
            await reply_plain(message, str(exc))
            return
        await self._audit(actor, "faq_disable", record.id)
        await reply_plain(message, TEXT_DISABLED.format(id=record.id, question=record.question))

    async def faq_search(self, update: Update, context, actor: str) -> None:
        message = update.effective_message
        words = command_argument(message).strip()
        if not words:
            await reply_plain(message, TEXT_SEARCH_USAGE)
            return
        results = await asyncio.to_thread(self.faq.search, words)
        await self._audit(actor, "faq_search", words[:200])
        if not results:
            await reply_plain(message, TEXT_SEARCH_NONE)
            return
        blocks = []
        for record, score in results:
            status = "" if record.status == "active" else TEXT_STATUS_DISABLED
            blocks += [(record.id, "b"), (f"{status}（{score:.0f}）{record.question}\n", None)]
        await reply_html(message, html_parts(blocks))

    async def unanswered(self, update: Update, context, actor: str) -> None:
        message = update.effective_message
        argument = command_argument(message).strip()
        days = int(argument) if re.fullmatch(r"[0-9]{1,4}", argument) and 0 < int(argument) <= 3650 \
            else UNANSWERED_DAYS
        since = time.strftime("%Y-%m-%d", time.gmtime(time.time() - days * 86400))
        groups = await asyncio.to_thread(self.faq.unanswered, since)
        await self._audit(actor, "unanswered", f"{days}d")
        if not groups:
            await reply_plain(message, TEXT_UNANSWERED_NONE.format(days=days))
            return
        blocks = [(TEXT_UNANSWERED_HEAD.format(days=days) + "\n", None)]
        for i, group in enumerate(groups[:LIST_LIMIT], 1):
            others = f"（另有 {len(group.texts) - 1} 种问法）" if len(group.texts) > 1 else ""
            blocks.append((f"{i}. {group.id} × {group.count}：{group.texts[0]}{others}\n", None))
        blocks.append((TEXT_UNANSWERED_FOOT, None))
        await reply_html(message, html_parts(blocks))

    # ------------------------------------------------------------------ admin
    async def reindex(self, update: Update, context, actor: str) -> None:
        message = update.effective_message
        if self._reindexing:
            await reply_plain(message, TEXT_REINDEX_BUSY)
            return
        self._reindexing = True  # set before the first await: a second /reindex sees it
        try:
            await reply_plain(message, TEXT_REINDEX_START)
            done, summary = await asyncio.to_thread(self.operations.reindex)
        except (OSError, ValueError) as exc:
            await self._audit(actor, "reindex_failed", str(exc)[:200])
            await reply_plain(message, TEXT_REINDEX_FAILED.format(error=exc))
            return
        finally:
            self._reindexing = False
        if not done:
            await reply_plain(message, TEXT_REINDEX_BUSY)
            return
        await self._audit(actor, "reindex", summary)
        await reply_plain(message, summary)

    async def stats(self, update: Update, context, actor: str) -> None:
        message = update.effective_message
        data = await asyncio.to_thread(self.operations.usage)
        await self._audit(actor, "stats")
        rate = data.get("answer_rate_week")
        lines = [TEXT_STATS.format(today=data["today"], today_answered=data["today_answered"], week=data["week"],
                                   week_answered=data["week_answered"],
                                   rate="—" if rate is None else f"{rate:.0%}")]
        for title, rows in ((TEXT_TOP, data.get("top_questions")), (TEXT_TOP_UNANSWERED, data.get("top_unanswered"))):
            if rows:
                lines.append(title)
                lines += [f"{i}. {text}（{count} 次）" for i, (text, count) in enumerate(rows[:LIST_LIMIT], 1)]
        await reply_plain(message, "\n".join(lines))


__all__ = ["ADMIN_COMMANDS", "ANONYMOUS_ADMIN_ID", "STAFF_COMMANDS", "StaffCommands", "parse_add"]
