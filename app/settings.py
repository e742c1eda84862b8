"""Settings: the one place that reads the environment (and ``.env``), validated at start-up.

Every setting is declared once, as data, in :data:`DECLARATIONS` (variable, attribute,
meaning, default, parser). The frozen :class:`Settings` class, its validation, the README's
configuration table (checked by tests/test_docs.py) and ``python bot.py settings`` are all
derived from that table. Every variable is optional unless the command that needs it is run;
a bad value stops start-up with a :class:`~qa.errors.ConfigError` whose message starts with
the variable's name.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, make_dataclass
from pathlib import Path
from typing import Any

from qa.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONTACT = "如需人工帮助，请拨打12345政务服务便民热线，或到所在村（社区）、乡镇（街道）便民服务中心咨询。"
DEFAULT_TELEGRAM_BASE_URL = "https://api.telegram.org/bot"
DEFAULT_WECHAT_API_BASE = "https://api.weixin.qq.com"

#: ``parse(variable, text) -> value``: turns a non-empty raw value into the attribute's value.
Parser = Callable[[str, str], Any]


@dataclass(frozen=True)
class Declaration:
    """One environment variable and the :class:`Settings` attribute it fills.

    Attributes:
        variable: environment variable name (``BOT_RATE_LIMIT``).
        field: attribute of :class:`Settings` (``rate_limit_per_minute``).
        kind: Python type of the attribute (used for the dataclass annotation).
        meaning: one English line for the README and ``bot.py settings``.
        default: the attribute's value when the variable is unset or empty.
        shown_default: how the README shows the default (Markdown).
        parse: parser of a non-empty value; raises ConfigError naming the variable.
        secret: the value is never printed (tokens, keys).
    """

    variable: str
    field: str
    kind: Any
    meaning: str
    default: Any
    shown_default: str
    parse: Parser
    secret: bool = False


# ------------------------------------------------------------------------ parsers
def _path(variable: str, text: str) -> Path:
    path = Path(text)
    return path if path.is_absolute() else ROOT / path


def _text(variable: str, text: str) -> str:
    return text.strip()


def _flag(variable: str, text: str) -> bool:
    value = text.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ConfigError(variable, f"must be 1 or 0 (also true/false, yes/no, on/off), got {text!r}")


def _integer(low: int, high: int) -> Parser:
    def parse(variable: str, text: str) -> int:
        try:
            number = int(text)
        except ValueError:
            raise ConfigError(variable, f"must be a whole number, got {text!r}") from None
        if not low <= number <= high:
            raise ConfigError(variable, f"must be between {low} and {high}, got {number}")
        return number
    return parse


def _number(low: float, high: float) -> Parser:
    def parse(variable: str, text: str) -> float:
        try:
            number = float(text)
        except ValueError:
            raise ConfigError(variable, f"must be a number, got {text!r}") from None
        if not low <= number <= high:  # also refuses nan
            raise ConfigError(variable, f"must be between {low} and {high}, got {number}")
        return number
    return parse


def _matching(pattern: str, problem: str, *, show_value: bool = False) -> Parser:
    """Parser accepting text that fully matches ``pattern``; secrets are never echoed."""
    compiled = re.compile(pattern, re.DOTALL)

    def parse(variable: str, text: str) -> str:
        if not compiled.fullmatch(text):
            raise ConfigError(variable, f"{problem}, got {text!r}" if show_value else problem)
        return text
    return parse


def _user_ids(variable: str, text: str) -> frozenset[int]:
    ids = set()
    for part in text.split(","):
        part = part.strip()
        if not re.fullmatch(r"-?\d{1,20}", part):
            raise ConfigError(variable, f"must be numeric Telegram user ids separated by commas, got {part!r}")
        ids.add(int(part))
    return frozenset(ids)


_AES_KEY = _matching(r"[A-Za-z0-9]{43}", "must be the 43 letters and digits shown in the admin console")
_ANY = _matching(r".+", "must not be empty")

#: WECHAT_MODE values (issue 14): plain accepts unencrypted bodies only, compatible accepts
#: both (WeChat's 兼容模式 while switching), safe refuses every unencrypted body.
WECHAT_MODES = ("plain", "compatible", "safe")


def _choice(allowed: tuple[str, ...]) -> Parser:
    def parse(variable: str, text: str) -> str:
        value = text.strip().lower()
        if value not in allowed:
            raise ConfigError(variable, f"must be one of {', '.join(allowed)}, got {text.strip()[:40]!r}")
        return value
    return parse


# ------------------------------------------------------------------- declarations
#: Every setting, in README order. Add a row here and in README's configuration table.
DECLARATIONS: tuple[Declaration, ...] = (
    Declaration("BOT_DB", "db_path", Path, "SQLite file",
                ROOT / "data/index.db", "`data/index.db`", _path),
    Declaration("BOT_ARTICLES", "articles_dir", Path, "articles directory",
                ROOT / "data/articles", "`data/articles`", _path),
    Declaration("BOT_FAQ_SEED", "faq_seed_dir", Path, "seed FAQ directory (`*.csv`/`*.xlsx` in the import format)",
                ROOT / "data/faq", "`data/faq`", _path),
    Declaration("BOT_CONTACT", "contact", str, "where residents can ask a person",
                DEFAULT_CONTACT, "12345 hotline, village/town service centres", _text),
    Declaration("BOT_HASH_KEY", "hash_key", "str | None", "secret for pseudonymous user ids (≥ 16 characters)",
                None, "random, kept in `<db>.key`", _matching(r".{16,}", "must be at least 16 characters"),
                secret=True),
    Declaration("BOT_LOG_RETENTION_DAYS", "log_retention_days", int,
                "days the question log is kept (purged by `serve`, `telegram` and `purge-log`)",
                180, "180", _integer(1, 3650)),
    Declaration("BOT_RATE_LIMIT", "rate_limit_per_minute", int, "questions per user per minute (Telegram and WeChat)",
                20, "20", _integer(1, 10000)),
    Declaration("BOT_CONTEXT_MINUTES", "context_minutes", int,
                "minutes a conversation's context (follow-ups, numbered picks) is kept after its last message",
                10, "10", _integer(1, 1440)),
    Declaration("BOT_ANSWER_DEADLINE_S", "answer_deadline_s", float, "WeChat answer deadline, seconds (0.5 to 4.5)",
                4.5, "4.5", _number(0.5, 4.5)),
    Declaration("BOT_DEBUG", "debug", bool, "`1` shows tracebacks of failed commands",
                False, "off", _flag),
    Declaration("TELEGRAM_BOT_TOKEN", "telegram_token", "str | None", "bot token from @BotFather",
                None, "required for `telegram`",
                _matching(r"\d{1,20}:[A-Za-z0-9_-]{1,200}", "must look like 123456:ABC-DEF... (from @BotFather)"),
                secret=True),
    Declaration("TELEGRAM_BASE_URL", "telegram_base_url", str, "Bot API base URL (a self-hosted Bot API server)",
                DEFAULT_TELEGRAM_BASE_URL, f"`{DEFAULT_TELEGRAM_BASE_URL}`",
                _matching(r"https?://[^\s/]+.*", "must be an http(s) URL", show_value=True)),
    Declaration("TELEGRAM_ADMIN_IDS", "telegram_admin_ids", frozenset, "numeric user ids of admins, comma-separated",
                frozenset(), "none", _user_ids),
    Declaration("TELEGRAM_STAFF_IDS", "telegram_staff_ids", frozenset, "numeric user ids of staff, comma-separated",
                frozenset(), "none", _user_ids),
    Declaration("TELEGRAM_WEBHOOK_URL", "telegram_webhook_url", "str | None",
                "public https URL of the Telegram webhook (webhook mode inside `serve`)",
                None, "off (long polling)", _matching(r"https?://.+", "must be an https URL", show_value=True)),
    Declaration("TELEGRAM_WEBHOOK_SECRET", "telegram_webhook_secret", "str | None",
                "secret token of the webhook (required with `TELEGRAM_WEBHOOK_URL`)", None, "none",
                _matching(r"[A-Za-z0-9_-]{1,256}", "must be 1-256 characters of A-Z, a-z, 0-9, _ and -"),
                secret=True),
    Declaration("WECHAT_TOKEN", "wechat_token", "str | None", "Official Account token; turns on `/wechat`",
                None, "off", _ANY, secret=True),
    Declaration("WECHAT_ENCODING_AES_KEY", "wechat_aes_key", "str | None",
                "Official Account EncodingAESKey (safe or compatible mode)", None, "none (plaintext mode)",
                _AES_KEY, secret=True),
    Declaration("WECHAT_APP_ID", "wechat_app_id", "str | None",
                "Official Account AppID (required with the AES key or the AppSecret)", None, "none", _ANY),
    Declaration("WECHAT_APP_SECRET", "wechat_app_secret", "str | None",
                "Official Account AppSecret: an answer not ready within the last delivery's window is pushed as a "
                "customer-service message (needs `WECHAT_APP_ID`)", None, "off (such an answer is only logged)",
                _matching(r"[A-Za-z0-9]{16,64}", "must be the AppSecret shown in the admin console (letters and "
                          "digits)"), secret=True),
    Declaration("WECHAT_API_BASE", "wechat_api_base", str, "Official Account API base URL (a stand-in for tests)",
                DEFAULT_WECHAT_API_BASE, f"`{DEFAULT_WECHAT_API_BASE}`",
                _matching(r"https?://[^\s/]+.*", "must be an http(s) URL", show_value=True)),
    Declaration("WECOM_TOKEN", "wecom_token", "str | None", "WeCom app token; turns on `/wecom`",
                None, "off", _ANY, secret=True),
    Declaration("WECOM_ENCODING_AES_KEY", "wecom_aes_key", "str | None",
                "WeCom EncodingAESKey (required with the token)", None, "none", _AES_KEY, secret=True),
    Declaration("WECOM_CORP_ID", "wecom_corp_id", "str | None", "WeCom CorpID (required with the token)",
                None, "none", _ANY),
    Declaration("WECHAT_MODE", "wechat_mode", str,
                "`plain`, `compatible` or `safe`: which POST bodies `/wechat` accepts; checked against the key "
                "at start-up", "plain", "`safe` with `WECHAT_ENCODING_AES_KEY`, else `plain`",
                _choice(WECHAT_MODES)),
    Declaration("WECOM_MODE", "wecom_mode", str,
                "`safe` only: WeCom callbacks are always encrypted, any other value stops start-up",
                "safe", "`safe`", _choice(("safe",))),
)

#: Attributes that are not environment variables: whether BOT_ARTICLES was given, and the
#: bundled text resources and cache directories.
_DERIVED = (("articles_dir_set", bool), ("text_dir", Path), ("cache_dir", Path))


def read_environment(environ: Mapping[str, str] | None = None, *, dotenv: Path | None = None) -> dict[str, str]:
    """The raw variables: ``.env`` (project root unless ``dotenv`` is given; a missing file is
    fine) overlaid with ``environ`` (default ``os.environ``). Values are not validated."""
    env: dict[str, str] = {}
    dotenv_path = dotenv if dotenv is not None else ROOT / ".env"
    if dotenv_path.is_file():
        from dotenv import dotenv_values  # only when there is a file: keeps light commands light

        env.update({k: v for k, v in dotenv_values(dotenv_path).items() if v is not None})
    env.update(os.environ if environ is None else environ)
    return env


class _SettingsMethods:
    """Behaviour of :class:`Settings`; its attributes come from :data:`DECLARATIONS`."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, *, dotenv: Path | None = None):
        """Read the environment, with ``.env`` (project root) filling in unset variables.

        An unset or empty variable takes its declared default.

        Raises:
            ConfigError: a value is malformed (the message names the variable).
        """
        env = read_environment(environ, dotenv=dotenv)
        values: dict[str, Any] = {}
        for item in DECLARATIONS:
            raw = env.get(item.variable) or ""
            values[item.field] = item.parse(item.variable, raw) if raw else item.default
        if not env.get("WECHAT_MODE") and values["wechat_aes_key"]:
            values["wechat_mode"] = "safe"  # a key without a mode means safe mode
        return cls(**values, articles_dir_set=bool(env.get("BOT_ARTICLES")),
                   text_dir=ROOT / "data" / "text", cache_dir=ROOT / "data" / "cache")

    def require_telegram(self) -> None:
        """Raises ConfigError naming the variable when Telegram cannot start."""
        if not self.telegram_token:
            raise ConfigError("TELEGRAM_BOT_TOKEN", "is required for `python bot.py telegram`")
        if self.telegram_webhook_url and not self.telegram_webhook_secret:
            raise ConfigError("TELEGRAM_WEBHOOK_SECRET", "is required when TELEGRAM_WEBHOOK_URL is set")

    def require_wechat(self) -> None:
        """Raises ConfigError naming the variable when the WeChat endpoint is half-configured."""
        if self.wechat_aes_key and not self.wechat_token:
            raise ConfigError("WECHAT_TOKEN", "is required when WECHAT_ENCODING_AES_KEY is set")
        if self.wechat_aes_key and not self.wechat_app_id:
            raise ConfigError("WECHAT_APP_ID", "is required when WECHAT_ENCODING_AES_KEY is set (safe mode)")
        if self.wechat_mode == "plain" and self.wechat_aes_key:
            raise ConfigError("WECHAT_MODE", "is plain but WECHAT_ENCODING_AES_KEY is set: use safe or compatible, "
                              "or remove the key")
        if self.wechat_mode != "plain" and self.wechat_token and not self.wechat_aes_key:
            raise ConfigError("WECHAT_ENCODING_AES_KEY", f"is required when WECHAT_MODE={self.wechat_mode}")
        if self.wechat_app_secret and not self.wechat_app_id:
            raise ConfigError("WECHAT_APP_ID", "is required when WECHAT_APP_SECRET is set (customer-service messages)")
        if self.wecom_token and not (self.wecom_aes_key and self.wecom_corp_id):
            missing = "WECOM_ENCODING_AES_KEY" if not self.wecom_aes_key else "WECOM_CORP_ID"
            raise ConfigError(missing, "is required when WECOM_TOKEN is set (WeCom is always encrypted)")


