"""Prevailing wind of a 16-sector rose and the 建标152 upwind/crosswind test (gis/wind.py).

Check values:

- Sector centres: N = 0°, each next sector +22.5° clockwise (16 × 22.5° = 360°), so NW = 315°,
  E = 90° (the 16-point compass; Chinese names after the surface-observation convention).
- Bearings: on the WGS 84 ellipsoid a point due east along a parallel has an initial
  azimuth slightly under 90° (the geodesic bows towards the pole): at 46.2° N over 0.01° of
  longitude the departure is Δλ·sin φ / 2 ≈ 0.0036°, so 89.996°; due north is exactly 0°.
- Bands (convention stated in gis/wind.py, the same as gis/approach.wind_sector for dispatch):
  downwind δ ≤ 45°, upwind δ ≥ 135°, crosswind between, δ measured from the direction the
  wind blows towards.
"""

from __future__ import annotations

import math

import pytest
from pyproj import Geod

from safemap.gis import wind
from safemap.layers.wind_tables import WIND_SECTOR

SITE = (83.0, 46.2)
_GEOD = Geod(ellps="WGS84")


def _at(bearing: float, distance_m: float = 800.0, origin: tuple[float, float] = SITE) -> tuple[float, float]:
    lon, lat, _ = _GEOD.fwd(origin[0], origin[1], bearing, distance_m)
    return (lon, lat)


def test_sectors_match_the_catalogue_enum() -> None:
    codes = [m.code for m in WIND_SECTOR.members]
    assert codes == [*wind.SECTORS, wind.CALM]
    for m in WIND_SECTOR.members[:16]:
        assert m.label.startswith(wind.SECTOR_NAMES[m.code])
        assert f"{wind.sector_deg(m.code):g}°" in m.label


def test_sector_degrees_names_and_binning() -> None:
    assert wind.sector_deg("N") == 0 and wind.sector_deg("E") == 90 and wind.sector_deg("NW") == 315
    assert wind.sector_deg("NNW") == 337.5
    assert wind.wind_name("NW") == "西北风" and wind.wind_name("NNE") == "北东北风"
    # Sectors span ±11.25°: the boundary goes to the next sector clockwise.
    assert wind.sector_of(11.2499) == "N" and wind.sector_of(11.25) == "NNE"
    assert wind.sector_of(348.75) == "N" and wind.sector_of(348.7499) == "NNW" and wind.sector_of(-10) == "N"
    assert wind.sector_of(315) == "NW" and wind.sector_of(720 + 90) == "E"


def test_prevailing_sector_and_sum_check() -> None:
    rose = wind.WindRose({"NW": 18.0, "WNW": 12.0, "E": 9.0, "N": 6.0}, calm_pct=55.0)
    p = wind.prevailing(rose)
    assert p is not None and p.sector == "NW" and p.from_deg == 315 and p.name == "西北风"
    assert p.label() == "西北风（315°）" and not p.tied and p.frequency_pct == 18.0
    assert rose.total_pct() == pytest.approx(100.0) and rose.warnings() == []
    off = wind.WindRose({"NW": 18.0}, calm_pct=10.0)
    assert any("合计 28.0%" in w for w in off.warnings())
    assert wind.WindRose({"NW": 50.0}, calm_pct=50.9).warnings() == []  # within ±1 %
    assert any("未知的风向方位" in w for w in wind.WindRose({"XX": 50.0}, calm_pct=50).warnings())


@pytest.mark.parametrize(
    "rose",
    [None, wind.WindRose({}, 0.0), wind.WindRose({}, 100.0), wind.WindRose({s: 0.0 for s in wind.SECTORS}, 100.0)],
)
def test_empty_or_all_calm_rose_has_no_prevailing_wind(rose: wind.WindRose | None) -> None:
    assert wind.prevailing(rose) is None
    rec = wind.siting_check(wind.prevailing(rose), site_lonlat=SITE, station_lonlat=_at(90), distance_m=800)
    assert rec["status"] == "cannot_check" and "静风" in rec["reason"]
    assert rec["rule"] == wind.RULE and rec["standard"] == "建标152-2017" and rec["clause"].startswith("第十五条")


