"""Geometry helpers for the demo county: the metric frame (UTM 44N) and synthetic shapes.

All synthetic geometry is drawn in EPSG:32644 (metres) and converted to EPSG:4326
only when a feature is written. The conversion is element-wise and rounded to
1e-8 degrees (about 1 mm), so two features built from the same metric coordinate
share exactly the same stored coordinate — that is what keeps road junctions and
fire-lane connections topologically exact.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry import LineString, Point, Polygon
from shapely.geometry.base import BaseGeometry

UTM = "EPSG:32644"
WGS84 = "EPSG:4326"
DECIMALS = 8

_TO_UTM = Transformer.from_crs(WGS84, UTM, always_xy=True)
_TO_WGS = Transformer.from_crs(UTM, WGS84, always_xy=True)

XY = tuple[float, float]


def lonlat_to_xy(lon: float, lat: float) -> XY:
    """Project one WGS 84 position to UTM 44N metres."""
    x, y = _TO_UTM.transform(lon, lat)
    return float(x), float(y)


def to_utm(geom: BaseGeometry) -> BaseGeometry:
    """Project a lon/lat geometry to UTM 44N (metres)."""
    return shapely.transform(geom, _project_to_utm)


def to_wgs84(geom: BaseGeometry) -> BaseGeometry:
    """Convert a UTM 44N geometry to lon/lat, rounded to 1e-8 degrees, repeats removed."""
    out = shapely.transform(geom, _project_to_wgs)
    if out.geom_type in ("LineString", "Polygon", "MultiPolygon", "MultiLineString"):
        out = shapely.remove_repeated_points(out, 0.0)
    return out


def _project_to_utm(coords: np.ndarray) -> np.ndarray:
    x, y = _TO_UTM.transform(coords[:, 0], coords[:, 1])
    return np.column_stack([x, y])


def _project_to_wgs(coords: np.ndarray) -> np.ndarray:
    lon, lat = _TO_WGS.transform(coords[:, 0], coords[:, 1])
    return np.round(np.column_stack([lon, lat]), DECIMALS)


def curved_line(
    waypoints: Sequence[XY],
    rng: np.random.Generator,
    *,
    bend: float,
    max_offset: float,
    step: float = 120.0,
    harmonics: int = 3,
) -> np.ndarray:
    """Draw a gently winding polyline through ``waypoints`` (passing them exactly).

    Parameters
    ----------
    waypoints
        Points the road must pass, in metres.
    rng
        Random generator; the only source of variation.
    bend
        Largest lateral offset as a fraction of each leg's length.
    max_offset
        Cap on the lateral offset, metres.
    step
        Vertex spacing, metres.
    harmonics
        Number of sine terms; more give a more winding (mountain) road.

    Returns
    -------
    numpy.ndarray
        ``(n, 2)`` vertex coordinates in metres.
    """
    pts = np.asarray(waypoints, dtype=float)
    out = [pts[0]]
    for a, b in itertools.pairwise(pts):
        d = b - a
        length = float(np.hypot(*d))
        n = max(2, math.ceil(length / step))
        t = np.linspace(0.0, 1.0, n + 1)
        amp = min(bend * length, max_offset)
        coeff = rng.uniform(-1.0, 1.0, harmonics) / np.arange(1, harmonics + 1)
        # A sine series vanishes at both ends, so legs join at the waypoints.
        offset = amp * (np.sin(np.pi * np.outer(t, np.arange(1, harmonics + 1))) @ coeff)
        normal = np.array([-d[1], d[0]]) / length
        leg = a + np.outer(t, d) + np.outer(offset, normal)
        leg[0], leg[-1] = a, b
        out.extend(leg[1:])
    return np.vstack(out)


def rect(cx: float, cy: float, w: float, h: float, angle: float = 0.0) -> Polygon:
    """Rectangle of ``w`` × ``h`` metres centred on (cx, cy), rotated ``angle`` degrees."""
    poly = shapely.box(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
    if angle:
        poly = shapely.affinity.rotate(poly, angle, origin=(cx, cy))
    return poly


def circle(cx: float, cy: float, radius: float) -> Polygon:
    """Tank footprint: a 24-sided circle of ``radius`` metres."""
    return Point(cx, cy).buffer(radius, quad_segs=6)


def offset_point(line: LineString, distance: float, side: float) -> XY:
    """Point ``distance`` metres along ``line`` and ``side`` metres to its left (right if < 0)."""
    a = line.interpolate(max(distance - 1.0, 0.0))
    b = line.interpolate(min(distance + 1.0, line.length))
    dx, dy = b.x - a.x, b.y - a.y
    norm = math.hypot(dx, dy) or 1.0
    p = line.interpolate(distance)
    return p.x - dy / norm * side, p.y + dx / norm * side


def bearing_of(line: LineString, distance: float) -> float:
    """Direction of ``line`` at ``distance`` metres, in degrees counter-clockwise from east."""
    a = line.interpolate(max(distance - 5.0, 0.0))
    b = line.interpolate(min(distance + 5.0, line.length))
    return math.degrees(math.atan2(b.y - a.y, b.x - a.x))
