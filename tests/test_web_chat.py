"""Resident chat API in process: the answer contract, rate limits per session and per IP,
feedback tokens bound to the session, bad requests."""

from __future__ import annotations

import pytest

from tests.console_support import make_client

CONTRACT = {"question", "answer", "kind", "confidence", "citations", "suggestions", "latency_ms"}


@pytest.fixture
def client(runtime, settings):
    with make_client(runtime, settings) as c:
        yield c


def test_chat_page_is_public_and_mobile_ready(client):
    page = client.get("/")
    assert page.status_code == 200
    assert 'name="viewport"' in page.text and 'id="message"' in page.text and "/api/chat" in page.text


def test_chat_returns_the_answer_contract_and_logs_the_question(client, runtime):
    response = client.post("/api/chat", json={"message": "宛城区2020年脱贫多少人？", "session": "resident-0001"})
    data = response.json()
    assert response.status_code == 200 and CONTRACT <= set(data)
    assert data["kind"] == "faq" and "2652" in data["answer"] and data["citations"][0]["title"]
    assert data["suggestions"] and data["feedback"]
    assert runtime.conversation.writer.flush(5)  # the log row is written after the reply
    assert runtime.store.log.count_since("2000-01-01")[0] == 1
    assert runtime.store.log.questions_since("2000-01-01")[0].channel == "web"


def test_feedback_token_works_only_for_its_session(client, runtime):
    data = client.post("/api/chat", json={"message": "宛城区2020年脱贫多少人？", "session": "resident-0002"}).json()
    forged = client.post("/api/feedback", json={"token": data["feedback"], "helpful": False, "session": "someone-else"})
    assert forged.status_code == 403
    qid = int(data["feedback"].split(".")[0])
    assert client.post("/api/feedback", json={"token": f"{qid}.deadbeef", "helpful": False,
                                              "session": "resident-0002"}).status_code == 403
    ok = client.post("/api/feedback", json={"token": data["feedback"], "helpful": False, "session": "resident-0002"})
    assert ok.json() == {"ok": True}
    rows = runtime.store.reports.feedback(value=-1)
    assert [r.id for r in rows] == [qid]


def test_rate_limit_per_session(runtime, settings):
    from dataclasses import replace

    with make_client(runtime, replace(settings, rate_limit_per_minute=3)) as client:
        codes = [client.post("/api/chat", json={"message": "扶贫车间有多少个", "session": "resident-0003"}).status_code
                 for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        limited = client.post("/api/chat", json={"message": "扶贫车间有多少个", "session": "resident-0003"}).json()
        assert "太快" in limited["answer"] and CONTRACT <= set(limited)
        other = client.post("/api/chat", json={"message": "扶贫车间有多少个", "session": "resident-0004"})
        assert other.status_code == 200


def test_rate_limit_per_ip_across_sessions(runtime, settings):
    from dataclasses import replace

    from channels.web.chat import IP_FACTOR

    with make_client(runtime, replace(settings, rate_limit_per_minute=1)) as client:
        codes = [client.post("/api/chat", json={"message": "你好", "session": f"resident-{i:04d}"}).status_code
                 for i in range(IP_FACTOR + 1)]
        assert codes == [200] * IP_FACTOR + [429]


@pytest.mark.parametrize("body", [b"not json", b"[1,2]", b'{"message": 5}', b'{"session": "x"}'])
def test_bad_requests_get_400_not_500(client, body):
    response = client.post("/api/chat", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400


def test_script_in_message_comes_back_as_json_text(client):
    data = client.post("/api/chat", json={"message": "<script>alert(1)</script>", "session": "resident-0005"}).json()
    assert data["kind"] == "none" and "<script>" in data["question"]
