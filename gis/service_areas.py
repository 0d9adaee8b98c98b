"""Service-area polygons (等时圈) from travel times on a road network, partly reached edges included.

The input is what one multi-source shortest-path search gives: the travel time from the
nearest source to every junction. The time at any point of a segment follows from its two
ends — ``min(t[u] + f·c_uv, t[v] + (1 − f)·c_vu)`` at fraction ``f`` — so a segment the
search only partly traversed before the cutoff still contributes the part that was reached
(routing-and-coverage.md §4: a node-based reach drops those parts; convex hulls span
unreachable land).

Method: the reached pieces of the segments are sampled at most one cell apart and each
cell keeps the first threshold reached in it (a piece that lies within one band from end
to end needs no time per sample); the reached cells are widened by ``buffer_m`` (a minimum
over a disk, the grid form of buffering the reached edges, OSMnx's "more faithful"
edge-buffer polygons; done as separable shifted minima, :func:`_min_disk`); the bands are
traced once for all thresholds (:func:`rasterio.features.shapes`) and simplified together
as one coverage (:func:`shapely.coverage_simplify`), so neighbouring bands share their
edges without gaps or overlaps, after the gaps enclosed by each cumulative area and
smaller than ``infill_m2`` (street blocks between reached streets) are filled in the grid.
Nothing is interpolated across
land the network does not reach, which avoids the raster-isochrone artefacts listed in §4.
The grid never holds more than ``max_cells`` cells: on huge areas the cell grows (1.5
million cells is ~40 m over a 50 km × 50 km county, finer than a screen shows it), the
buffer keeping every reached road inside its band; fewer cells are faster (the benchmark
uses 1.5 million), but at coarse cells :func:`shapely.coverage_simplify` has been seen to
leave metre-wide slivers between bands, so the default stays at 6 million.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

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
    every = keep is None or bool(np.all(keep))
    segs = np.arange(n_seg) if every or keep is None else np.nonzero(keep)[0]
    if every and offsets[-1] == 2 * n_seg and np.array_equal(offsets, np.arange(0, 2 * n_seg + 1, 2)):
        start = coords[0::2]  # every segment straight (two vertices): no gathers
        return segs, start, coords[1::2] - start, np.zeros(n_seg), np.ones(n_seg)
    if np.all(offsets[segs + 1] - offsets[segs] == 2):  # straight segments: one piece each
        first = offsets[segs]
        start = coords[first]
        return segs, start, coords[first + 1] - start, np.zeros(len(segs)), np.ones(len(segs))
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
        Largest grid (cells); the cell grows beyond ``cell_m`` to respect it.
    sources
        ``(segment, fraction)`` of sources that lie inside a segment: the time along that
        segment grows both ways from the source, not only from its ends.

    Returns
    -------
    list[Band]
        One per threshold, in increasing order; empty geometries where nothing is reached.
    """
    thresholds = np.asarray(sorted(float(t) for t in thresholds_s))
    if not len(thresholds) or np.any(thresholds <= 0) or len(thresholds) > 250:
        raise ValueError("thresholds must be 1 to 250 positive seconds")
    nb = len(thresholds)
    node_time = np.asarray(node_time, dtype="float64")
    t_max = thresholds[-1]
    seg_u = np.asarray(seg_u)
    seg_v = np.asarray(seg_v)
    # Only segments with a reached end, or a source on them, can hold a reached point.
    keep = np.minimum(node_time[seg_u], node_time[seg_v]) <= t_max
    src_segs = np.array([seg for seg, _ in sources], dtype=np.int64)
    keep[src_segs] = True
    empty = [Band(float(t), shapely.Polygon(), shapely.Polygon()) for t in thresholds]
    if not keep.any():
        return empty
    cell = cell_m or buffer_m / 3.0
    owner, start, delta, frac0, dfrac = segment_pieces(seg_offsets, np.asarray(coords, float), keep)
    a1, b1, a2, b2 = _piece_times(owner, frac0, dfrac, node_time, seg_u, seg_v, cost_fwd, cost_bwd)
    reach = (np.minimum(a1, a2 - b2) <= t_max) | np.isin(owner, src_segs)
    if not reach.any():
        return empty
    if not reach.all():
        owner, start, delta, a1, b1, a2, b2, frac0, dfrac = (
            v[reach] for v in (owner, start, delta, a1, b1, a2, b2, frac0, dfrac)
        )
    xs, ys, dxs, dys = start[:, 0], start[:, 1], delta[:, 0], delta[:, 1]
    x0, x1 = min(xs.min(), (xs + dxs).min()), max(xs.max(), (xs + dxs).max())
    y0, y1 = min(ys.min(), (ys + dys).min()), max(ys.max(), (ys + dys).max())
    margin = 2 * (buffer_m + 2 * cell)
    cell = max(cell, float(np.sqrt((x1 - x0 + margin) * (y1 - y0 + margin) / max_cells)))
    pad = buffer_m + 2 * cell  # the buffer and two cells stay inside the grid
    x0, y0, x1, y1 = x0 - pad, y0 - pad, x1 + pad, y1 + pad
    ncols = int(np.ceil((x1 - x0) / cell))
    nrows = int(np.ceil((y1 - y0) / cell))
    # The pieces in cell units from the top-left corner (column right, row down).
    piece = ((xs - x0) / cell, (y1 - ys) / cell, dxs / cell, -dys / cell)
    fix = _SourceTimes(owner, frac0, dfrac, sources, cost_fwd, cost_bwd) if len(sources) else None
    grid = np.full(nrows * ncols, nb, dtype=np.uint8)
    _rasterise(grid, ncols, piece, (a1, b1, a2, b2), thresholds, fix)
    band = grid.reshape(nrows, ncols)
    radius = int(np.floor(buffer_m / cell + 0.5))
    if radius > 0:
        band = _min_disk(band, radius)
    _fill_holes(band, nb, max(int(infill_m2 / (cell * cell)), 0))
    polys = _trace(band, nb, (x0, y1, cell))
    return _bands(polys, thresholds, (x0, y1, cell))


