"""Tailings dam breach on synthetic terrain with answers computed by hand (:mod:`safemap.gis.dam_breach`).

The valley: 100 m cells, 40 columns × 80 rows, the thalweg in column 20 falling 2 % per metre
southwards (2 m per cell), the sides rising 8 % (8 m per cell) across the valley.

Run-out for the valley test (Concha Larrauri & Lall 2018, Environments 5(2):28), by hand:
V_T = 1.0 × 10⁶ m³, H = 10 m → V_F = 0.332 × 1.0^0.95 = 0.332 × 10⁶ m³;
H_f = 10 × (0.332 / 1.0) × 0.332 = 1.10224; D_max = 3.04 × 1.10224^0.545 km
= 3.04 × e^(0.545 × 0.097343) = 3.04 × 1.054484 = 3.20563 km.

Front speed (Manning, depth 2 m, n = 0.05) on the 2 % thalweg, by hand:
v = 2^(2/3) × 0.02^(1/2) / 0.05 = 1.587401 × 0.141421 × 20 = 4.48985 m/s, so the front needs
1000 / 4.48985 = 222.72 s (3分43秒) to a point 1 km down the valley; on a flat the slope floor
0.1 % gives v = 1.587401 × 0.0316228 × 20 = 1.003961 m/s.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely

from safemap.gis import dam_breach as db

CELL = 100.0
ROWS, COLS, THALWEG = 80, 40, 20
#: North-up grid whose top-left corner is (0, 8000): row r's centre is y = 8000 - (r + 0.5) * 100.
TRANSFORM = (CELL, 0.0, 0.0, 0.0, -CELL, ROWS * CELL)
VALLEY_RUNOUT_M = 3205.63


def valley() -> np.ndarray:
    """Heights of the V-shaped valley, metres (2 % down the thalweg, 8 % up each side)."""
    rows = np.arange(ROWS)[:, None]
    cols = np.arange(COLS)[None, :]
    return 1000.0 - 0.02 * CELL * rows + 0.08 * CELL * np.abs(cols - THALWEG)


def test_runout_relation_matches_the_hand_computation() -> None:
    r = db.runout(10.0, 1.0e6)
    assert r.released_m3 == pytest.approx(0.332e6, rel=1e-9)
    assert r.dam_factor == pytest.approx(1.10224, rel=1e-6)
    assert r.runout_m == pytest.approx(VALLEY_RUNOUT_M, abs=0.05)
    # The demo pond: V_T = 3.2e6 m³, H = 28 m → V_F = 0.332 × 3.2^0.95 = 1.002378e6 m³,
    # H_f = 28 × 1.002378² / 3.2 = 8.79163, D_max = 3.04 × 8.79163^0.545 = 9.9401 km.
    demo = db.runout(28.0, 3.2e6)
    assert demo.released_m3 == pytest.approx(1.002378e6, rel=1e-5)
    assert demo.runout_m == pytest.approx(9940.1, abs=0.5)
    # A released volume given by the caller replaces the relation (capped at what is stored).
    assert db.runout(10.0, 1.0e6, released_m3=5e6).released_m3 == 1.0e6


@pytest.mark.parametrize(("height", "volume"), [(0.0, 1e6), (-5.0, 1e6), (10.0, 0.0), (10.0, -1.0)])
def test_runout_refuses_non_positive_inputs(height: float, volume: float) -> None:
    with pytest.raises(ValueError):
        db.runout(height, volume)


def test_path_follows_the_thalweg_and_stops_at_the_runout() -> None:
    z = valley()
    filled = db.fill_depressions(z)
    np.testing.assert_array_equal(filled, z)  # nothing to fill: every cell already drains
    run = db.runout(10.0, 1.0e6)
    path = db.trace_path(filled, TRANSFORM, (2, THALWEG), run.runout_m)
    assert set(path.cols.tolist()) == {THALWEG}
    assert path.reason == "runout"
    assert path.length_m == pytest.approx(VALLEY_RUNOUT_M, abs=0.05)
    # 3205.63 m of 100 m steps: 33 cells past the start, the last vertex cut 5.63 m past cell 32.
    assert path.rows[-1] == 2 + 33
    end_y = ROWS * CELL - (2 + 0.5) * CELL - VALLEY_RUNOUT_M
    assert path.xy[-1] == pytest.approx([THALWEG * CELL + CELL / 2, end_y], abs=0.05)
    levels = filled[path.rows, path.cols]
    assert np.all(np.diff(levels) < 0)


def test_fill_lets_the_path_pass_a_pit() -> None:
    z = valley()
    z[12, THALWEG] -= 5.0  # a 5 m pit on the thalweg, 1 km below the dam
    filled = db.fill_depressions(z)
    # The pit fills to just above its lowest rim (the cell below it, 2 m lower than the one above).
    assert z[13, THALWEG] < filled[12, THALWEG] <= z[13, THALWEG] + 1e-9
    assert filled[12, THALWEG] > filled[13, THALWEG]
    path = db.trace_path(filled, TRANSFORM, (2, THALWEG), VALLEY_RUNOUT_M)
    assert 12 in path.rows.tolist() and path.reason == "runout"
    assert path.length_m == pytest.approx(VALLEY_RUNOUT_M)
    # Without the fill the path would end in the pit.
    stuck = db.trace_path(z, TRANSFORM, (2, THALWEG), VALLEY_RUNOUT_M)
    assert stuck.reason == "sink" and stuck.rows[-1] == 12


def test_flat_ground_drains_to_the_edge_at_the_minimum_slope() -> None:
    z = np.full((21, 21), 500.0)
    filled = db.fill_depressions(z)
    path = db.trace_path(filled, TRANSFORM, (10, 10), 50_000.0)
    assert path.reason == "edge"
    assert np.all(np.diff(filled[path.rows, path.cols]) < 0)
    times = db.arrival_times(path.distance_m, path.level_m)
    speed = 2.0 ** (2 / 3) * math.sqrt(0.001) / 0.05
    assert speed == pytest.approx(1.003961, rel=1e-6)
    np.testing.assert_allclose(times, path.distance_m / speed, rtol=1e-9)


def test_arrival_time_one_kilometre_down_the_valley() -> None:
    z = valley()
    path = db.trace_path(z, TRANSFORM, (2, THALWEG), VALLEY_RUNOUT_M)
    times = db.arrival_times(path.distance_m, z[path.rows, path.cols])
    assert float(db.time_at(path.distance_m, times, 1000.0)) == pytest.approx(222.72, abs=0.01)
    assert db.manning_velocity(2.0, 0.02) == pytest.approx(4.48985, rel=1e-5)


def test_corridor_narrows_from_the_dam_to_the_runout() -> None:
    z = valley()
    path = db.trace_path(z, TRANSFORM, (2, THALWEG), VALLEY_RUNOUT_M)
    mask = db.corridor_mask(z, TRANSFORM, path, VALLEY_RUNOUT_M, 10.0)
    # h(x) = 10 − 9·x/D: one cell each side (8 m up) while h ≥ 8 m, i.e. x ≤ 2D/9 = 712 m (rows 2–9).
    assert mask[2].nonzero()[0].tolist() == [19, 20, 21]
    assert mask[9].nonzero()[0].tolist() == [19, 20, 21]
    assert mask[10].nonzero()[0].tolist() == [20]
    assert mask[35].nonzero()[0].tolist() == [20]
    assert mask[:2].sum() <= 6  # the rounded end above the dam stays small
    assert not mask[37:].any()  # nothing beyond the run-out (the last path cell is row 35)
    poly = db.mask_polygon(mask, TRANSFORM)
    assert poly.area == pytest.approx(mask.sum() * CELL * CELL)
    assert poly.contains(shapely.Point(path.xy[5]))
    assert db.corridor_height(
        np.array([0.0, VALLEY_RUNOUT_M, 2 * VALLEY_RUNOUT_M]), VALLEY_RUNOUT_M, 10.0
    ).tolist() == [
        10.0,
        1.0,
        1.0,
    ]


def test_corridor_stays_out_of_the_next_valley() -> None:
    """A parallel valley beyond a ridge within the half-width is not reached: the corridor must connect."""
    z = valley()
    z[:, 26:] = 1000.0 - 0.02 * CELL * np.arange(ROWS)[:, None] + 0.0  # a second floor past a 48 m ridge
    z[:, 25] += 60.0
    path = db.trace_path(z, TRANSFORM, (2, THALWEG), VALLEY_RUNOUT_M)
    mask = db.corridor_mask(z, TRANSFORM, path, VALLEY_RUNOUT_M, 10.0, max_half_width_m=1000.0)
    assert not mask[:, 25:].any()


def test_pour_point_is_the_lowest_point_of_the_outline() -> None:
    z = valley()
    # A square pond straddling the thalweg between y = 7000 and 7400: its lowest outline point is
    # where its downstream (south) side crosses the thalweg.
    pond = shapely.box(1650.0, 7000.0, 2450.0, 7400.0)
    point = db.pour_point(pond, z, TRANSFORM, step_m=10.0)
    assert point.x == pytest.approx(THALWEG * CELL + CELL / 2, abs=10.0)
    assert point.y == pytest.approx(7000.0, abs=1e-6)
    assert db.cell_of(TRANSFORM, point.x, point.y) in ((10, 20), (9, 20))
    blocked = np.zeros(z.shape, bool)
    blocked[5:10, 17:25] = True
    path = db.trace_path(z, TRANSFORM, (10, 20), 500.0, blocked=blocked)
    assert path.rows.tolist() == [10, 11, 12, 13, 14, 15]


def test_released_volume_refuses_empty_pond() -> None:
    with pytest.raises(ValueError):
        db.released_volume_m3(0.0)


def test_fill_and_spill_fills_a_small_pit_and_goes_on() -> None:
    """A 5 m pit in the thalweg: flooding it to the height of the cell below (2 m under the pit's
    old height, 3 m above its bottom) takes 3 m × 1 cell × 10⁴ m² = 30,000 m³, then the water
    reaches the next cell down (4 m under) and spills there."""
    z = valley()
    z[12, THALWEG] -= 5.0
    pond = db.fill_pond(z, (12, THALWEG), 1e6, CELL * CELL)
    assert pond.used_m3 == pytest.approx(30_000.0)
    assert pond.cells == [(12, THALWEG), (13, THALWEG)] and pond.spill == (14, THALWEG)
    path = db.trace_path(z, TRANSFORM, (2, THALWEG), VALLEY_RUNOUT_M, heights=z, volume_m3=0.332e6)
    assert path.reason == "runout" and path.length_m == pytest.approx(VALLEY_RUNOUT_M)
    assert 12 in path.rows.tolist() and 14 in path.rows.tolist() and 13 not in path.rows.tolist()
    assert path.pond_rows.tolist() == [12, 13]


def test_fill_and_spill_stops_when_the_volume_runs_out() -> None:
    """10,000 m³ in the same pit: one cell of 10⁴ m² rises 1 m, and the flow stops there."""
    z = valley()
    z[12, THALWEG] -= 5.0
    pond = db.fill_pond(z, (12, THALWEG), 10_000.0, CELL * CELL)
    assert pond.spill is None and pond.level == pytest.approx(z[12, THALWEG] + 1.0)
    path = db.trace_path(z, TRANSFORM, (2, THALWEG), VALLEY_RUNOUT_M, heights=z, volume_m3=10_000.0)
    assert path.reason == "basin" and path.rows[-1] == 12
    assert path.length_m == pytest.approx(1000.0)
    mask = db.corridor_mask(z, TRANSFORM, path, VALLEY_RUNOUT_M, 10.0)
    assert mask[12, THALWEG] and not mask[15:].any()
