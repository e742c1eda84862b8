"""Settings: the one place that reads the environment (and ``.env``), validated at start-up.

Every variable is optional unless the command that needs it is run; a bad value stops
start-up with a :class:`ConfigError` whose message starts with the variable's name.

| variable | meaning | default |
|---|---|---|
| BOT_DB | SQLite file | data/index.db |
| BOT_ARTICLES | articles directory | data/articles |
| BOT_FAQ_SEED | seed FAQ directory | data/faq |
| BOT_CONTACT | where residents can ask a person | 12345 hotline / service centres |
| BOT_HASH_KEY | secret for pseudonymous user ids (>= 16 chars) | generated into ``<db>.key`` |
| BOT_LOG_RETENTION_DAYS | days the question log is kept | 180 |
| BOT_RATE_LIMIT | questions per user per minute | 20 |
| BOT_ANSWER_DEADLINE_S | WeChat answer deadline in seconds | 4.5 |
| BOT_DEBUG | 1 shows tracebacks of failed commands | off |
| TELEGRAM_BOT_TOKEN | bot token from @BotFather | required for `telegram` |
| TELEGRAM_BASE_URL | Bot API base URL (self-hosted server) | https://api.telegram.org/bot |
| TELEGRAM_ADMIN_IDS / TELEGRAM_STAFF_IDS | numeric user ids, comma-separated | none |
| TELEGRAM_WEBHOOK_URL / TELEGRAM_WEBHOOK_SECRET | webhook mode inside `serve` | off |
| WECHAT_TOKEN, WECHAT_ENCODING_AES_KEY, WECHAT_APP_ID | Official Account endpoint | `/wechat` off without a token |
| WECOM_TOKEN, WECOM_ENCODING_AES_KEY, WECOM_CORP_ID | WeCom endpoint | `/wecom` off without a token |
| WECHAT_MODE | plain, compatible or safe (which POST bodies /wechat accepts) | safe with an AES key, else plain |
| WECOM_MODE | safe (WeCom is always encrypted; anything else is refused) | safe |
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dotenv import dotenv_values

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONTACT = "如需人工帮助，请拨打12345政务服务便民热线，或到所在村（社区）、乡镇（街道）便民服务中心咨询。"
DEFAULT_TELEGRAM_BASE_URL = "https://api.telegram.org/bot"


class ConfigError(ValueError):
    """A configuration value is missing or malformed; the message starts with the variable."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable


def _path(env: Mapping[str, str], name: str, default: str) -> Path:
    value = env.get(name) or default
    path = Path(value)
    return path if path.is_absolute() else (ROOT / path)


def _int(env: Mapping[str, str], name: str, default: int, *, low: int, high: int) -> int:
    value = env.get(name)
    if value in (None, ""):
        return default
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(name, f"must be a whole number, got {value!r}") from None
    if not low <= number <= high:
        raise ConfigError(name, f"must be between {low} and {high}, got {number}")
    return number


def _float(env: Mapping[str, str], name: str, default: float, *, low: float, high: float) -> float:
    value = env.get(name)
    if value in (None, ""):
        return default
    try:
        number = float(value)
    except ValueError:
        raise ConfigError(name, f"must be a number, got {value!r}") from None
    if not low <= number <= high:
        raise ConfigError(name, f"must be between {low} and {high}, got {number}")
    return number


def _ids(env: Mapping[str, str], name: str) -> frozenset[int]:
    value = (env.get(name) or "").strip()
    if not value:
        return frozenset()
    ids = set()
    for part in value.split(","):
        part = part.strip()
        if not re.fullmatch(r"-?\d{1,20}", part):
            raise ConfigError(name, f"must be numeric Telegram user ids separated by commas, got {part!r}")
        ids.add(int(part))
    return frozenset(ids)


#: WECHAT_MODE values: which POST bodies /wechat accepts (issue 14). plain: unencrypted only
#: (no AES key); compatible: unencrypted and ``encrypt_type=aes`` (the platform's 兼容模式);
#: safe: ``encrypt_type=aes`` only, so a captured URL signature cannot carry a forged body.
WECHAT_MODES = ("plain", "compatible", "safe")


def _mode(env: Mapping[str, str], name: str, allowed: tuple[str, ...], default: str) -> str:
    value = (env.get(name) or "").strip().lower() or default
    if value not in allowed:
        raise ConfigError(name, f"must be one of {', '.join(allowed)}, got {env.get(name)!r}")
    return value


