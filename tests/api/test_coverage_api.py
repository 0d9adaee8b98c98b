"""Coverage, location-allocation and fire-access review on the demo county, and bad input."""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import shapely
from fastapi.testclient import TestClient
from shapely.geometry import shape

from safemap.api.http.app import create_app
from safemap.api.settings import Settings
from safemap.layers.demo.town import EW_STREETS, NS_STREETS
from safemap.layers.store import FeatureStore
from tests.support.demo import YUMIN_EXTENT as EXTENT
from tests.support.demo import clear_grades


@pytest.fixture(scope="module")
def demo(demo_store: FeatureStore) -> FeatureStore:
    """The session's demo county (read only: test_the_rules_are_data edits a copy)."""
    return demo_store


def _client(store: FeatureStore) -> Iterator[TestClient]:
    settings = Settings(basemap="none", gpkg_path=Path("unused.gpkg"), max_body_bytes=64 * 1024)
    with TestClient(create_app(settings, store=store)) as c:
        yield c


@pytest.fixture(scope="module")
def client(demo: FeatureStore) -> Iterator[TestClient]:
    yield from _client(demo)


@pytest.fixture
def copy_client(demo_copy: FeatureStore) -> Iterator[TestClient]:
    """A client on this test's own copy of the demo county, for tests that edit it."""
    yield from _client(demo_copy)


@pytest.fixture
def ungraded_demo(demo_copy: FeatureStore) -> FeatureStore:
    """A copy of the demo county whose hazard sources are not graded yet (GB 18218 values empty)."""
    assert clear_grades(demo_copy) > 0
    return demo_copy


@pytest.fixture(scope="module")
def review(client: TestClient) -> dict:
    r = client.get("/api/access/review")
    assert r.status_code == 200, r.text
    return r.json()


def problem_fields(r) -> list[str]:
    body = r.json()
    assert set(body) >= {"error", "message"}
    return [p["field"] for p in body.get("problems", [])]


# ---------------------------------------------------------------------------- service areas


def test_service_areas_are_nested_bands_from_one_search(client: TestClient) -> None:
    r = client.post("/api/coverage/service-areas", json={})
    assert r.status_code == 200, r.text
    fc = r.json()
    assert fc["type"] == "FeatureCollection" and fc["thresholds_min"] == [5, 10, 15, 30]
    props = [f["properties"] for f in fc["features"]]
    assert [p["to_min"] for p in props] == [5, 10, 15, 30]
    areas = [p["area_km2"] for p in props]
    assert areas == sorted(areas) and areas[0] > 5
    # Bands are rings: their areas add up to the cumulative area.
    assert sum(p["band_km2"] for p in props) == pytest.approx(areas[-1], rel=1e-3)
    bands = [shape(f["geometry"]) for f in fc["features"]]
    assert all(b.is_valid for b in bands)
    assert bands[0].intersection(bands[1]).area < 1e-9
    # No two bands overlap once in lon/lat at the 1e-6° the API rounds to: the shared edges hold the same vertices
    # on both sides (1e-9 deg² slivers between bands 1–2 and 2–3 before they did).
    for a, b in itertools.combinations(bands, 2):
        assert a.intersection(b).area < 1e-12
    # Only teams holding a fire engine take part: the county station is one, the hospital is not.
    names = {f["name"] for f in fc["facilities"]}
    assert "裕民县消防救援大队城区消防救援站" in names and "裕民县人民医院急救中心" not in names
    # The county seat lies within 5 minutes of its stations.
    seat = shapely.Point(82.97964, 46.20041)
    assert bands[0].buffer(0.002).contains(seat)


def test_a_proposed_station_enlarges_the_five_minute_area(client: TestClient) -> None:
    body = {"thresholds_min": [5], "extra_points": [[83.27121, 46.255604]]}  # a rural road far from any team
    before = client.post("/api/coverage/service-areas", json={"thresholds_min": [5]}).json()
    after = client.post("/api/coverage/service-areas", json=body).json()
    assert after["features"][0]["properties"]["area_km2"] > before["features"][0]["properties"]["area_km2"] + 1
    assert after["facilities"][-1]["proposed"] and after["facilities"][-1]["on_network"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"thresholds_min": [0, 5]}, "thresholds_min.0"),
        ({"thresholds_min": [500]}, "thresholds_min.0"),
        ({"thresholds_min": []}, "thresholds_min"),
        ({"kinds": ["dragon"]}, "kinds"),
        ({"vehicle": "bicycle"}, "vehicle"),
        ({"buffer_m": "wide"}, "buffer_m"),
        ({"layer": "roads"}, "layer"),
        ({"unknown": 1}, "unknown"),
        ({"extra_points": [[116.4, 39.9]]}, "extra_points[0]"),
    ],
)
def test_service_area_bad_input_names_the_field(client: TestClient, body: dict, field: str) -> None:
    r = client.post("/api/coverage/service-areas", json=body)
    assert r.status_code in (400, 422), r.text
    assert any(f == field or f.startswith(field) for f in problem_fields(r)), r.json()


