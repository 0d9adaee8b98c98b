"""Tailings dam breach: run-out length, downstream flow path, inundation corridor and arrival times.

Pure: a DEM arrives as a NumPy array of heights (metres, NaN where missing) with its
GDAL-order affine transform in a metric CRS; results are arrays and shapely geometries in
that CRS. No file, store or web access.

Method (each step cites its source):

1. **Released volume and run-out** — the empirical regressions of Concha Larrauri & Lall
   (2018), "Tailings dams failures: updated statistical model for discharge volume and
   runout", *Environments* 5(2):28, fitted on the historical failures of Rico, Benito &
   Díez-Herrero (2008, *J. Hazard. Mater.* 154:79–87) extended with later events:

   * ``V_F = 0.332 × V_T^0.95`` (released from stored volume, both in 10⁶ m³);
   * ``D_max = 3.04 × H_f^0.545`` km with the dam factor ``H_f = H × (V_F / V_T) × V_F``
     (H dam height in m, volumes in 10⁶ m³).

   Scatter: these are log–log least-squares fits through a few dozen cases; Rico et al.
   (2008, abstract) report r² = 0.86 for the volume relation and only r² = 0.57 for run-out,
   and Concha Larrauri & Lall (abstract) stress quantifying the conditional uncertainty rather
   than using the regression line alone. ``D_max`` is a central estimate, not an envelope.
2. **Depressions** are filled with Priority-Flood+ε (Barnes, Lehman & Mulla 2014,
   "Priority-flood: an optimal depression-filling and watershed-labeling algorithm",
   *Computers & Geosciences* 62:117–127, Algorithm 3) so every cell drains to the edge and
   flats get a minute gradient towards their outlet — the surface the path follows when no
   volume is given.
3. **Flow path**: D8 steepest descent (O'Callaghan & Mark 1984, "The extraction of drainage
   networks from digital elevation data", *Computer Vision, Graphics, and Image Processing*
   28:323–344) from the breach cell, cut at ``D_max`` along the path. With the released volume
   the path runs on the ground and fills each pit it meets while the volume lasts
   (fill-and-spill; Barnes, Callaghan & Wickert 2020, *Earth Surface Dynamics* 8:431–445): a
   tailings release does not climb out of a basin bigger than itself, it stops there.
4. **Corridor**: a valley-bottom buffer in the spirit of HAND (height above nearest
   drainage; Rennó et al. 2008, *Remote Sensing of Environment* 112:3469–3481): a cell is
   inundated when it lies within ``max_half_width_m`` of the path, at most ``h(x)`` above the
   path cell nearest to it, and connected to the path through such cells; past the end of the
   path only the cells next to its last cell count (the front stops there). ``h`` falls
   linearly from the dam height at the dam to 1 m at ``D_max`` (the released mass thins as it
   spreads).
5. **Arrival times**: front speed by Manning's formula ``v = h^(2/3) S^(1/2) / n`` with a
   stated flow depth (default 2 m) and ``n = 0.05`` (Chow 1959, *Open-Channel Hydraulics*,
   Table 5-6: mountain streams, cobbles with large boulders, normal value), the slope ``S``
   measured along the path's level over a ±500 m window and floored at 0.1 % (a rise counts as
   the floor). A tailings slurry is
   more viscous than water, so these times are early (on the safe side for warning).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from scipy import ndimage

from safemap.gis.flow_routing import FlowPath, fill_depressions, fill_pond, flow_directions, trace_path

__all__ = [
    "FlowPath",
    "Runout",
    "arrival_times",
    "cell_of",
    "corridor_height",
    "corridor_mask",
    "fill_depressions",
    "fill_pond",
    "flow_directions",
    "manning_velocity",
    "mask_polygon",
    "path_slopes",
    "pour_point",
    "released_volume_m3",
    "runout",
    "time_at",
    "trace_path",
]

#: GDAL-order affine coefficients (a, b, c, d, e, f): x = a*col + b*row + c, y = d*col + e*row + f.
Affine6 = tuple[float, float, float, float, float, float]

#: Concha Larrauri & Lall (2018) Eq. for V_F: coefficient and exponent (volumes in 10⁶ m³).
VF_COEFF, VF_EXP = 0.332, 0.95
#: Concha Larrauri & Lall (2018) Eq. for D_max: coefficient (km) and exponent on H_f (m·10⁶ m³).
DMAX_COEFF_KM, DMAX_EXP = 3.04, 0.545
RUNOUT_SOURCE = (
    "Concha Larrauri & Lall 2018, Environments 5(2):28：V_F = 0.332·V_T^0.95；"
    "D_max = 3.04·H_f^0.545 km，H_f = H·(V_F/V_T)·V_F（H 单位 m，体积单位 10⁶ m³）"
)
#: Manning roughness, Chow (1959) Table 5-6 (mountain stream, cobbles and large boulders, normal).
MANNING_N = 0.05
#: Flow depth assumed for the front speed, metres (stated, not derived).
FLOW_DEPTH_M = 2.0
#: Lowest slope used for the front speed (flats, filled pits), dimensionless.
MIN_SLOPE = 0.001
#: Half-length of the window the path slope is measured over, metres.
SLOPE_WINDOW_M = 500.0
#: Corridor height above the path at D_max, metres (h(x) falls from the dam height to this).
END_HEIGHT_M = 1.0
#: Largest distance of a corridor cell from the path, metres (a stated envelope, not a deposit
#: width: beyond it a 10⁶ m³-class release would be spread thinner than the 1 m end height).
MAX_HALF_WIDTH_M = 500.0


@dataclass(frozen=True)
class Runout:
    """Released volume and run-out of a tailings dam failure (Concha Larrauri & Lall 2018).

    Attributes
    ----------
    stored_m3
        Tailings impounded, m³.
    released_m3
        Tailings released, m³ (``V_F``; the relation's value unless given).
    dam_height_m
        Dam height, metres.
    dam_factor
        ``H_f = H × (V_F/V_T) × V_F``, m·10⁶ m³.
    runout_m
        Run-out distance ``D_max``, metres.
    """

    stored_m3: float
    released_m3: float
    dam_height_m: float
    dam_factor: float
    runout_m: float


def released_volume_m3(stored_m3: float) -> float:
    """Released volume ``V_F = 0.332 × V_T^0.95`` (10⁶ m³ units inside), m³.

    Parameters
    ----------
    stored_m3
        Tailings impounded ``V_T``, m³ (> 0).
    """
    if not stored_m3 > 0:
        raise ValueError("stored volume must be positive")
    return VF_COEFF * (stored_m3 / 1e6) ** VF_EXP * 1e6


def runout(dam_height_m: float, stored_m3: float, released_m3: float | None = None) -> Runout:
    """Run-out ``D_max = 3.04 × H_f^0.545`` km of a dam ``dam_height_m`` high holding ``stored_m3``.

    Parameters
    ----------
    dam_height_m
        Dam height ``H``, metres (> 0).
    stored_m3
        Stored volume ``V_T``, m³ (> 0).
    released_m3
        Released volume ``V_F``, m³; default from :func:`released_volume_m3`. Capped at ``V_T``.

    Returns
    -------
    Runout
        The volumes, dam factor and run-out length in metres.
    """
    if not dam_height_m > 0:
        raise ValueError("dam height must be positive")
    vf = released_volume_m3(stored_m3) if released_m3 is None else min(float(released_m3), stored_m3)
    if not vf > 0:
        raise ValueError("released volume must be positive")
    vt6, vf6 = stored_m3 / 1e6, vf / 1e6
    hf = dam_height_m * (vf6 / vt6) * vf6
    return Runout(float(stored_m3), float(vf), float(dam_height_m), hf, DMAX_COEFF_KM * hf**DMAX_EXP * 1000.0)


def corridor_height(distance_m: np.ndarray, runout_m: float, dam_height_m: float) -> np.ndarray:
    """Height ``h(x)`` above the path a cell may stand and still be reached, metres.

    Falls linearly from ``dam_height_m`` at the dam to :data:`END_HEIGHT_M` at ``runout_m``.
    """
    frac = np.clip(np.asarray(distance_m, dtype="float64") / max(runout_m, 1e-9), 0.0, 1.0)
    top = max(dam_height_m, END_HEIGHT_M)
    return top - (top - END_HEIGHT_M) * frac


def corridor_mask(
    heights: np.ndarray,
    transform: Sequence[float],
    path: FlowPath,
    runout_m: float,
    dam_height_m: float,
    max_half_width_m: float = MAX_HALF_WIDTH_M,
) -> np.ndarray:
    """Cells the released tailings reach: the valley-bottom buffer of the path (see module notes).

    Parameters
    ----------
    heights
        Original heights, metres (NaN missing).
    transform
        Grid affine coefficients (metric).
    path
        The cut flow path (only cells within the run-out count); its ``level_m`` is the flow's
        level (a filled pit floods to its rim).
    runout_m, dam_height_m
        Run-out length and dam height, metres.
    max_half_width_m
        Largest distance of a corridor cell from the path, metres.

    Returns
    -------
    numpy.ndarray
        Boolean mask of inundated cells (path cells always included).
    """
    z = np.asarray(heights, dtype="float64")
    keep = path.distance_m <= max(runout_m, 0.0) + 1e-9
    pr, pc = path.rows[keep], path.cols[keep]
    on_path = np.zeros(z.shape, bool)
    on_path[pr, pc] = True
    on_path[path.pond_rows, path.pond_cols] = True  # ponds count as path: water stands there
    cx, cy = abs(float(transform[0])), abs(float(transform[4]))
    far, (ir, ic) = ndimage.distance_transform_edt(~on_path, sampling=(cy, cx), return_indices=True)
    level = np.full(z.shape, np.nan)
    reach = np.full(z.shape, np.nan)
    level[path.pond_rows, path.pond_cols] = path.pond_level_m
    reach[path.pond_rows, path.pond_cols] = corridor_height(path.pond_distance_m, runout_m, dam_height_m)
    level[pr, pc] = path.level_m[keep]
    reach[pr, pc] = corridor_height(path.distance_m[keep], runout_m, dam_height_m)
    with np.errstate(invalid="ignore"):
        low = (z - level[ir, ic]) <= reach[ir, ic]
    candidate = low & (far <= max_half_width_m) & ~np.isnan(z)
    # The front stops at the end of the path: what lies downhill beyond it is not reached, so
    # cells nearest the last path cell count only within one cell of it.
    beyond = (ir == pr[-1]) & (ic == pc[-1]) & (far > 1.5 * max(cx, cy))
    candidate &= ~beyond
    candidate |= on_path
    labels, _count = ndimage.label(candidate, structure=np.ones((3, 3), bool))
    touching = np.unique(labels[on_path])
    return np.isin(labels, touching[touching > 0])


def mask_polygon(mask: np.ndarray, transform: Sequence[float]) -> shapely.Geometry:
    """The cells of ``mask`` as one (multi)polygon in the grid's CRS (rasterio.features.shapes)."""
    from affine import Affine
    from rasterio import features

    a, b, c, d, e, f = (float(v) for v in transform[:6])
    polys = [
        shapely.geometry.shape(geom)
        for geom, value in features.shapes(
            mask.astype("uint8"), mask=mask, transform=Affine(a, b, c, d, e, f), connectivity=8
        )
        if value == 1
    ]
    if not polys:
        return shapely.Polygon()
    return shapely.union_all(polys)


def manning_velocity(depth_m: float, slope: np.ndarray | float, n: float = MANNING_N) -> np.ndarray:
    """Front speed ``v = h^(2/3) S^(1/2) / n``, m/s (Manning; wide channel, hydraulic radius ≈ depth)."""
    return np.asarray(depth_m, dtype="float64") ** (2.0 / 3.0) * np.sqrt(np.asarray(slope, dtype="float64")) / n


def path_slopes(distance_m: np.ndarray, filled_on_path: np.ndarray, window_m: float = SLOPE_WINDOW_M) -> np.ndarray:
    """Slope of each path segment measured over ±``window_m`` (floored at :data:`MIN_SLOPE`).

    Parameters
    ----------
    distance_m
        Distances of the path cells, metres (increasing).
    filled_on_path
        Filled heights of the path cells, metres (non-increasing downstream).

    Returns
    -------
    numpy.ndarray
        One slope per segment (``len(distance_m) - 1``), dimensionless.
    """
    d = np.asarray(distance_m, dtype="float64")
    z = np.asarray(filled_on_path, dtype="float64")
    if d.size < 2:
        return np.zeros(0)
    mid = (d[:-1] + d[1:]) / 2.0
    lo = np.searchsorted(d, mid - window_m, side="left")
    hi = np.searchsorted(d, mid + window_m, side="right") - 1
    lo = np.clip(lo, 0, d.size - 1)
    hi = np.clip(hi, 0, d.size - 1)
    seg = np.arange(d.size - 1)
    lo = np.minimum(lo, seg)
    hi = np.maximum(hi, seg + 1)
    slope = (z[lo] - z[hi]) / (d[hi] - d[lo])
    return np.maximum(np.nan_to_num(slope, nan=MIN_SLOPE), MIN_SLOPE)


def arrival_times(
    distance_m: np.ndarray,
    filled_on_path: np.ndarray,
    depth_m: float = FLOW_DEPTH_M,
    n: float = MANNING_N,
) -> np.ndarray:
    """Time the front reaches each path cell, seconds after the breach (Manning, see module notes).

    Parameters
    ----------
    distance_m
        Distances of the path cells, metres.
    filled_on_path
        Filled heights of those cells, metres.
    depth_m
        Flow depth, metres.
    n
        Manning roughness, s/m^(1/3).
    """
    d = np.asarray(distance_m, dtype="float64")
    if d.size < 2:
        return np.zeros(d.size)
    v = manning_velocity(depth_m, path_slopes(d, filled_on_path), n)
    return np.concatenate([[0.0], np.cumsum(np.diff(d) / v)])


def time_at(distance_m: np.ndarray, times_s: np.ndarray, at_m: float | np.ndarray) -> np.ndarray:
    """Arrival time at distances ``at_m`` along the path (linear between cells), seconds."""
    return np.interp(np.asarray(at_m, dtype="float64"), distance_m, times_s)


def pour_point(
    outline: shapely.Geometry, heights: np.ndarray, transform: Sequence[float], step_m: float
) -> shapely.Point:
    """Lowest point of a pond's outline on the DEM (where the dam of a valley pond sits).

    Parameters
    ----------
    outline
        The pond polygon (grid CRS).
    heights
        Heights, metres.
    transform
        Grid affine coefficients.
    step_m
        Spacing of the samples along the outline, metres.
    """
    from safemap.gis.terrain import sample_bilinear

    samples = []
    for ring in shapely.get_parts(shapely.boundary(outline)):  # each ring of a (multi)polygon
        length = float(shapely.length(ring))
        count = max(math.ceil(length / step_m), 8)
        samples.append(shapely.line_interpolate_point(ring, np.linspace(0.0, length, count, endpoint=False)))
    xy = shapely.get_coordinates(np.concatenate(samples)) if samples else np.zeros((0, 2))
    if not len(xy):
        raise ValueError("empty outline")
    z = sample_bilinear(heights, transform, xy[:, 0], xy[:, 1])
    if np.all(np.isnan(z)):
        raise ValueError("outline outside the DEM")
    i = int(np.nanargmin(z))
    return shapely.Point(xy[i])


def cell_of(transform: Sequence[float], x: float, y: float) -> tuple[int, int]:
    """(row, col) of the cell containing point (x, y)."""
    a, _b, c, _d, e, f = (float(v) for v in transform[:6])
    return math.floor((y - f) / e), math.floor((x - c) / a)
