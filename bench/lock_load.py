"""Issue 14 acceptance: ``/wechat`` at 500 requests/s (open loop) for 30 s while another process
holds SQLite's write lock for 10 s in the middle. Counts lost answers, 5xx and p99.

Usage (repository root, virtualenv active)::

    python bench/lock_load.py [--rate 500] [--duration 30] [--lock-at 10] [--lock-for 10]
        [--connections 300] [--warm-up] [--json FILE] [--keep]

Everything runs on 127.0.0.1 and is started here: a database built with ``bot.py reindex`` under
bench/out/lock-*/, ``bot.py serve`` on it (plaintext mode, random token, BOT_RATE_LIMIT 10000),
and, from ``--lock-at`` to ``--lock-at + --lock-for`` seconds into the load, a second process
that runs ``BEGIN IMMEDIATE`` on the same file and sleeps (the hostile tester's probe).

The load is open loop: message *i* is due at ``i / rate`` s whatever happened before (no
coordinated omission); each message is one asyncio task taking a keep-alive connection from a
pool (bench/wechat_load.py's raw client). The platform is emulated: a delivery that gets no
HTTP reply within 5 s is abandoned (connection closed) and the message is delivered again with
the same MsgId, four deliveries in all (Passive_user_reply_message). A message is **answered**
when a delivery gets 200 with a non-empty reply other than ``success`` within its 5 s; it is
**lost** otherwise. Latency is from the due time to the answer. The question mix is
bench/wechat_load.py's (data/eval/*.jsonl, small talk, 「更多」; 299 distinct) from 2,000 users.
The connections are opened before the load; ``--warm-up`` also asks each question once first
(not measured), so the answer caches are as warm as on a server that has been running. Without
it the first seconds are the cold start: at 500/s uncached answers queue up behind one worker.

Afterwards the script waits (bounded) until /healthz reports an empty question-log queue, stops
the server by PID and checks the log: exactly one question row per MsgId
(bench/loadlib.py ``check_log``). Prints JSON; exit status 1 when a check fails.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx

import loadlib as L  # first: puts the repository root on sys.path
from wechat_load import RawConnection, load_questions, process_cpu_s

#: Seconds the platform waits for a reply before it retries, and deliveries per message.
PLATFORM_WAIT_S, DELIVERIES = 5.0, 4
LOCK_HOLDER = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=60)
conn.execute("BEGIN IMMEDIATE")
conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('bench_lock', 'held')")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
conn.execute("COMMIT")
"""
IO_ERRORS = (OSError, asyncio.IncompleteReadError, ValueError)


class CountedConnection(RawConnection):
    """bench/wechat_load.py's raw keep-alive client, counting TCP connections opened."""

    opened = 0

    async def post(self, params: dict, body: bytes) -> tuple[int, str]:
        if self.writer is None:
            CountedConnection.opened += 1
        return await super().post(params, body)

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        CountedConnection.opened += 1


class Pool:
    """Keep-alive raw connections to ``url``; a connection abandoned mid-request is replaced."""

    def __init__(self, url: str, size: int) -> None:
        self.url, self.free = url, asyncio.Queue()
        for _ in range(size):
            self.free.put_nowait(CountedConnection(url))

    async def connect(self) -> None:
        """Open every connection before the load (the platform keeps its connections open),
        in batches of 50 so the listen backlog is not flooded."""
        conns = [self.free.get_nowait() for _ in range(self.free.qsize())]
        for start in range(0, len(conns), 50):
            await asyncio.gather(*(c.open() for c in conns[start:start + 50]))
        for c in conns:
            self.free.put_nowait(c)

    async def post(self, params: dict, body: bytes, timeout: float) -> tuple[int, str]:
        conn = await self.free.get()
        try:
            result = await asyncio.wait_for(conn.post(params, body), timeout)
        except BaseException:
            conn.close()  # a half-read reply cannot be reused
            self.free.put_nowait(CountedConnection(self.url))
            raise
        self.free.put_nowait(conn)
        return result


