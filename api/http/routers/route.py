"""Routing endpoints: ``POST /api/route``, ``POST /api/route/matrix``, ``GET /api/network``.

The network is built from ``roads`` + ``fire_lanes`` once and kept in memory
(:mod:`api.network_service`); vehicle limits, closures and avoid areas apply per request.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool

from safemap.api.http.errors import ApiError
from safemap.api.http.models import MatrixRequest, RouteOptions, RouteRequest
from safemap.api.http.params import bad
from safemap.api.services.network import NetworkService
from safemap.gis import routes
from safemap.gis.network import ROADS
from safemap.gis.routing import NoRoute, Restrictions, Router, Vehicle
from safemap.layers.errors import Problem
from safemap.layers.store import FeatureStore

TAGS = ["路径规划"]


def service(request: Request) -> NetworkService:
    """The app's network service (created on first use)."""
    state = request.app.state
    if getattr(state, "network_service", None) is None:
        state.network_service = NetworkService()
    return state.network_service  # type: ignore[no-any-return]


def check_in_area(request: Request, field: str, lonlat: list[float]) -> None:
    """422 naming ``field`` when the point lies outside the service area."""
    extent = request.app.state.store.extent or request.app.state.settings.extent
    if extent is None:
        return
    x0, y0, x1, y1 = extent
    if not (x0 <= lonlat[0] <= x1 and y0 <= lonlat[1] <= y1):
        raise bad(field, f"坐标 {lonlat[0]:.5f}, {lonlat[1]:.5f} 不在服务区范围内（{x0}–{x1}°E, {y0}–{y1}°N）", 422)


def vehicle_of(store: FeatureStore, svc: NetworkService, code: str, field: str = "vehicle") -> Vehicle:
    """The vehicle profile ``code``; 422 when the table has no such row."""
    vehicles = svc.vehicles(store)
    if code not in vehicles:
        raise bad(field, f"车辆参数表中没有 {code!r}；现有：{', '.join(sorted(vehicles))}", 422)
    return vehicles[code]


def restrictions_of(body: RouteOptions) -> Restrictions:
    """Per-request closures and avoid areas."""
    return Restrictions(
        closed=frozenset((ROADS, int(i)) for i in body.closed_roads),
        avoid=body.avoid_geometries(),
        ignore_closures=body.ignore_closures,
    )


def route_json(router: Router, found: routes.Route, start: list[float], end: list[float]) -> dict[str, Any]:
    """A route as JSON, its line running from ``start`` to ``end`` (the off-road ends included)."""
    lonlat = router.net.to_lonlat(found.xy) if len(found.xy) else np.zeros((0, 2))
    line = np.vstack([[start], lonlat, [end]])
    return routes.route_summary(found, line)


def no_route(reasons: list[str], field: str = "to") -> ApiError:
    """422 ``no_route`` whose message says why."""
    message = "无可通行路线：" + "；".join(reasons)
    return ApiError(422, "no_route", message, [Problem(field, r) for r in reasons])


def install(app: FastAPI) -> None:
    """Register the routing endpoints."""

    @app.post("/api/route", tags=TAGS, summary="两点间最快路线（按车辆尺寸、限高限重、封闭与避让区域）")
    async def route(request: Request, body: RouteRequest) -> dict[str, Any]:
        store: FeatureStore = request.app.state.store
        check_in_area(request, "from", body.from_)
        check_in_area(request, "to", body.to)
        svc = service(request)

        def run() -> dict[str, Any]:
            router = svc.router(store)
            vehicle = vehicle_of(store, svc, body.vehicle)
            restr = restrictions_of(body)
            leg = routes.one_to_many(router, tuple(body.from_), [tuple(body.to)], vehicle, restr)[0]
            try:
                found = leg.route()
            except NoRoute as exc:
                raise no_route(exc.reasons) from None
            out = route_json(router, found, body.from_, body.to)
            out["vehicle"] = {"code": vehicle.code, "label": vehicle.label}
            snaps = router.snap(np.array([body.from_, body.to]), np.isfinite(router.segment_cost(vehicle, restr)))
            out["snap_m"] = {
                "from": None if snaps[0] is None else round(snaps[0].dist_m, 1),
                "to": None if snaps[1] is None else round(snaps[1].dist_m, 1),
            }
            return out

        return await run_in_threadpool(run)

    @app.post("/api/route/matrix", tags=TAGS, summary="一对多行车时间（从一点到多点，或多点到一点）")
    async def matrix(request: Request, body: MatrixRequest) -> dict[str, Any]:
        store: FeatureStore = request.app.state.store
        check_in_area(request, "from", body.from_)
        for k, p in enumerate(body.to):
            check_in_area(request, f"to.{k}", p)
        svc = service(request)

        def run() -> dict[str, Any]:
            router = svc.router(store)
            vehicle = vehicle_of(store, svc, body.vehicle)
            restr = restrictions_of(body)
            points = [tuple(p) for p in body.to]
            if body.direction == "from":
                legs = routes.one_to_many(router, tuple(body.from_), points, vehicle, restr)
            else:
                legs = routes.many_to_one(router, points, tuple(body.from_), vehicle, restr)
            return {
                "vehicle": vehicle.code,
                "direction": body.direction,
                "durations_s": [round(leg.duration_s, 1) if math.isfinite(leg.duration_s) else None for leg in legs],
            }

        return await run_in_threadpool(run)

    @app.get("/api/network", tags=TAGS, summary="路网状态（节点、路段、构建时间）")
    async def network(request: Request) -> dict[str, Any]:
        store: FeatureStore = request.app.state.store
        state = await run_in_threadpool(service(request).state, store)
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
        }