def _piece_times(
    owner: np.ndarray,
    frac0: np.ndarray,
    dfrac: np.ndarray,
    node_time: np.ndarray,
    seg_u: np.ndarray,
    seg_v: np.ndarray,
    cost_fwd: np.ndarray,
    cost_bwd: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Time along each piece, ``t(s) = min(a1 + b1·s, a2 − b2·s)`` for ``s`` in 0–1 (seconds)."""
    cf = np.asarray(cost_fwd, dtype="float64")[owner]
    cb = np.asarray(cost_bwd, dtype="float64")[owner]
    with np.errstate(invalid="ignore"):
        a1, b1 = node_time[seg_u[owner]] + frac0 * cf, dfrac * cf
        a2, b2 = node_time[seg_v[owner]] + (1.0 - frac0) * cb, dfrac * cb
    a1[np.isnan(a1)] = np.inf
    a2[np.isnan(a2)] = np.inf
    b1[~np.isfinite(b1)] = 0.0
    b2[~np.isfinite(b2)] = 0.0
    return a1, b1, a2, b2


class _SourceTimes:
    """On a source's own segment the time also grows both ways from the source itself."""

    def __init__(
        self,
        owner: np.ndarray,
        frac0: np.ndarray,
        dfrac: np.ndarray,
        sources: Sequence[tuple[int, float]],
        cost_fwd: np.ndarray,
        cost_bwd: np.ndarray,
    ) -> None:
        self.owner, self.frac0, self.dfrac = owner, frac0, dfrac
        self.sources = list(sources)
        self.cost_fwd, self.cost_bwd = cost_fwd, cost_bwd
        self.pieces = np.isin(owner, np.array([seg for seg, _ in sources], dtype=np.int64))

    def apply(self, rows: np.ndarray, s: np.ndarray, times: np.ndarray) -> np.ndarray:
        """``times`` of the samples at ``s`` along pieces ``rows``, lowered where a source is nearer."""
        on_src = np.nonzero(self.pieces[rows])[0]
        if not len(on_src):
            return times
        seg = self.owner[rows[on_src]]
        frac = self.frac0[rows[on_src]] + self.dfrac[rows[on_src]] * s[on_src]
        for src_seg, src_frac in self.sources:
            on = np.nonzero(seg == src_seg)[0]
            if len(on):
                f = frac[on]
                c_f, c_b = float(self.cost_fwd[src_seg]), float(self.cost_bwd[src_seg])
                with np.errstate(invalid="ignore"):
                    here = np.where(f >= src_frac, (f - src_frac) * c_f, (src_frac - f) * c_b)
                idx = on_src[on]
                times[idx] = np.minimum(times[idx], np.nan_to_num(here, nan=np.inf))
        return times


def _rasterise(
    grid: np.ndarray,
    ncols: int,
    piece: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    coef: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    thresholds: np.ndarray,
    fix: _SourceTimes | None,
) -> None:
    """Write into ``grid`` (flat, ``uint8``) the level of the first threshold reached along the pieces.

    ``piece`` holds each piece's start and vector in cell units (column right, row down),
    ``coef`` its times (:func:`_piece_times`); a cell keeps the lowest level written to it.
    Samples lie at both ends of each piece and at most one cell apart between (``n`` steps
    for a piece up to ``n`` cells long). Most pieces lie within one level from end to end (the
    time along a piece is ``min`` of a rising and a falling line, so its extremes are known):
    their samples need no times, and short ones (up to 8 steps) are sampled step by step on
    whole arrays. The others (crossing a threshold, long, or on a source's segment) get a
    time per sample.
    """
    px, py, dx, dy = piece
    a1, b1, a2, b2 = coef
    nb = len(thresholds)
    n = np.maximum(np.ceil(np.hypot(dx, dy)).astype(np.int64), 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cross = np.clip((a2 - a1) / (b1 + b2), 0.0, 1.0)
    t_hi = np.minimum(a1 + b1 * cross, a2 - b2 * cross)  # the largest time along the piece
    t_hi = np.where(np.isnan(t_hi), np.inf, t_hi)
    lo = np.searchsorted(thresholds, np.minimum(a1, a2 - b2), side="left")
    hi = np.searchsorted(thresholds, t_hi, side="left")
    slow = (lo != hi) | (n > 8)
    if fix is not None:
        slow |= fix.pieces
    fast = np.nonzero(~slow)[0]
    if len(fast):
        cols = [v[fast].astype("float32") for v in (px, py, dx, dy)]
        level = lo[fast].astype(np.uint8)
        steps = n[fast].astype("float32")
        for j in range(int(steps.max()) + 1):
            if j > 1 and steps.min() < j:
                keep = steps >= j
                cols, level, steps = [v[keep] for v in cols], level[keep], steps[keep]
            s = np.float32(j) / steps
            x, y, ddx, ddy = cols
            flat = (y + ddy * s).astype(np.int64) * ncols + (x + ddx * s).astype(np.int64)
            np.minimum.at(grid, flat, level)
    rows = np.nonzero(slow)[0]
    if len(rows):
        rep, s = _steps(n[rows].astype(float), 1.0)
        rep = rows[rep]
        t = np.minimum(a1[rep] + b1[rep] * s, a2[rep] - b2[rep] * s)
        if fix is not None:
            t = fix.apply(rep, s, t)
        level = np.searchsorted(thresholds, t, side="left").astype(np.uint8)
        ok = np.nonzero(level < nb)[0]
        rep, s = rep[ok], s[ok]
        flat = (py[rep] + dy[rep] * s).astype(np.int64) * ncols + (px[rep] + dx[rep] * s).astype(np.int64)
        np.minimum.at(grid, flat, level[ok])


def _min_disk(grid: np.ndarray, radius: int) -> np.ndarray:
    """Minimum over a disk of ``radius`` cells (the grid form of buffering), outside counting as 255.

    The disk (``dx² + dy² ≤ r² + r``, rounder than the strict circle at small radii) is the
    union of the rectangles ``|dx| ≤ w``, ``|dy| ≤ h`` for each distinct half-width ``w``; a
    rectangle's minimum is separable, and each 1-D window minimum takes ``log2`` of its
    length in shifted :func:`numpy.minimum` passes.
    """
    dy = np.arange(radius + 1)
    half = np.floor(np.sqrt(radius * radius + radius - dy * dy)).astype(int)  # half-width at each |dy|
    out = np.full_like(grid, 255)
    for w in np.unique(half):
        h = int(dy[half >= w].max())
        np.minimum(out, _window_min(_window_min(grid, int(w), 1), h, 0), out=out)
    return out


def _window_min(grid: np.ndarray, half: int, axis: int) -> np.ndarray:
    """Minimum over ``[i − half, i + half]`` along ``axis`` (outside: 255)."""
    if half <= 0:
        return grid
    n = 2 * half + 1
    pad = [(0, 0), (0, 0)]
    pad[axis] = (half, half)
    m = np.pad(grid, pad, constant_values=255)

    def cut(a: np.ndarray, lo: int, hi: int) -> np.ndarray:
        return a[lo:hi] if axis == 0 else a[:, lo:hi]

    size = m.shape[axis]
    span = 1
    while 2 * span <= n:  # m[i] = min over [i, i + 2·span)
        m = np.minimum(cut(m, 0, size - span), cut(m, span, size))
        size -= span
        span *= 2
    length = grid.shape[axis]
    rest = n - span  # the window [i, i + n) is [i, i + span) ∪ [i + rest, i + rest + span)
    return np.minimum(cut(m, 0, length), cut(m, rest, rest + length))


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
    bands = _shared_vertices([_union(simple[values == k]) for k in range(nb)])
    areas = [_union(simple[values <= k]) for k in range(nb)]

    def to_metres(g: BaseGeometry) -> BaseGeometry:
        return shapely.transform(g, lambda xy: np.column_stack([x0 + xy[:, 0] * cell, y_top - xy[:, 1] * cell]))

    return [Band(float(thresholds[k]), to_metres(areas[k]), to_metres(bands[k])) for k in range(nb)]


def _shared_vertices(bands: list[BaseGeometry]) -> list[BaseGeometry]:
    """Bands whose common edges hold the same vertices on both sides.

    A union drops the corner where two parts of one band met a neighbour, so the
    neighbour's edge keeps a vertex this band's edge lacks. Straight in metres, the two
    edges bend differently once projected to lon/lat and rounded, and overlap by slivers.
    The other bands' vertices lying on this band's boundary but missing from it are found
    (a prepared boundary, one vectorised test) and snapped in (GEOS inserts them into the
    segments), so both sides get one vertex list; usually a handful of points per band.
    """
    verts = [shapely.get_coordinates(b.boundary) for b in bands]
    as_complex = [v[:, 0] + 1j * v[:, 1] for v in verts]
    out = list(bands)
    for k, band in enumerate(bands):
        others = [as_complex[j] for j in range(len(bands)) if j != k and len(as_complex[j])]
        if band.is_empty or not others:
            continue
        cand = np.unique(np.concatenate(others))
        cand = cand[~np.isin(cand, as_complex[k])]  # cell units: equal vertices are equal floats
        if not len(cand):
            continue
        edge = band.boundary
        shapely.prepare(edge)
        pts = cast(np.ndarray, shapely.points(np.column_stack([cand.real, cand.imag])))
        on = pts[shapely.dwithin(edge, pts, 1e-6)]
        if not len(on):
            continue
        # One geometry in, one out (the stubs also allow arrays).
        snapped = cast(BaseGeometry, shapely.snap(band, shapely.multipoints(on), tolerance=1e-6))
        out[k] = snapped if snapped.is_valid else band
    return out


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
