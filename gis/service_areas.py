"""Service-area polygons (等时圈) from travel times on a road network, partly reached edges included.

The input is what one multi-source shortest-path search gives: the travel time from the
nearest source to every junction. The time at any point of a segment follows from its two
ends — ``min(t[u] + f·c_uv, t[v] + (1 − f)·c_vu)`` at fraction ``f`` — so a segment the
search only partly traversed before the cutoff still contributes the part that was reached
(routing-and-coverage.md §4: a node-based reach drops those parts; convex hulls span
unreachable land).

Method: the segments are sampled every half cell; each sample's time goes into a grid
cell (the minimum wins); the reached cells are widened by ``buffer_m`` (a minimum filter
over a disk, the grid form of buffering the reached edges, OSMnx's "more faithful"
edge-buffer polygons); enclosed gaps smaller than ``infill_m2`` (street blocks between
reached streets) are filled; each threshold's band is traced into polygons
(:func:`rasterio.features.shapes`) and the bands are simplified together as one
coverage (:func:`shapely.coverage_simplify`), so neighbouring bands share their edges
without gaps or overlaps. Nothing is interpolated across land the network does not
reach, which avoids the raster-isochrone artefacts listed in §4. The grid is chosen
so that it never holds more than ``max_cells`` cells (the cell grows on huge areas).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from scipy import ndimage
from shapely.geometry.base import BaseGeometry


@dataclass(frozen=True)
class Band:
    """One threshold of a service area.

    Attributes
    ----------
    threshold_s
        Travel-time threshold, seconds.
    area
        Everything reached within ``threshold_s`` (cumulative), metric CRS.
    band
        Reached within this threshold but not within the previous one (a ring).
    """

    threshold_s: float
    area: BaseGeometry
    band: BaseGeometry


def segment_pieces(
    seg_offsets: np.ndarray, coords: np.ndarray, keep: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The straight pieces (vertex to vertex) of the segments.

    Parameters
    ----------
    seg_offsets, coords
        Vertices of segment ``s`` are ``coords[seg_offsets[s]:seg_offsets[s+1]]`` (metres).
    keep
        Boolean mask of the segments wanted (default all).

    Returns
    -------
    owner, start, delta, frac0, dfrac
        Segment of each piece, its first point ``(n, 2)``, its vector to the second point,
        and the fractions of the segment's length at which it starts and that it spans.
    """
    offsets = np.asarray(seg_offsets, dtype=np.int64)
    n_seg = len(offsets) - 1
    owner_v = np.repeat(np.arange(n_seg), np.diff(offsets))
    piece = np.ones(len(coords), bool)
    piece[offsets[1:] - 1] = False  # a segment's last vertex starts no piece
    if keep is not None:
        piece &= np.asarray(keep, bool)[owner_v]
    idx = np.nonzero(piece)[0]
    owner = owner_v[idx]
    start = coords[idx]
    delta = coords[idx + 1] - start
    plen = np.hypot(delta[:, 0], delta[:, 1])
    seg_len = np.bincount(owner, weights=plen, minlength=n_seg)
    # Length before each piece within its segment: cumulative sum restarted at each segment.
    cum = np.cumsum(plen) - plen
    first = np.ones(len(owner), bool)
    first[1:] = owner[1:] != owner[:-1]
    before = cum - np.maximum.accumulate(np.where(first, cum, 0.0)) if len(owner) else cum
    total = seg_len[owner]
    safe = np.where(total > 0, total, 1.0)
    return owner, start, delta, before / safe, plen / safe


