"""Loopback load test of ``/wechat``: text messages from concurrent clients, as the platform
sends them (signed, fresh timestamp and nonce, distinct MsgIds), against a running server.

Usage (two shells)::

    WECHAT_TOKEN=... BOT_RATE_LIMIT=10000 python bot.py serve --port 8080 --db /tmp/load.db
    WECHAT_TOKEN=... python bench/wechat_load.py --url http://127.0.0.1:8080/wechat \
        --clients 50 --requests 3000 --duration 30 [--client raw] [--rate 150] [--safe] \
        [--server-pid PID]

The run stops at ``--requests`` or ``--duration`` seconds, whichever comes first, and prints
JSON: requests/s, latency percentiles (ms), HTTP status counts, how many replies were
``success`` (no answer inside the deadline) instead of an answer, unreadable replies, and
CPU ms per request of the client (and of the server with ``--server-pid``, from /proc).

* Closed loop (default): each client sends its next request when the last reply arrived,
  so requests/s is the server's capacity and latency is mostly queueing (Little's law:
  mean latency = clients / throughput).
* ``--rate R``: open loop at R requests/s in total, latency counted from the scheduled
  send time; this is the latency residents see at that load.
* ``--client raw``: a minimal keep-alive HTTP/1.1 client instead of httpx.AsyncClient,
  which costs 2-3 ms CPU per request, enough to starve the server on a 2-core machine.
* ``--safe``: safe-mode messages (needs WECHAT_ENCODING_AES_KEY and WECHAT_APP_ID, read
  through :mod:`app.settings` like the server does); every reply is decrypted and its
  signature checked.

Issue 5's target on a 2-core machine: >= 300 requests/s with p99 < 100 ms at 50 clients.
The question mix: every question of data/eval/*.jsonl (in-scope passages, FAQ paraphrases,
out-of-scope), a few small-talk lines and 「更多」, drawn at random with a fixed seed; 2,000
distinct users so the per-user rate limit reflects real traffic, not one hammering client
(start the server with a high BOT_RATE_LIMIT all the same).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.settings import Settings  # noqa: E402
from channels.wechat_crypto import MessageCrypto, plain_signature  # noqa: E402
from channels.wechat_xml import cdata, parse_message  # noqa: E402

SMALL_TALK = ["你好", "谢谢", "你是谁", "更多", "在吗"]


def load_questions() -> list[str]:
    """Questions of data/eval/*.jsonl plus small talk; at least one."""
    questions = []
    for path in sorted((ROOT / "data" / "eval").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                if row.get("question"):
                    questions.append(row["question"])
    return questions + SMALL_TALK


def message_xml(user: str, msg_id: int, text: str, now: int) -> str:
    return (f"<xml><ToUserName><![CDATA[gh_loadtest]]></ToUserName><FromUserName>{cdata(user)}</FromUserName>"
            f"<CreateTime>{now}</CreateTime><MsgType><![CDATA[text]]></MsgType><Content>{cdata(text)}</Content>"
            f"<MsgId>{msg_id}</MsgId></xml>")


def process_cpu_s(pid: int | None) -> float | None:
    """User + system CPU seconds of process ``pid`` from /proc (Linux), or None."""
    if not pid:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class RawConnection:
    """A minimal HTTP/1.1 keep-alive client for one connection (``--client raw``).

    httpx spends 2-3 ms of CPU per request here, which on a 2-core machine competes with
    the server being measured; this writes the request bytes and reads a Content-Length
    response (uvicorn always sends one for these replies), reconnecting when the server
    closes. Raises ``ValueError`` for a response it cannot frame.
    """

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host, self.port, self.path = parts.hostname, parts.port or 80, parts.path or "/"
        self.reader = self.writer = None

    async def post(self, params: dict, body: bytes) -> tuple[int, str]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        head = (f"POST {self.path}?{urlencode(params)} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                f"Content-Type: text/xml\r\nContent-Length: {len(body)}\r\n\r\n")
        self.writer.write(head.encode("ascii") + body)
        try:
            status_line = await self.reader.readuntil(b"\r\n")
            status = int(status_line.split(b" ", 2)[1])
            length, close = None, False
            while (line := await self.reader.readuntil(b"\r\n")) != b"\r\n":
                name, _, value = line.decode("latin-1").partition(":")
                name = name.strip().lower()
                if name == "content-length":
                    length = int(value)
                elif name == "connection" and "close" in value.lower():
                    close = True
            if length is None:
                raise ValueError("response without Content-Length")
            text = (await self.reader.readexactly(length)).decode("utf-8")
        except BaseException:
            self.close()
            raise
        if close:
            self.close()
        return status, text

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


class Load:
    def __init__(self, args, token: str, crypto: MessageCrypto | None) -> None:
        self.args, self.token, self.crypto = args, token, crypto
        self.rng = random.Random(args.seed)
        self.questions = load_questions()
        self.users = [f"oLoad{args.seed:04d}_{i:05d}" for i in range(args.users)]
        self.next_id = int(time.time()) * 100000
        self.latencies: list[float] = []
        self.statuses: Counter = Counter()
        self.success_replies = 0
        self.errors: Counter = Counter()
        self.sent = 0

    def request(self) -> tuple[dict, bytes]:
        self.next_id += 1
        now = int(time.time())
        ts, nonce = str(now), str(self.rng.randrange(10**9))
        xml = message_xml(self.rng.choice(self.users), self.next_id, self.rng.choice(self.questions), now)
        params = {"signature": plain_signature(self.token, ts, nonce), "timestamp": ts, "nonce": nonce}
        if self.crypto is None:
            return params, xml.encode("utf-8")
        encrypt, msg_sig = self.crypto.encrypt(xml, nonce=nonce, timestamp=ts)
        params.update(encrypt_type="aes", msg_signature=msg_sig)
        return params, f"<xml><ToUserName><![CDATA[gh_loadtest]]></ToUserName><Encrypt>{cdata(encrypt)}</Encrypt></xml>".encode()

    def check(self, status: int, text: str) -> None:
        if status != 200:
            return
        if text == "success":
            self.success_replies += 1
            return
        fields = parse_message(text)
        if self.crypto is not None:
            fields = parse_message(self.crypto.decrypt(fields["Encrypt"], msg_signature=fields["MsgSignature"],
                                                       timestamp=fields["TimeStamp"], nonce=fields["Nonce"]))
        if not fields.get("Content"):
            self.errors["empty reply"] += 1

    async def client(self, post, stop_at: float, index: int) -> None:
        """One client. Closed loop: the next request leaves when the last reply arrived.
        With ``--rate R`` (open loop) each of the N clients sends every N/R s and latency
        counts from the scheduled send time, so a server that falls behind is not hidden
        (no coordinated omission)."""
        interval = self.args.clients / self.args.rate if self.args.rate else 0.0
        next_at = time.perf_counter() + interval * index / self.args.clients
        while self.sent < self.args.requests and time.perf_counter() < stop_at:
            self.sent += 1
            params, body = self.request()
            if interval:
                await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
                started, next_at = next_at, next_at + interval
            else:
                started = time.perf_counter()
            try:
                status, text = await post(params, body)
            except (httpx.HTTPError, OSError, asyncio.IncompleteReadError, ValueError) as exc:
                self.errors[type(exc).__name__] += 1
                continue
            self.latencies.append((time.perf_counter() - started) * 1000)
            self.statuses[status] += 1
            try:
                self.check(status, text)
            except Exception as exc:  # a reply we cannot read is a finding, not a crash
                self.errors[f"bad reply: {type(exc).__name__}"] += 1

    async def run(self) -> dict:
        usage, server_cpu = resource.getrusage(resource.RUSAGE_SELF), process_cpu_s(self.args.server_pid)
        started = time.perf_counter()
        stop_at = started + self.args.duration
        if self.args.client == "httpx":
            limits = httpx.Limits(max_connections=self.args.clients, max_keepalive_connections=self.args.clients)
            async with httpx.AsyncClient(limits=limits, timeout=10.0) as http:
                async def post(params, body):
                    response = await http.post(self.args.url, params=params, content=body,
                                               headers={"Content-Type": "text/xml"})
                    return response.status_code, response.text
                await asyncio.gather(*(self.client(post, stop_at, i) for i in range(self.args.clients)))
        else:
            connections = [RawConnection(self.args.url) for _ in range(self.args.clients)]
            try:
                await asyncio.gather(*(self.client(c.post, stop_at, i) for i, c in enumerate(connections)))
            finally:
                for c in connections:
                    c.close()
        elapsed = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_SELF)
        client_cpu = after.ru_utime - usage.ru_utime + after.ru_stime - usage.ru_stime
        server_cpu = (process_cpu_s(self.args.server_pid) - server_cpu) if server_cpu is not None else None
        lat = sorted(self.latencies)
        per_request = max(len(lat), 1)

        def pct(p: float) -> float:
            return round(lat[min(len(lat) - 1, int(p / 100 * len(lat)))], 1) if lat else float("nan")

        return {"mode": "safe" if self.crypto else "plaintext", "client": self.args.client,
                "offered_rate": self.args.rate or "closed loop",
                "clients": self.args.clients,
                "requests": len(lat), "seconds": round(elapsed, 2),
                "requests_per_s": round(len(lat) / elapsed, 1) if elapsed else 0.0,
                "latency_ms": {"p50": pct(50), "p90": pct(90), "p99": pct(99), "max": round(lat[-1], 1) if lat else None,
                               "mean": round(statistics.fmean(lat), 1) if lat else None},
                "status": dict(sorted(self.statuses.items())), "success_replies": self.success_replies,
                "errors": dict(self.errors),
                "cpu_ms_per_request": {"client": round(client_cpu * 1000 / per_request, 2),
                                       "server": round(server_cpu * 1000 / per_request, 2) if server_cpu else None}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8080/wechat")
    parser.add_argument("--clients", type=int, default=50, help="concurrent clients (default 50)")
    parser.add_argument("--requests", type=int, default=3000, help="stop after this many requests (default 3000)")
    parser.add_argument("--duration", type=float, default=30.0, help="stop after this many seconds (default 30)")
    parser.add_argument("--users", type=int, default=2000, help="distinct FromUserName values (default 2000)")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--safe", action="store_true", help="safe mode (encrypted requests and replies)")
    parser.add_argument("--rate", type=float, default=0.0,
                        help="open loop: offer this many requests/s in total (default: closed loop)")
    parser.add_argument("--server-pid", type=int, help="report the server's CPU ms per request (Linux /proc)")
    parser.add_argument("--client", choices=("httpx", "raw"), default="httpx",
                        help="httpx.AsyncClient (default) or a minimal keep-alive client that leaves "
                             "more of a small machine's CPU to the server")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    if not settings.wechat_token:
        parser.error("set WECHAT_TOKEN to the server's token")
    crypto = None
    if args.safe:
        if not (settings.wechat_aes_key and settings.wechat_app_id):
            parser.error("--safe needs WECHAT_ENCODING_AES_KEY and WECHAT_APP_ID")
        crypto = MessageCrypto(settings.wechat_token, settings.wechat_aes_key, settings.wechat_app_id)
    report = asyncio.run(Load(args, settings.wechat_token, crypto).run())
    print(json.dumps(report, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
