"""Reliability: concurrent processes, SIGKILLed reindexes, integrity checks, backups.

Processes are real (`python -m tests.support.worker`, `python bot.py`) on one real SQLite
file, bounded in count and time.
"""

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import ROOT, SEED_ARTICLE, run_bot

WORKER = [sys.executable, "-m", "tests.support.worker"]


def start(*args):
    return subprocess.Popen([*WORKER, *map(str, args)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, encoding="utf-8")


def results(process, timeout=240):
    out, err = process.communicate(timeout=timeout)
    lines = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert process.returncode == 0, err
    return [line for line in lines if "ready" not in line]


@pytest.fixture
def many_articles(tmp_path):
    directory = tmp_path / "articles"
    directory.mkdir()
    for i in range(40):
        shutil.copy(SEED_ARTICLE, directory / f"copy{i:02d}.txt")
    return directory


def test_staff_writes_and_answers_survive_concurrent_reindexes(db_path, many_articles):
    reindexer = start("reindex", db_path, "--count", 6, "--articles", many_articles)
    adder = start("faq-add", db_path, "--count", 25, "--prefix", "A")
    importer = start("faq-import", db_path, "--count", 10, "--prefix", "IMP")
    asker = start("ask", db_path, "--count", 60)
    added, imported, asked, rebuilt = results(adder), results(importer), results(asker), results(reindexer)
    for batch in (added, imported, asked, rebuilt):
        errors = [r["error"] for r in batch if not r["ok"]]
        assert not errors, errors  # no "database is locked", no lost write
    assert len(added) == 25 and len(imported) == 10 and len(rebuilt) == 6
    assert all(r["kind"] in ("faq", "passage") and r["right"] for r in asked)
    listed = run_bot("faq", "list", db=db_path).stdout
    for r in added:
        assert r["id"] in listed
    for r in imported:
        assert r["id"] in listed


def test_sigkilled_reindexes_leave_the_previous_index_serving(db_path, many_articles, runtime):
    rng = random.Random(20261129)
    faq_before = [r.public() for r in runtime.store.faq.all()]
    for attempt in range(20):
        process = subprocess.Popen([sys.executable, str(ROOT / "bot.py"), "reindex", "--replace", "--articles", str(many_articles),
                                    "--db", str(db_path)], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.3, 3.0))
        process.send_signal(signal.SIGKILL)
        process.wait()
        answer = runtime.service.answer("扶贫车间哪天复工的", log_question=False)
        assert "3月19日" in answer.answer, f"attempt {attempt}: {answer.answer}"
        assert [r.public() for r in runtime.store.faq.all()] == faq_before
    check = run_bot("check", db=db_path, env={"BOT_ARTICLES": str(many_articles)})
    assert "✗ SQLite" not in check.stdout and "损坏" not in check.stdout
    finished = run_bot("reindex", "--replace", "--articles", str(many_articles), db=db_path)
    assert finished.returncode == 0 and "40 篇文章" in finished.stdout, finished.stderr
    assert run_bot("check", db=db_path, env={"BOT_ARTICLES": str(many_articles)}).returncode == 0


def test_check_reports_a_corrupt_index_and_backup_restores(db_path, tmp_path):
    assert run_bot("check", db=db_path).returncode == 0
    backup = tmp_path / "backup" / "copy.db"
    made = run_bot("backup", str(backup), db=db_path)
    assert made.returncode == 0 and backup.exists()  # (the hash key comes from BOT_HASH_KEY here)
    import sqlite3

    conn = sqlite3.connect(db_path)
    conn.execute("DELETE FROM sentences WHERE id < 5")
    conn.commit()
    conn.close()
    broken = run_bot("check", db=db_path)
    assert broken.returncode == 1 and "reindex" in broken.stdout
    os.replace(backup, db_path)
    assert run_bot("check", db=db_path).returncode == 0
