"""The elevation model (DEM) the fire-access review reads lane slopes from.

The default is the demo county's synthetic DEM in ``data/dem/`` (see its README);
``SAFEMAP_DEM_PATH`` points at another GeoTIFF (any CRS rasterio reads, heights in
metres). Only the part under the requested bounds is read.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from safemap.layers.paths import DATA_DIR

DEFAULT_DEM = DATA_DIR / "dem" / "yumin_dem_synthetic.tif"


@dataclass(frozen=True)
class Dem:
    """Heights in metres (NaN where missing) with the grid's affine coefficients and CRS."""

    heights: np.ndarray
    transform: tuple[float, float, float, float, float, float]
    crs: str
    synthetic: bool
    path: str


def dem_path() -> Path:
    """The DEM file in use: ``SAFEMAP_DEM_PATH`` when set, else the demo county's synthetic DEM."""
    return Path(os.environ.get("SAFEMAP_DEM_PATH") or DEFAULT_DEM)


def read_dem(
    path: Path | None = None, bounds_lonlat: tuple[float, float, float, float] | None = None, margin_cells: int = 2
) -> Dem | None:
    """Read the DEM (or the window covering ``bounds_lonlat``); ``None`` when there is no file.

    Parameters
    ----------
    path
        GeoTIFF to read; default :func:`dem_path`.
    bounds_lonlat
        (min lon, min lat, max lon, max lat) of the features that need heights.
    margin_cells
        Extra cells read around the window so interpolation near its edge has neighbours.
    """
    import rasterio
    from rasterio.warp import transform_bounds
    from rasterio.windows import Window

    path = path or dem_path()
    if not path.exists():
        return None
    with rasterio.open(path) as src:
        a, _b, c, _d, e, f = tuple(src.transform)[:6]
        window = None
        col0 = row0 = 0
        if bounds_lonlat is not None:
            left, bottom, right, top = transform_bounds("EPSG:4326", src.crs, *bounds_lonlat)
            # Pixel window of the bounds (north-up grid), widened by the margin and clipped to the file.
            cols = sorted(((left - c) / a, (right - c) / a))
            rows = sorted(((top - f) / e, (bottom - f) / e))
            col0 = max(int(np.floor(cols[0])) - margin_cells, 0)
            row0 = max(int(np.floor(rows[0])) - margin_cells, 0)
            col1 = min(int(np.ceil(cols[1])) + margin_cells, src.width)
            row1 = min(int(np.ceil(rows[1])) + margin_cells, src.height)
            if col1 <= col0 or row1 <= row0:
                return None
            window = Window(col0, row0, col1 - col0, row1 - row0)
        band = src.read(1, window=window, masked=True)
        heights = band.astype("float64").filled(np.nan)
        transform = (a, 0.0, c + col0 * a, 0.0, e, f + row0 * e)
        synthetic = str(src.tags().get("SYNTHETIC", "")).lower() == "yes"
        return Dem(heights, transform, src.crs.to_string(), synthetic, str(path))