@dataclass(frozen=True)
class Settings:
    """Validated configuration (immutable). Build with :meth:`from_env`."""

    db_path: Path
    articles_dir: Path
    articles_dir_set: bool
    faq_seed_dir: Path
    text_dir: Path
    cache_dir: Path
    contact: str
    hash_key: str | None
    log_retention_days: int
    rate_limit_per_minute: int
    answer_deadline_s: float
    debug: bool
    telegram_token: str | None
    telegram_base_url: str
    telegram_admin_ids: frozenset[int]
    telegram_staff_ids: frozenset[int]
    telegram_webhook_url: str | None
    telegram_webhook_secret: str | None
    wechat_token: str | None
    wechat_aes_key: str | None
    wechat_app_id: str | None
    wecom_token: str | None
    wecom_aes_key: str | None
    wecom_corp_id: str | None
    wechat_mode: str = "plain"
    wecom_mode: str = "safe"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, *, dotenv: Path | None = None) -> "Settings":
        """Read the environment, with ``.env`` (project root) filling in unset variables.

        Raises:
            ConfigError: a value is malformed (the message names the variable).
        """
        env: dict[str, str] = {}
        dotenv_path = dotenv if dotenv is not None else ROOT / ".env"
        if dotenv_path.is_file():
            env.update({k: v for k, v in dotenv_values(dotenv_path).items() if v is not None})
        env.update(os.environ if environ is None else environ)
        hash_key = env.get("BOT_HASH_KEY") or None
        if hash_key is not None and len(hash_key) < 16:
            raise ConfigError("BOT_HASH_KEY", "must be at least 16 characters")
        base_url = env.get("TELEGRAM_BASE_URL") or DEFAULT_TELEGRAM_BASE_URL
        if not re.match(r"^https?://[^\s/]+", base_url):
            raise ConfigError("TELEGRAM_BASE_URL", f"must be an http(s) URL, got {base_url!r}")
        token = env.get("TELEGRAM_BOT_TOKEN") or None
        if token is not None and not re.fullmatch(r"\d{1,20}:[A-Za-z0-9_-]{1,200}", token):
            raise ConfigError("TELEGRAM_BOT_TOKEN", "must look like 123456:ABC-DEF... (from @BotFather)")
        webhook_url = env.get("TELEGRAM_WEBHOOK_URL") or None
        if webhook_url is not None and not webhook_url.startswith("https://") and not webhook_url.startswith("http://"):
            raise ConfigError("TELEGRAM_WEBHOOK_URL", f"must be an https URL, got {webhook_url!r}")
        secret = env.get("TELEGRAM_WEBHOOK_SECRET") or None
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            raise ConfigError("TELEGRAM_WEBHOOK_SECRET", "must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
        for name in ("WECHAT_ENCODING_AES_KEY", "WECOM_ENCODING_AES_KEY"):
            value = env.get(name) or None
            if value is not None and not re.fullmatch(r"[A-Za-z0-9]{43}", value):
                raise ConfigError(name, "must be the 43 letters and digits shown in the admin console")
        return cls(
            db_path=_path(env, "BOT_DB", "data/index.db"),
            articles_dir=_path(env, "BOT_ARTICLES", "data/articles"),
            articles_dir_set=bool(env.get("BOT_ARTICLES")),
            faq_seed_dir=_path(env, "BOT_FAQ_SEED", "data/faq"),
            text_dir=ROOT / "data" / "text",
            cache_dir=ROOT / "data" / "cache",
            contact=(env.get("BOT_CONTACT") or DEFAULT_CONTACT).strip(),
            hash_key=hash_key,
            log_retention_days=_int(env, "BOT_LOG_RETENTION_DAYS", 180, low=1, high=3650),
            rate_limit_per_minute=_int(env, "BOT_RATE_LIMIT", 20, low=1, high=10000),
            answer_deadline_s=_float(env, "BOT_ANSWER_DEADLINE_S", 4.5, low=0.5, high=4.5),
            debug=(env.get("BOT_DEBUG") or "").strip().lower() in ("1", "true", "yes", "on"),
            telegram_token=token,
            telegram_base_url=base_url,
            telegram_admin_ids=_ids(env, "TELEGRAM_ADMIN_IDS"),
            telegram_staff_ids=_ids(env, "TELEGRAM_STAFF_IDS"),
            telegram_webhook_url=webhook_url,
            telegram_webhook_secret=secret,
            wechat_token=env.get("WECHAT_TOKEN") or None,
            wechat_aes_key=env.get("WECHAT_ENCODING_AES_KEY") or None,
            wechat_app_id=env.get("WECHAT_APP_ID") or None,
            wecom_token=env.get("WECOM_TOKEN") or None,
            wecom_aes_key=env.get("WECOM_ENCODING_AES_KEY") or None,
            wecom_corp_id=env.get("WECOM_CORP_ID") or None,
            wechat_mode=_mode(env, "WECHAT_MODE", WECHAT_MODES, "safe" if env.get("WECHAT_ENCODING_AES_KEY") else "plain"),
            wecom_mode=_mode(env, "WECOM_MODE", ("safe",), "safe"),
        )

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
        if self.wecom_token and not (self.wecom_aes_key and self.wecom_corp_id):
            missing = "WECOM_ENCODING_AES_KEY" if not self.wecom_aes_key else "WECOM_CORP_ID"
            raise ConfigError(missing, "is required when WECOM_TOKEN is set (WeCom is always encrypted)")
