"""The issue-6 baseline: plain jieba ``cut_for_search`` tokens + bm25s (BM25, Lucene variant,
k1=1.5, b=0.75 — bm25s defaults) over sentences and over whole passages.

No normalisation, default jieba dictionary; tokens made only of punctuation or whitespace are
dropped (they are not words) and query tokens the corpus never saw are left out (bm25s cannot
score them). Sentences are cut after 。！？；!?; (:func:`bench.datasets.split_sentences`) and
indexed bare; a passage is indexed as its title followed by its text. This is the variant that
reproduces the numbers stated in issue 6 (measured on the full sets: answer-sentence hit@1
CMRC 0.607, DRCD 0.742; passage hit@1 CMRC 0.968; stated: 0.606, 0.742, 0.968). Keeping
punctuation tokens gives CMRC 0.559 / 0.930; leaving the title out of passages gives CMRC
passage hit@1 0.956.

Metrics, the same definitions as for the bot in bench/run.py:

* answer-sentence hit@1: the top sentence contains one of the gold answers;
* passage hit@1 / hit@5: the gold pid is the top passage / among the top 5 passages.
"""

from __future__ import annotations

import re
import time

import bm25s
import jieba
import numpy as np

from bench.datasets import Dataset, split_sentences

jieba.setLogLevel(60)
_NOT_A_WORD = re.compile(r"^[\W_]*$")


def tokens(text: str) -> list[str]:
    """jieba search-mode tokens of the raw text; punctuation/whitespace-only tokens dropped."""
    return [t for t in jieba.cut_for_search(text) if not _NOT_A_WORD.match(t)]


class Bm25Index:
    """bm25s over pre-tokenised documents; :meth:`top` returns document indices, best first."""

    def __init__(self, documents: list[str]) -> None:
        self.model = bm25s.BM25()
        self.model.index([tokens(d) or [""] for d in documents], show_progress=False)
        self.vocab = self.model.vocab_dict
        self.size = len(documents)

    def top(self, query: str, k: int) -> list[int]:
        known = [t for t in tokens(query) if t in self.vocab]
        if not known:
            return []
        ids, scores = self.model.retrieve([known], k=min(k, self.size), show_progress=False, n_threads=1)
        return [int(i) for i, s in zip(ids[0], scores[0]) if s > 0]


def run(dataset: Dataset) -> dict:
    """Baseline figures for one dataset: answer-sentence hit@1, passage hit@1/@5, mean quote
    length (chars of the top sentence), index build seconds, per-question wall and CPU ms
    (both retrievals; numpy percentiles, which interpolate)."""
    jieba.initialize()
    started = time.perf_counter()
    sentence_text, sentence_pid = [], []
    for p in dataset.passages:
        for s in split_sentences(p["text"]):
            sentence_text.append(s)
            sentence_pid.append(p["pid"])
    by_sentence = Bm25Index(sentence_text)
    by_passage = Bm25Index([f"{p['title']} {p['text']}" for p in dataset.passages])
    build_s = time.perf_counter() - started
    pids = [p["pid"] for p in dataset.passages]
    sent_hit = p1 = p5 = 0
    quote_chars: list[int] = []
    latencies: list[float] = []
    cpu: list[float] = []
    for q in dataset.questions:
        t0, c0 = time.perf_counter(), time.thread_time()
        best_sentence = by_sentence.top(q["question"], 1)
        best_passages = by_passage.top(q["question"], 5)
        latencies.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.thread_time() - c0) * 1000)
        if best_sentence:
            quote = sentence_text[best_sentence[0]]
            quote_chars.append(len(quote))
            sent_hit += any(a and a in quote for a in q["answers"])
        top5 = [pids[i] for i in best_passages]
        p1 += bool(top5) and top5[0] == q["pid"]
        p5 += q["pid"] in top5
    n = max(len(dataset.questions), 1)
    return {
        "questions": len(dataset.questions), "sentences": len(sentence_text),
        "answer_sentence_hit1": sent_hit / n, "passage_hit1": p1 / n, "passage_hit5": p5 / n,
        "mean_quote_chars": float(np.mean(quote_chars)) if quote_chars else 0.0,
        "index_build_s": build_s, "latency_p50_ms": float(np.percentile(latencies, 50)),
        "latency_p95_ms": float(np.percentile(latencies, 95)), "cpu_p95_ms": float(np.percentile(cpu, 95)),
    }
