"""Webhook mode: starting the webhook registers with the (fake) Bot API; handle() guards the route.

The route is mounted on a Starlette app the way ``app/server.py`` mounts it and driven in the
same event loop through httpx's ASGI transport; one test also runs a real uvicorn server on
127.0.0.1.
"""

from __future__ import annotations

import asyncio
import json
import socket

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.routing import Route

from app.server import telegram_config
from channels.telegram_webhook import SECRET_HEADER, webhook_for
from tests.test_telegram_harness import (  # noqa: F401  (fake is a fixture)
    RESIDENT,
    bot_settings,
    telegram_app,
    fake,
    make_runtime,
    run,
    to_chat,
)

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
URL = "https://bot.example.test/telegram/hook-path"
SECRET = "s3cret-Token_for-tests"
QUESTION = "宛城区2020年脱贫多少人？"


@pytest.fixture(scope="module")
def runtime(tmp_path_factory):
    rt = make_runtime(tmp_path_factory.mktemp("webhook"))
    yield rt
    rt.close()


def asgi_app(webhook) -> Starlette:
    return Starlette(routes=[Route(webhook.route_path, webhook.handle, methods=["POST"])])


async def start_webhook(runtime, settings):
    """Build and start the webhook as ``bot.py serve`` does."""
    config = telegram_config(settings)
    webhook = webhook_for(telegram_app(runtime, settings, polling=False), config)
    await webhook.start(config)
    return webhook


def update(fake, update_id: int, payload: dict) -> dict:
    return {"update_id": update_id, **payload}


def test_secret_checked_duplicates_ignored(fake, runtime):
    settings = bot_settings(fake, TELEGRAM_WEBHOOK_URL=URL, TELEGRAM_WEBHOOK_SECRET=SECRET)

    async def scenario():
        webhook = await start_webhook(runtime, settings)
        try:
            transport = httpx.ASGITransport(app=asgi_app(webhook))
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
                body = update(fake, 500, fake.private_text(RESIDENT, QUESTION))
                path = webhook.route_path
                missing = await client.post(path, json=body)
                wrong = await client.post(path, json=body, headers={SECRET_HEADER: SECRET + "x"})
                empty = await client.post(path, json=body, headers={SECRET_HEADER: ""})
                right = await client.post(path, json=body, headers={SECRET_HEADER: SECRET})
                [answer] = await fake.wait_for_async("sendMessage", predicate=to_chat(RESIDENT))
                again = await client.post(path, json=body, headers={SECRET_HEADER: SECRET})
                bad_json = await client.post(path, content=b"{not json", headers={SECRET_HEADER: SECRET})
                channel = await client.post(path, headers={SECRET_HEADER: SECRET},
                                            json=update(fake, 501, fake.channel_post(-1009876543210, QUESTION)))
                other = await client.post(path, headers={SECRET_HEADER: SECRET},
                                          json=update(fake, 502, fake.private_text(RESIDENT + 1, QUESTION)))
                await fake.wait_for_async("sendMessage", predicate=to_chat(RESIDENT + 1))
                await asyncio.sleep(0.3)  # a duplicate would be answered by now
                return path, [r.status_code for r in (missing, wrong, empty, right, again, bad_json, channel,
                                                       other)], answer
        finally:
            await webhook.stop()

    path, statuses, answer = run(scenario())
    assert path == "/telegram/hook-path"
    assert statuses == [403, 403, 403, 200, 200, 400, 200, 200]
    assert "2652" in answer.result["text"]
    assert len([c for c in fake.calls("sendMessage") if to_chat(RESIDENT)(c)]) == 1  # duplicate dropped
    assert not [c for c in fake.calls("sendMessage") if c.params["chat_id"] == -1009876543210]
    [registered] = fake.calls("setWebhook")
    assert registered.params["url"] == URL and registered.params["secret_token"] == SECRET
    assert registered.params["allowed_updates"] == ["message", "edited_message", "callback_query"]
    assert not fake.calls("getUpdates")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_real_uvicorn_server(fake, runtime):
    settings = bot_settings(fake, TELEGRAM_WEBHOOK_URL=URL, TELEGRAM_WEBHOOK_SECRET=SECRET)
    port = _free_port()

    async def scenario():
        webhook = await start_webhook(runtime, settings)
        server = uvicorn.Server(uvicorn.Config(asgi_app(webhook), host="127.0.0.1", port=port, log_level="warning",
                                               lifespan="off"))
        serving = asyncio.create_task(server.serve())
        try:
            while not server.started:
                await asyncio.sleep(0.01)
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
                body = json.dumps(update(fake, 700, fake.private_text(RESIDENT, QUESTION)))
                refused = await client.post(webhook.route_path, content=body)
                accepted = await client.post(webhook.route_path, content=body, headers={SECRET_HEADER: SECRET,
                                                                                        "content-type": "application/json"})
                [answer] = await fake.wait_for_async("sendMessage", predicate=to_chat(RESIDENT))
                return refused.status_code, accepted.status_code, answer
        finally:
            server.should_exit = True
            await serving
            await webhook.stop()

    refused, accepted, answer = run(scenario())
    assert (refused, accepted) == (403, 200) and "2652" in answer.result["text"]
