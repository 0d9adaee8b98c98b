"""Hostile inputs get a JSON 4xx naming the parameter: integers beyond 64 bits, dates out of range (issue 10).

Before these fixes each request below answered a plain-text 500 (``OverflowError``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from safemap.api.http.app import create_app
from safemap.api.settings import Settings
from safemap.layers.store import FeatureStore
from safemap.layers.tokens import create_token

BIG = 18446744073709551616  # 2**64
JUST_OVER = 2**63  # one past the largest id/integer the stores hold
LONG_AGO = "0001-01-01T00:00:00%2B14:00"
FAR_AHEAD = "9999-12-31T23:59:59-14:00"


@pytest.fixture
def client(gpkg_store: FeatureStore) -> Iterator[TestClient]:
    app = create_app(Settings(basemap="none"), store=gpkg_store)
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def admin(gpkg_store: FeatureStore) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_token(gpkg_store, '管理员', 'admin')}"}


def enterprise(**props: object) -> dict:
    base = {"name": "裕民县金泰油品经营部", "industry": "fuel_station", "risk_level": "yellow"}
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [82.99, 46.2]}, "properties": base | props}


def incident(**props: object) -> dict:
    base = {"name": "火情", "kind": "fire", "status": "reported", "reported_at": "2026-11-29T08:00:00+08:00"}
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [82.99, 46.2]}, "properties": base | props}


def assert_error(r: httpx.Response, status: int, field: str) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert set(body) == {"error", "message", "problems"}
    assert body["problems"][0]["field"] == field
    assert any("\u4e00" <= ch <= "\u9fff" for ch in body["message"]), body["message"]  # Chinese
    return body


@pytest.mark.parametrize(
    ("method", "url", "field"),
    [
        ("GET", f"/api/layers/enterprises/{BIG}", "feature_id"),
        ("GET", f"/api/layers/incidents/{JUST_OVER}", "feature_id"),
        ("GET", f"/api/layers/roads/-{BIG}", "feature_id"),
        ("GET", f"/map/popup/enterprises/{BIG}", "feature_id"),
        ("DELETE", f"/api/layers/enterprises/{BIG}?version=1", "feature_id"),
    ],
)
def test_path_ids_beyond_64_bits_are_422_naming_the_id(
    client: TestClient, admin: dict, method: str, url: str, field: str
) -> None:
    assert_error(client.request(method, url, headers=admin), 422, field)


def test_patch_with_an_id_beyond_64_bits(client: TestClient, admin: dict) -> None:
    r = client.patch(
        f"/api/layers/enterprises/{BIG}", json={"properties": {"name": "甲"}}, headers=admin | {"If-Match": '"1"'}
    )
    assert_error(r, 422, "feature_id")


def test_ogc_item_beyond_64_bits_is_404_like_any_unknown_id(client: TestClient) -> None:
    r = client.get(f"/ogc/collections/enterprises/items/{BIG}")
    assert r.status_code == 404 and r.json()["error"] == "not_found"
    assert client.get("/ogc/collections/enterprises/items/²").status_code == 404  # a Unicode digit


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/layers/enterprises?offset=9223372036854775808", "offset"),
        ("/ogc/collections/enterprises/items?offset=9223372036854775808", "offset"),
        (f"/ogc/collections/enterprises/items?limit={BIG}", "limit"),
        ("/api/layers/enterprises?employees=99999999999999999999", "employees"),
        ("/ogc/collections/enterprises/items?employees=99999999999999999999", "employees"),
        (f"/api/layers/enterprises?id={BIG}", "id"),
        (f"/api/audit?feature_id={BIG}", "feature_id"),
        ("/api/audit?offset=9223372036854775808", "offset"),
        (f"/api/layers/incidents?datetime={LONG_AGO}", "datetime"),
        (f"/api/layers/incidents?datetime={FAR_AHEAD}", "datetime"),
        (f"/api/layers/incidents?datetime={LONG_AGO}/..", "datetime"),
        (f"/ogc/collections/incidents/items?datetime={LONG_AGO}", "datetime"),
        (f"/api/layers/incidents?reported_at={LONG_AGO}", "reported_at"),
        (f"/api/layers/enterprises/1?version={BIG}", "version"),
    ],
)
def test_query_values_out_of_range_are_400_naming_the_parameter(
    client: TestClient, admin: dict, url: str, field: str
) -> None:
    method = "DELETE" if "version=" in url else "GET"
    if method == "DELETE":
        assert client.post("/api/layers/enterprises", json=enterprise(), headers=admin).status_code == 201
    body = assert_error(client.request(method, url, headers=admin), 400, field)
    assert "超出" in body["message"] or "应为" in body["message"] or "不能大于" in body["message"]


def test_if_match_beyond_64_bits(client: TestClient, admin: dict) -> None:
    fid = client.post("/api/layers/enterprises", json=enterprise(), headers=admin).json()["id"]
    r = client.patch(
        f"/api/layers/enterprises/{fid}", json={"properties": {"name": "乙"}}, headers=admin | {"If-Match": f'"{BIG}"'}
    )
    assert_error(r, 400, "If-Match")


@pytest.mark.parametrize(
    ("url", "body", "field"),
    [
        ("/api/dispatch/release", {"dispatch_ids": [BIG]}, "dispatch_ids.0"),
        ("/api/dispatch/arrive", {"team_ids": [JUST_OVER]}, "team_ids.0"),
        ("/api/dispatch/confirm", {"teams": [{"team_id": JUST_OVER}]}, "teams.0.team_id"),
        ("/api/dispatch/confirm", {"incident_id": BIG, "teams": [{"team_id": 1}]}, "incident_id"),
        ("/api/dispatch/plan", {"incident_id": JUST_OVER, "needs": [{"kind": "fire", "count": 1}]}, "incident_id"),
    ],
)
def test_dispatch_ids_beyond_64_bits_are_422(client: TestClient, admin: dict, url: str, body: dict, field: str) -> None:
    assert_error(client.post(url, json=body, headers=admin), 422, field)


@pytest.mark.parametrize(
    ("layer", "feature", "field"),
    [
        ("enterprises", enterprise(employees=JUST_OVER), "properties.employees"),
        ("enterprises", enterprise(employees=BIG), "properties.employees"),
        ("incidents", incident(casualties=JUST_OVER), "properties.casualties"),
        ("incidents", incident(reported_at="0001-01-01T00:00:00+14:00"), "properties.reported_at"),
        ("incidents", incident(reported_at="9999-12-31T23:00:00"), "properties.reported_at"),
    ],
)
def test_posted_values_the_store_cannot_hold_are_422(
    client: TestClient, admin: dict, layer: str, feature: dict, field: str
) -> None:
    assert_error(client.post(f"/api/layers/{layer}", json=feature, headers=admin), 422, field)


def test_patched_integer_beyond_64_bits_is_422(client: TestClient, admin: dict) -> None:
    fid = client.post("/api/layers/enterprises", json=enterprise(), headers=admin).json()["id"]
    r = client.patch(
        f"/api/layers/enterprises/{fid}",
        json={"properties": {"employees": JUST_OVER}},
        headers=admin | {"If-Match": '"1"'},
    )
    assert_error(r, 422, "properties.employees")


def test_values_at_the_edge_of_the_range_still_work(client: TestClient, admin: dict) -> None:
    assert client.get("/api/layers/enterprises?offset=9223372036854775807").status_code == 200
    assert client.get("/api/layers/enterprises/9223372036854775807").status_code == 404
    assert client.get("/api/layers/incidents?datetime=2026-11-29T08:00:00%2B08:00").status_code == 200
    r = client.post("/api/layers/incidents", json=incident(casualties=2**63 - 1), headers=admin)
    assert r.status_code == 201, r.text


def test_an_unexpected_error_is_a_json_500_without_details(
    gpkg_store: FeatureStore, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(Settings(basemap="none"), store=gpkg_store)

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("/secret/path/to/var/safemap.gpkg exploded")

    with TestClient(app, raise_server_exceptions=False) as c, caplog.at_level(logging.ERROR, "safemap.api"):
        r = c.get("/boom")
    assert r.status_code == 500 and r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert body["error"] == "internal_error" and "服务器内部错误" in body["message"]
    assert "secret" not in r.text and "Traceback" not in r.text
    assert any("exploded" in str(rec.exc_info[1]) for rec in caplog.records if rec.exc_info)


def test_create_app_reads_settings_through_the_one_line_check(monkeypatch: pytest.MonkeyPatch) -> None:
    """``create_app()`` without settings (uvicorn's factory) says which setting is bad in one line, not a traceback."""
    from safemap.api.settings import SettingsInvalid

    monkeypatch.setenv("SAFEMAP_EXTENT", "82.1,45.25,83.65")
    with pytest.raises(SettingsInvalid, match="SAFEMAP_EXTENT"):
        create_app()
