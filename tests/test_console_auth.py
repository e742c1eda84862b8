"""Staff console access control, in process (Starlette TestClient on the real app and a real
SQLite file): login required, CSRF, roles, throttling, cookie flags, idle timeout, audit."""

from __future__ import annotations

import time

import pytest

from tests.console_support import PASSWORD, add_account, csrf, login, make_client

PAGES = ["/admin/", "/admin/faq", "/admin/faq?q=脱贫", "/admin/faq/new", "/admin/faq/F001", "/admin/faq/import",
         "/admin/faq/export.csv", "/admin/faq/export.xlsx", "/admin/unanswered", "/admin/test?q=脱贫",
         "/admin/feedback", "/admin/stats", "/admin/stats/export.csv", "/admin/synonyms", "/admin/documents",
         "/admin/check", "/admin/staff", "/admin/reindex/status"]
ADMIN_ONLY = ["/admin/documents", "/admin/check", "/admin/staff", "/admin/stats/export.csv", "/admin/reindex/status"]


@pytest.fixture
def client(runtime, settings):
    add_account(runtime, "alice", "admin")
    add_account(runtime, "bob", "staff")
    with make_client(runtime, settings) as c:
        yield c


@pytest.mark.parametrize("path", PAGES)
def test_nothing_is_reachable_without_login(client, path):
    response = client.get(path)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/admin/login?next=")
    assert "常见问题" not in response.text and "F001" not in response.text


def test_login_form_has_the_named_fields_and_a_csrf_token(client):
    page = client.get("/admin/login").text
    for field in ('name="username"', 'name="password"', 'name="csrf_token"', 'type="hidden"'):
        assert field in page


def test_login_then_every_page_renders_for_an_admin(client):
    assert login(client, "alice").status_code == 303
    for path in PAGES:
        response = client.get(path)
        assert response.status_code in (200, 303), path
        if path.endswith(".csv"):
            assert response.headers["content-type"].startswith("text/csv")


def test_wrong_password_is_refused_without_saying_whether_the_name_exists(client):
    wrong = login(client, "alice", "not-the-password")
    unknown = login(client, "nobody", "not-the-password")
    assert wrong.status_code == unknown.status_code == 401
    assert "用户名或密码不正确" in wrong.text and "用户名或密码不正确" in unknown.text
    assert client.get("/admin/faq").status_code == 303


def test_post_without_csrf_token_gets_403_and_changes_nothing(client, runtime):
    assert client.post("/admin/login", data={"username": "alice", "password": PASSWORD}).status_code == 403
    login(client, "alice")
    before = len(runtime.store.faq.all())
    response = client.post("/admin/faq/new", data={"question": "新问题", "answer": "新答案"})
    assert response.status_code == 403
    bad = client.post("/admin/faq/new", data={"question": "新问题", "answer": "新答案", "csrf_token": "forged"})
    assert bad.status_code == 403
    assert client.post("/admin/logout").status_code == 403
    assert len(runtime.store.faq.all()) == before


def test_csrf_token_of_another_session_is_refused(client, runtime, settings):
    login(client, "alice")
    with make_client(runtime, settings) as other:
        foreign = csrf(other)
    response = client.post("/admin/faq/new", data={"question": "跨站问题", "answer": "答", "csrf_token": foreign})
    assert response.status_code == 403


def test_staff_role_cannot_reach_admin_pages(client):
    login(client, "bob")
    assert client.get("/admin/faq").status_code == 200
    assert client.get("/admin/test?q=脱贫").status_code == 200
    for path in ADMIN_ONLY:
        assert client.get(path).status_code == 403, path
    token = csrf(client, "/admin/faq")
    assert client.post("/admin/reindex", data={"csrf_token": token}).status_code == 403
    assert client.post("/admin/staff", data={"csrf_token": token, "action": "add", "name": "eve", "role": "admin",
                                             "password": "whatever-123"}).status_code == 403
    nav = client.get("/admin/faq").text
    assert "/admin/staff" not in nav and "/admin/documents" not in nav


