"""The 裕民县 demo county: size, determinism, provenance, geometry, network and planted problems."""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest
import shapely
from pyproj import Geod
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from shapely.geometry import shape

from safemap.api.services.editing import build_demo
from safemap.layers.checks import credit_code_error
from safemap.layers.demo import ATTRIBUTION
from safemap.layers.demo.forces import HYDRANT_GAPS
from safemap.layers.demo.shapes import to_utm
from safemap.layers.store import FeatureStore, open_store
from tests.support.demo import YUMIN_EXTENT, DemoCounty

DATA = Path(__file__).resolve().parents[2] / "data" / "yumin"
REAL_LAYERS_OK = {"admin_boundaries", "settlements"}


@pytest.fixture(scope="module")
def demo(demo_store: FeatureStore, demo_county: DemoCounty) -> tuple[FeatureStore, dict[str, int]]:
    """The session's demo county (seed 2021, graded as ``safemap demo`` leaves it) and its counts.

    The rebuilds below use the same graded builder, so they compare like with like.
    """
    return demo_store, demo_county.counts


@pytest.fixture(scope="module")
def layers(demo: tuple[FeatureStore, dict[str, int]]) -> dict[str, list[dict[str, Any]]]:
    store, counts = demo
    return {name: store.query(name, limit=None, count=False).features() for name in counts}


def _utm(feature: dict[str, Any]) -> shapely.Geometry:
    return to_utm(shape(feature["geometry"]))


