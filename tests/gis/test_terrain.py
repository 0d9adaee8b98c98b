"""Slopes of lines from a DEM held in memory (gis.terrain) and the demo's synthetic DEM."""

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import LineString

from safemap.gis.terrain import grade_profile, line_slopes, sample_bilinear
from safemap.layers.dem import DEFAULT_DEM, read_dem

CRS = "EPSG:32644"


def plane(gx: float, gy: float, cell: float = 50.0, n: int = 40):
    """A DEM of z = 1000 + gx·x + gy·y (x, y in metres from the grid's upper-left corner)."""
    x0, y0 = 650_000.0, 5_120_000.0
    cols = x0 + (np.arange(n) + 0.5) * cell
    rows = y0 - (np.arange(n) + 0.5) * cell
    xx, yy = np.meshgrid(cols - x0, rows - y0)
    z = 1000.0 + gx * xx + gy * yy
    return z, (cell, 0.0, x0, 0.0, -cell, y0)


def test_bilinear_sampling_is_exact_on_a_plane():
    z, t = plane(0.05, -0.02)
    xs = np.array([650_100.0, 650_333.3, 651_000.0])
    ys = np.array([5_119_900.0, 5_119_123.4, 5_119_500.0])
    expected = 1000.0 + 0.05 * (xs - 650_000) - 0.02 * (ys - 5_120_000)
    assert np.allclose(sample_bilinear(z, t, xs, ys), expected)
    assert np.isnan(sample_bilinear(z, t, np.array([640_000.0]), np.array([5_119_900.0])))[0]
    holes = z.copy()
    holes[5, 5] = -9999
    assert np.isnan(sample_bilinear(holes, t, np.array([650_275.0]), np.array([5_119_725.0]), nodata=-9999))[0]


def test_a_lane_up_a_9_percent_plane_is_measured_at_9_percent():
    z, t = plane(0.09, 0.0)
    east = LineString([(650_200, 5_119_000), (651_400, 5_119_000)])  # uphill
    north = LineString([(650_500, 5_119_600), (650_500, 5_118_600)])  # along the contour
    diagonal = LineString([(650_200, 5_119_500), (651_000, 5_118_700)])
    out = line_slopes(gpd.GeoSeries([east, north, diagonal], crs=CRS), z, t, CRS)
    assert out[0].max_pct == pytest.approx(9.0, abs=1e-6) and out[0].mean_pct == pytest.approx(9.0)
    assert out[0].rise_m == pytest.approx(108.0)
    assert out[1].max_pct == pytest.approx(0.0, abs=1e-9)
    assert out[2].max_pct == pytest.approx(9.0 / np.sqrt(2), abs=1e-6)
    # A line leaving the DEM gets no slope rather than a made-up one.
    assert line_slopes(
        gpd.GeoSeries([LineString([(650_200, 5_119_000), (660_000, 5_119_000)])], crs=CRS), z, t, CRS
    ) == [None]


def test_the_steepest_window_counts_not_the_average():
    # 0 m for 200 m, then a 20 m ramp over 100 m (20 %), then flat again: mean 5 %, steepest 20 %.
    d = np.array([0.0, 200.0, 300.0, 400.0])
    h = np.array([0.0, 0.0, 20.0, 20.0])
    s = grade_profile(d, h, window_m=50.0)
    assert s.mean_pct == pytest.approx(5.0) and s.max_pct == pytest.approx(20.0)
    # Over a 200 m window the ramp is averaged down: the DEM cannot see finer than its cells.
    assert grade_profile(d, h, window_m=200.0).max_pct == pytest.approx(10.0)
    short = grade_profile(np.array([0.0, 10.0]), np.array([0.0, 1.0]), window_m=50.0)
    assert short.max_pct == pytest.approx(10.0) and short.window_m == 10.0


def test_the_demo_dem_is_small_synthetic_and_realistic():
    assert DEFAULT_DEM.exists() and DEFAULT_DEM.stat().st_size < 400_000
    dem = read_dem()
    assert dem is not None and dem.synthetic and dem.crs == "EPSG:32644"
    assert dem.heights.shape == (670, 520) and abs(dem.transform[0]) == 200
    seat = sample_bilinear(dem.heights, dem.transform, np.array([652_761.0]), np.array([5_118_175.0]))[0]
    assert 850 < seat < 1100  # the plain around the county seat
    assert np.nanmax(dem.heights) > 2800  # the 巴尔鲁克山 crest
    north = dem.heights[:100].mean()
    assert north < seat  # the basin falls to the north
    # A window around a point of interest reads only that part of the file.
    part = read_dem(bounds_lonlat=(82.95, 46.18, 83.0, 46.22))
    assert part is not None and part.heights.size < 2_000


def test_the_committed_dem_is_what_the_generator_makes():
    from safemap.layers.demo.dem import generate

    dem = read_dem()
    assert np.abs(np.rint(generate()) - dem.heights).max() <= 1.0
