"""A metric CRS for analysis: the UTM zone of the data (EPSG:326xx north, 327xx south), never Web Mercator.

Web Mercator (EPSG:3857) stretches lengths by 1/cos(latitude) — 44 % at Yumin's 46° N —
so every distance in ``gis/`` is measured in the local UTM zone instead
(EPSG:32644 for Yumin, scale error under 0.1 %).
"""

from __future__ import annotations

import math

import geopandas as gpd
from pyproj import CRS


def utm_epsg(lon: float, lat: float) -> int:
    """EPSG code of the WGS 84 UTM zone holding (``lon``, ``lat``) in degrees."""
    if not (math.isfinite(lon) and math.isfinite(lat)) or not (-180 <= lon <= 180 and -80 <= lat <= 84):
        raise ValueError(f"no UTM zone for lon={lon}, lat={lat}")
    zone = min(int((lon + 180) // 6) + 1, 60)
    return (32600 if lat >= 0 else 32700) + zone


def metric_crs(*frames: gpd.GeoDataFrame | gpd.GeoSeries, default: tuple[float, float] = (82.9, 46.2)) -> CRS:
    """The UTM CRS of the centre of the frames' combined extent (lon/lat frames)."""
    boxes = [f.to_crs(4326).total_bounds for f in frames if len(f) and f.crs is not None]
    boxes = [b for b in boxes if all(math.isfinite(v) for v in b)]
    if not boxes:
        lon, lat = default
    else:
        lon = (min(b[0] for b in boxes) + max(b[2] for b in boxes)) / 2
        lat = (min(b[1] for b in boxes) + max(b[3] for b in boxes)) / 2
    return CRS.from_epsg(utm_epsg(lon, lat))


def to_metric(frame: gpd.GeoDataFrame, crs: CRS) -> gpd.GeoDataFrame:
    """``frame`` reprojected to ``crs`` (a frame without CRS is taken as WGS 84 lon/lat)."""
    if frame.crs is None:
        frame = frame.set_crs(4326)
    return frame.to_crs(crs)