Settings = make_dataclass(
    "Settings", [(item.field, item.kind) for item in DECLARATIONS] + list(_DERIVED),
    bases=(_SettingsMethods,), frozen=True, namespace={"__module__": __name__})
Settings.__doc__ = """Validated configuration (immutable). Build with :meth:`from_env`.

One attribute per entry of :data:`DECLARATIONS` (its ``field``), plus ``articles_dir_set``
(BOT_ARTICLES was given), ``text_dir`` and ``cache_dir`` (bundled resources, jieba cache)."""


def markdown_table() -> list[str]:
    """The README's configuration table, one Markdown line per row (header first)."""
    lines = ["| variable | meaning | default |", "|---|---|---|"]
    lines += [f"| `{d.variable}` | {d.meaning} | {d.shown_default} |" for d in DECLARATIONS]
    return lines


def describe(settings: Any, env: Mapping[str, str]) -> list[tuple[str, str, str]]:
    """(variable, current value, source) for every declaration; secrets shown as ``(set)``.

    ``env`` is the raw environment the settings were read from (:func:`read_environment`);
    source is ``environment`` when the variable was given, else ``default``.
    """
    rows = []
    for item in DECLARATIONS:
        value = getattr(settings, item.field)
        given = bool(env.get(item.variable))
        if item.secret:
            shown = "(set)" if value else "(unset)"
        elif isinstance(value, frozenset):
            shown = ",".join(str(v) for v in sorted(value)) or "(none)"
        elif value is None:
            shown = "(unset)"
        else:
            shown = str(value)
        rows.append((item.variable, shown, "environment" if given else "default"))
    return rows
