"""Test harness for the WeChat endpoint: the real `python bot.py serve` in a subprocess,
literal platform XML, and the signing/encryption a platform client does.

The server is started once per test session (the cold start loads jieba and the index) and
shared by tests/test_wechat_server.py and tests/test_wechat_messages.py through
:func:`shared_server`; its stderr goes to a file so tests can check what it logs.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx

from channels.wechat_crypto import MessageCrypto, msg_signature, plain_signature
from channels.wechat_xml import cdata, parse_message

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "wechatTestToken2026"
AES_KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"  # 43 letters and digits
APP_ID = "wx0123456789abcdef"
WECOM_TOKEN = "wecomTestToken2026"
WECOM_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
CORP_ID = "ww0123456789abcdef"
HASH_KEY = "test-hash-key-0123456789abcdef"
RATE_LIMIT = 8
ACCOUNT = "gh_0123456789ab"
QUESTION = "宛城区2020年脱贫多少人？"
CITATION = "来源：《脱贫攻坚 宛城区交出满意答卷》"
#: A staff FAQ entry longer than one WeChat message (about 4,400 UTF-8 bytes), for paging.
LONG_QUESTION = "扶贫车间长篇政策说明在哪里看？"
LONG_ANSWER = "".join(f"第{i}条：扶贫车间吸纳贫困劳动力就近就业，按月发放工资并登记台账，做到务工有保障。"
                      for i in range(1, 41))
#: An FAQ answer that contains the CDATA terminator.
CDATA_QUESTION = "回复里有特殊符号怎么办？"
CDATA_ANSWER = "特殊符号]]>也会原样送达，例如 a]]>b 和 <xml> 都不会破坏回复。"

_SERVERS: dict[str, "ServerProcess"] = {}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def clean_env(**extra: str) -> dict[str, str]:
    """The parent's environment without bot settings, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "TELEGRAM_", "WECHAT_", "WECOM_"))}
    env.update({"PYTHONIOENCODING": "utf-8", "BOT_HASH_KEY": HASH_KEY})
    env.update(extra)
    return env


def server_env(**extra: str) -> dict[str, str]:
    return clean_env(WECHAT_TOKEN=TOKEN, WECHAT_ENCODING_AES_KEY=AES_KEY, WECHAT_APP_ID=APP_ID, WECHAT_MODE="compatible",
                     WECOM_TOKEN=WECOM_TOKEN, WECOM_ENCODING_AES_KEY=WECOM_KEY, WECOM_CORP_ID=CORP_ID,
                     BOT_RATE_LIMIT=str(RATE_LIMIT), **extra)