def sample_segments(
    seg_offsets: np.ndarray, coords: np.ndarray, spacing_m: float, keep: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Points every ``spacing_m`` (or closer) along each segment, vertices included.

    Returns
    -------
    seg, frac, xy
        Segment of each sample, its fraction of the segment's length from the first
        vertex (0–1), and its coordinates ``(n, 2)``.
    """
    owner, start, delta, frac0, dfrac = segment_pieces(seg_offsets, coords, keep)
    rep, t = _steps(np.hypot(delta[:, 0], delta[:, 1]), spacing_m)
    xy = start[rep] + delta[rep] * t[:, None]
    return owner[rep], np.clip(frac0[rep] + dfrac[rep] * t, 0.0, 1.0), xy


def _steps(plen: np.ndarray, spacing_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Piece index and position (0–1) of samples at both ends of each piece and every ``spacing_m`` between."""
    n = np.maximum(np.ceil(plen / spacing_m).astype(np.int64), 1)
    counts = n + 1
    rep = np.repeat(np.arange(len(plen)), counts)
    j = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
    return rep, j / np.repeat(n, counts)


def service_area_bands(
    node_time: np.ndarray,
    seg_u: np.ndarray,
    seg_v: np.ndarray,
    seg_offsets: np.ndarray,
    coords: np.ndarray,
    cost_fwd: np.ndarray,
    cost_bwd: np.ndarray,
    thresholds_s: Sequence[float],
    *,
    buffer_m: float = 100.0,
    cell_m: float | None = None,
    infill_m2: float = 250_000.0,
    max_cells: int = 6_000_000,
    sources: Sequence[tuple[int, float]] = (),
) -> list[Band]:
    """Polygons of everything reached within each threshold, as cumulative areas and bands.

    Parameters
    ----------
    node_time
        Seconds from the nearest source to each junction (``inf``: not reached).
    seg_u, seg_v, seg_offsets, coords
        The segments: end junctions and vertices (metres, metric CRS).
    cost_fwd, cost_bwd
        Seconds to traverse each segment in / against drawing order (``inf``: forbidden).
    thresholds_s
        Increasing travel-time thresholds, seconds (e.g. 300, 600, 900, 1800).
    buffer_m
        Distance either side of a reached road that counts as served, metres.
    cell_m
        Grid cell, metres; default ``buffer_m / 3`` (grown to respect ``max_cells``).
    infill_m2
        Gaps enclosed by a band and smaller than this are filled (street blocks), m².
    max_cells
        Largest grid (cells).
    sources
        ``(segment, fraction)`` of sources that lie inside a segment: the time along that
        segment grows both ways from the source, not only from its ends.

    Returns
    -------
    list[Band]
        One per threshold, in increasing order; empty geometries where nothing is reached.
    """
    thresholds = np.asarray(sorted(float(t) for t in thresholds_s))
    if not len(thresholds) or np.any(thresholds <= 0):
        raise ValueError("thresholds must be positive seconds")
    node_time = np.asarray(node_time, dtype="float64")
    t_max = thresholds[-1]
    seg_u = np.asarray(seg_u)
    seg_v = np.asarray(seg_v)
    # Only segments with a reached end can hold a reached point.
    keep = np.minimum(node_time[seg_u], node_time[seg_v]) <= t_max
    empty = [Band(float(t), shapely.Polygon(), shapely.Polygon()) for t in thresholds]
    if not keep.any():
        return empty
    cell = cell_m or buffer_m / 3.0
    cost_fwd = np.asarray(cost_fwd, dtype="float64")
    cost_bwd = np.asarray(cost_bwd, dtype="float64")
    owner, start, delta, frac0, dfrac = segment_pieces(seg_offsets, np.asarray(coords, float), keep)
    # Time along a piece is linear from each end: t(s) = min(a1 + b1·s, a2 − b2·s) for s in 0–1.
    tu, tv = node_time[seg_u[owner]], node_time[seg_v[owner]]
    cf, cb = cost_fwd[owner], cost_bwd[owner]
    with np.errstate(invalid="ignore"):
        a1, b1 = tu + frac0 * cf, dfrac * cf
        a2, b2 = tv + (1.0 - frac0) * cb, dfrac * cb
    a1 = np.where(np.isnan(a1), np.inf, a1)
    a2 = np.where(np.isnan(a2), np.inf, a2)
    b1 = np.nan_to_num(b1, nan=0.0, posinf=0.0)
    b2 = np.nan_to_num(b2, nan=0.0, posinf=0.0)
    reach = np.minimum(a1, a2 - b2) <= t_max
    if not reach.any():
        return empty
    owner, start, delta, a1, b1, a2, b2, frac0_r, dfrac_r = (
        v[reach] for v in (owner, start, delta, a1, b1, a2, b2, frac0, dfrac)
    )
    lo = (start.min(axis=0), (start + delta).min(axis=0))
    hi = (start.max(axis=0), (start + delta).max(axis=0))
    pad = buffer_m + 2 * cell
    x0, y0 = np.minimum(*lo) - pad
    x1, y1 = np.maximum(*hi) + pad
    cell = max(cell, float(np.sqrt((x1 - x0) * (y1 - y0) / max_cells)))
    ncols = int(np.ceil((x1 - x0) / cell))
    nrows = int(np.ceil((y1 - y0) / cell))
    # One sample per cell length: the buffer (two cells and more) closes any gap between samples.
    rep, s = _steps(np.hypot(delta[:, 0], delta[:, 1]), cell)
    times = np.minimum(a1[rep] + b1[rep] * s, a2[rep] - b2[rep] * s)
    for src_seg, src_frac in sources:
        # On a source's own segment the time also grows both ways from the source itself.
        on = np.nonzero(owner[rep] == src_seg)[0]
        if len(on):
            frac = frac0_r[rep[on]] + dfrac_r[rep[on]] * s[on]
            c_f, c_b = cost_fwd[src_seg], cost_bwd[src_seg]
            here = np.where(frac >= src_frac, (frac - src_frac) * c_f, (src_frac - frac) * c_b)
            times[on] = np.minimum(times[on], np.nan_to_num(here, nan=np.inf))
    ok = times <= t_max
    rep, s, times = rep[ok], s[ok], times[ok]
    xs = start[rep, 0] + delta[rep, 0] * s
    ys = start[rep, 1] + delta[rep, 1] * s
    cols = np.clip(((xs - x0) / cell).astype(np.int64), 0, ncols - 1)
    rows = np.clip(((y1 - ys) / cell).astype(np.int64), 0, nrows - 1)
    grid: np.ndarray = np.full(nrows * ncols, np.inf, dtype="float32")
    np.minimum.at(grid, rows * ncols + cols, times.astype("float32"))
    grid = grid.reshape(nrows, ncols)
    radius = int(np.floor(buffer_m / cell + 0.5))
    if radius > 0:
        yy, xx = np.mgrid[-radius : radius + 1, -radius : radius + 1]
        disk = (xx**2 + yy**2) <= radius**2 + radius  # a rounder disk than the strict circle at small radii
        grid = ndimage.minimum_filter(grid, footprint=disk, mode="constant", cval=np.inf)
    nb = len(thresholds)
    band = np.searchsorted(thresholds, grid, side="left").astype(np.uint8)  # nb = not reached
    _fill_holes(band, nb, max(int(infill_m2 / (cell * cell)), 0))
    polys = _trace(band, nb, (x0, y1, cell))
    return _bands(polys, thresholds, (x0, y1, cell))


def _fill_holes(band: np.ndarray, nb: int, max_hole_cells: int) -> None:
    """Fill gaps enclosed by the area within each threshold (street blocks) in place."""
    if max_hole_cells <= 0:
        return
    for k in range(nb):
        outside = band > k
        labels, n = ndimage.label(outside)
        if n == 0:
            continue
        sizes = np.bincount(labels.ravel(), minlength=n + 1)
        edge = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
        small = (sizes <= max_hole_cells) & (np.arange(n + 1) > 0)
        small[edge] = False
        fill = small[labels]
        band[fill] = k


def _trace(band: np.ndarray, nb: int, frame: tuple[float, float, float]) -> list[tuple[int, BaseGeometry]]:
    """Polygons of each band value (cells of equal value, edge-matched between bands), in cell units.

    Tracing, simplifying and merging happen on the exact integer grid of cell corners; only the
    finished polygons are scaled to metres (:func:`_bands`), so no rounding can break the coverage.
    """
    from rasterio.features import shapes

    out: list[tuple[int, BaseGeometry]] = []
    for geom, value in shapes(band, mask=band < nb, connectivity=4):
        rings = [np.asarray(r, dtype="float64") for r in geom["coordinates"]]
        out.append((int(value), shapely.Polygon(rings[0], rings[1:])))
    return out


def _bands(
    polys: list[tuple[int, BaseGeometry]], thresholds: np.ndarray, frame: tuple[float, float, float]
) -> list[Band]:
    nb = len(thresholds)
    if not polys:
        return [Band(float(t), shapely.Polygon(), shapely.Polygon()) for t in thresholds]
    x0, y_top, cell = frame
    values = np.array([v for v, _ in polys])
    geoms = np.array([g for _, g in polys], dtype=object)
    # Simplified together (tolerance one cell): the staircase goes, shared edges stay shared.
    simple = shapely.coverage_simplify(geoms, tolerance=1.0)
    bands = [_union(simple[values == k]) for k in range(nb)]
    areas = [_union(simple[values <= k]) for k in range(nb)]

    def to_metres(g: BaseGeometry) -> BaseGeometry:
        return shapely.transform(g, lambda xy: np.column_stack([x0 + xy[:, 0] * cell, y_top - xy[:, 1] * cell]))

    return [Band(float(thresholds[k]), to_metres(areas[k]), to_metres(bands[k])) for k in range(nb)]


def _union(parts: Sequence[BaseGeometry] | np.ndarray) -> BaseGeometry:
    """Union of edge-matched polygons (coverage union), falling back to a full overlay if needed."""
    if not len(parts):
        return shapely.Polygon()
    try:
        out = shapely.coverage_union_all(parts)
    except shapely.errors.GEOSException:
        return shapely.union_all(shapely.make_valid(np.asarray(parts, dtype=object)))
    # Cells touching only at a corner give rings that touch themselves: repair just that.
    return out if out.is_valid else shapely.make_valid(out)