def test_huge_payload_is_refused(client: TestClient) -> None:
    r = client.post("/api/coverage/service-areas", json={"ids": list(range(20000))})
    assert r.status_code in (413, 422)


# ---------------------------------------------------------------------------- coverage report


def test_coverage_report_on_the_demo(copy_client: TestClient, ungraded_demo: FeatureStore) -> None:
    client, demo = copy_client, ungraded_demo
    r = client.get("/api/coverage/report")
    assert r.status_code == 200, r.text
    rep = r.json()
    assert rep["standard"]["minutes"] == 5 and rep["standard"]["turnout_s"] == 60
    assert "GB 51080" in rep["standard"]["clause"]
    summary = {s["layer"]: s for s in rep["summary"]}
    assert set(summary) == {"enterprises", "hazard_sources", "protected_targets"}
    assert summary["enterprises"]["count"] == demo.counts()["enterprises"]
    for s in summary.values():
        assert 0 < s["share"] < 1 and s["covered"] == round(s["share"] * s["count"])
    pt = summary["protected_targets"]
    assert pt["population"] > 50_000 and 0 < pt["population_share"] < 1
    assert rep["by_grade"][0]["grade"] == "未分级"  # grades empty until GB 18218 grading runs
    towns = {t["township"] for t in rep["by_township"]}
    assert {"哈拉布拉镇", "察汗托海牧场", "新地乡"} <= towns
    n_uncovered = sum(s["count"] - s["covered"] for s in rep["summary"])
    assert len(rep["uncovered"]) == n_uncovered
    times = [u["response_min"] for u in rep["uncovered"] if u["response_min"] is not None]
    assert times == sorted(times, reverse=True) and min(times) > 5
    # The mining area behind the washed-out (closed) county road cannot be reached at all.
    mine = [u for u in rep["uncovered"] if "铜矿" in u["name"] and u["layer"] == "enterprises"]
    assert mine and mine[0]["response_min"] is None and mine[0]["reason"] == "道路不通"
    reachable = [u for u in rep["uncovered"] if u["response_min"] is not None]
    assert all(u["nearest_team"] for u in reachable)
    depots = rep["depots"]
    assert len(depots["seats"]) == 9 and all(s["minutes"] is not None for s in depots["seats"])
    assert depots["townships_without_depot"] == []  # every township has a depot within 30 min


def test_report_times_agree_with_point_to_point_routing(client: TestClient, demo: FeatureStore) -> None:
    """The multi-source search gives each site the time of its best single route (the routing work's search)."""
    from safemap.api.services import coverage as svc

    net, router = svc.network(demo)
    veh = svc.vehicle(demo, "fire_engine")
    cost = router.segment_cost(veh)
    teams = svc.facilities(demo, "rescue_teams", kinds=svc.FIRE_KINDS, vehicle_code="fire_engine")
    t_snaps = svc.snap_points(router, svc.lonlat_of(teams), cost)
    _, _, _, search, _ = svc.search_from(demo, "fire_engine", teams)
    sites = svc.sites(demo, ["protected_targets"]).iloc[::25]
    times, _fac, _, s_snaps = svc.times_to_sites(net, router, cost, search, sites)
    for k, snap in enumerate(s_snaps):
        best = min(router.cost_to(router.search(a, cost), snap)[0] for a in t_snaps if a is not None)
        assert times[k] == pytest.approx(best, abs=1e-6)


