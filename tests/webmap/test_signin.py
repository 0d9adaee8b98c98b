"""Sign-in in headless Chromium (issue 14): /login, the map shows who is signed in, a write, sign-out, /admin/users.

Screenshots of /login and /admin/users at the three sizes go to ``/tmp/shots14/``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from safemap.api.services import accounts
from safemap.layers.model import Actor
from safemap.layers.store import FeatureStore, open_store
from tests.webmap.browsing import READY, LiveServer, Visit, app_for
from tests.webmap.sample import EXTENT, fill

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/shots14")
SIZES = {"desktop": (1600, 1000), "laptop": (1366, 768), "phone": (390, 844)}
PASSWORD = "correct horse 1"
FEATURE = {
    "type": "Feature",
    "geometry": {"type": "Point", "coordinates": [82.99, 46.2]},
    "properties": {"name": "登录测试加油站", "industry": "fuel_station", "risk_level": "yellow"},
}


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FeatureStore]:
    store = open_store(tmp_path_factory.mktemp("signin") / "map.gpkg", extent=EXTENT)
    fill(store)
    accounts.add_user(store, "plan1", "李规划", "planner", PASSWORD, Actor("测试", "admin"))
    accounts.add_user(store, "admin1", "王管理", "admin", PASSWORD, Actor("测试", "admin"))
    yield store
    store.close()


@pytest.fixture(scope="module")
def server(county: FeatureStore) -> Iterator[LiveServer]:
    s = LiveServer(app_for(county, extent=EXTENT))
    yield s
    s.stop()


def shoot(v: Visit, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for label, (w, h) in SIZES.items():
        v.page.set_viewport_size({"width": w, "height": h})
        v.painted()
        v.page.screenshot(path=str(SHOTS / f"{name}-{label}-{w}x{h}.png"), full_page=True)
        overflow = v.js("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{name} scrolls sideways at {w}×{h}"
    v.page.set_viewport_size({"width": 1600, "height": 1000})


def test_sign_in_write_and_sign_out(browser: Any, server: LiveServer, county: FeatureStore) -> None:
    v = Visit(browser, server.url + "login", size=(1600, 1000), ready=None)
    try:
        expect(v.page.locator(".sm-login-form h2")).to_have_text("用户登录")
        shoot(v, "login")
        # A wrong password: the page says so without saying which part was wrong.
        v.page.fill("#sm-name", "plan1")
        v.page.fill("#sm-password", "wrong password")
        v.page.click(".sm-login-submit")
        expect(v.page.locator(".sm-login-error")).to_have_text(accounts.REFUSED)
        v.page.screenshot(path=str(SHOTS / "login-refused.png"))
        v.page.fill("#sm-password", PASSWORD)
        v.page.click(".sm-login-submit")
        v.page.wait_for_function(READY, timeout=20_000)
        user = v.page.locator(".sm-user")
        expect(user).to_have_text("李规划（规划/应急管理）")
        expect(v.page.locator(".sm-sign-btn")).to_have_text("退出")
        expect(v.page.locator(".sm-admin-link")).to_be_hidden()
        # The session cookie is out of the script's reach; the CSRF cookie is readable.
        cookies = {c["name"]: c for c in v.context.cookies()}
        assert cookies["safemap_session"]["httpOnly"] and cookies["safemap_session"]["sameSite"] == "Strict"
        assert "safemap_session" not in v.js("() => document.cookie")
        # A write through SafeMap.api succeeds (it sends X-CSRF-Token); a bare fetch is refused.
        bare = v.js(
            """f => fetch('api/layers/enterprises', {method: 'POST', headers: {'Content-Type': 'application/json'},
                       body: JSON.stringify(f)}).then(r => r.status)""",
            FEATURE,
        )
        assert bare == 403
        made = v.js("f => SafeMap.api('api/layers/enterprises', {method: 'POST', body: f})", FEATURE)
        assert made["properties"]["name"] == "登录测试加油站"
        entry = county.audit_log(layer="enterprises", limit=1)[0]
        assert entry["actor"] == "plan1" and entry["action"] == "create"
        v.page.screenshot(path=str(SHOTS / "map-signed-in.png"))
        # Sign out: read-only again, and the session is gone on the server.
        v.page.click(".sm-sign-btn")
        expect(user).to_have_text("只读")
        expect(v.page.locator(".sm-sign-btn")).to_have_text("登录")
        assert v.js("() => SafeMap.api('api/session')")["user"] is None
        failed = v.js(
            "f => SafeMap.api('api/layers/enterprises', {method: 'POST', body: f}).then(() => 0, e => e.status)",
            FEATURE,
        )
        assert failed == 401
        # 登录 leads to /login and back to the map.
        v.page.click(".sm-sign-btn")
        v.page.wait_for_url("**/login?next=*")
        assert v.blocked == [] and v.errors == []
    finally:
        v.close()


def test_admin_page(browser: Any, server: LiveServer) -> None:
    v = Visit(browser, server.url + "admin/users", size=(1600, 1000), ready=None)
    try:
        expect(v.page.locator(".sm-blocked")).to_be_visible()
        v.page.click(".sm-login-link")
        v.page.wait_for_url("**/login?next=*")
        v.page.fill("#sm-name", "admin1")
        v.page.fill("#sm-password", PASSWORD)
        v.page.click(".sm-login-submit")
        v.page.wait_for_url("**/admin/users")
        expect(v.page.locator(".sm-users tbody tr")).to_have_count(2)
        expect(v.page.locator(".sm-whoami")).to_have_text("王管理（系统管理员）")
        # Add a user: roles are offered by their Chinese labels only.
        options = v.js("() => [...document.querySelectorAll('#sm-new-role option')].map(o => o.textContent)")
        assert "应急指挥调度" in options and not any(o.isascii() for o in options)
        v.page.fill("#sm-new-name", "disp1")
        v.page.fill("#sm-new-display", "陈调度")
        v.page.select_option("#sm-new-role", label="应急指挥调度")
        v.page.fill("#sm-new-password", PASSWORD)
        v.page.click(".sm-add button[type=submit]")
        expect(v.page.locator(".sm-add-msg")).to_have_text("已新增用户 陈调度")
        row = v.page.locator("tr[data-user=disp1]")
        expect(row).to_contain_text("应急指挥调度")
        # Reset a password, then disable the account.
        row.locator(".sm-passwd").click()
        row.locator(".sm-reset input").fill("another pass 2")
        row.locator(".sm-reset .sm-primary").click()
        expect(v.page.locator(".sm-list-msg")).to_contain_text("已重设 陈调度 的密码")
        shoot(v, "admin-users")
        v.page.once("dialog", lambda d: d.accept())
        v.page.locator("tr[data-user=disp1] .sm-disable").click()
        expect(v.page.locator("tr[data-user=disp1]")).to_contain_text("已停用")
        expect(v.page.locator("tr[data-user=admin1] .sm-disable")).to_have_count(0)  # not oneself
        v.page.screenshot(path=str(SHOTS / "admin-users-disabled.png"), full_page=True)
        # The map shows the admin the way to this page.
        v.page.goto(server.url)
        v.page.wait_for_function(READY, timeout=20_000)
        expect(v.page.locator(".sm-admin-link")).to_be_visible()
        assert v.blocked == [] and v.errors == [] and v.console == []
    finally:
        v.close()


def test_change_own_password(browser: Any, server: LiveServer, county: FeatureStore) -> None:
    accounts.add_user(county, "fire1", "周消防", "fire", PASSWORD, Actor("测试", "admin"))
    new_password = "battery staple 2"
    v = Visit(browser, server.url + "account/password", size=(1600, 1000), ready=None)
    try:
        # Signed out: the page asks to sign in first and comes back here.
        expect(v.page.locator(".sm-blocked")).to_be_visible()
        v.page.click(".sm-login-link")
        v.page.wait_for_url("**/login?next=*")
        v.page.fill("#sm-name", "fire1")
        v.page.fill("#sm-password", PASSWORD)
        v.page.click(".sm-login-submit")
        v.page.wait_for_url("**/account/password")
        expect(v.page.locator(".sm-passwd-form h2")).to_have_text("修改本人密码")
        expect(v.page.locator(".sm-whoami")).to_have_text("周消防（消防救援）")
        shoot(v, "account-password")
        error = v.page.locator(".sm-passwd-error")
        # Checked on the page: the two new passwords must match.
        v.page.fill("#sm-current", PASSWORD)
        v.page.fill("#sm-new", new_password)
        v.page.fill("#sm-confirm", "battery staple 3")
        v.page.click(".sm-passwd-submit")
        expect(error).to_have_text("两次输入的新密码不一致")
        # Checked by the server: a wrong current password.
        v.page.fill("#sm-current", "not my password")
        v.page.fill("#sm-confirm", new_password)
        v.page.click(".sm-passwd-submit")
        expect(error).to_have_text("当前密码不正确")
        v.page.screenshot(path=str(SHOTS / "account-password-wrong.png"))
        # The right one: done, with the way back to the map.
        v.page.fill("#sm-current", PASSWORD)
        v.page.click(".sm-passwd-submit")
        expect(v.page.locator(".sm-passwd-done h2")).to_have_text("密码已修改")
        expect(v.page.locator(".sm-passwd-form")).to_be_hidden()
        v.page.set_viewport_size({"width": 390, "height": 844})
        v.page.screenshot(path=str(SHOTS / "account-password-done-phone.png"), full_page=True)
        v.page.click(".sm-back")
        v.page.wait_for_function(READY, timeout=20_000)
        expect(v.page.locator(".sm-user")).to_have_text("周消防（消防救援）")  # still signed in
        # Sign out, then only the new password signs in.
        v.page.click(".sm-sign-btn")
        expect(v.page.locator(".sm-sign-btn")).to_have_text("登录")
        v.page.click(".sm-sign-btn")
        v.page.wait_for_url("**/login?next=*")
        v.page.fill("#sm-name", "fire1")
        v.page.fill("#sm-password", PASSWORD)
        v.page.click(".sm-login-submit")
        expect(v.page.locator(".sm-login-error")).to_have_text(accounts.REFUSED)
        v.page.fill("#sm-password", new_password)
        v.page.click(".sm-login-submit")
        v.page.wait_for_function(READY, timeout=20_000)
        expect(v.page.locator(".sm-user")).to_have_text("周消防（消防救援）")
        # The map's user area leads to this page (修改密码), for a signed-in person only.
        v.page.click(".sm-passwd-link")
        v.page.wait_for_url("**/account/password")
        expect(v.page.locator(".sm-whoami")).to_have_text("周消防（消防救援）")
        assert v.blocked == [] and v.errors == []
        # The only console errors are the refused requests' (403 wrong password, 401 old password).
        assert all("status of 403" in m or "status of 401" in m for m in v.console), v.console
    finally:
        v.close()