def _named(features: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(f for f in features if f["properties"]["name"] == name)


def _snapshot(store: FeatureStore, layer: str) -> list[bytes]:
    out = []
    for f in store.query(layer, limit=None, count=False).features():
        props = {k: v for k, v in f["properties"].items() if k != "updated_at"}
        for k, v in props.items():
            if isinstance(v, dt.datetime):
                props[k] = v.astimezone(dt.UTC).isoformat()
        geom = shapely.to_wkb(shape(f["geometry"]), hex=True) if f["geometry"] is not None else None
        out.append(orjson.dumps({"p": props, "g": geom}, option=orjson.OPT_SORT_KEYS))
    return out


def test_counts_are_realistic(demo: tuple[FeatureStore, dict[str, int]]) -> None:
    store, counts = demo
    assert counts == {k: v for k, v in store.counts().items() if k in counts}
    # Every other table is reference data seeded from data/ or still empty.
    assert all(store.layer(k).seed or not v for k, v in store.counts().items() if k not in counts)
    # The county, the reserve's extent and (issue 18) the industrial park's outline.
    assert counts["admin_boundaries"] == 3
    assert counts["experts"] == 18
    assert counts["townships"] == 8
    assert counts["settlements"] == 1 + 8 + 68
    assert counts["roads"] >= 3000
    assert counts["enterprises"] + counts["hazard_sources"] + counts["protected_targets"] >= 300
    assert counts["enterprises"] >= 80 and counts["hazard_sources"] >= 30
    assert counts["fire_lanes"] >= 20 and counts["hydrants"] >= 200
    assert counts["rescue_teams"] >= 10 and counts["material_depots"] >= 7
    assert 2 <= counts["incidents"] <= 3
    assert "DataV" in ATTRIBUTION and "Vonng/adcode" in ATTRIBUTION and "合成" in ATTRIBUTION


def test_same_seed_gives_identical_features(demo: tuple[FeatureStore, dict[str, int]], tmp_path: Path) -> None:
    store, counts = demo
    again = open_store(tmp_path / "again.gpkg", extent=YUMIN_EXTENT)
    try:
        assert build_demo(again, seed=2021) == counts
        for layer in counts:
            assert _snapshot(again, layer) == _snapshot(store, layer), layer
    finally:
        again.close()


def test_sources_say_synthetic_or_cite_real_data(layers: dict[str, list[dict[str, Any]]]) -> None:
    for name, features in layers.items():
        for f in features:
            source = f["properties"]["source"]
            if name not in REAL_LAYERS_OK:
                assert source.startswith("synthetic"), (name, f["properties"]["name"])
    county = _named(layers["admin_boundaries"], "裕民县")["properties"]
    assert "DataV" in county["source"] and "tnnevol/gmap" in county["source"]
    assert county["level"] == "county" and county["code"] == "654225"
    reserve = next(f for f in layers["admin_boundaries"] if f["properties"]["level"] == "reserve_extent")
    assert "非保护区边界" in reserve["properties"]["name"] and "http" in reserve["properties"]["source"]
    kinds = Counter(f["properties"]["kind"] for f in layers["settlements"])
    assert kinds == {"county_seat": 1, "township_seat": 8, "village": 68}
    for f in layers["settlements"]:
        p = f["properties"]
        if p["kind"] == "village":
            assert p["source"].startswith("synthetic") and "Vonng/adcode" in p["source"]
        elif p["kind"] == "county_seat":
            assert "Wikipedia" in p["source"]
        elif p["source"].startswith("synthetic"):
            assert p["name"] in ("吉也克镇驻地", "哈拉布拉乡驻地")
        else:
            assert "Vonng/adcode" in p["source"]
    assert all("modood" in f["properties"]["source"] for f in layers["townships"])


def test_boundary_area_and_everything_inside(layers: dict[str, list[dict[str, Any]]]) -> None:
    county = shape(_named(layers["admin_boundaries"], "裕民县")["geometry"])
    geodesic = abs(Geod(ellps="WGS84").geometry_area_perimeter(county)[0]) / 1e6
    utm = to_utm(county).area / 1e6
    assert abs(geodesic - 6057) / 6057 < 0.01
    assert abs(utm - 6057) / 6057 < 0.01
    inside = to_utm(county).buffer(1000)
    shapely.prepare(inside)
    for name, features in layers.items():
        features = [f for f in features if f["geometry"] is not None]  # attribute tables (inspections …)
        if name == "admin_boundaries" or not features:
            continue
        ok = shapely.contains(inside, np.array([_utm(f) for f in features], dtype=object))
        outside = [f["properties"]["name"] for f, good in zip(features, ok, strict=True) if not good]
        assert not outside, (name, outside[:5])
    total = sum(f["properties"]["population"] for f in layers["townships"])
    assert 54_000 <= total <= 58_000


def test_townships_use_the_real_names_and_codes(layers: dict[str, list[dict[str, Any]]]) -> None:
    import csv

    with (DATA / "yumin_townships.csv").open(encoding="utf-8") as fh:
        real = {r["code9"]: r["name"] for r in csv.DictReader(fh)}
    got = {f["properties"]["code"]: f["properties"]["name"] for f in layers["townships"]}
    assert got == real
    county = to_utm(shape(_named(layers["admin_boundaries"], "裕民县")["geometry"]))
    union = shapely.union_all([_utm(f) for f in layers["townships"]])
    assert abs(union.area - county.area) / county.area < 1e-6


def test_exactly_180_rescuers(layers: dict[str, list[dict[str, Any]]]) -> None:
    teams = [f["properties"] for f in layers["rescue_teams"]]
    assert sum(t["headcount"] for t in teams) == 180
    assert all(t["status"] == "available" and t["vehicles"] for t in teams)
    kinds = {t["kind"] for t in teams}
    assert {"fire_station", "hazmat", "mine_rescue", "medical", "enterprise_brigade"} <= kinds


def test_county_depot_as_in_the_plan(layers: dict[str, list[dict[str, Any]]]) -> None:
    county = [f["properties"] for f in layers["material_depots"] if f["properties"]["level"] == "county"]
    assert len(county) == 1
    depot = county[0]
    assert depot["area_m2"] == 8350
    stock = {row["item"]: row for row in depot["inventory"]}
    assert stock["抢险救援车"]["quantity"] == 5 and stock["抢险救援车"]["category"] == "vehicle"
    assert stock["叉车"]["quantity"] == 2
    assert len(stock) >= 15
    township = [f for f in layers["material_depots"] if f["properties"]["level"] == "township"]
    assert len(township) >= 7 and all(len(f["properties"]["inventory"]) >= 8 for f in township)


def test_enterprises_have_valid_codes_and_plausible_risk(
    layers: dict[str, list[dict[str, Any]]],
) -> None:
    ents = [f["properties"] for f in layers["enterprises"]]
    codes = [e["credit_code"] for e in ents]
    assert len(set(codes)) == len(codes)
    assert all(credit_code_error(c) is None and c[2:8] == "654225" for c in codes)
    assert all(e["employees"] > 0 and e["contact"] and e["phone"] for e in ents)
    risk = Counter(e["risk_level"] for e in ents)
    assert 0 < risk["red"] < risk["orange"] < risk["yellow"] + risk["blue"]
    industries = Counter(e["industry"] for e in ents)
    assert industries["industry_trade"] >= 40 and industries["fuel_station"] >= 8
    assert industries["lpg_station"] >= 2 and industries["non_coal_mine"] >= 5 and industries["fireworks"] >= 5
    for kind in ("hazchem_production", "hazchem_storage", "hazchem_use", "hazchem_trade"):
        assert industries[kind] >= 1


def test_hazard_sources(layers: dict[str, list[dict[str, Any]]]) -> None:
    ents = {f["id"]: f["properties"] for f in layers["enterprises"]}
    hz = [f["properties"] for f in layers["hazard_sources"]]
    assert all(h["enterprise_id"] in ents for h in hz)
    kinds = Counter(h["kind"] for h in hz)
    for kind in (
        "storage_tank",
        "warehouse",
        "process_unit",
        "tailings_pond",
        "explosives_store",
        "fuel_station_tank",
        "lpg_tank",
    ):
        assert kinds[kind] >= 1, kind
    stations = [i for i, e in ents.items() if e["industry"] == "fuel_station"]
    tanks = [h for h in hz if h["kind"] == "fuel_station_tank"]
    assert sorted(h["enterprise_id"] for h in tanks) == sorted(stations)
    for h in tanks:
        assert h["gasoline_m3"] > 0 and h["diesel_m3"] > 0 and h["max_tank_m3"] > 0
        assert h["vapour_recovery"] in ("none", "unloading", "full")
    # GB 18218 Table 1 critical quantities (t) for a few substances the demo holds.
    q_table = {"7664-41-7": 10, "7782-50-5": 5, "68476-85-7": 50, "86290-81-5": 200}
    major = [
        h for h in hz if any(s.get("cas") in q_table and s["quantity_t"] >= q_table[s["cas"]] for s in h["substances"])
    ]
    assert len(major) >= 4
    assert all(s.get("cas") or s.get("hazard_class") for h in hz for s in h["substances"])


def test_lpg_tanks_in_one_dike_are_one_major_unit(layers: dict[str, list[dict[str, Any]]]) -> None:
    """The park's LPG station: three 50 m³ tanks in one dike are one GB 18218 storage unit (issue 11).

    Each tank holds 50 m³ × 0.85 fill × 0.55 t/m³ = 23.375 t, stored as 23.38 t. LPG: Q = 50 t, β = 1.5
    (reference/safety-standards.md Tables 1.1 and 1.4, W2). Alone a tank is S = 23.38/50 = 0.4676, not
    major; the unit holds 70.14 t, S = 1.4028 ≥ 1: major. Nobody lives within 500 m of the dike in the
    demo (α = 0.5, Table 1.5): R = 0.5 × 1.5 × 1.4028 = 1.0521 → 四级 (R < 10, Table 1.6).
    """
    units = [f for f in layers["hazard_units"]]
    assert len(units) == 1
    unit = units[0]["properties"]
    assert unit["unit_kind"] == "storage" and unit["source"].startswith("synthetic")
    assert (unit["s_value"], unit["r_value"], unit["grade"], unit["exposed_population"]) == (1.4028, 1.0521, 4, 0)
    members = [f for f in layers["hazard_sources"] if f["properties"]["unit_id"] == units[0]["id"]]
    assert sorted(f["properties"]["name"] for f in members) == [f"{k}#液化石油气卧式储罐（50 m³）" for k in (1, 2, 3)]
    dike = _utm(units[0])
    for f in members:
        p = f["properties"]
        assert p["substances"][0]["quantity_t"] == 23.38 and 23.38 / 50 < 1  # alone: not major
        assert (p["s_value"], p["r_value"], p["grade"]) == (1.4028, 1.0521, 4)  # the unit's values
        assert dike.contains(_utm(f))
        assert p["enterprise_id"] == unit["enterprise_id"]


def _road_graph(
    roads: list[dict[str, Any]],
) -> tuple[dict[tuple[float, float], int], np.ndarray, np.ndarray]:
    nodes: dict[tuple[float, float], int] = {}
    a, b = [], []
    for f in roads:
        coords = f["geometry"]["coordinates"]
        a.append(nodes.setdefault(tuple(coords[0]), len(nodes)))
        b.append(nodes.setdefault(tuple(coords[-1]), len(nodes)))
    return nodes, np.array(a), np.array(b)


def test_road_network_is_routable(layers: dict[str, list[dict[str, Any]]]) -> None:
    roads = layers["roads"]
    nodes, a, b = _road_graph(roads)
    graph = coo_matrix((np.ones(len(a)), (a, b)), shape=(len(nodes), len(nodes)))
    _, labels = connected_components(graph, directed=False)
    assert np.bincount(labels).max() / len(nodes) > 0.95
    geoms = np.array([shape(f["geometry"]) for f in roads], dtype=object)
    left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    inter = shapely.intersection(geoms[left], geoms[right])
    ends = [{tuple(g.coords[0]), tuple(g.coords[-1])} for g in geoms]
    bad = []
    for i, j, g in zip(left.tolist(), right.tolist(), inter, strict=True):
        shared = ends[i] & ends[j]
        points = [] if g.geom_type not in ("Point", "MultiPoint") else [(p.x, p.y) for p in shapely.get_parts(g)]
        if not points or any(p not in shared for p in points):
            bad.append((roads[i]["properties"]["name"], roads[j]["properties"]["name"], g.wkt[:60]))
    assert not bad, bad[:5]


def test_road_attributes(layers: dict[str, list[dict[str, Any]]]) -> None:
    roads = [f["properties"] for f in layers["roads"]]
    classes = Counter(r["road_class"] for r in roads)
    for cls in (
        "national",
        "provincial",
        "county",
        "township",
        "village",
        "urban_arterial",
        "urban_secondary",
        "urban_branch",
    ):
        assert classes[cls] >= 10, cls
    g219 = [r for r in roads if r.get("ref") == "G219"]
    assert len(g219) >= 50 and all("G219" in r["name"] for r in g219)
    assert sum(bool(r["oneway"]) for r in roads) >= 2
    assert {r["name"] for r in roads if r["oneway"]} == {"新华路", "民主路"}
    assert any(r.get("max_height_m") == 3.6 for r in roads)
    assert any(r.get("max_weight_t") and "桥" in r["name"] for r in roads)
    assert 1 <= sum(r["status"] == "closed" for r in roads) < 20
    lengths = [_utm(f).length for f in layers["roads"] if f["properties"]["road_class"] == "village"]
    assert max(lengths) <= 500.5 and np.median(lengths) > 250


def test_fire_lanes_join_the_road_network(layers: dict[str, list[dict[str, Any]]]) -> None:
    nodes, _, _ = _road_graph(layers["roads"])
    lanes = [f for f in layers["fire_lanes"]]
    for f in lanes:
        p, coords = f["properties"], f["geometry"]["coordinates"]
        assert p["site_layer"] in ("enterprises", "protected_targets") and p["site_id"]
        assert tuple(coords[0]) in nodes, p["name"]
        if not p["dead_end"]:
            assert tuple(coords[-1]) in nodes, p["name"]
    props = [f["properties"] for f in lanes]
    sites = {p["site_layer"] for p in props}
    assert sites == {"enterprises", "protected_targets"}
    assert any(3.5 <= p["width_m"] <= 3.8 for p in props)
    assert any(p["dead_end"] and not p.get("turnaround_length_m") for p in props)
    assert any(
        p["dead_end"] and p.get("turnaround_length_m") == 12 and p.get("turnaround_width_m") == 12 for p in props
    )
    assert any(p["obstructed"] for p in props)
    lane_geoms = [shape(f["geometry"]) for f in lanes]
    road_geoms = shapely.STRtree([shape(f["geometry"]) for f in layers["roads"]])
    for lane in lane_geoms:
        for hit in road_geoms.query(lane, predicate="intersects"):
            touch = lane.intersection(road_geoms.geometries[hit])
            assert all(tuple(c) in (lane.coords[0], lane.coords[-1]) for c in shapely.get_coordinates(touch))


def test_planted_problems(layers: dict[str, list[dict[str, Any]]]) -> None:
    targets, hz, ents = layers["protected_targets"], layers["hazard_sources"], layers["enterprises"]
    station = _named(ents, "中国石油裕民县城东加油站")
    tank = _utm(next(h for h in hz if h["properties"]["enterprise_id"] == station["id"]))
    assert tank.distance(_utm(_named(targets, "金桥小区"))) == pytest.approx(30, abs=1.5)
    kindergarten = _named(targets, "金桥小区配套幼儿园")
    assert kindergarten["properties"]["gb50156_class"] == "important_public"
    assert tank.distance(_utm(kindergarten)) == pytest.approx(38, abs=1.5)
    warehouse = next(h for h in hz if h["properties"]["name"] == "甲类危险化学品仓库")
    assert any(s["cas"] == "7782-50-5" for s in warehouse["properties"]["substances"])
    school = _named(targets, "裕民县职业技术学校")
    assert school["properties"]["gb36894_class"] == "high_sensitive"
    assert _utm(warehouse).distance(_utm(school)) == pytest.approx(80, abs=1.5)
    house = _utm(_named(targets, "察汗托海牧场牧民住宅（加油站罐区旁）"))
    far_station = _named(ents, "裕民县察汗托海牧场加油站")
    far_tank = next(h for h in hz if h["properties"]["enterprise_id"] == far_station["id"])
    assert far_tank["properties"]["vapour_recovery"] == "none"
    assert _utm(far_tank).distance(house) == pytest.approx(7, abs=1.0)
    store = _utm(next(h for h in hz if h["properties"]["name"].startswith("民用爆炸物品储存库")))
    camp = _utm(next(f for f in targets if f["properties"]["name"].startswith("牧民冬窝子")))
    assert 300 < store.distance(camp) < 400


def test_hydrant_spacing_with_gaps(layers: dict[str, list[dict[str, Any]]]) -> None:
    by_street: dict[str, list[shapely.Point]] = {}
    for f in layers["hydrants"]:
        street = f["properties"]["name"].rsplit("号消火栓", 1)[0][:-2]
        by_street.setdefault(street, []).append(_utm(f))
    spacings, widest = [], {}
    for street, points in by_street.items():
        xy = np.array([(p.x, p.y) for p in points])
        axis = 0 if np.ptp(xy[:, 0]) > np.ptp(xy[:, 1]) else 1
        gaps = np.diff(np.sort(xy[:, axis]))
        spacings.extend(gaps.tolist())
        widest[street] = gaps.max() if len(gaps) else 0.0
    assert 95 <= float(np.median(spacings)) <= 125
    over = [s for s, w in widest.items() if w > 150]
    assert len(over) >= len(HYDRANT_GAPS)
    assert sum(g > 150 for g in spacings) <= 10


def test_builds_on_both_stores(store: FeatureStore, demo: tuple[FeatureStore, dict[str, int]]) -> None:
    reference, counts = demo
    assert build_demo(store, seed=2021) == counts
    assert {k: v for k, v in store.counts().items() if k in counts} == counts
    for layer in ("rescue_teams", "material_depots", "incidents", "fire_lanes", "hazard_sources"):
        assert _snapshot(store, layer) == _snapshot(reference, layer), layer
    roads = store.query("roads", limit=None, count=False)
    assert sum(len(g.coords) for g in roads.geometries) == sum(
        len(g.coords) for g in reference.query("roads", limit=None, count=False).geometries
    )
    assert math.isclose(
        sum(r["speed_kmh"] for r in roads.rows),
        sum(r["speed_kmh"] for r in reference.query("roads", limit=None, count=False).rows),
    )


def test_shelters_near_the_seats_and_contacts_for_the_vulnerable(layers: dict[str, list[dict[str, Any]]]) -> None:
    shelters = layers["shelters"]
    assert len(shelters) >= 8 and all(f["properties"]["source"].startswith("synthetic") for f in shelters)
    assert sum(f["properties"]["capacity"] for f in shelters) >= 15_000
    seat = to_utm(shape(_named(layers["settlements"], "裕民县城（县人民政府驻地）")["geometry"]))
    in_town = [f for f in shelters if _utm(f).distance(seat) < 3000]
    assert len(in_town) >= 5 and sum(f["properties"]["capacity"] for f in in_town) >= 12_000
    seats = [to_utm(shape(f["geometry"])) for f in layers["settlements"] if f["properties"]["kind"] == "township_seat"]
    near = sum(any(_utm(f).distance(s) < 3000 for f in shelters) for s in seats)
    assert near >= 5  # most township seats have a shelter within 3 km
    contacts = layers["warning_contacts"]
    assert all(f["properties"]["source"].startswith("synthetic") for f in contacts)
    linked = {f["properties"]["target_id"] for f in contacts if f["properties"]["target_id"]}
    vulnerable = {
        f["id"]
        for f in layers["protected_targets"]
        if f["properties"]["category"] in ("school", "kindergarten", "hospital", "nursing_home")
    }
    assert vulnerable <= linked
    assert {f["id"] for f in layers["settlements"]} <= {f["properties"]["settlement_id"] for f in contacts}
    assert all(f["properties"]["phone"] for f in contacts)
    assert all(f["properties"]["email"].endswith(".example") for f in contacts if f["properties"]["email"])


def test_live_sensors_routes_vehicles_and_geofences(layers: dict[str, list[dict[str, Any]]]) -> None:
    live = {name: layers[name] for name in ("sensors", "hazmat_routes", "vehicles", "geofences")}
    assert all(f["properties"]["source"].startswith("synthetic") for fs in live.values() for f in fs)
    sensors = [f["properties"] for f in live["sensors"]]
    assert len(sensors) >= 30 and len({s["code"] for s in sensors}) == len(sensors)
    hazards = {f["properties"]["id"]: f["properties"]["name"] for f in layers["hazard_sources"]}
    chlorine = [s for s in sensors if s.get("substance") == "氯"]
    assert any("加氯间" in hazards[s["hazard_source_id"]] for s in chlorine)
    assert all(s["high_1"] == 1.0 and s["high_2"] == 2.0 and s["unit"] == "mg_m3" for s in chlorine)
    gas = [s for s in sensors if s["kind"] == "flammable_gas"]
    assert gas and all((s["high_1"], s["high_2"], s["unit"]) == (25.0, 50.0, "pct_lel") for s in gas)
    assert {"liquid_level", "pressure", "temperature"} <= {s["kind"] for s in sensors}
    assert len(live["hazmat_routes"]) == 2
    vehicles = [f["properties"] for f in live["vehicles"]]
    assert len({v["plate"] for v in vehicles}) == len(vehicles)
    trucks = [v for v in vehicles if v["kind"] == "hazmat_truck"]
    assert len(trucks) == 6 and all(v.get("route_id") and v.get("enterprise_id") for v in trucks)
    rows = sum(len(f["properties"]["vehicles"]) for f in layers["rescue_teams"])
    rescue = [v for v in vehicles if v["kind"] == "rescue"]
    assert len(rescue) == rows and all(v.get("team_id") for v in rescue)
    fences = [f["properties"] for f in live["geofences"]]
    assert Counter(f["kind"] for f in fences) == {"town_centre": 1, "school_zone": 3}
    centre = _utm(next(f for f in live["geofences"] if f["properties"]["kind"] == "town_centre"))
    seat = to_utm(shape(_named(layers["settlements"], "裕民县城（县人民政府驻地）")["geometry"]))
    assert centre.distance(seat) < 1500
