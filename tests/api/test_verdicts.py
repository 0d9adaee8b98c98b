"""Three-valued verdicts (issue 11, item 1): 符合 / 不符合 / 无法核查, never 符合 after zero checks.

Worked examples, all from the demo county (layers/demo/sites.py, town_targets.py):

- 城东加油站 is a 二级 station with unloading vapour recovery (90 m³ gasoline + 60 m³ diesel,
  V = 90 + 60/2 = 120 m³; GB 50156 表3.0.9, reference §6.1). 金桥小区配套幼儿园 (240 children)
  stands 38 m from its tank area; GB 50156-2021 表4.0.4 asks 40 m from a 重要公共建筑物
  (reference Table 6.2), and a kindergarten of more than 200 is one (附录B B.0.1 第6款,
  data/standards/target_class_rules.csv).
- With 200 m³ gasoline and 100 m³ diesel the station holds V = 200 + 100/2 = 250 m³ > 210 m³,
  more than a 一级 station may (表3.0.9): it has no grade, no GB 50156 distance applies, and a
  school 10 m away must be 无法核查 — it was "符合（已核查的规则）" before this change.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pyproj import Geod
from shapely.geometry import shape

from safemap.api.http.app import create_app
from safemap.api.services import safety as safety_service
from safemap.api.settings import Settings
from safemap.layers.model import SYSTEM
from safemap.layers.store import FeatureStore
from tests.support.demo import YUMIN_EXTENT as EXTENT

UNGRADABLE = "汽油 200 m³、柴油 100 m³ 超出 GB 50156 一级站容积上限，无法定级"


@pytest.fixture
def copy_client(demo_copy: FeatureStore) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(basemap="none", gpkg_path=Path("unused.gpkg")), store=demo_copy)) as c:
        yield c


def _one(store: FeatureStore, layer: str, name_part: str) -> dict[str, Any]:
    return store.query(layer, q=name_part, limit=1).features()[0]


def _edit(store: FeatureStore, layer: str, name_part: str, **props: Any) -> dict[str, Any]:
    f = _one(store, layer, name_part)
    store.update(layer, f["id"], {"properties": props}, SYSTEM, expected_version=f["properties"]["version"])
    return f


def _east_of_tank(store: FeatureStore, metres: float) -> list[float]:
    """A point ``metres`` east of 城东加油站's tank area (along the parallel, on the WGS 84 ellipsoid)."""
    tank = shape(_one(store, "hazard_sources", "城东加油站")["geometry"])
    _x0, y0, x1, y1 = tank.bounds
    lon, lat, _ = Geod(ellps="WGS84").fwd(x1, (y0 + y1) / 2, 90.0, metres)
    return [lon, lat]


def _school(coords: list[float], **props: Any) -> dict[str, Any]:
    return {"geometry": {"type": "Point", "coordinates": coords}, "kind": "school", "properties": props}


# ------------------------------------------------------------------ the false passes of issue 11


def test_regression_no_pass_after_zero_checks(copy_client: TestClient, demo_copy: FeatureStore) -> None:
    """Issue 11's reproduction, in the keys the answer always had (failed before the fix)."""
    _edit(demo_copy, "hazard_sources", "城东加油站", gasoline_m3=200.0, diesel_m3=100.0, max_tank_m3=50.0)
    out = copy_client.post("/api/safety/site-check", json=_school(_east_of_tank(demo_copy, 10))).json()
    assert not out["summary"]["verdict"].startswith("符合"), out["summary"]


def test_regression_target_without_class_is_checked(copy_client: TestClient, demo_copy: FeatureStore) -> None:
    """Issue 11: a school entered without gb50156_class was never checked (failed before the fix)."""
    x, y = _east_of_tank(demo_copy, 20)
    props = {"name": "测试用小学（无保护类别）", "category": "school", "population": 600}
    demo_copy.create(
        "protected_targets",
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [x, y]}, "properties": props},
        SYSTEM,
    )
    names = [f["properties"]["target_name"] for f in copy_client.get("/api/safety/violations").json()["features"]]
    assert "测试用小学（无保护类别）" in names


def test_school_next_to_an_ungradable_station_is_not_a_pass(copy_client: TestClient, demo_copy: FeatureStore) -> None:
    _edit(demo_copy, "hazard_sources", "城东加油站", gasoline_m3=200.0, diesel_m3=100.0, max_tank_m3=50.0)
    out = copy_client.post("/api/safety/site-check", json=_school(_east_of_tank(demo_copy, 10))).json()
    s = out["summary"]
    assert s["status"] == "cannot_check" and s["verdict"] == "无法核查", s
    assert UNGRADABLE in s["reason"]
    station = [f["properties"] for f in out["checks"]["features"] if "城东加油站" in f["properties"]["hazard_name"]]
    assert station and all(p["status"] == "cannot_check" and p["status_label"] == "无法核查" for p in station)
    assert all(UNGRADABLE in p["reason"] and not p["passed"] for p in station)
    # The separation audit says the same about the kindergarten 38 m away, and lists the station itself.
    feats = copy_client.get("/api/safety/violations").json()["features"]
    kg = [f["properties"] for f in feats if f["properties"]["target_name"] == "金桥小区配套幼儿园"]
    assert [p["status"] for p in kg] == ["cannot_check"] and UNGRADABLE in kg[0]["reason"]
    issues = safety_service.separation_issues(demo_copy)
    assert any(UNGRADABLE in i["reason"] and "城东加油站" in i["hazard_name"] for i in issues)


