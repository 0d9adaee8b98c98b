"""``/api/domino*`` and ``safemap domino`` on the demo county's industrial park; proposed sources; bad input.

The demo park (裕民县工业园区) holds three 50 m³ LPG bullets 5.8–14.8 m apart and an LPG
cylinder store 76–90 m from them, two LNG tanks 10 m apart, a paint mixing shop 57.5 m from
its finished-goods store: the LPG VCEs reach one another far beyond 16 kPa (pressurised),
the mixing shop's xylene pool fire reaches the store at 16.1 kW/m² (≥ 15, atmospheric).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import shapely
from click.testing import CliRunner
from fastapi.testclient import TestClient

from safemap.api.cli.group import main
from safemap.api.http.app import create_app
from safemap.api.services import domino as domino_service
from safemap.api.services.risk_raster import read_geotiff
from safemap.api.settings import Settings
from safemap.layers.errors import Unprocessable
from safemap.layers.store import FeatureStore
from tests.support.demo import DemoCounty, copy_demo
from tests.support.synthetic_park import synthetic_park

PARK = "裕民县工业园区"
LPG1, LPG2, LPG3, CYLINDERS = (
    "1#液化石油气卧式储罐（50 m³）",
    "2#液化石油气卧式储罐（50 m³）",
    "3#液化石油气卧式储罐（50 m³）",
    "液化石油气实瓶库",
)


@pytest.fixture(scope="module")
def client(demo_store: FeatureStore) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(basemap="none", gpkg_path=Path("unused.gpkg")), store=demo_store)) as c:
        yield c


@pytest.fixture(scope="module")
def park_id(demo_store: FeatureStore) -> int:
    parks = domino_service.parks(demo_store)
    assert [p["name"] for p in parks] == [PARK]
    return int(parks[0]["id"])


def _near(store: FeatureStore, name: str, east_m: float) -> list[float]:
    """lon/lat ``east_m`` metres east of the hazard source ``name``."""
    page = store.query("hazard_sources", q=name, limit=1)
    c = shapely.geometry.shape(page.features()[0]["geometry"]).centroid
    return [c.x + east_m / (111_320.0 * math.cos(math.radians(c.y))), c.y]


def test_demo_park_has_domino_pairs_and_chains(client: TestClient, park_id: int) -> None:
    r = client.get(f"/api/domino?area={park_id}")
    assert r.status_code == 200
    body = r.json()
    assert body["area"]["name"] == PARK
    pairs = {(p["primary_name"], p["secondary_name"], p["vector"]): p for p in body["pairs"]}
    lpg = pairs[(LPG1, LPG2, "overpressure")]
    assert lpg["threshold"] == 16.0 and lpg["unit"] == "kPa" and lpg["probability"] > 0.99
    assert lpg["vector_label"] == "冲击波超压" and lpg["secondary_vessel_type"] == "pressurised"
    fire = pairs[("涂料调配车间", "成品涂料仓库", "radiation")]
    assert fire["threshold"] == 15.0 and 15.0 <= fire["value"] < 17.0 and fire["unit"] == "kW/m²"
    # Only fire and explosion escalate: the ammonia machine room and the chlorine store start nothing.
    assert not [p for p in body["pairs"] if p["primary_name"] in ("氨制冷机房及高压贮氨器", "甲类危险化学品仓库")]
    levels = {c["level"] for c in body["chains"]}
    assert levels == {1, 2, 3}
    assert any(c["names"][:2] == [LPG1, LPG2] and c["level"] == 2 for c in body["chains"])
    for c in body["chains"]:
        assert len(set(c["ids"])) == len(c["ids"])
    freqs = [c["frequency_per_year"] for c in body["chains"]]
    assert freqs == sorted(freqs, reverse=True)
    arrows = [f for f in body["geojson"]["features"] if f["properties"]["feature"] == "arrow"]
    assert {a["properties"]["color"] for a in arrows} <= {"#d32f2f", "#f57c00", "#1565c0", "#7b1fa2"}
    assert any(a["properties"]["vector"] == "radiation" and a["properties"]["color"] == "#d32f2f" for a in arrows)
    units = {
        f["properties"]["name"]: f["properties"]
        for f in body["geojson"]["features"]
        if f["properties"]["feature"] == "unit"
    }
    assert units[LPG1]["out_degree"] == 3 and units[LPG1]["vessel_type_label"].startswith("压力设备")
    assert body["summary"]["domino_scenarios"] > 0


def test_risk_and_fn_with_escalation(client: TestClient, park_id: int) -> None:
    with_d = client.get(f"/api/domino/risk?area={park_id}").json()
    without = client.get(f"/api/domino/risk?area={park_id}&escalation=false").json()
    assert with_d["bounds"] == without["bounds"] and with_d["image"].startswith("data:image/png;base64,")
    inc = with_d["increase"]
    assert inc["max_ir_with_per_year"] >= inc["max_ir_without_per_year"] > 0
    low = inc["area_above_m2"]["3e-07"]
    assert low["with_m2"] > low["without_m2"] > 0  # escalation widens the 3×10⁻⁷ /a zone
    fn = client.get(f"/api/domino/fn?area={park_id}").json()
    assert fn["with"]["max_N"] >= fn["without"]["max_N"] > 0
    f_with = dict(map(tuple, fn["with"]["curve"]))
    f_without = dict(map(tuple, fn["without"]["curve"]))
    n = min(f_without)
    assert f_with[n] >= f_without[n]
    svg = client.get(f"/api/domino/fn?area={park_id}&format=svg")
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    tif = client.get(f"/api/domino/risk?area={park_id}&format=tiff")
    arr, _, crs = read_geotiff(tif.content)
    assert crs.to_epsg() == 32644 and arr.max() == pytest.approx(inc["max_ir_with_per_year"], rel=1e-6)
    contours = client.get(f"/api/domino/risk?area={park_id}&format=contours").json()
    assert contours["features"]


@pytest.mark.parametrize(
    ("query", "status", "field"),
    [
        ("area=999999", 422, "area"),
        ("area=abc", 400, "area"),
        ("area=0", 400, "area"),
        ("max_level=4", 400, "max_level"),
        ("max_level=0", 400, "max_level"),
        ("area=3&bbox=82.9,46.1,83.1,46.3", 422, "bbox"),
        ("bbox=1,2,3", 400, "bbox"),
        ("bbox=83,46,82,47", 400, "bbox"),
    ],
)
def test_bad_parameters(client: TestClient, query: str, status: int, field: str) -> None:
    r = client.get(f"/api/domino?{query}")
    assert r.status_code == status, r.text
    assert r.json()["problems"][0]["field"] == field


def test_risk_bad_cell_and_empty_area(client: TestClient) -> None:
    assert client.get("/api/domino/risk?area=3&cell_m=1").status_code == 400
    empty = client.get("/api/domino/risk?bbox=82.30,45.40,82.31,45.41")  # no source there
    assert empty.status_code == 404 and "没有" in empty.json()["message"]
    assert client.get("/api/domino?bbox=82.30,45.40,82.31,45.41").json()["pairs"] == []


def _proposed(coords: list[float], **props: object) -> dict:
    base = {
        "name": "拟建液化石油气储罐",
        "kind": "lpg_tank",
        "substances": [{"name": "液化石油气", "quantity_t": 20.0}],
    }
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": coords}, "properties": base | props}


def test_a_proposed_source_is_analysed_not_stored(client: TestClient, demo_store: FeatureStore, park_id: int) -> None:
    """A 20 t LPG tank 40 m east of 1# bullet: both escalate each other (VCE ≫ 16 kPa at 40 m)."""
    feat = _proposed(_near(demo_store, LPG1, 40.0))
    r = client.post("/api/domino", json={"area": park_id, "extra_sources": [feat]})
    assert r.status_code == 200, r.text
    body = r.json()
    ids = {(p["primary_id"], p["secondary_name"]) for p in body["pairs"]}
    assert (-1, LPG1) in ids
    assert any(p["secondary_id"] == -1 and p["primary_name"] == LPG1 for p in body["pairs"])
    unit = next(u for u in body["units"] if u["id"] == -1)
    assert unit["vessel_type"] == "pressurised" and unit["vessel_type_derived"]
    assert unit["volume_m3"] == pytest.approx(20.0 / 0.55, rel=0.05)  # LPG ≈ 0.55 t/m³
    before = client.get(f"/api/domino?area={park_id}").json()
    assert not [u for u in before["units"] if u["id"] < 0]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"kind": "rocket"}, "extra_sources.0.properties.kind"),
        ({"vessel_type": "spherical"}, "extra_sources.0.properties.vessel_type"),
        ({"max_tank_m3": -5}, "extra_sources.0.properties.max_tank_m3"),
        ({"max_tank_m3": "五十"}, "extra_sources.0.properties.max_tank_m3"),
        (
            {"substances": [{"name": "液化石油气", "quantity_t": -1}]},
            "extra_sources.0.properties.substances.0.quantity_t",
        ),
        ({"substances": [{"quantity_t": 3}]}, "extra_sources.0.properties.substances.0.name"),
        ({"substances": "液化石油气"}, "extra_sources.0.properties.substances"),
        ({"enterprise_id": True}, "extra_sources.0.properties.enterprise_id"),
    ],
)
def test_bad_proposed_sources(client: TestClient, change: dict, field: str) -> None:
    feat = _proposed([83.02, 46.18], **change)
    r = client.post("/api/domino", json={"extra_sources": [feat]})
    assert r.status_code == 422, r.text
    problem = r.json()["problems"][0]
    assert problem["field"] == field and problem["message"].startswith("拟建危险源第1项")


