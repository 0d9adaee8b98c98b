"""The demo county's synthetic digital elevation model (DEM), generated deterministically.

**Synthetic**: no survey or satellite data went into it. It gives the fire-access review
realistic relief to read lane slopes from: the plain of the 塔城 basin in the north around
the county seat (≈ 950 m, falling gently to the north-west), the 巴尔鲁克山 range across
the south-centre (crest 2,400–3,200 m along a WSW–ENE axis inside the published extent of
the nature reserve, 82°26′–83°13′E, 45°42′–46°03′N) and an upland of ≈ 1,500 m beyond it.
The heights are chosen to look plausible, not measured.

Run ``python -m layers.demo.dem`` to write ``data/dem/yumin_dem_synthetic.tif`` (about
0.3 MB: 200 m cells in UTM 44N, int16 metres, DEFLATE). The same seed gives the same
heights; ``tests/gis/test_terrain.py`` regenerates the grid and compares it with the file.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from scipy import ndimage

from safemap.layers.paths import DATA_DIR

#: Where the committed GeoTIFF lives.
DEM_FILE = DATA_DIR / "dem" / "yumin_dem_synthetic.tif"
CRS = "EPSG:32644"
CELL_M = 200.0
#: Upper-left corner (UTM 44N metres) and size: the county (82.27–83.46°E, 45.40–46.51°N) with ≈ 5 km margin.
ORIGIN = (594_000.0, 5_158_000.0)
SHAPE = (670, 520)  # rows (north to south), columns (west to east)
SEED = 5

#: Ridge axis of the 巴尔鲁克山 range (UTM 44N metres, west to east) and its crest height there (m).
_RIDGE = (
    (600_000.0, 5_066_000.0, 1_900.0),
    (615_000.0, 5_070_000.0, 2_600.0),
    (630_000.0, 5_074_000.0, 3_150.0),
    (645_000.0, 5_078_000.0, 2_900.0),
    (660_000.0, 5_083_000.0, 2_700.0),
    (675_000.0, 5_088_000.0, 2_400.0),
    (695_000.0, 5_093_000.0, 1_800.0),
)
_SEAT = (652_761.0, 5_118_175.0)  # county seat 哈拉布拉镇, UTM 44N
_SEAT_ELEVATION_M = 950.0


def _grid() -> tuple[np.ndarray, np.ndarray]:
    rows, cols = SHAPE
    x = ORIGIN[0] + (np.arange(cols) + 0.5) * CELL_M
    y = ORIGIN[1] - (np.arange(rows) + 0.5) * CELL_M
    return np.meshgrid(x, y)


def _ridge_frame(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Northing of the ridge axis and its crest height under each easting (piecewise linear)."""
    rx = np.array([p[0] for p in _RIDGE])
    ry = np.array([p[1] for p in _RIDGE])
    rh = np.array([p[2] for p in _RIDGE])
    return np.interp(x, rx, ry), np.interp(x, rx, rh)


def _noise(rng: np.random.Generator, sigma_cells: float, shape: tuple[int, int]) -> np.ndarray:
    """Smooth noise of unit standard deviation with features about ``4 * sigma_cells`` cells wide."""
    field = ndimage.gaussian_filter(rng.standard_normal(shape), sigma_cells, mode="reflect")
    return field / field.std()


def generate(seed: int = SEED) -> np.ndarray:
    """Heights of the synthetic DEM in metres, ``SHAPE`` rows north to south, as float64.

    Parameters
    ----------
    seed
        Seed of the random generator behind the small-scale relief.
    """
    rng = np.random.default_rng(seed)
    x, y = _grid()
    km_n = (y - _SEAT[1]) / 1000.0
    km_e = (x - _SEAT[0]) / 1000.0
    # Basin floor: 950 m at the county seat, 4 m/km lower northwards, 1.5 m/km lower westwards.
    plain = _SEAT_ELEVATION_M - 4.0 * np.maximum(km_n, 0.0) + 1.5 * km_e - 2.0 * np.minimum(km_n, 0.0)
    axis_y, crest = _ridge_frame(x)
    d = (y - axis_y) / 1000.0  # km north (+) or south (-) of the ridge axis
    # Asymmetric range: a long northern flank into the basin, a shorter southern one onto an upland.
    sigma = np.where(d >= 0, 15.0, 9.0)
    upland = 550.0 / (1.0 + np.exp(d / 6.0))
    base = plain + upland
    uplift = np.maximum(crest - base, 0.0) * np.exp(-((d / sigma) ** 2))
    relief = uplift / 2_500.0  # 0 on the plain, ~1 on the crest
    shape = x.shape
    rugged = 190.0 * _noise(rng, 6.0, shape) + 90.0 * _noise(rng, 2.5, shape) + 35.0 * _noise(rng, 1.0, shape)
    gentle = 14.0 * _noise(rng, 12.0, shape) + 4.0 * _noise(rng, 3.0, shape)
    z = base + uplift + relief * rugged + gentle
    return np.maximum(z, 400.0)


def write(path: Path = DEM_FILE, seed: int = SEED) -> Path:
    """Write the DEM as a GeoTIFF (int16 metres, DEFLATE) marked synthetic in its tags."""
    import rasterio
    from rasterio.transform import from_origin

    heights = np.rint(generate(seed)).astype("int16")
    path.parent.mkdir(parents=True, exist_ok=True)
    profile = {
        "driver": "GTiff",
        "width": SHAPE[1],
        "height": SHAPE[0],
        "count": 1,
        "dtype": "int16",
        "crs": CRS,
        "transform": from_origin(ORIGIN[0], ORIGIN[1], CELL_M, CELL_M),
        "nodata": -32768,
        "compress": "deflate",
        "predictor": 2,
        "zlevel": 9,
        "tiled": False,
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(heights, 1)
        dst.update_tags(
            SYNTHETIC="yes",
            DESCRIPTION="SYNTHETIC demo DEM of 裕民县 (not survey data): basin plain in the north, "
            "巴尔鲁克山 range in the south; heights plausible, not measured",
            GENERATOR=f"python -m layers.demo.dem (layers/demo/dem.py, seed={seed})",
            UNITS="metres above sea level",
        )
        dst.set_band_description(1, "elevation_m (synthetic)")
    return path


if __name__ == "__main__":
    out = write(Path(sys.argv[1]) if len(sys.argv) > 1 else DEM_FILE)
    print(f"{out}: {out.stat().st_size / 1024:.0f} KiB")
