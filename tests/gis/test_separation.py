"""Separation rules (data/standards/separation_rules.csv) matched and measured on real geometries."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from safemap.gis.consequence_vce import kb_scaled_distance
from safemap.gis.separation import applicable_rules, audit, evaluate, hazard_profiles
from safemap.gis.site_check import SITE_KINDS, proposed_frame, proposed_properties, site_checks
from safemap.gis.target_classes import derive_classes
from tests.gis.standards import substance_properties, table

RULES = table("separation_rules")
CLASS_RULES = table("target_class_rules")
PROPS = substance_properties()
CRS = "EPSG:32644"


def hazards(*rows: dict) -> gpd.GeoDataFrame:
    base = {
        "kind": None,
        "enterprise_id": None,
        "gasoline_m3": None,
        "diesel_m3": None,
        "max_tank_m3": None,
        "vapour_recovery": None,
        "substances": [],
    }
    recs = [{**base, "id": i + 1, "name": f"H{i + 1}", **r} for i, r in enumerate(rows)]
    geoms = [r.pop("geometry") for r in recs]
    return gpd.GeoDataFrame(recs, geometry=geoms, crs=CRS)


def targets(*rows: dict) -> gpd.GeoDataFrame:
    base = {
        "layer": "protected_targets",
        "category": "residential",
        "gb50156_class": None,
        "kind": None,
        "road_class": None,
        "gb36894_class": None,
    }
    recs = [{**base, "id": i + 1, "name": f"T{i + 1}", **r} for i, r in enumerate(rows)]
    geoms = [r.pop("geometry") for r in recs]
    return gpd.GeoDataFrame(recs, geometry=geoms, crs=CRS)


def classed(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``frame`` with GB 50156 classes derived from the category (data/standards/target_class_rules.csv)."""
    return derive_classes(frame, CLASS_RULES)


def required(hz: gpd.GeoDataFrame) -> pd.DataFrame:
    prof = hazard_profiles(hz, PROPS)
    app = applicable_rules(prof, RULES)
    return app.merge(RULES.reset_index(drop=True).reset_index().rename(columns={"index": "rule_pos"}), on="rule_pos")


def station(grade_volumes: tuple[float, float, float], vr: str) -> gpd.GeoDataFrame:
    g, d, t = grade_volumes
    return hazards(
        {
            "kind": "fuel_station_tank",
            "gasoline_m3": g,
            "diesel_m3": d,
            "max_tank_m3": t,
            "vapour_recovery": vr,
            "geometry": shapely.box(0, 0, 10, 10),
        }
    )


@pytest.mark.parametrize(
    ("volumes", "vr", "klass", "metres"),
    [
        ((90, 60, 30), "unloading", "important_public", 40),  # 二级, unloading recovery (planted P1)
        ((30, 60, 30), "none", "civil_3", 10),  # 三级, none (planted P3)
        ((180, 0, 50), "full", "civil_1", 17.5),  # 一级, full recovery
        ((120, 0, 50), "full", "civil_2", 11),  # 二级 full (cross-checked: 35/14/11/8.5)
        ((120, 0, 50), "full", "civil_3", 8.5),
        ((60, 0, 30), "none", "civil_2", 12),  # 三级 none
    ],
)
def test_gb50156_table_cells(volumes: tuple, vr: str, klass: str, metres: float) -> None:
    req = required(station(volumes, vr))
    row = req[(req["target_field"] == "gb50156_class") & (req["target_values"] == klass)]
    assert row["required_m"].tolist() == [metres]


def test_fuel_station_roads_and_unchecked_rows() -> None:
    req = required(station((120, 0, 50), "none"))
    assert req.loc[req["target_values"] == "urban_arterial", "required_m"].tolist() == [8]
    railway = req[req["target_label"] == "铁路"]
    assert railway["target_layer"].tolist() == ["none"] and railway["required_m"].tolist() == [22]


