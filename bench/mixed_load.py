"""Issue 7, item 5: loopback load test of ``python bot.py serve`` with WeChat and Telegram
webhook traffic at the same time, while ``python bot.py reindex`` runs in a loop.

Usage (repository root, virtualenv active)::

    python bench/mixed_load.py [--duration 60] [--wechat-requests 3000] [--telegram-updates 600]
        [--clients 100] [--safe] [--json FILE] [--keep] [--no-reindex]

Everything runs on 127.0.0.1 and is started here: a stand-in Bot API (tests/support/
fake_bot_api.py), the server (its own database under bench/out/mixed-*/, BOT_ARTICLES = ~100
copies of data/articles/*.txt), and a loop of ``bot.py reindex --db SAME_DB --articles DIR``.
Half the clients post signed WeChat text messages (raw keep-alive client of
bench/wechat_load.py, closed loop, distinct MsgIds; ~2% are retried with the same MsgId, half
of those concurrently), the other half post Telegram updates with the secret header (open loop
spread over 80% of --duration, since PTB's AIORateLimiter sends ~30 calls/s; one private chat
per update; ~2% are posted again ~2.5 s later). The load stops at --duration or when both
counts are sent; /healthz is polled twice a second meanwhile. The script then waits (bounded)
for every Telegram reply, stops everything by PID, reads the question log and prints JSON and
a table. Exit status 1 when a check fails. The webhook URL given to the server is
https://127.0.0.1:PORT/telegram/<random> (the stand-in, like Telegram, refuses http URLs; the
server only routes on the path) and the load posts to that path over plain loopback HTTP.
A request that gets no HTTP reply at all (connection reset) is sent again once, as both
platforms redeliver; these are reported as ``transport_retries``, a second failure as ``errors``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx

import loadlib as L  # first: puts the repository root on sys.path
from wechat_load import RawConnection, load_questions, process_cpu_s

from channels.telegram import TEXT_APOLOGY
from channels.telegram_webhook import SECRET_HEADER
from channels.wechat_messages import is_more_command
from tests.support.fake_bot_api import FakeBotApi

CHECK_QUESTION, CHECK_FACT = "宛城区2020年脱贫多少人？", "2652"
CHECK_SHARE, RETRY_SHARE, DUP_DELAY_S = 0.05, 0.02, 2.5
#: A Telegram reply split in several messages has parts at least this long (all but the last).
SPLIT_PART_MIN = 1000
IO_ERRORS = (OSError, asyncio.IncompleteReadError, ValueError, httpx.HTTPError)


class WeChatLoad:
    """Closed-loop clients on /wechat; ``first[msg_id]`` = (question, status, content)."""

    def __init__(self, url: str, token: str, crypto, questions: list[str], total: int, rng: random.Random):
        self.url, self.token, self.crypto, self.rng = url, token, crypto, rng
        self.questions, self.total = questions, total
        self.users = [f"oMixed_{i:05d}" for i in range(2000)]
        self.next_id, self.sent = int(time.time()) * 100000, 0  # MsgIds: distinct from earlier runs
        self.latencies, self.statuses, self.errors, self.transport_retries = [], Counter(), Counter(), Counter()
        self.first: dict[int, tuple] = {}
        self.retries, self.mismatches, self.finished = Counter(), [], 0.0

    async def post(self, conn: RawConnection, user: str, msg_id: int, text: str) -> tuple[int | None, str | None]:
        for attempt in (1, 2):  # no HTTP reply at all: sent again once, as the platform retries
            nonce = str(self.rng.randrange(10**9))
            params, body = L.wechat_request(self.token, self.crypto, user, msg_id, text, nonce)
            started = time.perf_counter()
            try:
                status, reply = await conn.post(params, body)
                break
            except IO_ERRORS as exc:
                (self.transport_retries if attempt == 1 else self.errors)[type(exc).__name__] += 1
        else:
            return None, None
        self.latencies.append((time.perf_counter() - started) * 1000)
        self.statuses[status] += 1
        try:
            return status, (L.wechat_content(reply, self.crypto) if status == 200 else None)
        except Exception as exc:  # noqa: BLE001  (an unreadable reply is a finding, not a crash)
            self.errors[f"bad reply: {type(exc).__name__}"] += 1
            return status, None

    def summary(self, started: float, log: dict) -> dict:
        replies = [content for _, _, content in self.first.values()]
        seconds = self.finished - started
        return {"messages": len(self.first), "requests": sum(self.statuses.values()), "seconds": round(seconds, 1),
                "requests_per_s": round(sum(self.statuses.values()) / seconds, 1),
                "latency_ms": L.percentiles(self.latencies), "status": dict(self.statuses),
                "errors": dict(self.errors), "transport_retries": dict(self.transport_retries),
                "answers": sum(r not in (None, "", "success") for r in replies),
                "success_replies": replies.count("success"), "lost": sum(r in (None, "") for r in replies),
                "retries": dict(self.retries), "retry_mismatches": self.mismatches[:10], "log": log,
                "check_replies": [CHECK_FACT in c for q, _, c in self.first.values()
                                  if q == CHECK_QUESTION and c not in (None, "", "success")]}

    def compare(self, msg_id: int, first: str | None, again: str | None) -> None:
        if first and again and "success" not in (first, again) and first != again:
            self.mismatches.append(msg_id)
        elif first == "success" and again not in (None, "success"):
            self.retries["late answer delivered on retry"] += 1

    async def client(self, stop_at: float) -> None:
        conn = RawConnection(self.url)
        try:
            while self.sent < self.total and time.perf_counter() < stop_at:
                self.sent, self.next_id = self.sent + 1, self.next_id + 1
                msg_id, user = self.next_id, self.rng.choice(self.users)
                text = CHECK_QUESTION if self.rng.random() < CHECK_SHARE else self.rng.choice(self.questions)
                draw = self.rng.random()
                if draw < RETRY_SHARE / 2:  # retry while the first delivery is in flight
                    extra = RawConnection(self.url)
                    try:
                        (status, content), (_, again) = await asyncio.gather(
                            self.post(conn, user, msg_id, text), self.post(extra, user, msg_id, text))
                    finally:
                        extra.close()
                    self.retries["concurrent"] += 1
                    self.compare(msg_id, content, again)
                else:
                    status, content = await self.post(conn, user, msg_id, text)
                    if draw < RETRY_SHARE:  # retry after the reply (cached path)
                        self.retries["sequential"] += 1
                        self.compare(msg_id, content, (await self.post(conn, user, msg_id, text))[1])
                self.first[msg_id] = (text, status, content)
        finally:
            conn.close()
            self.finished = max(self.finished, time.perf_counter())


class TelegramLoad:
    """Open-loop webhook posts; one private chat per update_id; duplicates re-post the same body."""

    def __init__(self, fake: FakeBotApi, url: str, secret: str, questions: list[str], total: int, rate: float,
                 rng: random.Random):
        self.fake, self.url, self.secret, self.rate = fake, url, secret, rate
        self.chat_of, self.question, self.posted_at = {}, {}, {}  # by update_id: chat id, text, first post
        self.latencies, self.statuses, self.errors, self.transport_retries = [], Counter(), Counter(), Counter()
        plan = []
        for i in range(total):
            update_id, chat = 500_000 + i, 800_000_000 + i
            text = CHECK_QUESTION if rng.random() < CHECK_SHARE else rng.choice(questions)
            body = json.dumps({"update_id": update_id, **fake.private_text(chat, text)}, ensure_ascii=False).encode()
            self.chat_of[update_id], self.question[update_id] = chat, text
            plan.append((i / rate, update_id, body, False))
            if rng.random() < RETRY_SHARE:
                plan.append((i / rate + DUP_DELAY_S, update_id, body, True))
        self.plan = sorted(plan, key=lambda item: item[0])
        self.sent = self.duplicates = 0

    async def client(self, http: httpx.AsyncClient, items: list, start: float, stop_at: float) -> None:
        headers = {SECRET_HEADER: self.secret, "Content-Type": "application/json"}
        for offset, update_id, body, duplicate in items:
            await asyncio.sleep(max(0.0, start + offset - time.monotonic()))
            if time.monotonic() > stop_at:
                return
            self.sent += 1
            self.duplicates += duplicate
            started = time.monotonic()
            self.posted_at.setdefault(update_id, started)
            for attempt in (1, 2):  # no HTTP reply at all: delivered again once, as Telegram retries
                try:
                    reply = await http.post(self.url, content=body, headers=headers)
                    break
                except IO_ERRORS as exc:
                    (self.transport_retries if attempt == 1 else self.errors)[type(exc).__name__] += 1
                    started = time.monotonic()
            else:
                continue
            self.latencies.append((time.monotonic() - started) * 1000)
            self.statuses[reply.status_code] += 1

    async def run(self, clients: int, stop_at_perf: float) -> None:
        start = time.monotonic()
        stop_at = start + (stop_at_perf - time.perf_counter())
        limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
        async with httpx.AsyncClient(limits=limits, timeout=10.0) as http:
            await asyncio.gather(*(self.client(http, self.plan[k::clients], start, stop_at) for k in range(clients)))
        self.seconds = time.monotonic() - start

    def summary(self, wait_s: float, log_rows: int) -> dict:
        """Replies recorded by the fake: one per update, none twice, none an apology. Several
        messages in one chat are one split reply only when every part but the last is long."""
        by_chat = L.replies_by_chat(self.fake)
        e2e, missing, extra, identical, failed, apologies, right = [], [], 0, 0, 0, [], []
        for update_id, posted in self.posted_at.items():
            calls = by_chat.get(self.chat_of[update_id], [])
            texts = [c.params.get("text", "") for c in calls]
            extra += sum(len(t) < SPLIT_PART_MIN for t in texts[:-1])
            identical += len(texts) - len(set(texts))
            failed += sum(c.status != 200 for c in calls)
            apologies += [update_id] if any(TEXT_APOLOGY in t for t in texts) else []
            if self.question[update_id] == CHECK_QUESTION:
                right += [CHECK_FACT in t for t in texts]
            if calls:
                e2e.append((min(c.time for c in calls) - posted) * 1000)
            else:
                missing.append(update_id)
        expected = {self.chat_of[u] for u in self.posted_at}
        return {"updates": len(self.posted_at), "requests": self.sent, "duplicate_posts": self.duplicates,
                "seconds": round(self.seconds, 1), "requests_per_s": round(self.sent / self.seconds, 1),
                "post_latency_ms": L.percentiles(self.latencies), "e2e_latency_ms": L.percentiles(e2e),
                "status": dict(self.statuses), "errors": dict(self.errors),
                "transport_retries": dict(self.transport_retries), "reply_wait_s": round(wait_s, 1),
                "answered": len(self.posted_at) - len(missing), "missing": missing[:10], "duplicate_replies": extra,
                "identical_messages": identical, "failed_sends": failed, "apologies": apologies[:10],
                "stray_messages": sum(len(v) for chat, v in by_chat.items() if chat not in expected),
                "log_rows": log_rows, "check_replies": right}


async def run(args) -> dict:
    out = L.ROOT / "bench" / "out" / f"mixed-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    db, articles = out / "load.db", out / "articles"
    documents = L.copy_articles(articles, args.copies)
    env, token, crypto = L.environment(args.safe, db, articles)
    await asyncio.to_thread(subprocess.run, L.bot_command("reindex", "--db", str(db), "--articles", str(articles)),
                            cwd=L.ROOT, env=env, check=True, capture_output=True)  # so the server starts at once
    rng = random.Random(args.seed)
    questions = [q for q in load_questions() if not is_more_command(q)]
    fake = FakeBotApi(token="4242:MixedLoadToken").start()
    port, secret = L.free_port(), secrets.token_urlsafe(24)
    hook_path = "/telegram/" + secrets.token_urlsafe(12)
    base = f"http://127.0.0.1:{port}"
    # https: the stand-in refuses other webhook URLs (as Telegram does); only the path is routed.
    server_env = {**env, "TELEGRAM_BOT_TOKEN": fake.token, "TELEGRAM_BASE_URL": fake.base_url,
                  "TELEGRAM_WEBHOOK_URL": f"https://127.0.0.1:{port}{hook_path}", "TELEGRAM_WEBHOOK_SECRET": secret}
    half = max(1, args.clients // 2)
    wechat = WeChatLoad(base + "/wechat", token, crypto, questions, args.wechat_requests, rng)
    telegram = TelegramLoad(fake, base + hook_path, secret, questions, args.telegram_updates,
                            args.telegram_updates / max(args.duration * 0.8, 1.0), rng)
    reindex = L.ReindexLoop(env, db, articles)
    server = rtask = None
    health_stop = asyncio.Event()
    try:
        server = L.start_server(server_env, port, db, out / "server.log")
        channels = (await L.wait_healthy(base, server))["channels"]
        if not {"wechat", "telegram"} <= set(channels):
            raise RuntimeError(f"server channels {channels}: see {out / 'server.log'}")
        rtask = None if args.no_reindex else asyncio.create_task(reindex.run())
        health_task = asyncio.create_task(L.poll_healthz(base, health_stop))
        cpu0, started = process_cpu_s(server.pid), time.perf_counter()
        stop_at = started + args.duration
        await asyncio.gather(telegram.run(args.clients - half, stop_at),
                             *(wechat.client(stop_at) for _ in range(half)))
        elapsed = time.perf_counter() - started
        waited = await L.wait_replies(fake, {telegram.chat_of[u] for u in telegram.posted_at},
                                      timeout=max(120.0, args.telegram_updates / 5))
        await asyncio.sleep(2.0)  # a late duplicate reply would show up here
        server_cpu = process_cpu_s(server.pid) - cpu0
        health_stop.set()
        health = await health_task
    except BaseException:
        print(f"load test aborted; server log: {out / 'server.log'}", file=sys.stderr)
        raise
    finally:
        try:
            if rtask is not None:
                await reindex.stop(rtask)
        finally:  # by PID, whatever happened above
            server_status = L.stop_process(server)
            fake.stop()
    log = L.check_log(db, set(wechat.first))
    w = wechat.summary(started, log["wechat"])
    t = telegram.summary(waited, log["per_channel"].get("telegram", 0))
    right = w.pop("check_replies") + t.pop("check_replies")
    report = {
        "command": " ".join(["python", *sys.argv]),
        "config": {"duration_s": args.duration, "clients": {"wechat": half, "telegram": args.clients - half},
                   "mode": "safe" if crypto else "plaintext", "articles": documents,
                   "reindex_loop": not args.no_reindex, "telegram_offered_per_s": round(telegram.rate, 1),
                   "out": str(out) if args.keep else None},
        "load_seconds": round(elapsed, 1),
        "server": {"exit_status": server_status, "cpu_s": round(server_cpu, 1),
                   "log": L.server_log_summary(out / "server.log")},
        "wechat": w, "telegram": t, "healthz": dict(health), "reindex": reindex.summary(),
        "answers_right": {"sampled": len(right), "wrong": right.count(False)},
    }
    report["checks"] = L.checks(report, log_ok=log["ok"], reindex=not args.no_reindex)
    if not args.keep:
        shutil.rmtree(out, ignore_errors=True)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load (default 60)")
    parser.add_argument("--wechat-requests", type=int, default=3000, help="WeChat messages at most (default 3000)")
    parser.add_argument("--telegram-updates", type=int, default=600, help="Telegram updates (default 600)")
    parser.add_argument("--clients", type=int, default=100, help="concurrent clients, split evenly (default 100)")
    parser.add_argument("--copies", type=int, default=100, help="copies of data/articles for the index (default 100)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--safe", action="store_true", help="WeChat safe mode (encrypted requests and replies)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the report to FILE")
    parser.add_argument("--no-reindex", action="store_true", help="baseline: no reindex loop during the load")
    parser.add_argument("--keep", action="store_true", help="keep bench/out/mixed-*/ (database, articles, server log)")
    args = parser.parse_args(argv)
    if args.clients < 2:
        parser.error("--clients must be at least 2 (one per route)")
    report = asyncio.run(run(args))
    text = json.dumps(report, ensure_ascii=False, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")
    print(L.table(report))
    return 0 if all(report["checks"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
