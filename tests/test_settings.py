"""app.settings: the declarations, validation naming the variable, secrets never echoed."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from app.settings import DECLARATIONS, ROOT, Settings
from qa.errors import ConfigError

NO_DOTENV = Path("/nonexistent/.env")


def load(**env: str) -> Settings:
    return Settings.from_env(environ=env, dotenv=NO_DOTENV)


def test_defaults_are_the_declared_defaults_and_settings_are_frozen():
    settings = load()
    for item in DECLARATIONS:
        assert getattr(settings, item.field) == item.default, item.variable
    assert settings.db_path == ROOT / "data" / "index.db" and not settings.articles_dir_set
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.rate_limit_per_minute = 1
    assert {f.name for f in dataclasses.fields(Settings)} == {d.field for d in DECLARATIONS} | {
        "articles_dir_set", "text_dir", "cache_dir"}


def test_values_are_parsed(tmp_path):
    settings = load(BOT_DB=str(tmp_path / "x.db"), BOT_ARTICLES="elsewhere", BOT_RATE_LIMIT="7",
                    BOT_ANSWER_DEADLINE_S="2.5", BOT_DEBUG="yes", TELEGRAM_ADMIN_IDS=" 1, -2 ,3",
                    BOT_CONTACT="  打电话  ", TELEGRAM_BOT_TOKEN="123:abc-DEF_4")
    assert settings.db_path == tmp_path / "x.db" and settings.articles_dir == ROOT / "elsewhere"
    assert settings.articles_dir_set and settings.rate_limit_per_minute == 7 and settings.answer_deadline_s == 2.5
    assert settings.debug is True and settings.telegram_admin_ids == frozenset({1, -2, 3})
    assert settings.contact == "打电话" and settings.telegram_token == "123:abc-DEF_4"
    assert load(BOT_DEBUG="0").debug is False and load(BOT_RATE_LIMIT="").rate_limit_per_minute == 20


@pytest.mark.parametrize("variable, value", [
    ("BOT_RATE_LIMIT", "zero"), ("BOT_RATE_LIMIT", "0"), ("BOT_LOG_RETENTION_DAYS", "99999"),
    ("BOT_ANSWER_DEADLINE_S", "nan"), ("BOT_ANSWER_DEADLINE_S", "5"), ("BOT_DEBUG", "maybe"),
    ("TELEGRAM_ADMIN_IDS", "1,alice"), ("TELEGRAM_STAFF_IDS", "1,,2"), ("TELEGRAM_BASE_URL", "ftp://x"),
    ("TELEGRAM_WEBHOOK_URL", "example.org/hook"), ("WECOM_ENCODING_AES_KEY", "x" * 42),
])
def test_a_bad_value_names_the_variable(variable, value):
    with pytest.raises(ConfigError) as info:
        load(**{variable: value})
    assert info.value.variable == variable and str(info.value).startswith(f"{variable}: ")


@pytest.mark.parametrize("variable, value", [
    ("BOT_HASH_KEY", "short-secret"), ("TELEGRAM_BOT_TOKEN", "not-a-token-secret"),
    ("TELEGRAM_WEBHOOK_SECRET", "bad secret!"), ("WECHAT_ENCODING_AES_KEY", "secretkey"),
])
def test_errors_about_secrets_do_not_echo_them(variable, value):
    with pytest.raises(ConfigError) as info:
        load(**{variable: value})
    assert info.value.variable == variable and value not in str(info.value)


def test_dotenv_fills_in_and_the_environment_wins(tmp_path):
    dotenv = tmp_path / ".env"
    dotenv.write_text("BOT_RATE_LIMIT=9\nBOT_LOG_RETENTION_DAYS=30\n", encoding="utf-8")
    settings = Settings.from_env(environ={"BOT_RATE_LIMIT": "11"}, dotenv=dotenv)
    assert settings.rate_limit_per_minute == 11 and settings.log_retention_days == 30


def test_cross_field_requirements_name_the_missing_variable():
    with pytest.raises(ConfigError, match="^TELEGRAM_BOT_TOKEN: "):
        load().require_telegram()
    with pytest.raises(ConfigError, match="^TELEGRAM_WEBHOOK_SECRET: "):
        load(TELEGRAM_BOT_TOKEN="1:a", TELEGRAM_WEBHOOK_URL="https://x/hook").require_telegram()
    with pytest.raises(ConfigError, match="^WECOM_CORP_ID: "):
        load(WECOM_TOKEN="t", WECOM_ENCODING_AES_KEY="a" * 43).require_wechat()


def test_declarations_are_unique_and_documented():
    assert len({d.variable for d in DECLARATIONS}) == len({d.field for d in DECLARATIONS}) == len(DECLARATIONS)
    for item in DECLARATIONS:
        assert item.meaning and item.shown_default and "|" not in item.meaning + item.shown_default
