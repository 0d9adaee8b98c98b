"""Incidents: 接警, lifecycle, notes, hazard zones, who is inside, timeline and the printed record.

Dispatcher and admin write; everyone reads. Every write also reaches every open map through
``GET /api/events`` (event kinds ``incidents``, ``incident_zones``, ``incident_events``; see
:mod:`safemap.api.http.routers.dispatch`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from starlette.responses import HTMLResponse, Response

from safemap.api.http.auth import require_role
from safemap.api.http.deps import get_store, network_service
from safemap.api.http.models.incidents import IncidentCreate, NoteIn, StatusIn, parse_zone
from safemap.api.http.models.safety import ConsequenceIn, validated
from safemap.api.http.openapi import GeoJSONResponse, also, request_body
from safemap.api.http.params import FeatureIdPath, FeatureIdQuery, json_body
from safemap.api.http.responses import json_response
from safemap.api.reports.incident import exposure_csv, exposure_xlsx
from safemap.api.services import exposure as exposure_service
from safemap.api.services import incident_report, incident_zones, incidents
from safemap.api.services.network import NetworkService
from safemap.layers.store import FeatureStore

TAGS = ["应急事件"]
WRITERS = ("dispatcher", "admin")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

router = APIRouter(tags=TAGS)


def _input(body: IncidentCreate) -> incidents.IncidentInput:
    return incidents.IncidentInput(
        kind=body.kind,
        location=None if body.location is None else (body.location[0], body.location[1]),
        location_text=body.location_text,
        crs=body.crs,
        place=None if body.place is None else body.place.model_dump(),
        name=body.name,
        enterprise_id=body.enterprise_id,
        hazard_source_id=body.hazard_source_id,
        substance=body.substance,
        quantity_t=body.quantity_t,
        reporter=body.reporter,
        phone=body.phone,
        reported_at=body.reported_at,
        description=body.description,
        severity=body.severity,
    )


@router.post("/api/incidents", status_code=201, summary="接警：登记事件", openapi_extra=request_body(IncidentCreate))
async def create_incident(request: Request, store: FeatureStore = Depends(get_store)) -> Response:
    """Register an incident (status 接警); the location by [lon, lat], typed coordinates or a named place."""
    actor = require_role(request, *WRITERS)
    body = validated(IncidentCreate, await json_body(request))
    feature = await run_in_threadpool(incidents.create, store, actor, _input(body))
    return json_response(feature, 201, "application/geo+json", {"Location": f"/api/incidents/{feature['id']}"})


@router.get("/api/incidents", summary="事件列表（可按状态筛选；active = 未结束）", response_class=GeoJSONResponse)
async def list_incidents(
    store: FeatureStore = Depends(get_store),
    status: str | None = Query(None, max_length=200, description="状态代码或中文，逗号分隔；active 为未结束"),
) -> Response:
    """Incidents, newest report first, as a FeatureCollection."""
    statuses = incidents.parse_statuses(status)
    feats = await run_in_threadpool(incidents.list_incidents, store, statuses)
    return json_response({"type": "FeatureCollection", "features": feats}, media="application/geo+json")


def _detail(store: FeatureStore, incident_id: int) -> dict[str, Any]:
    feature = incidents.present(incidents.get(store, incident_id), store.tz)
    feature["current_zone"] = incident_zones.summary(incident_zones.current_zone(store, incident_id))
    return feature


@router.get("/api/incidents/{incident_id}", summary="一个事件（含当前危险区摘要）", response_class=GeoJSONResponse)
async def read_incident(incident_id: FeatureIdPath, store: FeatureStore = Depends(get_store)) -> Response:
    """The incident as a Feature, with ``current_zone``."""
    return json_response(await run_in_threadpool(_detail, store, incident_id), media="application/geo+json")


@router.post("/api/incidents/{incident_id}/status", summary="变更处置状态（只能向前：接警→核实→处置中→结束）")
async def change_status(
    request: Request, incident_id: FeatureIdPath, body: StatusIn, store: FeatureStore = Depends(get_store)
) -> Response:
    """Move the incident forward; backwards or stale version → 409 with the reason."""
    actor = require_role(request, *WRITERS)
    feature = await run_in_threadpool(
        lambda: incidents.set_status(store, actor, incident_id, body.status, note=body.note, version=body.version)
    )
    return json_response(feature, media="application/geo+json")


@router.post("/api/incidents/{incident_id}/notes", status_code=201, summary="添加处置记录")
async def add_note(
    request: Request, incident_id: FeatureIdPath, body: NoteIn, store: FeatureStore = Depends(get_store)
) -> Response:
    """Append a note to the incident's timeline."""
    actor = require_role(request, *WRITERS)
    return json_response(await run_in_threadpool(incidents.add_note, store, actor, incident_id, body.text), 201)


