"""Hydrant cover (150 m) and spacing along roads (120 m), GB 50974-2014 §7.2.5."""

import csv

import geopandas as gpd
import pytest
from shapely.geometry import LineString, Point, box

from safemap.gis.fire_access import RuleBook, hydrant_findings, spacing_findings, status_findings
from safemap.gis.hydrants import hydrant_cover, hydrant_spacing
from safemap.layers.paths import DATA_DIR

CRS = "EPSG:32644"
X0, Y0 = 650_000.0, 5_118_000.0


@pytest.fixture(scope="module")
def rules() -> RuleBook:
    with open(DATA_DIR / "standards" / "fire_access_rules.csv", encoding="utf-8") as f:
        return RuleBook.from_rows(csv.DictReader(f))


def test_140_m_from_a_hydrant_passes_160_m_fails(rules):
    hydrants = gpd.GeoDataFrame({"status": ["ok"]}, geometry=[Point(X0, Y0)], crs=CRS, index=[5])
    sites = gpd.GeoDataFrame(
        {"name": ["近", "远", "楼"]},
        geometry=[Point(X0 + 140, Y0), Point(X0, Y0 + 160), box(X0 + 100, Y0 - 20, X0 + 200, Y0 + 20)],
        crs=CRS,
        index=[1, 2, 3],
    )
    cover = hydrant_cover(sites, hydrants, 150, 1000)
    assert cover.loc[1, "distance_m"] == pytest.approx(140) and cover.loc[1, "covered"]
    assert cover.loc[2, "distance_m"] == pytest.approx(160) and not cover.loc[2, "covered"]
    # A building is measured to its nearest wall, not its centre (150 m away).
    assert cover.loc[3, "distance_m"] == pytest.approx(100) and cover.loc[3, "covered"]
    (f,) = hydrant_findings(cover, sites, rules, "protected_targets")
    assert (f.feature_id, f.rule, round(f.measured), f.required, f.comparison) == (2, "hydrant_cover", 160, 150, "≤")
    assert "7.2.5" in f.clause and f.extra["hydrant_id"] == 5


def test_broken_hydrants_do_not_count_and_far_sites_are_outside_the_network(rules):
    hydrants = gpd.GeoDataFrame(
        {"status": ["damaged", "ok"], "name": ["坏栓", "好栓"]},
        geometry=[Point(X0, Y0), Point(X0 + 400, Y0)],
        crs=CRS,
        index=[1, 2],
    )
    sites = gpd.GeoDataFrame({"name": ["A", "B"]}, geometry=[Point(X0 + 10, Y0), Point(X0 + 5000, Y0)], crs=CRS)
    cover = hydrant_cover(sites, hydrants, 150, 1000)
    assert cover.iloc[0]["hydrant_id"] == 2 and cover.iloc[0]["distance_m"] == pytest.approx(390)
    assert cover.iloc[0]["in_zone"] and not cover.iloc[0]["covered"]
    assert not cover.iloc[1]["in_zone"]  # 4.6 km away: not judged under §7.2.5
    assert len(hydrant_findings(cover, sites, rules, "enterprises")) == 1
    (f,) = status_findings(hydrants, rules)
    assert f.feature_id == 1 and "损坏" in f.message


def test_spacing_along_a_street_made_of_several_segments(rules):
    # One street of three segments (as the network splits it at junctions), and a cross street.
    roads = gpd.GeoDataFrame(
        {"name": ["团结路", "团结路", "团结路", "文化路"]},
        geometry=[
            LineString([(X0, Y0), (X0 + 300, Y0)]),
            LineString([(X0 + 300, Y0), (X0 + 300, Y0 + 200)]),
            LineString([(X0 + 300, Y0 + 200), (X0 + 600, Y0 + 200)]),
            LineString([(X0 + 150, Y0 - 300), (X0 + 150, Y0 + 300)]),
        ],
        crs=CRS,
        index=[21, 22, 23, 24],
    )
    # Along 团结路 at 10, 120, 230 (110 m apart: fine), then 350 (round the corner: 120 m, fine),
    # then 520 (170 m: a gap), then 600; a hydrant 3 m off the cross street belongs to it.
    along = [10, 120, 230, 350, 520, 600]
    line = LineString([(X0, Y0), (X0 + 300, Y0), (X0 + 300, Y0 + 200), (X0 + 600, Y0 + 200)])
    pts = [line.interpolate(d) for d in along]
    # 2 m off the centreline, square to it (the vertical leg runs from 300 to 500 m along).
    pts = [Point(p.x + 2, p.y) if 300 < d < 500 else Point(p.x, p.y + 2) for p, d in zip(pts, along, strict=True)]
    pts.append(Point(X0 + 153, Y0 + 250))
    hydrants = gpd.GeoDataFrame({"status": ["ok"] * 7}, geometry=pts, crs=CRS, index=range(1, 8))
    gaps = hydrant_spacing(hydrants, roads, 120)
    assert len(gaps) == 1
    (g,) = gaps
    assert g.street == "团结路" and (g.from_id, g.to_id) == (4, 5)
    assert g.gap_m == pytest.approx(170, abs=3)
    assert g.road_ids == (22, 23)  # the stretch turns the corner
    assert g.geometry.length == pytest.approx(g.gap_m)
    (f,) = spacing_findings(gaps, rules)
    assert (f.rule, f.required, f.layer) == ("hydrant_spacing", 120, "roads") and "7.2.5" in f.clause
    # A damaged hydrant in the middle opens a gap of 220 m.
    hydrants.loc[2, "status"] = "damaged"
    gaps = hydrant_spacing(hydrants, roads, 120)
    assert sorted(round(g.gap_m) for g in gaps) == [170, 220]
