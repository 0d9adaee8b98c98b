"""The contraction hierarchy gives Dijkstra's times (to its tick) and the same routes, on awkward networks."""

from __future__ import annotations

import time

import numpy as np
import pytest
from shapely.geometry import Polygon

from safemap.gis import routes
from safemap.gis.hierarchy import FINEST_TICK_S, Hierarchy
from safemap.gis.network import build_network, links_from_layers
from safemap.gis.routing import Restrictions, Router, Vehicle
from tests.gis.netfixtures import frame, ll, random_xy, road

ENGINE = Vehicle("fire_engine", "水罐消防车", 2.5, 3.4, 8.5, 18.0)
LADDER = Vehicle("aerial_ladder", "登高平台消防车", 2.55, 3.9, 12.0, 31.0)


def _town(seed: int = 4, side: int = 12, block: float = 250.0) -> list[dict]:
    """A ``side`` × ``side`` street grid with one-way streets, a low underpass, a weight limit and mixed speeds."""
    rng = np.random.default_rng(seed)
    jitter = rng.uniform(-30, 30, (side, side, 2))
    rows, fid = [], 1
    for i in range(side):
        for j in range(side):
            for di, dj in ((1, 0), (0, 1)):
                if i + di >= side or j + dj >= side:
                    continue
                if rng.random() < 0.08:  # a missing street now and then
                    continue
                a = (i * block + jitter[i, j, 0], j * block + jitter[i, j, 1])
                b = ((i + di) * block + jitter[i + di, j + dj, 0], (j + dj) * block + jitter[i + di, j + dj, 1])
                extra: dict = {"speed_kmh": float(rng.choice([20.0, 30.0, 40.0, 60.0]))}
                if rng.random() < 0.15:
                    extra["oneway"] = True
                if rng.random() < 0.05:
                    extra["max_height_m"] = 3.6
                if rng.random() < 0.05:
                    extra["max_weight_t"] = 20.0
                rows.append(road(fid, [a, b], **extra))
                fid += 1
    return rows


def _pair(rows: list[dict]) -> tuple[Router, Router]:
    plain = Router(build_network(links_from_layers(frame(rows))))
    fast = Router(build_network(links_from_layers(frame(rows))))
    fast.hierarchy = Hierarchy(fast.net, background=False)
    return plain, fast


def _close(a: list[routes.Leg], b: list[routes.Leg], tick: float) -> None:
    ta, tb = np.array([x.duration_s for x in a]), np.array([x.duration_s for x in b])
    assert (np.isfinite(ta) == np.isfinite(tb)).all()
    both = np.isfinite(ta)
    # Half a tick per edge at most; a few hundred edges per trip here.
    assert np.abs(ta[both] - tb[both]).max(initial=0.0) <= 300 * tick
    assert np.abs(ta[both] - tb[both]).max(initial=0.0) <= 1e-6 * ta[both].max(initial=1.0)


@pytest.fixture(scope="module")
def town() -> tuple[Router, Router]:
    return _pair(_town())


@pytest.mark.parametrize("vehicle", [ENGINE, LADDER, None])
def test_many_to_one_and_one_to_many_equal_dijkstra(town: tuple[Router, Router], vehicle: Vehicle | None) -> None:
    plain, fast = town
    pts = [ll(x, y) for x, y in random_xy(60, seed=7, size=2750.0)]
    incident = ll(1400, 1300)
    assert fast.hierarchy is not None
    tick = fast.hierarchy.tick_s
    slow_in = routes.many_to_one(plain, pts, incident, vehicle)
    fast_in = routes.many_to_one(fast, pts, incident, vehicle)
    _close(slow_in, fast_in, tick)
    assert any(leg.search is None for leg in fast_in)  # the hierarchy answered, not Dijkstra
    _close(routes.one_to_many(plain, incident, pts, vehicle), routes.one_to_many(fast, incident, pts, vehicle), tick)
    # One-way streets make the two directions differ somewhere: the hierarchy keeps them apart.
    back = np.array([leg.duration_s for leg in fast_in])
    out = np.array([leg.duration_s for leg in routes.one_to_many(fast, incident, pts, vehicle)])
    both = np.isfinite(back) & np.isfinite(out)
    assert both.sum() > 40 and np.abs(back[both] - out[both]).max() > 1.0


