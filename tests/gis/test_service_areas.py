"""Service-area polygons from node times, partly reached segments included (routing-and-coverage.md §4)."""

import itertools

import numpy as np
import pytest
import shapely
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra
from shapely.geometry import Point

from safemap.gis.service_areas import sample_segments, service_area_bands

INF = np.inf


def net(lines):
    """Segments (u, v, offsets, coords) from lists of vertices whose ends are node ids' coordinates."""
    nodes, u, v, coords, offs = {}, [], [], [], [0]
    for line in lines:
        a = nodes.setdefault(tuple(line[0]), len(nodes))
        b = nodes.setdefault(tuple(line[-1]), len(nodes))
        u.append(a)
        v.append(b)
        coords.extend(line)
        offs.append(len(coords))
    xy = np.array(sorted(nodes, key=nodes.get), float)
    return xy, np.array(u), np.array(v), np.array(offs), np.array(coords, float)


def test_a_partly_reached_segment_counts_up_to_where_the_time_runs_out():
    # One straight 1000 m segment at 10 m/s from node 0: 50 s reach 500 m of it.
    _, u, v, offs, coords = net([[(0, 0), (1000, 0)]])
    bands = service_area_bands(
        np.array([0.0, INF]),
        u,
        v,
        offs,
        coords,
        np.array([100.0]),
        np.array([100.0]),
        [50, 200],
        buffer_m=50,
        cell_m=10,
    )
    first, second = bands
    assert first.threshold_s == 50 and second.threshold_s == 200
    # 500 m + 50 m buffer, to within a cell; a node-only reach would stop at 50 m.
    assert first.area.bounds[2] == pytest.approx(550, abs=12)
    assert first.area.bounds[0] == pytest.approx(-50, abs=12)
    assert not first.area.contains(Point(700, 0)) and second.area.contains(Point(700, 0))
    assert second.area.bounds[2] == pytest.approx(1050, abs=12)
    # Bands are rings: the second holds what the first does not.
    assert second.band.intersection(first.band).area < 1.0
    assert second.band.union(first.band).area == pytest.approx(second.area.area, rel=1e-6)


def test_entering_from_both_ends_and_one_way_segments():
    # Both ends reached (0 s and 30 s), 1000 m at 10 m/s: the middle is reached at 65 s.
    _, u, v, offs, coords = net([[(0, 0), (1000, 0)]])
    t = np.array([0.0, 30.0])
    (band,) = service_area_bands(
        t, u, v, offs, coords, np.array([100.0]), np.array([100.0]), [60], buffer_m=20, cell_m=5
    )
    # From node 0: 600 m; from node 1: 300 m back. The gap between 600 and 700 m stays unreached.
    assert band.area.contains(Point(580, 0)) and band.area.contains(Point(720, 0))
    assert not band.area.contains(Point(650, 0))
    # The same segment one-way (0 → 1): node 1 cannot drive back along it.
    (band,) = service_area_bands(t, u, v, offs, coords, np.array([100.0]), np.array([INF]), [60], buffer_m=20, cell_m=5)
    assert band.area.contains(Point(580, 0)) and not band.area.contains(Point(900, 0))


def test_not_a_convex_hull_the_inside_of_a_u_stays_out():
    # A U of three 2 km roads: everything reached, but the 2 km x 2 km inside is not a road.
    _, u, v, offs, coords = net([[(0, 2000), (0, 0)], [(0, 0), (2000, 0)], [(2000, 0), (2000, 2000)]])
    g = csr_matrix((np.full(3, 100.0), (u, v)), shape=(4, 4))
    t = dijkstra(g, directed=False, indices=[1])[0]
    (band,) = service_area_bands(t, u, v, offs, coords, np.full(3, 100.0), np.full(3, 100.0), [600], buffer_m=100)
    assert band.area.contains(Point(0, 1500)) and band.area.contains(Point(2000, 1500))
    assert not band.area.contains(Point(1000, 1000))
    hull = shapely.MultiPoint(coords).convex_hull
    assert band.area.area < 0.45 * hull.area  # three 200 m wide strips, not the 4 km² hull


def test_street_blocks_between_reached_streets_are_filled_not_large_fields():
    ring = [[(0, 0), (200, 0)], [(200, 0), (200, 200)], [(200, 200), (0, 200)], [(0, 200), (0, 0)]]
    _, u, v, offs, coords = net(ring)
    t = np.zeros(4)
    cost = np.full(4, 10.0)
    (band,) = service_area_bands(t, u, v, offs, coords, cost, cost, [60], buffer_m=40, cell_m=10, infill_m2=100_000)
    assert band.area.contains(Point(100, 100))
    (band,) = service_area_bands(t, u, v, offs, coords, cost, cost, [60], buffer_m=40, cell_m=10, infill_m2=1_000)
    assert not band.area.contains(Point(100, 100))


