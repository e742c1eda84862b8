"""Print the ranked candidates with every feature for one question (development aid).

Usage: python bench/debug_rank.py "问题" [--db PATH] [--top N]
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.runtime import open_runtime  # noqa: E402
from app.settings import Settings  # noqa: E402
from qa.query import analyse  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("question")
    parser.add_argument("--db", type=Path)
    parser.add_argument("--top", type=int, default=6)
    args = parser.parse_args()
    runtime = open_runtime(Settings.from_env(), db_path=args.db)
    query = analyse(args.question, runtime.segmenter)
    print("answer type:", query.answer_type, "numbers:", sorted(query.numbers))
    result = runtime.service.retriever.retrieve(query)
    if result is None:
        print("no candidates")
        return
    for t in result.terms:
        print(f"  term {t.term.text} w={t.weight:.2f} known={t.known} noun={t.term.noun} cue={t.term.cue} parts={t.term.parts}")
    for cand in result.ranked[: args.top]:
        row = result.rows[cand.key]
        feats = " ".join(f"{k}={v:.2f}" for k, v in cand.features.items() if v)
        print(f"[{cand.score:.2f}] {row.text[:70]}\n      {feats}")
    print("chosen:", "".join(s.text for s in result.sentences), f"conf={result.confidence:.3f}")


if __name__ == "__main__":
    main()
