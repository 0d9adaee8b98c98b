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
