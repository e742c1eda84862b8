"""Latency benchmark of issue 2: warm Service.answer over the dev set and a cold `bot.py ask`.

* warm: one untimed pass over the dev questions, then ``--rounds`` timed passes through the
  same in-process Service the channels use (question log off: channels write it after
  answering), with the repeated-question cache off so every answer is computed; p50/p95 in
  milliseconds. Target: p95 < 10 ms. Cache hits are reported on their own line.
* cold: wall time of ``python bot.py ask 宛城区2020年脱贫多少人？`` as a new process on an
  existing index (``--runs`` times, median and max). Target: < 1.5 s.

Usage: python bench/latency.py [--rounds 5] [--runs 5] [--db PATH]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.evaluate import load_questions, percentile  # noqa: E402
from app.runtime import open_runtime  # noqa: E402
from app.settings import Settings  # noqa: E402

QUESTIONS = ROOT / "data/eval/dev_questions.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--db", type=Path, default=None)
    args = parser.parse_args()
    settings = Settings.from_env()
    db = args.db or settings.db_path
    runtime = open_runtime(settings, db_path=db)
    questions = [r["question"] for r in load_questions(QUESTIONS)]
    service = runtime.service
    cache_size = service.cache_size
    service.cache_size = 0  # measure the full answer path, not the repeated-question cache
    for q in questions:
        service.answer(q)
    times, hits = [], []
    for _ in range(args.rounds):
        for q in questions:
            started = time.perf_counter()
            service.answer(q)
            times.append((time.perf_counter() - started) * 1000)
    service.cache_size = cache_size
    for q in questions:
        service.answer(q)
        started = time.perf_counter()
        service.answer(q)
        hits.append((time.perf_counter() - started) * 1000)
    runtime.close()
    p50, p95 = percentile(times, 50), percentile(times, 95)

    colds = []
    for _ in range(args.runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, str(ROOT / "bot.py"), "ask", "宛城区2020年脱贫多少人？", "--db", str(db)],
                       check=True, capture_output=True)
        colds.append(time.perf_counter() - started)

    print(f"warm Service.answer over {len(questions)} dev questions x {args.rounds}: "
          f"p50 {p50:.2f} ms, p95 {p95:.2f} ms (target p95 < 10 ms: {'PASS' if p95 < 10 else 'FAIL'}, "
          f"ratio to target {p95 / 10:.2f})")
    print(f"repeated question (answer cache hit): p50 {percentile(hits, 50):.3f} ms, p95 {percentile(hits, 95):.3f} ms")
    print(f"cold `python bot.py ask` x {args.runs}: median {statistics.median(colds):.2f} s, max {max(colds):.2f} s "
          f"(target < 1.5 s: {'PASS' if max(colds) < 1.5 else 'FAIL'}, ratio to target {statistics.median(colds) / 1.5:.2f})")


if __name__ == "__main__":
    main()
