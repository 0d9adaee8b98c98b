"""Rules for tracked vehicles: geofences, off-route distance, stops, dwell near targets, time windows.

Pure functions (no I/O, no store) over arrays of GPS fixes in WGS 84 lon/lat degrees.
Distances are measured in metres in the local UTM zone of the data
(:func:`safemap.gis.projection.utm_epsg` of the centre of the data's extent; scale error under
0.1 % within a zone), or geodesically on the WGS 84 ellipsoid where noted.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import datetime, time
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from pyproj import Geod, Transformer
from shapely import STRtree
from shapely.geometry.base import BaseGeometry

from safemap.gis.projection import utm_epsg

_GEOD = Geod(ellps="WGS84")
DENSIFY_DEG = 0.001
"""Route vertices are spaced at most this far apart (degrees, ≈ 80–110 m) before projecting, so a
long straight segment drawn on the map keeps its shape in UTM (error ≪ 1 m)."""

Stop = tuple[datetime, datetime, float, float]
"""A stop episode: ``(start_ts, end_ts, lon, lat)``."""


def _xy(lon: Any, lat: Any) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    x = np.atleast_1d(np.asarray(lon, dtype=float))
    y = np.atleast_1d(np.asarray(lat, dtype=float))
    if x.shape != y.shape:
        raise ValueError(f"lon and lat differ in length: {x.shape} vs {y.shape}")
    return x, y


def _utm_transformer(lons: npt.NDArray[np.float64], lats: npt.NDArray[np.float64]) -> Transformer:
    """Lon/lat → UTM of the centre of the finite coordinates' extent."""
    ok = np.isfinite(lons) & np.isfinite(lats)
    if not ok.any():
        lon0, lat0 = 82.9, 46.2
    else:
        lon0 = (float(lons[ok].min()) + float(lons[ok].max())) / 2
        lat0 = (float(lats[ok].min()) + float(lats[ok].max())) / 2
    return Transformer.from_crs(4326, utm_epsg(lon0, lat0), always_xy=True)


def geofence_hits(lon: Any, lat: Any, fences_geoms: Sequence[BaseGeometry | None]) -> list[list[int]]:
    """Fences containing each point.

    Parameters
    ----------
    lon, lat
        Point coordinates, degrees (WGS 84), array-like of equal length.
    fences_geoms
        Fence polygons in lon/lat degrees (a list, array or GeoSeries ``.values``); ``None`` and
        empty geometries never contain anything.

    Returns
    -------
    list[list[int]]
        For each point, the positions in ``fences_geoms`` of the fences holding it, ascending.
        A point **on a fence's boundary counts as inside** (predicate ``intersects``): a vehicle
        on the line of a no-entry zone is already at it. Points with NaN coordinates hit nothing.
    """
    x, y = _xy(lon, lat)
    out: list[list[int]] = [[] for _ in range(len(x))]
    if len(x) == 0 or len(fences_geoms) == 0:
        return out
    tree = STRtree(np.asarray(list(fences_geoms), dtype=object))
    ok = np.isfinite(x) & np.isfinite(y)
    idx = np.flatnonzero(ok)
    points = shapely.points(x[idx], y[idx])
    pairs = tree.query(points, predicate="intersects")
    for p, f in sorted(zip(pairs[0].tolist(), pairs[1].tolist(), strict=True)):
        out[int(idx[p])].append(int(f))
    return out


def off_route_m(lon: Any, lat: Any, route_geom: BaseGeometry | None) -> npt.NDArray[np.float64]:
    """Distance of each point to a route line, metres.

    Parameters
    ----------
    lon, lat
        Point coordinates, degrees (WGS 84), array-like of equal length.
    route_geom
        The registered route (LineString/MultiLineString) in lon/lat degrees.

    Returns
    -------
    numpy.ndarray
        Shortest planar distance in the local UTM zone (chosen from the centre of the points'
        and the route's combined extent), metres; the route is densified to
        :data:`DENSIFY_DEG` before projection. NaN for points with NaN coordinates and for
        every point when the route is missing or empty.
    """
    x, y = _xy(lon, lat)
    if route_geom is None or route_geom.is_empty:
        return np.full(len(x), np.nan)
    minx, miny, maxx, maxy = route_geom.bounds
    lons = np.concatenate([x, [minx, maxx]])
    lats = np.concatenate([y, [miny, maxy]])
    tr = _utm_transformer(lons, lats)
    route = shapely.segmentize(route_geom, DENSIFY_DEG)
    route_m = shapely.transform(route, lambda c: np.column_stack(tr.transform(c[:, 0], c[:, 1])))
    ok = np.isfinite(x) & np.isfinite(y)
    out = np.full(len(x), np.nan)
    if ok.any():
        px, py = tr.transform(x[ok], y[ok])
        out[ok] = shapely.distance(shapely.points(np.asarray(px), np.asarray(py)), route_m)
    return out