def test_existing_target_without_class_is_checked_by_its_kind(copy_client: TestClient, demo_copy: FeatureStore) -> None:
    # GB 50156-2021 附录B B.0.1 第6款: a kindergarten of more than 200 (here 240) is a 重要公共建筑物.
    _edit(demo_copy, "protected_targets", "金桥小区配套幼儿园", gb50156_class=None)
    feats = copy_client.get("/api/safety/violations").json()["features"]
    (kg,) = [f["properties"] for f in feats if f["properties"]["target_name"] == "金桥小区配套幼儿园"]
    assert (kg["status"], kg["status_label"], kg["actual_m"], kg["required_m"]) == ("fail", "不符合", 38.0, 40.0)
    assert kg["class_basis"] == "derived" and kg["class_basis_label"] == "按类别推定"
    assert "B.0.1" in kg["class_note"]


def test_existing_school_without_class_at_20_m_is_a_violation(copy_client: TestClient, demo_copy: FeatureStore) -> None:
    """The brief's case: an existing school entered without gb50156_class, 20 m from the station."""
    x, y = _east_of_tank(demo_copy, 20)
    school = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [x, y]},
        "properties": {"name": "测试用小学（无保护类别）", "category": "school", "population": 600},
    }
    demo_copy.create("protected_targets", school, SYSTEM)
    feats = copy_client.get("/api/safety/violations").json()["features"]
    (p,) = [f["properties"] for f in feats if f["properties"]["target_name"] == "测试用小学（无保护类别）"]
    # 600 > 500 pupils → 重要公共建筑物 (附录B B.0.1 第6款); 二级 station, unloading recovery: 40 m (表4.0.4).
    assert (p["status"], p["required_m"], p["class_basis"]) == ("fail", 40.0, "derived")
    assert p["actual_m"] == pytest.approx(20.0, abs=0.5)


def test_zero_checks_is_cannot_check(copy_client: TestClient) -> None:
    far = [EXTENT[0] + 0.02, EXTENT[1] + 0.02]  # the county's empty south-west corner
    out = copy_client.post("/api/safety/site-check", json={**_school(far), "vicinity_m": 100}).json()
    s = out["summary"]
    assert s["checks"] == 0 and s["status"] == "cannot_check" and s["verdict"] == "无法核查"
    assert s["reason"].startswith("未核查任何规则：")
    assert s["counts"] == {"pass": 0, "fail": 0, "cannot_check": 0}


# ------------------------------------------------------------------ awkward inputs of a proposed station


def _station(coords: list[float], **props: Any) -> dict[str, Any]:
    return {"geometry": {"type": "Point", "coordinates": coords}, "kind": "fuel_station", "properties": props}


def test_station_at_the_top_of_grade_1_is_graded(copy_client: TestClient, demo_copy: FeatureStore) -> None:
    # V = 210 m³ exactly is still 一级 (表3.0.9: 150 < V ≤ 210); full recovery: 35 m to 重要公共建筑物.
    at = _east_of_tank(demo_copy, 400)
    body = _station(at, gasoline_m3=210, diesel_m3=0, max_tank_m3=50, vapour_recovery="full")
    out = copy_client.post("/api/safety/site-check", json=body).json()
    assert not any("无法定级" in (u["reason"] or "") for u in out["unchecked_rules"])
    # Just above: 210.5 m³ has no grade.
    body = _station(at, gasoline_m3=210.5, diesel_m3=0, max_tank_m3=50, vapour_recovery="full")
    out = copy_client.post("/api/safety/site-check", json=body).json()
    assert out["summary"]["status"] == "cannot_check"
    assert any("超出 GB 50156 一级站容积上限" in u["reason"] for u in out["unchecked_rules"])


def test_station_without_volumes_cannot_be_checked(copy_client: TestClient, demo_copy: FeatureStore) -> None:
    body = _station(_east_of_tank(demo_copy, 400), gasoline_m3=0, diesel_m3=0)
    out = copy_client.post("/api/safety/site-check", json=body).json()
    assert out["summary"]["status"] == "cannot_check" and "无法按 GB 50156 定级" in out["summary"]["reason"]
    assert all(u["status_label"] == "无法核查" for u in out["unchecked_rules"])


