"""FAQ edits at scale: how long the first answer after an edit takes with N entries.

Builds a database with N synthetic FAQ entries (town x topic x aspect phrasings, three
alternates each, answers of ~60 characters) beside the bundled article, opens the runtime the
way `bot.py serve` does, answers once (warm), then for each of several edits (add an
alternate, change an answer, add an entry, disable an entry) times the first
``Service.answer`` after the edit: the FAQ version changed, so the service brings its matcher
up to date (in place, :meth:`faq.matcher.FaqMatcher.update`) inside that answer. For
comparison it times a full matcher build over the same entries (what every edit cost before),
and a staff ``faq add`` with its near-duplicate check (the staff matcher is built once per
process, then updated in place too).

Usage: python3 bench/faq_scale.py [--entries 10000] [--db /tmp/faqm-scale.db]
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.runtime import open_runtime  # noqa: E402
from app.settings import Settings  # noqa: E402
from faq.matcher import FaqMatcher  # noqa: E402
from faq.staff import FaqStaff  # noqa: E402

TOWNS = ["官庄镇", "瓦店镇", "红泥湾镇", "黄台岗镇", "金华乡", "高庙镇", "溧河乡", "汉冢乡", "茶庵乡", "新店乡",
         "仲景街道", "东关街道", "五里堡街道", "新华街道", "汉冶街道", "白河街道", "枣林街道", "赤虎街道"]
TOPICS = ["低保", "临时救助", "特困供养", "医疗救助", "居民医保", "大病保险", "慢性病鉴定", "家庭医生签约",
          "残疾人补贴", "高龄津贴", "养老保险", "雨露计划", "助学贷款", "营养餐补助", "危房改造", "公益岗位",
          "技能培训", "务工交通补助", "创业担保贷款", "小额信贷", "产业奖补", "土地流转", "防返贫监测",
          "农村改厕", "饮水安全", "孤儿生活费", "扶贫车间招工", "退役军人优待", "电商服务站", "光伏收益"]
ASPECTS = [("怎么申请", "去哪里办", "要走什么程序"), ("需要什么材料", "要带哪些证件", "材料清单"),
           ("标准是多少", "能领多少钱", "补助标准"), ("找哪个部门", "咨询电话是多少", "由谁负责"),
           ("什么时候发放", "几月份到账", "发放时间"), ("哪些人可以享受", "对象是谁", "条件是什么"),
           ("多久能办好", "审核要几天", "办理时限"), ("可以网上办吗", "手机上能办不", "线上办理"),
           ("不符合条件怎么办", "被拒了怎么申诉", "复核渠道"), ("有什么新变化", "今年调整了吗", "最新政策"),
           ("需要本人到场吗", "能代办吗", "委托办理"), ("和其他补助能同时领吗", "能重复享受吗", "叠加享受"),
           ("户口不在本地能办吗", "外地户口", "异地办理"), ("资金怎么发", "打到哪个卡上", "发放方式"),
           ("办理进度怎么查", "怎么查结果", "进度查询"), ("有没有年龄限制", "多大岁数能办", "年龄要求"),
           ("收费吗", "要交钱吗", "费用"), ("要公示吗", "公示多久", "公示"), ("会被取消吗", "什么情况会停发", "退出"),
           ("政策依据是什么", "根据哪个文件", "文件依据")]


def synthetic(n: int) -> list[dict]:
    """``n`` distinct entries (town x topic x aspect; ids X00001...)."""
    out = []
    for i, (town, topic, aspect) in enumerate(itertools.product(TOWNS, TOPICS, ASPECTS)):
        if i >= n:
            break
        head, *alts = aspect
        out.append({"id": f"X{i + 1:05d}", "question": f"{town}{topic}{head}？",
                    "alternates": [f"{town}的{topic}{alts[0]}", f"{topic}{alts[1]}（{town}）", f"{town}{topic}{head}"],
                    "answer": f"{town}居民办理{topic}相关事项，请携带身份证和户口簿到{town}便民服务中心{topic}窗口咨询，"
                              f"工作人员按照区里最新政策一次性告知办理要求。",
                    "source": "合成测试数据", "tags": []})
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=10000)
    parser.add_argument("--db", type=Path, default=Path("/tmp/faqm-scale.db"))
    parser.add_argument("--rounds", type=int, default=3, help="times each edit is repeated")
    args = parser.parse_args()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{args.db}{suffix}").unlink(missing_ok=True)
    settings = Settings.from_env()
    runtime = open_runtime(settings, db_path=args.db, quiet=True)
    store, service = runtime.store, runtime.service
    started = time.perf_counter()
    store.faq.write_many(synthetic(args.entries), actor="bench", origin="import")
    print(f"{len(store.faq.all(status='active'))} active FAQ entries written in {time.perf_counter() - started:.1f} s")
    question = "官庄镇低保怎么申请"
    started = time.perf_counter()
    service.answer(question)
    print(f"first answer (matcher built from scratch): {1000 * (time.perf_counter() - started):.0f} ms")
    service.cache_size = 0
    warm = []
    for _ in range(10):
        started = time.perf_counter()
        service.answer(question)
        warm.append(1000 * (time.perf_counter() - started))
    print(f"warm answer: median {statistics.median(warm):.1f} ms")
    staff = FaqStaff(store, runtime.segmenter)
    edits = {
        "add an alternate": lambda k: staff.edit("X00001", actor="bench", add_alternates=f"官庄低保咋办{k}"),
        "change an answer": lambda k: staff.edit("X00002", actor="bench", answer=f"新的答案第{k}版：到官庄镇便民服务中心办理。"),
        "add an entry": lambda k: staff.add(question=f"新增测试问题第{k}号关于秸秆禁烧补助", answer="以乡镇通知为准。",
                                            actor="bench", force=True),
        "disable an entry": lambda k: staff.disable(f"X{100 + k:05d}", actor="bench"),
    }
    worst = 0.0
    for name, edit in edits.items():
        times = []
        for k in range(args.rounds):
            edit(k)
            started = time.perf_counter()
            answer = service.answer(question)
            times.append(1000 * (time.perf_counter() - started))
        worst = max(worst, max(times))
        print(f"first answer after '{name}': {' / '.join(f'{t:.0f}' for t in times)} ms ({answer.kind})")
    started = time.perf_counter()
    staff.add(question="秸秆综合利用有奖补吗？", answer="以乡镇通知为准。", actor="bench")
    first_check = time.perf_counter() - started
    started = time.perf_counter()
    staff.add(question="高标准农田建设怎么申报？", answer="向乡镇农业服务中心申报。", actor="bench")
    print(f"staff add with the near-duplicate check: first {first_check:.1f} s (builds the staff matcher), "
          f"next {1000 * (time.perf_counter() - started):.0f} ms (updated in place)")
    records = store.faq.all(status="active")
    started = time.perf_counter()
    FaqMatcher(records, runtime.segmenter)
    print(f"full matcher build over {len(records)} entries (the old cost of every edit): "
          f"{time.perf_counter() - started:.2f} s")
    print(f"worst first answer after an edit: {worst:.0f} ms (target < 200 ms)")
    runtime.close()


if __name__ == "__main__":
    main()