def test_grid_network_bands_agree_with_node_times():
    n, step = 21, 100.0
    ii, jj = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    ids = ii * n + jj
    xy = np.column_stack([jj.ravel() * step, ii.ravel() * step])
    u = np.concatenate([ids[:, :-1].ravel(), ids[:-1, :].ravel()])
    v = np.concatenate([ids[:, 1:].ravel(), ids[1:, :].ravel()])
    coords = np.empty((2 * len(u), 2))
    coords[0::2], coords[1::2] = xy[u], xy[v]
    offs = np.arange(0, 2 * len(u) + 1, 2)
    cost = np.full(len(u), 10.0)  # 100 m in 10 s
    g = csr_matrix((cost, (u, v)), shape=(n * n, n * n))
    sources = [ids[0, 0], ids[20, 20]]
    t = dijkstra(g, directed=False, indices=sources, min_only=True, limit=200)
    bands = service_area_bands(t, u, v, offs, coords, cost, cost, [60, 120, 180], buffer_m=40, cell_m=10)
    areas = [b.area for b in bands]
    for small, big in itertools.pairwise(areas):
        assert big.buffer(1.0).contains(small)
    pts = shapely.points(xy)
    inside = shapely.contains(areas[0].buffer(1.0), pts)
    assert np.all(inside[t <= 60])
    assert not np.any(inside[t >= 100])
    assert not areas[2].contains(Point(1000, 1000))  # the centre is 200 s from both corners


def test_nothing_reached_and_bad_thresholds():
    _, u, v, offs, coords = net([[(0, 0), (1000, 0)]])
    (band,) = service_area_bands(np.array([INF, INF]), u, v, offs, coords, np.ones(1), np.ones(1), [300])
    assert band.area.is_empty and band.band.is_empty
    with pytest.raises(ValueError):
        service_area_bands(np.zeros(2), u, v, offs, coords, np.ones(1), np.ones(1), [0, 300])


def test_samples_follow_bent_segments():
    seg, frac, xy = sample_segments(np.array([0, 3, 5]), np.array([[0, 0], [10, 0], [10, 30], [0, 0], [0, 7.0]]), 5)
    assert set(seg) == {0, 1}
    first = xy[seg == 0]
    assert first[0].tolist() == [0, 0] and first[-1].tolist() == [10, 30]
    assert frac[seg == 0][-1] == 1.0
    assert np.all(np.diff(frac[seg == 0]) >= 0)
    assert frac[(seg == 0) & (xy[:, 0] == 10) & (xy[:, 1] == 0)][0] == pytest.approx(0.25)


def test_a_straight_road_gives_a_stadium_of_the_reached_length_within_a_cell():
    # 1000 m at 10 m/s from node 0, 50 s: 500 m reached, 50 m either side -> a 500 m stadium.
    _, u, v, offs, coords = net([[(0, 0), (1000, 0)]])
    cell = 5.0
    (band,) = service_area_bands(
        np.array([0.0, INF]), u, v, offs, coords, np.array([100.0]), np.array([100.0]), [50], buffer_m=50, cell_m=cell
    )

    def stadium(length, r):
        return 2 * r * length + np.pi * r * r

    assert stadium(500 - cell, 50 - cell) < band.area.area < stadium(500 + cell, 50 + cell)
    assert band.area.is_valid and len(shapely.get_parts(band.area)) == 1


def test_one_segment_crossing_several_thresholds_is_split_where_each_runs_out():
    # 1000 m at 10 m/s: 10 s per 100 m; thresholds every 20 s cut the road every 200 m.
    _, u, v, offs, coords = net([[(0, 0), (1000, 0)]])
    bands = service_area_bands(
        np.array([0.0, INF]),
        u,
        v,
        offs,
        coords,
        np.array([100.0]),
        np.array([INF]),
        [20, 40, 60, 80],
        buffer_m=20,
        cell_m=5,
    )
    for k, b in enumerate(bands):
        assert b.band.contains(Point(200 * k + 100, 0)), k
        assert not b.band.contains(Point(200 * k + 300, 0)), k
    assert not bands[-1].area.contains(Point(900, 0))


def test_a_source_inside_a_segment_reaches_both_ways():
    # A station at 30 % of a 1000 m two-way road (100 s); a search limited to 20 s reaches
    # neither end (30 s and 70 s away), yet 200 m either way of the station are reached.
    _, u, v, offs, coords = net([[(0, 0), (1000, 0)]])
    for ends in ([INF, INF], [30.0, 70.0]):
        (band,) = service_area_bands(
            np.array(ends),
            u,
            v,
            offs,
            coords,
            np.array([100.0]),
            np.array([100.0]),
            [20],
            buffer_m=20,
            cell_m=5,
            sources=[(0, 0.3)],
        )
        assert band.area.contains(Point(150, 0)) and band.area.contains(Point(450, 0))
        assert not band.area.contains(Point(50, 0)) and not band.area.contains(Point(560, 0))


def test_the_disk_minimum_is_scipys_disk_filter():
    from scipy import ndimage

    from safemap.gis.service_areas import _min_disk

    rng = np.random.default_rng(1)
    for r in (1, 2, 3, 5, 8):
        g = rng.integers(0, 4, (57, 83)).astype(np.uint8)
        g[rng.random(g.shape) < 0.9] = 4
        yy, xx = np.mgrid[-r : r + 1, -r : r + 1]
        disk = xx**2 + yy**2 <= r * r + r
        expected = ndimage.minimum_filter(g, footprint=disk, mode="constant", cval=255)
        assert np.array_equal(_min_disk(g, r), expected)
