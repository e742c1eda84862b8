"""Helpers for the console tests: an in-process app on a private database, logins, CSRF tokens."""

from __future__ import annotations

import re
import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette's notice about httpx2
    from starlette.testclient import TestClient

PASSWORD = "correct-horse-1"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def make_client(runtime, settings, *, base_url: str = "http://testserver") -> TestClient:
    """The real server app (app.server.build_app) on ``runtime``, without following redirects."""
    from app.server import build_app

    return TestClient(build_app(runtime, settings), base_url=base_url, follow_redirects=False)


def add_account(runtime, name: str, role: str) -> None:
    from ops.accounts import StaffAccounts

    StaffAccounts(runtime.store).add(name, role, PASSWORD, actor="test")


def csrf(client: TestClient, path: str = "/admin/login") -> str:
    """The CSRF token of the form on ``path`` (the session cookie is kept by the client)."""
    response = client.get(path)
    match = _CSRF.search(response.text)
    assert match, f"no CSRF field on {path}: {response.status_code}"
    return match.group(1)


def login(client: TestClient, name: str, password: str = PASSWORD):
    return client.post("/admin/login", data={"username": name, "password": password, "csrf_token": csrf(client)})


def resident_asks(runtime, text: str, user: str):
    """A resident asks ``text`` on the web page (through the conversation, logged); returns the
    turn once its log row is written."""
    turn = runtime.conversation.ask("web", user, text, render=runtime.replies.text, rate_limit=False)
    assert runtime.conversation.writer.flush(5)
    return turn