@router.post(
    "/api/incidents/{incident_id}/zone",
    status_code=201,
    summary="危险区建模（后果模型，不含 location；烟羽可由云量推定稳定度）",
    openapi_extra=request_body(ConsequenceIn),
)
async def model_zone(
    request: Request, incident_id: FeatureIdPath, store: FeatureStore = Depends(get_store)
) -> Response:
    """Run a consequence model at the incident and store the bands as its newest zone."""
    actor = require_role(request, *WRITERS)
    values, cloud, at = parse_zone(await json_body(request))
    record = await run_in_threadpool(
        lambda: incident_zones.model_zone(store, actor, incident_id, values, cloud_cover=cloud, at=at)
    )
    return json_response(record, 201, headers={"Location": f"/api/incidents/{incident_id}/zones"})


@router.get("/api/incidents/{incident_id}/zones", summary="危险区历次建模（最后一项为当前）")
async def list_zones(incident_id: FeatureIdPath, store: FeatureStore = Depends(get_store)) -> Response:
    """Every zone of the incident, oldest first."""
    return json_response(await run_in_threadpool(incident_zones.zones, store, incident_id))


@router.get(
    "/api/incidents/{incident_id}/exposure",
    summary="危险区内对象（靶向）：人口、防护目标、居民点、企业联系人、区内救援力量",
    responses=also("text/csv", XLSX),
)
async def exposure(
    incident_id: FeatureIdPath,
    store: FeatureStore = Depends(get_store),
    zone_id: FeatureIdQuery = None,
    format: Literal["json", "csv", "xlsx"] = Query("json", description="json、csv（UTF-8 BOM）或 xlsx"),
) -> Response:
    """Who is inside the current (or given) zone, by band; CSV and XLSX with Chinese headers."""
    result = await run_in_threadpool(exposure_service.exposure, store, incident_id, zone_id)
    if format == "json":
        return json_response(result)
    rows = exposure_service.exposure_rows(result)
    stamp = dt.datetime.now(store.tz).strftime("%Y%m%d%H%M")
    name = f"incident{incident_id}_exposure_{stamp}"
    if format == "csv":
        return Response(
            exposure_csv(rows),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    return Response(
        exposure_xlsx(rows), media_type=XLSX, headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'}
    )


@router.get("/api/incidents/{incident_id}/timeline", summary="事件时间线（全部处置记录，按时间）")
async def read_timeline(incident_id: FeatureIdPath, store: FeatureStore = Depends(get_store)) -> Response:
    """[{at, actor, kind, text, ref}] oldest first, times in SAFEMAP_TIMEZONE."""
    return json_response(await run_in_threadpool(incidents.timeline, store, incident_id))


@router.get("/api/incidents/{incident_id}/report", summary="打印处置记录（HTML）", response_class=HTMLResponse)
async def report(
    incident_id: FeatureIdPath,
    store: FeatureStore = Depends(get_store),
    svc: NetworkService = Depends(network_service),
) -> HTMLResponse:
    """The printable 处置记录: map, timeline, zones, who was inside, dispatches."""
    return HTMLResponse(await run_in_threadpool(incident_report.report_html, store, incident_id, svc))
