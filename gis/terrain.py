"""Heights and slopes of lines read from a digital elevation model (DEM) held in memory.

Pure: the DEM arrives as a NumPy array with its affine transform and CRS (the caller reads
the file, e.g. with rasterio); lines arrive as a GeoSeries in a metric CRS. Heights are
interpolated bilinearly between cell centres, so a slope is never read off a single cell.

The grade of a lane is measured over a window of one DEM cell (a 200 m DEM cannot resolve
a shorter ramp) and the steepest window counts, because GB 50016-2014 §7.1.8 (5) limits the
longitudinal slope of the lane anywhere, not on average. Lanes shorter than the window are
measured end to end.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import shapely
from pyproj import CRS, Transformer

if TYPE_CHECKING:
    import geopandas as gpd

#: GDAL-order affine coefficients (a, b, c, d, e, f): x = a*col + b*row + c, y = d*col + e*row + f.
Affine6 = tuple[float, float, float, float, float, float]


@dataclass(frozen=True)
class LineSlope:
    """Slope figures of one line.

    Attributes
    ----------
    max_pct
        Steepest grade over any window of ``window_m`` along the line, percent.
    mean_pct
        Absolute end-to-end rise over the length, percent.
    rise_m
        Highest minus lowest sampled height, metres.
    length_m
        Length of the line, metres.
    window_m
        Window the steepest grade was measured over, metres.
    """

    max_pct: float
    mean_pct: float
    rise_m: float
    length_m: float
    window_m: float


def sample_bilinear(
    heights: np.ndarray, transform: Sequence[float], xs: np.ndarray, ys: np.ndarray, nodata: float | None = None
) -> np.ndarray:
    """Heights at points ``(xs, ys)`` (DEM CRS) by bilinear interpolation of cell centres.

    Parameters
    ----------
    heights
        2-D array of heights, metres (row 0 at the top).
    transform
        Affine coefficients ``(a, b, c, d, e, f)`` of the grid (rasterio's ``Affine[:6]``); no rotation.
    xs, ys
        Point coordinates in the DEM's CRS.
    nodata
        Value marking missing cells; such cells (and points outside the grid) give NaN.

    Returns
    -------
    numpy.ndarray
        Heights, metres; NaN where the DEM has no value.
    """
    a, b, c, d, e, f = (float(v) for v in transform[:6])
    if b != 0 or d != 0:
        raise ValueError("rotated DEM grids are not supported")
    z = np.asarray(heights, dtype="float64")
    if nodata is not None:
        z = np.where(z == nodata, np.nan, z)
    col = (np.asarray(xs, dtype="float64") - c) / a - 0.5
    row = (np.asarray(ys, dtype="float64") - f) / e - 0.5
    rows, cols = z.shape
    # Points within half a cell of the edge use the edge cells (clamped), beyond that: NaN.
    inside = (col >= -0.5) & (col <= cols - 0.5) & (row >= -0.5) & (row <= rows - 0.5)
    col = np.clip(col, 0.0, cols - 1.0)
    row = np.clip(row, 0.0, rows - 1.0)
    c0 = np.minimum(np.floor(col).astype(int), max(cols - 2, 0))
    r0 = np.minimum(np.floor(row).astype(int), max(rows - 2, 0))
    c1 = np.minimum(c0 + 1, cols - 1)
    r1 = np.minimum(r0 + 1, rows - 1)
    tx = col - c0
    ty = row - r0
    top = z[r0, c0] * (1 - tx) + z[r0, c1] * tx
    bottom = z[r1, c0] * (1 - tx) + z[r1, c1] * tx
    out = top * (1 - ty) + bottom * ty
    return np.where(inside, out, np.nan)


def grade_profile(distance_m: np.ndarray, height_m: np.ndarray, window_m: float) -> LineSlope:
    """Slope figures of a sampled profile.

    Parameters
    ----------
    distance_m
        Increasing distances along the line of each sample, metres (first 0, last the length).
    height_m
        Heights at those samples, metres (no NaN).
    window_m
        Length over which a grade is measured, metres.
    """
    dist = np.asarray(distance_m, dtype="float64")
    z = np.asarray(height_m, dtype="float64")
    length = float(dist[-1] - dist[0]) if dist.size > 1 else 0.0
    if length <= 0:
        return LineSlope(0.0, 0.0, 0.0, 0.0, window_m)
    mean = abs(float(z[-1] - z[0])) / length * 100.0
    rise = float(z.max() - z.min())
    if length <= window_m:
        return LineSlope(mean, mean, rise, length, length)
    # Height at distance s + window for every sample s (linear between samples).
    ends = dist + window_m
    valid = ends <= dist[-1] + 1e-9
    z_end = np.interp(ends[valid], dist, z)
    grades = np.abs(z_end - z[valid]) / window_m * 100.0
    return LineSlope(float(grades.max()), mean, rise, length, window_m)


def line_slopes(
    lines: gpd.GeoSeries,
    heights: np.ndarray,
    transform: Sequence[float],
    dem_crs: str | CRS,
    *,
    nodata: float | None = None,
    step_m: float | None = None,
    window_m: float | None = None,
) -> list[LineSlope | None]:
    """Slope of each line from the DEM; ``None`` where the DEM does not cover the line.

    Parameters
    ----------
    lines
        GeoSeries of LineStrings in a projected CRS with metre units (e.g. EPSG:32644).
    heights, transform, dem_crs, nodata
        The DEM: heights in metres, affine coefficients, CRS and nodata value.
    step_m
        Sampling interval along each line, metres; default a quarter of a DEM cell (at most 25 m).
    window_m
        Window of the steepest grade, metres; default one DEM cell (at least 20 m).
    """
    cell = _cell_size_m(transform, dem_crs, lines)
    step = step_m or min(cell / 4.0, 25.0)
    window = window_m or max(cell, 20.0)
    geoms = np.asarray(lines.geometry.values if hasattr(lines, "geometry") else lines, dtype=object)
    lengths = shapely.length(geoms)
    counts = np.maximum(np.ceil(lengths / step).astype(int), 1) + 1
    owner = np.repeat(np.arange(len(geoms)), counts)
    starts = np.cumsum(counts) - counts
    frac = (np.arange(counts.sum()) - np.repeat(starts, counts)) / np.repeat(counts - 1, counts)
    dist = frac * np.repeat(lengths, counts)
    pts = shapely.line_interpolate_point(geoms[owner], dist)
    xy = shapely.get_coordinates(pts)
    xs, ys = xy[:, 0], xy[:, 1]
    line_crs = getattr(lines, "crs", None)
    if line_crs is not None and CRS.from_user_input(line_crs) != CRS.from_user_input(dem_crs):
        xs, ys = Transformer.from_crs(line_crs, dem_crs, always_xy=True).transform(xs, ys)
    z = sample_bilinear(heights, transform, np.asarray(xs), np.asarray(ys), nodata)
    out: list[LineSlope | None] = []
    for k in range(len(geoms)):
        sl = slice(starts[k], starts[k] + counts[k])
        if np.isnan(z[sl]).any():
            out.append(None)
        else:
            out.append(grade_profile(dist[sl], z[sl], window))
    return out


def _cell_size_m(transform: Sequence[float], dem_crs: str | CRS, lines: gpd.GeoSeries) -> float:
    """Cell size of the DEM in metres (geographic DEMs: degrees converted at the lines' latitude)."""
    size = float(max(abs(transform[0]), abs(transform[4])))
    crs = CRS.from_user_input(dem_crs)
    if crs.is_geographic:
        lat = 0.0
        line_crs = getattr(lines, "crs", None)
        if line_crs is not None and len(lines):
            cx, cy = shapely.get_coordinates(shapely.centroid(lines.geometry.values[0]))[0]
            _, lat = Transformer.from_crs(line_crs, crs, always_xy=True).transform(cx, cy)
        return size * 111_320.0 * max(np.cos(np.radians(lat)), 0.1)
    return size