def test_rules_without_a_map_layer_are_cannot_check(copy_client: TestClient, demo_copy: FeatureStore) -> None:
    # The default proposed station: 60 m³ gasoline + 60 m³ diesel, V = 60 + 30 = 90 m³ → 三级, full recovery.
    out = copy_client.post("/api/safety/site-check", json=_station(_east_of_tank(demo_copy, 400))).json()
    railway = [u for u in out["unchecked_rules"] if u["target"] == "铁路"]
    assert railway and railway[0]["status"] == "cannot_check" and "没有对应图层" in railway[0]["reason"]
    assert railway[0]["required_m"] == 15.5  # 三级, full recovery (表4.0.4, reference Table 6.2)
    s = out["summary"]
    assert s["status"] != "pass" and s["cannot_check"] >= len(out["unchecked_rules"])
    assert s["counts"]["cannot_check"] == s["cannot_check"]


# ------------------------------------------------------------------ classes: explicit wins, derived says so


def test_explicit_class_wins_over_the_derived_one(copy_client: TestClient, demo_copy: FeatureStore) -> None:
    at = _east_of_tank(demo_copy, 20)
    derived = copy_client.post("/api/safety/site-check", json=_school(at, population=800)).json()
    assert derived["site"]["properties"]["gb50156_class"] == "important_public"
    assert derived["site"]["properties"]["gb50156_class_basis_label"] == "按类别推定"
    assert derived["summary"]["status"] == "fail"  # 20 m < 40 m
    explicit = copy_client.post(
        "/api/safety/site-check", json=_school(at, population=800, gb50156_class="civil_3")
    ).json()
    p = explicit["site"]["properties"]
    assert (p["gb50156_class"], p["gb50156_class_basis_label"]) == ("civil_3", "目标已填写")
    station = [f["properties"] for f in explicit["checks"]["features"] if "城东" in f["properties"]["hazard_name"]]
    assert [(c["status"], c["required_m"]) for c in station] == [("pass", 9.5)]  # 二级, unloading, 三类: 9.5 m


def test_target_whose_class_cannot_be_derived(copy_client: TestClient, demo_copy: FeatureStore) -> None:
    # Hospitals are split by beds (150, 附录B 第6款), which the map does not hold: 无法核查 within 40 m.
    body = {"geometry": {"type": "Point", "coordinates": _east_of_tank(demo_copy, 20)}, "kind": "hospital"}
    out = copy_client.post("/api/safety/site-check", json=body).json()
    assert out["site"]["properties"]["gb50156_class"] is None
    station = [f["properties"] for f in out["checks"]["features"] if "城东" in f["properties"]["hazard_name"]]
    assert station and {c["status"] for c in station} == {"cannot_check"}
    assert "床位" in station[0]["reason"] and out["summary"]["status"] == "cannot_check"


def test_unknown_class_code_is_a_422_naming_the_field(copy_client: TestClient, demo_copy: FeatureStore) -> None:
    r = copy_client.post(
        "/api/safety/site-check", json=_school(_east_of_tank(demo_copy, 20), gb50156_class="school_class")
    )
    assert r.status_code == 422 and "GB 50156 保护物类别" in r.text


# ------------------------------------------------------------------ the fire-access review


def test_access_review_sites_have_three_valued_verdicts(demo_copy: FeatureStore) -> None:
    from safemap.api.services.access_review import access_review, site_verdict

    review = access_review(demo_copy)
    counts = review["verdicts"]["counts"]
    assert sum(counts.values()) == len(review["sites"]) and counts["fail"] > 0
    assert review["verdicts"]["labels"] == {"pass": "符合", "fail": "不符合", "cannot_check": "无法核查"}
    for s in review["sites"]:
        assert (
            s["verdict"]["status_label"]
            == {"pass": "符合", "fail": "不符合", "cannot_check": "无法核查"}[s["verdict"]["status"]]
        )
        assert (s["verdict"]["status"] == "pass") == (not s["verdict"]["reasons"])
    # A lane serving the site with no width entered: GB 50016 §7.1.8 (≥ 4.0 m) cannot be checked.
    rec = {"layer": "enterprises", "lane_findings": []}
    from shapely.geometry import Point

    v = site_verdict(rec, [], ["消防车道「甲」未填写净宽，无法核查"], Point(0, 0))
    assert (v["status"], v["status_label"], v["reasons"]) == (
        "cannot_check",
        "无法核查",
        ["消防车道「甲」未填写净宽，无法核查"],
    )
    v = site_verdict(
        {**rec, "lane_findings": ["净宽 3.6 m"]}, [], ["消防车道「甲」未填写净空高度，无法核查"], Point(0, 0)
    )
    assert v["status"] == "fail" and len(v["reasons"]) == 2  # a broken rule wins; the unknown is still listed
    assert site_verdict(rec, [], [], None)["status"] == "cannot_check"  # no geometry
    assert site_verdict(rec, [], [], Point(0, 0))["status"] == "pass"
