"""Server time per staff-console page with 5,000 FAQ entries and 100,000 logged questions
(issue 15 asks for < 100 ms per page).

Builds a private database from data/articles and the seed FAQ, adds synthetic FAQ entries and
question-log rows spread over the last 30 days (60 % answered, 40 % unanswered, suggested or
hedged; texts drawn from a few thousand distinct questions, as real logs repeat), then requests
every page in process through the real app (Starlette TestClient, logged in as an admin) and
reports the first request (cold caches) and the median and max of ``--repeat`` more.

    python3 bench/console_bench.py [--faq 5000] [--questions 100000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TOPICS = ["低保", "医保", "养老金", "助学贷款", "危房改造", "扶贫车间", "小额信贷", "残疾人补贴", "高龄津贴", "公益岗位",
          "临时救助", "技能培训", "产业奖补", "光伏收益", "饮水安全", "电商培训", "合作医疗", "大病保险", "雨露计划", "教育补助"]
FORMS = ["{p}{t}怎么申请", "{p}{t}找哪个部门", "{p}{t}每月发多少钱", "{p}{t}需要什么材料", "{p}{t}什么时候发放",
         "{p}{t}的条件是什么", "{p}{t}在哪里办理", "{p}{t}可以网上办吗"]
PLACES = ["", "宛城区", "瓦店镇", "红泥湾镇", "黄台岗镇", "金华乡", "茶庵乡", "汉冢乡", "高庙镇", "溧河乡", "新店乡"]
PAGES = ["/admin/faq", "/admin/faq?q=低保", "/admin/faq?status=disabled", "/admin/faq?tag=民政", "/admin/faq/B00042",
         "/admin/faq/new", "/admin/faq/import", "/admin/unanswered", "/admin/test?q=宛城区2020年脱贫多少人",
         "/admin/test?q=瓦店镇低保怎么申请", "/admin/feedback", "/admin/stats", "/admin/stats?days=90",
         "/admin/documents", "/admin/staff", "/admin/synonyms", "/admin/check", "/admin/faq/export.csv", "/"]


def build(db: Path, n_faq: int, n_questions: int, seed: int = 7) -> None:
    """Fill ``db`` (already indexed) with synthetic FAQ entries and logged questions."""
    from qa.store import Store

    rng = random.Random(seed)
    store = Store(db)
    entries = []
    for i in range(n_faq):
        place, topic, form = rng.choice(PLACES), rng.choice(TOPICS), rng.choice(FORMS)
        question = form.format(p=place, t=topic) + f"（第{i}号）"
        entries.append({"id": f"B{i:05d}", "question": question,
                        "alternates": [f.format(p=rng.choice(PLACES), t=topic) + f"#{i}" for f in rng.sample(FORMS, 2)],
                        "answer": f"请到{place or '所在乡镇'}便民服务中心咨询{topic}（编号{i}）。",
                        "source": rng.choice(["区民政局", "区人社局", "区医保局", "区教体局"]),
                        "tags": [rng.choice(["民政", "社保", "教育", "医疗"])],
                        **({"status": "disabled"} if i % 20 == 0 else {})})
    store.faq.write_many(entries, actor="bench", origin="import")
    texts = [rng.choice(FORMS).format(p=rng.choice(PLACES), t=rng.choice(TOPICS)) + rng.choice(["", "？", "呢", "啊"])
             for _ in range(3000)]
    now = time.time()
    rows = []
    for i in range(n_questions):
        at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 30 * 86400 * (n_questions - i) / n_questions))
        r = rng.random()
        if r < 0.6:
            kind, outcome, faq_id = "faq", "answered", f"B{rng.randrange(n_faq):05d}"
        else:
            kind, outcome, faq_id = "none", rng.choice(["unanswered", "suggested", "hedged"]), None
        rows.append((at, "wechat", f"u{rng.randrange(20000)}", rng.choice(texts), kind, outcome,
                     round(rng.random(), 3), faq_id, None, "[]", -1 if rng.random() < 0.01 else None))
    with store.db.write() as conn:
        conn.executemany("INSERT INTO questions(at, channel, user_hash, text_norm, kind, outcome, confidence, faq_id, "
                         "doc_id, candidates, feedback) VALUES (?,?,?,?,?,?,?,?,?,?,?)", rows)
    store.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--faq", type=int, default=5000)
    parser.add_argument("--questions", type=int, default=100000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    from app.runtime import open_runtime
    from app.server import build_app
    from app.settings import Settings
    from ops.accounts import StaffAccounts

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient
    from tests.console_support import login

    settings = Settings.from_env(environ={"BOT_HASH_KEY": "bench-key-0123456789abcdef"}, dotenv=Path("/nonexistent"))
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "index.db"
        started = time.perf_counter()
        open_runtime(settings, db_path=db, quiet=True).close()
        build(db, args.faq, args.questions)
        print(f"built {args.faq} FAQ entries + {args.questions} logged questions in "
              f"{time.perf_counter() - started:.1f} s")
        runtime = open_runtime(settings, db_path=db, quiet=True)
        StaffAccounts(runtime.store).add("bench", "admin", "bench-password", actor="bench")
        with TestClient(build_app(runtime, settings), follow_redirects=False) as client:
            login(client, "bench", "bench-password")
            print(f"{'page':45} {'first ms':>9} {'median ms':>10} {'max ms':>8} {'status':>6} {'KB':>7}")
            worst = 0.0
            for path in PAGES:
                t0 = time.perf_counter()
                client.get(path)  # first request: builds the FAQ matcher, fills the figure caches
                first = (time.perf_counter() - t0) * 1000
                times, response = [], None
                for _ in range(args.repeat):
                    t0 = time.perf_counter()
                    response = client.get(path)
                    times.append((time.perf_counter() - t0) * 1000)
                median = statistics.median(times)
                worst = max(worst, median) if not path.endswith(".csv") else worst
                print(f"{path:45} {first:9.1f} {median:10.1f} {max(times):8.1f} {response.status_code:6} "
                      f"{len(response.content) / 1024:7.1f}")
            print(f"slowest page (median, export excluded): {worst:.1f} ms")
        runtime.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
