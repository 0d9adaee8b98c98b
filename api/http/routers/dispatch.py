"""Dispatch endpoints: plan, confirm, arrive, release, active dispatches.

* ``POST /api/dispatch/plan`` ranks available teams and depots for an incident (nothing stored).
* ``POST /api/dispatch/confirm`` commits teams and materials in one transaction; a team
  taken meanwhile by another dispatcher gives 409 with who took it and when.
* ``POST /api/dispatch/arrive`` / ``release`` move dispatches on; release frees the team.
* The live event stream every open map follows is :mod:`safemap.api.http.routers.events`.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool

from safemap.api.http.auth import require_role
from safemap.api.http.deps import Extent, get_store, network_service, service_extent
from safemap.api.http.models.dispatch import (
    ConfirmRequest,
    IncidentKind,
    PlanRequest,
    StatusRequest,
    polygon_from_geojson,
)
from safemap.api.http.params import bad
from safemap.api.http.routers.route import route_options
from safemap.api.services import dispatch as dispatch_service
from safemap.api.services import experts as experts_service
from safemap.api.services.network import NetworkService
from safemap.api.services.routing import check_in_area
from safemap.layers import dispatching
from safemap.layers.store import FeatureStore

TAGS = ["应急调度"]
router = APIRouter(tags=TAGS)


def plan_input(body: PlanRequest) -> dispatch_service.PlanInput:
    """The body of ``POST /api/dispatch/plan`` as the dispatch service's input."""
    h = body.hazard
    return dispatch_service.PlanInput(
        incident=None if body.incident is None else (body.incident[0], body.incident[1]),
        incident_id=body.incident_id,
        needs=tuple(dispatch_service.NeedInput(tuple(n.kinds), n.count, n.vehicle) for n in body.needs),
        materials=tuple(dispatch_service.MaterialInput(m.item, m.quantity) for m in body.materials),
        hazard=None
        if h is None
        else dispatch_service.HazardInput(
            radius_m=h.radius_m,
            zone=None if h.zone is None else polygon_from_geojson(h.zone),
            wind_from_deg=h.wind_from_deg,
            upwind_penalty_s=h.upwind_penalty_s,
        ),
        turnout_s=body.turnout_s,
        loading_s=body.loading_s,
        alternatives=body.alternatives,
        options=route_options(body),
        incident_kind=body.incident_kind,
    )


def confirm_input(body: ConfirmRequest) -> dispatch_service.ConfirmInput:
    """The body of ``POST /api/dispatch/confirm`` as the dispatch service's input."""
    return dispatch_service.ConfirmInput(
        incident=None if body.incident is None else (body.incident[0], body.incident[1]),
        incident_id=body.incident_id,
        teams=tuple(
            dispatch_service.TeamOrder(t.team_id, t.vehicle, t.eta_s, t.distance_m, t.route) for t in body.teams
        ),
        depots=tuple(
            dispatch_service.DepotOrder(
                d.depot_id,
                tuple(dispatch_service.MaterialInput(m.item, m.quantity) for m in d.materials),
                d.eta_s,
                d.distance_m,
                d.route,
            )
            for d in body.depots
        ),
        note=body.note,
    )


@router.post("/api/dispatch/plan", summary="调度方案：按实际行车时间排序队伍，匹配物资储备库")
async def dispatch_plan(
    request: Request,
    body: PlanRequest,
    store: FeatureStore = Depends(get_store),
    svc: NetworkService = Depends(network_service),
    extent: Extent | None = Depends(service_extent),
) -> dict[str, Any]:
    """Teams and depots ranked by travel time for an incident (nothing is stored)."""
    if body.incident is not None:
        check_in_area(extent, "incident", body.incident)
    if not body.needs and not body.materials:
        raise bad("needs", "请至少提出一项队伍需求（needs）或物资需求（materials）", 422)
    fresh = request.app.state.settings.position_fresh_s
    return await run_in_threadpool(lambda: dispatch_service.plan(store, svc, plan_input(body), position_fresh_s=fresh))


@router.post("/api/dispatch/confirm", summary="确认调度（队伍状态改为出动中；同一队伍只能被派出一次）")
async def dispatch_confirm(
    request: Request,
    body: ConfirmRequest,
    store: FeatureStore = Depends(get_store),
    extent: Extent | None = Depends(service_extent),
) -> dict[str, Any]:
    """Commit the chosen teams and depots, all or nothing (a team taken meanwhile is a 409)."""
    actor = require_role(request, "dispatcher", "admin")
    if not body.teams and not body.depots:
        raise bad("teams", "请至少选择一支队伍或一个储备库", 422)
    if body.incident is not None:
        check_in_area(extent, "incident", body.incident)
    ids = [t.team_id for t in body.teams]
    if len(set(ids)) != len(ids):
        raise bad("teams", "同一队伍在本次调度中出现了多次", 422)
    return await run_in_threadpool(dispatch_service.confirm, store, actor, confirm_input(body))


async def _status(request: Request, store: FeatureStore, body: StatusRequest, status: str) -> dict[str, Any]:
    actor = require_role(request, "dispatcher", "admin")
    if not body.dispatch_ids and not body.team_ids:
        raise bad("dispatch_ids", "请给出调度记录编号 dispatch_ids 或队伍编号 team_ids", 422)
    return await run_in_threadpool(
        lambda: dispatch_service.set_status(
            store, actor, status, dispatch_ids=body.dispatch_ids, team_ids=body.team_ids, note=body.note
        )
    )


@router.post("/api/dispatch/arrive", summary="登记到场")
async def dispatch_arrive(
    request: Request, body: StatusRequest, store: FeatureStore = Depends(get_store)
) -> dict[str, Any]:
    """Record the arrival of dispatches (by id, or by their team's id)."""
    return await _status(request, store, body, "arrived")


@router.post("/api/dispatch/release", summary="解除调度（队伍归队，恢复待命）")
async def dispatch_release(
    request: Request, body: StatusRequest, store: FeatureStore = Depends(get_store)
) -> dict[str, Any]:
    """Release dispatches; their teams become available again."""
    return await _status(request, store, body, "released")


@router.get("/api/dispatch/experts", summary="按事件类型推荐应急专家（可联系的在前，距事发地近的在前）")
async def dispatch_experts(
    kind: IncidentKind = Query(..., description="事件类型"),
    lon: float | None = Query(None, ge=-180, le=180, description="事发地经度（与纬度同时给出时按距离排序）"),
    lat: float | None = Query(None, ge=-90, le=90, description="事发地纬度"),
    per_field: int = Query(3, ge=1, le=50, description="每个专业列出人数"),
    store: FeatureStore = Depends(get_store),
) -> dict[str, Any]:
    """Experts by field of expertise, in the order the incident's kind needs them."""
    if (lon is None) != (lat is None):
        raise bad("lon" if lon is None else "lat", "经度和纬度须同时给出")
    at = None if lon is None or lat is None else (lon, lat)
    return await run_in_threadpool(experts_service.offered, store, kind, at, per_field=per_field)


@router.get("/api/dispatch/active", summary="进行中的调度（GeoJSON）")
async def dispatch_active(store: FeatureStore = Depends(get_store)) -> dict[str, Any]:
    """The dispatches under way, as a GeoJSON FeatureCollection."""
    feats = await run_in_threadpool(dispatching.active_dispatches, store)
    return {"type": "FeatureCollection", "features": orjson.loads(orjson.dumps(feats, default=str))}
