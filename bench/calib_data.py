"""Data for bench/calibrate.py: the files each block depends on (with sha256), the question
rows, a fresh seed-article runtime, the CMRC/DRCD half-corpora and the candidate features.

Paths are recorded relative to the repository root (``../shared/eval-data/...`` for the
external sets beside the worktree).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
from pathlib import Path

import numpy as np

from app.evaluate import load_questions
from app.runtime import open_runtime
from app.settings import Settings
from bench.calib_fit import FEATURES
from qa.query import analyse
from qa.smalltalk import strip_greeting
from qa.text import normalize

ROOT = Path(__file__).resolve().parent.parent
EVAL = ROOT / "data/eval"
#: Question sets of the seed article used to fit the ranking (own domain).
RANK_SETS = ("dev_questions", "own_questions")
#: Question sets the threshold sweeps run over (the FAQ paraphrases decide the FAQ lines).
SWEEP_SETS = ("dev_questions", "own_questions", "faq_paraphrases")
#: Sweep sets answered by an index of their own corpus (data/eval/<corpus>/, with the seed FAQ)
#: instead of data/articles: several policy documents of different kinds (issue 13).
CORPUS_SETS = {"policy_questions": "policy_corpus"}
#: External corpora whose even-numbered passages become calibration corpora.
CORPORA = {"cmrc": "cmrc2018_dev", "drcd": "drcd_dev"}
EVAL_DATA = ROOT.parent / "shared/eval-data"
#: The product's own domain counts this many times a Wikipedia question when fitting.
HOME_WEIGHT = 4.0
#: Questions drawn per corpus: in scope (questions on the indexed half), out of scope (questions
#: on the other half), and CMRC questions asked against the seed article (out of scope).
PER_CORPUS_IN, PER_CORPUS_OUT, SEED_NEGATIVES = 800, 400, 60


def rel(path: Path) -> str:
    """``path`` relative to the repository root, with '/' separators (may start with ../)."""
    return Path(os.path.relpath(os.path.abspath(path), ROOT)).as_posix()


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes. Raises OSError."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def product_files() -> list[Path]:
    """Files every block's numbers depend on: the seed articles, the text resources (user
    dictionary, synonyms, stopwords) and the seed FAQ."""
    out = []
    for folder, patterns in ((ROOT / "data/articles", ("*.txt", "*.md")), (ROOT / "data/text", ("*.txt",)),
                             (ROOT / "data/faq", ("*.csv", "*.xlsx"))):
        out += sorted(p for pattern in patterns for p in folder.glob(pattern))
    return out


def rank_files() -> list[Path]:
    """Data of the ranking and confidence fits."""
    external = [EVAL_DATA / folder / f"{kind}.jsonl"
                for folder in CORPORA.values() for kind in ("passages", "questions")]
    return [EVAL / f"{name}.jsonl" for name in RANK_SETS] + external + product_files()


def sweep_files() -> list[Path]:
    """Data of the threshold sweeps (besides the fitted ranking and confidence blocks)."""
    corpora = [p for folder in CORPUS_SETS.values() for p in sorted((EVAL / folder).iterdir()) if p.is_file()]
    return [EVAL / f"{name}.jsonl" for name in (*SWEEP_SETS, *CORPUS_SETS)] + corpora + product_files()


def hashes(paths: list[Path]) -> dict[str, str]:
    """{relative path: sha256} in a stable order. Raises FileNotFoundError naming a missing file."""
    return {rel(p): sha256_file(p) for p in sorted(paths, key=rel)}


def set_rows(names) -> list[dict]:
    """Rows of data/eval/<name>.jsonl for each name, each tagged with ``set``."""
    return [dict(r, set=name) for name in names for r in load_questions(EVAL / f"{name}.jsonl")]


def seed_runtime(db: Path, articles: Path | None = None):
    """A runtime over a fresh index of data/articles (or ``articles``) with the seed FAQ (``db``
    must not exist), independent of the environment and of any ``.env``."""
    env = {"BOT_DB": str(db), **({"BOT_ARTICLES": str(articles)} if articles else {})}
    settings = Settings.from_env(env, dotenv=db.with_suffix(".no-dotenv"))
    return open_runtime(settings, quiet=True)


def half_corpus(runtime, name: str, work_dir: Path, rng: random.Random):
    """(retriever over the even-numbered passages of dataset ``name``, rows): in-scope rows are
    questions on those passages; out-of-scope rows are questions on the odd-numbered passages
    (in-domain questions the corpus cannot answer). The index is rebuilt every run."""
    from bench import datasets
    from qa.indexer import reindex
    from qa.retrieve import PassageRetriever
    from qa.store import Store

    data = datasets.load(name)
    even = {p["pid"] for i, p in enumerate(data.passages) if i % 2 == 0}
    work = work_dir / name
    db = work_dir / f"{name}.db"
    if work.exists():
        shutil.rmtree(work)
    datasets.write_articles(work, [p for p in data.passages if p["pid"] in even])
    reindex(Store(db), work, runtime.segmenter)
    store = Store(db)
    retriever = PassageRetriever(store.passages, persons=runtime.segmenter.persons, places=runtime.segmenter.places,
                                 is_word=runtime.segmenter.is_word)
    inside = [q for q in data.questions if q["pid"] in even]
    outside = [q for q in data.questions if q["pid"] not in even]
    rng.shuffle(inside)
    rng.shuffle(outside)
    rows = [{"question": q["question"], "scope": "in", "expect_any": q["answers"], "set": f"{name}-in"}
            for q in inside[:PER_CORPUS_IN]]
    rows += [{"question": q["question"], "scope": "out", "set": f"{name}-out"} for q in outside[:PER_CORPUS_OUT]]
    return retriever, rows


def seed_negatives(rng: random.Random) -> list[dict]:
    """CMRC questions asked against the seed article: realistic out-of-scope questions."""
    path = EVAL_DATA / "cmrc2018_dev/questions.jsonl"
    extra = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    rng.shuffle(extra)
    return [{"question": r["question"], "scope": "out", "set": "cmrc-seed"} for r in extra[:SEED_NEGATIVES]]


def collect(runtime, rows, retriever, weight: float):
    """Per row: (feature matrix of every candidate the retriever ranks, labels: 1.0 when an
    in-scope row's candidate contains an expected string, in_scope, weight)."""
    out = []
    for row in rows:
        query = analyse(strip_greeting(normalize(row["question"])), runtime.segmenter)
        result = retriever.retrieve(query)
        in_scope = row["scope"] == "in"
        if result is None:
            out.append((np.zeros((0, len(FEATURES))), np.zeros(0), in_scope, weight))
            continue
        expected = (row.get("expect_any") or []) + (row.get("expect_all") or [])
        ranked = sorted(result.ranked, key=lambda c: c.key)  # candidate order must not depend on the weights
        feats = [[cand.features[f] for f in FEATURES] for cand in ranked]
        labels = [1.0 if in_scope and any(e in result.rows[c.key].text for e in expected) else 0.0 for c in ranked]
        out.append((np.array(feats), np.array(labels), in_scope, weight))
    return out
