"""Regressions from the hostile tester's loopback run against the web channels (chat API,
console) and the staff-edited synonym file."""

from __future__ import annotations

import time

import pytest

from tests.console_support import add_account, csrf, login, make_client


@pytest.fixture
def client(runtime, settings):
    with make_client(runtime, settings) as c:
        yield c


def _chunks(total: int, size: int = 64 * 1024):
    sent = 0
    while sent < total:
        yield b"x" * min(size, total - sent)
        sent += size


def test_chunked_bodies_over_the_limit_get_413_before_they_are_buffered(client):
    """No Content-Length: only counting bytes bounds the body (200 MB once reached the app)."""
    chat = client.post("/api/chat", content=_chunks(2 * 1024 * 1024), headers={"content-type": "application/json"})
    assert chat.status_code == 413
    def multipart():
        yield b'--x\r\nContent-Disposition: form-data; name="file"; filename="a.md"\r\n\r\n'
        yield from _chunks(8 * 1024 * 1024)
    upload = client.post("/admin/login", content=multipart(), headers={"content-type": "multipart/form-data; boundary=x"})
    assert upload.status_code in (400, 413)  # refused either by the form parser or by the byte count


def test_the_body_limit_counts_bytes_an_app_reads():
    """BodyLimits in front of an app that buffers the whole body (as Starlette does)."""
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route
    from starlette.testclient import TestClient

    from app.http_limits import BodyLimits

    seen = []

    async def read_all(request: Request):
        body = await request.body()
        seen.append(len(body))
        return PlainTextResponse(str(len(body)))

    app = Starlette(routes=[Route("/api/x", read_all, methods=["POST"]), Route("/other", read_all, methods=["POST"])],
                    middleware=[Middleware(BodyLimits, limits=(("/api/", 1000),), default=5000)])
    with TestClient(app) as client:
        assert client.post("/api/x", content=_chunks(999, 100)).text == "999"
        assert client.post("/api/x", content=_chunks(1001, 100)).status_code == 413
        assert client.post("/other", content=_chunks(4000, 100)).text == "4000"
        assert client.post("/other", content=_chunks(6000, 100)).status_code == 413
    assert seen == [999, 4000]  # the app never saw an over-long body
    declared = client.post("/api/feedback", content=b"{}", headers={"content-length": str(10 ** 9)})
    assert declared.status_code == 413


@pytest.mark.parametrize("body", [b"[" * 5000 + b"]" * 5000, b'{"message": {"a": ' * 3000 + b"1" + b"}" * 3000])
def test_deeply_nested_json_is_a_bad_request_not_a_500(client, body):
    assert client.post("/api/chat", content=body).status_code == 400


def test_a_lone_surrogate_in_the_message_is_answered(client):
    response = client.post("/api/chat", content='{"message": "\\ud800 宛城区2020年脱贫多少人", "session": "resident-0009"}')
    assert response.status_code == 200 and "2652" in response.json()["answer"]


@pytest.mark.parametrize("token", ["1.é", "².abc", "9" * 5000 + ".ab", "1." + "é" * 30])
def test_odd_feedback_tokens_are_refused_not_500(client, token):
    response = client.post("/api/feedback", json={"token": token, "helpful": False, "session": "resident-0010"})
    assert response.status_code == 403


def test_odd_feedback_sessions_are_refused_not_500(client):
    body = '{"token": "1.abc", "helpful": true, "session": "\\ud800xxxxxxxx"}'
    response = client.post("/api/feedback", content=body)
    assert response.status_code in (400, 403)


def test_superscript_digits_in_console_queries_are_ignored(client, runtime):
    add_account(runtime, "ops1", "admin")
    login(client, "ops1")
    assert client.get("/admin/faq", params={"offset": "²"}).status_code == 200
    assert client.get("/admin/stats", params={"days": "²"}).status_code == 200


def test_logout_ends_the_session_even_for_a_copied_cookie(runtime, settings):
    add_account(runtime, "ops2", "staff")
    with make_client(runtime, settings) as first:
        login(first, "ops2")
        copied = dict(first.cookies)
        assert first.get("/admin/faq").status_code == 200
        token = csrf(first, "/admin/faq")
        assert first.post("/admin/logout", data={"csrf_token": token}).status_code == 303
    with make_client(runtime, settings) as thief:
        thief.cookies.update(copied)
        assert thief.get("/admin/faq").status_code == 303  # back to the login page


def test_a_huge_synonym_line_is_refused_and_a_long_file_loads_in_linear_memory(tmp_path, runtime):
    from ops.synonyms import SynonymError, Synonyms
    from qa.text import MAX_SYNONYM_GROUP, Segmenter, TextResources

    words = [chr(0x4E00 + i // 100) + chr(0x4E00 + i % 100) for i in range(5000)]
    with pytest.raises(SynonymError, match="每行最多"):
        Synonyms.validate(" ".join(words))
    text_dir = tmp_path / "text"
    text_dir.mkdir()
    for name in ("userdict.txt", "stopwords.txt"):
        (text_dir / name).write_text((runtime.settings.text_dir / name).read_text(encoding="utf-8"), encoding="utf-8")
    (text_dir / "synonyms.txt").write_text(" ".join(words) + "\n", encoding="utf-8")  # written by hand
    started = time.monotonic()
    segmenter = Segmenter(TextResources.in_dir(text_dir), cache_dir=None)
    assert time.monotonic() - started < 30
    group = segmenter.synonyms[words[0]]
    assert len(group) <= MAX_SYNONYM_GROUP and segmenter.synonyms[words[1]] is group  # (numerals normalise)
