"""``/api/safety``: separation audit, GB 18218, consequences, risk raster, site check — and bad input."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from safemap.api.http.app import create_app
from safemap.api.services.risk_raster import read_geotiff
from safemap.api.settings import Settings
from safemap.layers.model import SYSTEM
from safemap.layers.store import FeatureStore
from safemap.layers.tokens import create_token
from tests.support.demo import YUMIN_EXTENT as EXTENT


@pytest.fixture(scope="module")
def demo(demo_store: FeatureStore) -> FeatureStore:
    """The session's graded demo county (read only)."""
    return demo_store


@pytest.fixture(scope="module")
def client(demo: FeatureStore) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(basemap="none", gpkg_path=Path("unused.gpkg")), store=demo)) as c:
        yield c


def _hazard(demo: FeatureStore, name_part: str) -> dict:
    page = demo.query("hazard_sources", q=name_part, limit=1)
    return page.features()[0]


# ---------------------------------------------------------------------------- separation audit


def test_violations_find_the_planted_problems(client: TestClient) -> None:
    r = client.get("/api/safety/violations")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/geo+json")
    feats = r.json()["features"]
    by_target = {f["properties"]["target_name"]: f["properties"] for f in feats}
    kg = by_target["金桥小区配套幼儿园"]  # P1: 38 m from a 二级 station with unloading recovery (40 m)
    assert (kg["actual_m"], kg["required_m"], kg["shortfall_m"], kg["clause"]) == (38.0, 40.0, 2.0, "4.0.4")
    herder = by_target["察汗托海牧场牧民住宅（加油站罐区旁）"]  # P3: 7 m, class 3, 三级 without recovery (10 m)
    assert (herder["actual_m"], herder["required_m"]) == (7.0, 10.0)
    winter = by_target["牧民冬窝子定居点（矿区炸药库附近）"]  # P5: 350 m from 8.65 t of explosives
    assert winter["standard"] == "GB 6722-2014" and winter["required_m"] > 900
    for f in feats:
        assert f["geometry"]["type"] == "LineString"
        assert f["properties"]["shortfall_m"] == pytest.approx(
            f["properties"]["required_m"] - f["properties"]["actual_m"], abs=0.02
        )
    csv = client.get("/api/safety/violations?format=csv")
    assert csv.status_code == 200 and csv.text.startswith("\ufeff结论,规则")
    assert len(csv.text.strip().splitlines()) == len(feats) + 1
    assert client.get("/api/safety/violations?format=xml").status_code == 400


def test_demo_hazards_are_graded(demo: FeatureStore, client: TestClient) -> None:
    chlorine = _hazard(demo, "甲类危险化学品仓库")["properties"]
    # 6 t Cl2 (β 4) + methanol 25 t + toluene 15 t + acetone 8 t (Q 500) + xylene 12 t (W5.4, 5000 t).
    s = 6 / 5 + 25 / 500 + 15 / 500 + 8 / 500 + 12 / 5000
    assert chlorine["s_value"] == pytest.approx(s, abs=1e-6)
    assert chlorine["exposed_population"] >= 100  # the vocational school is 80 m away
    r = 2.0 * (4 * 6 / 5 + 25 / 500 + 15 / 500 + 8 / 500 + 12 / 5000)
    assert chlorine["r_value"] == pytest.approx(r, abs=1e-6) and chlorine["grade"] == 4
    grades = client.get("/api/safety/hazard-grades").json()["hazards"]
    # 8 sources major on their own + the three LPG tanks of one storage unit (issue 11), which carry its grade.
    assert sum(1 for h in grades if h["grade"]) == 11
    units = client.get("/api/safety/hazard-grades").json()["units"]
    assert [(u["name"], len(u["member_ids"]), u["grade"]) for u in units] == [("液化石油气储罐区（防火堤内）", 3, 4)]


# ---------------------------------------------------------------------------- GB 18218


def test_major_hazard_endpoint(client: TestClient) -> None:
    body = {
        "substances": [{"name": "液氯", "quantity_t": 2.5}, {"cas": "7664-41-7", "quantity_t": 5}],
        "exposed_population": 100,
    }
    r = client.post("/api/safety/major-hazard", json=body)
    assert r.status_code == 200
    out = r.json()
    assert out["S"] == 1.0 and out["is_major"] and out["alpha"] == 2.0
    assert out["R"] == pytest.approx(2 * (4 * 0.5 + 2 * 0.5)) and out["grade"] == 4
    assert [t["critical_t"] for t in out["terms"]] == [5.0, 10.0]


