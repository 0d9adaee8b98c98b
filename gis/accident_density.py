"""Kernel density of accident locations (事故热力图) on a regular grid.

Pure function over projected point coordinates (metres, in a metric CRS such as the local UTM
zone); no I/O. The result is a raster of accidents (or weighted accidents, e.g. deaths) per km².

The kernel is the quartic (biweight) kernel of Silverman (1986), *Density Estimation for
Statistics and Data Analysis*, eq. 4.5, in two dimensions
``K(d) = 3 / (π r²) · (1 − d²/r²)²`` for ``d < r`` and 0 beyond; it integrates to 1 over the
plane, so the raster integrates to the total weight (less what falls outside the grid). It is
the kernel of ArcGIS Pro's *Kernel Density* tool and of QGIS's *Heatmap (Kernel Density
Estimation)* algorithm, so the map matches what the county's GIS staff would get there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.signal import fftconvolve

M2_PER_KM2 = 1.0e6
MAX_CELLS = 50_000_000
"""Largest grid accepted (cells): 50 M float64 cells is 400 MB, beyond that the caller erred."""
_EXACT_WORK = 30_000_000
"""Above this many point × kernel-cell evaluations the points are binned to cells and the kernel
applied by FFT convolution (error ≤ half a cell in position, negligible when r ≫ cell)."""
_CHUNK = 4_000_000
"""Kernel evaluations per chunk in the exact path: bounds the temporary arrays to ~100 MB."""

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class DensityGrid:
    """A density raster.

    Attributes
    ----------
    values
        float64 array (rows, cols), rows from north to south, density per km² (weight units
        per km², e.g. accidents/km²).
    transform
        Affine coefficients ``(cell, 0, x0, 0, -cell, y1)`` in the points' metric CRS (metres):
        ``x0`` is the west edge, ``y1`` the north edge (rasterio/GDAL order a, b, c, d, e, f).
    radius_m
        Kernel search radius (bandwidth), metres.
    cell_m
        Cell size, metres.
    total_weight
        Sum of the weights of all input points (also those whose kernel falls partly outside).
    """

    values: FloatArray
    transform: tuple[float, float, float, float, float, float]
    radius_m: float
    cell_m: float
    total_weight: float


def default_radius(xy: FloatArray, weights: FloatArray | None = None) -> float | None:
    """ArcGIS Pro's default search radius for Kernel Density.

    ``0.9 × min(SD, sqrt(1/ln 2) × Dm) × n^-0.2`` with SD the standard distance of the points
    about their (weighted) mean centre, Dm the (weighted) median distance to that centre and n
    the number of points, or the sum of the weights when weights are given (ArcGIS Pro
    documentation, "How Kernel Density works", section "Default search radius (bandwidth)").

    Parameters
    ----------
    xy
        (n, 2) coordinates, metres.
    weights
        Optional non-negative weights per point (the ArcGIS "population field").

    Returns
    -------
    float | None
        Radius in metres, or None when it is undefined (fewer than 2 points, no weight, or all
        points at one place).
    """
    pts = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    if len(pts) < 2:
        return None
    w = np.ones(len(pts)) if weights is None else np.asarray(weights, dtype=np.float64)
    total = float(w.sum())
    if total <= 0:
        return None
    centre = (pts * w[:, None]).sum(axis=0) / total
    d = np.hypot(pts[:, 0] - centre[0], pts[:, 1] - centre[1])
    sd = math.sqrt(float((w * d * d).sum()) / total)
    if weights is None:
        dm = float(np.median(d))
        n = float(len(pts))
    else:
        order = np.argsort(d)
        cum = np.cumsum(w[order])
        dm = float(d[order][np.searchsorted(cum, total / 2.0)])
        n = total
    radius = 0.9 * min(sd, math.sqrt(1.0 / math.log(2.0)) * dm) * n**-0.2
    return radius if radius > 0 and math.isfinite(radius) else None


def _grid(
    bounds: tuple[float, float, float, float], cell: float
) -> tuple[int, int, tuple[float, float, float, float, float, float]]:
    xmin, ymin, xmax, ymax = (float(b) for b in bounds)
    if not all(math.isfinite(b) for b in (xmin, ymin, xmax, ymax)) or xmax <= xmin or ymax <= ymin:
        raise ValueError(f"范围无效：{bounds}（应为 xmin < xmax, ymin < ymax，单位米）")
    cols = max(1, math.ceil((xmax - xmin) / cell - 1e-9))
    rows = max(1, math.ceil((ymax - ymin) / cell - 1e-9))
    if rows * cols > MAX_CELLS:
        raise ValueError(f"栅格过大：{rows}×{cols} 个像元（上限 {MAX_CELLS}），请增大像元尺寸")
    return rows, cols, (cell, 0.0, xmin, 0.0, -cell, ymax)


def _quartic(d2: FloatArray, r: float) -> FloatArray:
    """Quartic kernel per m² at squared distances ``d2`` (m²); 0 at and beyond r."""
    u = 1.0 - d2 / (r * r)
    return np.where(u > 0, 3.0 / (math.pi * r * r) * u * u, 0.0)


def _exact(
    pts: FloatArray, w: FloatArray, rows: int, cols: int, x0: float, y1: float, cell: float, r: float
) -> FloatArray:
    """Kernel evaluated at every cell centre within r of each point (chunked over points)."""
    k = math.ceil(r / cell) + 1
    off = np.arange(-k, k + 1)
    grid_j, grid_i = np.meshgrid(off, off)
    dj, di = grid_j.ravel(), grid_i.ravel()
    # Fractional column/row index of each point relative to the cell centres.
    fc = (pts[:, 0] - x0) / cell - 0.5
    fr = (y1 - pts[:, 1]) / cell - 0.5
    j0 = np.rint(fc).astype(np.int64)
    i0 = np.rint(fr).astype(np.int64)
    out = np.zeros(rows * cols)
    step = max(1, _CHUNK // len(off) ** 2)
    for s in range(0, len(pts), step):
        jj = j0[s : s + step, None] + dj[None, :]
        ii = i0[s : s + step, None] + di[None, :]
        dx = (jj + 0.5) * cell + x0 - pts[s : s + step, 0:1]
        dy = y1 - (ii + 0.5) * cell - pts[s : s + step, 1:2]
        val = _quartic(dx * dx + dy * dy, r) * w[s : s + step, None]
        ok = (val > 0) & (jj >= 0) & (jj < cols) & (ii >= 0) & (ii < rows)
        out += np.bincount((ii[ok] * cols + jj[ok]), weights=val[ok], minlength=rows * cols)
    return out.reshape(rows, cols)


def _binned(
    pts: FloatArray, w: FloatArray, rows: int, cols: int, x0: float, y1: float, cell: float, r: float
) -> FloatArray:
    """Points snapped to cell centres, then the sampled kernel applied by FFT convolution."""
    k = math.ceil(r / cell)
    # Pad by k cells so points just outside the grid still spread into it.
    prow, pcol = rows + 2 * k, cols + 2 * k
    j = np.floor((pts[:, 0] - x0) / cell).astype(np.int64) + k
    i = np.floor((y1 - pts[:, 1]) / cell).astype(np.int64) + k
    ok = (j >= 0) & (j < pcol) & (i >= 0) & (i < prow)
    mass = np.bincount(i[ok] * pcol + j[ok], weights=w[ok], minlength=prow * pcol).reshape(prow, pcol)
    off = np.arange(-k, k + 1) * cell
    kernel = _quartic(off[None, :] ** 2 + off[:, None] ** 2, r)
    dens = fftconvolve(mass, kernel, mode="same")[k : k + rows, k : k + cols]
    # FFT round-off leaves ~1e-17 ripples where the density is truly 0.
    dens[dens < float(kernel.max()) * 1e-9 * max(float(w.max()), 1e-300)] = 0.0
    return np.asarray(dens, dtype=np.float64)


def kernel_density(
    xy: npt.ArrayLike,
    weights: npt.ArrayLike | None = None,
    *,
    cell_m: float = 250.0,
    radius_m: float | None = None,
    bounds: tuple[float, float, float, float] | None = None,
) -> DensityGrid:
    """Quartic kernel density of points on a grid, per km².

    Parameters
    ----------
    xy
        (n, 2) point coordinates in a metric CRS, metres.
    weights
        Non-negative weight per point (e.g. deaths); default 1 each.
    cell_m
        Cell size, metres (> 0).
    radius_m
        Search radius (bandwidth), metres (> 0). Default: ArcGIS Pro's rule
        (:func:`default_radius`); 10 cells when that is undefined (fewer than 2 points or all
        at one place).
    bounds
        ``(xmin, ymin, xmax, ymax)`` of the grid, metres; the grid starts at ``xmin``/``ymax`` and
        covers the bounds with whole cells. Default: the points' bounding box grown by the
        radius, snapped outward to multiples of the cell size.

    Returns
    -------
    DensityGrid
        Density evaluated at cell centres, weight per km² (per-m² kernel × 1e6).

    Raises
    ------
    ValueError
        ``cell_m`` or ``radius_m`` not positive, negative or non-finite weights, non-finite
        coordinates, invalid bounds, a grid over :data:`MAX_CELLS`, or no points and no bounds.
    """
    cell = float(cell_m)
    if not math.isfinite(cell) or cell <= 0:
        raise ValueError(f"像元尺寸 cell_m 应为正数（米）：{cell_m}")
    if radius_m is not None and (not math.isfinite(float(radius_m)) or float(radius_m) <= 0):
        raise ValueError(f"搜索半径 radius_m 应为正数（米）：{radius_m}")
    pts = np.asarray(xy, dtype=np.float64)
    if pts.size == 0:
        pts = pts.reshape(0, 2)
    if pts.ndim != 2 or pts.shape[1] != 2:
        raise ValueError(f"xy 应为 (n, 2) 的坐标数组（米），实际形状 {pts.shape}")
    if not np.isfinite(pts).all():
        raise ValueError("xy 含有非有限坐标（NaN 或无穷）")
    if weights is None:
        w = np.ones(len(pts))
        given: FloatArray | None = None
    else:
        w = np.asarray(weights, dtype=np.float64).reshape(-1)
        if len(w) != len(pts):
            raise ValueError(f"weights 长度 {len(w)} 与点数 {len(pts)} 不一致")
        if not np.isfinite(w).all() or (w < 0).any():
            raise ValueError("weights 应为非负有限数")
        given = w
    if radius_m is not None:
        r = float(radius_m)
    else:
        auto = default_radius(pts, given) if len(pts) else None
        r = auto if auto is not None else 10.0 * cell
    if bounds is None:
        if len(pts) == 0:
            raise ValueError("没有事故点，且未给出范围 bounds，无法生成密度栅格")
        lo = pts.min(axis=0) - r
        hi = pts.max(axis=0) + r
        bounds = (
            math.floor(lo[0] / cell) * cell,
            math.floor(lo[1] / cell) * cell,
            math.ceil(hi[0] / cell) * cell,
            math.ceil(hi[1] / cell) * cell,
        )
    rows, cols, transform = _grid(bounds, cell)
    x0, y1 = transform[2], transform[5]
    total = float(w.sum())
    keep = w > 0
    pts, w = pts[keep], w[keep]
    if len(pts) == 0:
        values = np.zeros((rows, cols))
    else:
        patch = (2 * (math.ceil(r / cell) + 1) + 1) ** 2
        if len(pts) * patch <= _EXACT_WORK:
            values = _exact(pts, w, rows, cols, x0, y1, cell, r)
        else:
            values = _binned(pts, w, rows, cols, x0, y1, cell, r)
    return DensityGrid(
        values=np.ascontiguousarray(values * M2_PER_KM2, dtype=np.float64),
        transform=transform,
        radius_m=r,
        cell_m=cell,
        total_weight=total,
    )
