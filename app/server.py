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
from starlette.routing import Route

from app.settings import ConfigError, Settings
from channels import wechat_crypto
from channels.wechat import WeChatEndpoint
from channels.wechat_messages import MessageHandler

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
        ConfigError: a key, token or id is unusable; the message names the variable.
    """
    try:
        wechat = wecom = None
        if settings.wechat_token and settings.wechat_aes_key:
            wechat = wechat_crypto.MessageCrypto(settings.wechat_token, settings.wechat_aes_key,
                                                 settings.wechat_app_id or "")
        if settings.wecom_token:
            wecom = wechat_crypto.MessageCrypto(
                settings.wecom_token, settings.wecom_aes_key or "", settings.wecom_corp_id or "",
                token_setting="WECOM_TOKEN", key_setting="WECOM_ENCODING_AES_KEY", app_id_setting="WECOM_CORP_ID")
    except wechat_crypto.ConfigError as exc:
        raise ConfigError(exc.setting, str(exc).split(": ", 1)[-1]) from None
    return wechat, wecom


def _channel_view(endpoint: WeChatEndpoint):
    async def view(request: Request) -> Response:
        reply = await endpoint.handle(request.method, request.query_params, request.headers.get("content-length"),
                                      request.stream())
        return Response(reply.body, status_code=reply.status, media_type=reply.media_type)
    return view


def _healthz_view(runtime, settings: Settings, channels: list[str]):
    def healthz(request: Request) -> JSONResponse:  # sync: Starlette runs it in its thread pool
        try:
            counts = runtime.store.passages.counts()
            index = {"generation": counts.generation, "documents": counts.documents, "sentences": counts.sentences}
            status, code = "ok", 200
        except Exception as exc:  # a broken database is what a health check is for
            log.error("healthz: database unreadable (%s)", type(exc).__name__)
            index, status, code = None, "degraded", 503
        return JSONResponse({"status": status, "version": VERSION, "index": index, "channels": channels},
                            status_code=code)
    return healthz


def build_app(runtime, settings: Settings) -> Starlette:
    """Starlette app serving the configured channels of ``runtime``.

    Args:
        runtime: an :class:`app.runtime.Runtime` (``service``, ``rate_limiter``, ``store``).
        settings: validated settings (tokens, keys, deadline, Telegram webhook URL).

    Raises:
        ConfigError: a WeChat/WeCom key or id is unusable (names the variable).
    """
    wechat_crypto_obj, wecom_crypto_obj = message_cryptos(settings)
    executor = ThreadPoolExecutor(max_workers=ANSWER_WORKERS, thread_name_prefix="answer")
    routes, channels = [], []
    for name, token, crypto in (("wechat", settings.wechat_token, wechat_crypto_obj),
                                ("wecom", settings.wecom_token, wecom_crypto_obj)):
        if not token:
            continue
        handler = MessageHandler(runtime.service, runtime.rate_limiter, channel=name,
                                 deadline_s=settings.answer_deadline_s, executor=executor)
        endpoint = WeChatEndpoint(handler, token=token, crypto=crypto, wecom=name == "wecom")
        routes.append(Route(f"/{name}", _channel_view(endpoint), methods=["GET", "POST"]))
        channels.append(name)
    routes.append(Route("/healthz", _healthz_view(runtime, settings, channels), methods=["GET"]))
    from app.console_wiring import console_routes  # resident chat page and staff console (issue 15)
    routes.extend(console_routes(runtime, settings))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        hook = await _start_telegram(app, runtime, settings, channels)
        try:
            yield
        finally:
            if hook is not None:
                try:
                    await hook.stop()
                except Exception:
                    log.exception("telegram webhook: stop failed")
            executor.shutdown(wait=True)  # late answers finish and are logged for the retry

    return Starlette(routes=routes, lifespan=lifespan)


async def _start_telegram(app: Starlette, runtime, settings: Settings, channels: list[str]):
    """Start the Telegram webhook when configured and route ``hook.route_path`` to it.

    Returns the hook, or None when it is not configured or cannot start (logged; the WeChat
    routes keep serving either way).
    """
    if not settings.telegram_webhook_url:
        return None
    try:
        from channels.telegram_webhook import start_webhook
    except ImportError as exc:
        log.error("telegram webhook: TELEGRAM_WEBHOOK_URL is set but the module cannot be loaded (%s)", exc)
        return None
    try:
        hook = await start_webhook(runtime, settings)
    except Exception:
        log.exception("telegram webhook: start failed; serving without it")
        return None

    async def telegram_view(request: Request) -> Response:
        try:
            return await hook.handle(request)
        except Exception:
            log.exception("telegram webhook: update handling failed")
            return Response(status_code=200)

    app.router.routes.append(Route(hook.route_path, telegram_view, methods=["POST"]))
    channels.append("telegram")
    log.info("telegram webhook: route registered")  # the path may embed a secret: not logged
    return hook