def test_major_hazard_population_from_the_map(client: TestClient, demo: FeatureStore) -> None:
    unit = _hazard(demo, "甲类危险化学品仓库")
    body = {"substances": [{"name": "氯", "quantity_t": 50}], "geometry": unit["geometry"]}
    out = client.post("/api/safety/major-hazard", json=body).json()
    assert out["exposed_population"] == unit["properties"]["exposed_population"]
    assert out["alpha"] == 2.0 and out["R"] == pytest.approx(80.0) and out["grade"] == 2


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"substances": [{"name": "氯", "quantity_t": -1}], "exposed_population": 3}, "substances.0.quantity_t"),
        ({"substances": [], "exposed_population": 3}, "substances"),
        ({"substances": [{"name": "氯", "quantity_t": 1}]}, "exposed_population"),
        ({"substances": [{"quantity_t": 1}], "exposed_population": 3}, "substances.0.name"),
        (
            {"substances": [{"name": "氯", "quantity_t": 1}], "geometry": {"type": "Point", "coordinates": [10, 10]}},
            "geometry",
        ),
        ({"substances": [{"name": "氯", "quantity_t": 1}], "exposed_population": -5}, "exposed_population"),
    ],
)
def test_major_hazard_bad_input(client: TestClient, body: dict, field: str) -> None:
    r = client.post("/api/safety/major-hazard", json=body)
    assert r.status_code == 422
    assert r.json()["problems"][0]["field"] == field


# ---------------------------------------------------------------------------- consequences


LOC = [82.98, 46.2]


def test_consequence_models(client: TestClient) -> None:
    v = client.post(
        "/api/safety/consequence",
        json={"model": "vce", "location": LOC, "substance": "液化石油气", "fuel_mass_kg": 1000},
    ).json()
    assert v["results"]["w_tnt_kg"] == pytest.approx(1.8 * 0.04 * 1000 * 50290 / 4520, abs=1e-3)
    assert v["zones"]["features"][0]["properties"]["key"] == "death"
    b = client.post(
        "/api/safety/consequence",
        json={"model": "bleve", "location": {"type": "Point", "coordinates": LOC}, "fireball_mass_kg": 1000},
    ).json()
    assert b["results"]["radius_m"] == pytest.approx(29.0) and b["results"]["duration_s"] == pytest.approx(4.5)
    p = client.post(
        "/api/safety/consequence", json={"model": "pool_fire", "location": LOC, "substance": "汽油", "diameter_m": 20}
    ).json()
    assert p["results"]["diameter_m"] == pytest.approx(20.0) and p["results"]["flux_distances"][0]["distance_m"] > 0
    g = client.post(
        "/api/safety/consequence",
        json={
            "model": "gaussian_plume",
            "location": LOC,
            "substance": "氯",
            "rate_kg_s": 1.0,
            "wind_m_s": 3.0,
            "stability": "D",
            "wind_from_deg": 270,
            "sample_distances_m": [1000],
        },
    ).json()
    sample = g["results"]["samples"][0]
    expected = 1e6 / (np.pi * 3.0 * sample["sigma_y_m"] * sample["sigma_z_m"])
    assert sample["concentration_mg_m3"] == pytest.approx(expected)
    assert [f["label"] for f in g["results"]["footprints"]] == ["AEGL-3", "AEGL-2", "AEGL-1"]
    zone = g["zones"]["features"][0]
    xs = [c[0] for c in zone["geometry"]["coordinates"][0]]
    assert min(xs) >= LOC[0] - 1e-6 and max(xs) > LOC[0] + 0.005  # a west wind blows the plume east
    assert "population" in zone["properties"] and "targets" in zone["properties"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"model": "gaussian_plume", "rate_kg_s": 1, "wind_m_s": 0, "stability": "D"}, "wind_m_s"),
        ({"model": "gaussian_plume", "rate_kg_s": 1, "wind_m_s": 3, "stability": "G"}, "stability"),
        ({"model": "vce", "fuel_mass_kg": -10, "heat_of_combustion_kj_kg": 46000}, "fuel_mass_kg"),
        ({"model": "vce", "fuel_mass_kg": 10}, "heat_of_combustion_kj_kg"),
        ({"model": "bleve"}, "capacity_kg"),
        ({"model": "pool_fire", "substance": "汽油"}, "area_m2"),
        ({"model": "laser"}, "model"),
        ({"model": "vce", "fuel_mass_kg": 10, "substance": "不存在的物质"}, "substance"),
        (
            {
                "model": "gaussian_plume",
                "rate_kg_s": 1,
                "wind_m_s": 3,
                "stability": "D",
                "thresholds": [{"label": "x", "ppm": 5}],
            },
            "molar_mass_g_mol",
        ),
        (
            {"model": "vce", "fuel_mass_kg": 10, "heat_of_combustion_kj_kg": 46000, "location": [100.0, 30.0]},
            "location",
        ),
        ({"model": "vce", "fuel_mass_kg": 10, "heat_of_combustion_kj_kg": 46000, "colour": "red"}, "colour"),
    ],
)
def test_consequence_bad_input(client: TestClient, body: dict, field: str) -> None:
    r = client.post("/api/safety/consequence", json={"location": LOC, **body})
    assert r.status_code == 422, r.text
    assert r.json()["problems"][0]["field"] == field


