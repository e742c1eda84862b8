"""A local stand-in for the Official Account API's access token and 客服消息 endpoints.

How a test uses it::

    with FakeWeChatApi(app_id, app_secret) as fake:   # HTTP server on 127.0.0.1:<ephemeral port>
        fake.expire_next_token_use()                     # the next send with a fresh token gets 42001
        ... CustomerServicePush(app_id, app_secret, base_url=fake.base_url) ...
        [sent] = fake.wait_for_sends(1)
        assert sent.body == b'{"touser":...}'

Protocol facts this mirrors (wechatpy ``client/base.py``; Get_access_token.html and
Service_Center_messages.html of the Official Account docs):

* ``GET /cgi-bin/token?grant_type=client_credential&appid=APPID&secret=SECRET`` answers
  ``{"access_token": "...", "expires_in": 7200}``; a wrong AppID or secret answers
  ``{"errcode": 40125, "errmsg": "invalid appsecret"}`` (40013 for the AppID), with HTTP 200.
* ``POST /cgi-bin/message/custom/send?access_token=TOKEN`` with a JSON body answers
  ``{"errcode": 0, "errmsg": "ok"}``; an unknown token 40001, an expired one 42001; a body
  that is not UTF-8 JSON of a text message 40003/44002-style errors (here 47001).
"""

from __future__ import annotations

import itertools
import json
import threading
import time
import urllib.parse
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Send:
    """One message/custom/send request: the token used, the raw body, the Content-Type and
    the errcode the stand-in answered."""

    token: str
    body: bytes
    content_type: str
    errcode: int


class FakeWeChatApi:
    """The stand-in server (a thread on loopback). Thread-safe; see the module docstring."""

    def __init__(self, app_id: str, app_secret: str) -> None:
        self.app_id, self.app_secret = app_id, app_secret
        self.token_requests: list[dict[str, str]] = []
        self.sends: list[Send] = []
        self.requests = 0
        self._valid: set[str] = set()
        self._counter = itertools.count(1)
        self._expire_next = False
        self._cond = threading.Condition()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> "FakeWeChatApi":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def expire_next_token_use(self) -> None:
        """The next send answers 42001 (access_token expired) and invalidates its token."""
        with self._cond:
            self._expire_next = True

    def wait_for_sends(self, count: int, timeout: float = 15.0) -> list[Send]:
        """The successful sends once there are ``count`` of them; AssertionError on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                done = [s for s in self.sends if s.errcode == 0]
                if len(done) >= count:
                    return done
                left = deadline - time.monotonic()
                assert left > 0, f"expected {count} sends, got {len(done)} of {len(self.sends)} requests"
                self._cond.wait(left)

    # ----------------------------------------------------------------- handling
    def _token(self, query: dict[str, str]) -> dict:
        with self._cond:
            self.token_requests.append(query)
            if query.get("grant_type") != "client_credential":
                return {"errcode": 40002, "errmsg": "invalid grant_type"}
            if query.get("appid") != self.app_id:
                return {"errcode": 40013, "errmsg": "invalid appid"}
            if query.get("secret") != self.app_secret:
                return {"errcode": 40125, "errmsg": "invalid appsecret"}
            token = f"ACCESS_TOKEN_{next(self._counter)}_" + "x" * 100
            self._valid.add(token)
            return {"access_token": token, "expires_in": 7200}

    def _send(self, query: dict[str, str], body: bytes, content_type: str) -> dict:
        token = query.get("access_token", "")
        with self._cond:
            if token not in self._valid:
                errcode = 40001
            elif self._expire_next:
                self._expire_next = False
                self._valid.discard(token)
                errcode = 42001
            else:
                try:
                    message = json.loads(body.decode("utf-8"))
                    ok = (message.get("msgtype") == "text" and isinstance(message.get("touser"), str)
                          and isinstance(message.get("text", {}).get("content"), str))
                except (UnicodeDecodeError, ValueError, AttributeError):
                    ok = False
                errcode = 0 if ok else 47001
            self.sends.append(Send(token, body, content_type, errcode))
            self._cond.notify_all()
        return {"errcode": errcode, "errmsg": "ok" if errcode == 0 else "error"}

    def _handler_class(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet
                pass

            def _answer(self, payload: dict, status: int = 200) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; encoding=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _route(self) -> tuple[str, dict[str, str]]:
                with fake._cond:
                    fake.requests += 1
                parts = urllib.parse.urlsplit(self.path)
                return parts.path, dict(urllib.parse.parse_qsl(parts.query))

            def do_GET(self) -> None:
                path, query = self._route()
                if path == "/cgi-bin/token":
                    self._answer(fake._token(query))
                else:
                    self._answer({"errcode": 404, "errmsg": "not found"}, 404)

            def do_POST(self) -> None:
                path, query = self._route()
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if path == "/cgi-bin/message/custom/send":
                    self._answer(fake._send(query, body, self.headers.get("Content-Type", "")))
                else:
                    self._answer({"errcode": 404, "errmsg": "not found"}, 404)

        return Handler
