"""Turn drawn road lines into a routable network of road segments.

Roads are drawn as long polylines (a street, a county road). A routable network
needs more: every junction must be a shared end point of the segments that meet
there, with bit-identical coordinates, and no two segments may cross anywhere
else. This module

1. snaps a line end lying on another line (a T-junction, within 0.5 m) onto it,
2. finds every crossing of two lines and makes it a node of both,
3. adds requested nodes (where fire lanes join a street),
4. splits each line at its nodes, at the ends of special spans (a bridge, an
   underpass, a closure) and, for rural roads, every few hundred metres.

Node coordinates closer than 5 cm are merged, so no segment is shorter than that
and rounding to 1e-8 degrees on output cannot collapse one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from shapely.geometry import LineString, Point

from safemap.layers.demo.shapes import XY

SNAP_M = 0.5
MERGE_M = 0.05


@dataclass
class RoadLine:
    """One drawn road before noding.

    Attributes
    ----------
    coords
        ``(n, 2)`` vertices in metres, in drawing order (the travel direction of a one-way road).
    props
        Properties every segment of the road carries (class, name, speed, width…).
    spans
        ``(from_m, to_m, overrides)``: the part between those distances along the
        line becomes its own segment(s) with ``overrides`` applied (a bridge's weight
        limit, an underpass's height limit, a closure).
    piece_m
        ``(shortest, longest)`` target length in metres of the segments a long rural
        road is cut into; ``None`` keeps segments from junction to junction.
    """

    coords: np.ndarray
    props: dict[str, Any]
    spans: list[tuple[float, float, dict[str, Any]]] = field(default_factory=list)
    piece_m: tuple[float, float] | None = None

    @property
    def line(self) -> LineString:
        """The line as a shapely geometry (metres)."""
        return LineString(self.coords)


class NodeIndex:
    """Canonical node coordinates: any point within ``tol`` metres of a known node is that node."""

    def __init__(self, tol: float = MERGE_M) -> None:
        self.tol = tol
        self._cells: dict[tuple[int, int], list[XY]] = {}

    def get(self, xy: Sequence[float]) -> XY:
        """Return the node at ``xy`` (an existing one when close enough, else ``xy`` itself)."""
        x, y = float(xy[0]), float(xy[1])
        i, j = math.floor(x / self.tol), math.floor(y / self.tol)
        best: XY | None = None
        best_d = self.tol
        for di in (-1, 0, 1):
            for dj in (-1, 0, 1):
                for q in self._cells.get((i + di, j + dj), ()):
                    d = math.hypot(q[0] - x, q[1] - y)
                    if d <= best_d:
                        best, best_d = q, d
        if best is not None:
            return best
        node = (x, y)
        self._cells.setdefault((i, j), []).append(node)
        return node


def build_segments(
    lines: list[RoadLine], nodes: Sequence[XY], rng: np.random.Generator
) -> tuple[list[tuple[np.ndarray, dict[str, Any]]], list[XY]]:
    """Node and split ``lines`` into road segments.

    Parameters
    ----------
    lines
        Drawn roads; their end coordinates may be adjusted (snapped) in place.
    nodes
        Points (metres) that must become network nodes, e.g. fire-lane entrances on a street.
    rng
        Random generator for the lengths rural roads are cut into.

    Returns
    -------
    segments
        ``(coords, props)`` per segment, in a deterministic order.
    node_coords
        For each requested node, the exact coordinate of the network node it became.
    """
    index = NodeIndex()
    for ln in lines:
        ln.coords = np.array(ln.coords, dtype=float)
        ln.coords[0] = index.get(ln.coords[0])
        ln.coords[-1] = index.get(ln.coords[-1])
    splits: list[list[XY]] = [[] for _ in lines]
    _snap_ends(lines, splits, index)
    geoms = np.array([ln.line for ln in lines], dtype=object)
    tree = shapely.STRtree(geoms)
    _crossings(lines, geoms, tree, splits, index)
    node_coords = [_attach(p, geoms, tree, splits, index) for p in nodes]
    segments: list[tuple[np.ndarray, dict[str, Any]]] = []
    for ln, cuts in zip(lines, splits, strict=True):
        segments.extend(_split_line(ln, cuts, index, rng))
    return segments, node_coords


def _snap_ends(lines: list[RoadLine], splits: list[list[XY]], index: NodeIndex) -> None:
    geoms = np.array([ln.line for ln in lines], dtype=object)
    tree = shapely.STRtree(geoms)
    for i, ln in enumerate(lines):
        for end in (0, -1):
            p = Point(ln.coords[end])
            for j in sorted(int(k) for k in tree.query(p, predicate="dwithin", distance=SNAP_M)):
                if j == i:
                    continue
                other = lines[j].coords
                if _same(ln.coords[end], other[0]) or _same(ln.coords[end], other[-1]):
                    continue
                g = geoms[j]
                q = g.interpolate(g.project(p))
                for e in (other[0], other[-1]):
                    if math.dist((q.x, q.y), e) <= SNAP_M:
                        q = Point(e)
                node = index.get((q.x, q.y))
                ln.coords[end] = node
                splits[j].append(node)
                break


def _same(a: Sequence[float], b: Sequence[float]) -> bool:
    return float(a[0]) == float(b[0]) and float(a[1]) == float(b[1])


def _crossings(
    lines: list[RoadLine],
    geoms: np.ndarray,
    tree: shapely.STRtree,
    splits: list[list[XY]],
    index: NodeIndex,
) -> None:
    left, right = tree.query(geoms, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    order = np.lexsort((right, left))
    left, right = left[order], right[order]
    inter = shapely.intersection(geoms[left], geoms[right])
    for i, j, g in zip(left.tolist(), right.tolist(), inter, strict=True):
        for part in shapely.get_parts(g):
            if part.geom_type != "Point":
                names = lines[i].props.get("name"), lines[j].props.get("name")
                raise ValueError(f"demo roads overlap instead of crossing: {names}")
            node = index.get((part.x, part.y))
            splits[i].append(node)
            splits[j].append(node)


def _attach(p: XY, geoms: np.ndarray, tree: shapely.STRtree, splits: list[list[XY]], index: NodeIndex) -> XY:
    pt = Point(p)
    hits = sorted(int(k) for k in tree.query(pt, predicate="dwithin", distance=SNAP_M))
    if not hits:
        raise ValueError(f"requested road node {p} is not on a road")

    def nearness(k: int) -> tuple[float, int]:
        return (geoms[k].distance(pt), k)

    j = min(hits, key=nearness)
    g = geoms[j]
    q = g.interpolate(g.project(pt)) if g.distance(pt) > 0 else pt
    node = index.get((q.x, q.y))
    splits[j].append(node)
    return node


def _split_line(
    ln: RoadLine, cuts: list[XY], index: NodeIndex, rng: np.random.Generator
) -> list[tuple[np.ndarray, dict[str, Any]]]:
    line = ln.line
    coords = ln.coords
    seg = np.hypot(*np.diff(coords, axis=0).T)
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    # distance along -> (x, y, is_cut); original vertices are kept but do not end a segment.
    marks: dict[float, tuple[float, float, bool]] = {}
    for d, (x, y) in zip(cum.tolist(), coords.tolist(), strict=True):
        marks[d] = (x, y, False)
    span_marks = []
    for d0, d1, _ in ln.spans:
        for d in (d0, d1):
            q = line.interpolate(d)
            span_marks.append(index.get((q.x, q.y)))
    for node in sorted(set(cuts) | set(span_marks)):
        d = float(line.project(Point(node)))
        near = _nearest_key(marks, d)
        if near is not None and math.dist(marks[near][:2], node) <= MERGE_M:
            del marks[near]
        marks[d] = (node[0], node[1], True)
    keys = sorted(marks)
    first, last = keys[0], keys[-1]
    marks[first] = (*marks[first][:2], True)
    marks[last] = (*marks[last][:2], True)
    pieces: list[tuple[list[tuple[float, float]], float, float]] = []
    current: list[tuple[float, float]] = []
    start = first
    for d in keys:
        x, y, is_cut = marks[d]
        current.append((x, y))
        if is_cut and len(current) > 1:
            pieces.append((current, start, d))
            current = [(x, y)]
            start = d
        elif is_cut:
            start = d
    out = []
    for pts, d0, d1 in pieces:
        props = dict(ln.props)
        mid = (d0 + d1) / 2
        for s0, s1, overrides in ln.spans:
            if s0 <= mid <= s1:
                props.update(overrides)
        arr = np.array(pts)
        for part in _subdivide(arr, ln.piece_m, rng):
            out.append((part, props))
    return out


def _nearest_key(marks: dict[float, Any], d: float) -> float | None:
    if not marks:
        return None
    return min(marks, key=lambda k: abs(k - d))


def _subdivide(coords: np.ndarray, piece_m: tuple[float, float] | None, rng: np.random.Generator) -> list[np.ndarray]:
    line = LineString(coords)
    length = line.length
    if piece_m is None or length <= piece_m[1]:
        return [coords]
    n = max(2, math.ceil(length / float(rng.uniform(*piece_m))))
    cuts = [length * k / n for k in range(1, n)]
    seg = np.hypot(*np.diff(coords, axis=0).T)
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    out = []
    prev_pt = coords[0]
    prev_i = 0
    for c in cuts:
        q = line.interpolate(c)
        i = int(np.searchsorted(cum, c, side="right"))
        inner = coords[prev_i + 1 : i]
        piece = np.vstack([prev_pt, *inner, [q.x, q.y]]) if len(inner) else np.array([prev_pt, [q.x, q.y]])
        out.append(piece)
        prev_pt = np.array([q.x, q.y])
        prev_i = i - 1
    out.append(np.vstack([prev_pt, coords[prev_i + 1 :]]))
    return out
