"""The elevation model (DEM) the fire-access review and the tailings breach analysis read.

Which file is used, first found wins (:func:`dem_path`):

1. ``SAFEMAP_DEM_PATH`` — any GeoTIFF rasterio reads, heights in metres;
2. a DEM loaded with ``safemap dem load`` (:func:`load_dem`): ``dem.tif`` with its provenance
   ``dem.json`` in :func:`loaded_dem_dir` (``SAFEMAP_DEM_DIR``, else ``dem/`` next to the
   GeoPackage store, i.e. ``var/dem/`` by default — writable, outside the checkout's data);
3. the demo county's synthetic DEM in ``data/dem/`` (see its README; tagged ``SYNTHETIC=yes``).

Only the part under the requested bounds is read.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


#: File names of a loaded DEM and its provenance inside :func:`loaded_dem_dir`.
LOADED_NAME, PROVENANCE_NAME = "dem.tif", "dem.json"
#: Nodata value of a loaded DEM (float32 heights).
LOADED_NODATA = -32768.0


def loaded_dem_dir() -> Path:
    """Where ``safemap dem load`` writes: ``SAFEMAP_DEM_DIR``, else ``dem/`` beside the GeoPackage store.

    The store's folder (``SAFEMAP_GPKG_PATH``'s parent, ``var/`` by default) is the deployment's
    writable data directory; the checkout's ``data/`` stays read-only.
    """
    if os.environ.get("SAFEMAP_DEM_DIR"):
        return Path(os.environ["SAFEMAP_DEM_DIR"])
    gpkg = Path(os.environ.get("SAFEMAP_GPKG_PATH") or "var/safemap.gpkg")
    return gpkg.parent / "dem"


def dem_path() -> Path:
    """The DEM file in use: ``SAFEMAP_DEM_PATH``, else a loaded DEM, else the demo county's synthetic DEM."""
    if os.environ.get("SAFEMAP_DEM_PATH"):
        return Path(os.environ["SAFEMAP_DEM_PATH"])
    loaded = loaded_dem_dir() / LOADED_NAME
    return loaded if loaded.exists() else DEFAULT_DEM


def provenance(path: Path | None = None) -> dict[str, Any]:
    """What is known of the DEM in use: file, CRS, cell size, synthetic flag and where it came from.

    Parameters
    ----------
    path
        DEM file; default :func:`dem_path`.

    Returns
    -------
    dict
        ``path``, ``exists``, ``synthetic``, ``crs``, ``cell_m`` (x, y), ``size`` (cols, rows),
        ``origin`` (``env``, ``loaded`` or ``demo``) and, for a loaded DEM, ``loaded`` (its record).
    """
    import rasterio

    path = path or dem_path()
    env = os.environ.get("SAFEMAP_DEM_PATH")
    origin = "env" if env and Path(env) == path else "demo" if path == DEFAULT_DEM else "loaded"
    out: dict[str, Any] = {"path": str(path), "exists": path.exists(), "origin": origin}
    if not path.exists():
        return out
    with rasterio.open(path) as src:
        tags = src.tags()
        out.update(
            synthetic=str(tags.get("SYNTHETIC", "")).lower() == "yes",
            crs=src.crs.to_string() if src.crs else None,
            cell_m=(abs(src.transform.a), abs(src.transform.e)),
            size=(src.width, src.height),
            source=tags.get("SOURCE") or ("合成演示数据" if path == DEFAULT_DEM else path.name),
        )
    record = path.with_name(PROVENANCE_NAME)
    if origin == "loaded" and record.exists():
        out["loaded"] = json.loads(record.read_text(encoding="utf-8"))
    return out


def utm_crs(lon: float, lat: float) -> str:
    """The WGS 84 UTM zone of a point as ``EPSG:326xx`` (north) or ``EPSG:327xx`` (south)."""
    zone = min(max(math.floor((lon + 180.0) / 6.0) + 1, 1), 60)
    return f"EPSG:{32600 + zone if lat >= 0 else 32700 + zone}"


def load_dem(source: Path, dst_crs: str, target_dir: Path | None = None) -> dict[str, Any]:
    """Reproject a GeoTIFF DEM (any CRS) to ``dst_crs`` at its own resolution and make it the DEM in use.

    The cell size is the source's, carried into ``dst_crs`` by
    ``rasterio.warp.calculate_default_transform`` (a degree grid becomes about the same
    number of metric cells); heights are resampled bilinearly. The file and its provenance
    (source name, CRS, cell size, SHA-256, time) are written atomically into ``target_dir``.

    Parameters
    ----------
    source
        GeoTIFF with a CRS, heights in metres.
    dst_crs
        Target CRS, e.g. the county's UTM zone (:func:`utm_crs`).
    target_dir
        Where to write; default :func:`loaded_dem_dir`.

    Returns
    -------
    dict
        The provenance record.

    Raises
    ------
    ValueError
        The file is not a raster rasterio reads, has no CRS, or holds no height.
    """
    import numpy as np
    import rasterio
    from rasterio.errors import RasterioError
    from rasterio.warp import Resampling, calculate_default_transform, reproject

    target = target_dir or loaded_dem_dir()
    try:
        src = rasterio.open(source)
    except (RasterioError, OSError) as exc:
        raise ValueError(f"不是可读取的栅格文件（GeoTIFF）：{exc}") from None
    with src:
        if src.crs is None:
            raise ValueError("文件没有坐标参考系（CRS），无法投影")
        transform, width, height = calculate_default_transform(src.crs, dst_crs, src.width, src.height, *src.bounds)
        band = src.read(1, masked=True).astype("float32").filled(np.nan)
        if not np.isfinite(band).any():
            raise ValueError("文件中没有有效高程值")
        out = np.full((height, width), np.nan, dtype="float32")
        reproject(
            band,
            out,
            src_transform=src.transform,
            src_crs=src.crs,
            src_nodata=np.nan,
            dst_transform=transform,
            dst_crs=dst_crs,
            dst_nodata=np.nan,
            resampling=Resampling.bilinear,
        )
        synthetic = str(src.tags().get("SYNTHETIC", "")).lower() == "yes"
        record = {
            "source": source.name,
            "source_crs": src.crs.to_string(),
            "source_cell": [abs(src.transform.a), abs(src.transform.e)],
            "source_size": [src.width, src.height],
            "crs": dst_crs,
            "cell_m": [abs(transform.a), abs(transform.e)],
            "size": [width, height],
            "synthetic": synthetic,
            "sha256": hashlib.sha256(source.read_bytes()).hexdigest(),
            "loaded_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }
    out = np.where(np.isnan(out), LOADED_NODATA, out).astype("float32")
    target.mkdir(parents=True, exist_ok=True)
    tmp = target / f".{LOADED_NAME}.{os.getpid()}.tmp"
    profile = {
        "driver": "GTiff",
        "dtype": "float32",
        "count": 1,
        "width": width,
        "height": height,
        "crs": dst_crs,
        "transform": transform,
        "nodata": LOADED_NODATA,
        "compress": "deflate",
    }
    with rasterio.open(tmp, "w", **profile) as dst:
        dst.write(out, 1)
        dst.update_tags(SYNTHETIC="yes" if synthetic else "no", SOURCE=source.name, SOURCE_CRS=record["source_crs"])
    os.replace(tmp, target / LOADED_NAME)
    meta = target / f".{PROVENANCE_NAME}.tmp"
    meta.write_text(json.dumps(record, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(meta, target / PROVENANCE_NAME)
    return record


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
