"""Hazard-aware approach: reach an incident inside a hazard zone without crossing the zone, preferably upwind.

A hazard zone (a consequence zone from the safety-distance work, a plume footprint, or
simply a radius around the incident) must not be driven through; only the final
approach to the incident may run inside it. Two searches towards the incident do this:

1. *inside*: over the segments touching the zone (and the incident's own segment) only,
   giving the time from every zone-boundary node to the incident;
2. *outside*: over the segments that do not touch the zone, seeded at those boundary
   nodes with their inside time plus an upwind penalty.

A team's route is its outside path to a boundary node followed by the inside path from
there. The penalty is ``upwind_penalty_s · (1 − cos δ) / 2`` where δ is the angle
between the entry's bearing from the incident and the direction the wind comes from:
zero for an entry straight upwind, the full penalty straight downwind. Reported times
never include the penalty; it only chooses between entries.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from safemap.gis.routing import Route, Router, Search, Snap

#: Default penalty for a straight-downwind entry (seconds): a team takes an upwind entry
#: unless it is more than this much slower.
UPWIND_PENALTY_S = 300.0


@dataclass
class Approach:
    """The two searches of a hazard-aware approach to one incident for one vehicle."""

    router: Router
    anchor: Snap
    zone: BaseGeometry
    inside: Search
    outside: Search
    inside_seg: np.ndarray
    seg_cost: np.ndarray
    wind_from_deg: float | None

    def cost(self, snap: Snap | None) -> float:
        """Penalised seconds from ``snap`` to the incident (what ranks entries and teams)."""
        if snap is None:
            return np.inf
        if self.inside_seg[snap.seg]:
            return self.router.cost_to(self.inside, snap)[0]
        return self.router.cost_to(self.outside, snap)[0]

    def route(self, snap: Snap) -> Route:
        """Route from ``snap`` to the incident: outside to the zone edge, then the final approach."""
        router = self.router
        if self.inside_seg[snap.seg]:
            return router.route_to(self.inside, snap)
        cost, via = router.cost_to(self.outside, snap)
        if not math.isfinite(cost) or via < 0:
            return router.route_to(self.outside, snap)
        chain_out = router.chain(self.outside, via)
        entry = chain_out[0]
        pieces = [router.leave(snap, via), *router.hops(self.outside, chain_out)]
        chain_in = router.chain(self.inside, entry)
        pieces += router.hops(self.inside, chain_in)
        pieces.append(router.enter(self.anchor, chain_in[0]))
        seconds = sum(abs(f1 - f0) * float(self.seg_cost[s]) for s, f0, f1 in pieces)
        return router.assemble([p for p in pieces if p[1] != p[2]], seconds, self.seg_cost)

    def describe(self, route: Route) -> dict[str, float | str | None]:
        """Where the route enters the zone: bearing from the incident, wind sector, metres inside."""
        net = self.router.net
        inside_m = sum(abs(f1 - f0) * float(net.seg_len[s]) for s, f0, f1 in route.pieces if self.inside_seg[s])
        entry_xy = None
        for s, f0, _ in route.pieces:
            if self.inside_seg[s]:
                xy = net.segment_xy(s)
                entry_xy = xy[0] if f0 == 0.0 else xy[-1] if f0 == 1.0 else None
                break
        if entry_xy is None:
            return {"entry_bearing_deg": None, "sector": None, "inside_m": round(inside_m, 1)}
        bearing = _bearing(self.anchor.xy, entry_xy)
        return {
            "entry_bearing_deg": round(bearing, 1),
            "sector": None if self.wind_from_deg is None else wind_sector(bearing, self.wind_from_deg),
            "inside_m": round(inside_m, 1),
        }


def wind_sector(bearing_deg: float, wind_from_deg: float) -> str:
    """``上风向`` within 45° of where the wind comes from, ``下风向`` within 45° of where it goes, else ``侧风向``."""
    delta = abs((bearing_deg - wind_from_deg + 180.0) % 360.0 - 180.0)
    if delta <= 45.0:
        return "上风向"
    if delta >= 135.0:
        return "下风向"
    return "侧风向"


def _bearing(origin: tuple[float, float], xy: np.ndarray) -> float:
    dx, dy = float(xy[0]) - origin[0], float(xy[1]) - origin[1]
    return math.degrees(math.atan2(dx, dy)) % 360.0


def approach(
    router: Router,
    anchor: Snap,
    seg_cost: np.ndarray,
    zone_xy: BaseGeometry,
    *,
    wind_from_deg: float | None = None,
    upwind_penalty_s: float = UPWIND_PENALTY_S,
) -> Approach:
    """Prepare the searches of a hazard-aware approach.

    Parameters
    ----------
    anchor
        The incident, snapped to the network.
    seg_cost
        Segment times in seconds for the vehicle (``inf`` where blocked).
    zone_xy
        Hazard zone in the network's metric CRS.
    wind_from_deg
        Direction the wind blows from (degrees clockwise from north); ``None``: no preference.
    upwind_penalty_s
        Extra seconds charged to a straight-downwind entry.
    """
    net = router.net
    touches = np.zeros(net.n_segments, bool)
    hit = net.tree().query(zone_xy, predicate="intersects")
    touches[hit] = True
    inside_seg = touches.copy()
    inside_seg[anchor.seg] = True
    inside_cost = np.where(inside_seg, seg_cost, np.inf)
    inside = router.search(anchor, inside_cost, "in")
    nodes = np.nonzero(np.isfinite(inside.dist[: net.n_nodes]))[0]
    strictly_in = shapely.contains_xy(zone_xy, net.node_xy[nodes, 0], net.node_xy[nodes, 1])
    entries = nodes[~strictly_in]
    d_in = inside.dist[entries]
    if wind_from_deg is not None and upwind_penalty_s > 0 and len(entries):
        dx = net.node_xy[entries, 0] - anchor.xy[0]
        dy = net.node_xy[entries, 1] - anchor.xy[1]
        bearing = np.degrees(np.arctan2(dx, dy))
        delta = np.radians(bearing - wind_from_deg)
        d_in = d_in + upwind_penalty_s * (1.0 - np.cos(delta)) / 2.0
    outside_cost = np.where(inside_seg, np.inf, seg_cost)
    seeds = list(zip(entries.tolist(), d_in.tolist(), strict=True))
    outside = router.search_from(seeds, outside_cost, "in", anchor=None)
    return Approach(router, anchor, zone_xy, inside, outside, inside_seg, seg_cost, wind_from_deg)
