"""Routes and travel times on the store's network, with per-request vehicle, closures and avoid areas.

The network is built from ``roads`` + ``fire_lanes`` once and kept in memory by
:class:`~safemap.api.services.network.NetworkService`; what a request adds (the vehicle,
roads closed just for it, areas to avoid) is a :class:`RouteOptions`. Dispatch planning
(:mod:`safemap.api.services.dispatch`) uses the same options and :func:`route_json`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from shapely.geometry.base import BaseGeometry

from safemap.api.services.network import NetworkService
from safemap.api.services.problems import bad
from safemap.gis import routes
from safemap.gis.network import ROADS
from safemap.gis.routing import NoRoute, Restrictions, Router, Vehicle
from safemap.layers.enums import ROUTING_INDEX
from safemap.layers.errors import Problem, Unroutable
from safemap.layers.store import FeatureStore

LonLat = Sequence[float]


@dataclass(frozen=True)
class RouteOptions:
    """What every routing request may add to the network.

    Attributes
    ----------
    vehicle
        Vehicle profile code (a row of ``vehicle_profiles``).
    avoid
        Areas to keep out of (shapely geometries, lon/lat).
    closed_roads
        Ids of ``roads`` closed for this request only.
    ignore_closures
        Route as if no closure or lane occupation were registered.
    """

    vehicle: str = "fire_engine"
    avoid: tuple[BaseGeometry, ...] = ()
    closed_roads: tuple[int, ...] = ()
    ignore_closures: bool = False

    def restrictions(self) -> Restrictions:
        """The closures and avoid areas as the router takes them."""
        return Restrictions(
            closed=frozenset((ROADS, int(i)) for i in self.closed_roads),
            avoid=self.avoid,
            ignore_closures=self.ignore_closures,
        )


def check_in_area(extent: tuple[float, float, float, float] | None, field: str, lonlat: LonLat) -> None:
    """Refuse a point outside the service area (``Unprocessable`` naming ``field``)."""
    if extent is None:
        return
    x0, y0, x1, y1 = extent
    if not (x0 <= lonlat[0] <= x1 and y0 <= lonlat[1] <= y1):
        raise bad(field, f"坐标 {lonlat[0]:.5f}, {lonlat[1]:.5f} 不在服务区范围内（{x0}–{x1}°E, {y0}–{y1}°N）", 422)


def vehicle_of(store: FeatureStore, svc: NetworkService, code: str, field: str = "vehicle") -> Vehicle:
    """The vehicle profile ``code``; ``Unprocessable`` when the table has no such row."""
    vehicles = svc.vehicles(store)
    if code not in vehicles:
        raise bad(field, f"车辆参数表中没有 {code!r}；现有：{', '.join(sorted(vehicles))}", 422)
    return vehicles[code]


def route_json(router: Router, found: routes.Route, start: LonLat, end: LonLat) -> dict[str, Any]:
    """A route as JSON, its line running from ``start`` to ``end`` (the off-road ends included)."""
    lonlat = router.net.to_lonlat(found.xy) if len(found.xy) else np.zeros((0, 2))
    line = np.vstack([[list(start)], lonlat, [list(end)]])
    return routes.route_summary(found, line)


def no_route(reasons: list[str], field: str = "to") -> Unroutable:
    """The error of a route that cannot be driven; its message says why."""
    message = "无可通行路线：" + "；".join(reasons)
    return Unroutable(message, [Problem(field, r) for r in reasons])


def route(
    store: FeatureStore, svc: NetworkService, start: LonLat, end: LonLat, options: RouteOptions
) -> dict[str, Any]:
    """The fastest route from ``start`` to ``end`` for the options' vehicle.

    Parameters
    ----------
    store
        The feature store whose network is used.
    svc
        The network cache.
    start, end
        ``[lon, lat]`` of both ends.
    options
        Vehicle, closures and avoid areas.

    Returns
    -------
    dict
        The route summary (:func:`route_json`), ``vehicle`` and ``snap_m`` (distance of
        each end to the road it joins).

    Raises
    ------
    Unprocessable
        The vehicle is not in ``vehicle_profiles``.
    Unroutable
        No passable route joins the two points.
    """
    router = svc.router(store)
    vehicle = vehicle_of(store, svc, options.vehicle)
    restr = options.restrictions()
    leg = routes.one_to_many(router, tuple(start), [tuple(end)], vehicle, restr)[0]
    try:
        found = leg.route()
    except NoRoute as exc:
        raise no_route(exc.reasons) from None
    out = route_json(router, found, start, end)
    out["vehicle"] = {"code": vehicle.code, "label": vehicle.label}
    snaps = router.snap(np.array([list(start), list(end)]), np.isfinite(router.segment_cost(vehicle, restr)))
    out["snap_m"] = {
        "from": None if snaps[0] is None else round(snaps[0].dist_m, 1),
        "to": None if snaps[1] is None else round(snaps[1].dist_m, 1),
    }
    return out


def matrix(
    store: FeatureStore,
    svc: NetworkService,
    origin: LonLat,
    points: Sequence[LonLat],
    options: RouteOptions,
    direction: str = "from",
) -> dict[str, Any]:
    """Travel times from ``origin`` to each point (``direction="from"``) or from each point to it (``"to"``)."""
    router = svc.router(store)
    vehicle = vehicle_of(store, svc, options.vehicle)
    restr = options.restrictions()
    targets = [tuple(p) for p in points]
    if direction == "from":
        legs = routes.one_to_many(router, tuple(origin), targets, vehicle, restr)
    else:
        legs = routes.many_to_one(router, targets, tuple(origin), vehicle, restr)
    return {
        "vehicle": vehicle.code,
        "direction": direction,
        "durations_s": [round(leg.duration_s, 1) if math.isfinite(leg.duration_s) else None for leg in legs],
    }


def network_status(store: FeatureStore, svc: NetworkService) -> dict[str, Any]:
    """Size and build history of the store's network (nodes, segments, closures, builds)."""
    state = svc.state(store)
    net = state.router.net
    return {
        "crs": net.crs,
        "nodes": net.n_nodes,
        "segments": net.n_segments,
        "edges": net.n_edges,
        "closed_segments": int(net.seg_closed.sum()),
        "builds": state.builds,
        "closure_updates": state.closure_updates,
        "build_s": round(state.build_s, 3),
        "hierarchy": state.hierarchy,
        "hierarchy_label": ROUTING_INDEX.label(state.hierarchy),
        "hierarchy_s": None if state.hierarchy_s is None else round(state.hierarchy_s, 3),
    }


__all__ = [
    "RouteOptions",
    "check_in_area",
    "matrix",
    "network_status",
    "no_route",
    "route",
    "route_json",
    "vehicle_of",
]
