"""Issue 6 benchmark: the bot against a jieba + bm25s baseline on CMRC 2018 dev and DRCD dev.

One run builds the corpora (one ``<pid>.txt`` per passage, ``title:`` front matter, DRCD left
in traditional script), indexes them with ``python bot.py reindex`` in a child process,
answers every question through the bot's own Service (``channel="bench"``, not logged) and
prints, per dataset, ours vs the baseline (bench/baseline.py) with ratios and the issue-6
targets. Definitions:

* passage hit@1: the doc of ``citations[0]`` of a passage answer is the gold passage (an
  abstention or FAQ answer is a miss); hit@5: the gold passage is among the first 5 distinct
  documents of the retriever's ranked candidates (captured from ``service.retriever``);
* answer-sentence hit@1: ``citations[0].quote`` contains a gold answer and has at most two
  sentences (cut after 。！？；!?;); abstentions and FAQ answers are misses;
* latency: ``Answer.latency_ms`` after one untimed pass over the first 50 questions (warm);
* index build: wall time of the reindex command; peak RSS from getrusage (KB -> MB).

Also: a combined index (seed article + all passages) for latency, reindex time and the
distractor check on data/eval/dev_questions.jsonl (vs a seed-only index), and with --scale
synthetic corpora of 2k/5k/20k documents. Temporary files live under bench/out/ (git-ignored).

Usage: python bench/run.py [--datasets cmrc,drcd] [--limit N] [--combined N] [--scale]
                           [--json FILE] [--keep] [--examples N]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.evaluate import evaluate, load_questions, percentile  # noqa: E402
from app.runtime import open_runtime  # noqa: E402
from app.settings import Settings  # noqa: E402
from bench import baseline, datasets  # noqa: E402
from bench.datasets import OUT, Dataset, reindex, sentence_count, split_sentences  # noqa: E402

WARMUP = 50
SCALE_SIZES = (2000, 5000, 20000)
SCALE_QUESTIONS = 300
#: Issue 6 targets: (metric label, threshold, higher is better).
TARGETS = {"cmrc_sentence": 0.75, "drcd_sentence": 0.85, "passage_hit1": 0.98, "p95_ms": 20.0, "reindex_s": 30.0,
           "in_scope_drop": 0.02}
NAMES = {"cmrc": "CMRC 2018 dev (simplified)", "drcd": "DRCD dev (traditional)"}


def rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024


def open_index(db: Path):
    """The bot's runtime on ``db`` with the repeated-question cache off: every figure here is
    the full answer path (the warm-up questions are asked again in the timed pass)."""
    runtime = open_runtime(Settings.from_env(), db_path=db, build_if_missing=False, quiet=True)
    runtime.service.cache_size = 0
    return runtime


def ask(runtime, questions: list[dict], pid_of: dict[str, str], gold_text: dict[str, str]) -> list[dict]:
    """Answer ``questions`` (after the warm-up pass) and score each one; one record per question."""
    service = runtime.service
    original, last = service.retriever.retrieve, {}

    def capture(query):  # keeps the ranked list, which the Answer does not expose
        last["result"] = original(query)
        return last["result"]

    service.retriever.retrieve = capture
    try:
        for q in questions[:WARMUP]:
            service.answer(q["question"])
        records = []
        for q in questions:
            last["result"] = None
            cpu = time.thread_time()
            answer = service.answer(q["question"])
            cpu_ms = (time.thread_time() - cpu) * 1000
            result, docs = last["result"], []
            for cand in result.ranked if result else []:
                doc = result.rows[cand.key].doc_id
                if doc not in docs:
                    docs.append(doc)
                if len(docs) == 5:
                    break
            ranked = [pid_of.get(d) for d in docs]
            cite = answer.citations[0] if answer.kind == "passage" and answer.citations else None
            cited = pid_of.get(cite.doc_id) if cite else None
            quote = cite.quote if cite else ""
            sentences = sentence_count(quote)
            hit = bool(cite) and sentences <= 2 and any(a and a in quote for a in q["answers"])
            record = {"qid": q["qid"], "pid": q["pid"], "latency_ms": answer.latency_ms, "cpu_ms": cpu_ms, "kind": answer.kind,
                      "hit1": cited == q["pid"], "hit5": q["pid"] in ranked,
                      "top1": bool(ranked) and ranked[0] == q["pid"], "sentence_hit": hit,
                      "quote_chars": len(quote) if cite else None, "long_quote": sentences > 2}
            if not hit:
                if answer.kind != "passage":
                    category = "abstained" if answer.kind == "none" else f"{answer.kind} answer"
                elif cited != q["pid"]:
                    category = "wrong passage"
                elif any(a in s for a in q["answers"] for s in split_sentences(gold_text[q["pid"]])):
                    category = "right passage, other sentence"
                else:
                    category = "answer crosses a sentence end"
                record["miss"] = {"qid": q["qid"], "question": q["question"], "answers": q["answers"],
                                  "kind": answer.kind, "category": category, "gold_pid": q["pid"],
                                  "cited_pid": cited, "quote": quote, "confidence": round(answer.confidence, 3)}
            records.append(record)
    finally:
        del service.retriever.retrieve  # back to the class method
    return records


def summarise(records: list[dict]) -> dict:
    """Rates, mean quote length, latency percentiles and miss categories of ``ask`` records."""
    n = max(len(records), 1)
    latencies = [r["latency_ms"] for r in records]
    cpu = [r["cpu_ms"] for r in records]
    quotes = [r["quote_chars"] for r in records if r["quote_chars"] is not None]
    return {
        "questions": len(records), "kinds": dict(Counter(r["kind"] for r in records)),
        "answer_sentence_hit1": sum(r["sentence_hit"] for r in records) / n,
        "passage_hit1": sum(r["hit1"] for r in records) / n, "passage_hit5": sum(r["hit5"] for r in records) / n,
        "ranking_top1": sum(r["top1"] for r in records) / n,
        "mean_quote_chars": sum(quotes) / max(len(quotes), 1),
        "quotes_over_two_sentences": sum(r["long_quote"] for r in records),
        "latency_p50_ms": percentile(latencies, 50), "latency_p95_ms": percentile(latencies, 95),
        "latency_max_ms": max(latencies, default=0.0), "cpu_p50_ms": percentile(cpu, 50),
        "cpu_p95_ms": percentile(cpu, 95),
        "miss_categories": dict(Counter(r["miss"]["category"] for r in records if "miss" in r).most_common()),
    }


def run_dataset(data: Dataset, work: Path) -> tuple[dict, list[dict]]:
    articles = work / data.name
    pid_of = datasets.write_articles(articles, data.passages)
    build = reindex(articles, work / f"{data.name}.db")
    runtime = open_index(build.db)
    try:
        records = ask(runtime, data.questions, pid_of, {p["pid"]: p["text"] for p in data.passages})
    finally:
        runtime.close()
    metrics, misses = summarise(records), [r["miss"] for r in records if "miss" in r]
    metrics.update(index_build_s=build.seconds, reindex_summary=build.summary, index_mb=build.index_bytes / 2**20,
                   reindex_child_rss_mb=build.child_rss_mb)
    return metrics, misses


def run_combined(sets: list[Dataset], work: Path, sample: int) -> dict:
    """Seed article + every passage of ``sets`` in one index; latency over a shuffled mix of
    the first ``sample`` questions per set (0 = all); dev questions vs a seed-only index."""
    articles = work / "combined"
    datasets.copy_seed(articles)
    pid_of: dict[str, str] = {}
    for data in sets:
        mapping = datasets.write_articles(articles, data.passages)
        if set(mapping) & set(pid_of):
            raise ValueError("doc_id collision between datasets")
        pid_of.update(mapping)
    build = reindex(articles, work / "combined.db")
    mixed = [q for data in sets for q in (data.questions[:sample] if sample else data.questions)]
    random.Random(0).shuffle(mixed)
    dev_rows = load_questions(datasets.DEV_QUESTIONS)
    runtime = open_index(build.db)
    try:
        records = ask(runtime, mixed, pid_of, {p["pid"]: p["text"] for data in sets for p in data.passages})
        dev_report = evaluate(runtime.service, dev_rows, runtime.replies)
        documents = len(runtime.store.passages.documents())
    finally:
        runtime.close()
    seed = reindex(datasets.SEED_ARTICLES, work / "seed.db")
    runtime = open_index(seed.db)
    try:
        seed_dev = evaluate(runtime.service, dev_rows, runtime.replies).summary()
    finally:
        runtime.close()
    metrics = summarise(records)
    origin = {q["qid"]: data.name for data in sets for q in data.questions}
    metrics["per_dataset"] = {data.name: summarise([r for r in records if origin[r["qid"]] == data.name])
                              for data in sets}
    metrics.update(documents=documents, index_build_s=build.seconds, reindex_summary=build.summary,
                   index_mb=build.index_bytes / 2**20, reindex_child_rss_mb=build.child_rss_mb,
                   dev_combined=dev_report.summary(), dev_combined_failures=dev_report.failures,
                   dev_seed_only=seed_dev)
    return metrics


def run_scale(sets: list[Dataset], cmrc_questions: list[dict], work: Path, keep: bool) -> list[dict]:
    rows = []
    questions = cmrc_questions[:SCALE_QUESTIONS]
    for size in SCALE_SIZES:
        articles = work / f"scale{size}"
        chars = datasets.synthetic_corpus(articles, sets, size)
        build = reindex(articles, work / f"scale{size}.db")
        runtime = open_index(build.db)
        try:
            counts = runtime.store.passages.counts()
            service = runtime.service
            for q in questions[:WARMUP]:
                service.answer(q["question"])
            lat, cpu = [], []
            for q in questions:
                started = time.thread_time()
                lat.append(service.answer(q["question"]).latency_ms)
                cpu.append((time.thread_time() - started) * 1000)
        finally:
            runtime.close()
        rows.append({"documents": size, "sentences": counts.sentences, "chars": chars, "index_build_s": build.seconds,
                     "index_mb": build.index_bytes / 2**20, "reindex_child_rss_mb": build.child_rss_mb,
                     "latency_p50_ms": percentile(lat, 50), "latency_p95_ms": percentile(lat, 95),
                     "cpu_p95_ms": percentile(cpu, 95)})
        print(f"  scale {size}: reindex {build.seconds:.1f} s, p95 {rows[-1]['latency_p95_ms']:.1f} ms", flush=True)
        if not keep:
            shutil.rmtree(articles, ignore_errors=True)
            for path in work.glob(f"scale{size}.db*"):
                path.unlink()
    return rows


def code_version() -> str:
    """``git describe``-like id of the measured code: HEAD and how many files differ from it."""
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else "?"
    changed = len([line for line in git("status", "--porcelain", "--untracked-files=no").splitlines() if line])
    return f"{git('rev-parse', '--short', 'HEAD')} + {changed} modified files"


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def show(results: dict, examples: int) -> None:
    line = "-" * 86
    for name, res in results["datasets"].items():
        ours, base = res["ours"], res["baseline"]
        target = TARGETS[f"{name}_sentence"]
        print(f"\n{NAMES[name]}: {res['passages']} passages, {ours['questions']} questions  [{ours['reindex_summary']}]")
        print(f"{'metric':34s}{'ours':>10s}{'baseline':>10s}{'ratio':>8s}   target")
        print(line)
        rows = [("answer-sentence hit@1", "answer_sentence_hit1", f">= {target:.2f}", target),
                ("passage hit@1 (cited doc)", "passage_hit1", f">= {TARGETS['passage_hit1']:.2f}",
                 TARGETS["passage_hit1"]),
                ("passage hit@5 (ranked docs)", "passage_hit5", "", None),
                ("mean quote length (chars)", "mean_quote_chars", "", None),
                ("warm latency p50 (ms)", "latency_p50_ms", "", None),
                ("warm latency p95 (ms)", "latency_p95_ms", "", None),
                ("warm CPU time p95 (ms)", "cpu_p95_ms", "", None),
                ("index build (s)", "index_build_s", "", None)]
        for label, key, text, threshold in rows:
            a, b = ours[key], base[key]
            ratio = f"{a / b:8.2f}" if b else f"{'-':>8s}"
            mark = f"{text} {verdict(a >= threshold)}" if threshold is not None else ""
            print(f"{label:34s}{a:10.3f}{b:10.3f}{ratio}   {mark}")
        print(f"{'ranking top-1 doc (ignores abstain)':34s}{ours['ranking_top1']:10.3f}")
        print(f"{'index file (MB) / reindex RSS (MB)':34s}{ours['index_mb']:10.1f}{ours['reindex_child_rss_mb']:10.0f}")
        print(f"answer kinds: {ours['kinds']};  quotes over two sentences: {ours['quotes_over_two_sentences']}")
        print(f"answer-sentence misses: {ours['miss_categories']}")
        for miss in res["miss_examples"][:examples]:
            print(f"  MISS [{miss['category']}] {miss['question']}  gold={miss['answers'][:2]}  "
                  f"quote={miss['quote'][:90]!r}")
    comb = results.get("combined")
    if comb:
        seed, dev = comb["dev_seed_only"], comb["dev_combined"]
        print(f"\nCombined index (seed + all passages): {comb['documents']} documents  [{comb['reindex_summary']}]")
        print(line)
        print(f"full reindex (s)                  {comb['index_build_s']:10.1f}   <= {TARGETS['reindex_s']:.0f} "
              f"{verdict(comb['index_build_s'] <= TARGETS['reindex_s'])}")
        print(f"warm latency p50 / p95 (ms)       {comb['latency_p50_ms']:10.1f} / {comb['latency_p95_ms']:.1f}   "
              f"p95 <= {TARGETS['p95_ms']:.0f} {verdict(comb['latency_p95_ms'] <= TARGETS['p95_ms'])}  "
              f"(max {comb['latency_max_ms']:.0f}, {comb['questions']} questions; CPU time p50 / p95 "
              f"{comb['cpu_p50_ms']:.1f} / {comb['cpu_p95_ms']:.1f})")
        for name, sub in comb["per_dataset"].items():
            print(f"  {name} on the combined index ({sub['questions']} q): answer-sentence hit@1 "
                  f"{sub['answer_sentence_hit1']:.3f}, passage hit@1 {sub['passage_hit1']:.3f}, "
                  f"hit@5 {sub['passage_hit5']:.3f}, p95 {sub['latency_p95_ms']:.1f} ms")
        print(f"index file {comb['index_mb']:.1f} MB; reindex child peak RSS {comb['reindex_child_rss_mb']:.0f} MB")
        drop = (seed["in_scope_accuracy"] or 0) - (dev["in_scope_accuracy"] or 0)
        lost = (seed["out_of_scope_abstention"] or 0) - (dev["out_of_scope_abstention"] or 0)
        print(f"dev_questions in-scope accuracy   seed-only {seed['in_scope_accuracy']:.3f} ({seed['in_scope']})  "
              f"combined {dev['in_scope_accuracy']:.3f} ({dev['in_scope']})   drop <= 0.02 "
              f"{verdict(drop <= TARGETS['in_scope_drop'] + 1e-9)}")
        print(f"dev_questions out-of-scope abst.  seed-only {seed['out_of_scope_abstention']:.3f} ({seed['out_of_scope']})  "
              f"combined {dev['out_of_scope_abstention']:.3f} ({dev['out_of_scope']})   no loss {verdict(lost <= 1e-9)}")
        for miss in comb["dev_combined_failures"]:
            print(f"  dev miss on combined: {miss['id']} {miss['question']} -> {miss['kind']} "
                  f"{miss['confidence']} {miss['answer'][:70]!r}")
    if results.get("scale"):
        print(f"\nScale (synthetic documents of 8-15 dataset sentences; {SCALE_QUESTIONS} CMRC questions, warm)")
        print(f"{'documents':>10s}{'sentences':>11s}{'reindex s':>11s}{'index MB':>10s}{'RSS MB':>8s}{'p50 ms':>8s}{'p95 ms':>8s}{'cpu p95':>8s}")
        for row in results["scale"]:
            print(f"{row['documents']:10d}{row['sentences']:11d}{row['index_build_s']:11.1f}{row['index_mb']:10.1f}"
                  f"{row['reindex_child_rss_mb']:8.0f}{row['latency_p50_ms']:8.1f}{row['latency_p95_ms']:8.1f}"
                  f"{row['cpu_p95_ms']:8.1f}")
    res = results["resources"]
    print(f"\npeak RSS: bench process {res['bench_rss_mb_after_bot']:.0f} MB after the bot runs, "
          f"{res['bench_rss_mb_final']:.0f} MB at the end (baseline included); largest reindex child "
          f"(RUSAGE_CHILDREN) {res['children_rss_mb']:.0f} MB.  Total run {res['total_s']:.0f} s.")
    print(f"code {res['code']}; load average {res['load_before'][0]:.1f} before, {res['load_after'][0]:.1f} after "
          f"on {res['cpus']} CPUs (other processes inflate wall-clock latency; CPU time is less affected)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", default="cmrc,drcd", help="comma-separated: cmrc, drcd")
    parser.add_argument("--limit", type=int, default=0, help="first N questions per dataset (0 = all)")
    parser.add_argument("--combined", type=int, default=500, metavar="N",
                        help="questions per dataset asked on the combined index (0 = all; default 500)")
    parser.add_argument("--scale", action="store_true", help="also run the 2k/5k/20k synthetic corpora (slow)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="write every figure as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the articles and databases under bench/out/")
    parser.add_argument("--examples", type=int, default=5, help="answer-sentence misses shown per dataset")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.datasets.split(",") if n.strip()]
    if not names or any(n not in datasets.DATASETS for n in names):
        parser.error(f"--datasets: choose from {', '.join(datasets.DATASETS)}")
    started, load_before = time.perf_counter(), os.getloadavg()
    work = OUT / time.strftime("run-%Y%m%d-%H%M%S")
    work.mkdir(parents=True)
    sets = [datasets.load(n, args.limit) for n in names]
    results: dict = {"args": {k: str(v) for k, v in vars(args).items()}, "datasets": {}}
    try:
        for data in sets:
            print(f"[{time.perf_counter() - started:5.0f}s] {data.name}: indexing and asking "
                  f"{len(data.questions)} questions ...", flush=True)
            ours, misses = run_dataset(data, work)
            picked = random.Random(1).sample(misses, min(len(misses), 50))
            results["datasets"][data.name] = {"passages": len(data.passages), "ours": ours, "miss_examples": picked}
            (OUT / f"misses-{data.name}.jsonl").write_text(
                "".join(json.dumps(m, ensure_ascii=False) + "\n" for m in misses), encoding="utf-8")
        print(f"[{time.perf_counter() - started:5.0f}s] combined index and distractors ...", flush=True)
        results["combined"] = run_combined(sets, work, args.combined if not args.limit else 0)
        bench_rss = rss_mb()
        if args.scale:
            print(f"[{time.perf_counter() - started:5.0f}s] scale runs ...", flush=True)
            cmrc = datasets.load("cmrc").questions
            results["scale"] = run_scale([datasets.load(n) for n in datasets.DATASETS], cmrc, work, args.keep)
        for data in sets:
            print(f"[{time.perf_counter() - started:5.0f}s] baseline on {data.name} ...", flush=True)
            results["datasets"][data.name]["baseline"] = baseline.run(data)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    results["resources"] = {"bench_rss_mb_after_bot": bench_rss, "bench_rss_mb_final": rss_mb(),
                            "children_rss_mb": rss_mb(resource.RUSAGE_CHILDREN),
                            "total_s": time.perf_counter() - started, "load_before": load_before,
                            "load_after": os.getloadavg(), "cpus": os.cpu_count(), "code": code_version()}
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8")
    show(results, args.examples)
    if args.keep:
        print(f"kept: {work}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
