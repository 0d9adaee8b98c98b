"""Individual-risk grids out: GeoTIFF (metric CRS), a coloured PNG overlay for Leaflet, contour GeoJSON."""

from __future__ import annotations

import base64
import warnings
from typing import Any

import numpy as np
import rasterio
import rasterio.errors
from pyproj import Transformer
from rasterio.io import MemoryFile
from rasterio.transform import from_origin
from rasterio.warp import Resampling, calculate_default_transform, reproject
from shapely.geometry import LineString, mapping

from safemap.api.services.safety import RISK_LEVELS, RiskResult
from safemap.gis.individual_risk import contour_lines

#: Overlay colours by GB 36894 limit band (RGBA): above 3×10⁻⁵ … above 3×10⁻⁷; below: transparent.
BANDS = (
    (3e-5, (127, 0, 0, 200), "≥ 3×10⁻⁵ /年（三类目标在役基准）"),
    (1e-5, (211, 47, 47, 190), "1×10⁻⁵ – 3×10⁻⁵ /年"),
    (3e-6, (245, 124, 0, 180), "3×10⁻⁶ – 1×10⁻⁵ /年"),
    (3e-7, (251, 192, 45, 160), "3×10⁻⁷ – 3×10⁻⁶ /年（高敏感目标新建基准以上）"),
)
LEVEL_LABELS = {3e-7: "3×10⁻⁷", 3e-6: "3×10⁻⁶", 1e-5: "1×10⁻⁵", 3e-5: "3×10⁻⁵"}


def transform_of(result: RiskResult) -> Any:
    """Affine transform of the grid (north-up, upper-left origin)."""
    g = result.grid
    return from_origin(g.x0, g.y0 + g.ny * g.cell_m, g.cell_m, g.cell_m)


def geotiff_bytes(result: RiskResult) -> bytes:
    """The IR grid as a single-band float32 GeoTIFF in the grid's metric CRS (deflate)."""
    g = result.grid
    profile = {
        "driver": "GTiff",
        "height": g.ny,
        "width": g.nx,
        "count": 1,
        "dtype": "float32",
        "crs": result.crs.to_wkt(),
        "transform": transform_of(result),
        "compress": "deflate",
        "predictor": 3,
        "tiled": g.nx >= 256 and g.ny >= 256,
    }
    with MemoryFile() as mem:
        with mem.open(**profile) as dst:
            dst.write(result.ir.astype(np.float32), 1)
            dst.update_tags(
                units="per year",
                quantity="individual risk (GB 36894-2018)",
                scenarios=str(len(result.scenarios)),
                cell_m=str(g.cell_m),
            )
            dst.set_band_description(1, "individual risk per year")
        return mem.read()


def overlay(result: RiskResult) -> dict[str, Any]:
    """A PNG (RGBA, EPSG:3857 pixels) of the limit bands with its lon/lat bounds for ``L.imageOverlay``."""
    g = result.grid
    src_transform = transform_of(result)
    left, bottom, right, top = g.bounds
    dst_crs = "EPSG:3857"
    transform, width, height = calculate_default_transform(result.crs, dst_crs, g.nx, g.ny, left, bottom, right, top)
    warped = np.zeros((height, width), dtype=np.float32)
    reproject(
        result.ir.astype(np.float32),
        warped,
        src_transform=src_transform,
        src_crs=result.crs,
        dst_transform=transform,
        dst_crs=dst_crs,
        resampling=Resampling.nearest,
    )
    rgba = np.zeros((4, height, width), dtype=np.uint8)
    painted = np.zeros((height, width), dtype=bool)
    for level, colour, _ in BANDS:
        m = (warped >= level) & ~painted
        for band in range(4):
            rgba[band][m] = colour[band]
        painted |= m
    with MemoryFile() as mem, warnings.catch_warnings():
        # A PNG carries no georeference; its bounds travel beside it.
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
        with mem.open(driver="PNG", height=height, width=width, count=4, dtype="uint8") as dst:
            dst.write(rgba)
        png = mem.read()
    x0, y1 = transform.c, transform.f
    x1, y0 = transform.c + transform.a * width, transform.f + transform.e * height
    to_ll = Transformer.from_crs(dst_crs, 4326, always_xy=True)
    west, south = to_ll.transform(x0, y0)
    east, north = to_ll.transform(x1, y1)
    return {
        "bounds": [[south, west], [north, east]],
        "image": "data:image/png;base64," + base64.b64encode(png).decode(),
        "legend": [
            {"min_per_year": lv, "color": "rgba({},{},{},{:.2f})".format(*c[:3], c[3] / 255), "label": lab}
            for lv, c, lab in BANDS
        ],
        "max_per_year": float(result.ir.max()) if result.ir.size else 0.0,
        "cell_m": g.cell_m,
        "scenarios": len(result.scenarios),
    }


def contours_geojson(result: RiskResult, levels: tuple[float, ...] = RISK_LEVELS) -> dict[str, Any]:
    """Iso-risk lines at the GB 36894 limits, lon/lat."""
    to_ll = Transformer.from_crs(result.crs, 4326, always_xy=True)
    feats = []
    for level, lines in contour_lines(result.ir, result.grid, levels).items():
        for line in lines:
            if len(line) < 2:
                continue
            lon, lat = to_ll.transform(line[:, 0], line[:, 1])
            feats.append(
                {
                    "type": "Feature",
                    "geometry": mapping(LineString(np.column_stack([lon, lat]))),
                    "properties": {"level_per_year": level, "label": f"个人风险 {LEVEL_LABELS.get(level, level)} /年"},
                }
            )
    return {"type": "FeatureCollection", "features": feats}


def read_geotiff(data: bytes) -> tuple[np.ndarray, Any, Any]:
    """(array, transform, crs) of a GeoTIFF in memory (tests, notebook)."""
    with MemoryFile(data) as mem, mem.open() as src:
        return src.read(1), src.transform, src.crs


__all__ = ["contours_geojson", "geotiff_bytes", "overlay", "rasterio", "read_geotiff"]