class LockLoad:
    def __init__(self, args, url: str, token: str) -> None:
        self.args, self.url, self.token = args, url, token
        self.rng = random.Random(args.seed)
        self.questions = load_questions()
        self.users = [f"oLock_{i:05d}" for i in range(2000)]
        self.first_id = int(time.time()) * 100000
        self.statuses, self.errors, self.deliveries = Counter(), Counter(), Counter()
        self.latencies: list[float] = []
        self.by_phase: dict[str, list[float]] = {"before_lock": [], "during_lock": [], "after_lock": []}
        self.lost: list[int] = []
        self.msg_ids: set[int] = set()
        self.in_lock: Counter = Counter()

    async def message(self, pool: Pool, index: int, due: float, lock_window: tuple[float, float]) -> None:
        msg_id, user = self.first_id + index, self.rng.choice(self.users)
        text = self.rng.choice(self.questions)
        self.msg_ids.add(msg_id)
        during_lock = lock_window[0] <= due <= lock_window[1]
        phase = "during_lock" if during_lock else "before_lock" if due < lock_window[0] else "after_lock"
        for delivery in range(1, DELIVERIES + 1):
            sent_at = time.perf_counter()
            params, body = L.wechat_request(self.token, None, user, msg_id, text, str(self.rng.randrange(10**9)))
            try:
                status, reply = await pool.post(params, body, PLATFORM_WAIT_S)
            except TimeoutError:
                self.errors["no reply within 5 s (platform retries)"] += 1
                continue
            except IO_ERRORS as exc:
                self.errors[type(exc).__name__] += 1
                await asyncio.sleep(max(0.0, PLATFORM_WAIT_S - (time.perf_counter() - sent_at)))
                continue
            self.statuses[status] += 1
            content = L.wechat_content(reply, None) if status == 200 else ""
            if content and content != "success":
                self.latencies.append((time.perf_counter() - due) * 1000)
                self.by_phase[phase].append(self.latencies[-1])
                self.deliveries[delivery] += 1
                self.in_lock["answered" if during_lock else "answered_outside"] += 1
                return
            break  # success or an error status: the platform shows nothing and does not retry
        self.lost.append(msg_id)

    async def warm_up(self, pool: Pool) -> float:
        """Ask every question of the mix once (20 at a time, not measured), as a server that has
        been running for a while has; returns the seconds it took."""
        started, ids = time.perf_counter(), iter(range(10**6, 2 * 10**6))
        questions = list(dict.fromkeys(self.questions))

        async def worker():
            while questions:
                text, msg_id = questions.pop(), self.first_id + next(ids)
                self.msg_ids.add(msg_id)
                params, body = L.wechat_request(self.token, None, f"oWarm_{msg_id % 2000}", msg_id, text,
                                                str(self.rng.randrange(10**9)))
                await pool.post(params, body, 30.0)
        await asyncio.gather(*(worker() for _ in range(20)))
        return round(time.perf_counter() - started, 1)

    async def run(self, lock_db: Path) -> dict:
        args = self.args
        pool = Pool(self.url, args.connections)
        await pool.connect()
        warm_up_s = await self.warm_up(pool) if args.warm_up else None
        total = int(args.rate * args.duration)
        started = time.perf_counter()
        lock_window = (started + args.lock_at, started + args.lock_at + args.lock_for)
        lock_task = asyncio.create_task(hold_lock(lock_db, args.lock_at, args.lock_for))
        tasks = []
        for i in range(total):
            due = started + i / args.rate
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            tasks.append(asyncio.create_task(self.message(pool, i, due, lock_window)))
        sending = time.perf_counter() - started
        await asyncio.gather(*tasks)
        lock = await lock_task
        return {"offered_rate": args.rate, "messages": total, "warm_up_s": warm_up_s, "send_seconds": round(sending, 1),
                "achieved_rate": round(total / sending, 1), "answered": len(self.latencies), "lost": len(self.lost),
                "answered_by_delivery": dict(sorted(self.deliveries.items())),
                "answered_due_during_lock": self.in_lock["answered"],
                "latency_ms": L.percentiles(self.latencies),
                "latency_ms_by_due_time": {k: L.percentiles(v) for k, v in self.by_phase.items()},
                "connections_opened": CountedConnection.opened, "status": dict(sorted(self.statuses.items())),
                "errors": dict(self.errors), "lock": lock}