# ---------------------------------------------------------------------------- individual risk


def test_risk_raster_is_a_metric_geotiff(client: TestClient) -> None:
    r = client.get("/api/safety/risk-raster?cell_m=20")
    assert r.status_code == 200 and r.headers["content-type"] == "image/tiff"
    data, transform, crs = read_geotiff(r.content)
    assert crs.to_epsg() == 32644 and transform.a == 20 and transform.e == -20
    assert data.dtype == np.float32 and 1e-7 < float(data.max()) < 1e-3
    png = client.get("/api/safety/risk-raster?cell_m=20&format=png").json()
    (south, west), (north, east) = png["bounds"]
    assert EXTENT[0] < west < east < EXTENT[2] and EXTENT[1] < south < north < EXTENT[3]
    assert png["image"].startswith("data:image/png;base64,") and png["max_per_year"] == pytest.approx(
        float(data.max()), rel=1e-5
    )
    contours = client.get("/api/safety/risk-contours?cell_m=20").json()
    levels = {f["properties"]["level_per_year"] for f in contours["features"]}
    assert 3e-7 in levels


def test_risk_raster_bad_parameters(client: TestClient) -> None:
    assert client.get("/api/safety/risk-raster?cell_m=0.5").status_code == 400
    r = client.get("/api/safety/risk-raster?cell_m=2&bbox=82.2,45.3,83.6,46.6")
    assert r.status_code == 422 and r.json()["problems"][0]["field"] == "cell_m"
    assert client.get("/api/safety/risk-raster?bbox=1,2,3").status_code == 400
    assert client.get("/api/safety/risk-raster?stability=G").status_code == 400


def test_risk_targets_and_fn_curve(client: TestClient) -> None:
    out = client.get("/api/safety/risk-targets").json()
    school = next(t for t in out["targets"] if t["target_name"] == "裕民县职业技术学校")
    # P2: the chlorine store is existing plant: above the new-plant limit, below the existing one.
    assert school["limit_existing_per_year"] == 3e-6 and school["limit_new_per_year"] == 3e-7
    assert school["above_new_plant_limit"] and not school["exceeds"]
    fn = client.get("/api/safety/fn-curve?format=json").json()
    ns = [n for n, _ in fn["curve"]]
    fs = [f for _, f in fn["curve"]]
    assert ns == sorted(ns) and fs == sorted(fs, reverse=True) and fn["max_N"] >= 100
    svg = client.get("/api/safety/fn-curve")
    assert svg.headers["content-type"].startswith("image/svg+xml") and "10⁻³/N" in svg.text


# ---------------------------------------------------------------------------- site check


def _near_station(demo: FeatureStore, dx: float) -> list[float]:
    tank = _hazard(demo, "城东加油站")
    from shapely.geometry import shape

    c = shape(tank["geometry"]).centroid
    return [c.x + dx, c.y]


