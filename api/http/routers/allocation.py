"""Material allocation plans (物资分配方案) for a large emergency: ``/api/allocation/*``.

* ``GET  /api/allocation/items`` — inventory items of all depots (the panel's item picker).
* ``GET  /api/allocation/plans`` — plans, newest first.
* ``POST /api/allocation/plans`` — compute a plan (LP through HiGHS) and store it as a draft.
* ``GET  /api/allocation/plans/{id}`` — plan, demand points, flows (GeoJSON), shortfalls in Chinese.
* ``PUT  /api/allocation/plans/{id}`` — new demands/parameters for a draft, re-optimised (version; 409 when stale).
* ``POST /api/allocation/plans/{id}/optimise`` — re-optimise a draft on today's stock and roads.
* ``PATCH /api/allocation/plans/{id}/flows`` — hand edits of flow quantities (checked against stock and demand).
* ``POST /api/allocation/plans/{id}/confirm`` — reserve stock and write dispatches in one transaction (409 when
  stock moved, naming the depot and the item).
* ``POST /api/allocation/plans/{id}/cancel`` — cancel a draft.
* ``GET  /api/allocation/plans/{id}/sheet`` — the printable plan (HTML, A4).

Writes need a dispatcher or an admin; every logged-in user reads.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.concurrency import run_in_threadpool
from starlette.responses import HTMLResponse

from safemap.api.http.auth import require_role
from safemap.api.http.deps import get_settings, get_store, network_service
from safemap.api.http.models.allocation import FlowsRequest, PlanRequest, ReplaceRequest, VersionRequest
from safemap.api.http.responses import jsonable
from safemap.api.reports import allocation as report
from safemap.api.services import allocation as service
from safemap.api.services.network import NetworkService
from safemap.api.settings import Settings
from safemap.layers.store import FeatureStore

TAGS = ["物资调配"]
router = APIRouter(tags=TAGS)
WRITERS = ("dispatcher", "admin")
PlanId = Path(..., ge=1, le=2**53, description="物资分配方案编号")


def plan_input(body: PlanRequest) -> service.PlanInput:
    """The request body as the service's input."""
    return service.PlanInput(
        name=body.name,
        demands=tuple(
            service.DemandInput(
                d.name, (d.lon, d.lat), d.item, d.quantity, d.unit, d.priority, d.settlement_id, d.township
            )
            for d in body.demands
        ),
        incident_id=body.incident_id,
        note=body.note,
        vehicle=body.vehicle,
        trucks=body.trucks,
        trips=body.trips,
        payload_t=body.payload_t,
        time_limit_s=body.time_limit_s,
        loading_s=body.loading_s,
        closed_roads=tuple(body.closed_roads),
    )


@router.get("/api/allocation/items", summary="储备库物资清单（名称、单位、库存合计、单位重量）")
async def allocation_items(store: FeatureStore = Depends(get_store)) -> list[dict[str, Any]]:
    """Every inventory item across the depots, for picking demands."""
    return jsonable(await run_in_threadpool(service.inventory_items, store), store.tz)


@router.get("/api/allocation/plans", summary="物资分配方案列表（新的在前）")
async def allocation_plans(store: FeatureStore = Depends(get_store)) -> list[dict[str, Any]]:
    """The plans without their rows."""
    return jsonable(await run_in_threadpool(service.list_plans, store), store.tz)


@router.post("/api/allocation/plans", summary="计算物资分配方案（保存为草稿）", status_code=201)
async def allocation_create(
    request: Request,
    body: PlanRequest,
    store: FeatureStore = Depends(get_store),
    svc: NetworkService = Depends(network_service),
) -> dict[str, Any]:
    """Compute a plan: least priority-weighted unmet demand, then least delivery time; stored as a draft."""
    actor = require_role(request, *WRITERS)
    out = await run_in_threadpool(service.create, store, svc, actor, plan_input(body))
    return jsonable(out, store.tz)


