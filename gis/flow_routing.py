"""Flow routing on a DEM held in memory: depression filling, D8 directions, fill-and-spill flow paths.

Pure: heights arrive as a NumPy array (metres, NaN where missing) with a GDAL-order affine
transform of a metric, north-up grid; results are arrays. Used by :mod:`safemap.gis.dam_breach`.

* Priority-Flood+ε: Barnes, Lehman & Mulla (2014), "Priority-flood: an optimal
  depression-filling and watershed-labeling algorithm", *Computers & Geosciences* 62:117–127,
  Algorithm 3 (heapq for the open set, a FIFO queue for pit cells).
* D8 steepest descent: O'Callaghan & Mark (1984), "The extraction of drainage networks from
  digital elevation data", *Computer Vision, Graphics, and Image Processing* 28:323–344.
* Fill-and-spill: Barnes, Callaghan & Wickert (2020), "Computing water flow through complex
  landscapes – Part 3: Fill–Spill–Merge", *Earth Surface Dynamics* 8:431–445 — a flow with a
  finite volume fills the pits it meets only while its volume lasts.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

# D8 neighbours (drow, dcol), clockwise from east.
_D8 = ((0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1), (-1, 0), (-1, 1))


def fill_depressions(heights: np.ndarray) -> np.ndarray:
    """Heights with every depression filled so each cell drains to the grid edge (Priority-Flood+ε).

    Barnes et al. (2014) Algorithm 3: cells are taken from the edge inwards, lowest first; a cell
    no higher than the cell it was reached from is raised to the next float above it, which also
    gives flats a gradient towards their outlet. Cells next to NaN (no data) count as edge cells.

    Parameters
    ----------
    heights
        2-D heights, metres; NaN where missing.

    Returns
    -------
    numpy.ndarray
        Filled heights (float64, NaN kept), metres.
    """
    z = np.asarray(heights, dtype="float64")
    rows, cols = z.shape
    nan = np.isnan(z)
    edge = np.zeros_like(nan)
    edge[0, :] = edge[-1, :] = edge[:, 0] = edge[:, -1] = True
    edge |= ndimage.binary_dilation(nan, structure=np.ones((3, 3), bool))
    edge &= ~nan
    flat = z.ravel().tolist()  # Python floats: far faster than NumPy scalars in the loop
    closed = nan.ravel().tolist()
    heap: list[tuple[float, int]] = []
    for i in np.flatnonzero(edge).tolist():
        heap.append((flat[i], i))
        closed[i] = True
    heapq.heapify(heap)
    pit: deque[int] = deque()
    offsets = [(dr, dc) for dr, dc in _D8]
    while heap or pit:
        c = pit.popleft() if pit else heapq.heappop(heap)[1]
        zc = flat[c]
        r, col = divmod(c, cols)
        up = math.nextafter(zc, math.inf)
        for dr, dc in offsets:
            rr, cc = r + dr, col + dc
            if rr < 0 or rr >= rows or cc < 0 or cc >= cols:
                continue
            n = rr * cols + cc
            if closed[n]:
                continue
            closed[n] = True
            if flat[n] <= up:
                flat[n] = up
                pit.append(n)
            else:
                heapq.heappush(heap, (flat[n], n))
    return np.asarray(flat, dtype="float64").reshape(rows, cols)


def flow_directions(filled: np.ndarray, cell_x: float, cell_y: float) -> np.ndarray:
    """D8 steepest-descent direction of every cell (O'Callaghan & Mark 1984).

    Parameters
    ----------
    filled
        Depression-filled heights, metres.
    cell_x, cell_y
        Cell width and height, metres.

    Returns
    -------
    numpy.ndarray
        int8 index into the clockwise-from-east neighbour list (0 = east, 2 = south, …);
        -1 where no neighbour is lower (edges, NaN).
    """
    z = np.asarray(filled, dtype="float64")
    pad = np.pad(z, 1, constant_values=np.nan)
    best = np.zeros(z.shape)
    out = np.full(z.shape, -1, dtype="int8")
    rows, cols = z.shape
    for k, (dr, dc) in enumerate(_D8):
        dist = math.hypot(dr * cell_y, dc * cell_x)
        nb = pad[1 + dr : 1 + dr + rows, 1 + dc : 1 + dc + cols]
        with np.errstate(invalid="ignore"):
            drop = (z - nb) / dist
        better = np.nan_to_num(drop, nan=-np.inf) > best
        best = np.where(better, drop, best)
        out[better] = k
    return out


@dataclass(frozen=True)
class FlowPath:
    """A flow path on the grid.

    Attributes
    ----------
    rows, cols
        Cells of the path, breach cell first.
    distance_m
        Distance along the path of each cell centre, metres (0 at the breach cell).
    level_m
        Level of the flow at each path cell, metres (the surface the path was traced on).
    xy
        Path vertices (cell centres, the last one cut at the run-out), grid CRS.
    length_m
        Length of the cut path, metres.
    reason
        Why the path ends: ``runout`` (reached D_max), ``edge`` (left the DEM), ``basin`` (the
        released volume ran out filling a depression), ``sink`` (no lower cell).
    pond_rows, pond_cols, pond_level_m, pond_distance_m
        Cells flooded where the flow filled depressions (fill-and-spill), the water level there
        and the path distance of the depression, metres; empty without ``volume_m3``.
    """

    rows: np.ndarray
    cols: np.ndarray
    distance_m: np.ndarray
    level_m: np.ndarray
    xy: np.ndarray
    length_m: float
    reason: str
    pond_rows: np.ndarray = field(default_factory=lambda: np.zeros(0, int))
    pond_cols: np.ndarray = field(default_factory=lambda: np.zeros(0, int))
    pond_level_m: np.ndarray = field(default_factory=lambda: np.zeros(0))
    pond_distance_m: np.ndarray = field(default_factory=lambda: np.zeros(0))


def _centre(transform: Sequence[float], row: float, col: float) -> tuple[float, float]:
    a, _b, c, _d, e, f = (float(v) for v in transform[:6])
    return c + (col + 0.5) * a, f + (row + 0.5) * e


@dataclass
class _Pond:
    cells: list[tuple[int, int]]
    level: float
    used_m3: float
    spill: tuple[int, int] | None
    edge: bool


def fill_pond(
    heights: np.ndarray,
    bottom: tuple[int, int],
    volume_m3: float,
    cell_area_m2: float,
    excluded: np.ndarray | None = None,
) -> _Pond:
    """Flood a depression from its lowest cell until it spills or ``volume_m3`` runs out.

    A priority-flood from one cell (lowest neighbour first, Barnes et al. 2014): each cell taken
    raises the water to its height, costing (rise × cells flooded × cell area); a cell lower than
    the water is where the pond spills. Flats cost nothing, so a flat floods until it finds its
    outlet.

    Parameters
    ----------
    heights
        Ground heights, metres.
    bottom
        (row, col) of the depression's lowest cell.
    volume_m3
        Volume left to fill with, m³.
    cell_area_m2
        Area of a cell, m².
    excluded
        Cells the water may not enter (the impoundment), or ``None``.
    """
    z = heights
    rows, cols = z.shape
    heap: list[tuple[float, int, tuple[int, int]]] = [(float(z[bottom]), 0, bottom)]
    queued = {bottom}
    cells: list[tuple[int, int]] = []
    level, used, order = float(z[bottom]), 0.0, 1
    while heap:
        h, _o, cell = heapq.heappop(heap)
        if h < level:
            return _Pond(cells, level, used, cell, False)
        cost = (h - level) * len(cells) * cell_area_m2
        if used + cost > volume_m3:
            level += (volume_m3 - used) / (len(cells) * cell_area_m2)
            return _Pond(cells, level, volume_m3, None, False)
        used, level = used + cost, h
        cells.append(cell)
        r, c = cell
        if r in (0, rows - 1) or c in (0, cols - 1):
            return _Pond(cells, level, used, None, True)
        for dr, dc in _D8:
            n = (r + dr, c + dc)
            if n in queued or math.isnan(z[n]) or (excluded is not None and excluded[n]):
                continue
            queued.add(n)
            heapq.heappush(heap, (float(z[n]), order, n))
            order += 1
    return _Pond(cells, level, used, None, True)


def _steepest(
    surface: np.ndarray, r: int, c: int, cx: float, cy: float, skip: Callable[[int, int], bool]
) -> tuple[int, int, float] | None:
    rows, cols = surface.shape
    best, step = 0.0, None
    for dr, dc in _D8:
        rr, cc = r + dr, c + dc
        if not (0 <= rr < rows and 0 <= cc < cols) or skip(rr, cc) or math.isnan(surface[rr, cc]):
            continue
        d = math.hypot(dr * cy, dc * cx)
        slope = (surface[r, c] - surface[rr, cc]) / d
        if slope > best:
            best, step = slope, (rr, cc, d)
    return step


def trace_path(
    filled: np.ndarray,
    transform: Sequence[float],
    start: tuple[int, int],
    max_length_m: float,
    blocked: np.ndarray | None = None,
    heights: np.ndarray | None = None,
    volume_m3: float | None = None,
) -> FlowPath:
    """Follow D8 steepest descent from ``start`` until ``max_length_m`` along the path.

    Without ``volume_m3`` the path runs on the filled surface, passing every depression. With
    ``heights`` and ``volume_m3`` it runs on the ground and fills each depression it meets only
    while the released volume lasts (fill-and-spill; Barnes, Callaghan & Wickert 2020,
    "Computing water flow through complex landscapes – Part 3: Fill–Spill–Merge", *Earth Surface
    Dynamics* 8:431–445): at a pit :func:`fill_pond` floods it, the volume used is taken off, and
    the path goes on from the spill cell; when the volume runs out the flow stops there.

    Parameters
    ----------
    filled
        Depression-filled heights, metres.
    transform
        Affine coefficients of the grid (metric, north-up).
    start
        (row, col) of the breach cell.
    max_length_m
        Run-out length, metres; the path is cut there (between two cell centres if need be).
    blocked
        Cells the flow may not enter (the impoundment itself), or ``None``.
    heights
        Ground heights, metres, for fill-and-spill (with ``volume_m3``).
    volume_m3
        Released volume, m³.
    """
    cx, cy = abs(float(transform[0])), abs(float(transform[4]))
    spill = heights is not None and volume_m3 is not None
    surface = np.asarray(heights if spill else filled, dtype="float64")
    rows, cols = surface.shape
    left = float(volume_m3) if volume_m3 is not None else 0.0
    r, c = start
    path, dist = [(r, c)], [0.0]
    seen = {(r, c)}
    ponds: list[tuple[list[tuple[int, int]], float, float]] = []

    def skip(rr: int, cc: int) -> bool:
        return (rr, cc) in seen or (blocked is not None and bool(blocked[rr, cc]))

    while True:
        if dist[-1] >= max_length_m:
            reason = "runout"
            break
        step = _steepest(surface, r, c, cx, cy, skip)
        if step is None and spill and not (r in (0, rows - 1) or c in (0, cols - 1)):
            pond = fill_pond(surface, (r, c), left, cx * cy, blocked)
            left -= pond.used_m3
            ponds.append((pond.cells, pond.level, dist[-1]))
            seen.update(pond.cells)
            if pond.spill is None:
                reason = "edge" if pond.edge else "basin"
                break
            rr, cc = pond.spill
            step = (rr, cc, math.hypot((rr - r) * cy, (cc - c) * cx))
        if step is None:
            on_edge = r in (0, rows - 1) or c in (0, cols - 1)
            reason = "edge" if on_edge else "sink"
            break
        r, c, d = step
        path.append((r, c))
        dist.append(dist[-1] + d)
        seen.add((r, c))
    rr_a = np.array([p[0] for p in path])
    cc_a = np.array([p[1] for p in path])
    dist_a = np.array(dist)
    xy = np.array([_centre(transform, pr, pc) for pr, pc in path], dtype="float64").reshape(-1, 2)
    length = float(dist_a[-1])
    if reason == "runout" and length > max_length_m and len(path) > 1:
        # Cut the last step where the run-out ends.
        d0, d1 = dist_a[-2], dist_a[-1]
        t = (max_length_m - d0) / (d1 - d0)
        xy[-1] = xy[-2] + t * (xy[-1] - xy[-2])
        length = float(max_length_m)
    pond_cells = [cell for cells, _lv, _d in ponds for cell in cells]
    return FlowPath(
        rr_a,
        cc_a,
        dist_a,
        surface[rr_a, cc_a],
        xy,
        length,
        reason,
        np.array([p[0] for p in pond_cells], dtype=int),
        np.array([p[1] for p in pond_cells], dtype=int),
        np.array([lv for cells, lv, _d in ponds for _ in cells], dtype="float64"),
        np.array([d for cells, _lv, d in ponds for _ in cells], dtype="float64"),
    )
