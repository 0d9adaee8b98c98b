"""Hazard-aware approach (gis.approach): round the zone, enter it upwind, never count the penalty.

All on :func:`tests.gis.netfixtures.ringed_cross`: the incident at the centre O, a zone of
700 m radius round it (all eight spoke pieces touch it, the ring does not), every road
driven at 10 m/s. The four zone entries N2, E2, S2, W2 are 1500 m (150 s) from O.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from shapely.geometry import Point

from safemap.gis.approach import UPWIND_PENALTY_S, Approach, approach, wind_sector
from safemap.gis.network import build_network, links_from_layers
from safemap.gis.routing import Router, Snap, Vehicle
from tests.gis.netfixtures import ll, ringed_cross, road

ENGINE = Vehicle("fire_engine", "水罐消防车", 2.5, 3.4, 8.5, 18.0)
SPOKES = set(range(1, 9))
NORTH_SPOKE = {1, 2}


@pytest.fixture(scope="module")
def router() -> Router:
    island = road(99, [(5000, 5000), (6000, 5000)], name="孤立路")
    return Router(build_network(links_from_layers(ringed_cross(island))))


def _snap(router: Router, x: float, y: float) -> Snap:
    snap = router.snap(np.array([ll(x, y)]))[0]
    assert snap is not None
    return snap


def _plan(
    router: Router, wind: float | None = None, penalty: float = UPWIND_PENALTY_S, radius: float = 700.0
) -> Approach:
    anchor = _snap(router, 0, 0)
    zone = Point(anchor.xy).buffer(radius)
    return approach(router, anchor, router.segment_cost(ENGINE), zone, wind_from_deg=wind, upwind_penalty_s=penalty)


def _fids(router: Router, route_pieces: list[tuple[int, float, float]]) -> list[int]:
    out: list[int] = []
    for s, f0, f1 in route_pieces:
        fid = int(router.net.seg_fid[s])
        if f0 != f1 and (not out or out[-1] != fid):
            out.append(fid)
    return out


def _angle(a: object, b: float) -> float:
    assert isinstance(a, float)
    return abs((a - b + 180.0) % 360.0 - 180.0)


def test_the_segments_touching_the_zone_are_inside(router: Router) -> None:
    plan = _plan(router)
    inside = {int(router.net.seg_fid[s]) for s in np.nonzero(plan.inside_seg)[0]}
    assert inside == SPOKES
    # A smaller zone (300 m) touches only the inner spoke pieces; the anchor's own segment always counts.
    small = _plan(router, radius=300.0)
    assert {int(router.net.seg_fid[s]) for s in np.nonzero(small.inside_seg)[0]} == {1, 3, 5, 7}


def test_without_wind_the_fastest_entry(router: Router) -> None:
    plan = _plan(router)
    corner = _snap(router, 1500, 1500)
    # Ring to N2 or E2 (1500 m) and in along the spoke (1500 m): 300 s either way.
    assert plan.cost(corner) == pytest.approx(300.0, abs=1e-6)
    found = plan.route(corner)
    assert found.duration_s == pytest.approx(300.0, abs=1e-6)
    assert found.distance_m == pytest.approx(3000.0, abs=1e-3)
    info = plan.describe(found)
    assert info["sector"] is None and info["inside_m"] == 1500.0
    assert min(_angle(info["entry_bearing_deg"], b) for b in (0.0, 90.0)) < 0.1
    # Straight down the spur: S3 → S2 (1000 m) → O (1500 m).
    spur = _snap(router, 0, -2500)
    assert plan.cost(spur) == pytest.approx(250.0, abs=1e-6)
    assert _fids(router, plan.route(spur).pieces) == [17, 6, 5]


def test_the_upwind_entry_is_taken_and_the_penalty_is_not_reported(router: Router) -> None:
    corner = _snap(router, 1500, 1500)
    for wind, entry, spoke in ((0.0, 0.0, [2, 1]), (90.0, 90.0, [4, 3])):
        plan = _plan(router, wind=wind)
        found = plan.route(corner)
        assert plan.cost(corner) == pytest.approx(300.0, abs=1e-6)  # the upwind entry costs no penalty
        assert found.duration_s == pytest.approx(300.0, abs=1e-6)
        assert _fids(router, found.pieces)[-2:] == spoke
        info = plan.describe(found)
        assert info["sector"] == "上风向" and info["inside_m"] == 1500.0
        assert _angle(info["entry_bearing_deg"], entry) < 0.1
    # Wind from the south (180°): N2 pays 300 s, E2 half of it (150 s), S2 none but is 4500 m round the ring.
    # Best: E2 at 300 + 150 = 450 penalised seconds; the route reports the 300 s it takes.
    plan = _plan(router, wind=180.0)
    assert plan.cost(corner) == pytest.approx(450.0, abs=1e-6)
    found = plan.route(corner)
    assert found.duration_s == pytest.approx(300.0, abs=1e-6)
    info = plan.describe(found)
    assert info["sector"] == "侧风向" and _angle(info["entry_bearing_deg"], 90.0) < 0.1


def test_the_penalty_grows_with_the_angle_from_the_wind(router: Router) -> None:
    # Wind from 45°: N2 and E2 are both 45° off, each charged 300 · (1 − cos 45°) / 2 = 75 (2 − √2) s.
    plan = _plan(router, wind=45.0)
    assert plan.cost(_snap(router, 1500, 1500)) == pytest.approx(300.0 + 75.0 * (2.0 - math.sqrt(2.0)), abs=1e-6)
    # Without a penalty the wind changes nothing but the sector named.
    plan = _plan(router, wind=180.0, penalty=0.0)
    assert plan.cost(_snap(router, 1500, 1500)) == pytest.approx(300.0, abs=1e-6)


def test_a_faster_downwind_entry_wins_unless_the_penalty_is_larger(router: Router) -> None:
    spur = _snap(router, 0, -2500)
    # Wind from the north: straight in from the south is 250 s + 300 s penalty = 550;
    # round to E2/W2 is 100 + 300 + 150 = 550 s + 150 = 700; round to N2 is 100 + 600 + 150 = 850.
    plan = _plan(router, wind=0.0)
    assert plan.cost(spur) == pytest.approx(550.0, abs=1e-6)
    found = plan.route(spur)
    assert found.duration_s == pytest.approx(250.0, abs=1e-6)
    assert plan.describe(found)["sector"] == "下风向"
    # With a 1000 s penalty: south 1250, east/west 550 + 500 = 1050, north 850 → round the ring to N2.
    plan = _plan(router, wind=0.0, penalty=1000.0)
    assert plan.cost(spur) == pytest.approx(850.0, abs=1e-6)
    found = plan.route(spur)
    assert found.duration_s == pytest.approx(850.0, abs=1e-6)
    assert found.distance_m == pytest.approx(8500.0, abs=1e-3)
    fids = _fids(router, found.pieces)
    # Only the north spoke is driven inside the zone, last; the spur and the ring outside it.
    assert fids[0] == 17 and fids[-2:] == [2, 1] and not set(fids[:-2]) & SPOKES
    info = plan.describe(found)
    assert info["sector"] == "上风向" and info["inside_m"] == 1500.0
    assert _angle(info["entry_bearing_deg"], 0.0) < 0.1


def test_a_team_already_inside_the_zone_drives_straight_in(router: Router) -> None:
    plan = _plan(router, wind=180.0, penalty=1000.0)
    inside = _snap(router, 0, 1000)  # on the north spoke's outer piece, 1000 m from O
    assert plan.cost(inside) == pytest.approx(100.0, abs=1e-6)
    found = plan.route(inside)
    assert found.duration_s == pytest.approx(100.0, abs=1e-6)
    assert _fids(router, found.pieces) == [2, 1]
    # It does not enter at a zone edge: no entry bearing, no sector.
    assert plan.describe(found) == {"entry_bearing_deg": None, "sector": None, "inside_m": 1000.0}


def test_an_unconnected_team_and_no_snap_cost_infinity(router: Router) -> None:
    plan = _plan(router, wind=0.0)
    assert math.isinf(plan.cost(_snap(router, 5500, 5000)))
    assert math.isinf(plan.cost(None))


@pytest.mark.parametrize(
    ("bearing", "wind", "sector"),
    [
        (0.0, 0.0, "上风向"),
        (45.0, 0.0, "上风向"),  # the sector's edge belongs to it
        (46.0, 0.0, "侧风向"),
        (90.0, 0.0, "侧风向"),
        (134.0, 0.0, "侧风向"),
        (135.0, 0.0, "下风向"),
        (180.0, 0.0, "下风向"),
        (350.0, 10.0, "上风向"),  # 20° apart across north
        (10.0, 350.0, "上风向"),
        (190.0, 10.0, "下风向"),
        (280.0, 10.0, "侧风向"),  # 90° apart
    ],
)
def test_wind_sector(bearing: float, wind: float, sector: str) -> None:
    assert wind_sector(bearing, wind) == sector