def test_routes_from_the_shared_search_are_dijkstras(town: tuple[Router, Router]) -> None:
    plain, fast = town
    pts = [ll(x, y) for x, y in random_xy(40, seed=3, size=2750.0)]
    incident = ll(600, 2100)
    slow = routes.many_to_one(plain, pts, incident, ENGINE)
    quick = routes.many_to_one(fast, pts, incident, ENGINE)
    order = np.argsort([leg.duration_s for leg in quick])
    # The best five in any order, then the slowest (beyond the first shared search): the same routes.
    for k in [*order[:5][::-1], order[-1]]:
        if not quick[k].reachable:
            continue
        a, b = slow[k].route(), quick[k].route()
        assert b.duration_s == pytest.approx(a.duration_s, rel=1e-12)
        assert b.distance_m == pytest.approx(a.distance_m, rel=1e-9)
        assert b.duration_s == pytest.approx(quick[k].duration_s, abs=300 * fast.hierarchy.tick_s)  # type: ignore[union-attr]


def test_closures_and_avoid_areas_update_the_metric_in_place() -> None:
    plain, fast = _pair(_town(seed=9))
    pts = [ll(x, y) for x, y in random_xy(30, seed=5, size=2750.0)]
    incident = ll(1375, 1375)
    h = fast.hierarchy
    assert h is not None
    _close(routes.many_to_one(plain, pts, incident, ENGINE), routes.many_to_one(fast, pts, incident, ENGINE), h.tick_s)
    assert h.customizations == 1
    # Close a third of the streets through the centre: the next query sees it, without a new customization.
    near = np.hypot(*(plain.net.node_xy[plain.net.seg_u] - plain.net.node_xy[plain.net.seg_u].mean(0)).T) < 600
    closed = near & (np.arange(plain.net.n_segments) % 3 == 0)
    plain.set_closed(closed)
    fast.set_closed(closed)
    _close(routes.many_to_one(plain, pts, incident, ENGINE), routes.many_to_one(fast, pts, incident, ENGINE), h.tick_s)
    square = Polygon([ll(1000, 1000), ll(1200, 1000), ll(1200, 1200), ll(1000, 1200)])
    avoid = Restrictions(avoid=(square,))
    _close(
        routes.many_to_one(plain, pts, incident, ENGINE, avoid),
        routes.many_to_one(fast, pts, incident, ENGINE, avoid),
        h.tick_s,
    )
    assert h.customizations == 1 and h.partial_updates >= 2


def test_same_segment_junctions_and_unreachable_points() -> None:
    plain, fast = _pair(_ladder_rows())
    incident = ll(300, 0)
    pts = [ll(400, 0), ll(200, 0), ll(0, 0), ll(1000, 1000), ll(1000, 500), ll(5000, 5000)]
    for vehicle in (ENGINE, LADDER):
        a = routes.many_to_one(plain, pts, incident, vehicle)
        b = routes.many_to_one(fast, pts, incident, vehicle)
        assert [x.duration_s for x in b] == pytest.approx([x.duration_s for x in a], abs=10 * FINEST_TICK_S)
        assert all(x.search is None for x in b)  # all from the hierarchy
    # Same segment, 100 m apart at 10 m/s, either side; on the junction itself 30 s.
    got = routes.many_to_one(fast, pts, incident, LADDER)
    assert [g.duration_s for g in got[:3]] == pytest.approx([10.0, 10.0, 30.0], abs=1e-4)
    # Nothing usable within 50 m of the point beyond the county: no leg, and the reason says so.
    far = routes.many_to_one(fast, [ll(9000, 9000), ll(400, 0)], incident, LADDER, max_snap_m=50)
    assert not far[0].reachable and far[1].reachable
    with pytest.raises(routes.NoRoute):
        far[0].route()


def _ladder_rows() -> list[dict]:
    return [
        road(1, [(0, 1000), (2000, 1000)]),
        road(2, [(0, 0), (2000, 0)]),
        road(3, [(0, 0), (0, 1000)]),
        road(4, [(1000, 0), (1000, 1000)], name="渡槽下穿", max_height_m=3.6),
        road(5, [(2000, 0), (2000, 1000)]),
    ]


def test_background_customization_falls_back_to_dijkstra_until_ready() -> None:
    rows = _town(seed=2, side=8)
    plain = Router(build_network(links_from_layers(frame(rows))))
    fast = Router(build_network(links_from_layers(frame(rows))))
    h = Hierarchy(fast.net, background=True)
    fast.hierarchy = h
    pts = [ll(x, y) for x, y in random_xy(20, seed=1, size=1750.0)]
    first = routes.many_to_one(fast, pts, ll(900, 900), ENGINE)
    assert all(leg.search is not None for leg in first if leg.reachable)  # Dijkstra answered
    cost = fast.segment_cost(ENGINE)
    for _ in range(200):
        if h.ready(cost):
            break
        time.sleep(0.05)
    assert h.ready(cost)
    second = routes.many_to_one(fast, pts, ll(900, 900), ENGINE)
    assert all(leg.search is None for leg in second)
    _close(routes.many_to_one(plain, pts, ll(900, 900), ENGINE), second, h.tick_s)
