"""`python bot.py serve [--host H] [--port P] [--db PATH]`: the HTTP server for WeChat, WeCom,
the Telegram webhook and /healthz (see :mod:`app.server`).

Start-up order: configuration is validated first (a bad value stops start-up, exit status 2,
with the variable's name); then jieba, the index and the FAQ matcher are loaded and one
question is answered, so the first resident does not wait; only then does uvicorn (one
worker: the dedupe map and the rate limiter live in this process) accept connections.
uvicorn's access log is off because its request line would carry the OpenID and signatures;
our own log lines carry neither secrets nor message text. Connections are limited
(:mod:`app.http_limits`): headers within 10 s, at most 500 at once, 16 KB of headers.
"""

from __future__ import annotations

import logging
import sys

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
#: Idle keep-alive of client connections, seconds. uvicorn's default (5 s) is shorter than the
#: idle timeout of usual reverse proxies (nginx keepalive_timeout 75 s): a proxy reusing a
#: connection uvicorn just closed gets no response (seen in bench/mixed_load.py).
KEEP_ALIVE_S = 75
#: Answered once before serving, to build the FAQ matcher and warm the caches.
WARM_UP_QUESTION = "宛城区2020年脱贫多少人？"


def _quiet_server_class():
    import contextlib
    import signal

    import uvicorn

    class QuietServer(uvicorn.Server):
        """uvicorn re-raises SIGTERM/SIGINT after a graceful shutdown, so the process would end
        "killed by SIGTERM"; a stop we handled cleanly should exit 0 (service managers and
        scripts read it as success). Our own handlers call the public ``handle_exit`` and do
        not re-raise."""

        @contextlib.contextmanager
        def capture_signals(self):
            previous = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
            try:
                yield
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)

    return QuietServer


def add_commands(sub, add_db) -> None:
    serve = sub.add_parser("serve", help="HTTP server: chat page /, staff console /admin/, /wechat, /wecom, Telegram webhook, /healthz")
    serve.add_argument("--host", default=DEFAULT_HOST, help=f"address to listen on (default {DEFAULT_HOST})")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"TCP port (default {DEFAULT_PORT})")
    add_db(serve)
    serve.set_defaults(handler=cmd_serve)


def _port(value: int) -> int:
    from qa.errors import ConfigError

    if not 0 < value < 65536:
        raise ConfigError("--port", f"must be between 1 and 65535, got {value}")
    return value


def _purge_log(runtime, settings, log) -> None:
    """Retention purge at start-up; a full disk or read-only file only delays it (issue 14:
    residents are answered while the log cannot be written; /healthz shows the failing writes)."""
    import sqlite3

    from qa.store import StoreError
    from qa.store.db import classify_error

    try:
        runtime.operations.purge_log(settings.log_retention_days)
    except (sqlite3.DatabaseError, StoreError) as exc:
        kind = "locked" if isinstance(exc, StoreError) else classify_error(exc)
        if kind not in ("disk_full", "read_only", "locked", "io"):
            raise
        log.warning("question log: retention purge skipped at start-up (%s); serving anyway", kind)


def cmd_serve(args, settings) -> int:
    """Run the server until SIGINT/SIGTERM. Returns the exit status (0 after a clean stop).

    Raises:
        qa.errors.ConfigError: bad configuration (names the variable).
    """
    import uvicorn

    from app.http_limits import MAX_CONNECTIONS, MAX_HEADER_BYTES, HeaderTimeoutH11Protocol
    from app.runtime import open_runtime
    from app.server import build_app, message_cryptos

    _QuietServer = _quiet_server_class()
    port = _port(args.port)
    settings.require_wechat()
    message_cryptos(settings)  # key/id problems stop start-up before the slow part
    logging.basicConfig(level=logging.DEBUG if settings.debug else logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    log = logging.getLogger("app.server")
    if not (settings.wechat_token or settings.wecom_token or settings.telegram_webhook_url):
        log.warning("no messaging channel configured (WECHAT_TOKEN, WECOM_TOKEN, TELEGRAM_WEBHOOK_URL): serving the "
                    "resident chat page /, the staff console /admin/ and /healthz")
    runtime = open_runtime(settings, db_path=args.db)
    try:
        _purge_log(runtime, settings, log)
        app = build_app(runtime, settings)
        runtime.service.answer(WARM_UP_QUESTION)  # builds the FAQ matcher, warms caches
        log.info("ready: /wechat %s, /wecom %s",
                 settings.wechat_mode if settings.wechat_token else "off", "on" if settings.wecom_token else "off")
        config = uvicorn.Config(app, host=args.host, port=port, workers=1, lifespan="on", access_log=False,
                                server_header=False, log_level="debug" if settings.debug else "info",
                                timeout_graceful_shutdown=10, timeout_keep_alive=KEEP_ALIVE_S,
                                http=HeaderTimeoutH11Protocol, limit_concurrency=MAX_CONNECTIONS,
                                h11_max_incomplete_event_size=MAX_HEADER_BYTES)
        server = _QuietServer(config)
        server.run()
        return 0 if server.started else 1
    finally:
        runtime.close()
