"""Network building: junction snapping, T-junctions, crossings at grade, one-way, speeds."""

from __future__ import annotations

import numpy as np
import pytest

from safemap.gis.network import build_network, links_from_layers, utm_crs_for
from tests.gis.netfixtures import frame, ladder, road


def test_utm_zone_from_data() -> None:
    assert utm_crs_for(82.9, 46.2) == "EPSG:32644"
    assert utm_crs_for(24.94, 60.17) == "EPSG:32635"
    assert utm_crs_for(-70.0, -33.0) == "EPSG:32719"


def test_ladder_t_junctions_split_both_streets() -> None:
    net = build_network(links_from_layers(ladder()))
    # 6 junctions; each street cut in two by the middle rung: 2 + 2 + 3 rungs = 7 segments, all two-way.
    assert (net.n_nodes, net.n_segments, net.n_edges) == (6, 7, 14)
    assert net.crs == "EPSG:32644"
    assert sorted(np.round(net.seg_len, 6)) == [1000.0] * 7
    # CSR: the edges leaving node n are indptr[n]:indptr[n+1] and all have tail n.
    for n in range(net.n_nodes):
        assert (net.edge_tail[net.indptr[n] : net.indptr[n + 1]] == n).all()


def test_end_snapping_within_tolerance_only() -> None:
    rows = [road(1, [(0, 0), (1000, 0)]), road(2, [(1000.4, 0.3), (1000.4, 800)])]
    assert build_network(links_from_layers(frame(rows)), snap_m=1.0).n_nodes == 3
    assert build_network(links_from_layers(frame(rows)), snap_m=0.1).n_nodes == 4


def test_crossing_split_unless_noded() -> None:
    cross = [road(1, [(0, 500), (1000, 500)]), road(2, [(500, 0), (500, 1000)])]
    net = build_network(links_from_layers(frame(cross)))
    assert (net.n_nodes, net.n_segments) == (5, 4)
    # Imported from OSM: a crossing without a shared node is a bridge, not a junction.
    osm = [dict(r, source="OpenStreetMap way 1 (ODbL)") for r in cross]
    net = build_network(links_from_layers(frame(osm)))
    assert (net.n_nodes, net.n_segments) == (4, 2)


def test_shared_interior_vertex_is_a_junction_even_for_osm() -> None:
    rows = [
        road(1, [(0, 500), (500, 500), (1000, 500)], source="OpenStreetMap way 1"),
        road(2, [(500, 0), (500, 500), (500, 1000)], source="OpenStreetMap way 2"),
    ]
    assert build_network(links_from_layers(frame(rows))).n_segments == 4


def test_oneway_and_speed_defaults() -> None:
    rows = [
        road(1, [(0, 0), (1000, 0)], oneway=True),
        road(2, [(1000, 0), (2000, 0)], speed_kmh=None, road_class="village"),
    ]
    net = build_network(links_from_layers(frame(rows)), speeds={"village": 20.0})
    assert net.n_edges == 3
    one = int(np.nonzero(net.seg_fid == 1)[0][0])
    fwd = net.edge_seg == one
    assert fwd.sum() == 1 and net.edge_fwd[fwd].all()
    assert net.seg_speed[net.seg_fid == 2][0] == 20.0


def test_fire_lanes_join_roads_and_obstruction_closes() -> None:
    import geopandas as gpd

    roads = frame([road(1, [(0, 0), (1000, 0)])])
    lanes = frame([road(7, [(500, 0), (500, 200)])]).rename(columns={"max_height_m": "clear_height_m"})
    lanes["obstructed"] = True
    lanes = gpd.GeoDataFrame(
        lanes[["id", "name", "width_m", "clear_height_m", "max_weight_t", "obstructed", "geometry"]]
    )
    net = build_network(links_from_layers(roads, lanes), speeds={"fire_lane": 15.0})
    assert (net.n_nodes, net.n_segments) == (4, 3)
    lane = net.seg_layer == 1
    assert net.seg_closed[lane].all() and net.seg_speed[lane][0] == 15.0


@pytest.mark.parametrize("snap", [0.0, 1.0])
def test_ring_road_becomes_two_segments(snap: float) -> None:
    rows = [road(1, [(0, 0), (100, 0), (100, 100), (0, 100), (0, 0)])]
    net = build_network(links_from_layers(frame(rows)), snap_m=snap)
    assert net.n_segments == 2 and abs(net.seg_len.sum() - 400) < 1e-6
