"""Shared fixtures: one segmenter per test session (jieba loads once), real SQLite files in
temporary directories, the bundled seed article, and ``bot``: `python bot.py ARGS` run in this
process (the CLI's ``main(argv)``) with its exit status and captured output."""

from __future__ import annotations

import io
import os
import shutil
import sys
from dataclasses import dataclass
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
    """The process's segmenter: the same object open_runtime (and so the in-process CLI) uses."""
    from app.runtime import shared_segmenter

    return shared_segmenter(settings)


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


#: Environment of every in-process CLI run: no deployment variables, a fixed hash key.
CLI_PREFIXES = ("BOT_", "TELEGRAM_", "WECHAT_", "WECOM_")
HASH_KEY = "test-key-0123456789abcdef"


@dataclass
class CliResult:
    """What one `bot.py` run returned: exit status and captured stdout/stderr text."""

    code: int
    out: str
    err: str


@pytest.fixture
def bot(capsys, monkeypatch, segmenter):
    """``bot(*args, db=None, stdin=None, env=None) -> CliResult``: `python bot.py ARGS [--db DB]`
    in this process. ``stdin`` (str or bytes) becomes standard input; ``env`` adds variables to
    an environment cleared of BOT_*/TELEGRAM_*/WECHAT_*/WECOM_* (BOT_HASH_KEY is set). Usage
    errors (argparse's SystemExit) are returned as their exit status."""
    from app.cli import main

    def run(*args: str, db: Path | None = None, stdin: str | bytes | None = None,
            env: dict[str, str] | None = None) -> CliResult:
        capsys.readouterr()
        with monkeypatch.context() as patch:
            for name in list(os.environ):
                if name.startswith(CLI_PREFIXES):
                    patch.delenv(name)
            patch.setenv("BOT_HASH_KEY", HASH_KEY)
            for name, value in (env or {}).items():
                patch.setenv(name, value)
            if stdin is not None:
                data = stdin.encode("utf-8") if isinstance(stdin, str) else stdin
                patch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))
            argv = [*map(str, args), *(["--db", str(db)] if db is not None else [])]
            try:
                code = main(argv)
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 2
        out, err = capsys.readouterr()
        return CliResult(code, out, err)

    return run


@pytest.fixture(scope="session")
def server(seeded_db, tmp_path_factory, segmenter):
    """One real `python bot.py serve` for the WeChat end-to-end tests (tests/wechat_harness.py)."""
    from tests import wechat_harness

    srv = wechat_harness.shared_server(seeded_db, tmp_path_factory.mktemp("wechat-server"), segmenter)
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
