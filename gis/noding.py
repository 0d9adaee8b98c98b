"""Noding: split road lines at junctions so that pieces meet on bit-identical end points.

Rules (all distances in metres, in a metric CRS):

* line ends closer than ``snap_m`` are merged into one junction (the first end's coordinate);
* a line end within ``snap_m`` of another line's interior joins it there (a T-junction);
* an interior vertex shared by two lines is a junction (OSM and topological editors record
  junctions this way);
* two hand-drawn lines that cross are split at the crossing; lines flagged ``noded`` (from
  OpenStreetMap, where a bridge crosses without a shared node) are not.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import numpy as np
import numpy.typing as npt
import shapely
from scipy.spatial import cKDTree
from shapely import STRtree


def node_lines(lines: Sequence[np.ndarray], noded: np.ndarray, snap_m: float) -> list[tuple[int, np.ndarray]]:
    """Split lines at junctions; return ``(line index, vertices)`` of each piece (metres).

    Pieces meeting at a junction end on bit-identical coordinates, so the caller can
    number nodes by coordinate.
    """
    lines = [_dedupe(c) for c in lines]
    valid = [i for i, c in enumerate(lines) if len(c) >= 2]
    if not valid:
        return []
    ends = np.array([c for i in valid for c in (lines[i][0], lines[i][-1])], float)
    end_noded = np.repeat(np.array([bool(noded[i]) for i in valid], bool), 2)
    rep = _cluster(ends, snap_m, end_noded)
    for k, i in enumerate(valid):
        lines[i] = lines[i].copy()
        lines[i][0] = rep[2 * k]
        lines[i][-1] = rep[2 * k + 1]
    splits: dict[int, list[tuple[float, np.ndarray]]] = {i: [] for i in valid}
    geoms = linestrings([lines[i] for i in valid])
    tree = STRtree(geoms)
    # Snapping joins hand-drawn lines; OSM lines (noded) meet only where they share a node.
    drawn = np.unique(rep[~end_noded], axis=0) if (~end_noded).any() else np.zeros((0, 2))
    _t_junctions(lines, valid, geoms, tree, drawn, snap_m, splits)
    osm_ends = np.unique(rep[end_noded], axis=0) if end_noded.any() else np.zeros((0, 2))
    free = np.array([not noded[i] for i in valid], bool)
    _t_junctions(lines, valid, geoms, tree, osm_ends, snap_m, splits, only=free)
    _shared_vertices(lines, valid, splits)
    _crossings(lines, valid, geoms, tree, noded, snap_m, splits)
    out: list[tuple[int, np.ndarray]] = []
    for i in valid:
        for piece in _split(lines[i], splits[i], snap_m):
            if len(piece) >= 2 and np.any(piece[0] != piece[-1]):
                out.append((i, piece))
            elif len(piece) >= 3:
                # A closed loop (roundabout drawn as one ring): two halves, so it has two junction ends.
                half = _split(piece, [(length_of(piece) / 2, _point_at(piece, length_of(piece) / 2))], 0.0)
                out.extend((i, h) for h in half if len(h) >= 2)
    return out


def _dedupe(c: np.ndarray) -> np.ndarray:
    c = np.asarray(c, float)[:, :2]
    if len(c) < 2:
        return c
    keep = np.concatenate([[True], np.any(np.diff(c, axis=0) != 0, axis=1)])
    return c[keep]


def _cluster(points: np.ndarray, tol: float, fixed: np.ndarray | None = None) -> np.ndarray:
    """Each point replaced by the first point of its cluster (points within ``tol`` chain together)."""
    parent = np.arange(len(points))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    if tol > 0 and len(points) > 1:
        for a, b in cKDTree(points).query_pairs(tol, output_type="ndarray"):
            if fixed is not None and fixed[a] and fixed[b] and np.any(points[a] != points[b]):
                continue
            ra, rb = find(int(a)), find(int(b))
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
    roots = np.array([find(i) for i in range(len(points))])
    return points[roots]


def _t_junctions(
    lines: list[np.ndarray],
    valid: list[int],
    geoms: np.ndarray,
    tree: STRtree,
    ends: np.ndarray,
    snap_m: float,
    splits: dict[int, list[tuple[float, np.ndarray]]],
    only: np.ndarray | None = None,
) -> None:
    if snap_m <= 0 or not len(ends):
        return
    # An (n, 2) array gives n points; the stubs cannot tell it from one (x, y) pair.
    pts = cast(npt.NDArray[np.object_], shapely.points(ends))
    p_idx, g_idx = tree.query(pts, predicate="dwithin", distance=snap_m)
    for p, g in zip(p_idx, g_idx, strict=True):
        if only is not None and not only[g]:
            continue
        i = valid[g]
        c = lines[i]
        xy = ends[p]
        if np.all(c[0] == xy) or np.all(c[-1] == xy):
            continue
        d = float(shapely.line_locate_point(geoms[g], pts[p]))
        if d <= 0 or d >= length_of(c):
            continue
        splits[i].append((d, xy.copy()))


def _shared_vertices(
    lines: list[np.ndarray], valid: list[int], splits: dict[int, list[tuple[float, np.ndarray]]]
) -> None:
    # An interior vertex used by two lines is a junction (how OSM and topological editors record one).
    owner: dict[tuple[float, float], int] = {}
    shared: dict[tuple[float, float], set[int]] = {}
    for i in valid:
        for xy in map(tuple, lines[i]):
            first = owner.setdefault(xy, i)
            if first != i:
                shared.setdefault(xy, {first}).add(i)
    for xy, users in shared.items():
        for i in users:
            c = lines[i]
            if (c[0][0], c[0][1]) == xy or (c[-1][0], c[-1][1]) == xy:
                continue
            hit = np.nonzero((c[:, 0] == xy[0]) & (c[:, 1] == xy[1]))[0]
            cum = _cumlen(c)
            for k in hit:
                splits[i].append((float(cum[k]), np.array(xy)))


def _crossings(
    lines: list[np.ndarray],
    valid: list[int],
    geoms: np.ndarray,
    tree: STRtree,
    noded: np.ndarray,
    snap_m: float,
    splits: dict[int, list[tuple[float, np.ndarray]]],
) -> None:
    free = np.array([not noded[i] for i in valid], bool)
    if free.sum() < 2:
        return
    a_idx, b_idx = tree.query(geoms, predicate="crosses")
    keep = (a_idx < b_idx) & free[a_idx] & free[b_idx]
    a_idx, b_idx = a_idx[keep], b_idx[keep]
    if not len(a_idx):
        return
    inter = shapely.intersection(geoms[a_idx], geoms[b_idx])
    for a, b, g in zip(a_idx, b_idx, inter, strict=True):
        for p in shapely.get_parts(g):
            if p.geom_type != "Point":
                continue
            xy = np.array([p.x, p.y])
            for k in (a, b):
                # A crossing on a vertex of either line takes that vertex's exact coordinate.
                c = lines[valid[k]]
                near = np.nonzero(np.hypot(c[:, 0] - xy[0], c[:, 1] - xy[1]) <= 1e-6)[0]
                if len(near):
                    xy = c[near[0]].copy()
                    break
            for k in (a, b):
                i = valid[k]
                c = lines[i]
                if min(np.hypot(*(c[0] - xy)), np.hypot(*(c[-1] - xy))) <= snap_m:
                    continue
                splits[i].append((float(shapely.line_locate_point(geoms[k], p)), xy))


def linestrings(parts: Sequence[np.ndarray]) -> np.ndarray:
    """Shapely LineStrings from vertex arrays (vectorised)."""
    if not parts:
        return np.array([], dtype=object)
    sizes = np.array([len(p) for p in parts])
    lines = shapely.linestrings(np.vstack(parts), indices=np.repeat(np.arange(len(parts)), sizes))
    # With ``indices`` the answer is always an array; the stubs also allow a single LineString.
    return cast(npt.NDArray[np.object_], lines)


def _cumlen(c: np.ndarray) -> np.ndarray:
    return np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(c, axis=0).T))])


def length_of(c: np.ndarray) -> float:
    """Length of a polyline in its CRS units."""
    return float(_cumlen(c)[-1])


def _point_at(c: np.ndarray, d: float) -> np.ndarray:
    cum = _cumlen(c)
    k = int(np.clip(np.searchsorted(cum, d, side="right") - 1, 0, len(c) - 2))
    seg = cum[k + 1] - cum[k]
    t = 0.0 if seg == 0 else (d - cum[k]) / seg
    return c[k] + t * (c[k + 1] - c[k])


def _split(c: np.ndarray, cuts: list[tuple[float, np.ndarray]], snap_m: float) -> list[np.ndarray]:
    """Cut ``c`` at distances along it; each cut point gets exactly the given coordinate."""
    if not cuts:
        return [c]
    total = length_of(c)
    cuts = sorted(cuts, key=lambda t: t[0])
    cum = _cumlen(c)
    pieces: list[np.ndarray] = []
    start_xy, start_d = c[0], 0.0
    last_d = -1.0
    for d, xy in cuts:
        if d <= 1e-6 or d >= total - 1e-6 or d - last_d <= 1e-6:
            continue
        inner = c[(cum > start_d) & (cum < d)]
        pieces.append(np.vstack([start_xy, inner, xy]))
        start_xy, start_d, last_d = xy, d, d
    inner = c[(cum > start_d) & (cum < total)]
    pieces.append(np.vstack([start_xy, inner, c[-1]]))
    return [_dedupe(p) for p in pieces]
