"""The ASGI app of ``python bot.py serve``: ``/wechat``, ``/wecom``, ``/healthz`` and the
Telegram webhook, on Starlette.

Routes exist only for configured channels: ``/wechat`` needs WECHAT_TOKEN, ``/wecom`` needs
WECOM_TOKEN (plus its key and CorpID), the Telegram route needs TELEGRAM_WEBHOOK_URL and the
``channels.telegram_webhook`` module; an unconfigured route is a plain 404. One thread pool
runs the answer path of both WeChat routes (see :class:`channels.wechat_messages.MessageHandler`)
and is shut down, after the late answers are logged, when the server stops.
"""

from __future__ import annotations

import contextlib
import logging
from concurrent.futures import ThreadPoolExecutor

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.middleware import Middleware
from starlette.routing import Route

from app.http_limits import BodyLimits
from app.settings import Settings
from channels import wechat_crypto
from channels.wechat import WeChatEndpoint
from channels.wechat_messages import MessageHandler
from qa.errors import ConfigError

log = logging.getLogger(__name__)

#: Reported by /healthz.
VERSION = "1.0"
#: Worker threads of the answer path. Answers are CPU-bound Python under one GIL, and extra
#: threads only add GIL hand-offs: measured with bench/wechat_load.py (raw client, 50 clients,
#: 2-core box) the server spent 3.6 ms CPU per request with 1 worker, 5.1 ms with 2 and
#: 5.7-6.2 ms with 4 (270 vs 210 vs 180-195 requests/s). SQLite writes serialise on one lock
#: anyway, so more workers would not ride out a long write lock either; the deadline does.
ANSWER_WORKERS = 1


def message_cryptos(settings: Settings) -> tuple[wechat_crypto.MessageCrypto | None,
                                                wechat_crypto.MessageCrypto | None]:
    """The Official Account and WeCom crypto objects the settings call for (None when off).

    Raises:
        qa.errors.ConfigError: a key, token or id is unusable; the message names the variable.
    """
    wechat = wecom = None
    if settings.wechat_token and settings.wechat_aes_key:
        wechat = wechat_crypto.MessageCrypto(settings.wechat_token, settings.wechat_aes_key,
                                             settings.wechat_app_id or "")
    if settings.wecom_token:
        wecom = wechat_crypto.MessageCrypto(
            settings.wecom_token, settings.wecom_aes_key or "", settings.wecom_corp_id or "",
            token_setting="WECOM_TOKEN", key_setting="WECOM_ENCODING_AES_KEY", app_id_setting="WECOM_CORP_ID")
    return wechat, wecom


def wechat_late_push(settings: Settings):
    """The customer-service push of late Official Account answers (a
    :class:`channels.wechat_push.LatePush`), or None without WECHAT_APP_SECRET."""
    if not (settings.wechat_token and settings.wechat_app_secret and settings.wechat_app_id):
        return None
    from channels.wechat_push import CustomerServicePush, LatePush

    return LatePush(CustomerServicePush(settings.wechat_app_id, settings.wechat_app_secret,
                                        base_url=settings.wechat_api_base))


def telegram_config(settings: Settings):
    """The Telegram channel's part of the settings."""
    from channels.telegram import TelegramConfig

    return TelegramConfig(token=settings.telegram_token or "", base_url=settings.telegram_base_url,
                          staff_ids=frozenset(settings.telegram_staff_ids),
                          admin_ids=frozenset(settings.telegram_admin_ids),
                          webhook_url=settings.telegram_webhook_url, webhook_secret=settings.telegram_webhook_secret)


def _channel_view(endpoint: WeChatEndpoint):
    async def view(request: Request) -> Response:
        reply = await endpoint.handle(request.method, request.query_params, request.headers.get("content-length"),
                                      request.stream())
        return Response(reply.body, status_code=reply.status, media_type=reply.media_type,
                        headers={"X-Content-Type-Options": "nosniff"})  # echostr is echoed (issue 14)
    return view


