"""Individual risk grid, risk at targets, F–N curve and contours (GB 36894 QRA-lite)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely

from safemap.gis import individual_risk as ir
from safemap.gis.consequence_fire import PoolFire, fireball_fuel_kg, fireball_lethality
from safemap.gis.consequence_vce import death_radius_m, tnt_equivalent_kg

CL2_PROBIT = (-8.29, 0.92, 2.0)


def vce_at(x: float, y: float, f: float = 1e-6, mass: float = 10_000.0) -> ir.Scenario:
    return ir.vce_scenario(1, (x, y), f, mass, 50290.0, "VCE")


def test_vce_step_inside_the_death_radius() -> None:
    s = vce_at(500, 500)
    radius = death_radius_m(tnt_equivalent_kg(10_000.0, 50290.0))
    grid = ir.Grid(0, 0, 1.0, 1000, 1000)
    field = ir.risk_grid([s], grid)
    # Cell centres: row 0 is the north edge, so y = 999.5 - row.
    assert field[999 - 500, 500 + int(radius) - 2] == pytest.approx(1e-6)
    assert field[999 - 500, 500 + int(radius) + 3] == 0.0
    assert field.sum() * 1.0 == pytest.approx(1e-6 * math.pi * radius**2, rel=0.02)


def test_grid_is_north_up() -> None:
    s = vce_at(900, 900)
    field = ir.risk_grid([s], ir.Grid(0, 0, 10.0, 100, 100))
    rows, cols = np.nonzero(field)
    assert rows.max() < 20 and cols.min() > 80  # north-east corner


def test_risk_at_uses_the_nearest_point_of_a_target() -> None:
    s = vce_at(0, 0)
    radius = death_radius_m(tnt_equivalent_kg(10_000.0, 50290.0))
    inside_edge = shapely.box(radius - 5, -5, radius + 200, 5)
    outside = shapely.Point(radius + 10, 0)
    assert ir.risk_at([s], [inside_edge, outside]).tolist() == [1e-6, 0.0]


def test_uniform_wind_rose_makes_a_toxic_plume_nearly_isotropic() -> None:
    s = ir.toxic_scenario(1, (0, 0), 1e-5, 2.0, 1800, 70.9, CL2_PROBIT, "Cl2")
    s.tabulate()
    r = 300.0
    around = [
        float(s.lookup(np.array(r * math.sin(a)), np.array(r * math.cos(a))))
        for a in np.linspace(0, 2 * math.pi, 24, endpoint=False)
    ]
    assert max(around) > 0 and (max(around) - min(around)) / max(around) < 0.25
    # Averaged over 16 directions each point sees the plume only a small share of the time.
    downwind = s.kernels[0](np.array([r]), np.array([0.0]))[0]
    assert 0 < np.mean(around) < downwind


def test_wind_rose_points_the_risk_downwind() -> None:
    rose = np.zeros(16)
    rose[0] = 1.0  # always from the north: the plume goes south
    s = ir.toxic_scenario(1, (0, 0), 1e-5, 2.0, 1800, 70.9, CL2_PROBIT, "Cl2", wind_rose=rose)
    south = ir.risk_at([s], [shapely.Point(0, -300)])[0]
    north = ir.risk_at([s], [shapely.Point(0, 300)])[0]
    assert south > 1e-7 and north == 0.0


def test_toxic_probit() -> None:
    s = ir.toxic_scenario(1, (0, 0), 1e-5, 1.0, 600, 70.9, CL2_PROBIT, "Cl2")
    from safemap.gis.plume import Plume, mg_m3_to_ppm

    c = float(Plume(1.0, 3.0, "D").centreline(500.0))
    ppm = float(mg_m3_to_ppm(c, 70.9))
    pr = -8.29 + 0.92 * math.log(ppm**2 * 10.0)
    from scipy.special import ndtr

    assert s.kernels[0](np.array([500.0]), np.array([0.0]))[0] == pytest.approx(ndtr(pr - 5))


def test_fn_curve_and_acceptance_lines() -> None:
    s = vce_at(0, 0, f=1e-6)
    targets = [shapely.Point(5, 0), shapely.Point(0, 5), shapely.Point(5000, 0)]
    res = ir.fn_curve([s], targets, [10, 20, 1000])
    assert res["curve"] == [(30.0, 1e-6)]
    assert not res["exceeds_upper"]  # 1e-3/30 = 3.3e-5
    assert res["above_lower"]  # 1e-5/30 = 3.3e-7 < 1e-6
    two = ir.fn_curve([s, vce_at(5000, 0, f=1e-6)], targets, [10, 20, 1000])
    assert two["curve"] == [(30.0, pytest.approx(2e-6)), (1000.0, pytest.approx(1e-6))]
    assert two["exceeds_upper"] is False and two["max_N"] == 1000.0
    intolerable = ir.fn_curve([vce_at(5000, 0, f=1e-5)], targets, [10, 20, 1000])
    assert intolerable["exceeds_upper"]  # 1e-5 > 1e-3/1000


def test_fn_curve_is_cumulative() -> None:
    a, b = vce_at(0, 0, f=1e-6), vce_at(10_000, 0, f=1e-5)
    targets = [shapely.Point(0, 0), shapely.Point(10_000, 0)]
    res = ir.fn_curve([a, b], targets, [100, 10])
    # N = 10 at 1e-5 and N = 100 at 1e-6: F(10) = 1.1e-5, F(100) = 1e-6.
    assert res["curve"] == [(10.0, pytest.approx(1.1e-5)), (100.0, pytest.approx(1e-6))]
    assert res["exceeds_upper"] is False and res["above_lower"] is True


def test_contours_follow_the_step() -> None:
    s = vce_at(500, 500)
    radius = death_radius_m(tnt_equivalent_kg(10_000.0, 50290.0))
    grid = ir.Grid(0, 0, 2.0, 500, 500)
    lines = ir.contour_lines(ir.risk_grid([s], grid), grid, [5e-7])[5e-7]
    pts = np.vstack(lines)
    dist = np.hypot(pts[:, 0] - 500, pts[:, 1] - 500)
    assert np.all(np.abs(dist - radius) < 2.5)


def test_pool_fire_and_bleve_scenarios() -> None:
    pf = ir.pool_fire_scenario(1, (0, 0), 1e-6, PoolFire(300, 0.055, 44000), "pool")
    bl = ir.bleve_scenario(2, (0, 0), 1e-7, 23_000, "bleve")
    near = ir.risk_at([pf, bl], [shapely.Point(1, 0)])[0]
    p_bleve = fireball_lethality(np.array([1.0]), fireball_fuel_kg(23_000))[0]
    assert 0.95 < p_bleve < 1.0  # under the fireball the peak flux is held
    assert near == pytest.approx(1e-6 + 1e-7 * p_bleve, rel=1e-3)
    assert ir.risk_at([pf, bl], [shapely.Point(5000, 0)])[0] == 0.0


def test_grid_refuses_too_many_cells() -> None:
    with pytest.raises(ValueError):
        ir.Grid.around(np.array([[0, 0], [100_000, 100_000]]), 0, 1.0)