async def hold_lock(db: Path, at: float, seconds: float) -> dict:
    """Another process holding the write lock from ``at`` s for ``seconds`` s; when it held it."""
    await asyncio.sleep(at)
    t0 = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", LOCK_HOLDER, str(db), str(seconds),
                                                stdout=asyncio.subprocess.PIPE)
    line = await proc.stdout.readline()
    held_at = time.perf_counter()
    await proc.wait()
    return {"held": line.strip() == b"locked", "waited_for_lock_s": round(held_at - t0, 2),
            "held_s": round(time.perf_counter() - held_at, 2), "status": proc.returncode}


async def watch_healthz(base: str, stop: asyncio.Event) -> dict:
    """/healthz every 0.5 s: status counts and the largest question-log backlog seen."""
    statuses, pending = Counter(), 0
    async with httpx.AsyncClient(timeout=10.0) as http:
        while not stop.is_set():
            try:
                reply = await http.get(base + "/healthz")
                statuses[reply.status_code] += 1
                pending = max(pending, reply.json()["question_log"]["pending"])
            except (httpx.HTTPError, ValueError, KeyError) as exc:
                statuses[type(exc).__name__] += 1
            try:
                await asyncio.wait_for(stop.wait(), 0.5)
            except TimeoutError:
                pass
    return {"status": dict(statuses), "max_pending_log_writes": pending}


async def drain(base: str, timeout: float = 120.0) -> float:
    """Seconds until /healthz reports no pending log writes (bounded by ``timeout``)."""
    started = time.monotonic()
    async with httpx.AsyncClient(timeout=10.0) as http:
        while time.monotonic() - started < timeout:
            if (await http.get(base + "/healthz")).json()["question_log"]["pending"] == 0:
                break
            await asyncio.sleep(0.5)
    return round(time.monotonic() - started, 1)


async def main_async(args, workdir: Path) -> dict:
    db = workdir / "index.db"
    env, token, _ = L.environment(False, db, L.ROOT / "data" / "articles")
    subprocess.run(L.bot_command("reindex", "--db", str(db)), cwd=L.ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    port, log_path = L.free_port(), workdir / "server.log"
    server = L.start_server(env, port, db, log_path)
    base = f"http://127.0.0.1:{port}"
    try:
        await L.wait_healthy(base, server)
        cpu_before = process_cpu_s(server.pid)
        stop = asyncio.Event()
        watcher = asyncio.create_task(watch_healthz(base, stop))
        load = LockLoad(args, base + "/wechat", token)
        report = await load.run(db)
        report["server_cpu_s"] = round(process_cpu_s(server.pid) - cpu_before, 1)
        report["log_drain_s"] = await drain(base)
        stop.set()
        report["healthz"] = await watcher
    finally:
        report_status = L.stop_process(server)
    report["server_exit"] = report_status
    report["log"] = L.check_log(db, load.msg_ids)
    report["server_log"] = L.server_log_summary(log_path)
    statuses = [*report["status"], *report["healthz"]["status"]]
    report["checks"] = {"no_lost_answers": report["lost"] == 0,
                        "no_5xx": not any(isinstance(s, int) and s >= 500 for s in statuses),
                        "lock_was_held": report["lock"]["held"] and report["lock"]["held_s"] >= args.lock_for * 0.9,
                        "one_log_row_per_msgid": report["log"]["ok"]}
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=500.0, help="messages per second offered (default 500)")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of load (default 30)")
    parser.add_argument("--lock-at", type=float, default=10.0, help="seconds into the load the lock is taken")
    parser.add_argument("--lock-for", type=float, default=10.0, help="seconds the lock is held (default 10)")
    parser.add_argument("--connections", type=int, default=300, help="keep-alive connections (default 300)")
    parser.add_argument("--warm-up", action="store_true",
                        help="ask every question of the mix once before the measured load (warm caches)")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--json", type=Path, help="also write the report here")
    parser.add_argument("--keep", action="store_true", help="keep bench/out/lock-*/ (database, server log)")
    args = parser.parse_args(argv)
    if not (0 < args.rate <= 2000 and 0 < args.duration <= 300 and args.lock_at + args.lock_for <= args.duration):
        parser.error("need 0 < rate <= 2000, 0 < duration <= 300 and the lock inside the load")
    workdir = L.ROOT / "bench" / "out" / f"lock-{time.strftime('%Y%m%d-%H%M%S')}"
    workdir.mkdir(parents=True)
    try:
        report = asyncio.run(main_async(args, workdir))
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    text = json.dumps(report, ensure_ascii=False, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")
    return 0 if all(report["checks"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