def test_site_check_school_next_to_a_fuel_station(client: TestClient, demo: FeatureStore) -> None:
    body = {
        "geometry": {"type": "Point", "coordinates": _near_station(demo, 0.0003)},
        "kind": "school",
        "name": "新学校",
    }
    out = client.post("/api/safety/site-check", json=body).json()
    assert out["summary"]["failed"] == 1 and out["summary"]["verdict"] == "不符合"
    check = out["checks"]["features"][0]["properties"]
    assert check["required_m"] == 40 and check["actual_m"] < 40 and not check["passed"]
    assert out["risk"]["gb36894_class"] == "high_sensitive"
    html = client.post("/api/safety/site-check/report", json=body)
    assert html.status_code == 200 and "<svg" in html.text and "GB 50156-2021" in html.text and "不符合" in html.text
    csv = client.post("/api/safety/site-check/report?format=csv", json=body)
    assert csv.text.count("\n") == 2
    gj = client.post("/api/safety/site-check/report?format=geojson", json=body).json()
    assert {f["properties"]["part"] for f in gj["features"]} == {"site", "check"}


def test_site_check_lpg_depot_polygon(client: TestClient, demo: FeatureStore) -> None:
    x, y = _near_station(demo, 0.004)
    ring = [[x, y], [x + 0.001, y], [x + 0.001, y + 0.0008], [x, y + 0.0008], [x, y]]
    body = {
        "geometry": {"type": "Polygon", "coordinates": [ring]},
        "kind": "lpg_depot",
        "properties": {"volume_m3": 300},
    }
    out = client.post("/api/safety/site-check", json=body).json()
    assert out["gb18218"]["S"] == pytest.approx(300 * 0.55 * 0.85 / 50)
    labels = [z["properties"]["label"] for z in out["zones"]["features"]]
    assert any("BLEVE" in label for label in labels)
    required = {f["properties"]["required_m"] for f in out["checks"]["features"]}
    assert required <= {70.0, 50.0, 300.0}  # 300 m³: band 200–500 (70/50 m) or fire-station siting


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"geometry": {"type": "Point", "coordinates": [10, 10]}, "kind": "school"}, "geometry"),
        ({"geometry": {"type": "Point", "coordinates": [82.9, 46.2]}, "kind": "castle"}, "kind"),
        (
            {"geometry": {"type": "LineString", "coordinates": [[82.9, 46.2], [82.91, 46.2]]}, "kind": "school"},
            "geometry",
        ),
        (
            {
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [[[82.9, 46.2], [82.91, 46.21], [82.91, 46.2], [82.9, 46.21], [82.9, 46.2]]],
                },
                "kind": "school",
            },
            "geometry",
        ),
        (
            {
                "geometry": {"type": "Point", "coordinates": [82.9, 46.2]},
                "kind": "school",
                "properties": {"population": -3},
            },
            "properties.population",
        ),
        (
            {"geometry": {"type": "Point", "coordinates": [82.9, 46.2]}, "kind": "school", "properties": {"colour": 1}},
            "properties.colour",
        ),
        (
            {"geometry": {"type": "Point", "coordinates": [82.9, 46.2]}, "kind": "school", "vicinity_m": -1},
            "vicinity_m",
        ),
        ({"kind": "school"}, "geometry"),
    ],
)
def test_site_check_bad_input(client: TestClient, body: dict, field: str) -> None:
    r = client.post("/api/safety/site-check", json=body)
    assert r.status_code == 422, r.text
    assert r.json()["problems"][0]["field"] == field


