"""Routing endpoints: ``POST /api/route``, ``POST /api/route/matrix``, ``GET /api/network``.

The network is built from ``roads`` + ``fire_lanes`` once and kept in memory
(:mod:`safemap.api.services.network`); vehicle limits, closures and avoid areas apply per
request (:mod:`safemap.api.services.routing`).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from fastapi.concurrency import run_in_threadpool

from safemap.api.http.deps import Extent, get_store, network_service, service_extent
from safemap.api.http.models.dispatch import MatrixRequest, RouteOptions, RouteRequest
from safemap.api.services import routing
from safemap.api.services.network import NetworkService
from safemap.layers.store import FeatureStore

TAGS = ["路径规划"]

router = APIRouter(tags=TAGS)


def route_options(body: RouteOptions) -> routing.RouteOptions:
    """The routing options of a request body as the routing service takes them."""
    return routing.RouteOptions(
        vehicle=body.vehicle,
        avoid=body.avoid_geometries(),
        closed_roads=tuple(body.closed_roads),
        ignore_closures=body.ignore_closures,
    )


@router.post("/api/route", summary="两点间最快路线（按车辆尺寸、限高限重、封闭与避让区域）")
async def route(
    body: RouteRequest,
    store: FeatureStore = Depends(get_store),
    svc: NetworkService = Depends(network_service),
    extent: Extent | None = Depends(service_extent),
) -> dict[str, Any]:
    """The fastest route between two points."""
    routing.check_in_area(extent, "from", body.from_)
    routing.check_in_area(extent, "to", body.to)
    return await run_in_threadpool(routing.route, store, svc, body.from_, body.to, route_options(body))


@router.post("/api/route/matrix", summary="一对多行车时间（从一点到多点，或多点到一点）")
async def matrix(
    body: MatrixRequest,
    store: FeatureStore = Depends(get_store),
    svc: NetworkService = Depends(network_service),
    extent: Extent | None = Depends(service_extent),
) -> dict[str, Any]:
    """Travel times from one point to many, or from many to one."""
    routing.check_in_area(extent, "from", body.from_)
    for k, p in enumerate(body.to):
        routing.check_in_area(extent, f"to.{k}", p)
    return await run_in_threadpool(routing.matrix, store, svc, body.from_, body.to, route_options(body), body.direction)


@router.get("/api/network", summary="路网状态（节点、路段、构建时间）")
async def network(
    store: FeatureStore = Depends(get_store), svc: NetworkService = Depends(network_service)
) -> dict[str, Any]:
    """Size and build history of the routable network."""
    return await run_in_threadpool(routing.network_status, store, svc)