@router.get("/api/allocation/plans/{plan_id}", summary="物资分配方案详情（需求点、调拨明细、缺口说明）")
async def allocation_get(plan_id: int = PlanId, store: FeatureStore = Depends(get_store)) -> dict[str, Any]:
    """The plan, its demand points and flows as GeoJSON, and every shortfall explained."""
    return jsonable(await run_in_threadpool(service.get, store, plan_id), store.tz)


@router.put("/api/allocation/plans/{plan_id}", summary="修改草稿的需求并重新计算（须带版本号）")
async def allocation_replace(
    request: Request,
    body: ReplaceRequest,
    plan_id: int = PlanId,
    store: FeatureStore = Depends(get_store),
    svc: NetworkService = Depends(network_service),
) -> dict[str, Any]:
    """Replace a draft's demands and parameters and re-optimise; 409 when the version is stale."""
    actor = require_role(request, *WRITERS)
    out = await run_in_threadpool(service.replace, store, svc, actor, plan_id, body.version, plan_input(body))
    return jsonable(out, store.tz)


@router.post("/api/allocation/plans/{plan_id}/optimise", summary="按当前库存与路况重新计算草稿")
async def allocation_optimise(
    request: Request,
    body: VersionRequest,
    plan_id: int = PlanId,
    store: FeatureStore = Depends(get_store),
    svc: NetworkService = Depends(network_service),
) -> dict[str, Any]:
    """Re-optimise a draft with its own demands (hand edits of flows are replaced)."""
    actor = require_role(request, *WRITERS)

    def run() -> dict[str, Any]:
        inputs, _ = service.plan_input(store, plan_id)
        return service.replace(store, svc, actor, plan_id, body.version, inputs)

    return jsonable(await run_in_threadpool(run), store.tz)


@router.patch("/api/allocation/plans/{plan_id}/flows", summary="人工调整调拨数量（须带版本号）")
async def allocation_flows(
    request: Request, body: FlowsRequest, plan_id: int = PlanId, store: FeatureStore = Depends(get_store)
) -> dict[str, Any]:
    """Set flow quantities by hand; stock and demand are checked (422), a stale version is a 409."""
    actor = require_role(request, *WRITERS)
    changes = [(f.id, f.quantity) for f in body.flows]
    out = await run_in_threadpool(service.edit_flows, store, actor, plan_id, body.version, changes)
    return jsonable(out, store.tz)


@router.post("/api/allocation/plans/{plan_id}/confirm", summary="确认方案：一次事务内扣减库存并生成调度记录")
async def allocation_confirm(
    request: Request, body: VersionRequest, plan_id: int = PlanId, store: FeatureStore = Depends(get_store)
) -> dict[str, Any]:
    """Reserve the stock of every flow and write the dispatches, all or nothing (409 when stock moved)."""
    actor = require_role(request, *WRITERS)
    out = await run_in_threadpool(service.confirm, store, actor, plan_id, body.version)
    return jsonable(out, store.tz)


@router.post("/api/allocation/plans/{plan_id}/cancel", summary="取消草稿方案")
async def allocation_cancel(
    request: Request, body: VersionRequest, plan_id: int = PlanId, store: FeatureStore = Depends(get_store)
) -> dict[str, Any]:
    """Cancel a draft (a confirmed plan is released through its dispatches)."""
    actor = require_role(request, *WRITERS)
    out = await run_in_threadpool(service.cancel, store, actor, plan_id, body.version)
    return jsonable(out, store.tz)


@router.get(
    "/api/allocation/plans/{plan_id}/sheet", summary="打印物资分配方案（HTML，A4）", response_class=HTMLResponse
)
async def allocation_sheet(
    plan_id: int = PlanId, store: FeatureStore = Depends(get_store), settings: Settings = Depends(get_settings)
) -> HTMLResponse:
    """The printable plan: flows with times as 分秒, shortfalls explained, times in the store's zone."""

    def run() -> str:
        plan = service.get(store, plan_id)
        return report.sheet_html(plan, store.tz, map_unit=settings.map_unit, tz_name=str(store.tz))

    return HTMLResponse(await run_in_threadpool(run))
