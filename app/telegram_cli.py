"""`python bot.py telegram [--db PATH]`: run the Telegram bot with long polling.

Order of start-up: settings checked (``TELEGRAM_BOT_TOKEN`` etc., errors name the variable),
jieba and the index loaded (``open_runtime``), then the Application built, command menus
published and polling started with an explicit ``allowed_updates`` list. SIGINT and SIGTERM
stop polling, let running handlers finish and exit with status 0.
"""

from __future__ import annotations

import logging
import signal
import sys

log = logging.getLogger("bot.telegram")


def add_commands(sub, add_db) -> None:
    telegram = sub.add_parser("telegram", help="run the Telegram bot (long polling)")
    add_db(telegram)
    telegram.set_defaults(handler=run_telegram)


def _configure_logging(debug: bool) -> None:
    from channels.telegram import quiet_http_logs

    logging.basicConfig(level=logging.DEBUG if debug else logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    quiet_http_logs()  # httpx logs URLs, and Bot API URLs contain the token


def run_telegram(args, settings) -> int:
    """Poll until SIGINT/SIGTERM; returns the exit status (ConfigError propagates to main)."""
    settings.require_telegram()
    _configure_logging(settings.debug)
    from app.runtime import open_runtime
    from app.server import telegram_config
    from channels.telegram import ALLOWED_UPDATES, build_application, configure_bot

    if settings.telegram_webhook_url:
        log.warning("TELEGRAM_WEBHOOK_URL is set: long polling removes the webhook; "
                    "use `python bot.py serve` for webhook mode")
    runtime = open_runtime(settings, db_path=args.db)  # jieba + index before the first update
    config = telegram_config(settings)
    runtime.service.refresh()  # the FAQ matcher is built before the first update, not during it
    runtime.operations.purge_log(settings.log_retention_days)  # retention: at start of long-running commands

    async def post_init(application) -> None:
        await configure_bot(application, config)
        log.info("Telegram bot @%s is polling", application.bot.username)

    try:
        application = build_application(runtime.conversation, runtime.replies, runtime.operations, config,
                                        post_init=post_init)
        application.run_polling(allowed_updates=ALLOWED_UPDATES, stop_signals=(signal.SIGINT, signal.SIGTERM),
                                close_loop=False)
    finally:
        runtime.close()
    log.info("Telegram bot stopped")
    return 0
