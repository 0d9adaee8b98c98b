"""Fire-lane rules (GB 50016-2014 §7.1.8–7.1.10) on lanes of known geometry."""

import csv

import geopandas as gpd
import pytest
from shapely.geometry import LineString

from safemap.gis.fire_access import RuleBook, check_lanes, classify_site, required_turnaround
from safemap.layers.paths import DATA_DIR

CRS = "EPSG:32644"


@pytest.fixture(scope="module")
def rules() -> RuleBook:
    with open(DATA_DIR / "standards" / "fire_access_rules.csv", encoding="utf-8") as f:
        return RuleBook.from_rows(csv.DictReader(f))


def lanes(**overrides):
    props = {
        "name": "测试车道",
        "width_m": 4.5,
        "clear_height_m": 5.0,
        "slope_pct": None,
        "dead_end": False,
        "turnaround_length_m": None,
        "turnaround_width_m": None,
        "max_weight_t": 30.0,
        "obstructed": False,
        "site_layer": "protected_targets",
        "site_id": 7,
    }
    props.update(overrides)
    line = LineString([(600_000, 5_100_000), (600_000, 5_100_120), (600_080, 5_100_120)])
    return gpd.GeoDataFrame([props], geometry=[line], crs=CRS, index=[11])


def codes(findings):
    return sorted(f.rule for f in findings)


def test_the_table_holds_the_standard_numbers(rules):
    assert rules.value("lane_width") == 4.0
    assert rules.value("lane_clear_height") == 4.0
    assert rules.value("lane_slope") == 8.0
    assert (rules.value("turnaround"), rules.value("turnaround_high_rise"), rules.value("turnaround_heavy")) == (
        12,
        15,
        18,
    )
    assert rules.value("hydrant_cover") == 150 and rules.value("hydrant_spacing") == 120
    assert rules.value("response_time") == 300
    assert "7.1.8" in rules["lane_width"].citation and "GB 50016" in rules["lane_width"].citation
    assert "7.1.9" in rules["turnaround"].citation
    assert "7.2.5" in rules["hydrant_cover"].citation and "GB 50974" in rules["hydrant_cover"].citation


def test_a_compliant_lane_has_no_findings(rules):
    assert check_lanes(lanes(), rules) == []


def test_a_lane_3_8_m_wide_fails_and_4_0_passes(rules):
    (f,) = check_lanes(lanes(width_m=3.8), rules)
    assert (f.rule, f.measured, f.required, f.comparison, f.unit) == ("lane_width", 3.8, 4.0, "≥", "m")
    assert "7.1.8" in f.clause and f.feature_id == 11 and f.layer == "fire_lanes"
    assert "3.8" in f.message
    assert check_lanes(lanes(width_m=4.0), rules) == []


def test_clear_height_slope_obstruction_and_load(rules):
    found = check_lanes(lanes(clear_height_m=3.8, slope_pct=9.5, obstructed=True, max_weight_t=15.0), rules)
    assert codes(found) == ["lane_clear_height", "lane_load", "lane_obstructed", "lane_slope"]
    by = {f.rule: f for f in found}
    assert by["lane_slope"].measured == 9.5 and by["lane_slope"].required == 8.0 and by["lane_slope"].basis == "实测"
    assert by["lane_load"].required == 30.0 and "7.1.10" in by["lane_load"].clause
    assert "第二十八条" in by["lane_obstructed"].clause
    # A heavier appliance from the vehicle profiles raises the requirement: the engine everywhere,
    # the aerial platform only on the lanes of high-rise (or heavy-vehicle) sites.
    (f,) = check_lanes(lanes(max_weight_t=32.0), rules, engine_weight_t=35.0)
    assert (f.rule, f.required) == ("lane_load", 35.0)
    assert check_lanes(lanes(max_weight_t=30.0), rules, heavy_weight_t=31.0) == []
    tall = {("protected_targets", 7): classify_site("protected_targets", {"category": "hotel", "height_m": 30}, rules)}
    (f,) = check_lanes(lanes(max_weight_t=30.0), rules, sites=tall, heavy_weight_t=31.0)
    assert (f.rule, f.measured, f.required) == ("lane_load", 30.0, 31.0)


def test_slope_from_the_dem_when_the_lane_has_none(rules):
    (f,) = check_lanes(lanes(), rules, dem_slopes={11: 8.6})
    assert (f.rule, f.measured, f.basis) == ("lane_slope", 8.6, "DEM")
    assert check_lanes(lanes(slope_pct=3.0), rules, dem_slopes={11: 8.6}) == []


def test_dead_end_turnarounds(rules):
    ordinary = classify_site("protected_targets", {"category": "residential", "height_m": 18.0}, rules)
    high_rise = classify_site("protected_targets", {"category": "residential", "height_m": 33.0}, rules)
    office = classify_site("protected_targets", {"category": "government", "height_m": 24.5}, rules)
    tower = classify_site("protected_targets", {"category": "hotel", "height_m": 54.0}, rules)
    assert not ordinary.high_rise and high_rise.high_rise and office.high_rise and tower.heavy
    # Residential at 25 m is not high-rise (27 m), an office at 25 m is (24 m): GB 50016 §2.1.1.
    assert not classify_site("protected_targets", {"category": "residential", "height_m": 25.0}, rules).high_rise
    assert classify_site("enterprises", {"industry": "lpg_station"}, rules).heavy
    assert required_turnaround(high_rise, rules) == ("turnaround_high_rise", 15.0)
    assert required_turnaround(tower, rules) == ("turnaround_heavy", 18.0)

    twelve = lanes(dead_end=True, turnaround_length_m=12.0, turnaround_width_m=12.0)
    assert check_lanes(twelve, rules, sites={("protected_targets", 7): ordinary}) == []
    # The same 12 × 12 m turnaround fails for a high-rise building (15 × 15 m).
    (f,) = check_lanes(twelve, rules, sites={("protected_targets", 7): high_rise})
    assert (f.rule, f.measured, f.required) == ("turnaround_high_rise", 12.0, 15.0)
    assert "7.1.9" in f.clause
    assert f.geometry.coords[0] == (600_080, 5_100_120)  # marked at the dead end
    (f,) = check_lanes(twelve, rules, sites={("protected_targets", 7): tower})
    assert (f.rule, f.required) == ("turnaround_heavy", 18.0)
    # 15 × 12 m is not 15 × 15 m: both sides count.
    (f,) = check_lanes(
        lanes(dead_end=True, turnaround_length_m=15.0, turnaround_width_m=12.0),
        rules,
        sites={("protected_targets", 7): high_rise},
    )
    assert f.measured == 12.0
    (f,) = check_lanes(lanes(dead_end=True), rules)
    assert (f.rule, f.measured, f.required) == ("turnaround", None, 12.0)
    assert "未设回车场" in f.message