def test_report_csv_and_bad_parameters(client: TestClient) -> None:
    r = client.get("/api/coverage/report", params={"format": "csv", "table": "by_township"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text.lstrip("\ufeff"))))
    # Chinese headers for people (issue 14); the field codes with headers=code for machine exports.
    assert rows and "乡镇" in rows[0] and "人口覆盖率（%）" in rows[0]
    params = {"format": "csv", "table": "by_township", "headers": "code"}
    coded = list(csv.DictReader(io.StringIO(client.get("/api/coverage/report", params=params).text.lstrip("\ufeff"))))
    assert coded and "township" in coded[0] and "population_share" in coded[0]
    r = client.get("/api/coverage/report", params={"format": "csv", "table": "depots"})
    assert "至裕民县应急物资储备库(min)" in r.text.splitlines()[0]
    assert "kinds" in problem_fields(client.get("/api/coverage/report", params={"kinds": "fire_station,ufo"}))
    assert "vehicle" in problem_fields(client.get("/api/coverage/report", params={"vehicle": "tank"}))
    assert client.get("/api/coverage/report", params={"standard_min": -1}).status_code == 400
    assert client.get("/api/coverage/report", params={"table": "secrets"}).status_code == 400


def test_a_longer_standard_covers_more(client: TestClient) -> None:
    five = client.get("/api/coverage/report").json()["summary"]
    fifteen = client.get("/api/coverage/report", params={"standard_min": 15}).json()["summary"]
    for a, b in zip(five, fifteen, strict=True):
        assert b["covered"] >= a["covered"]
    assert sum(b["covered"] for b in fifteen) > sum(a["covered"] for a in five)


# ---------------------------------------------------------------------------- location-allocation


def test_mclp_adds_coverage_and_proves_optimality(client: TestClient) -> None:
    r = client.post("/api/coverage/locate", json={"problem": "mclp", "k": 2})
    assert r.status_code == 200, r.text
    out = r.json()
    assert len(out["sites"]) == 2 and out["optimal"] and out["gap"] == 0
    assert out["after"]["covered_weight"] >= out["before"]["covered_weight"]
    assert out["objective"] == out["after"]["covered_weight"] >= out["greedy_objective"]
    assert out["radius_min"] == 4  # 5 min standard less 60 s turnout
    before, after = out["areas"]["features"]
    assert after["properties"]["area_km2"] > before["properties"]["area_km2"]
    for s in out["sites"]:
        assert EXTENT[0] < s["lon"] < EXTENT[2] and EXTENT[1] < s["lat"] < EXTENT[3]


def test_pcenter_shortens_the_worst_time(client: TestClient) -> None:
    out = client.post("/api/coverage/locate", json={"problem": "pcenter", "k": 2, "candidates": {"max": 150}}).json()
    assert out["after"]["worst_travel_min"] < out["before"]["worst_travel_min"]
    assert out["optimal"] and out["objective"] == pytest.approx(out["after"]["worst_travel_min"] * 60, abs=1)


def test_depot_location_on_a_grid_and_a_given_list(client: TestClient) -> None:
    body = {
        "layer": "material_depots",
        "vehicle": "materials_truck",
        "demand": "hazard_sources",
        "candidates": {"source": "grid", "spacing_m": 4000},
    }
    out = client.post("/api/coverage/locate", json=body).json()
    assert out["candidates"]["source"] == "grid" and out["candidates"]["count"] > 20
    assert out["standard_min"] == 30 and out["turnout_s"] == 0
    body = {"candidates": {"source": "list", "points": [[82.99, 46.21], [83.21, 46.16]]}, "k": 1}
    out = client.post("/api/coverage/locate", json=body).json()
    assert out["candidates"]["count"] == 2 and out["sites"][0]["candidate"] in (0, 1)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"k": 0}, "k"),
        ({"k": 11}, "k"),
        ({"problem": "pmedian"}, "problem"),
        ({"demand": "cattle"}, "demand"),
        ({"candidates": {"source": "list"}}, "candidates.points"),
        ({"candidates": {"source": "list", "points": [[0.0, 0.0]]}}, "candidates.points[0]"),
        ({"candidates": {"spacing_m": 1}}, "candidates.spacing_m"),
        ({"time_limit_s": 1e6}, "time_limit_s"),
    ],
)
def test_locate_bad_input_names_the_field(client: TestClient, body: dict, field: str) -> None:
    r = client.post("/api/coverage/locate", json=body)
    assert r.status_code in (400, 422), r.text
    assert field in problem_fields(r), r.json()


# ---------------------------------------------------------------------------- fire-access review


def _by_rule(review: dict) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for f in review["findings"]["features"]:
        out.setdefault(f["properties"]["rule"], []).append(f["properties"])
    return out