def test_polygons_are_measured_edge_to_edge() -> None:
    tank = shapely.box(0, 0, 10, 10)
    near_edge = shapely.box(48, 0, 200, 10)  # edge 38 m from the tank, centroid 114 m away
    hz = station((90, 60, 30), "unloading")
    tg = targets(
        {"category": "kindergarten", "gb50156_class": "important_public", "geometry": near_edge},
        {"category": "kindergarten", "gb50156_class": "important_public", "geometry": shapely.Point(60, 5)},
    )
    v = audit(hz.set_geometry([tank]), tg, RULES, PROPS)
    assert v["target_id"].tolist() == [1]
    assert v.loc[0, "actual_m"] == 38 and v.loc[0, "required_m"] == 40 and v.loc[0, "shortfall_m"] == 2
    assert v.loc[0, "clause"] == "4.0.4" and v.loc[0, "standard"].startswith("GB 50156")
    line = v.geometry.iloc[0]
    assert line.length == pytest.approx(38)


def test_lpg_bands_use_total_and_single_tank() -> None:
    lpg = [{"name": "液化石油气", "cas": "68476-85-7", "quantity_t": 50 * 0.55 * 0.85}]  # a 50 m³ tank, estimated
    hz = hazards(
        *(
            {
                "kind": "lpg_tank",
                "enterprise_id": 7,
                "substances": lpg,
                "geometry": shapely.box(i * 20, 0, i * 20 + 5, 5),
            }
            for i in range(3)
        )
    )
    req = required(hz)
    homes = req[req["target_values"].str.startswith("residential", na=False)]
    assert sorted(homes["required_m"].unique()) == [50]  # 150 m³ in all, single 50: band 50–200
    big = hazards({"kind": "lpg_tank", "max_tank_m3": 120, "substances": lpg, "geometry": shapely.Point(0, 0)})
    assert sorted(
        required(big).query("target_values.str.startswith('residential')", engine="python")["required_m"].unique()
    ) == [90]  # a 120 m³ tank needs the 500–1000 band (single ≤ 200)


def test_tank_farm_classes_and_civil_buildings() -> None:
    gasoline = [{"name": "汽油", "quantity_t": 1000 * 0.74 * 0.85}]
    hz = hazards(
        *(
            {"kind": "storage_tank", "enterprise_id": 1, "substances": gasoline, "geometry": shapely.Point(i * 50, 0)}
            for i in range(2)
        )
    )
    req = required(hz)
    civil = req[(req["hazard_category"] == "flammable_liquid_ab") & (req["target_layer"] == "protected_targets")]
    assert civil["required_m"].unique().tolist() == [31.25]  # 2000 m³: 25 m × 1.25 to civil buildings


def test_explosives_overpressure_distance() -> None:
    hz = hazards(
        {
            "kind": "explosives_store",
            "substances": [{"name": "乳化炸药", "hazard_class": "W1.1", "quantity_t": 1.0}],
            "geometry": shapely.Point(0, 0),
        }
    )
    req = required(hz)
    gb6722 = req[req["standard"] == "GB 6722-2014"]
    assert gb6722["required_m"].tolist() == pytest.approx([kb_scaled_distance(2.0) * 10.0])  # 1000 kg TNT
    assert 440 < gb6722["required_m"].iloc[0] < 460


def test_fire_station_siting() -> None:
    hz = hazards(
        {"kind": "warehouse", "substances": [{"name": "氯", "quantity_t": 1}], "geometry": shapely.Point(0, 0)}
    )
    tg = targets(
        {"layer": "rescue_teams", "kind": "fire_station", "category": None, "geometry": shapely.Point(250, 0)},
        {"layer": "rescue_teams", "kind": "medical", "category": None, "geometry": shapely.Point(100, 0)},
    )
    v = audit(hz, tg, RULES, PROPS)
    assert v["target_id"].tolist() == [1] and v["required_m"].tolist() == [300]


def test_site_check_reports_passes_and_failures() -> None:
    hz = station((90, 60, 30), "unloading")
    kind = SITE_KINDS["school"]
    props = proposed_properties(kind, {})
    assert props["gb36894_class"] == "high_sensitive" and "gb50156_class" not in props
    site = classed(proposed_frame(kind, shapely.Point(55, 5), props, CRS, "新学校"))
    # 800 pupils > 500: 重要公共建筑物 by GB 50156-2021 附录B B.0.1 第6款 (target_class_rules.csv).
    assert (site.loc[0, "gb50156_class"], site.loc[0, "gb50156_class_basis"]) == ("important_public", "derived")
    checks, _ = site_checks(kind, site, hz, targets(), RULES, PROPS, vicinity_m=100)
    assert checks["passed"].tolist() == [True]
    assert checks["actual_m"].tolist() == [45.0] and checks["required_m"].tolist() == [40]
    far = classed(proposed_frame(kind, shapely.Point(200, 5), props, CRS, "新学校"))
    assert len(site_checks(kind, far, hz, targets(), RULES, PROPS, vicinity_m=100)[0]) == 0
    site = classed(proposed_frame(kind, shapely.Point(30, 5), props, CRS, "新学校"))
    checks, _ = site_checks(kind, site, hz, targets(), RULES, PROPS)
    assert checks["passed"].tolist() == [False] and checks["shortfall_m"].tolist() == [20.0]