def test_bad_proposed_geometry_and_body(client: TestClient) -> None:
    far = _proposed([10.0, 10.0])
    r = client.post("/api/domino", json={"extra_sources": [far]})
    assert r.status_code == 422 and r.json()["problems"][0]["field"] == "extra_sources.0.geometry"
    line = {**_proposed([83.0, 46.2]), "geometry": {"type": "LineString", "coordinates": [[83, 46.2], [83.01, 46.2]]}}
    assert client.post("/api/domino", json={"extra_sources": [line]}).status_code == 422
    assert client.post("/api/domino", json={"extra_sources": ["x"]}).status_code == 422
    assert client.post("/api/domino", json={"max_level": "3"}).status_code == 422
    assert client.post("/api/domino", json={"unknown": 1}).status_code == 422


def test_service_refuses_a_bad_level(demo_store: FeatureStore) -> None:
    with pytest.raises(Unprocessable):
        domino_service.analyse(demo_store, max_level=5)


def test_synthetic_park_of_200_units(demo_store: FeatureStore) -> None:
    """200 proposed sources (tests/support/synthetic_park.py) away from the demo's own: bounded answers."""
    feats = synthetic_park(200, seed=18)
    assert len(feats) == 200 and feats == synthetic_park(200, seed=18)
    lon, lat = (
        feats[0]["geometry"]["coordinates"][0][0]
        if feats[0]["geometry"]["type"] == "Polygon"
        else feats[0]["geometry"]["coordinates"]
    )
    area = shapely.box(lon - 1e-4, lat - 1e-4, lon + 1e-4, lat + 1e-4)  # no stored source there
    start = time.perf_counter()
    result = domino_service.analyse(demo_store, area=area, extra_sources=feats)
    elapsed = time.perf_counter() - start
    print(f"synthetic park, 200 units: {elapsed:.2f} s, {len(result.pairs)} pairs, {len(result.chains)} chains")
    assert len(result.units) == 200 and (result.units["id"] < 0).all()
    assert result.pairs and max(len(c) for c in result.chains) == 4
    # Per initiator a unit fails with probability ≤ 1: no unit's domino frequency exceeds the sum of initiators.
    initiators = sum(s.frequency for s in result.scenarios if s.model in ("pool_fire", "bleve", "vce"))
    assert max(result.failure_frequency.values()) <= initiators


def test_cli_domino(demo_county: DemoCounty, tmp_path: Path) -> None:
    path = copy_demo(demo_county, tmp_path / "demo.gpkg")
    env = {"SAFEMAP_GPKG_PATH": str(path), "SAFEMAP_DATABASE_URL": None, "SAFEMAP_EXTENT": None}
    out = tmp_path / "domino.geojson"
    result = CliRunner().invoke(main, ["domino", "--park", "工业园区", "--level", "2", "--geojson", str(out)], env=env)
    assert result.exit_code == 0, result.output
    assert "多米诺效应分析：裕民县工业园区" in result.stdout and f"{LPG1} → {LPG2}" in result.stdout
    assert "[2级]" in result.stdout and "[3级]" not in result.stdout and "个人风险最大值" in result.stdout
    assert '"FeatureCollection"' in out.read_text(encoding="utf-8")
    bad = CliRunner().invoke(main, ["domino", "--park", "不存在的园区"], env=env)
    assert bad.exit_code == 2 and "错误：--park" in bad.stderr
    both = CliRunner().invoke(main, ["domino", "--park", "园区", "--area-id", "3"], env=env)
    assert both.exit_code == 2