def test_review_finds_the_planted_lane_problems(review: dict) -> None:
    rules = _by_rule(review)
    (narrow,) = rules["lane_width"]
    assert narrow["measured"] == 3.6 and narrow["required"] == 4.0 and "7.1.8" in narrow["clause"]
    (low,) = rules["lane_clear_height"]
    assert low["measured"] == 3.8 and "净空" in low["message"]
    (steep,) = rules["lane_slope"]
    assert steep["measured"] == 9.5 and steep["basis"] == "实测"
    assert len(rules["lane_obstructed"]) == 2
    loads = {p["name"]: p for p in rules["lane_load"]}
    assert loads["消防车道（地下车库顶板，承载 15 t）"]["measured"] == 15
    turn = {p["name"]: p for r in ("turnaround", "turnaround_high_rise", "turnaround_heavy") for p in rules.get(r, [])}
    assert turn["尽头式消防车道（无回车场）"]["measured"] is None
    # The 12 × 12 m turnaround serves a high-rise compound: 15 × 15 m is required (GB 50016 §7.1.9).
    assert turn["尽头式消防车道（12×12 m 回车场）"]["required"] == 15
    assert turn["尽头式消防车道（10×10 m 回车场）"]["measured"] == 10
    for f in review["findings"]["features"]:
        p = f["properties"]
        assert p["clause"] and p["label"] and f["geometry"] is not None
        assert EXTENT[0] < p["lon"] < EXTENT[2] and EXTENT[1] < p["lat"] < EXTENT[3]


def test_review_finds_the_planted_hydrant_gaps(review: dict) -> None:
    rules = _by_rule(review)
    planted = {EW_STREETS[3][1], NS_STREETS[0][1], NS_STREETS[15][1]}
    long_gaps = {p["name"] for p in rules["hydrant_spacing"] if p["measured"] > 150}
    assert planted <= long_gaps
    assert all(p["measured"] > 120 and "7.2.5" in p["clause"] for p in rules["hydrant_spacing"])
    assert all(p["measured"] > 150 for p in rules.get("hydrant_cover", []))
    assert rules["hydrant_status"]  # the demo's damaged and dry hydrants


def test_review_reports_engine_and_ladder_reach_per_site(review: dict) -> None:
    sites = {(s["layer"], s["name"]): s for s in review["sites"]}
    assert len(review["sites"]) > 300
    hospital = sites[("protected_targets", "裕民县人民医院")]
    assert hospital["high_rise"] and hospital["engine"]["ok"] and hospital["engine"]["minutes"] <= 5
    assert hospital["ladder"]["team"] == "裕民县消防救援大队城区消防救援站"
    laned = [s for s in review["sites"] if s["lanes"] and s["engine"]["via_lanes"]]
    assert laned and all(set(s["engine"]["via_lanes"]) <= set(s["lanes"]) or s["engine"]["via_lanes"] for s in laned)
    late = _by_rule(review)["response_time"]
    assert any("登高" in p["label"] for p in late) and any("水罐" in p["label"] for p in late)
    assert review["dem"]["used"] and review["dem"]["synthetic"]


def test_review_formats_and_filters(client: TestClient) -> None:
    r = client.get("/api/access/review", params={"format": "html"})
    assert r.status_code == 200 and "消防车道净宽" in r.text and "GB 50016" in r.text and "<script" not in r.text
    r = client.get("/api/access/review", params={"format": "csv"})
    header = next(csv.reader(io.StringIO(r.text.lstrip("\ufeff"))))
    assert header[:3] == ["规则代码", "规则", "图层"] and "条款" in header
    town = client.get("/api/access/review", params={"township": "哈拉布拉镇"}).json()
    assert town["sites"] and all(s["township"] == "哈拉布拉镇" for s in town["sites"])
    r = client.get("/api/access/review", params={"township": "火星乡"})
    assert r.status_code == 400 and "township" in problem_fields(r)
    assert client.get("/api/access/review", params={"format": "pdf"}).status_code == 400


def test_the_rules_are_data(copy_client: TestClient, demo_copy: FeatureStore) -> None:
    """An admin's correction in the rules table changes the review without a release."""
    client, demo = copy_client, demo_copy
    from safemap.layers.model import SYSTEM

    page = demo.query("fire_access_rules", filters={"code": ["lane_width"]})
    (row,) = page.rows
    demo.update("fire_access_rules", row["id"], {"properties": {"value": 3.5}}, SYSTEM, expected_version=row["version"])
    try:
        rules = _by_rule(client.get("/api/access/review").json())
        assert "lane_width" not in rules
    finally:
        page = demo.query("fire_access_rules", filters={"code": ["lane_width"]})
        (row,) = page.rows
        demo.update(
            "fire_access_rules", row["id"], {"properties": {"value": 4.0}}, SYSTEM, expected_version=row["version"]
        )
    assert np.isclose(page.rows[0]["value"], 3.5)