class ServerProcess:
    """`python bot.py serve` on a free loopback port, ready when /healthz answers."""

    def __init__(self, db: Path, log_path: Path, env: dict[str, str]) -> None:
        self.db, self.log_path, self.port = db, log_path, free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self._log = open(log_path, "wb")
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "bot.py"), "serve", "--host", "127.0.0.1", "--port", str(self.port),
             "--db", str(db)], cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}: {self.log()}")
            try:
                if httpx.get(self.base + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server did not start: {self.log()}")

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


def shared_server(seeded_db: Path, workdir: Path, segmenter) -> ServerProcess:
    """The session's server (started on first use): compatible-mode WeChat (plaintext and
    encrypted POSTs; safe mode is tested in tests/test_hardening.py), WeCom, rate limit 8,
    a database copied from ``seeded_db`` with the two test FAQ entries added by staff
    (``segmenter``: the session's, for the near-duplicate check)."""
    from faq.staff import FaqStaff
    from qa.store import Store

    if "main" not in _SERVERS:
        db = workdir / "wechat.db"
        shutil.copy(seeded_db, db)
        store = Store(db)
        try:
            for question, answer in ((LONG_QUESTION, LONG_ANSWER), (CDATA_QUESTION, CDATA_ANSWER)):
                FaqStaff(store, segmenter).add(question=question, answer=answer, source="测试资料",
                                               actor="test:harness", force=True)
        finally:
            store.close()
        _SERVERS["main"] = ServerProcess(db, workdir / "server.log", server_env())
    return _SERVERS["main"]


# ------------------------------------------------------------------ platform side
def now() -> int:
    return int(time.time())


def signed(token: str = TOKEN, *, timestamp: int | str | None = None, nonce: str = "1357924680",
           **extra: str) -> dict[str, str]:
    """Query parameters of a plaintext-mode request (URL verification or POST)."""
    ts = str(now() if timestamp is None else timestamp)
    return {"signature": plain_signature(token, ts, nonce), "timestamp": ts, "nonce": nonce, **extra}


def text_xml(user: str, content: str, msg_id: int | str, *, to: str = ACCOUNT, create_time: int | None = None,
             msg_type: str = "text") -> str:
    """A 文本消息 as the platform sends it (Receiving_standard_messages)."""
    return (f"<xml><ToUserName>{cdata(to)}</ToUserName><FromUserName>{cdata(user)}</FromUserName>"
            f"<CreateTime>{create_time or now()}</CreateTime><MsgType>{cdata(msg_type)}</MsgType>"
            f"<Content>{cdata(content)}</Content><MsgId>{msg_id}</MsgId></xml>")


def event_xml(user: str, event: str, *, create_time: int | None = None, event_key: str | None = None,
              to: str = ACCOUNT) -> str:
    """An 事件推送 (Receiving_event_pushes)."""
    key = f"<EventKey>{cdata(event_key)}</EventKey>" if event_key is not None else ""
    return (f"<xml><ToUserName>{cdata(to)}</ToUserName><FromUserName>{cdata(user)}</FromUserName>"
            f"<CreateTime>{create_time or now()}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
            f"<Event>{cdata(event)}</Event>{key}</xml>")


def encrypted(crypto: MessageCrypto, xml: str, *, nonce: str = "246813579", timestamp: int | None = None,
              to: str = ACCOUNT, plain_fields: str = "", wecom: bool = False) -> tuple[dict, bytes]:
    """(query, body) of a safe-mode (or, with ``plain_fields``, compatible-mode) POST."""
    ts = str(now() if timestamp is None else timestamp)
    encrypt, signature = crypto.encrypt(xml, nonce=nonce, timestamp=ts)
    query = {"timestamp": ts, "nonce": nonce, "msg_signature": signature}
    if not wecom:
        query.update(signature=plain_signature(crypto.token, ts, nonce), encrypt_type="aes")
    body = f"<xml><ToUserName>{cdata(to)}</ToUserName>{plain_fields}<Encrypt>{cdata(encrypt)}</Encrypt></xml>"
    return query, body.encode("utf-8")


def open_reply(crypto: MessageCrypto, text: str) -> tuple[dict, dict]:
    """(envelope fields, decrypted reply fields) of an encrypted reply; the reply's
    MsgSignature is checked by ``decrypt`` (raises InvalidSignature otherwise)."""
    envelope = parse_message(text)
    assert set(envelope) == {"Encrypt", "MsgSignature", "TimeStamp", "Nonce"}, envelope
    assert envelope["MsgSignature"] == msg_signature(crypto.token, envelope["TimeStamp"], envelope["Nonce"],
                                                     envelope["Encrypt"])
    inner = crypto.decrypt(envelope["Encrypt"], msg_signature=envelope["MsgSignature"],
                           timestamp=envelope["TimeStamp"], nonce=envelope["Nonce"])
    return envelope, parse_message(inner)


def user_hash(channel: str, user: str) -> str:
    """What qa.service stores for a user (HMAC-SHA256 with BOT_HASH_KEY, 32 hex)."""
    return hmac.new(HASH_KEY.encode(), f"{channel}:{user}".encode(), hashlib.sha256).hexdigest()[:32]


def _count_rows(sql: str, db: Path, user: str, channel: str, wait_for: int | None) -> int:
    """Rows of ``user``. The question log is written by a background writer after the reply, not
    before it: with ``wait_for``, polls (up to 10 s) until that many exist; without, returns the
    count once it has stopped changing (0.3 s; 1 s for zero rows)."""
    deadline, last, stable_since = time.monotonic() + 10, None, time.monotonic()
    while True:
        with sqlite3.connect(db) as conn:
            count = conn.execute(sql, (user_hash(channel, user),)).fetchone()[0]
        now = time.monotonic()
        if wait_for is not None and count == wait_for or now > deadline:
            return count
        if count != last:
            last, stable_since = count, now
        elif wait_for is None and now - stable_since >= (0.3 if count else 1.0):
            return count
        time.sleep(0.05)


def question_rows(db: Path, user: str, channel: str = "wechat", *, wait_for: int | None = None) -> int:
    return _count_rows("SELECT COUNT(*) FROM questions WHERE user_hash=?", db, user, channel, wait_for)


def reply_rows(db: Path, user: str, channel: str = "wechat", *, wait_for: int | None = None) -> int:
    return _count_rows("SELECT COUNT(*) FROM replies WHERE user_hash=?", db, user, channel, wait_for)


def wechat_crypto() -> MessageCrypto:
    return MessageCrypto(TOKEN, AES_KEY, APP_ID)


def wecom_crypto() -> MessageCrypto:
    return MessageCrypto(WECOM_TOKEN, WECOM_KEY, CORP_ID)
