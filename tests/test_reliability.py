"""Reliability: concurrent processes, SIGKILLed reindexes, integrity checks, backups.

Processes are real where processes are the point (`python -m tests.support.worker` in
parallel, `python bot.py reindex` killed with SIGKILL) on one real SQLite file, bounded in count
and time; the CLI checks between them run in this process (the ``bot`` fixture).
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

from tests.conftest import ROOT, SEED_ARTICLE
from tests.support.render import text as shown

WORKER = [sys.executable, "-m", "tests.support.worker"]
#: Reindex processes killed with SIGKILL at random moments (set RELIABILITY_KILLS=20 for the
#: longer soak run of issue 7; 8 keep the suite fast and still land kills inside the rebuild).
KILLS = int(os.environ.get("RELIABILITY_KILLS", "8"))


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


def test_staff_writes_and_answers_survive_concurrent_reindexes(bot, db_path, many_articles):
    reindexer = start("reindex", db_path, "--count", 3, "--articles", many_articles)
    adder = start("faq-add", db_path, "--count", 12, "--prefix", "A")
    importer = start("faq-import", db_path, "--count", 5, "--prefix", "IMP")
    asker = start("ask", db_path, "--count", 30)
    added, imported, asked, rebuilt = results(adder), results(importer), results(asker), results(reindexer)
    for batch in (added, imported, asked, rebuilt):
        errors = [r["error"] for r in batch if not r["ok"]]
        assert not errors, errors  # no "database is locked", no lost write
    assert len(added) == 12 and len(imported) == 5 and len(rebuilt) == 3
    assert all(r["kind"] in ("faq", "passage") and r["right"] for r in asked)
    listed = bot("faq", "list", db=db_path).out
    for r in added:
        assert r["id"] in listed
    for r in imported:
        assert r["id"] in listed


def test_sigkilled_reindexes_leave_the_previous_index_serving(bot, db_path, many_articles, runtime):
    rng = random.Random(20261129)
    faq_before = [r.public() for r in runtime.store.faq.all()]
    for attempt in range(KILLS):
        process = subprocess.Popen([sys.executable, str(ROOT / "bot.py"), "reindex", "--replace", "--articles", str(many_articles),
                                    "--db", str(db_path)], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.6, 2.4))  # jieba loads in ~0.6 s; the rebuild writes after that
        process.send_signal(signal.SIGKILL)
        process.wait()
        answer = runtime.service.answer("扶贫车间哪天复工的")
        assert "3月19日" in shown(answer), f"attempt {attempt}: {shown(answer)}"
        assert [r.public() for r in runtime.store.faq.all()] == faq_before
    check = bot("check", db=db_path, env={"BOT_ARTICLES": str(many_articles)})
    assert "✗ SQLite" not in check.out and "损坏" not in check.out
    finished = bot("reindex", "--replace", "--articles", str(many_articles), db=db_path)
    assert finished.code == 0 and "40 篇文章" in finished.out, finished.err
    assert bot("check", db=db_path, env={"BOT_ARTICLES": str(many_articles)}).code == 0


def test_check_reports_a_corrupt_index_and_backup_restores(bot, db_path, tmp_path):
    assert bot("check", db=db_path).code == 0
    backup = tmp_path / "backup" / "copy.db"
    made = bot("backup", str(backup), db=db_path)
    assert made.code == 0 and backup.exists()  # (the hash key comes from BOT_HASH_KEY here)
    import sqlite3

    conn = sqlite3.connect(db_path)
    conn.execute("DELETE FROM sentences WHERE id < 5")
    conn.commit()
    conn.close()
    broken = bot("check", db=db_path)
    assert broken.code == 1 and "reindex" in broken.out
    os.replace(backup, db_path)
    assert bot("check", db=db_path).code == 0
