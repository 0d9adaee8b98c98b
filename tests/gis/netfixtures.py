"""Small hand-built networks in a metric frame (UTM 44N near 裕民县) with known answers."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
from pyproj import Transformer
from shapely.geometry import LineString

UTM = "EPSG:32644"
ORIGIN = (650_000.0, 5_110_000.0)
_TO_LL = Transformer.from_crs(UTM, "EPSG:4326", always_xy=True)


def ll(x: float, y: float) -> tuple[float, float]:
    """Lon/lat of a point given in metres from :data:`ORIGIN`."""
    lon, lat = _TO_LL.transform(ORIGIN[0] + x, ORIGIN[1] + y)
    return float(lon), float(lat)


def road(fid: int, coords: list[tuple[float, float]], **props: Any) -> dict[str, Any]:
    """A road row in metres (converted to lon/lat by :func:`frame`)."""
    base = {
        "id": fid,
        "name": f"路{fid}",
        "ref": None,
        "road_class": "county",
        "speed_kmh": 36.0,  # 10 m/s: a 1000 m segment takes 100 s
        "oneway": False,
        "width_m": 8.0,
        "max_height_m": None,
        "max_weight_t": None,
        "status": "open",
        "source": "test",
    }
    base.update(props)
    base["geometry"] = LineString([(ORIGIN[0] + x, ORIGIN[1] + y) for x, y in coords])
    return base


def frame(rows: list[dict[str, Any]]) -> gpd.GeoDataFrame:
    """Rows in metres -> GeoDataFrame in lon/lat like ``store.to_geodataframe('roads')``."""
    g = gpd.GeoDataFrame(rows, geometry="geometry", crs=UTM).to_crs("EPSG:4326")
    return g


def ladder() -> gpd.GeoDataFrame:
    """Two parallel 2 km streets joined by three rungs, drawn without junction vertices.

    ::

        y=1000  A ---------------------------- B      road 1 (north street, 2000 m)
                 |(3)          |(4)           |(5)   rungs at x = 0, 1000, 2000 (1000 m each)
        y=0     C ---------------------------- D      road 2 (south street, 2000 m)

    The rung at x=1000 crosses neither street's vertex: the builder must find both
    T-junctions. Road 4 (the middle rung) has a 3.6 m clear height.
    """
    return frame(
        [
            road(1, [(0, 1000), (2000, 1000)]),
            road(2, [(0, 0), (2000, 0)]),
            road(3, [(0, 0), (0, 1000)]),
            road(4, [(1000, 0), (1000, 1000)], name="渡槽下穿", max_height_m=3.6),
            road(5, [(2000, 0), (2000, 1000)]),
        ]
    )


def random_xy(n: int, seed: int = 1, size: float = 2000.0) -> np.ndarray:
    """``n`` random points in the square [0, size]² (metres)."""
    return np.random.default_rng(seed).uniform(0, size, (n, 2))


def ringed_cross(*extra: dict[str, Any]) -> gpd.GeoDataFrame:
    """Four spokes from the origin O (500 m + 1000 m each) and a square ring through their ends.

    ::

        (-1500,1500) ─── N2 (0,1500) ─── (1500,1500)      ring: eight 1500 m pieces
             │               │                │
        W2 (-1500,0) ── W1 ─ O ─ E1 ── E2 (1500,0)         spokes: O–X1 500 m, X1–X2 1000 m
             │               │                │
        (-1500,-1500) ── S2 (0,-1500) ── (1500,-1500)
                             │
                          S3 (0,-2500)                     a 1000 m spur south of the ring

    Roads 1–8 are the spokes (N, E, S, W; inner piece first), 9–16 the ring, 17 the spur;
    ``extra`` road rows are added as given.
    """
    rows = []
    fid = 1
    for dx, dy in ((0, 1), (1, 0), (0, -1), (-1, 0)):
        rows.append(road(fid, [(0, 0), (500 * dx, 500 * dy)]))
        rows.append(road(fid + 1, [(500 * dx, 500 * dy), (1500 * dx, 1500 * dy)]))
        fid += 2
    ring = [(0, 1500), (1500, 1500), (1500, 0), (1500, -1500), (0, -1500), (-1500, -1500), (-1500, 0), (-1500, 1500)]
    for a, b in zip(ring, [*ring[1:], ring[0]], strict=True):
        rows.append(road(fid, [a, b], name=f"环路{fid}"))
        fid += 1
    rows.append(road(fid, [(0, -1500), (0, -2500)], name="南支路"))
    return frame([*rows, *extra])