def _healthz_view(runtime, channels: list[str]):
    def healthz(request: Request) -> JSONResponse:  # sync: Starlette runs it in its thread pool
        log_health = runtime.conversation.health()
        try:
            counts = runtime.store.passages.counts()
            index = {"generation": counts.generation, "documents": counts.documents, "sentences": counts.sentences}
            status, code = "ok", 200
        except Exception as exc:  # a broken database is what a health check is for
            log.error("healthz: database unreadable (%s)", type(exc).__name__)
            index, status, code = None, "degraded", 503
        if log_health["failing"] and status == "ok":
            status = "degraded"  # answers still flow; the question log is not being written
        return JSONResponse({"status": status, "version": VERSION, "index": index, "channels": channels,
                             "question_log": log_health}, status_code=code)
    return healthz


def _telegram_view(hook):
    async def telegram_view(request: Request) -> Response:
        try:
            return await hook.handle(request)
        except Exception:
            log.exception("telegram webhook: update handling failed")
            return Response(status_code=200)
    return telegram_view


def build_app(runtime, settings: Settings) -> Starlette:
    """Starlette app serving the configured channels of ``runtime``: every route is declared
    here, up front; the Telegram Application (webhook mode) is built here and started and
    stopped in the lifespan.

    Args:
        runtime: an :class:`app.runtime.Runtime` (``conversation``, ``replies``, ``operations``,
            ``store``).
        settings: validated settings (tokens, keys, deadline, Telegram webhook URL).

    Raises:
        qa.errors.ConfigError: a WeChat/WeCom key or id is unusable (names the variable).
    """
    wechat_crypto_obj, wecom_crypto_obj = message_cryptos(settings)
    executor = ThreadPoolExecutor(max_workers=ANSWER_WORKERS, thread_name_prefix="answer")
    routes, channels = [], []
    late_push = wechat_late_push(settings)
    for name, token, crypto in (("wechat", settings.wechat_token, wechat_crypto_obj),
                                ("wecom", settings.wecom_token, wecom_crypto_obj)):
        if not token:
            continue
        handler = MessageHandler(runtime.conversation, runtime.replies, channel=name,
                                 deadline_s=settings.answer_deadline_s, executor=executor,
                                 late_push=late_push if name == "wechat" else None)
        mode = settings.wechat_mode if name == "wechat" else settings.wecom_mode
        try:
            endpoint = WeChatEndpoint(handler, token=token, crypto=crypto, wecom=name == "wecom", mode=mode)
        except ValueError as exc:
            raise ConfigError(f"{name.upper()}_MODE", str(exc)) from None
        routes.append(Route(f"/{name}", _channel_view(endpoint), methods=["GET", "POST"]))
        channels.append(name)
    hook = None
    if settings.telegram_webhook_url:
        from channels.telegram import build_application
        from channels.telegram_webhook import webhook_for

        config = telegram_config(settings)
        application = build_application(runtime.conversation, runtime.replies, runtime.operations, config,
                                        polling=False)
        hook = webhook_for(application, config)
        routes.append(Route(hook.route_path, _telegram_view(hook), methods=["POST"]))
        channels.append("telegram")
    routes.append(Route("/healthz", _healthz_view(runtime, channels), methods=["GET"]))
    from app.console_wiring import console_routes  # resident chat page and staff console (issue 15)
    routes.extend(console_routes(runtime, settings))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        if hook is not None:
            try:
                await hook.start(config)
                log.info("telegram webhook: started")  # the path may embed a secret: not logged
            except Exception:
                log.exception("telegram webhook: start failed; the route answers 503")
        try:
            yield
        finally:
            if hook is not None:
                try:
                    await hook.stop()
                except Exception:
                    log.exception("telegram webhook: stop failed")
            executor.shutdown(wait=True)  # late answers finish; their log rows are queued
            if late_push is not None:
                await late_push.drain()  # late answers still being pushed

    return Starlette(routes=routes, lifespan=lifespan, middleware=[Middleware(BodyLimits)])
