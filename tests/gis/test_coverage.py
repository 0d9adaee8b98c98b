"""Multi-source search, site times, paths and time matrices (gis.coverage) on a small network."""

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra
from shapely.geometry import LineString, Point

from safemap.gis.coverage import coverage_tables, multi_source, path_segments, service_areas, site_times, time_matrix
from safemap.gis.network import build_network, links_from_layers
from safemap.gis.routing import Router, Vehicle


@pytest.fixture(scope="module")
def grid():
    """A 6 × 6 street grid of 200 m blocks at 36 km/h (20 s a block), one narrow lane, one closed road."""
    x0, y0, step = 82.95, 46.18, 0.0026  # ≈ 200 m in longitude at 46°N
    rows = []
    k = 0
    for i in range(6):
        for j in range(5):
            k += 1
            rows.append((k, [(x0 + j * step, y0 + i * step * 0.69), (x0 + (j + 1) * step, y0 + i * step * 0.69)]))
            k += 1
            rows.append((k, [(x0 + i * step, y0 + j * step * 0.69), (x0 + i * step, y0 + (j + 1) * step * 0.69)]))
    roads = gpd.GeoDataFrame(
        {
            "id": [r[0] for r in rows],
            "name": [f"路{r[0]}" for r in rows],
            "road_class": "urban_branch",
            "speed_kmh": 36.0,
            "oneway": False,
            "width_m": 7.0,
            "max_height_m": np.nan,
            "max_weight_t": np.nan,
            "status": ["closed" if r[0] == 2 else "open" for r in rows],
        },
        geometry=[LineString(r[1]) for r in rows],
        crs="EPSG:4326",
    )
    lane = gpd.GeoDataFrame(
        {
            "id": [1],
            "name": ["窄车道"],
            "width_m": [2.2],
            "clear_height_m": [5.0],
            "max_weight_t": [30.0],
            "obstructed": [False],
        },
        geometry=[LineString([(x0 + 2 * step, y0 + 2 * step * 0.69), (x0 + 2.5 * step, y0 + 2.5 * step * 0.69)])],
        crs="EPSG:4326",
    )
    net = build_network(links_from_layers(roads, lane))
    return net, Router(net), (x0, y0, step)


def lonlat(grid, i, j):
    x0, y0, step = grid[2]
    return [x0 + j * step, y0 + i * step * 0.69]


def test_one_search_gives_each_site_its_nearest_station(grid):
    net, router, _ = grid
    cost = router.segment_cost(Vehicle("fire_engine", "水罐消防车", width_m=2.5, height_m=3.4))
    stations = router.snap(np.array([lonlat(grid, 0, 0), lonlat(grid, 5, 5), lonlat(grid, 0, 2.5)]))
    sites = router.snap(np.array([lonlat(grid, 1, 0.5), lonlat(grid, 4, 4.5), lonlat(grid, 0.4, 3)]))
    ms = multi_source(net, cost, stations)
    t, fac, via = site_times(net, ms, sites)
    assert list(fac) == [0, 1, 2]
    # Against one Dijkstra per station on the plain directed graph.
    for k, snap in enumerate(sites):
        best = min(router.cost_to(router.search(s, cost), snap)[0] for s in stations)
        assert t[k] == pytest.approx(best, abs=1e-9)
    m = time_matrix(net, cost, stations, sites)
    assert np.allclose(m.min(axis=1), t) and list(m.argmin(axis=1)) == [0, 1, 2]
    # A site on a station's own segment is reached straight along it.
    same = router.snap(np.array([lonlat(grid, 0, 2.7)]))
    t2, f2, v2 = site_times(net, ms, same)
    assert f2[0] == 2 and v2[0] == -1 and t2[0] == pytest.approx(0.2 * 20, rel=0.05)
    # The closed road (id 2) and the narrow lane (2.2 m for a 2.5 m engine) are never on a path.
    for k, snap in enumerate(sites):
        segs = path_segments(net, ms, snap, int(via[k]))
        assert segs[-1] == snap.seg and np.all(np.isfinite(cost[segs]))


def test_node_times_match_plain_dijkstra_and_the_limit_stops_the_search(grid):
    net, router, _ = grid
    cost = router.segment_cost(None)
    stations = router.snap(np.array([lonlat(grid, 0, 0)]))
    ms = multi_source(net, cost, stations, limit=60)
    w = cost[net.edge_seg]
    g = csr_matrix((w, (net.edge_tail, net.edge_head)), shape=(net.n_nodes, net.n_nodes))
    s = stations[0]
    start = net.seg_u[s.seg] if s.fraction < 0.5 else net.seg_v[s.seg]
    plain = dijkstra(g, indices=int(start))
    reached = np.isfinite(ms.dist)
    assert reached.sum() < net.n_nodes
    assert np.allclose(ms.dist[reached], plain[reached], atol=1e-6)
    assert np.all(ms.dist[reached] <= 60)


def test_service_areas_of_a_search_grow_with_the_threshold(grid):
    net, router, _ = grid
    cost = router.segment_cost(None)
    ms = multi_source(net, cost, router.snap(np.array([lonlat(grid, 2.5, 2.5)])))
    bands = service_areas(net, ms, [30, 60, 120], buffer_m=40)
    areas = [b.area.area for b in bands]
    assert areas[0] < areas[1] < areas[2]
    # The station sits mid-block: the 30 s area reaches along its street both ways.
    centre = Point(*net.to_xy(np.array([lonlat(grid, 2.5, 2.5)]))[0])
    assert bands[0].area.contains(centre)


def test_coverage_tables():
    sites = pd.DataFrame(
        {
            "layer": ["hazard_sources", "hazard_sources", "hazard_sources", "protected_targets", "protected_targets"],
            "township": ["甲", "甲", "乙", "乙", None],
            "population": [0, 0, 0, 300, 100],
            "grade": [1, np.nan, 1, np.nan, np.nan],
            "time_s": [200, 400, np.inf, 250, 900],
        }
    )
    t = coverage_tables(sites, 300)
    hz = t["by_layer"].loc["hazard_sources"]
    assert (hz["count"], hz["covered"]) == (3, 1)
    pt = t["by_layer"].loc["protected_targets"]
    assert pt["population_covered"] == 300 and pt["population_share"] == 0.75
    assert t["by_grade"].loc["一级", "covered"] == 1 and t["by_grade"].loc["未分级", "count"] == 1
    assert t["by_township"].loc[("（未注明乡镇）", "protected_targets"), "covered"] == 0
