"""Vehicle-aware routing on a :class:`~gis.network.Network`: snapping, searches, routes, reasons.

* Arbitrary points snap to the nearest position on a usable segment (shapely STRtree +
  ``line_locate_point``), not to the nearest junction; the snapped position becomes a
  virtual node whose two partial edges carry the right share of the segment's time.
* An edge is usable only if the vehicle fits its width, clear height and weight limit,
  and it is not closed (roads ``closed``, fire lanes obstructed, closures given with
  the query) nor touching an avoid polygon. All of that is a per-query cost array
  (blocked edges cost ``inf``): nothing is rebuilt.
* Searches are :func:`scipy.sparse.csgraph.dijkstra` on the CSR arrays (C speed, about
  70 ms one-to-all on a million edges here); a virtual super-source row holds the
  partial edges. With several targets the search is first run with a ``limit`` guessed
  from the straight-line distances and repeated unbounded only if a target was not
  settled, so a dispatch in one county of a large network does not search the province.
* On large networks the router may carry a contraction hierarchy (:mod:`gis.hierarchy`,
  ``router.hierarchy``): many-to-one and one-to-many times then come from it, and the
  routes asked for from one bounded Dijkstra search (:mod:`gis.routes`).
* When no route exists, :meth:`Router.explain` says why, e.g.
  ``净高 3.6 m < 车辆 3.9 m（加依勒玛街（渡槽下穿通道））``.

This module is longer than 500 lines on purpose: snapping, the per-query cost array, the
bounded search and the explanation of a missing route share the Router's CSR arrays and
its cached search graph; split apart they would pass those internals between modules.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import dijkstra
from shapely.geometry.base import BaseGeometry

from safemap.gis.network import ROADS, Network

if TYPE_CHECKING:
    from safemap.gis.hierarchy import Hierarchy

#: Points farther than this from every usable segment are not routed (metres).
MAX_SNAP_M = 5000.0


#: Super-source entries kept free in the cached search graphs (a snapped point needs ≤ 3).
SEED_SLOTS = 4
#: Cost of an unused seed slot (a self-loop on the super-source: never taken).
PARKED_COST = 1e30


@dataclass(frozen=True)
class Vehicle:
    """A vehicle profile (from the ``vehicle_profiles`` table).

    Parameters
    ----------
    code, label
        Profile code (e.g. ``aerial_ladder``) and Chinese name.
    width_m, height_m, length_m
        Outside dimensions in metres.
    weight_t
        Laden mass in tonnes.
    speed_factor
        Share of a road's free speed the vehicle keeps (heavy trucks < 1).
    max_speed_kmh
        Top speed in km/h.
    """

    code: str
    label: str
    width_m: float = 0.0
    height_m: float = 0.0
    length_m: float = 0.0
    weight_t: float = 0.0
    speed_factor: float = 1.0
    max_speed_kmh: float = 200.0


@dataclass(frozen=True)
class Restrictions:
    """Per-query exclusions, on top of the vehicle's limits and the stored closures.

    ``closed`` holds ``(layer code, feature id)`` pairs closed for this query only;
    ``avoid`` holds polygons in lon/lat (a plume, a flooded area): every segment
    touching one is unusable. ``ignore_closures`` lets a query use stored closures
    (a fire engine may pass a works closure).
    """

    closed: frozenset[tuple[int, int]] = frozenset()
    avoid: tuple[BaseGeometry, ...] = ()
    ignore_closures: bool = False

    def key(self) -> tuple[Any, ...]:
        """Hashable identity for caching cost arrays."""
        return (self.closed, tuple(shapely.to_wkb(g) for g in self.avoid), self.ignore_closures)


@dataclass(frozen=True)
class Snap:
    """A point placed on a segment: ``fraction`` of the way along it in drawing order."""

    seg: int
    fraction: float
    dist_m: float
    xy: tuple[float, float]


@dataclass
class Search:
    """Result of one search from (``direction='out'``) or towards (``'in'``) an anchor."""

    direction: str
    anchor: Snap | None
    dist: np.ndarray
    pred: np.ndarray
    seg_cost: np.ndarray
    n: int


@dataclass
class Route:
    """A route: duration (s), distance (m), metric vertices and the roads used in order."""

    duration_s: float
    distance_m: float
    xy: np.ndarray
    pieces: list[tuple[int, float, float]] = field(default_factory=list)
    roads: list[dict[str, Any]] = field(default_factory=list)


class NoRoute(Exception):
    """No route exists; ``reasons`` say why (Chinese, one line each)."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("；".join(reasons))
        self.reasons = reasons


