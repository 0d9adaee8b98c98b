"""Separation rules (data/standards/separation_rules.csv) matched and measured on real geometries."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from safemap.gis.consequence_vce import kb_scaled_distance
from safemap.gis.separation import applicable_rules, audit, hazard_profiles
from safemap.gis.site_check import SITE_KINDS, proposed_frame, proposed_properties, site_checks
from tests.gis.standards import substance_properties, table

RULES = table("separation_rules")
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
    assert props["gb50156_class"] == "important_public" and props["gb36894_class"] == "high_sensitive"
    site = proposed_frame(kind, shapely.Point(55, 5), props, CRS, "新学校")
    checks, _ = site_checks(kind, site, hz, targets(), RULES, PROPS, vicinity_m=100)
    assert checks["passed"].tolist() == [True]
    assert checks["actual_m"].tolist() == [45.0] and checks["required_m"].tolist() == [40]
    far = proposed_frame(kind, shapely.Point(200, 5), props, CRS, "新学校")
    assert len(site_checks(kind, far, hz, targets(), RULES, PROPS, vicinity_m=100)[0]) == 0
    site = proposed_frame(kind, shapely.Point(30, 5), props, CRS, "新学校")
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
    assert {"铁路", "室外变配电站"} <= set(unchecked["target_label"])
    assert np.all(unchecked["required_m"] > 0)
