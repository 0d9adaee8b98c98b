import math
import time

import numpy as np
import pytest

from safemap.gis.accident_density import default_radius, kernel_density


def _centre_index(grid, x, y):
    cell, _, x0, _, _, y1 = grid.transform
    return int((y1 - y) // cell), int((x - x0) // cell)


def test_single_point_integrates_to_one():
    # A point at a cell centre, r = 1000 m, 50 m cells (20 cells per radius).
    grid = kernel_density(np.array([[10_025.0, 20_025.0]]), cell_m=50.0, radius_m=1000.0)
    cell_km2 = (50.0 / 1000.0) ** 2
    assert grid.values.dtype == np.float64
    assert grid.values.sum() * cell_km2 == pytest.approx(1.0, rel=0.01)
    # Peak = 3 / (π r²) per m² × 1e6 = 0.9549 per km².
    peak = 3.0 / (math.pi * 1000.0**2) * 1e6
    assert grid.values.max() == pytest.approx(peak, rel=0.02)
    i, j = _centre_index(grid, 10_025.0, 20_025.0)
    assert grid.values[i, j] == pytest.approx(peak, rel=1e-9)
    assert grid.radius_m == 1000.0 and grid.cell_m == 50.0 and grid.total_weight == 1.0
    # Default bounds: bbox grown by r, snapped to the cell.
    cell, b, x0, d, e, y1 = grid.transform
    assert (cell, b, d, e) == (50.0, 0.0, 0.0, -50.0)
    assert x0 == 9_000.0 and y1 == 21_050.0
    assert x0 % 50 == 0 and y1 % 50 == 0


def test_kernel_shape_and_zero_beyond_radius():
    r = 500.0
    grid = kernel_density(
        np.array([[25.0, 25.0]]), np.array([2.0]), cell_m=50.0, radius_m=r, bounds=(-1000.0, -1000.0, 1000.0, 1000.0)
    )
    cell, _, x0, _, _, y1 = grid.transform
    rows, cols = grid.values.shape
    assert (rows, cols) == (40, 40)
    xs = x0 + (np.arange(cols) + 0.5) * cell
    ys = y1 - (np.arange(rows) + 0.5) * cell
    d = np.hypot(xs[None, :] - 25.0, ys[:, None] - 25.0)
    expected = np.where(d < r, 2.0 * 3 / (math.pi * r * r) * (1 - d**2 / r**2) ** 2, 0.0) * 1e6
    np.testing.assert_allclose(grid.values, expected, rtol=1e-12, atol=1e-15)
    assert (grid.values[d >= r] == 0).all()
    # Halfway out: (1 − 0.25)² = 0.5625 of the peak.
    i, j = _centre_index(grid, 275.0, 25.0)
    assert grid.values[i, j] == pytest.approx(0.5625 * 2 * 3 / (math.pi * r * r) * 1e6)


def test_two_points_far_apart():
    pts = np.array([[0.0, 0.0], [10_000.0, 0.0]]) + 50.0
    grid = kernel_density(pts, cell_m=100.0, radius_m=1500.0)
    a = grid.values[_centre_index(grid, 50.0, 50.0)]
    b = grid.values[_centre_index(grid, 10_050.0, 50.0)]
    assert a == pytest.approx(b, rel=1e-12)
    assert a == pytest.approx(3 / (math.pi * 1500.0**2) * 1e6, rel=1e-9)
    # Nothing midway: the kernels do not overlap.
    assert grid.values[_centre_index(grid, 5_050.0, 50.0)] == 0
    assert grid.values.sum() * 0.01 == pytest.approx(2.0, rel=0.01)


def test_default_radius_by_hand():
    # Square of side 200 m around the origin plus the centre: mean centre (0, 0).
    pts = np.array([[100.0, 100.0], [-100.0, 100.0], [-100.0, -100.0], [100.0, -100.0], [0.0, 0.0]])
    # Distances: four × 141.421, one × 0. SD = sqrt(4 × 20000 / 5) = sqrt(16000) = 126.49.
    # Dm (median of 0, 141.4, 141.4, 141.4, 141.4) = 141.42; sqrt(1/ln 2) × Dm = 1.2011 × 141.42 = 169.86.
    # Radius = 0.9 × min(126.49, 169.86) × 5^-0.2 = 0.9 × 126.49 × 0.72478 = 82.51 m.
    assert default_radius(pts) == pytest.approx(0.9 * math.sqrt(16000.0) * 5**-0.2, rel=1e-12)
    assert default_radius(pts) == pytest.approx(82.51, abs=0.01)
    grid = kernel_density(pts, cell_m=10.0)
    assert grid.radius_m == pytest.approx(82.51, abs=0.01)
    # Weighted: n = Σw = 10 with equal weights 2 → 0.9 × 126.49 × 10^-0.2 = 71.83 m.
    assert default_radius(pts, np.full(5, 2.0)) == pytest.approx(0.9 * math.sqrt(16000.0) * 10**-0.2)
    # Dm the smaller: a tight cluster of 3 at the centre and 2 far points.
    pts2 = np.array([[0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [1000.0, 0.0], [-1000.0, 0.0]])
    # SD = sqrt(2 × 1e6 / 5) = 632.46, Dm = 0 → radius 0 → undefined.
    assert default_radius(pts2) is None
    # Undefined → 10 cells.
    assert kernel_density(np.array([[5.0, 5.0]]), cell_m=10.0).radius_m == 100.0
    assert kernel_density(pts2, cell_m=10.0).radius_m == 100.0


def test_errors_and_empty():
    with pytest.raises(ValueError):
        kernel_density(np.array([[0.0, 0.0]]), cell_m=0)
    with pytest.raises(ValueError):
        kernel_density(np.array([[0.0, 0.0]]), radius_m=-5)
    with pytest.raises(ValueError):
        kernel_density(np.array([[0.0, 0.0]]), np.array([-1.0]))
    with pytest.raises(ValueError):
        kernel_density(np.zeros((0, 2)))
    empty = kernel_density(np.zeros((0, 2)), cell_m=100.0, bounds=(0.0, 0.0, 1000.0, 500.0))
    assert empty.values.shape == (5, 10) and not empty.values.any() and empty.total_weight == 0


def test_binned_path_matches_exact():
    # Many points with a wide radius go through FFT convolution of cell-binned points; points at
    # cell centres make both paths the same up to round-off.
    rng = np.random.default_rng(7)
    pts = (rng.integers(0, 400, size=(20_000, 2)) + 0.5) * 25.0
    big = kernel_density(pts, cell_m=25.0, radius_m=1000.0, bounds=(0.0, 0.0, 10_000.0, 10_000.0))
    few = kernel_density(pts[:50], cell_m=25.0, radius_m=1000.0, bounds=(0.0, 0.0, 10_000.0, 10_000.0))
    few_fft = kernel_density(
        np.repeat(pts[:50], 400, axis=0),
        np.full(20_000, 1 / 400),
        cell_m=25.0,
        radius_m=1000.0,
        bounds=(0.0, 0.0, 10_000.0, 10_000.0),
    )
    np.testing.assert_allclose(few_fft.values, few.values, rtol=1e-6, atol=1e-9)
    assert big.values.sum() > 0


def test_speed_10000_points_1000x1000():
    rng = np.random.default_rng(1)
    pts = rng.uniform(0, 250_000, size=(10_000, 2))
    t = time.perf_counter()
    grid = kernel_density(pts, cell_m=250.0, radius_m=3000.0, bounds=(0.0, 0.0, 250_000.0, 250_000.0))
    assert grid.values.shape == (1000, 1000)
    assert time.perf_counter() - t < 10
    # Default radius too (ArcGIS rule on a uniform square: large radius → FFT path).
    t = time.perf_counter()
    grid = kernel_density(pts, cell_m=250.0, bounds=(0.0, 0.0, 250_000.0, 250_000.0))
    assert time.perf_counter() - t < 10
    assert grid.values.sum() * 0.0625 == pytest.approx(10_000, rel=0.05)
