"""Route queries on a :class:`~gis.routing.Router`: point to point, one to many, many to one, and why not.

Every function takes lon/lat points and returns :class:`Leg` results whose routes are
built only when asked for (:meth:`Leg.route`), so ranking a hundred teams costs one
search per vehicle profile and five path reconstructions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from safemap.gis.network import ROADS
from safemap.gis.routing import MAX_SNAP_M, NoRoute, Restrictions, Route, Router, Search, Snap, Vehicle

LonLat = tuple[float, float]

#: Legs from one search at least this many use the router's contraction hierarchy when it has one.
HIERARCHY_MIN_LEGS = 2
#: Routes a dispatcher usually opens (the best few teams): the shared path search covers them at once.
ROUTES_AHEAD = 5


@dataclass
class Leg:
    """Travel between one source and one destination for one vehicle.

    ``duration_s`` is ``inf`` when there is no route; :meth:`route` then raises
    :class:`~gis.routing.NoRoute` with the reasons.
    """

    router: Router
    vehicle: Vehicle | None
    restrictions: Restrictions | None
    origin: LonLat
    destination: LonLat
    search: Search | None
    snap: Snap | None
    duration_s: float
    paths: _PathSearch | None = None

    @property
    def reachable(self) -> bool:
        """Whether a route exists."""
        return math.isfinite(self.duration_s)

    def route(self) -> Route:
        """The route with geometry and roads used (raises :class:`NoRoute` with reasons)."""
        if self.reachable and self.search is None and self.paths is not None:
            self.search = self.paths.covering(self.duration_s)
        if not self.reachable or self.search is None or self.snap is None:
            raise NoRoute(explain(self.router, self.origin, self.destination, self.vehicle, self.restrictions))
        return self.router.route_to(self.search, self.snap)


@dataclass
class _PathSearch:
    """One Dijkstra search shared by legs whose times came from the hierarchy, run when a route is asked for.

    It is bounded by the time of the leg asked for, and at least by the time of the
    :data:`ROUTES_AHEAD`-th fastest leg (a dispatcher looks at the best few routes), so
    asking for those routes in any order costs one bounded search.
    """

    router: Router
    anchor: Snap
    cost: np.ndarray
    direction: str
    durations: np.ndarray
    search: Search | None = None
    bound: float = -1.0

    def covering(self, duration_s: float) -> Search:
        """A search that settles every junction within ``duration_s`` (plus rounding) of the anchor."""
        if self.search is None or duration_s > self.bound:
            finite = np.sort(self.durations[np.isfinite(self.durations)])
            ahead = float(finite[min(ROUTES_AHEAD, len(finite)) - 1]) if len(finite) else 0.0
            # The hierarchy's times are rounded to its tick: a margin keeps the end junctions inside.
            self.bound = max(duration_s, ahead) * (1 + 1e-6) + 1.0
            self.search = self.router.search(self.anchor, self.cost, self.direction, limit=self.bound)
        return self.search


def snap_usable(
    router: Router, points: Sequence[LonLat], vehicle: Vehicle | None, restrictions: Restrictions | None, max_m: float
) -> tuple[list[Snap | None], np.ndarray]:
    """Snap points to segments usable by the vehicle; also return the segment costs."""
    cost = router.segment_cost(vehicle, restrictions)
    snaps = router.snap(np.array(points, float).reshape(-1, 2), np.isfinite(cost), max_m)
    return snaps, cost


def _legs(
    router: Router,
    anchor_point: LonLat,
    others: Sequence[LonLat],
    direction: str,
    vehicle: Vehicle | None,
    restrictions: Restrictions | None,
    max_snap_m: float,
) -> list[Leg]:
    """One search from (``out``) or towards (``in``) ``anchor_point``, a leg per other point."""
    snaps, cost = snap_usable(router, [anchor_point, *others], vehicle, restrictions, max_snap_m)
    anchor, ends = snaps[0], snaps[1:]
    fast = None if anchor is None else _hierarchy_times(router, anchor, ends, cost, direction)
    if fast is not None and anchor is not None:
        paths = _PathSearch(router, anchor, cost, direction, fast)
        legs = []
        for point, end, seconds in zip(others, ends, fast.tolist(), strict=True):
            origin, destination = (anchor_point, point) if direction == "out" else (point, anchor_point)
            legs.append(Leg(router, vehicle, restrictions, origin, destination, None, end, seconds, paths))
        return legs
    search = None if anchor is None else router.search(anchor, cost, direction, targets=ends)
    legs = []
    for point, end in zip(others, ends, strict=True):
        origin, destination = (anchor_point, point) if direction == "out" else (point, anchor_point)
        if search is None:
            legs.append(Leg(router, vehicle, restrictions, origin, destination, None, None, np.inf))
        else:
            seconds = router.cost_to(search, end)[0]
            legs.append(Leg(router, vehicle, restrictions, origin, destination, search, end, seconds))
    return legs


def _hierarchy_times(
    router: Router, anchor: Snap, ends: Sequence[Snap | None], cost: np.ndarray, direction: str
) -> np.ndarray | None:
    """Seconds of each leg from the router's contraction hierarchy, or ``None`` (Dijkstra then).

    The hierarchy gives times between junctions; the ends of each snapped point's segment
    are pinned and :meth:`Router.cost_to` adds the partial segments exactly as it does
    after a Dijkstra search (same-segment trips included).
    """
    hierarchy = router.hierarchy
    if hierarchy is None or len(ends) < HIERARCHY_MIN_LEGS:
        return None
    net = router.net
    pins: set[int] = set()
    for e in ends:
        if e is not None:
            pins.update(_end_junctions(router, e, direction))
    nodes = np.array(sorted(pins), dtype=np.int64)
    times = hierarchy.times(cost, direction, router.seeds(anchor, cost, direction), nodes)
    if times is None:
        return None
    dist = np.full(net.n_nodes, np.inf)
    dist[nodes] = times
    # A search-shaped view of the answer: cost_to reads only the anchor, direction, costs and dist.
    view = Search(direction, anchor, dist, np.empty(0, np.int32), cost, net.n_nodes)
    return np.array([router.cost_to(view, end)[0] for end in ends], dtype="float64")


def _end_junctions(router: Router, end: Snap, direction: str) -> tuple[int, ...]:
    """Junctions through which a trip to/from ``end`` can leave/enter the network (as :meth:`Router.cost_to` reads).

    On a junction itself (fraction 0 or 1) only that junction: going round by the
    segment's other end is never shorter. Fewer pinned junctions make a faster sweep.
    """
    net = router.net
    u, v = int(net.seg_u[end.seg]), int(net.seg_v[end.seg])
    if end.fraction == 0.0:
        return (u,)
    if end.fraction == 1.0:
        return (v,)
    if net.oneway[end.seg]:
        return (v,) if direction == "in" else (u,)
    return (u, v)


def one_to_many(
    router: Router,
    origin: LonLat,
    destinations: Sequence[LonLat],
    vehicle: Vehicle | None,
    restrictions: Restrictions | None = None,
    *,
    max_snap_m: float = MAX_SNAP_M,
) -> list[Leg]:
    """Travel from ``origin`` to each destination (one search)."""
    return _legs(router, origin, destinations, "out", vehicle, restrictions, max_snap_m)


def many_to_one(
    router: Router,
    origins: Sequence[LonLat],
    destination: LonLat,
    vehicle: Vehicle | None,
    restrictions: Restrictions | None = None,
    *,
    max_snap_m: float = MAX_SNAP_M,
) -> list[Leg]:
    """Travel from each origin to ``destination`` (one search on the reversed graph)."""
    return _legs(router, destination, origins, "in", vehicle, restrictions, max_snap_m)


def route(
    router: Router,
    origin: LonLat,
    destination: LonLat,
    vehicle: Vehicle | None,
    restrictions: Restrictions | None = None,
    *,
    max_snap_m: float = MAX_SNAP_M,
) -> Route:
    """The fastest route for the vehicle; :class:`NoRoute` (with reasons) when there is none."""
    return one_to_many(router, origin, [destination], vehicle, restrictions, max_snap_m=max_snap_m)[0].route()


# ---------------------------------------------------------------------- reasons
def segment_reasons(router: Router, s: int, vehicle: Vehicle | None, restrictions: Restrictions | None) -> list[str]:
    """Why segment ``s`` is unusable for the vehicle (Chinese, e.g. ``净高 3.6 m < 车辆 3.9 m（某某路）``)."""
    net = router.net
    r = restrictions or Restrictions()
    label = net.segment_label(s)
    out: list[str] = []
    if vehicle is not None:
        if net.seg_height[s] < vehicle.height_m:
            out.append(f"净高 {net.seg_height[s]:g} m < 车辆 {vehicle.height_m:g} m（{label}）")
        if net.seg_width[s] < vehicle.width_m:
            out.append(f"宽度 {net.seg_width[s]:g} m < 车辆 {vehicle.width_m:g} m（{label}）")
        if net.seg_weight[s] < vehicle.weight_t:
            out.append(f"限重 {net.seg_weight[s]:g} t < 车辆 {vehicle.weight_t:g} t（{label}）")
    if net.seg_closed[s] and not r.ignore_closures:
        out.append(f"道路封闭（{label}）" if net.seg_layer[s] == ROADS else f"消防车道被占用（{label}）")
    if (int(net.seg_layer[s]), int(net.seg_fid[s])) in r.closed:
        out.append(f"本次查询指定封闭（{label}）")
    if r.avoid and router._in_areas(r.avoid)[s]:
        out.append(f"位于避让区域内（{label}）")
    return out


def explain(
    router: Router,
    origin: LonLat,
    destination: LonLat,
    vehicle: Vehicle | None,
    restrictions: Restrictions | None = None,
    *,
    max_snap_m: float = MAX_SNAP_M,
) -> list[str]:
    """Reasons why no route exists for this vehicle, most specific first.

    The query is relaxed step by step — vehicle limits dropped, then closures and avoid
    areas — and the blocked segments on the first route that appears are named.
    """
    ends = {"起点": origin, "终点": destination}
    reasons: list[str] = []
    for what, point in ends.items():
        snap, _ = snap_usable(router, [point], vehicle, restrictions, max_snap_m)
        if snap[0] is None:
            reasons.extend(_snap_reasons(router, what, point, vehicle, restrictions, max_snap_m))
    if reasons:
        return reasons
    relaxed = [
        (None, restrictions),
        (None, Restrictions(ignore_closures=True)),
    ]
    for veh, restr in relaxed:
        leg = one_to_many(router, origin, [destination], veh, restr, max_snap_m=max_snap_m)[0]
        if not leg.reachable:
            continue
        found = leg.route()
        seen: list[str] = []
        for s, _, _ in found.pieces:
            for why in segment_reasons(router, s, vehicle, restrictions):
                if why not in seen:
                    seen.append(why)
        if seen:
            return seen[:6]
    oneway = one_to_many(router, destination, [origin], None, Restrictions(ignore_closures=True))[0]
    if oneway.reachable:
        return ["受单行道限制，起点无法驶往终点（反方向可达）"]
    return ["起点与终点之间没有连通的道路（路网不连通）"]


def _snap_reasons(
    router: Router,
    what: str,
    point: LonLat,
    vehicle: Vehicle | None,
    restrictions: Restrictions | None,
    max_snap_m: float,
) -> list[str]:
    any_snap = router.snap(np.array([point], float), None, max_snap_m)[0]
    if any_snap is None:
        return [f"{what}距最近道路超过 {max_snap_m:g} m，无法接入路网"]
    why = segment_reasons(router, any_snap.seg, vehicle, restrictions)
    near = f"{what}附近 {max_snap_m:g} m 内没有该车辆可通行的道路"
    return [f"{near}：{why[0]}"] if why else [near]


def route_summary(route: Route, lonlat: np.ndarray) -> dict[str, Any]:
    """JSON-ready description of a route (GeoJSON LineString in lon/lat, roads in order)."""
    coords = np.round(lonlat, 7).tolist()
    if len(coords) == 1:
        coords = coords * 2
    return {
        "duration_s": round(route.duration_s, 1),
        "distance_m": round(route.distance_m, 1),
        "geometry": {"type": "LineString", "coordinates": coords},
        "roads": [
            {
                "layer": r["layer"],
                "ids": r["ids"],
                "name": r["name"],
                "ref": r["ref"],
                "distance_m": round(r["distance_m"], 1),
                "duration_s": round(r["duration_s"], 1),
            }
            for r in route.roads
        ],
    }
