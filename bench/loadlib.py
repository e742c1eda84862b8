"""Helpers of bench/mixed_load.py: processes (server, reindex loop), WeChat request building,
percentiles, the question-log check, /healthz polling, verdicts and the printed table.
Nothing here is imported by the bot."""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import string
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from wechat_load import message_xml  # bench/ is sys.path[0] when a bench script runs

from channels.wechat_crypto import MessageCrypto, plain_signature
from channels.wechat_xml import cdata, parse_message


def percentiles(values: list[float]) -> dict:
    """p50/p90/p99/max (ms, one decimal) of ``values``; None entries when it is empty."""
    data = sorted(values)
    if not data:
        return {"n": 0, "p50": None, "p90": None, "p99": None, "max": None}
    at = {p: round(data[min(len(data) - 1, int(p / 100 * len(data)))], 1) for p in (50, 90, 99)}
    return {"n": len(data), "p50": at[50], "p90": at[90], "p99": at[99], "max": round(data[-1], 1)}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def copy_articles(dest: Path, copies: int) -> int:
    """``copies`` copies of every data/articles/*.txt in ``dest`` (distinct stems: distinct doc ids)."""
    dest.mkdir(parents=True, exist_ok=True)
    sources = sorted((ROOT / "data" / "articles").glob("*.txt"))
    for i in range(copies):
        for src in sources:
            shutil.copyfile(src, dest / f"{src.stem}-c{i:03d}.txt")
    return copies * len(sources)


def bot_command(*args: str) -> list[str]:
    return [sys.executable, str(ROOT / "bot.py"), *args]


def start_server(env: dict, port: int, db: Path, log_path: Path) -> subprocess.Popen:
    """``python bot.py serve`` with stdout and stderr going to ``log_path``."""
    with open(log_path, "wb") as log:
        return subprocess.Popen(bot_command("serve", "--host", "127.0.0.1", "--port", str(port), "--db", str(db)),
                                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


async def wait_healthy(base: str, proc: subprocess.Popen, timeout: float = 120.0) -> dict:
    """Poll ``/healthz`` until it answers 200; raises RuntimeError when the server exits or times out."""
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(timeout=2.0) as http:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited with status {proc.returncode} before /healthz answered")
            try:
                reply = await http.get(base + "/healthz")
                if reply.status_code == 200:
                    return reply.json()
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.25)
    raise RuntimeError(f"/healthz did not answer 200 within {timeout:.0f} s")


def stop_process(proc: subprocess.Popen | None, timeout: float = 30.0) -> int | None:
    """SIGTERM this one process (by its PID), wait, SIGKILL if it does not stop. Returns its status."""
    if proc is None:
        return None
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
    return proc.returncode


class ReindexLoop:
    """Runs ``python bot.py reindex --db DB --articles DIR`` back to back until :meth:`stop`."""

    def __init__(self, env: dict, db: Path, articles: Path) -> None:
        self.env, self.db, self.articles = env, db, articles
        self.runs: list[dict] = []
        self._stop = asyncio.Event()
        self._proc: asyncio.subprocess.Process | None = None

    async def run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            self._proc = await asyncio.create_subprocess_exec(
                *bot_command("reindex", "--db", str(self.db), "--articles", str(self.articles)), cwd=ROOT,
                env=self.env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
            out, err = await self._proc.communicate()
            self.runs.append({"status": self._proc.returncode, "seconds": round(time.monotonic() - started, 2),
                              "stdout": out.decode("utf-8", "replace").strip()[-300:],
                              "stderr": err.decode("utf-8", "replace").strip()[-600:]})
            self._proc = None

    async def stop(self, task: asyncio.Task, timeout: float = 60.0) -> None:
        """Start no new reindex; let the running one finish (SIGKILL after ``timeout``)."""
        self._stop.set()
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout)
        except TimeoutError:
            if self._proc is not None and self._proc.returncode is None:
                self._proc.kill()
            await task

    def summary(self) -> dict:
        failed = [r for r in self.runs if r["status"] != 0 or r["stderr"]]
        seconds = [r["seconds"] for r in self.runs]
        return {"completed": len(self.runs), "ok": sum(r["status"] == 0 for r in self.runs),
                "failed": len([r for r in self.runs if r["status"] != 0]),
                "with_stderr": len([r for r in self.runs if r["stderr"]]),
                "seconds_min_max": [min(seconds), max(seconds)] if seconds else None,
                "failures": failed[:5], "last_stdout": self.runs[-1]["stdout"] if self.runs else None}