def test_tied_sectors_are_all_returned_and_the_worst_decides() -> None:
    p = wind.prevailing(wind.WindRose({"W": 15.0, "E": 15.0, "N": 10.0}, 60.0))
    assert p is not None and p.sectors == ("E", "W") and p.tied and p.sector == "E" and p.from_deg == 90
    assert p.name == "东风、西风" and p.label() == "东风（90°）、西风（270°）"
    # A station due north of the site is crosswind to both: pass.
    north = wind.siting_check(p, site_lonlat=SITE, station_lonlat=_at(0), distance_m=800)
    assert north["status"] == "pass" and north["relation"] == "crosswind" and "并列" in north["reason"]
    # Due east: upwind of the east wind but downwind of the west wind: the worst (downwind) decides.
    east = wind.siting_check(p, site_lonlat=SITE, station_lonlat=_at(90), distance_m=800)
    assert east["status"] == "fail" and east["relation"] == "downwind"
    assert east["angle_to_downwind_deg"] == pytest.approx(0.0, abs=0.01)


def test_geodesic_bearing() -> None:
    assert wind.bearing_deg(SITE, (83.0, 46.21)) == pytest.approx(0.0, abs=1e-9)
    # Due east along the parallel: the geodesic leaves at 90° − Δλ·sinφ/2.
    expected = 90.0 - 0.01 * math.sin(math.radians(46.2)) / 2
    assert wind.bearing_deg(SITE, (83.01, 46.2)) == pytest.approx(expected, abs=1e-4)
    assert wind.bearing_deg(SITE, _at(225.0)) == pytest.approx(225.0, abs=1e-6)


@pytest.mark.parametrize(
    ("bearing", "relation"),
    [
        (135.0, "downwind"),  # NW wind blows towards 135°
        (90.0, "downwind"),  # δ = 45°: the boundary belongs to downwind (conservative)
        (180.0, "downwind"),
        (89.9, "crosswind"),
        (180.1, "crosswind"),
        (45.0, "crosswind"),  # δ = 90°
        (0.1, "crosswind"),  # δ = 134.9°
        (0.0, "upwind"),  # δ = 135°: the boundary belongs to upwind
        (315.0, "upwind"),
        (270.0, "upwind"),
    ],
)
def test_bands_for_a_north_west_wind(bearing: float, relation: str) -> None:
    assert wind.relation(bearing, 315.0) == relation


def test_siting_check_records() -> None:
    nw = wind.prevailing(wind.WindRose({"NW": 20.0, "W": 10.0}, 70.0))
    down = wind.siting_check(nw, site_lonlat=SITE, station_lonlat=_at(135.0), distance_m=800, target_id=7)
    assert down["status"] == "fail" and down["relation_label"] == "下风" and down["target_id"] == 7
    assert down["bearing_deg"] == pytest.approx(135.0, abs=0.01) and down["distance_m"] == 800
    assert "西北风（315°）" in down["reason"] and "不符合" in down["reason"]
    up = wind.siting_check(nw, site_lonlat=SITE, station_lonlat=_at(315.0), distance_m=800)
    assert up["status"] == "pass" and up["relation"] == "upwind" and "上风" in up["reason"]
    side = wind.siting_check(nw, site_lonlat=SITE, station_lonlat=_at(225.0), distance_m=800)
    assert side["status"] == "pass" and side["relation"] == "crosswind"
    assert side["angle_to_downwind_deg"] == pytest.approx(90.0, abs=0.01)
    # On the band boundary (45° from downwind), geodesically placed: downwind, fails.
    edge = wind.siting_check(nw, site_lonlat=SITE, station_lonlat=_at(90.0), distance_m=800)
    assert edge["status"] == "fail" and edge["angle_to_downwind_deg"] == pytest.approx(45.0, abs=1e-6)
    assert "45°" in edge["convention"]


def test_station_at_the_site_or_missing_inputs() -> None:
    nw = wind.prevailing(wind.WindRose({"NW": 20.0}, 80.0))
    same = wind.siting_check(nw, site_lonlat=SITE, station_lonlat=SITE, distance_m=0.0)
    assert same["status"] == "fail" and same["distance_m"] == 0 and same["bearing_deg"] is None
    assert "0 m" in same["reason"]
    for missing in (
        {"site_lonlat": None, "station_lonlat": SITE, "distance_m": 10.0},
        {"site_lonlat": SITE, "station_lonlat": None, "distance_m": 10.0},
        {"site_lonlat": SITE, "station_lonlat": SITE, "distance_m": None},
        {"site_lonlat": SITE, "station_lonlat": SITE, "distance_m": math.nan},
    ):
        rec = wind.siting_check(nw, **missing)  # type: ignore[arg-type]
        assert rec["status"] == "cannot_check" and "缺少" in rec["reason"]
