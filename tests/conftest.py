"""Shared fixtures: one segmenter per test session (jieba loads once), real SQLite files in
temporary directories, and the bundled seed article."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SEED_ARTICLE = ROOT / "data" / "articles" / "wancheng-poverty-alleviation-2020.txt"
TITLE = "脱贫攻坚 宛城区交出满意答卷"


@pytest.fixture(scope="session")
def settings():
    from app.settings import Settings

    return Settings.from_env(environ={"BOT_HASH_KEY": "test-key-0123456789abcdef"}, dotenv=Path("/nonexistent"))


@pytest.fixture(scope="session")
def segmenter(settings):
    from qa.text import Segmenter, TextResources

    return Segmenter(TextResources.in_dir(settings.text_dir), cache_dir=settings.cache_dir)


@pytest.fixture(scope="session")
def seeded_db(tmp_path_factory, settings) -> Path:
    """A database built once from data/articles and the seed FAQ; copy it, don't write to it."""
    from app.runtime import open_runtime

    path = tmp_path_factory.mktemp("seeded") / "index.db"
    runtime = open_runtime(settings, db_path=path, quiet=True)
    runtime.store.db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    runtime.close()
    return path


@pytest.fixture
def db_path(tmp_path, seeded_db) -> Path:
    """A private copy of the seeded database for one test."""
    target = tmp_path / "index.db"
    shutil.copy(seeded_db, target)
    return target


@pytest.fixture
def runtime(db_path, settings, segmenter):
    """A runtime on a private database, sharing the session's segmenter."""
    from app.runtime import assemble
    from qa.store import Store

    rt = assemble(settings, Store(db_path), segmenter, db_path)
    yield rt
    rt.close()


@pytest.fixture
def service(runtime):
    return runtime.service


def run_bot(*args: str, db: Path | None = None, stdin: str | None = None, env: dict | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess:
    """Run ``python bot.py ARGS`` as residents and staff do; returns the completed process."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "TELEGRAM_", "WECHAT_", "WECOM_"))}
    full_env.update({"BOT_HASH_KEY": "test-key-0123456789abcdef", "PYTHONIOENCODING": "utf-8"})
    full_env.update(env or {})
    command = [sys.executable, str(ROOT / "bot.py"), *args]
    if db is not None:
        command += ["--db", str(db)]
    return subprocess.run(command, input=stdin, capture_output=True, text=True, encoding="utf-8",
                          env=full_env, cwd=ROOT, timeout=timeout)


@pytest.fixture(scope="session")
def server(seeded_db, tmp_path_factory):
    """One real `python bot.py serve` for the WeChat end-to-end tests (tests/wechat_harness.py)."""
    from tests import wechat_harness

    srv = wechat_harness.shared_server(seeded_db, tmp_path_factory.mktemp("wechat-server"))
    yield srv
    srv.stop()


@pytest.fixture
def http(server):
    """An HTTP client for that server."""
    import httpx

    with httpx.Client(base_url=server.base, timeout=10) as client:
        yield client


@pytest.fixture
def replies(runtime):
    """The plain-text renderer of the test runtime."""
    return runtime.replies


@pytest.fixture
def conversation(runtime):
    return runtime.conversation


@pytest.fixture
def ask(runtime):
    """``ask(question) -> (answer, text)``: the pure answer and exactly what a resident reads."""
    def ask(question):
        answer = runtime.service.answer(question)
        return answer, runtime.replies.text(answer)
    return ask
