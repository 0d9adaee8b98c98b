"""GCJ-02 <-> WGS 84: the public forward model, its iterative inverse, geometry helper."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest
import shapely

from safemap.layers.gcj02 import (
    gcj02_to_wgs84,
    geometries_gcj02_to_wgs84,
    geometries_wgs84_to_gcj02,
    in_china,
    wgs84_to_gcj02,
)

DATA = Path(__file__).resolve().parents[2] / "data" / "yumin"


def _scalar_wgs2gcj(lat: float, lng: float) -> tuple[float, float]:
    """Scalar transcription of googollee/eviltransform python/eviltransform.py (a=6378245)."""
    if not (72.004 <= lng <= 137.8347 and 0.8293 <= lat <= 55.8271):
        return lat, lng
    x, y = lng - 105.0, lat - 35.0
    d_lat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    d_lat += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2 / 3
    d_lat += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2 / 3
    d_lat += (160.0 * math.sin(y / 12.0 * math.pi) + 320 * math.sin(y * math.pi / 30.0)) * 2 / 3
    d_lng = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    d_lng += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2 / 3
    d_lng += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2 / 3
    d_lng += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2 / 3
    a, ee = 6378245.0, 0.00669342162296594323
    rad = lat / 180.0 * math.pi
    magic = 1 - ee * math.sin(rad) ** 2
    d_lat = (d_lat * 180.0) / ((a * (1 - ee)) / (magic * math.sqrt(magic)) * math.pi)
    d_lng = (d_lng * 180.0) / (a / math.sqrt(magic) * math.cos(rad) * math.pi)
    return lat + d_lat, lng + d_lng


def test_readme_check_value() -> None:
    # ../shared/data/yumin/README.md: Vonng county point, GCJ-02 -> WGS 84.
    lon, lat = gcj02_to_wgs84(82.982667, 46.201104)
    assert abs(lon - 82.979536) < 1e-5
    assert abs(lat - 46.200426) < 1e-5


def test_forward_matches_scalar_reference() -> None:
    rng = np.random.default_rng(7)
    lon = rng.uniform(73, 135, 200)
    lat = rng.uniform(18, 53, 200)
    glon, glat = wgs84_to_gcj02(lon, lat)
    for i in range(len(lon)):
        ref_lat, ref_lng = _scalar_wgs2gcj(lat[i], lon[i])
        assert glon[i] == pytest.approx(ref_lng, abs=1e-12)
        assert glat[i] == pytest.approx(ref_lat, abs=1e-12)
    # The offset is hundreds of metres, not zero.
    assert np.all(np.hypot(glon - lon, glat - lat) > 1e-4)


def test_inverse_round_trip_is_exact() -> None:
    rng = np.random.default_rng(11)
    lon = rng.uniform(73, 135, 10_000)
    lat = rng.uniform(18, 53, 10_000)
    back_lon, back_lat = gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat))
    assert np.max(np.abs(back_lon - lon)) < 1e-6
    assert np.max(np.abs(back_lat - lat)) < 1e-6
    # And the other way round: the forward model of the inverse hits the input.
    glon, glat = gcj02_to_wgs84(lon, lat)
    f_lon, f_lat = wgs84_to_gcj02(glon, glat)
    assert np.max(np.abs(f_lon - lon)) < 1e-7
    assert np.max(np.abs(f_lat - lat)) < 1e-7


def test_outside_china_passes_through() -> None:
    lon = np.array([2.35, -74.0, 139.7, 83.0])
    lat = np.array([48.85, 40.7, 35.7, 60.0])
    assert not in_china(lon, lat).any()
    for fn in (wgs84_to_gcj02, gcj02_to_wgs84):
        out_lon, out_lat = fn(lon, lat)
        np.testing.assert_array_equal(out_lon, lon)
        np.testing.assert_array_equal(out_lat, lat)


def test_scalars_and_shapes() -> None:
    lon, lat = wgs84_to_gcj02(83.0, 46.2)
    assert np.ndim(lon) == 0 and np.ndim(lat) == 0
    grid_lon, grid_lat = np.meshgrid(np.linspace(82.3, 83.5, 4), np.linspace(45.4, 46.5, 3))
    out_lon, out_lat = gcj02_to_wgs84(grid_lon, grid_lat)
    assert out_lon.shape == (3, 4) and out_lat.shape == (3, 4)


def test_geometry_helper_converts_every_vertex_and_drops_z() -> None:
    poly = shapely.Polygon([(82.9, 46.1, 5), (83.0, 46.1, 5), (83.0, 46.2, 5), (82.9, 46.1, 5)])
    geoms = np.array([shapely.Point(82.982667, 46.201104), poly, None], dtype=object)
    out = geometries_gcj02_to_wgs84(geoms)
    assert out[2] is None
    assert not shapely.has_z(out[1])
    assert out[0].x == pytest.approx(82.979536, abs=1e-5)
    coords = shapely.get_coordinates(out[1])
    ref = np.column_stack(gcj02_to_wgs84(*shapely.get_coordinates(poly).T))
    np.testing.assert_allclose(coords, ref, atol=1e-12)
    back = geometries_wgs84_to_gcj02(out)
    np.testing.assert_allclose(shapely.get_coordinates(back[1]), shapely.get_coordinates(poly), atol=1e-8)


def test_matches_the_published_wgs84_derivatives() -> None:
    # data/yumin/yumin_townships.csv carries each seat in GCJ-02 as published and the WGS 84
    # point derived from it with this same model (data/yumin/README.md).
    with (DATA / "yumin_townships.csv").open(encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["lng_gcj02"]]
    assert len(rows) == 6
    gcj = np.array([[float(r["lng_gcj02"]), float(r["lat_gcj02"])] for r in rows])
    wgs = np.array([[float(r["lng_wgs84_derived"]), float(r["lat_wgs84_derived"])] for r in rows])
    lon, lat = gcj02_to_wgs84(gcj[:, 0], gcj[:, 1])
    np.testing.assert_allclose(np.column_stack([lon, lat]), wgs, atol=2e-6)