def test_bad_json_and_huge_bodies(client: TestClient) -> None:
    r = client.post("/api/safety/site-check", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["problems"][0]["field"] == "body"
    big = {"model": "vce", "location": LOC, "fuel_mass_kg": 1, "heat_of_combustion_kj_kg": 1, "pad": "x" * 6_000_000}
    assert client.post("/api/safety/consequence", json=big).status_code == 413


# ---------------------------------------------------------------------------- both stores: grades follow edits


def _feature(geometry: dict, **props: object) -> dict:
    return {"type": "Feature", "geometry": geometry, "properties": props}


def test_grades_and_violations_follow_edits(store: FeatureStore) -> None:
    with TestClient(create_app(Settings(basemap="none", extent=EXTENT), store=store)) as c:
        planner = {"Authorization": f"Bearer {create_token(store, '规划员', 'planner')}"}
        ent = store.create(
            "enterprises",
            _feature(
                {"type": "Point", "coordinates": [82.99, 46.2]},
                name="某加油站",
                industry="fuel_station",
                risk_level="yellow",
            ),
            SYSTEM,
        )
        tank = [[82.99, 46.2], [82.9901, 46.2], [82.9901, 46.2001], [82.99, 46.2001], [82.99, 46.2]]
        created = c.post(
            "/api/layers/hazard_sources",
            headers=planner,
            json=_feature(
                {"type": "Polygon", "coordinates": [tank]},
                name="埋地油罐区",
                enterprise_id=ent["id"],
                kind="fuel_station_tank",
                gasoline_m3=90,
                diesel_m3=60,
                max_tank_m3=30,
                vapour_recovery="unloading",
                substances=[{"name": "汽油", "quantity_t": 100}],
            ),
        )
        assert created.status_code == 201, created.text
        hid = created.json()["id"]
        h = c.get(f"/api/layers/hazard_sources/{hid}").json()["properties"]
        assert h["s_value"] == pytest.approx(0.5) and h["grade"] is None and h["exposed_population"] == 0
        # A kindergarten 30 m east of the tank (0.0001° ≈ 7.7 m wide): violation of the 40 m rule, 200 people.
        kg = c.post(
            "/api/layers/protected_targets",
            headers=planner,
            json=_feature(
                {"type": "Point", "coordinates": [82.9901 + 30 / 77_000, 46.20005]},
                name="新幼儿园",
                category="kindergarten",
                gb50156_class="important_public",
                gb36894_class="high_sensitive",
                population=200,
            ),
        )
        assert kg.status_code == 201
        h = c.get(f"/api/layers/hazard_sources/{hid}").json()["properties"]
        assert h["exposed_population"] == 200
        v = c.get("/api/safety/violations").json()["features"]
        assert [f["properties"]["target_name"] for f in v] == ["新幼儿园"]
        assert v[0]["properties"]["required_m"] == 40 and 25 < v[0]["properties"]["actual_m"] < 35
        # Raise the gasoline to 400 t: S = 2, major; α = 2 (200 people): R = 2 × 1 × 2 = 4 → 四级.
        edit = c.patch(
            f"/api/layers/hazard_sources/{hid}",
            headers={**planner, "If-Match": '"1"'},
            json={"properties": {"substances": [{"name": "汽油", "quantity_t": 400}]}},
        )
        assert edit.status_code == 200, edit.text
        h = c.get(f"/api/layers/hazard_sources/{hid}").json()["properties"]
        assert (h["s_value"], h["r_value"], h["grade"], h["version"]) == (2.0, 4.0, 4, 2)
        entries = c.get("/api/audit?layer=hazard_sources", headers=planner).json()["entries"]
        assert entries[0]["action"] == "compute"
        # Unauthenticated recompute is refused; a planner may trigger one.
        assert c.post("/api/safety/recompute-grades").status_code == 401
        assert c.post("/api/safety/recompute-grades", headers=planner).json()["changed"] == 0


def test_an_empty_store(gpkg_store: FeatureStore) -> None:
    with TestClient(create_app(Settings(basemap="none", extent=EXTENT), store=gpkg_store)) as c:
        assert c.get("/api/safety/violations").json()["features"] == []
        r = c.get("/api/safety/risk-raster")
        assert r.status_code == 404 and "bbox" in r.json()["message"]
        assert (
            c.get("/api/safety/risk-raster?format=png&cell_m=50&bbox=82.9,46.1,83.0,46.2").json()["max_per_year"] == 0
        )
        site = {"geometry": {"type": "Point", "coordinates": [82.9, 46.2]}, "kind": "lpg_depot"}
        out = c.post("/api/safety/site-check", json=site).json()
        assert out["site"]["properties"]["kind"] == "lpg_depot" and out["summary"]["failed"] == 0
        assert out["gb18218"]["S"] == pytest.approx(150 * 0.55 * 0.85 / 50)


def test_violations_carry_the_audit_summary_and_the_source_level_findings(client: TestClient) -> None:
    """The map and other clients see the counts per verdict and what could not be checked, not only the lines."""
    body = client.get("/api/safety/violations").json()
    summary, issues, feats = body["summary"], body["issues"], body["features"]
    assert summary["labels"] == {"pass": "符合", "fail": "不符合", "cannot_check": "无法核查"}
    assert summary["fail"] == sum(1 for f in feats if f["properties"]["status"] == "fail") > 0
    assert summary["cannot_check"] == sum(1 for f in feats if f["properties"]["status"] == "cannot_check")
    assert summary["issues"] == len(issues) > 0
    assert all(i["status"] == "cannot_check" and i["status_label"] == "无法核查" and i["reason"] for i in issues)