def wechat_request(token: str, crypto: MessageCrypto | None, user: str, msg_id: int, text: str,
                   nonce: str) -> tuple[dict, bytes]:
    """Query parameters and body of one text message as the platform posts it (fresh timestamp)."""
    now = int(time.time())
    ts = str(now)
    xml = message_xml(user, msg_id, text, now)
    params = {"signature": plain_signature(token, ts, nonce), "timestamp": ts, "nonce": nonce}
    if crypto is None:
        return params, xml.encode("utf-8")
    encrypt, msg_sig = crypto.encrypt(xml, nonce=nonce, timestamp=ts)
    params.update(encrypt_type="aes", msg_signature=msg_sig)
    envelope = f"<xml><ToUserName><![CDATA[gh_loadtest]]></ToUserName><Encrypt>{cdata(encrypt)}</Encrypt></xml>"
    return params, envelope.encode()


def wechat_content(body: str, crypto: MessageCrypto | None) -> str:
    """The reply's Content (decrypted and signature-checked in safe mode), or ``success``.
    Raises on a reply that cannot be read."""
    if body == "success":
        return body
    fields = parse_message(body)
    if crypto is not None:
        fields = parse_message(crypto.decrypt(fields["Encrypt"], msg_signature=fields["MsgSignature"],
                                              timestamp=fields["TimeStamp"], nonce=fields["Nonce"]))
    return fields.get("Content") or ""


def check_log(db: Path, msg_ids: set[int]) -> dict:
    """The question log after the run: is there exactly one ``questions`` row (channel
    'wechat') per MsgId sent, reached through its cached reply (``replies.question_id``)?"""
    conn = sqlite3.connect(db, timeout=30)
    try:
        replies = conn.execute("SELECT dedupe_key, question_id FROM replies WHERE channel='wechat'").fetchall()
        per_channel = dict(conn.execute("SELECT channel, COUNT(*) FROM questions GROUP BY channel").fetchall())
        rows = {r[0] for r in conn.execute("SELECT id FROM questions WHERE channel='wechat'")}
    finally:
        conn.close()
    by_msg: dict[int, list] = {}
    for key, qid in replies:
        if key.startswith("msg:"):
            by_msg.setdefault(int(key.rsplit(":", 1)[1]), []).append(qid)
    missing = msg_ids - set(by_msg)
    qids = [q for m in msg_ids for q in by_msg.get(m, []) if q is not None]
    ok = not missing and len(qids) == len(set(qids)) == len(rows) and set(qids) == rows
    return {"ok": ok, "per_channel": per_channel,
            "wechat": {"rows": len(rows), "msgids": len(msg_ids), "msgids_with_row": len(set(qids)),
                       "msgids_without_row": len(missing), "rows_not_for_a_msgid": len(rows - set(qids)),
                       "replies_without_question": sum(q is None for m in msg_ids for q in by_msg.get(m, []))}}


async def poll_healthz(base: str, stop: asyncio.Event, every: float = 0.5) -> Counter:
    """GET /healthz every ``every`` s until ``stop`` is set; status counts (client errors by name)."""
    statuses: Counter = Counter()
    async with httpx.AsyncClient(timeout=10.0) as http:
        while not stop.is_set():
            try:
                statuses[(await http.get(base + "/healthz")).status_code] += 1
            except httpx.HTTPError as exc:
                statuses[type(exc).__name__] += 1
            try:
                await asyncio.wait_for(stop.wait(), every)
            except TimeoutError:
                pass
    return statuses


def replies_by_chat(fake) -> dict[int, list]:
    """Answered sendMessage calls recorded by the stand-in Bot API, by chat id."""
    by_chat: dict[int, list] = {}
    for call in fake.calls("sendMessage"):
        if call.status is not None:
            by_chat.setdefault(call.params.get("chat_id"), []).append(call)
    return by_chat


async def wait_replies(fake, chats: set[int], *, timeout: float, stall: float = 30.0) -> float:
    """Wait until every chat got a sendMessage, nothing new came for ``stall`` s, or ``timeout``.
    Returns the seconds waited."""
    started = last_change = time.monotonic()
    seen = -1
    while time.monotonic() - started < timeout and time.monotonic() - last_change < stall:
        answered = len(chats & set(replies_by_chat(fake)))
        if answered == len(chats):
            break
        if answered != seen:
            seen, last_change = answered, time.monotonic()
        await asyncio.sleep(0.5)
    return time.monotonic() - started


def server_log_summary(path: Path) -> dict:
    """Counts of WARNING/ERROR lines by logger and message shape, plus tracebacks and 'locked'."""
    text = path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
    kinds: Counter = Counter()
    for line in text.splitlines():
        match = re.match(r"\S+ \S+ (WARNING|ERROR|CRITICAL) (\S+): (.*)", line)
        if match:
            kinds[f"{match.group(1)} {match.group(2)}: {re.sub(r'[0-9]+', 'N', match.group(3))[:100]}"] += 1
    return {"warnings_errors": dict(kinds.most_common(10)), "tracebacks": text.count("Traceback"),
            "locked": text.lower().count("locked")}


