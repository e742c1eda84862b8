"""`python bot.py telegram` as a real process against the fake Bot API, stopped with SIGTERM
(the one subprocess test of the Telegram side), and its configuration errors in process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_telegram_harness import ADMIN, RESIDENT, STAFF, fake  # noqa: F401  (fake is a fixture)

ROOT = Path(__file__).resolve().parent.parent


def bot_env(fake, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "LANG": "C.UTF-8",
           "TELEGRAM_BOT_TOKEN": fake.token, "TELEGRAM_BASE_URL": fake.base_url,
           "TELEGRAM_ADMIN_IDS": str(ADMIN), "TELEGRAM_STAFF_IDS": f"{STAFF}, 3003",
           "BOT_DB": str(tmp_path / "bot.db")}
    return {**env, **extra}


def test_polls_answers_and_stops_cleanly_on_sigterm(fake, tmp_path):
    process = subprocess.Popen([sys.executable, "bot.py", "telegram"], cwd=ROOT, env=bot_env(fake, tmp_path),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        fake.wait_for("getUpdates", timeout=60, completed=False)
        fake.push_update(fake.private_text(RESIDENT, "宛城区2020年脱贫多少人？"))
        [answer] = fake.wait_for("sendMessage", timeout=30)
        fake.push_update(fake.private_command(ADMIN, "/stats"))
        fake.wait_for("sendMessage", 2, timeout=30)
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    assert "2652" in answer.result["text"] and "来源：《脱贫攻坚 宛城区交出满意答卷》" in answer.result["text"]
    assert fake.calls("sendMessage")[1].result["text"].startswith("使用统计")
    assert fake.token not in out + err and fake.token.split(":")[1] not in err
    polls = [c for c in fake.calls("getUpdates") if "allowed_updates" in c.params]
    assert polls[0].params["allowed_updates"] == ["message", "edited_message", "callback_query"]
    scopes = [c.params["scope"] for c in fake.calls("setMyCommands")]
    assert {"type": "default"} in scopes and {"type": "chat", "chat_id": 3003} in scopes
    assert min(c.time for c in fake.calls("setMyCommands")) < polls[0].time  # menus before updates


@pytest.mark.parametrize("variable, value", [("TELEGRAM_ADMIN_IDS", "alice"), ("TELEGRAM_BOT_TOKEN", ""),
                                             ("TELEGRAM_BASE_URL", "ftp://x")])
def test_bad_configuration_names_the_variable(bot, fake, tmp_path, variable, value):
    env = {"TELEGRAM_BOT_TOKEN": fake.token, "TELEGRAM_BASE_URL": fake.base_url, "TELEGRAM_ADMIN_IDS": str(ADMIN),
           "BOT_DB": str(tmp_path / "bot.db"), variable: value}
    result = bot("telegram", env=env)  # in process: it stops before polling
    assert result.code == 2 and result.err.startswith(f"配置错误 {variable}:")
    assert not fake.calls()  # stopped before talking to the Bot API
    assert not (tmp_path / "bot.db").exists()  # ... and before opening the database
