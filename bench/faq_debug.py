"""Print FAQ matcher scores for a question set (development aid).

Usage: python bench/faq_debug.py [data/eval/faq_paraphrases.jsonl] [--all]
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.evaluate import load_questions  # noqa: E402
from app.runtime import open_runtime  # noqa: E402
from app.settings import Settings  # noqa: E402
from qa.query import analyse  # noqa: E402
from qa.smalltalk import strip_greeting  # noqa: E402
from qa.text import normalize  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("file", nargs="?", default="data/eval/faq_paraphrases.jsonl")
    parser.add_argument("--all", action="store_true")
    args = parser.parse_args()
    runtime = open_runtime(Settings.from_env())
    matcher = runtime.service.faq_matcher
    top1 = n = 0
    pos_scores, neg_scores = [], []
    for row in load_questions(Path(args.file)):
        query = analyse(strip_greeting(normalize(row["question"])), runtime.segmenter)
        m = matcher.match(query)
        if row["scope"] == "in":
            n += 1
            ok = m.entry is not None and m.entry.id == row.get("expect_faq")
            top1 += ok
            pos_scores.append(m.score)
            if args.all or not ok or m.decision != "answer":
                print(f"{'OK ' if ok else 'BAD'} {m.decision:7s} {m.score:5.1f} m={m.margin:4.1f} {row['question']} -> "
                      f"{m.entry.id if m.entry else None} 「{m.matched}」 want {row.get('expect_faq')}")
        else:
            neg_scores.append(m.score)
            if args.all or m.decision != "none":
                print(f"NEG {m.decision:7s} {m.score:5.1f} m={m.margin:4.1f} {row['question']} -> "
                      f"{m.entry.id if m.entry else None} 「{m.matched}」")
    print(f"argmax top-1 {top1}/{n}")
    for q in (10, 25, 50, 75, 90):
        ps = sorted(pos_scores)[int(q / 100 * (len(pos_scores) - 1))]
        ns = sorted(neg_scores)[int(q / 100 * (len(neg_scores) - 1))] if neg_scores else 0
        print(f"p{q}: positives {ps:.1f}  negatives {ns:.1f}")


if __name__ == "__main__":
    main()
