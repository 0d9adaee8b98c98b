"""Sign-in for people (issue 14): argon2 passwords, session cookies, CSRF, rate limit, audit, admin pages."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from safemap.api.http.app import create_app
from safemap.api.services import accounts
from safemap.api.settings import Settings
from safemap.layers.model import Actor
from safemap.layers.store import FeatureStore, open_store
from safemap.layers.tokens import create_token
from safemap.layers.users import find_user

ADMIN = Actor("测试", "admin")
PASSWORD = "correct horse 1"


def enterprise(name: str = "裕民县金泰油品经营部") -> dict:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [82.99, 46.2]},
        "properties": {"name": name, "industry": "fuel_station", "risk_level": "yellow"},
    }


def make_client(store: FeatureStore, base_url: str = "http://testserver") -> TestClient:
    return TestClient(create_app(Settings(basemap="none"), store=store), base_url=base_url)


@pytest.fixture
def people(store: FeatureStore) -> FeatureStore:
    accounts.add_user(store, "admin1", "王管理", "admin", PASSWORD, ADMIN)
    accounts.add_user(store, "plan1", "李规划", "planner", PASSWORD, ADMIN)
    accounts.add_user(store, "view1", "赵只读", "viewer", PASSWORD, ADMIN)
    return store


@pytest.fixture
def client(people: FeatureStore) -> Iterator[TestClient]:
    with make_client(people) as c:
        yield c


def sign_in(client: TestClient, name: str, password: str = PASSWORD) -> str:
    r = client.post("/api/session", json={"name": name, "password": password})
    assert r.status_code == 200, r.text
    return r.json()["csrf_token"]


def audit(store: FeatureStore, action: str) -> list[dict]:
    return [e for e in store.audit_log(layer="safemap_users", limit=1000) if e["action"] == action]


def test_passwords_are_argon2_and_never_stored_in_clear(people: FeatureStore) -> None:
    row = find_user(people, "plan1")
    assert row is not None and row["password_hash"].startswith("$argon2id$")
    assert PASSWORD not in row["password_hash"]
    with pytest.raises(Exception, match="8 至 256"):
        accounts.add_user(people, "short", "短", "viewer", "1234567", ADMIN)
    with pytest.raises(Exception, match="role"):
        accounts.add_user(people, "dev", "设备", "device", PASSWORD, ADMIN)  # devices use tokens


def test_sign_in_sets_strict_httponly_cookie_and_shows_who(client: TestClient) -> None:
    assert client.get("/api/session").json() == {"user": None, "csrf_token": None}
    r = client.post("/api/session", json={"name": "plan1", "password": PASSWORD})
    assert r.status_code == 200
    assert r.json()["user"] == {
        "name": "plan1",
        "display_name": "李规划",
        "role": "planner",
        "role_label": "规划/应急管理",
    }
    cookies = {c.split("=", 1)[0]: c.lower() for c in r.headers.get_list("set-cookie")}
    assert "httponly" in cookies["safemap_session"] and "samesite=strict" in cookies["safemap_session"]
    assert "path=/" in cookies["safemap_session"] and "secure" not in cookies["safemap_session"]  # plain http
    assert "httponly" not in cookies["safemap_csrf"] and "samesite=strict" in cookies["safemap_csrf"]
    assert client.cookies["safemap_csrf"] == r.json()["csrf_token"]
    me = client.get("/api/session").json()
    assert me["user"]["display_name"] == "李规划" and me["csrf_token"] == r.json()["csrf_token"]
    assert client.get("/api/me").json() == {"name": "plan1", "role": "planner"}


def test_cookies_are_secure_over_https(people: FeatureStore) -> None:
    with make_client(people, "https://testserver") as c:
        r = c.post("/api/session", json={"name": "plan1", "password": PASSWORD})
        assert r.status_code == 200
        assert all("secure" in h.lower() for h in r.headers.get_list("set-cookie"))


def test_wrong_password_and_unknown_name_are_the_same_401(client: TestClient, people: FeatureStore) -> None:
    wrong = client.post("/api/session", json={"name": "plan1", "password": "wrong password"})
    unknown = client.post("/api/session", json={"name": "nobody", "password": PASSWORD})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["message"] == unknown.json()["message"] == accounts.REFUSED
    assert "safemap_session" not in client.cookies
    failed = audit(people, "login_failed")
    assert {e["actor"] for e in failed} == {"plan1", "nobody"}
    assert all(e["note"] == "来源 testclient" for e in failed)
    assert {e["role"] for e in failed} == {"planner", "unknown"}


def test_five_failures_block_the_name_from_that_address(client: TestClient, people: FeatureStore) -> None:
    for _ in range(accounts.MAX_FAILURES):
        assert client.post("/api/session", json={"name": "plan1", "password": "wrong password"}).status_code == 401
    r = client.post("/api/session", json={"name": "plan1", "password": PASSWORD})  # even the right one
    assert r.status_code == 429
    retry = int(r.headers["Retry-After"])
    assert 0 < retry <= accounts.FAILURE_WINDOW.total_seconds()
    assert "分钟后再试" in r.json()["message"]
    assert "safemap_session" not in client.cookies
    assert len(audit(people, "login_failed")) == accounts.MAX_FAILURES
    assert len(audit(people, "login_blocked")) == 1
    # Another name from the same address is not blocked.
    sign_in(client, "view1")


def test_a_success_resets_the_count(client: TestClient, people: FeatureStore) -> None:
    for _ in range(accounts.MAX_FAILURES - 1):
        client.post("/api/session", json={"name": "plan1", "password": "wrong password"})
    sign_in(client, "plan1")
    assert len(audit(people, "login")) == 1
    for _ in range(accounts.MAX_FAILURES - 1):
        assert client.post("/api/session", json={"name": "plan1", "password": "nope nope"}).status_code == 401
    sign_in(client, "plan1")


def test_cookie_writes_need_the_csrf_header(client: TestClient, people: FeatureStore) -> None:
    csrf = sign_in(client, "plan1")
    r = client.post("/api/layers/enterprises", json=enterprise())
    assert r.status_code == 403 and r.json()["error"] == "csrf"
    r = client.post("/api/layers/enterprises", json=enterprise(), headers={"X-CSRF-Token": "forged"})
    assert r.status_code == 403
    r = client.post("/api/layers/enterprises", json=enterprise(), headers={"X-CSRF-Token": csrf})
    assert r.status_code == 201, r.text
    entry = people.audit_log(layer="enterprises", limit=1)[0]
    assert entry["actor"] == "plan1" and entry["role"] == "planner"
    # Reads need no header.
    assert client.get("/api/layers/enterprises").status_code == 200


def test_bearer_token_writes_are_unaffected(client: TestClient, people: FeatureStore) -> None:
    token = create_token(people, "脚本", "planner")
    client.cookies.clear()
    r = client.post("/api/layers/enterprises", json=enterprise(), headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 201
    # A token wins over a session cookie and needs no CSRF header either.
    sign_in(client, "view1")
    r = client.post("/api/layers/enterprises", json=enterprise("乙"), headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 201


def test_a_viewer_cannot_write(client: TestClient) -> None:
    csrf = sign_in(client, "view1")
    r = client.post("/api/layers/enterprises", json=enterprise(), headers={"X-CSRF-Token": csrf})
    assert r.status_code == 403 and "只读用户" in r.json()["message"]


def test_sign_out_ends_the_session(client: TestClient, people: FeatureStore) -> None:
    csrf = sign_in(client, "plan1")
    secret = client.cookies["safemap_session"]
    assert client.delete("/api/session").status_code == 403  # a write: the CSRF header is needed
    r = client.delete("/api/session", headers={"X-CSRF-Token": csrf})
    assert r.status_code == 204
    assert client.get("/api/session").json()["user"] is None
    assert len(audit(people, "logout")) == 1
    # The old cookie, replayed, is worth nothing.
    client.cookies.set("safemap_session", secret)
    client.cookies.set("safemap_csrf", csrf)
    r = client.post("/api/layers/enterprises", json=enterprise(), headers={"X-CSRF-Token": csrf})
    assert r.status_code == 401
    assert client.delete("/api/session").status_code == 204  # signing out twice is harmless


def test_sessions_survive_a_restart(people: FeatureStore) -> None:
    with make_client(people) as first:
        csrf = sign_in(first, "plan1")
        cookie = first.cookies["safemap_session"]
    with make_client(people) as second:
        second.cookies.set("safemap_session", cookie)
        assert second.get("/api/session").json()["user"]["name"] == "plan1"
        r = second.post("/api/layers/enterprises", json=enterprise(), headers={"X-CSRF-Token": csrf})
        assert r.status_code == 201


def test_disabled_user_cannot_sign_in_and_their_sessions_end(people: FeatureStore) -> None:
    with make_client(people) as admin, make_client(people) as planner:
        admin_csrf = sign_in(admin, "admin1")
        sign_in(planner, "plan1")
        r = admin.post("/api/users/plan1/disable", headers={"X-CSRF-Token": admin_csrf})
        assert r.status_code == 204
        assert planner.get("/api/session").json()["user"] is None
        r = planner.post("/api/session", json={"name": "plan1", "password": PASSWORD})
        assert r.status_code == 401 and r.json()["message"] == accounts.REFUSED
        users = {u["name"]: u for u in admin.get("/api/users").json()["users"]}
        assert users["plan1"]["status_label"] == "已停用" and users["plan1"]["sessions"] == 0
        assert admin.post("/api/users/admin1/disable", headers={"X-CSRF-Token": admin_csrf}).status_code == 409
        assert admin.post("/api/users/plan1/enable", headers={"X-CSRF-Token": admin_csrf}).status_code == 204
        sign_in(planner, "plan1")
    actions = {e["action"] for e in people.audit_log(layer="safemap_users", limit=100)}
    assert {"user_add", "user_disable", "user_enable", "login", "login_failed"} <= actions


def test_user_management_is_for_admins_only(client: TestClient, people: FeatureStore) -> None:
    assert client.get("/api/users").status_code == 401
    csrf = sign_in(client, "plan1")
    assert client.get("/api/users").status_code == 403
    body = {"name": "new1", "display_name": "新人", "role": "viewer", "password": PASSWORD}
    assert client.post("/api/users", json=body, headers={"X-CSRF-Token": csrf}).status_code == 403
    csrf = sign_in(client, "admin1")
    r = client.get("/api/users").json()
    assert {u["name"] for u in r["users"]} == {"admin1", "plan1", "view1"}
    assert all("password_hash" not in u for u in r["users"])
    assert r["roles"][0]["label"] == "只读用户" and "device" not in [x["code"] for x in r["roles"]]
    assert client.post("/api/users", json=body).status_code == 403  # CSRF header missing
    assert client.post("/api/users", json=body, headers={"X-CSRF-Token": csrf}).status_code == 201
    r = client.post("/api/users", json=body, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 422 and "已存在" in r.json()["message"]
    with make_client(people) as other:
        sign_in(other, "new1")
        new_password = {"password": "another pass 2"}
        r = client.post("/api/users/new1/password", json=new_password, headers={"X-CSRF-Token": csrf})
        assert r.status_code == 204
        assert other.get("/api/session").json()["user"] is None  # a reset ends the sessions
        assert other.post("/api/session", json={"name": "new1", "password": PASSWORD}).status_code == 401
        sign_in(other, "new1", "another pass 2")
    r = client.post("/api/users/nobody/password", json={"password": PASSWORD}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 404
    # Bearer-token admins (scripts) may manage accounts too.
    token = create_token(people, "运维脚本", "admin")
    assert client.get("/api/users", headers={"Authorization": f"Bearer {token}"}).status_code == 200


NEW_PASSWORD = "battery staple 2"


def change(
    client: TestClient, csrf: str | None, current: str = PASSWORD, new: str = NEW_PASSWORD, token: str = ""
) -> httpx.Response:
    headers = {"X-CSRF-Token": csrf} if csrf else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    body = {"current_password": current, "new_password": new}
    return client.post("/api/me/password", json=body, headers=headers)


def test_changing_ones_own_password_keeps_this_session_and_ends_the_others(people: FeatureStore) -> None:
    with make_client(people) as here, make_client(people) as phone, make_client(people) as other:
        csrf = sign_in(here, "plan1")
        sign_in(phone, "plan1")
        sign_in(other, "view1")  # another person's session is not touched
        r = change(here, csrf)
        assert r.status_code == 200, r.text
        assert r.json() == {"message": "密码已修改，其他 1 处登录已退出", "sessions_ended": 1}
        # This session goes on (reads and writes); the phone's has ended; the viewer's has not.
        assert here.get("/api/session").json()["user"]["name"] == "plan1"
        assert (
            here.post("/api/layers/enterprises", json=enterprise(), headers={"X-CSRF-Token": csrf}).status_code == 201
        )
        assert phone.get("/api/session").json()["user"] is None
        assert other.get("/api/session").json()["user"]["name"] == "view1"
        # The old password no longer signs in; the new one does; the hash is argon2id.
        assert phone.post("/api/session", json={"name": "plan1", "password": PASSWORD}).status_code == 401
        sign_in(phone, "plan1", NEW_PASSWORD)
        row = find_user(people, "plan1")
        assert row is not None and row["password_hash"].startswith("$argon2id$")
    done = audit(people, "user_passwd_self")
    assert len(done) == 1 and done[0]["actor"] == "plan1" and done[0]["note"] == "来源 testclient"


def test_a_wrong_current_password_is_403_and_audited(client: TestClient, people: FeatureStore) -> None:
    csrf = sign_in(client, "plan1")
    r = change(client, csrf, current="not my password")
    assert r.status_code == 403
    assert r.json()["message"] == "当前密码不正确" and r.json()["problems"][0]["field"] == "current_password"
    failed = audit(people, "passwd_failed")
    assert [(e["actor"], e["role"], e["note"]) for e in failed] == [("plan1", "planner", "来源 testclient")]
    assert client.get("/api/session").json()["user"]["name"] == "plan1"  # still signed in
    sign_in(client, "plan1")  # the password did not change


@pytest.mark.parametrize(
    ("new", "words"),
    [("short", "新密码：应为 8 至 256 个字符"), (PASSWORD, "新密码：不能与当前密码相同")],
)
def test_a_weak_or_unchanged_new_password_is_refused(
    client: TestClient, people: FeatureStore, new: str, words: str
) -> None:
    csrf = sign_in(client, "plan1")
    r = change(client, csrf, new=new)
    assert r.status_code == 422
    assert r.json()["message"] == words and r.json()["problems"][0]["field"] == "new_password"
    assert audit(people, "user_passwd_self") == [] and audit(people, "passwd_failed") == []
    # Missing or over-long fields are named by their Chinese labels too.
    r = client.post("/api/me/password", json={"new_password": NEW_PASSWORD}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 422 and r.json()["message"].startswith("当前密码")
    r = change(client, csrf, new="x" * (accounts.MAX_PASSWORD + 1))
    assert r.status_code == 422 and r.json()["message"].startswith("新密码")
    sign_in(client, "plan1")  # unchanged


def test_changing_a_password_needs_a_session_and_its_csrf_header(client: TestClient, people: FeatureStore) -> None:
    r = change(client, None)
    assert r.status_code == 401 and "登录" in r.json()["message"]
    csrf = sign_in(client, "plan1")
    r = change(client, None)
    assert r.status_code == 403 and r.json()["error"] == "csrf"
    assert change(client, "forged").status_code == 403
    # Scripts' tokens are not people: they cannot change a password (even with a session cookie too).
    token = create_token(people, "脚本", "admin")
    r = change(client, csrf, token=token)
    assert r.status_code == 403 and "令牌" in r.json()["message"]
    assert audit(people, "user_passwd_self") == []
    sign_in(client, "plan1")  # unchanged


def test_wrong_current_passwords_are_rate_limited_with_sign_ins(client: TestClient, people: FeatureStore) -> None:
    csrf = sign_in(client, "plan1")
    for _ in range(accounts.MAX_FAILURES):
        assert change(client, csrf, current="guess guess").status_code == 403
    r = change(client, csrf)  # even the right one
    assert r.status_code == 429
    assert 0 < int(r.headers["Retry-After"]) <= accounts.FAILURE_WINDOW.total_seconds()
    assert "当前密码输错次数过多" in r.json()["message"] and "分钟后再试" in r.json()["message"]
    assert len(audit(people, "passwd_blocked")) == 1
    # One budget of guesses per name and address: signing in from here is blocked as well.
    r = client.post("/api/session", json={"name": "plan1", "password": PASSWORD})
    assert r.status_code == 429
    assert client.get("/api/session").json()["user"]["name"] == "plan1"  # the session itself stays


def test_a_successful_change_resets_the_count(client: TestClient) -> None:
    csrf = sign_in(client, "plan1")
    for _ in range(accounts.MAX_FAILURES - 1):
        assert change(client, csrf, current="guess guess").status_code == 403
    assert change(client, csrf).status_code == 200
    for _ in range(accounts.MAX_FAILURES - 1):
        assert change(client, csrf, current="guess guess", new="third pass 3").status_code == 403
    assert change(client, csrf, current=NEW_PASSWORD, new="third pass 3").status_code == 200


def test_pages_are_chinese_and_offline(client: TestClient) -> None:
    for path in ("/login", "/admin/users", "/account/password"):
        r = client.get(path)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        assert "http://" not in r.text and "https://" not in r.text
        assert "登录" in r.text
    assert client.get("/static/account/account.css").status_code == 200
    assert client.get("/static/account/login.js").status_code == 200
    assert client.get("/static/account/password.js").status_code == 200
    page = client.get("/account/password").text
    assert all(words in page for words in ("当前密码", "新密码", "再次输入新密码", "保存"))


def test_existing_store_gets_the_new_tables(gpkg_path: Path) -> None:
    store = open_store(gpkg_path)
    store.close()
    with sqlite3.connect(gpkg_path) as db:
        db.execute("DROP TABLE safemap_sessions")
        db.execute("DROP TABLE safemap_users")
    store = open_store(gpkg_path)
    try:
        accounts.add_user(store, "late", "后来者", "viewer", PASSWORD, ADMIN)
        assert find_user(store, "late") is not None
    finally:
        store.close()
