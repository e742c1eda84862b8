"""A worker process for reliability tests: loops one kind of operation on a database and
prints one JSON line per operation, so a test can run several kinds in parallel processes.

Usage: python -m tests.support.worker MODE DB [--count N] [--seconds S] [--articles DIR] [--prefix P]
Modes: reindex, faq-add, faq-import, ask.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from app.runtime import open_runtime  # noqa: E402
from app.settings import Settings  # noqa: E402
from faq.staff import FaqStaff  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["reindex", "faq-add", "faq-import", "ask"])
    parser.add_argument("db", type=Path)
    parser.add_argument("--count", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--articles", type=Path)
    parser.add_argument("--prefix", default="W")
    args = parser.parse_args()
    settings = Settings.from_env(environ={"BOT_HASH_KEY": "test-key-0123456789abcdef"}, dotenv=Path("/nonexistent"))
    runtime = open_runtime(settings, db_path=args.db, quiet=True)
    staff = FaqStaff(runtime.store, runtime.segmenter)
    deadline = time.monotonic() + args.seconds
    print(json.dumps({"ready": True}), flush=True)
    for i in range(args.count):
        if time.monotonic() > deadline:
            break
        started = time.perf_counter()
        try:
            if args.mode == "reindex":
                done, summary = runtime.operations.reindex(args.articles, wait_s=60, replace=True)
                assert done, summary
                result = {"documents": runtime.store.passages.counts().documents}
            elif args.mode == "faq-add":
                record = staff.add(question=f"{args.prefix}号测试问题{i}关于公租房？", answer=f"{args.prefix}-{i} 的答案。",
                                   source="test", actor="test:worker", force=True)
                result = {"id": record.id, "question": record.question}
            elif args.mode == "faq-import":
                with tempfile.TemporaryDirectory() as tmp:
                    path = Path(tmp) / "imp.csv"
                    with path.open("w", encoding="utf-8", newline="") as handle:
                        writer = csv.writer(handle)
                        writer.writerow(["id", "question", "alternates", "answer", "source"])
                        writer.writerow([f"{args.prefix}{i}", f"{args.prefix}导入问题{i}？", "", f"导入答案{i}。", "t"])
                    staff.import_file(path, actor="test:worker")
                result = {"id": f"{args.prefix}{i}"}
            else:
                answer = runtime.service.answer("宛城区2020年脱贫多少人？")
                result = {"kind": answer.kind, "right": "2652" in answer.citations[0].quote if answer.citations else False}
            print(json.dumps({"ok": True, "ms": (time.perf_counter() - started) * 1000, **result},
                             ensure_ascii=False), flush=True)
        except Exception as exc:  # the test reads and asserts on these lines
            print(json.dumps({"ok": False, "error": f"{type(exc).__name__}: {exc}"}, ensure_ascii=False), flush=True)
    runtime.close()


if __name__ == "__main__":
    main()
