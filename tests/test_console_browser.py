"""Real-browser tests: Playwright driving Debian's chromium against a real `python bot.py serve`
on loopback. Staff: log in -> add an FAQ entry -> hit test shows it -> promote an unanswered
question -> import dry run -> log out. Resident: ask on / and tap a suggestion.

These never skip: without /usr/bin/chromium (installed by .ci/setup-system.sh, which the
README's test command runs) they fail. Screenshots of every page go to tests/screenshots/
(git-ignored).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SHOTS = ROOT / "tests" / "screenshots"
PASSWORD = "browser-pass-1"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def live_server(seeded_db, tmp_path_factory):
    """`python bot.py serve` on a private copy of the seeded database, with two accounts."""
    from ops.accounts import StaffAccounts
    from qa.store import Store

    directory = tmp_path_factory.mktemp("console-server")
    db = directory / "index.db"
    shutil.copy(seeded_db, db)
    store = Store(db)
    StaffAccounts(store).add("alice", "admin", PASSWORD, actor="test")
    store.close()
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "TELEGRAM_", "WECHAT_", "WECOM_"))}
    env.update({"BOT_HASH_KEY": "test-key-0123456789abcdef", "PYTHONIOENCODING": "utf-8"})
    log = (directory / "server.log").open("w")
    proc = subprocess.Popen([sys.executable, str(ROOT / "bot.py"), "serve", "--host", "127.0.0.1", "--port", str(port),
                             "--db", str(db)], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert proc.poll() is None, (directory / "server.log").read_text()
        time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail("bot.py serve did not start: " + (directory / "server.log").read_text())
    yield base
    proc.terminate()
    proc.wait(timeout=20)
    log.close()


@pytest.fixture(scope="module")
def browser():
    assert CHROMIUM.exists(), "chromium is missing: run `bash .ci/setup-system.sh` (the README's test command does)"
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


def shot(page, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_staff_flow_in_a_real_browser(live_server, browser, tmp_path):
    for _ in range(2):  # residents asked something the bot cannot answer
        httpx.post(f"{live_server}/api/chat", json={"message": "宛城区养蜂补贴怎么申请", "session": "browser-res-1"})
    rated = httpx.post(f"{live_server}/api/chat", json={"message": "扶贫车间有多少个", "session": "browser-res-1"})
    httpx.post(f"{live_server}/api/feedback", json={"token": rated.json()["feedback"], "helpful": False,
                                                   "session": "browser-res-1"})
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(15000)

    page.goto(f"{live_server}/admin/faq")
    assert "/admin/login" in page.url
    shot(page, "01-login")
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", "wrong-password")
    page.click("button[type=submit]")
    assert "用户名或密码不正确" in page.inner_text("main")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/admin/faq")
    assert "常见问题（共" in page.inner_text("h1")
    shot(page, "02-faq-list")

    page.click("text=新增条目")
    page.fill("#question", "宛城区老年人乘公交免费吗？")
    page.fill("#alternates", "老人坐公交要钱吗\n老年人免费乘车")
    page.fill("#answer", "65周岁以上老年人凭老年证免费乘坐城区公交。")
    page.fill("#source", "宛城区民政局")
    shot(page, "03-faq-new")
    page.click("button[value=save]")
    page.wait_for_url("**/admin/faq/F*")
    faq_id = page.url.rsplit("/", 1)[1]
    assert f"已添加 {faq_id}" in page.inner_text(".flash")
    shot(page, "04-faq-edit")

    page.goto(f"{live_server}/admin/test?q=" + "老人坐公交要不要钱")
    answer = page.inner_text("#answer")
    assert "65周岁以上老年人凭老年证免费乘坐城区公交。" in answer and "宛城区民政局" in answer
    assert faq_id in page.inner_text("main") and "—— 解释 ——" in page.inner_text("#explain")
    shot(page, "05-hit-test")

    page.click("nav >> text=未答问题")
    group = page.locator(".group", has_text="养蜂补贴").first
    group.locator("summary").click()
    group.locator("textarea[name=answer]").fill("请到所在乡镇农业服务中心申请。")
    shot(page, "06-unanswered")
    group.locator("button[type=submit]").click()
    page.wait_for_url("**/admin/faq/F*")
    assert "已新建" in page.inner_text(".flash") and "养蜂补贴" in page.input_value("#question")
    assert "养蜂补贴" not in page.goto(f"{live_server}/admin/unanswered").text()

    csv_path = tmp_path / "import-sample.csv"
    csv_path.write_text("id,question,alternates,answer,source\n"
                        ",宛城区游泳馆几点开门？,,每天上午9点开门。,区体育局\n"
                        f"{faq_id},宛城区老年人乘公交免费吗？,老人坐公交要钱吗,65周岁以上老年人免费。,宛城区民政局\n"
                        ",,,缺问题,\n", encoding="utf-8")
    page.goto(f"{live_server}/admin/faq/import")
    page.set_input_files("#file", str(csv_path))
    page.click("button[value=preview]")
    preview = page.inner_text("#preview")
    assert "第4行" in preview and "question 不能为空" in preview and "确认导入" not in preview
    shot(page, "07-import-preview")
    page.goto(f"{live_server}/admin/faq?q=游泳馆")
    assert "没有符合条件的条目" in page.inner_text("main")  # the dry run wrote nothing

    page.goto(f"{live_server}/admin/feedback")
    assert "扶贫车间有多少个" in page.inner_text("table")
    for path, name in (("/admin/stats", "08-stats"), ("/admin/feedback", "09-feedback"),
                       ("/admin/documents", "10-documents"), ("/admin/staff", "11-staff"),
                       ("/admin/synonyms", "12-synonyms"), ("/admin/check", "13-check")):
        page.goto(live_server + path)
        assert page.locator("h1").count() == 1, path
        shot(page, name)
    page.goto(f"{live_server}/admin/documents")
    page.click("#start-reindex")
    page.wait_for_selector("#reindex-result.flash", timeout=60000)
    assert "索引已重建" in page.inner_text("#reindex")
    shot(page, "14-reindex-done")

    page.set_viewport_size({"width": 390, "height": 844})  # the console on a phone
    page.goto(f"{live_server}/admin/faq?q=老年人")
    assert page.locator("table").bounding_box()["width"] <= 390
    shot(page, "15-phone-faq")
    page.goto(f"{live_server}/admin/test?q=老人坐公交要不要钱")
    shot(page, "16-phone-hit-test")
    page.click("#logout")
    page.wait_for_url("**/admin/login")
    assert "已退出登录" in page.inner_text("main")
    page.goto(f"{live_server}/admin/faq")
    assert "/admin/login" in page.url
    context.close()


def test_resident_asks_and_taps_a_suggestion_on_a_phone(live_server, browser):
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                                  has_touch=True, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(15000)
    page.goto(live_server + "/")
    shot(page, "20-chat-empty")
    page.fill("#message", "宛城区2020年脱贫多少人？")
    page.click("#send")
    page.wait_for_selector(".suggestion")
    first = page.locator(".msg.bot .bubble").nth(1)
    assert "2652" in first.inner_text() and "来源" in first.inner_text()
    suggestion = page.locator(".suggestion").first
    text = suggestion.inner_text()
    shot(page, "21-chat-answer")
    suggestion.tap()
    page.wait_for_function("document.querySelectorAll('.msg.bot .bubble').length >= 3 && "
                           "!document.querySelectorAll('.msg.bot .bubble')[2].textContent.startsWith('正在查找')")
    assert page.locator(".msg.me .bubble").nth(1).inner_text() == text
    reply = page.locator(".msg.bot .bubble").nth(2).inner_text()
    assert "来源" in reply
    page.locator(".rate button", has_text="👎").first.tap()
    page.wait_for_selector("text=谢谢您的反馈")
    shot(page, "22-chat-suggestion")
    context.close()
    listed = httpx.get(f"{live_server}/admin/feedback", follow_redirects=False)
    assert listed.status_code == 303  # the feedback page itself needs a login