def test_proposed_fuel_station_lists_unchecked_rules() -> None:
    kind = SITE_KINDS["fuel_station"]
    props = proposed_properties(
        kind, {"gasoline_m3": 150, "diesel_m3": 60, "vapour_recovery": "none", "max_tank_m3": 50}
    )
    site = proposed_frame(kind, shapely.box(0, 0, 30, 30), props, CRS, "新加油站")
    tg = targets({"gb50156_class": "civil_1", "geometry": shapely.Point(50, 15)})
    checks, unchecked = site_checks(kind, site, hazards(), tg, RULES, PROPS)
    first = checks[checks["target_class"].str.contains("一类")]
    assert first["required_m"].tolist() == [25] and not first["passed"].iloc[0]  # 一级 (V = 180), none: 25 m
    assert {"铁路", "室外变配电站"} <= set(unchecked["target_class"])
    assert np.all(unchecked["required_m"] > 0) and set(unchecked["status"]) == {"cannot_check"}


# ---------------------------------------------------------------------------- three-valued verdicts (issue 11)


def test_station_grade_bounds_and_missing_volumes() -> None:
    # GB 50156 表3.0.9 (reference §6.1): 一级 150 < V ≤ 210 m³, V = gasoline + diesel / 2.
    prof = hazard_profiles(
        hazards(
            {"kind": "fuel_station_tank", "gasoline_m3": 210, "max_tank_m3": 50, "geometry": shapely.Point(0, 0)},
            {"kind": "fuel_station_tank", "gasoline_m3": 210.5, "max_tank_m3": 50, "geometry": shapely.Point(0, 0)},
            {"kind": "fuel_station_tank", "geometry": shapely.Point(0, 0)},
        ),
        PROPS,
    )
    assert prof["station_grade"].tolist()[0] == 1 and pd.isna(prof["reason"].iloc[0])
    assert pd.isna(prof["station_grade"].iloc[1]) and "超出 GB 50156 一级站容积上限" in prof["reason"].iloc[1]
    assert prof["reason"].iloc[2] == "未填写汽油、柴油储罐容积，无法按 GB 50156 定级"


def test_ungradable_station_makes_every_nearby_target_cannot_check() -> None:
    hz = station((200, 100, 50), "none")  # V = 250 m³ > 210: no grade
    tg = targets(
        {"category": "school", "gb50156_class": "important_public", "geometry": shapely.Point(20, 5)},  # 10 m
        {"category": "school", "gb50156_class": "important_public", "geometry": shapely.Point(80, 5)},  # 70 m
    )
    pairs, issues = evaluate(hz, tg, RULES, PROPS)
    # Within the largest distance any grade asks of a 重要公共建筑物 (50 m, 表4.0.4): 无法核查.
    assert pairs["target_pos"].tolist() == [0] and pairs["status"].tolist() == ["cannot_check"]
    reason = "汽油 200 m³、柴油 100 m³ 超出 GB 50156 一级站容积上限，无法定级"
    assert reason in pairs["reason"].iloc[0] and reason in issues["reason"].iloc[0]
    # A site check (passes reported, 100 m around) lists the far school too — never as a pass.
    pairs, _ = evaluate(hz, tg, RULES, PROPS, extra_m=100, report_passes=True)
    assert sorted(pairs["target_pos"]) == [0, 1] and set(pairs["status"]) == {"cannot_check"}


