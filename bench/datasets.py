"""Benchmark data for bench/run.py: CMRC 2018 / DRCD passages as article files, questions,
sentence splitting for the baseline and the synthetic scale corpus.

Data: ../shared/eval-data/{cmrc2018_dev,drcd_dev}/{passages,questions}.jsonl (schemas in
../shared/eval-data/README.md). Passages are written as they are (DRCD stays in traditional
script): one ``<pid>.txt`` per passage with ``title:`` front matter, so the doc_id the bot
gives the file (its stem) maps back to the pid.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EVAL_DATA = ROOT.parent / "shared/eval-data"
OUT = ROOT / "bench/out"
SEED_ARTICLES = ROOT / "data/articles"
DEV_QUESTIONS = ROOT / "data/eval/dev_questions.jsonl"

#: name -> folder under ../shared/eval-data
DATASETS = {"cmrc": "cmrc2018_dev", "drcd": "drcd_dev"}
#: The baseline's sentence boundaries (as stated in issue 6): a run of 。！？；!?; with the closing
#: quotes/brackets that follow it (so 。。 or 矣！」 end one sentence, not two).
SENTENCE_END = re.compile(r"[。！？；!?;]+[”’」』）)》〉】\"']*")
_UNSAFE = re.compile(r"[^0-9A-Za-z_.-]")


@dataclass(frozen=True)
class Dataset:
    """One retrieval set: passages ``{"pid","title","text"}`` and questions
    ``{"qid","question","pid","answers"}`` (see ../shared/eval-data/README.md)."""

    name: str
    passages: list[dict]
    questions: list[dict]


def read_jsonl(path: Path) -> list[dict]:
    """Rows of a JSON Lines file (blank lines skipped)."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def load(name: str, limit: int = 0) -> Dataset:
    """Passages and questions of ``name`` ("cmrc" or "drcd"); ``limit`` keeps the first N
    questions (all passages are kept: they are the corpus). Raises KeyError, OSError."""
    folder = EVAL_DATA / DATASETS[name]
    questions = read_jsonl(folder / "questions.jsonl")
    return Dataset(name, read_jsonl(folder / "passages.jsonl"), questions[:limit] if limit else questions)


def file_stem(pid: str) -> str:
    """File name stem (= the bot's doc_id) for a passage id: unsafe characters become '_'."""
    return _UNSAFE.sub("_", pid).lstrip(".") or "_"


def article_text(title: str, text: str) -> str:
    """One article file: front matter with the title, a blank line, then the passage text."""
    title = " ".join(title.split()) or "untitled"
    return f"---\ntitle: {title}\n---\n\n{text.strip()}\n"


def write_articles(directory: Path, passages: list[dict], *, prefix: str = "") -> dict[str, str]:
    """Write ``<prefix><stem>.txt`` per passage; returns doc_id -> pid. Raises ValueError when
    two pids sanitise to the same name."""
    directory.mkdir(parents=True, exist_ok=True)
    mapping: dict[str, str] = {}
    for row in passages:
        doc_id = prefix + file_stem(str(row["pid"]))
        if doc_id in mapping:
            raise ValueError(f"pids {mapping[doc_id]!r} and {row['pid']!r} give the same file name")
        mapping[doc_id] = str(row["pid"])
        (directory / f"{doc_id}.txt").write_text(article_text(row.get("title", ""), row["text"]), encoding="utf-8")
    return mapping


def copy_seed(directory: Path) -> list[str]:
    """Copy the seed articles (data/articles/*.txt) into ``directory``; returns their doc_ids."""
    directory.mkdir(parents=True, exist_ok=True)
    ids = []
    for path in sorted(SEED_ARTICLES.glob("*.txt")):
        shutil.copyfile(path, directory / path.name)
        ids.append(path.stem)
    return ids


def split_sentences(text: str) -> list[str]:
    """Sentences of a passage, cut after each of 。！？；!?; (stripped, empty ones dropped)."""
    cuts = [0, *(m.end() for m in SENTENCE_END.finditer(text)), len(text)]
    return [text[a:b].strip() for a, b in zip(cuts, cuts[1:]) if text[a:b].strip()]


def sentence_count(text: str) -> int:
    """How many baseline sentences ``text`` has (a trailing fragment counts as one)."""
    return len(split_sentences(text))


def synthetic_corpus(directory: Path, datasets: list[Dataset], documents: int, *, seed: int = 13) -> int:
    """Write ``documents`` synthetic articles of 8-15 sentences drawn from the datasets'
    passages (shuffled with a fixed seed; the pool is reshuffled and reused when it runs out),
    titled with the first characters of their first sentence. Returns the total characters."""
    pool = [s for d in datasets for p in d.passages for s in split_sentences(p["text"])]
    rng = random.Random(seed)
    order: list[str] = []
    directory.mkdir(parents=True, exist_ok=True)
    chars = 0
    for n in range(documents):
        size = rng.randint(8, 15)
        while len(order) < size:
            batch = pool[:]
            rng.shuffle(batch)
            order.extend(batch)
        sentences, order = order[:size], order[size:]
        title = re.sub(r"[\s\"'：:]", "", sentences[0])[:12] or f"synthetic {n}"
        body = "".join(sentences)
        chars += len(body)
        (directory / f"syn{n:06d}.txt").write_text(article_text(title, body), encoding="utf-8")
    return chars


@dataclass(frozen=True)
class IndexBuild:
    """One ``python bot.py reindex`` run: wall seconds (process start to exit, jieba load
    included), the child's peak RSS in MB (``wait4`` rusage), index file bytes (db + WAL)
    and the bot's own summary line."""

    db: Path
    seconds: float
    child_rss_mb: float
    index_bytes: int
    summary: str


def index_bytes(db: Path) -> int:
    """Size of the SQLite file plus its -wal/-shm files, in bytes."""
    return sum(p.stat().st_size for p in (db, Path(f"{db}-wal"), Path(f"{db}-shm")) if p.exists())


def reindex(articles: Path, db: Path) -> IndexBuild:
    """Build ``db`` from ``articles`` with the project's own command, as an admin would:
    ``python bot.py reindex --articles DIR --db PATH`` (a fresh file each time).

    Raises:
        RuntimeError: the command failed (its stderr is in the message).
    """
    for path in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
        path.unlink(missing_ok=True)
    log = db.with_suffix(".reindex.log")
    started = time.perf_counter()
    with open(log, "w+", encoding="utf-8") as out:
        child = subprocess.Popen([sys.executable, "bot.py", "reindex", "--articles", str(articles), "--db", str(db)],
                                 cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - started
        out.seek(0)
        text = out.read().strip()
    if child.returncode != 0:
        raise RuntimeError(f"reindex of {articles} failed ({child.returncode}): {text[-2000:]}")
    return IndexBuild(db, seconds, usage.ru_maxrss / 1024, index_bytes(db), text.splitlines()[-1] if text else "")
