"""The county's wind: ``GET /api/safety/wind``, the admin-edited rose, the station check, consequence defaults, CLI.

The demo rose (data/standards/wind_rose.csv) is synthetic and 【未核实】: E 13 % is the
highest sector, calm 18 %, 16 sectors + calm = 100 %. The station check's bands and their
basis are in gis/wind.py (downwind δ ≤ 45°, convention); the VCE worked example is in
tests/gis/test_consequence.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import shapely
from click.testing import CliRunner
from fastapi.testclient import TestClient
from pyproj import Geod

from safemap.api.cli.group import main
from safemap.api.http.app import create_app
from safemap.api.services import wind as wind_service
from safemap.api.services.safety import load as load_safety
from safemap.api.settings import Settings
from safemap.layers.store import FeatureStore
from safemap.layers.tokens import create_token
from tests.support.demo import YUMIN_EXTENT as EXTENT

LOC = [83.0089, 46.1840]
_GEOD = Geod(ellps="WGS84")
HAZCHEM_WAREHOUSE = "甲类危险化学品仓库"


@pytest.fixture(scope="module")
def client(demo_store: FeatureStore) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(basemap="none", gpkg_path=Path("unused.gpkg")), store=demo_store)) as c:
        yield c


@pytest.fixture
def writable(demo_copy: FeatureStore) -> Iterator[tuple[TestClient, dict[str, dict[str, str]]]]:
    tokens = {
        role: {"Authorization": f"Bearer {create_token(demo_copy, f'{role}用户', role)}"}
        for role in ("planner", "admin")
    }
    with TestClient(create_app(Settings(basemap="none", extent=EXTENT), store=demo_copy)) as c:
        yield c, tokens


def _rows(client: TestClient) -> dict[str, dict]:
    items = client.get("/api/layers/wind_rose", params={"limit": 100}).json()["features"]
    return {f["properties"]["sector"]: f for f in items}


def _set(client: TestClient, headers: dict, row: dict, **props: object) -> None:
    r = client.patch(
        f"/api/layers/wind_rose/{row['id']}",
        json={"properties": {**props, "version": row["properties"]["version"]}},
        headers=headers,
    )
    assert r.status_code == 200, r.text


def _centroid(store: FeatureStore, name: str) -> tuple[int, tuple[float, float]]:
    f = store.query("hazard_sources", q=name, limit=1).features()[0]
    c = shapely.geometry.shape(f["geometry"]).centroid
    return f["id"], (c.x, c.y)


def _at(origin: tuple[float, float], bearing: float, distance_m: float) -> tuple[float, float]:
    lon, lat, _ = _GEOD.fwd(origin[0], origin[1], bearing, distance_m)
    return lon, lat


def test_demo_rose_and_prevailing_wind(client: TestClient) -> None:
    r = client.get("/api/safety/wind")
    assert r.status_code == 200
    w = r.json()
    assert [x["sector"] for x in w["rose"]][:4] == ["N", "NNE", "NE", "ENE"] and len(w["rose"]) == 16
    assert w["rose"][4] == {
        "sector": "E",
        "name": "东风",
        "from_deg": 90.0,
        "frequency_pct": 13.0,
        "mean_speed_m_s": 3.6,
    }
    assert w["calm_pct"] == 18.0 and w["total_pct"] == pytest.approx(100.0)
    p = w["prevailing"]
    assert (p["sector"], p["from_deg"], p["towards_deg"], p["name"], p["label"]) == (
        "E",
        90.0,
        270.0,
        "东风",
        "东风（90°）",
    )
    assert not p["tied"] and p["frequency_pct"] == 13.0
    assert w["synthetic"] and w["unverified"] and "【未核实】" in w["source"] and w["warnings"] == []
    assert w["description"].startswith("按县域主导风向 东风（90°）")
    # The table itself is a standards layer in the catalogue, without geometry.
    catalogue = client.get("/api/layers").json()
    assert "县域风向玫瑰（常年风向频率）" in str(catalogue)
    assert client.get("/api/layers/wind_rose/schema").status_code == 200


def test_admin_edits_the_rose_versioned_and_audited(writable: tuple[TestClient, dict]) -> None:
    client, tokens = writable
    rows = _rows(client)
    assert len(rows) == 17 and "C" in rows
    denied = client.patch(
        f"/api/layers/wind_rose/{rows['NW']['id']}",
        json={"properties": {"frequency_pct": 30.0, "version": rows["NW"]["properties"]["version"]}},
        headers=tokens["planner"],
    )
    assert denied.status_code == 403
    bad = client.patch(
        f"/api/layers/wind_rose/{rows['NW']['id']}",
        json={"properties": {"frequency_pct": 150.0, "version": rows["NW"]["properties"]["version"]}},
        headers=tokens["admin"],
    )
    assert bad.status_code == 422 and bad.json()["problems"][0]["field"] == "properties.frequency_pct"
    assert "频率" in bad.json()["problems"][0]["message"] or "100" in bad.json()["problems"][0]["message"]
    # NW up to 25 %, calm down to 0: the sum is 112 %, reported, not refused (rows change one at a time).
    _set(client, tokens["admin"], rows["NW"], frequency_pct=25.0)
    w = client.get("/api/safety/wind").json()
    assert w["prevailing"]["label"] == "西北风（315°）" and w["prevailing"]["mean_speed_m_s"] == 2.6
    assert any("合计 120.0%" in x for x in w["warnings"])
    _set(client, tokens["admin"], _rows(client)["C"], frequency_pct=0.0)
    assert client.get("/api/safety/wind").json()["total_pct"] == pytest.approx(102.0)
    audit = client.get(
        "/api/audit", params={"layer": "wind_rose", "feature_id": rows["NW"]["id"]}, headers=tokens["admin"]
    ).json()
    assert audit["entries"][0]["action"] == "update" and audit["entries"][0]["actor"] == "admin用户"


def test_tied_and_all_calm_roses(writable: tuple[TestClient, dict]) -> None:
    client, tokens = writable
    rows = _rows(client)
    _set(client, tokens["admin"], rows["W"], frequency_pct=13.0)  # ties with E (13 %)
    w = client.get("/api/safety/wind").json()
    assert w["prevailing"]["sectors"] == ["E", "W"] and w["prevailing"]["tied"]
    assert w["prevailing"]["from_deg"] == 90.0 and any("并列" in x for x in w["warnings"])
    for code, row in _rows(client).items():
        _set(client, tokens["admin"], row, frequency_pct=100.0 if code == "C" else 0.0)
    w = client.get("/api/safety/wind").json()
    assert w["prevailing"] is None and w["calm_pct"] == 100.0 and any("静风" in x for x in w["warnings"])
    # No prevailing wind: a plume without a wind is refused naming the field; the station check cannot check.
    r = client.post(
        "/api/safety/consequence",
        json={"model": "gaussian_plume", "location": LOC, "rate_kg_s": 1.0, "wind_m_s": 3.0, "stability": "D"},
    )
    assert r.status_code == 422 and r.json()["problems"][0]["field"] == "wind_from_deg"
    check = client.get("/api/safety/wind/station-check", params={"lon": LOC[0], "lat": LOC[1]}).json()
    assert check["checks"] and all(c["status"] == "cannot_check" for c in check["checks"])
    assert check["counts"]["cannot_check"] == len(check["checks"])


def test_plume_defaults_to_the_prevailing_wind(client: TestClient) -> None:
    body = {"model": "gaussian_plume", "location": LOC, "substance": "氯", "rate_kg_s": 1.0, "wind_m_s": 3.0}
    g = client.post("/api/safety/consequence", json={**body, "stability": "D"}).json()
    assert g["wind"]["origin"] == "county_prevailing" and g["wind"]["from_deg"] == 90.0
    assert g["wind"]["description"].startswith("按县域主导风向 东风（90°）") and "【未核实】" in g["wind"]["source"]
    assert g["results"]["wind_from_deg"] == 90.0 and g["results"]["downwind_bearing_deg"] == 270.0
    xs = [c[0] for c in g["zones"]["features"][0]["geometry"]["coordinates"][0]]
    assert max(xs) <= LOC[0] + 1e-6 and min(xs) < LOC[0] - 0.005  # an east wind blows the plume west
    told = client.post("/api/safety/consequence", json={**body, "stability": "D", "wind_from_deg": 315}).json()
    assert told["wind"]["origin"] == "request" and told["results"]["downwind_bearing_deg"] == 135.0
    assert "西北风" in told["wind"]["description"]
    v = client.post(
        "/api/safety/consequence", json={"model": "vce", "location": LOC, "substance": "液化石油气", "fuel_mass_kg": 1}
    ).json()
    assert v["wind"] is None


def test_vce_sample_distances(client: TestClient) -> None:
    w = 1.8 * 0.04 * 1000 * 50290 / 4520  # substance table: Q_f(LPG as propane) = 50 290 kJ/kg
    scale = (w * 4520e3 / 101300) ** (1 / 3)
    body = {"model": "vce", "location": LOC, "substance": "液化石油气", "fuel_mass_kg": 1000}
    v = client.post("/api/safety/consequence", json={**body, "sample_distances_m": [0, scale, 2 * scale, 5000]}).json()
    zero, one, two, far = v["results"]["samples"]
    assert zero["overpressure_kpa"] is None and zero["bound"] == "above"
    assert one["overpressure_kpa"] == pytest.approx(51.258, abs=1e-3)  # Z = 1 → 0.506 p₀
    assert two["overpressure_kpa"] == pytest.approx(16.449, abs=1e-3)  # Z = 2 → 0.162375 p₀
    assert far["overpressure_kpa"] is None and far["bound"] == "below"
    radius = v["results"]["serious_injury_m"]
    at = client.post("/api/safety/consequence", json={**body, "sample_distances_m": [radius]}).json()
    assert at["results"]["samples"][0]["overpressure_kpa"] == pytest.approx(44.0, abs=0.01)
    assert "samples" not in client.post("/api/safety/consequence", json=body).json()["results"]


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"sample_distances_m": [-1]}, "sample_distances_m.0"),
        ({"sample_distances_m": ["5"]}, "sample_distances_m.0"),
        ({"sample_distances_m": [200_000]}, "sample_distances_m.0"),
        ({"sample_distances_m": 5}, "sample_distances_m"),
        ({"sample_distances_m": [1.0] * 201}, "sample_distances_m"),
    ],
)
def test_vce_sample_distances_bad_input(client: TestClient, extra: dict, field: str) -> None:
    body = {"model": "vce", "location": LOC, "substance": "液化石油气", "fuel_mass_kg": 1000, **extra}
    r = client.post("/api/safety/consequence", json=body)
    assert r.status_code == 422, r.text
    assert r.json()["problems"][0]["field"] == field


def test_plume_wind_direction_bad_input(client: TestClient) -> None:
    body = {"model": "gaussian_plume", "location": LOC, "rate_kg_s": 1.0, "wind_m_s": 3.0, "stability": "D"}
    for bad in (360, -1, "315", None):
        r = client.post("/api/safety/consequence", json={**body, "wind_from_deg": bad})
        if bad is None:  # explicit null: the county's wind, like an omitted field
            assert r.status_code == 200 and r.json()["wind"]["origin"] == "county_prevailing"
        else:
            assert r.status_code == 422 and r.json()["problems"][0]["field"] == "wind_from_deg"


def test_station_check_around_the_hazchem_warehouse(client: TestClient, demo_store: FeatureStore) -> None:
    site_id, centre = _centroid(demo_store, HAZCHEM_WAREHOUSE)

    def check(bearing: float | None, distance: float = 500.0) -> dict:
        lon, lat = centre if bearing is None else _at(centre, bearing, distance)
        r = client.get("/api/safety/wind/station-check", params={"lon": lon, "lat": lat, "vicinity_m": 1000})
        assert r.status_code == 200, r.text
        return next(c for c in r.json()["checks"] if c["target_id"] == site_id)

    west = check(270.0)  # the east wind blows towards the west: downwind
    assert (
        west["status"] == "fail" and west["relation"] == "downwind" and west["bearing_deg"] == pytest.approx(270, 0.01)
    )
    assert west["standard"] == "建标152-2017" and "东风（90°）" in west["reason"] and 0 < west["distance_m"] < 500
    east = check(90.0)
    assert east["status"] == "pass" and east["relation"] == "upwind"
    north = check(0.0)
    assert north["status"] == "pass" and north["relation"] == "crosswind"
    boundary = check(225.0)  # 45° from downwind: downwind (conservative)
    assert boundary["status"] == "fail" and boundary["angle_to_downwind_deg"] == pytest.approx(45.0, abs=0.01)
    inside = check(None)
    assert inside["status"] == "fail" and inside["distance_m"] == 0.0 and inside["bearing_deg"] is None


def test_station_check_bad_input(client: TestClient) -> None:
    out = client.get("/api/safety/wind/station-check", params={"lon": 100.0, "lat": 30.0})
    assert out.status_code == 400 and out.json()["problems"][0]["field"] == "lon"
    for params, field in (
        ({"lon": "abc", "lat": 46.2}, "lon"),
        ({"lon": 83.0}, "lat"),
        ({"lon": 83.0, "lat": 46.2, "vicinity_m": -5}, "vicinity_m"),
    ):
        r = client.get("/api/safety/wind/station-check", params=params)
        assert r.status_code == 400 and r.json()["problems"][0]["field"] == field, r.text


def test_fire_station_wind_checks_service(demo_store: FeatureStore) -> None:
    site_id, centre = _centroid(demo_store, HAZCHEM_WAREHOUSE)
    station = shapely.Point(*_at(centre, 270.0, 400.0))
    checks = wind_service.fire_station_wind_checks(demo_store, station, 450.0)
    assert checks and all(c["distance_m"] <= 450.0 for c in checks)
    assert [c["distance_m"] for c in checks] == sorted(c["distance_m"] for c in checks)
    mine = next(c for c in checks if c["target_id"] == site_id)
    assert mine["status"] == "fail" and mine["target_name"] == HAZCHEM_WAREHOUSE
    # A GeoJSON mapping works as well as a shapely geometry; nothing nearby: no record.
    assert wind_service.fire_station_wind_checks(
        demo_store, {"type": "Point", "coordinates": list(station.coords[0])}, 450.0
    )
    assert wind_service.fire_station_wind_checks(demo_store, shapely.Point(82.3, 45.45), 100.0) == []
    # With SafetyData the caller passes the wind; without it the check cannot be made.
    data = load_safety(demo_store)
    summary = wind_service.prevailing_wind(demo_store)
    assert wind_service.fire_station_wind_checks(data, station, 450.0, wind=summary) == checks
    assert all(c["status"] == "cannot_check" for c in wind_service.fire_station_wind_checks(data, station, 450.0))
    # No station: one record saying so.
    (missing,) = wind_service.fire_station_wind_checks(demo_store, None, 450.0)
    assert missing["status"] == "cannot_check" and "缺少" in missing["reason"]


def test_cli_wind(demo_county: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.support.demo import open_demo

    path = tmp_path / "cli.gpkg"
    open_demo(demo_county, path).close()  # type: ignore[arg-type]
    monkeypatch.setenv("SAFEMAP_GPKG_PATH", str(path))
    monkeypatch.delenv("SAFEMAP_DATABASE_URL", raising=False)
    result = CliRunner().invoke(main, ["wind"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "常年主导风向：东风（90°），频率 13%" in result.output and "静风" in result.output
    assert "【未核实】" in result.output and "东东南风" in result.output
    result = CliRunner().invoke(main, ["wind", "--lon", "83.0", "--lat", "46.18", "--vicinity", "1500"])
    assert (
        result.exit_code == 0
        and "建标152" in result.output
        and ("[符合]" in result.output or "[不符合]" in result.output)
    )
    result = CliRunner().invoke(main, ["wind", "--lon", "83.0"])
    assert result.exit_code == 2 and "--lat" in result.output
    result = CliRunner().invoke(main, ["wind", "--json"])
    assert result.exit_code == 0 and '"prevailing"' in result.output


def test_duplicate_sector_rows_and_an_empty_rose(writable: tuple[TestClient, dict]) -> None:
    client, tokens = writable
    extra = {
        "type": "Feature",
        "geometry": None,
        "properties": {"name": "西北风（第二行）", "sector": "NW", "frequency_pct": 10.0, "source": "测试"},
    }
    r = client.post("/api/layers/wind_rose", json=extra, headers=tokens["admin"])
    assert r.status_code == 201, r.text
    w = client.get("/api/safety/wind").json()
    assert any("NW 有多行" in x for x in w["warnings"]) and w["rose"][14]["frequency_pct"] == 15.0
    assert w["prevailing"]["sector"] == "NW" and "测试" in w["source"]
    for row in client.get("/api/layers/wind_rose", params={"limit": 100}).json()["features"]:
        version = row["properties"]["version"]
        gone = client.delete(f"/api/layers/wind_rose/{row['id']}?version={version}", headers=tokens["admin"])
        assert gone.status_code == 204
    w = client.get("/api/safety/wind").json()
    assert w["prevailing"] is None and w["total_pct"] == 0 and any("为空" in x for x in w["warnings"])
    assert w["source"] == "" and not w["synthetic"]


def test_site_check_of_a_fire_station_includes_the_wind_rule(client: TestClient, demo_store: FeatureStore) -> None:
    """A proposed station 500 m west of the warehouse is downwind of the east wind: the site check says 不符合.

    The same station 500 m east is upwind: its wind records pass, and the wind rule alone does not fail it.
    """
    site_id, centre = _centroid(demo_store, HAZCHEM_WAREHOUSE)

    def site_check(bearing: float) -> dict:
        lon, lat = _at(centre, bearing, 500.0)
        body = {"geometry": {"type": "Point", "coordinates": [lon, lat]}, "kind": "fire_station", "vicinity_m": 1000}
        r = client.post("/api/safety/site-check", json=body)
        assert r.status_code == 200, r.text
        return r.json()

    west = site_check(270.0)
    record = next(w for w in west["wind_checks"] if w["target_id"] == site_id)
    assert record["status"] == "fail" and record["status_label"] == "不符合" and record["relation"] == "downwind"
    assert west["summary"]["status"] == "fail" and west["summary"]["failed"] >= 1
    east = site_check(90.0)
    record = next(w for w in east["wind_checks"] if w["target_id"] == site_id)
    assert record["status"] == "pass" and record["status_label"] == "符合"
    # Other kinds carry no wind records.
    school = client.post(
        "/api/safety/site-check",
        json={"geometry": {"type": "Point", "coordinates": list(_at(centre, 90.0, 500.0))}, "kind": "school"},
    ).json()
    assert school["wind_checks"] == []