def test_target_without_class_is_held_to_the_strictest_class() -> None:
    hz = station((90, 60, 30), "unloading")  # 二级, unloading: 40 m to 重要公共建筑物, 9.5 m to 三类 (表4.0.4)
    tg = targets(
        {"category": "hospital", "geometry": shapely.Point(40, 5)},  # 30 m: cannot tell
        {"category": "hospital", "geometry": shapely.Point(60, 5)},  # 50 m: passes even the strictest class
    )
    tg = classed(tg)  # hospitals are split by beds (附录B 第6款): no class derived
    assert tg["gb50156_class"].isna().all() and "床位" in tg["gb50156_class_note"].iloc[0]
    v = audit(hz, tg, RULES, PROPS)
    (row,) = v[v["standard"] == "GB 50156-2021"].itertuples()
    assert (row.target_id, row.status, row.required_m) == (1, "cannot_check", 40)
    assert "床位" in row.reason and "要求 40 m" in row.reason
    pairs, _ = evaluate(hz, tg, RULES, PROPS, extra_m=50, report_passes=True)
    far = pairs[(pairs["target_pos"] == 1) & (pairs["required_m"] == 40)]
    assert far["status"].tolist() == ["pass"]


def test_explicit_class_wins_and_derived_class_is_marked() -> None:
    hz = station((90, 60, 30), "unloading")
    tg = classed(
        targets(
            {"category": "school", "population": 800, "geometry": shapely.Point(30, 5)},  # derived 重要: 40 m
            {"category": "school", "population": 800, "gb50156_class": "civil_3", "geometry": shapely.Point(30, 5)},
        )
    )
    assert tg["gb50156_class"].tolist() == ["important_public", "civil_3"]
    assert tg["gb50156_class_basis"].tolist() == ["derived", "explicit"]
    v = audit(hz, tg, RULES, PROPS)
    gb = v[v["standard"] == "GB 50156-2021"]
    assert gb["target_id"].tolist() == [1] and gb["status"].tolist() == ["fail"]  # 20 m < 40 m; 三类 9.5 m holds
    assert gb["class_basis"].tolist() == ["derived"]


def test_rules_without_a_map_layer_are_issues() -> None:
    _, issues = evaluate(station((90, 60, 30), "unloading"), targets(), RULES, PROPS)
    railway = issues[issues["reason"].str.contains("「铁路」")]
    assert railway["required_m"].tolist() == [17.5]  # 二级, unloading recovery (表4.0.4)
    assert set(issues["status"]) == {"cannot_check"}


def test_volume_above_the_last_band_cannot_be_confirmed() -> None:
    # 2000 m³ of LPG is beyond GB 50028 表8.3.7's last band (500–1000 m³, 90 m to homes): nearer is a
    # failure, farther cannot be confirmed.
    hz = hazards(
        {"kind": "lpg_tank", "volume_m3": 2000, "max_tank_m3": 200, "substances": [], "geometry": shapely.Point(0, 0)}
    )
    tg = targets({"geometry": shapely.Point(50, 0)}, {"geometry": shapely.Point(120, 0)})
    pairs, issues = evaluate(hz, tg, RULES, PROPS, extra_m=100, report_passes=True)
    homes = pairs[pairs["required_m"] == 90].sort_values("target_pos")
    assert homes["status"].tolist() == ["fail", "cannot_check"]
    assert issues["reason"].str.contains("超出表列最大档").any()


def test_tank_without_volume_or_substances() -> None:
    hz = hazards({"kind": "lpg_tank", "substances": [], "geometry": shapely.Point(0, 0)})
    tg = targets({"geometry": shapely.Point(30, 0)})
    pairs, issues = evaluate(hz, tg, RULES, PROPS)
    assert pairs["status"].tolist() == ["cannot_check"] and "未填写储罐容积" in pairs["reason"].iloc[0]
    assert "未填写储罐容积" in issues["reason"].iloc[0]


def test_school_population_bounds_of_appendix_b() -> None:
    tg = classed(
        targets(
            {"category": "school", "population": 500, "geometry": shapely.Point(0, 0)},  # not "超过500人": 一类
            {"category": "school", "population": 501, "geometry": shapely.Point(0, 0)},
            {"category": "school", "population": None, "geometry": shapely.Point(0, 0)},
            {"category": None, "geometry": shapely.Point(0, 0)},
        )
    )
    assert tg["gb50156_class"].tolist()[:2] == ["civil_1", "important_public"]
    assert tg["gb50156_class"].iloc[2] is None and "未填写人数" in tg["gb50156_class_note"].iloc[2]
    assert "未填写防护目标类别" in tg["gb50156_class_note"].iloc[3]
