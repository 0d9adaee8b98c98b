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


@pytest.mark.parametrize(
    ("url", "body", "field"),
    [
        ("/api/route", {"from": ["82.99", "46.2"], "to": [83.0, 46.21]}, "from.0"),
        ("/api/route", {"from": [82.99, 46.2], "to": [83.0, 46.21], "closed_roads": ["5"]}, "closed_roads.0"),
        ("/api/route/matrix", {"from": [82.99, 46.2], "to": [[83.0, True]]}, "to.0.1"),
        ("/api/coverage/service-areas", {"buffer_m": "100"}, "buffer_m"),
        ("/api/coverage/service-areas", {"thresholds_min": [5, "10"]}, "thresholds_min.1"),
        ("/api/coverage/locate", {"k": 2.0}, "k"),
        ("/api/coverage/locate", {"candidates": {"max": "50"}}, "candidates.max"),
        (
            "/api/safety/consequence",
            {"model": "vce", "location": [82.99, 46.2], "fuel_mass_kg": "1000"},
            "fuel_mass_kg",
        ),
        ("/api/safety/consequence", {"model": "vce", "location": ["82.99", 46.2], "fuel_mass_kg": 1000}, "location.0"),
        (
            "/api/safety/consequence",
            {"model": "bleve", "location": [82.99, 46.2], "capacity_kg": 1e4, "tanks": 1.5},
            "tanks",
        ),
        ("/api/safety/major-hazard", {"substances": [{"name": "氯", "quantity_t": "5"}]}, "substances.0.quantity_t"),
        (
            "/api/safety/major-hazard",
            {"substances": [{"name": "氯", "quantity_t": 5}], "exposed_population": "120"},
            "exposed_population",
        ),
    ],
)
def test_numbers_sent_as_strings_or_wrong_kind_are_refused(
    client: TestClient, url: str, body: dict, field: str
) -> None:
    """A number is a JSON number: ``"5"``, ``true``, and ``2.0`` for a count are each a 422 naming the field."""
    r = client.post(url, json=body)
    assert r.status_code == 422, r.text
    fields = [p["field"] for p in r.json()["problems"]]
    assert any(f.endswith(field) for f in fields), fields
    assert all("应为" in p["message"] for p in r.json()["problems"] if p["field"].endswith(field)), r.text


def test_plain_json_numbers_are_still_accepted(client: TestClient) -> None:
    """Integers are fine where decimals are expected (JSON has one number type); the strictness is about strings."""
    vce = {"model": "vce", "location": [83, 46], "fuel_mass_kg": 1000, "heat_of_combustion_kj_kg": 46000}
    r = client.post("/api/safety/consequence", json=vce)
    assert r.status_code == 200, r.text
    r = client.post(
        "/api/safety/major-hazard", json={"substances": [{"name": "氯", "quantity_t": 5}], "exposed_population": 0}
    )
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    ("url", "body", "field"),
    [
        (
            "/api/safety/consequence",
            {"model": "vce", "location": [82.99, 46.2], "fuel_mass_kg": 1, "substance": "丙\x00烷"},
            "substance",
        ),
        ("/api/safety/major-hazard", {"substances": [{"name": "氯\x1b[2J", "quantity_t": 5}]}, "substances.0.name"),
        (
            "/api/safety/site-check",
            {"geometry": {"type": "Point", "coordinates": [82.99, 46.2]}, "kind": "fuel_station", "name": "站\x07"},
            "name",
        ),
        (
            "/api/dispatch/plan",
            {"incident": [82.99, 46.2], "materials": [{"item": "沙袋\x00", "quantity": 1}]},
            "materials.0.item",
        ),
    ],
)
def test_control_characters_in_request_text_are_refused(client: TestClient, url: str, body: dict, field: str) -> None:
    """The request models refuse NUL, escape and bell like the layer features do (a tab or line break is text)."""
    r = client.post(url, json=body)
    assert r.status_code == 422, r.text
    p = next(p for p in r.json()["problems"] if p["field"].endswith(field))
    assert "控制字符" in p["message"], p


def test_request_errors_name_the_field_by_its_chinese_label(client: TestClient) -> None:
    r = client.post("/api/safety/major-hazard", json={"substances": [{"name": "氯", "quantity_t": "5吨"}]})
    p = problem(r, 422)
    assert p["field"] == "substances.0.quantity_t"
    assert p["message"].startswith("物质第1项·数量（t）：应为数值"), p
    r = client.post("/api/route", json={"from": [82.99, 46.2], "to": [83.0, 46.21], "vehicle": "坦克"})
    assert "车辆类型" in problem(r, 422)["message"]
