"""Row-level access by county (issue 19): a person, or a deployment, sees only its counties' rows.

A prefecture's database holds several counties' rows (here three enterprises, one moved to
额敏县 654221 by hand, as replication would bring it). Checked on both stores, through the
layer API, the single-feature read, OGC API Features, exports, vector tiles and the admin's
setting of an account's counties (API and CLI).
"""

from __future__ import annotations

from collections.abc import Iterator

import mapbox_vector_tile
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from safemap.api.cli.common import configured_store
from safemap.api.http.app import create_app
from safemap.api.services import accounts
from safemap.api.settings import Settings
from safemap.layers.model import Actor
from safemap.layers.store import FeatureStore
from tests.support.cli import run

ADMIN = Actor("测试", "admin")
PASSWORD = "correct horse 1"


def plant(name: str, lon: float) -> dict:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [lon, 46.2]},
        "properties": {"name": name, "industry": "fuel_station", "risk_level": "yellow"},
    }


@pytest.fixture
def two_counties(store: FeatureStore) -> FeatureStore:
    for name, lon in (("裕民甲", 82.97), ("裕民乙", 82.98), ("额敏丙", 82.99)):
        store.create("enterprises", plant(name, lon), ADMIN)
    with store.backend.write() as conn:
        conn.execute(text("UPDATE enterprises SET county_code = '654221' WHERE name = '额敏丙'"))
    accounts.add_user(store, "admin1", "王管理", "admin", PASSWORD, ADMIN)
    accounts.add_user(store, "emin1", "额敏值班员", "viewer", PASSWORD, ADMIN)
    accounts.set_counties(store, "emin1", "６５４２２１", ADMIN)  # full-width digits, as typed
    return store


def client_for(store: FeatureStore, **settings: str) -> TestClient:
    return TestClient(create_app(Settings(basemap="none", **settings), store=store))


def sign_in(client: TestClient, name: str) -> str:
    r = client.post("/api/session", json={"name": name, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return r.json()["csrf_token"]


def names(client: TestClient, path: str = "/api/layers/enterprises") -> list[str]:
    r = client.get(path)
    assert r.status_code == 200, r.text
    return sorted(f["properties"]["name"] for f in r.json()["features"])


@pytest.fixture
def client(two_counties: FeatureStore) -> Iterator[TestClient]:
    with client_for(two_counties) as c:
        yield c


def test_everyone_sees_every_county_when_nothing_limits_them(client: TestClient) -> None:
    assert names(client) == ["裕民乙", "裕民甲", "额敏丙"]
    rows = {
        f["properties"]["name"]: f["properties"]["county_code"]
        for f in client.get("/api/layers/enterprises").json()["features"]
    }
    assert rows == {"裕民甲": "654225", "裕民乙": "654225", "额敏丙": "654221"}


def test_an_account_limited_to_a_county_sees_only_its_rows_everywhere(
    client: TestClient, two_counties: FeatureStore
) -> None:
    sign_in(client, "emin1")
    assert names(client) == ["额敏丙"]
    assert names(client, "/ogc/collections/enterprises/items?f=json") == ["额敏丙"]
    yumin = next(r for r in two_counties.query("enterprises").rows if r["name"] == "裕民甲")
    # Another county's row is absent for them (404), not forbidden: its existence is not theirs to know.
    assert client.get(f"/api/layers/enterprises/{yumin['id']}").status_code == 404
    assert client.get(f"/ogc/collections/enterprises/items/{yumin['id']}").status_code == 404
    csv = client.get("/api/layers/enterprises/export?format=csv")
    assert csv.status_code == 200, csv.text
    body = csv.content.decode("utf-8-sig")
    assert "额敏丙" in body and "裕民甲" not in body
    # Vector tiles (z 8 holds all three points): only the county's row is drawn.
    x, y = 187, 90
    tile = client.get(f"/tiles/enterprises/8/{x}/{y}.mvt")
    assert tile.status_code in (200, 204)
    drawn = mapbox_vector_tile.decode(tile.content) if tile.content else {}
    got = [f["properties"]["name"] for f in drawn.get("enterprises", {}).get("features", [])]
    assert got == ["额敏丙"]


def test_a_deployment_limited_to_some_counties_shows_only_theirs(two_counties: FeatureStore) -> None:
    with client_for(two_counties, counties="654225") as c:
        assert names(c) == ["裕民乙", "裕民甲"]
        # An account limited to a county outside the deployment sees nothing, never everything.
        sign_in(c, "emin1")
        assert names(c) == []


def test_the_admin_sets_an_accounts_counties_as_typed_and_bad_codes_are_named(client: TestClient) -> None:
    csrf = sign_in(client, "admin1")
    h = {"X-CSRF-Token": csrf}
    r = client.put("/api/users/emin1/counties", json={"counties": "654225、 654221"}, headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["counties"] == ["654221", "654225"]
    assert r.json()["counties_label"] == "额敏县（654221）、裕民县（654225）"
    bad = client.put("/api/users/emin1/counties", json={"counties": "65422"}, headers=h)
    assert bad.status_code == 422
    assert "可见区县" in bad.text and "6 位数字" in bad.text
    assert client.put("/api/users/nobody/counties", json={"counties": ""}, headers=h).status_code == 404
    users = {u["name"]: u for u in client.get("/api/users").json()["users"]}
    assert users["emin1"]["counties_label"] == "额敏县（654221）、裕民县（654225）"


def test_a_viewer_cannot_change_counties(client: TestClient) -> None:
    csrf = sign_in(client, "emin1")
    r = client.put("/api/users/emin1/counties", json={"counties": ""}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 403


def test_the_command_line_limits_an_account(env: object) -> None:
    with configured_store() as store:
        accounts.add_user(store, "emin2", "额敏二", "viewer", PASSWORD, ADMIN)
    code, out = run("user", "counties", "emin2", "654221,654224")
    assert code == 0 and "额敏县（654221）、托里县（654224）" in out
    code, out = run("user", "counties", "emin2")
    assert code == 0 and "全部区县" in out


def test_replication_status_without_replication_says_so(client: TestClient, two_counties: FeatureStore) -> None:
    sign_in(client, "emin1")
    r = client.get("/api/replication/status")
    assert r.status_code == 200
    want = "未配置复制" if two_counties.kind == "postgis" else "不参与复制（嵌入式数据库）"
    assert r.json()["role"] == "none" and r.json()["role_label"] == want
    assert r.json()["counties"] == []
    # The map view: the prefecture's counties, limited to the person's.
    fc = client.get("/api/replication/map").json()
    assert [f["properties"]["county_name"] for f in fc["features"]] == ["额敏县"]
    assert fc["features"][0]["properties"]["state_label"] == "未接入"


def test_replication_status_needs_a_sign_in(client: TestClient) -> None:
    assert client.get("/api/replication/status").status_code == 401
