"""Telegram webhook mode: the bot's Application behind one route of the ASGI server.

``app/server.py`` (``python bot.py serve``) builds the Application and :func:`webhook_for` up
front when ``TELEGRAM_WEBHOOK_URL`` is set, declares ``POST <route_path>`` on
:meth:`TelegramWebhook.handle`, and starts/stops it in the server's lifespan (the pattern of
PTB's ``examples/customwebhookbot/starlettebot.py``).

Request handling (https://core.telegram.org/bots/api#setwebhook):

* Telegram sends the ``secret_token`` given to ``setWebhook`` in the
  ``X-Telegram-Bot-Api-Secret-Token`` header; it is compared in constant time
  (``hmac.compare_digest``) and any other request gets 403 with an empty body.
* The body is one JSON Update. An ``update_id`` seen recently is acknowledged and dropped
  (Telegram redelivers when a reply is slow or lost).
* The update is put on the Application's queue and 200 returned at once; handlers run in the
  background, so Telegram never waits for an answer to be computed.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
from collections import OrderedDict
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response
from telegram import Update
from telegram.ext import Application

from channels.telegram import ALLOWED_UPDATES, TelegramConfig, configure_bot

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
#: update_ids remembered for duplicate detection (a few minutes of traffic of a busy bot).
SEEN_UPDATES = 10_000
#: Largest request body accepted, in bytes (updates are a few KB; this bounds memory).
MAX_BODY_BYTES = 1_000_000


class TelegramWebhook:
    """One running Application fed by HTTP requests. Build with :func:`webhook_for`."""

    def __init__(self, application: Application, *, secret: str, route_path: str) -> None:
        if not secret:
            raise ValueError("TELEGRAM_WEBHOOK_SECRET is required in webhook mode")
        self.application = application
        self.route_path = route_path
        self._secret = secret.encode()
        self._seen: OrderedDict[int, None] = OrderedDict()

    def _duplicate(self, update_id: int) -> bool:
        """Remember ``update_id``; True if it was already seen."""
        if update_id in self._seen:
            self._seen.move_to_end(update_id)
            return True
        self._seen[update_id] = None
        if len(self._seen) > SEEN_UPDATES:
            self._seen.popitem(last=False)
        return False

    async def handle(self, request: Request) -> Response:
        """Check the secret, decode, de-duplicate and queue one update.

        Returns 403 (wrong or missing secret), 413 (body over 1 MB), 400 (not a JSON update
        object) or 200 (queued, duplicate, or an update PTB cannot decode, which is logged:
        Telegram would only redeliver it). Never 5xx.
        """
        given = request.headers.get(SECRET_HEADER, "").encode("utf-8", "replace")
        if not hmac.compare_digest(given, self._secret):
            return Response(status_code=403)
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            return Response(status_code=413)
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):  # deeply nested JSON exhausts the parser's stack (issue 14)
            return Response(status_code=400)
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            return Response(status_code=400)
        if not self.application.running:
            return Response(status_code=503)  # Telegram retries later
        if self._duplicate(data["update_id"]):
            return Response(status_code=200)
        try:
            update = Update.de_json(data, self.application.bot)
        except Exception:  # malformed by PTB's reading: acknowledge, do not loop on retries
            log.warning("could not decode update %s", data["update_id"], exc_info=True)
            return Response(status_code=200)
        await self.application.update_queue.put(update)
        return Response(status_code=200)

    async def stop(self) -> None:
        """Finish queued updates and shut the Application down (the webhook stays registered)."""
        if self.application.running:
            await self.application.stop()
        with contextlib.suppress(RuntimeError):  # never initialized (start failed)
            await self.application.shutdown()


    @property
    def running(self) -> bool:
        return self.application.running

    async def start(self, config: TelegramConfig) -> None:
        """Initialize and start the Application, publish menus and register the webhook
        (``setWebhook(url, secret_token=..., allowed_updates=ALLOWED_UPDATES)``).

        Raises:
            telegram.error.TelegramError: the Bot API refused the token or the webhook.
        """
        await self.application.initialize()
        try:
            await configure_bot(self.application, config)
            await self.application.bot.set_webhook(config.webhook_url, secret_token=config.webhook_secret,
                                                   allowed_updates=ALLOWED_UPDATES)
            await self.application.start()
        except BaseException:
            await self.application.shutdown()
            raise


def webhook_for(application: Application, config: TelegramConfig) -> TelegramWebhook:
    """The webhook endpoint of ``application`` (built with ``polling=False``), not yet started.

    Raises:
        ValueError: TELEGRAM_WEBHOOK_URL or TELEGRAM_WEBHOOK_SECRET missing.
    """
    if not config.webhook_url:
        raise ValueError("TELEGRAM_WEBHOOK_URL is required in webhook mode")
    if not config.webhook_secret:
        raise ValueError("TELEGRAM_WEBHOOK_SECRET is required in webhook mode")
    return TelegramWebhook(application, secret=config.webhook_secret, route_path=urlsplit(config.webhook_url).path or "/")


__all__ = ["SECRET_HEADER", "TelegramWebhook", "webhook_for"]
