"""GCJ-02 ("Mars coordinates") to and from WGS 84, vectorised with NumPy.

Chinese web maps (AutoNavi/Gaode, Tencent, Google Maps in China) and data taken from
them (Alibaba DataV boundaries, Vonng/adcode points) use GCJ-02: WGS 84 longitude and
latitude plus a deliberate, position-dependent offset of up to a few hundred metres. It
is not an EPSG CRS, so PROJ cannot convert it.

The forward model here is the widely used public one, as published in
googollee/eviltransform (https://github.com/googollee/eviltransform, Python port
``python/eviltransform.py`` at commit 40db2ed: ``transformLat``, ``transformLon``,
``delta``, ``wgs2gcj``, ``outOfChina``), with the Krasovsky 1940 ellipsoid constants
``a = 6378245.0`` m and ``ee = 0.00669342162296594323`` of that revision (later revisions
use ``a = 6378137.0``; the difference is millimetres). It matches the real offset only
approximately (metre level). The inverse has no closed form; like eviltransform's
``gcj2wgs_exact`` it is found by iteration, here a vectorised fixed-point iteration
``w <- w - (forward(w) - g)`` that reaches well below 1e-7 degrees in a few steps because
the offset changes slowly with position.

Points outside the rough rectangle of China used by the model (longitude 72.004-137.8347,
latitude 0.8293-55.8271) pass through unchanged in both directions, as in eviltransform.

All angles are decimal degrees, longitude first (x, y).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray

A = 6378245.0
"""Semi-major axis of the Krasovsky 1940 ellipsoid used by the model (metres)."""
EE = 0.00669342162296594323
"""First eccentricity squared of the Krasovsky 1940 ellipsoid."""
CHINA_BOUNDS = (72.004, 0.8293, 137.8347, 55.8271)
"""(min lon, min lat, max lon, max lat) inside which the offset is applied (degrees)."""


def _offset(lon: NDArray[np.float64], lat: NDArray[np.float64]) -> tuple[NDArray, NDArray]:
    x = lon - 105.0
    y = lat - 35.0
    xpi = x * np.pi
    ypi = y * np.pi
    common = 20.0 * np.sin(6.0 * xpi) + 20.0 * np.sin(2.0 * xpi)
    dlat = common + 20.0 * np.sin(ypi) + 40.0 * np.sin(ypi / 3.0)
    dlon = common + 20.0 * np.sin(xpi) + 40.0 * np.sin(xpi / 3.0)
    dlat = dlat + 160.0 * np.sin(ypi / 12.0) + 320.0 * np.sin(ypi / 30.0)
    dlon = dlon + 150.0 * np.sin(xpi / 12.0) + 300.0 * np.sin(xpi / 30.0)
    sqrt_abs_x = np.sqrt(np.abs(x))
    dlat = dlat * 2.0 / 3.0 - 100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y
    dlat = dlat + 0.2 * sqrt_abs_x
    dlon = dlon * 2.0 / 3.0 + 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y
    dlon = dlon + 0.1 * sqrt_abs_x
    rad_lat = lat / 180.0 * np.pi
    magic = 1.0 - EE * np.sin(rad_lat) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((A * (1.0 - EE)) / (magic * sqrt_magic) * np.pi)
    dlon = (dlon * 180.0) / (A / sqrt_magic * np.cos(rad_lat) * np.pi)
    return dlon, dlat


def in_china(lon: ArrayLike, lat: ArrayLike) -> NDArray[np.bool_]:
    """Return where the GCJ-02 offset applies (the model's rough rectangle of China).

    Parameters
    ----------
    lon, lat
        Longitude and latitude in degrees (any broadcastable shapes).

    Returns
    -------
    numpy.ndarray of bool
        True inside :data:`CHINA_BOUNDS`.
    """
    lon_a = np.asarray(lon, dtype=float)
    lat_a = np.asarray(lat, dtype=float)
    x0, y0, x1, y1 = CHINA_BOUNDS
    return (lon_a >= x0) & (lon_a <= x1) & (lat_a >= y0) & (lat_a <= y1)


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray, NDArray]:
    """Shift WGS 84 coordinates to GCJ-02 (the public forward model).

    Parameters
    ----------
    lon, lat
        WGS 84 longitude and latitude in degrees.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        GCJ-02 longitude and latitude in degrees; points outside China unchanged.
    """
    lon_a = np.asarray(lon, dtype=float)
    lat_a = np.asarray(lat, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        dlon, dlat = _offset(lon_a, lat_a)
    inside = in_china(lon_a, lat_a)
    return np.where(inside, lon_a + dlon, lon_a), np.where(inside, lat_a + dlat, lat_a)


def gcj02_to_wgs84(lon: ArrayLike, lat: ArrayLike, *, tol: float = 1e-9, max_iter: int = 30) -> tuple[NDArray, NDArray]:
    """Convert GCJ-02 coordinates back to WGS 84 by inverting the forward model.

    Parameters
    ----------
    lon, lat
        GCJ-02 longitude and latitude in degrees.
    tol
        Stop when the forward model of the result is within ``tol`` degrees of the
        input in both axes (default 1e-9 degrees, about 0.1 mm).
    max_iter
        Upper bound on the iterations (three to five are usual).

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        WGS 84 longitude and latitude in degrees; points outside China unchanged.
    """
    g_lon = np.asarray(lon, dtype=float)
    g_lat = np.asarray(lat, dtype=float)
    w_lon, w_lat = g_lon.copy(), g_lat.copy()
    for _ in range(max_iter):
        f_lon, f_lat = wgs84_to_gcj02(w_lon, w_lat)
        e_lon, e_lat = f_lon - g_lon, f_lat - g_lat
        w_lon = w_lon - e_lon
        w_lat = w_lat - e_lat
        err = np.maximum(np.abs(e_lon), np.abs(e_lat))
        if err.size == 0 or not np.any(err >= tol):  # NaN input never blocks termination
            break
    inside = in_china(g_lon, g_lat)
    return np.where(inside, w_lon, g_lon), np.where(inside, w_lat, g_lat)


def _xy_func(fn: Any) -> Any:
    def apply(coords: NDArray[np.float64]) -> NDArray[np.float64]:
        out = np.empty_like(coords)
        out[:, 0], out[:, 1] = fn(coords[:, 0], coords[:, 1])
        return out

    return apply


def geometries_gcj02_to_wgs84(geometries: Any) -> Any:
    """Convert every coordinate of shapely geometries from GCJ-02 to WGS 84.

    Parameters
    ----------
    geometries
        A shapely geometry or an array of them (``None`` allowed), lon/lat in degrees.

    Returns
    -------
    shapely geometry or numpy.ndarray
        The same shape of input, 2-D (Z values are dropped), in WGS 84 degrees.
    """
    return shapely.transform(geometries, _xy_func(gcj02_to_wgs84), include_z=False)


def geometries_wgs84_to_gcj02(geometries: Any) -> Any:
    """Shift every coordinate of shapely geometries from WGS 84 to GCJ-02.

    Use it only to draw on a GCJ-02 basemap (Gaode); never store the result.

    Parameters
    ----------
    geometries
        A shapely geometry or an array of them (``None`` allowed), lon/lat in degrees.

    Returns
    -------
    shapely geometry or numpy.ndarray
        The same shape of input, 2-D, in GCJ-02 degrees.
    """
    return shapely.transform(geometries, _xy_func(wgs84_to_gcj02), include_z=False)