class Router:
    """Routing queries on one network; cost arrays are cached per vehicle and restrictions."""

    def __init__(self, net: Network) -> None:
        self.net = net
        self._lock = threading.Lock()
        self._costs: OrderedDict[tuple[Any, ...], tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._paces: dict[int, tuple[np.ndarray, float]] = {}
        self._graphs: OrderedDict[tuple[int, str], tuple[np.ndarray, Any]] = OrderedDict()
        self.closure_version = 0
        #: Contraction hierarchy for many-to-one / one-to-many times (:mod:`gis.hierarchy`), when built.
        self.hierarchy: Hierarchy | None = None

    # ------------------------------------------------------------------ costs
    def set_closed(self, closed: np.ndarray) -> None:
        """Apply new stored closures (no rebuild; cached costs are dropped)."""
        with self._lock:
            self.net.set_closed(closed)
            self.closure_version += 1
            self._costs.clear()

    def blocked(self, vehicle: Vehicle | None, restrictions: Restrictions | None = None) -> np.ndarray:
        """Per segment: True when this vehicle may not use it under these restrictions."""
        net = self.net
        r = restrictions or Restrictions()
        out = np.zeros(net.n_segments, bool)
        if vehicle is not None:
            with np.errstate(invalid="ignore"):
                out |= net.seg_width < vehicle.width_m
                out |= net.seg_height < vehicle.height_m
                out |= net.seg_weight < vehicle.weight_t
        if not r.ignore_closures:
            out |= net.seg_closed
        if r.closed:
            pairs = {(int(a), int(b)) for a, b in r.closed}
            out |= np.fromiter(
                ((int(la), int(f)) in pairs for la, f in zip(net.seg_layer, net.seg_fid, strict=True)),
                bool,
                count=net.n_segments,
            )
        out |= self._in_areas(r.avoid)
        return out

    def _in_areas(self, areas: Sequence[BaseGeometry]) -> np.ndarray:
        hit = np.zeros(self.net.n_segments, bool)
        if areas:
            metric = [shapely.transform(a, lambda c: self.net.to_xy(c)) for a in areas]
            _, idx = self.net.tree().query(np.array(metric, dtype=object), predicate="intersects")
            hit[idx] = True
        return hit

    def segment_cost(self, vehicle: Vehicle | None, restrictions: Restrictions | None = None) -> np.ndarray:
        """Travel time in seconds of each whole segment for the vehicle (``inf`` when blocked)."""
        key = (
            None if vehicle is None else vehicle,
            None if restrictions is None else restrictions.key(),
            self.closure_version,
        )
        with self._lock:
            hit = self._costs.get(key)
            if hit is not None:
                self._costs.move_to_end(key)
                return hit[0]
        net = self.net
        speed = net.seg_speed.copy()
        if vehicle is not None:
            speed = np.minimum(speed * vehicle.speed_factor, vehicle.max_speed_kmh)
        cost = net.seg_len / (speed / 3.6)
        cost[self.blocked(vehicle, restrictions)] = np.inf
        with self._lock:
            self._costs[key] = (cost, np.empty(0))
            while len(self._costs) > 8:
                self._costs.popitem(last=False)
        return cost

    # ------------------------------------------------------------------ snapping
    def snap(
        self, lonlat: np.ndarray, usable: np.ndarray | None = None, max_m: float = MAX_SNAP_M
    ) -> list[Snap | None]:
        """Nearest position on a usable segment for each lon/lat point (``None``: none within ``max_m``)."""
        net = self.net
        pts_xy = net.to_xy(np.asarray(lonlat, float).reshape(-1, 2))
        # An (n, 2) array gives n points; the stubs cannot tell it from one (x, y) pair.
        pts = cast(npt.NDArray[np.object_], shapely.points(pts_xy))
        lines = net.segment_lines()
        out: list[Snap | None] = [None] * len(pts)
        if net.n_segments == 0:
            return out
        tree = net.tree()
        if usable is None or usable.all():
            # Uncapped nearest, then the distance cut: GEOS's max_distance search is ~10× slower
            # with a 5 km cap on a 500,000-segment tree.
            (p_idx, s_idx), dist = tree.query_nearest(pts, all_matches=False, return_distance=True)
            near = dist <= max_m
            pairs: dict[int, int] = dict(zip(p_idx[near].tolist(), s_idx[near].tolist(), strict=True))
        else:
            pairs = {}
            for k, p in enumerate(pts):
                radius = 50.0
                while radius <= max_m * 2:
                    cand = tree.query(p, predicate="dwithin", distance=min(radius, max_m))
                    cand = cand[usable[cand]]
                    if len(cand):
                        d = shapely.distance(lines[cand], p)
                        pairs[k] = int(cand[np.argmin(d)])
                        break
                    if radius >= max_m:
                        break
                    radius *= 4
        if not pairs:
            return out
        ks = np.fromiter(pairs.keys(), np.int64, len(pairs))
        segs = np.fromiter(pairs.values(), np.int64, len(pairs))
        # All points at once (GEOS vectorised): a dispatch snaps a hundred teams.
        d_along = shapely.line_locate_point(lines[segs], pts[ks])
        on = shapely.line_interpolate_point(lines[segs], d_along)
        gap = shapely.distance(on, pts[ks])
        on_xy = shapely.get_coordinates(on)
        length = net.seg_len[segs]
        frac = np.where(length > 0, np.clip(d_along / np.where(length > 0, length, 1.0), 0.0, 1.0), 0.0)
        for i, k in enumerate(ks.tolist()):
            out[k] = Snap(int(segs[i]), float(frac[i]), float(gap[i]), (float(on_xy[i, 0]), float(on_xy[i, 1])))
        return out

    # ------------------------------------------------------------------ searches
    def search(
        self,
        anchor: Snap,
        seg_cost: np.ndarray,
        direction: str = "out",
        *,
        targets: Sequence[Snap | None] = (),
        limit: float = np.inf,
    ) -> Search:
        """Dijkstra from (``out``) or towards (``in``) ``anchor`` with the given segment costs.

        With ``targets`` the first pass is bounded by a limit guessed from straight-line
        distances; a second, unbounded pass runs only if some target end stayed unsettled.
        """
        seeds = self.seeds(anchor, seg_cost, direction)
        return self.search_from(seeds, seg_cost, direction, anchor=anchor, targets=targets, limit=limit)

    def search_from(
        self,
        seeds: Sequence[tuple[int, float]],
        seg_cost: np.ndarray,
        direction: str,
        *,
        anchor: Snap | None = None,
        targets: Sequence[Snap | None] = (),
        limit: float = np.inf,
        edge_ok: np.ndarray | None = None,
    ) -> Search:
        """Dijkstra from several ``(node, initial seconds)`` seeds (a virtual super-source)."""
        seeds = [(int(v), float(d)) for v, d in seeds if math.isfinite(d)]
        if edge_ok is None and len(seeds) <= SEED_SLOTS:
            with self._lock:
                graph = self._seeded_graph(seg_cost, direction, seeds)
                return self._run(graph, seg_cost, direction, anchor, targets, limit)
        graph = self._graph(seg_cost, direction, seeds, edge_ok)
        return self._run(graph, seg_cost, direction, anchor, targets, limit)

    def _graph(
        self, seg_cost: np.ndarray, direction: str, seeds: list[tuple[int, float]], edge_ok: np.ndarray | None
    ) -> Any:
        """A fresh CSR graph with a super-source row ``n`` linked to the seeds."""
        net = self.net
        n = net.n_nodes
        edge_cost = seg_cost[net.edge_seg]
        if edge_ok is not None:
            edge_cost = np.where(edge_ok, edge_cost, np.inf)
        if direction == "out":
            indptr, heads = net.indptr, net.edge_head
            data = edge_cost
        else:
            indptr, order = net.reverse_csr()
            heads = net.edge_tail[order]
            data = edge_cost[order]
        ptr = np.concatenate([indptr, [indptr[-1] + len(seeds)]]).astype(np.int64)
        idx = np.concatenate([heads, np.array([v for v, _ in seeds], dtype=np.int32)]).astype(np.int32)
        # scipy drops explicit zeros in some paths: a seed at distance 0 gets a tiny positive cost.
        val = np.concatenate([data, np.array([max(d, 1e-12) for _, d in seeds], float)])
        return sp.csr_matrix((val, idx, ptr), shape=(n + 1, n + 1))

    def _seeded_graph(self, seg_cost: np.ndarray, direction: str, seeds: list[tuple[int, float]]) -> Any:
        """The cached graph of this cost array with the seeds written into its spare slots.

        Building a million-edge CSR matrix costs more than a bounded search, so it is
        built once per (cost array, direction) with :data:`SEED_SLOTS` entries for the
        super-source; unused slots are parked on a self-loop of prohibitive cost.
        Callers hold ``self._lock`` while the seeds are in place.
        """
        key = (id(seg_cost), direction)
        hit = self._graphs.get(key)
        if hit is None or hit[0] is not seg_cost:
            n = self.net.n_nodes
            parked = [(n, PARKED_COST)] * SEED_SLOTS
            graph = self._graph(seg_cost, direction, parked, None)
            hit = self._graphs[key] = (seg_cost, graph)
            while len(self._graphs) > 4:
                self._graphs.popitem(last=False)
        graph = hit[1]
        start = graph.indptr[-2]
        for k in range(SEED_SLOTS):
            v, d = seeds[k] if k < len(seeds) else (self.net.n_nodes, PARKED_COST)
            graph.indices[start + k] = v
            graph.data[start + k] = max(d, 1e-12)
        return graph

    def _run(
        self,
        graph: Any,
        seg_cost: np.ndarray,
        direction: str,
        anchor: Snap | None,
        targets: Sequence[Snap | None],
        limit: float,
    ) -> Search:
        n = self.net.n_nodes
        bound = limit
        needed = self._target_nodes(targets, seg_cost, direction)
        if len(needed) and not math.isfinite(limit) and anchor is not None:
            bound = self._guess_limit(anchor, targets, seg_cost)
        # scipy-stubs type ``indices`` as an array only; scipy takes one int and then answers 1-D arrays.
        dist, pred = dijkstra(graph, directed=True, indices=n, return_predecessors=True, limit=bound)  # type: ignore[call-overload]
        if len(needed) and not np.isfinite(dist[needed]).all() and bound < limit:
            dist, pred = dijkstra(graph, directed=True, indices=n, return_predecessors=True, limit=limit)  # type: ignore[call-overload]
        return Search(direction, anchor, dist, pred, seg_cost, n)

    def seeds(self, snap: Snap, seg_cost: np.ndarray, direction: str) -> list[tuple[int, float]]:
        """``(junction, seconds)`` links between a snapped point and the network, in search direction."""
        net = self.net
        s, t = snap.seg, snap.fraction
        c = seg_cost[s]
        u, v = int(net.seg_u[s]), int(net.seg_v[s])
        two_way = not net.oneway[s]
        if direction == "out":
            seeds = [(v, (1 - t) * c)] + ([(u, t * c)] if two_way else [])
        else:
            seeds = [(u, t * c)] + ([(v, (1 - t) * c)] if two_way else [])
        # A point exactly on a junction is that junction, whichever segment it snapped to.
        if math.isfinite(c) and t == 0.0:
            seeds.append((u, 0.0))
        if math.isfinite(c) and t == 1.0:
            seeds.append((v, 0.0))
        return seeds

    def _target_nodes(self, targets: Sequence[Snap | None], seg_cost: np.ndarray, direction: str) -> np.ndarray:
        net = self.net
        nodes = []
        for snap in targets:
            if snap is None or not math.isfinite(seg_cost[snap.seg]):
                continue
            nodes.append(net.seg_u[snap.seg] if direction == "out" else net.seg_v[snap.seg])
            if not net.oneway[snap.seg] or snap.fraction in (0.0, 1.0):
                nodes.append(net.seg_v[snap.seg] if direction == "out" else net.seg_u[snap.seg])
        return np.array(nodes, dtype=np.int64)

    def _guess_limit(self, anchor: Snap, targets: Sequence[Snap | None], seg_cost: np.ndarray) -> float:
        xy = np.array([t.xy for t in targets if t is not None], float)
        if not len(xy):
            return np.inf
        far = float(np.max(np.hypot(xy[:, 0] - anchor.xy[0], xy[:, 1] - anchor.xy[1])))
        pace = self._pace(seg_cost)
        if not math.isfinite(pace):
            return np.inf
        # Seconds per metre of a typical usable segment; roads wind, so allow 2.5× plus 10 min.
        return 2.5 * far * pace + 600.0

    def _pace(self, seg_cost: np.ndarray) -> float:
        """Median seconds per metre over usable segments (cached per cost array)."""
        key = id(seg_cost)
        hit = self._paces.get(key)
        if hit is not None and hit[0] is seg_cost:
            return hit[1]
        finite = np.isfinite(seg_cost) & (seg_cost > 0)
        pace = np.inf
        if finite.any():
            pace = float(np.median(seg_cost[finite] / np.maximum(self.net.seg_len[finite], 1e-9)))
        self._paces[key] = (seg_cost, pace)
        while len(self._paces) > 8:
            self._paces.pop(next(iter(self._paces)))
        return pace

    def cost_to(self, search: Search, snap: Snap | None) -> tuple[float, int]:
        """Seconds between the search's anchor and ``snap``; also the node it goes through (-1: same segment)."""
        if snap is None:
            return np.inf, -1
        net = self.net
        s, t = snap.seg, snap.fraction
        c = search.seg_cost[s]
        if not math.isfinite(c):
            return np.inf, -1
        u, v = int(net.seg_u[s]), int(net.seg_v[s])
        two_way = not net.oneway[s]
        options: list[tuple[float, int]] = []
        if search.direction == "out":
            options.append((search.dist[u] + t * c, u))
            if two_way:
                options.append((search.dist[v] + (1 - t) * c, v))
        else:
            options.append((search.dist[v] + (1 - t) * c, v))
            if two_way:
                options.append((search.dist[u] + t * c, u))
        if t == 0.0:
            options.append((search.dist[u], u))
        if t == 1.0:
            options.append((search.dist[v], v))
        a = search.anchor
        if a is not None and a.seg == s:
            # Both on one segment: straight along it if the direction allows.
            ahead = t >= a.fraction if search.direction == "out" else t <= a.fraction
            if ahead or two_way:
                options.append((abs(t - a.fraction) * c, -1))
        return min(options, key=lambda o: o[0])

    def route_to(self, search: Search, snap: Snap) -> Route:
        """The route between the search's anchor and ``snap`` (travel order), or :class:`NoRoute`."""
        cost, via = self.cost_to(search, snap)
        if not math.isfinite(cost):
            raise NoRoute(["无可通行路线"])
        a = search.anchor
        assert a is not None
        out = search.direction == "out"
        if via == -1:
            start, end = (a, snap) if out else (snap, a)
            return self.assemble([(snap.seg, start.fraction, end.fraction)], cost, search.seg_cost)
        chain = self.chain(search, via)
        hops = self.hops(search, chain)
        seed = chain[0]
        if out:
            pieces = [self.leave(a, seed), *hops, self.enter(snap, via)]
        else:
            pieces = [self.leave(snap, via), *hops, self.enter(a, seed)]
        return self.assemble(pieces, cost, search.seg_cost)

    def leave(self, s: Snap, node: int) -> tuple[int, float, float]:
        """Piece from a snapped point to an end node of its segment."""
        return (s.seg, s.fraction, 0.0 if node == self.net.seg_u[s.seg] else 1.0)

    def enter(self, s: Snap, node: int) -> tuple[int, float, float]:
        """Piece from an end node of a segment to a snapped point on it."""
        return (s.seg, 0.0 if node == self.net.seg_u[s.seg] else 1.0, s.fraction)

    def chain(self, search: Search, node: int) -> list[int]:
        """Nodes from the seed next to the anchor (or super-source) to ``node``, in search order."""
        chain = [node]
        while True:
            p = int(search.pred[chain[-1]])
            if p < 0 or p == search.n:
                break
            chain.append(p)
        chain.reverse()
        return chain

    def hops(self, search: Search, chain: list[int]) -> list[tuple[int, float, float]]:
        """Whole segments along ``chain`` in travel order as (segment, from, to) fractions.

        Between two junctions the cheapest parallel edge is taken (the first in CSR order
        on a tie), found for all hops at once: a route has hundreds of them.
        """
        net = self.net
        c = np.asarray(chain, dtype=np.int64)
        if len(c) < 2:
            return []
        tails, heads = (c[:-1], c[1:]) if search.direction == "out" else (c[1:], c[:-1])
        lo = net.indptr[tails]
        deg = net.indptr[tails + 1] - lo
        hop = np.repeat(np.arange(len(tails)), deg)
        edge = lo[hop] + np.arange(int(deg.sum())) - np.repeat(np.cumsum(deg) - deg, deg)
        cost = np.where(net.edge_head[edge] == heads[hop], search.seg_cost[net.edge_seg[edge]], np.inf)
        order = np.lexsort((cost, hop))  # stable: ties keep CSR order
        first = np.ones(len(order), bool)
        first[1:] = hop[order][1:] != hop[order][:-1]
        best = edge[order[first]]
        segs, fwd = net.edge_seg[best].tolist(), net.edge_fwd[best].tolist()
        out = [(s, 0.0, 1.0) if f else (s, 1.0, 0.0) for s, f in zip(segs, fwd, strict=True)]
        if search.direction == "in":
            out.reverse()
        return out

    def assemble(self, pieces: list[tuple[int, float, float]], cost: float, seg_cost: np.ndarray) -> Route:
        """A :class:`Route` from (segment, from fraction, to fraction) pieces in travel order."""
        net = self.net
        pieces = [p for p in pieces if p[1] != p[2]]
        if not pieces:
            return Route(float(cost), 0.0, np.zeros((0, 2)), [], [])
        segs = np.array([p[0] for p in pieces], dtype=np.int64)
        share = np.abs(np.array([p[2] - p[1] for p in pieces]))
        lengths = (share * net.seg_len[segs]).tolist()
        seconds_all = (share * seg_cost[segs]).tolist()
        layers, fids = net.seg_layer[segs].tolist(), net.seg_fid[segs].tolist()
        seg_lens = net.seg_len[segs].tolist()
        parts: list[np.ndarray] = []
        roads: list[dict[str, Any]] = []
        for k, (s, f0, f1) in enumerate(pieces):
            if f0 == 0.0 and f1 == 1.0:
                xy = net.segment_xy(s)
            elif f0 == 1.0 and f1 == 0.0:
                xy = net.segment_xy(s)[::-1]
            else:
                xy = _sub_line(net.segment_xy(s), f0 * seg_lens[k], f1 * seg_lens[k], seg_lens[k])
            parts.append(xy if not parts else xy[1:])
            layer, fid, length, seconds = layers[k], fids[k], lengths[k], seconds_all[k]
            last = roads[-1] if roads else None
            if last is not None and last["layer_code"] == layer and last["ids"][-1] == fid:
                last["distance_m"] += length
                last["duration_s"] += seconds
                continue
            name = net.segment_label(s)
            if last is not None and last["layer_code"] == layer and last["name"] == name:
                # Consecutive pieces of one road (or one named street cut into segments) read as one step.
                last["distance_m"] += length
                last["duration_s"] += seconds
                last["ids"].append(fid)
                continue
            roads.append(
                {
                    "layer_code": layer,
                    "layer": "roads" if layer == ROADS else "fire_lanes",
                    "ids": [fid],
                    "name": name,
                    "ref": net.seg_ref[s] if isinstance(net.seg_ref[s], str) and net.seg_ref[s] else None,
                    "distance_m": length,
                    "duration_s": seconds,
                }
            )
        return Route(float(cost), float(sum(lengths)), np.vstack(parts), pieces, roads)


def _sub_line(xy: np.ndarray, d0: float, d1: float, length: float | None = None) -> np.ndarray:
    """Vertices of the part of a polyline between distances ``d0`` and ``d1`` (reversed if d0 > d1)."""
    if length is not None and {d0, d1} == {0.0, length}:
        return xy if d0 == 0.0 else xy[::-1]  # a whole segment, the common case on a route
    if d0 > d1:
        return _sub_line(xy, d1, d0)[::-1]
    cum = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(xy, axis=0).T))])

    def at(d: float) -> np.ndarray:
        k = int(np.clip(np.searchsorted(cum, d, side="right") - 1, 0, len(xy) - 2))
        span = cum[k + 1] - cum[k]
        t = 0.0 if span == 0 else (d - cum[k]) / span
        return xy[k] + t * (xy[k + 1] - xy[k])

    inner = xy[(cum > d0) & (cum < d1)]
    return np.vstack([at(d0), inner, at(d1)])
