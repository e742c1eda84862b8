"""FAQ matching benchmark on PAWS-X zh, against plain rapidfuzz fuzz.ratio, in one run.

Data: ../shared/eval-data/pawsx_zh (bank faq.jsonl, paraphrase queries queries.jsonl, hard
negatives queries_hard_negative.jsonl). Definitions, the same for both systems:

* top-1 accuracy: share of paraphrase queries whose best-scoring FAQ entry is the right one;
* answered-correct: share of paraphrase queries the system *answers* (accepts) with the right
  entry;
* false-accept rate: share of hard negatives that paraphrase nothing in the bank
  (expected_fid null) for which the system answers anything.

Our matcher answers when its decision is "answer" (score and margin thresholds of
faq/matcher.py, unchanged for this set). The baseline answers when fuzz.ratio >= t; it is
reported at the t that gives it the same answered-correct rate as ours (equal recall), so
the false-accept rates compare like with like, and at t = 80 for reference.

Usage: python bench/faq_bench.py [--limit N]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rapidfuzz import fuzz, process  # noqa: E402

from app.settings import Settings  # noqa: E402
from faq.matcher import FaqMatcher  # noqa: E402
from qa.store.faq_rows import FaqRecord  # noqa: E402
from qa.text import Segmenter, TextResources  # noqa: E402

DATA = ROOT.parent / "shared/eval-data/pawsx_zh"


def load(name: str) -> list[dict]:
    return [json.loads(line) for line in (DATA / name).read_text(encoding="utf-8").splitlines() if line.strip()]


def baseline(bank: list[dict], queries: list[str]) -> list[tuple[str, float]]:
    """(best fid, fuzz.ratio score) per query over the raw strings."""
    choices = [e["question"] for e in bank]
    out = []
    for q in queries:
        _, score, index = process.extractOne(q, choices, scorer=fuzz.ratio)
        out.append((bank[index]["fid"], score))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int, default=0, help="use only the first N queries (quick runs)")
    args = parser.parse_args()
    bank = load("faq.jsonl")
    positives = load("queries.jsonl")
    negatives = [r for r in load("queries_hard_negative.jsonl") if r["expected_fid"] is None]
    if args.limit:
        positives, negatives = positives[: args.limit], negatives[: args.limit // 3]
    settings = Settings.from_env()
    segmenter = Segmenter(TextResources.in_dir(settings.text_dir), cache_dir=settings.cache_dir)
    records = [FaqRecord(id=e["fid"], question=e["question"], answer=e["question"]) for e in bank]

    started = time.perf_counter()
    matcher = FaqMatcher(records, segmenter)
    build_s = time.perf_counter() - started
    started = time.perf_counter()
    ours_pos = [matcher.match(r["query"]) for r in positives]
    ours_neg = [matcher.match(r["query"]) for r in negatives]
    ours_ms = (time.perf_counter() - started) * 1000 / (len(positives) + len(negatives))
    top1 = sum(m.entry is not None and m.entry.id == r["fid"] for m, r in zip(ours_pos, positives)) / len(positives)
    answered = sum(m.decision == "answer" and m.entry.id == r["fid"] for m, r in zip(ours_pos, positives)) / len(positives)
    false_accept = sum(m.decision == "answer" for m in ours_neg) / len(negatives)

    started = time.perf_counter()
    base_pos = baseline(bank, [r["query"] for r in positives])
    base_neg = baseline(bank, [r["query"] for r in negatives])
    base_ms = (time.perf_counter() - started) * 1000 / (len(positives) + len(negatives))
    base_top1 = sum(fid == r["fid"] for (fid, _), r in zip(base_pos, positives)) / len(positives)

    def base_at(t: float) -> tuple[float, float]:
        acc = sum(fid == r["fid"] and s >= t for (fid, s), r in zip(base_pos, positives)) / len(positives)
        fa = sum(s >= t for _, s in base_neg) / len(negatives)
        return acc, fa

    equal_t = max((t for t in range(0, 101) if base_at(t)[0] >= answered), default=0)
    base_eq_acc, base_eq_fa = base_at(equal_t)
    base_80_acc, base_80_fa = base_at(80)

    print(f"PAWS-X zh FAQ benchmark: bank {len(bank)}, paraphrase queries {len(positives)}, "
          f"no-match negatives {len(negatives)}")
    print(f"{'system':38s} {'top-1':>7s} {'answered-correct':>17s} {'false-accept':>13s} {'ms/query':>9s}")
    print(f"{'ours (faq/matcher.py decision)':38s} {top1:7.3f} {answered:17.3f} {false_accept:13.3f} {ours_ms:9.2f}")
    print(f"{f'fuzz.ratio, t={equal_t} (equal recall)':38s} {base_top1:7.3f} {base_eq_acc:17.3f} {base_eq_fa:13.3f} {base_ms:9.2f}")
    print(f"{'fuzz.ratio, t=80':38s} {base_top1:7.3f} {base_80_acc:17.3f} {base_80_fa:13.3f} {base_ms:9.2f}")
    print(f"top-1 difference: {100 * (top1 - base_top1):+.1f} points (ratio {top1 / base_top1:.3f}); "
          f"matcher build {build_s:.1f} s")


if __name__ == "__main__":
    main()