def test_five_failures_lock_the_name_even_with_the_right_password_and_survive_a_restart(client, runtime, settings):
    for _ in range(4):
        assert login(client, "bob", "wrong-password").status_code == 401
    locked = login(client, "bob", "wrong-password")
    assert locked.status_code == 429 and "锁定" in locked.text
    right = login(client, "bob", PASSWORD)
    assert right.status_code == 429 and client.get("/admin/faq").status_code == 303
    assert login(client, "alice").status_code == 303  # other names are not affected
    from qa.store import Store

    reopened = Store(runtime.store.path)  # a new process sees the same lock
    try:
        assert reopened.accounts.locked_until("bob", time.time()) is not None
        assert reopened.accounts.locked_until("bob", time.time() + 15 * 60 + 1) is None
    finally:
        reopened.close()


def test_session_cookie_flags_and_secure_behind_https(runtime, settings):
    add_account(runtime, "alice", "admin")
    with make_client(runtime, settings) as plain:
        cookie = login(plain, "alice").headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie
    with make_client(runtime, settings, base_url="https://testserver") as tls:
        cookie = login(tls, "alice").headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie and "secure" in cookie


def test_idle_session_expires(runtime):
    from starlette.applications import Starlette

    from channels.admin.routes import admin_routes
    from tests.console_support import TestClient

    add_account(runtime, "alice", "admin")
    app = Starlette(routes=admin_routes(runtime.operations, runtime.replies, secret=b"k" * 32, idle_timeout_s=1))
    with TestClient(app, follow_redirects=False) as client:
        login(client, "alice")
        assert client.get("/admin/faq").status_code == 200
        time.sleep(2.2)
        assert client.get("/admin/faq").status_code == 303


def test_disabled_account_and_changed_password_end_sessions(client, runtime):
    from ops.accounts import StaffAccounts

    login(client, "bob")
    assert client.get("/admin/faq").status_code == 200
    StaffAccounts(runtime.store).set_password("bob", "another-pass-2", actor="test")
    assert client.get("/admin/faq").status_code == 303
    assert login(client, "bob", "another-pass-2").status_code == 303
    StaffAccounts(runtime.store).disable("bob", actor="test")
    assert client.get("/admin/faq").status_code == 303
    assert login(client, "bob", "another-pass-2").status_code == 401


def test_changes_are_recorded_with_the_staff_name(client, runtime):
    login(client, "bob")
    token = csrf(client, "/admin/faq/new")
    response = client.post("/admin/faq/new", data={"question": "宛城区的垃圾分类怎么做？", "answer": "按四类投放。",
                                                    "alternates": "垃圾怎么分类\n垃圾分几类", "csrf_token": token})
    assert response.status_code == 303
    faq_id = response.headers["location"].rsplit("/", 1)[1]
    record = runtime.store.faq.get(faq_id)
    assert record.alternates == ["垃圾怎么分类", "垃圾分几类"] and record.created_by == "web:bob"
    assert runtime.store.faq.history(faq_id)[0]["actor"] == "web:bob"
    actions = [(r["actor"], r["action"]) for r in runtime.store.reports.audit()]
    assert ("web:bob", "faq add") in actions and ("web:bob", "login") in actions


def test_accounts_page_creates_and_disables_accounts(client, runtime):
    login(client, "alice")
    token = csrf(client, "/admin/staff")
    assert client.post("/admin/staff", data={"csrf_token": token, "action": "add", "name": "carol", "role": "staff",
                                             "password": "carol-pass-1"}).status_code == 303
    assert runtime.store.accounts.get("carol").role == "staff"
    assert client.post("/admin/staff", data={"csrf_token": token, "action": "disable",
                                             "name": "carol"}).status_code == 303
    assert runtime.store.accounts.get("carol").status == "disabled"
    own = client.post("/admin/staff", data={"csrf_token": token, "action": "disable", "name": "alice"})
    assert own.status_code == 400 and runtime.store.accounts.get("alice").status == "active"


def test_logout_ends_the_session(client):
    login(client, "alice")
    token = csrf(client, "/admin/faq")
    assert client.post("/admin/logout", data={"csrf_token": token}).status_code == 303
    assert client.get("/admin/faq").status_code == 303


def test_login_next_never_leaves_the_console(client):
    token = csrf(client)
    response = client.post("/admin/login", data={"username": "alice", "password": PASSWORD, "csrf_token": token,
                                                 "next": "https://evil.example/"})
    assert response.headers["location"] == "/admin/faq"


def test_console_pages_forbid_framing_and_foreign_scripts(client):
    headers = client.get("/admin/login").headers
    assert "script-src 'self'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY" and headers["cache-control"] == "no-store"
