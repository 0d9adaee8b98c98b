"""The API is strict about what it reads (issue 10, Why 7): each case below was accepted before.

A JSON body sent as ``text/plain`` or a form → 415; a wrong method on a layer address → 405 with
``Allow``; ``0``/``1`` for a boolean → 422; an unclosed ring or a Point given as ``[[x, y]]`` →
422 naming the geometry; control characters (NUL…) in a text field → 422 naming the field.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import orjson
import pytest
from fastapi.testclient import TestClient

from safemap.api.http.app import create_app
from safemap.api.settings import Settings
from safemap.layers.definitions import get_layer
from safemap.layers.errors import ValidationFailed
from safemap.layers.store import FeatureStore
from safemap.layers.tokens import create_token
from safemap.layers.validation import validate_geometry


@pytest.fixture
def client(gpkg_store: FeatureStore) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(basemap="none"), store=gpkg_store), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def admin(gpkg_store: FeatureStore) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_token(gpkg_store, '管理员', 'admin')}"}


def enterprise(geometry: dict | None = None, **props: object) -> dict:
    base = {"name": "裕民县金泰油品经营部", "industry": "fuel_station", "risk_level": "yellow"}
    return {
        "type": "Feature",
        "geometry": geometry or {"type": "Point", "coordinates": [82.99, 46.2]},
        "properties": base | props,
    }


def problem(r: httpx.Response, status: int) -> dict:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) >= {"error", "message"}
    return body["problems"][0]


@pytest.mark.parametrize("media", ["text/plain", "application/x-www-form-urlencoded", "application/xml"])
def test_json_body_with_another_media_type_is_415(client: TestClient, admin: dict, media: str) -> None:
    body = orjson.dumps(enterprise())
    r = client.post("/api/layers/enterprises", content=body, headers=admin | {"Content-Type": media})
    assert problem(r, 415)["field"] == "Content-Type"
    assert client.get("/api/layers/enterprises").json()["numberMatched"] == 0
    r = client.post("/api/route", content=b'{"from": [82.99, 46.2]}', headers={"Content-Type": media})
    assert r.status_code == 415


@pytest.mark.parametrize("media", ["application/json", "application/json; charset=utf-8", "application/geo+json"])
def test_json_media_types_are_accepted(client: TestClient, admin: dict, media: str) -> None:
    r = client.post(
        "/api/layers/enterprises", content=orjson.dumps(enterprise()), headers=admin | {"Content-Type": media}
    )
    assert r.status_code == 201, r.text


def test_405_on_a_layer_address_says_which_methods_are_allowed(client: TestClient, admin: dict) -> None:
    r = client.put("/api/layers/enterprises/1", json=enterprise(), headers=admin)
    assert r.status_code == 405
    assert set(r.headers["Allow"].split(", ")) == {"GET", "PATCH", "DELETE"}
    assert r.json()["error"] == "method_not_allowed"
    r = client.delete("/api/layers/enterprises", headers=admin)
    assert r.status_code == 405 and set(r.headers["Allow"].split(", ")) == {"GET", "POST"}


@pytest.mark.parametrize(
    ("url", "body", "field"),
    [
        ("/api/coverage/service-areas", {"only_available": 0}, "only_available"),
        ("/api/coverage/service-areas", {"only_available": "yes"}, "only_available"),
        ("/api/route", {"from": [82.99, 46.2], "to": [83.0, 46.21], "ignore_closures": 1}, "ignore_closures"),
    ],
)
def test_booleans_are_strict(client: TestClient, url: str, body: dict, field: str) -> None:
    r = client.post(url, json=body)
    assert r.status_code == 422, r.text
    assert any(p["field"].endswith(field) and "true/false" in p["message"] for p in r.json()["problems"]), r.text


def test_point_given_as_nested_list_is_refused(client: TestClient, admin: dict) -> None:
    r = client.post(
        "/api/layers/enterprises", json=enterprise({"type": "Point", "coordinates": [[82.99, 46.2]]}), headers=admin
    )
    p = problem(r, 422)
    assert p["field"] == "geometry" and "[经度, 纬度]" in p["message"]


def test_unclosed_ring_is_refused_not_closed() -> None:
    ring = [[82.99, 46.2], [83.0, 46.2], [83.0, 46.21], [82.99, 46.21]]
    with pytest.raises(ValidationFailed) as info:
        validate_geometry(get_layer("townships"), {"type": "Polygon", "coordinates": [ring]}, extent=None)
    assert info.value.problems[0].field == "geometry"
    assert "未闭合" in info.value.problems[0].message
    closed = validate_geometry(
        get_layer("townships"), {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}, extent=None
    )
    assert closed.geom_type == "MultiPolygon"
    with pytest.raises(ValidationFailed, match="未闭合"):
        validate_geometry(get_layer("townships"), {"type": "MultiPolygon", "coordinates": [[ring]]}, extent=None)


@pytest.mark.parametrize("name", ["金泰\x00油品", "金泰\x1b[31m油品", "金泰\x7f"])
def test_control_characters_in_text_are_refused(client: TestClient, admin: dict, name: str) -> None:
    r = client.post("/api/layers/enterprises", json=enterprise(name=name), headers=admin)
    p = problem(r, 422)
    assert p["field"] == "properties.name" and "控制字符" in p["message"]
    ok = client.post("/api/layers/enterprises", json=enterprise(name="金泰\t油品"), headers=admin)
    assert ok.status_code == 201, ok.text