def stops(
    ts: Sequence[datetime],
    lon: Any,
    lat: Any,
    speed_kmh: Sequence[float | None] | None,
    *,
    min_stop_s: float,
    move_m: float = 30.0,
    slow_kmh: float = 3.0,
) -> list[Stop]:
    """Stop episodes of a track.

    An episode starts at a fix that does not report a speed of ``slow_kmh`` or more (its
    *anchor*, "where the vehicle stopped") and takes in each
    following fix that lies within ``move_m`` of the anchor **or** reports a speed below
    ``slow_kmh`` (GPS drift while parked can exceed ``move_m``). The first fix that is neither
    ends it, and becomes the next candidate anchor. An episode lasting at least ``min_stop_s``
    (last fix − anchor fix) is a stop. A gap in the fixes inside an episode counts as stopped
    time (a parked vehicle's tracker may sleep); a stop still going on at the last fix is
    reported with that fix as its end.

    Parameters
    ----------
    ts
        Fix times (aware datetimes); sorted here if they are not.
    lon, lat
        Fix coordinates, degrees (WGS 84). Fixes with NaN coordinates are dropped.
    speed_kmh
        Reported speeds, km/h (``None``/NaN = not reported: only the distance counts), or
        ``None`` for none at all.
    min_stop_s
        Shortest stop reported, seconds.
    move_m
        Radius around the anchor within which the vehicle counts as standing, metres (UTM).
    slow_kmh
        Reported speed below which a fix counts as standing wherever it is, km/h.

    Returns
    -------
    list[tuple[datetime, datetime, float, float]]
        ``(start_ts, end_ts, lon, lat)`` per stop in time order; lon/lat of the anchor fix.
    """
    x, y = _xy(lon, lat)
    n = len(x)
    if len(ts) != n:
        raise ValueError(f"ts and lon differ in length: {len(ts)} vs {n}")
    speed = np.full(n, np.nan)
    if speed_kmh is not None:
        if len(speed_kmh) != n:
            raise ValueError(f"speed_kmh and lon differ in length: {len(speed_kmh)} vs {n}")
        speed = np.array([np.nan if s is None else float(s) for s in speed_kmh], dtype=float)
    keep = [i for i in sorted(range(n), key=lambda i: ts[i]) if math.isfinite(x[i]) and math.isfinite(y[i])]
    if not keep:
        return []
    times = [ts[i] for i in keep]
    x, y, speed = x[keep], y[keep], speed[keep]
    tr = _utm_transformer(x, y)
    ex, ey = (np.asarray(a, dtype=float) for a in tr.transform(x, y))
    slow = np.isfinite(speed) & (speed < slow_kmh)
    out: list[Stop] = []
    i, m = 0, len(times)
    moving = np.isfinite(speed) & (speed >= slow_kmh)
    while i < m:
        if moving[i]:
            i += 1
            continue
        k = i
        while k + 1 < m and (slow[k + 1] or math.hypot(ex[k + 1] - ex[i], ey[k + 1] - ey[i]) <= move_m):
            k += 1
        if (times[k] - times[i]).total_seconds() >= min_stop_s:
            out.append((times[i], times[k], float(x[i]), float(y[i])))
        i = k + 1
    return out


def dwell_near(stop_lonlat: tuple[float, float], targets_lon: Any, targets_lat: Any, radius_m: float) -> list[int]:
    """Targets within ``radius_m`` of a stop.

    Parameters
    ----------
    stop_lonlat
        ``(lon, lat)`` of the stop, degrees (WGS 84).
    targets_lon, targets_lat
        Target coordinates, degrees, array-like of equal length (NaN = never near).
    radius_m
        Radius, metres; geodesic distance on the WGS 84 ellipsoid, the radius itself included.

    Returns
    -------
    list[int]
        Positions of the targets within the radius, nearest first.
    """
    tx, ty = _xy(targets_lon, targets_lat)
    if len(tx) == 0:
        return []
    ok = np.isfinite(tx) & np.isfinite(ty)
    dist = np.full(len(tx), np.inf)
    if ok.any():
        k = int(ok.sum())
        _, _, d = _GEOD.inv(np.full(k, stop_lonlat[0]), np.full(k, stop_lonlat[1]), tx[ok], ty[ok])
        dist[ok] = np.asarray(d, dtype=float)
    hits = np.flatnonzero(dist <= radius_m)
    return [int(i) for i in hits[np.argsort(dist[hits], kind="stable")]]


_HOURS = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


def _minute(h: str, m: str, hours: str) -> int:
    hh, mm = int(h), int(m)
    if not (0 <= hh <= 24 and 0 <= mm < 60) or (hh == 24 and mm):
        raise ValueError(f"bad time window {hours!r}")
    return hh * 60 + mm


def in_hours(local_time: datetime | time, hours: str | None) -> bool:
    """Whether a local time falls in a daily window ``"HH:MM-HH:MM"``.

    Parameters
    ----------
    local_time
        Wall-clock time in the fence's time zone (a ``datetime`` or a ``time``; only the time of
        day counts).
    hours
        ``"HH:MM-HH:MM"``, start included, end excluded; a window whose end is before its start
        runs over midnight (``"22:00-06:00"`` = 22:00 to 06:00 next morning); equal start and end
        (``"00:00-00:00"``) or empty/``None`` = always. ``24:00`` is allowed as an end.

    Returns
    -------
    bool

    Raises
    ------
    ValueError
        When ``hours`` is not a valid window.
    """
    if hours is None or not hours.strip():
        return True
    m = _HOURS.match(hours)
    if m is None:
        raise ValueError(f"bad time window {hours!r}, expected HH:MM-HH:MM")
    start = _minute(m.group(1), m.group(2), hours)
    end = _minute(m.group(3), m.group(4), hours)
    t = local_time.time() if isinstance(local_time, datetime) else local_time
    now = t.hour * 60 + t.minute + (t.second + t.microsecond / 1e6) / 60
    start, end = start % 1440, end % 1440
    if start == end:
        return True
    if start < end:
        return start <= now < end
    return now >= start or now < end