def environment(safe: bool, db: Path, articles: Path) -> tuple[dict, str, MessageCrypto | None]:
    """Environment of the server and the reindexes (random WeChat token and hash key;
    safe mode adds a random EncodingAESKey), the token, and the client's crypto."""
    token = "mixed" + secrets.token_hex(8)
    env = {**os.environ, "BOT_DB": str(db), "BOT_ARTICLES": str(articles), "BOT_HASH_KEY": secrets.token_hex(16),
           "BOT_RATE_LIMIT": "10000", "BOT_DEBUG": "", "WECHAT_TOKEN": token, "WECHAT_ENCODING_AES_KEY": "",
           "WECHAT_APP_ID": "", "WECOM_TOKEN": "", "TELEGRAM_ADMIN_IDS": "", "TELEGRAM_STAFF_IDS": "",
           "TELEGRAM_BOT_TOKEN": "", "TELEGRAM_WEBHOOK_URL": "", "TELEGRAM_WEBHOOK_SECRET": ""}
    crypto = None
    if safe:
        key = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(43))
        env.update(WECHAT_ENCODING_AES_KEY=key, WECHAT_APP_ID="wxmixedload0001")
        crypto = MessageCrypto(token, key, "wxmixedload0001")
    return env, token, crypto


def checks(report: dict, *, log_ok: bool, reindex: bool = True) -> dict[str, bool]:
    """The pass/fail verdicts of a mixed_load report (``log_ok``: one WeChat log row per MsgId;
    ``reindex``: the reindex loop was on, so at least one reindex must have completed)."""
    w, t, health = report["wechat"], report["telegram"], report["healthz"]
    statuses = [*w["status"], *t["status"], *health]
    return {
        "no_5xx": not any(isinstance(s, int) and s >= 500 for s in statuses),
        "wechat_every_request_200": set(w["status"]) <= {200} and not w["errors"] and not w["lost"],
        "wechat_retries_identical": not w["retry_mismatches"],
        "wechat_one_log_row_per_msgid": log_ok,
        "telegram_every_post_200": set(t["status"]) <= {200} and not t["errors"],
        "telegram_one_reply_per_update": not (t["missing"] or t["duplicate_replies"] or t["identical_messages"]
                                              or t["failed_sends"] or t["apologies"] or t["stray_messages"]),
        "telegram_one_log_row_per_update": t["log_rows"] == t["updates"],
        "healthz_always_200": set(health) == {200},
        "reindex_ran_without_failure": report["reindex"]["completed"] >= reindex and not report["reindex"]["failed"],
        "answers_right": report["answers_right"]["sampled"] > 0 and report["answers_right"]["wrong"] == 0,
    }


def table(report: dict) -> str:
    """The short human-readable summary printed after the JSON."""
    w, t, r = report["wechat"], report["telegram"], report["reindex"]
    rows = [("wechat POST", w["requests"], w["requests_per_s"], w["latency_ms"], w["status"]),
            ("telegram POST", t["requests"], t["requests_per_s"], t["post_latency_ms"], t["status"]),
            ("telegram e2e", t["answered"], "", t["e2e_latency_ms"], "")]
    lines = [f"{'route':<14}{'sent':>7}{'req/s':>8}{'p50':>9}{'p90':>9}{'p99':>9}{'max':>9}  status (latency ms)"]
    for name, sent, rps, lat, status in rows:
        lines.append(f"{name:<14}{sent:>7}{rps:>8}" + "".join(f"{lat[k]!s:>9}" for k in ("p50", "p90", "p99", "max"))
                     + f"  {status}")
    lines.append(f"wechat: {w['answers']} answers, {w['success_replies']} success, {w['lost']} lost; retries "
                 f"{w['retries']}; {w['log']['rows']} log rows for {w['messages']} MsgIds "
                 f"({w['log']['msgids_without_row']} without a row); transport retries {w['transport_retries']}")
    lines.append(f"telegram: {t['answered']}/{t['updates']} updates answered, {t['duplicate_posts']} duplicate "
                 f"posts, {t['duplicate_replies']} duplicate replies, {t['log_rows']} log rows; "
                 f"waited {t['reply_wait_s']} s for replies; transport retries {t['transport_retries']}")
    lines.append(f"reindex: {r['completed']} completed, {r['failed']} failed, {r['seconds_min_max']} s each; "
                 f"healthz {report['healthz']}; answers right: {report['answers_right']}")
    lines.append("checks: " + ", ".join(f"{k}={'PASS' if v else 'FAIL'}" for k, v in report["checks"].items()))
    return "\n".join(lines)
