"""Warning and evacuation endpoints of an incident (预警信息发布, 疏散安置).

* ``GET /api/warning-templates`` — the templates with their placeholders, and which channels
  this server can send through.
* ``POST /api/incidents/{id}/warnings`` — compose, preview (200, nothing stored) or send
  (201; a replayed ``Idempotency-Key`` or the same warning again gives 200 with the first
  one). Sending queues one delivery per recipient and channel; the delivery worker sends.
* ``GET /api/incidents/{id}/warnings`` — the warnings with every delivery's state.
* ``GET /api/incidents/{id}/warnings/{wid}/call-list`` — the printable call list (HTML).
* ``POST /api/warning-deliveries/{id}/ack`` — 已确认.
* ``GET /api/incidents/{id}/evacuation`` — everyone inside the current zone to shelters outside it.

Dispatchers and admins write; everyone reads.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from starlette.responses import HTMLResponse, JSONResponse

from safemap.api.http.auth import require_role
from safemap.api.http.deps import get_settings, get_store, network_service
from safemap.api.http.models.warnings import AckBody, WarningBody
from safemap.api.http.params import FeatureIdPath
from safemap.api.http.responses import jsonable
from safemap.api.reports import warnings as warning_report
from safemap.api.services import evacuation
from safemap.api.services import warnings as warning_service
from safemap.api.services.network import NetworkService
from safemap.api.services.problems import invalid
from safemap.api.settings import Settings, channel_config
from safemap.layers.enums import VEHICLE_PROFILE
from safemap.layers.store import FeatureStore

TAGS = ["预警与疏散"]
WRITERS = ("dispatcher", "admin")
MAX_KEY = 200

router = APIRouter(tags=TAGS)


@router.get("/api/warning-templates", summary="预警信息模板（含占位符）与本机可用的发布渠道")
async def warning_templates(
    store: FeatureStore = Depends(get_store), settings: Settings = Depends(get_settings)
) -> dict[str, Any]:
    """The enabled templates and the status of each channel (未配置 with the reason)."""
    found = await run_in_threadpool(warning_service.templates, store)
    return {"templates": found, "channels": channel_config(settings).status()}


@router.post(
    "/api/incidents/{incident_id}/warnings",
    status_code=201,
    summary="发布预警：按模板生成内容，向所选分区内的对象发送（preview 为真时只预览）",
)
async def send_warning(
    request: Request,
    incident_id: FeatureIdPath,
    body: WarningBody,
    store: FeatureStore = Depends(get_store),
    settings: Settings = Depends(get_settings),
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=MAX_KEY)] = None,
) -> Any:
    """201 with the warning and its deliveries; 200 for a preview or a replay of the same warning."""
    actor = require_role(request, *WRITERS)
    key = (idempotency_key or "").strip() or None
    if key is not None and not key.isprintable():
        raise invalid("Idempotency-Key", "幂等键只能含可打印字符")
    req = warning_service.WarningRequest(
        template=body.template,
        bands=tuple(body.bands),
        channels=tuple(body.channels),
        values=dict(body.values),
        preview=body.preview,
        idempotency_key=None if key is None else f"client:{key}",
    )

    def run() -> tuple[bool, dict[str, Any]]:
        zone = warning_service.incident_zone(store, incident_id)
        return warning_service.send_warning(store, actor, incident_id, zone, req, channel_config(settings))

    created, result = await run_in_threadpool(run)
    worker = getattr(request.app.state, "warning_worker", None)
    if created and worker is not None:
        worker.wake()  # sent within seconds, not at the next interval
    return JSONResponse(jsonable(result, store.tz), status_code=201 if created else 200)


@router.get("/api/incidents/{incident_id}/warnings", summary="事件的预警记录及每个接收对象的送达状态")
async def list_warnings(incident_id: FeatureIdPath, store: FeatureStore = Depends(get_store)) -> Any:
    """Newest first, each with its deliveries (排队/已发送/失败/已确认/未配置) and counts."""
    found = await run_in_threadpool(warning_service.list_warnings, store, incident_id)
    return JSONResponse(jsonable({"incident_id": incident_id, "warnings": found}, store.tz))


@router.get(
    "/api/incidents/{incident_id}/warnings/{warning_id}/call-list",
    summary="电话通知清单（可打印 HTML）",
    response_class=HTMLResponse,
)
async def call_list(
    incident_id: FeatureIdPath, warning_id: FeatureIdPath, store: FeatureStore = Depends(get_store)
) -> HTMLResponse:
    """Every recipient of the warning with phone, band and state, most urgent first, to phone and tick off."""

    def run() -> str:
        result = warning_service.get_warning(store, incident_id, warning_id)
        incident = store.get("incidents", incident_id)
        return warning_report.call_list_html(result, incident, store.tz)

    return HTMLResponse(await run_in_threadpool(run))


@router.post("/api/warning-deliveries/{delivery_id}/ack", summary="确认送达（已确认）")
async def acknowledge(
    request: Request,
    delivery_id: FeatureIdPath,
    body: AckBody | None = None,
    store: FeatureStore = Depends(get_store),
) -> Any:
    """Mark one delivery 已确认 (the person answered the call or replied); repeating it changes nothing."""
    actor = require_role(request, *WRITERS)
    note = None if body is None else body.note
    found = await run_in_threadpool(warning_service.acknowledge, store, actor, delivery_id, note)
    return JSONResponse(jsonable(found, store.tz))


@router.get(
    "/api/incidents/{incident_id}/evacuation", summary="疏散安置：危险区内人员就近安置到区外避难场所（按道路、限容量）"
)
async def evacuation_plan(
    incident_id: FeatureIdPath,
    vehicle: Annotated[str | None, Query(description="疏散车辆类型（默认不限车型，按道路车速）")] = None,
    bands: Annotated[str | None, Query(description="只疏散这些分区（以 | 分隔）；默认整个危险区")] = None,
    store: FeatureStore = Depends(get_store),
    svc: NetworkService = Depends(network_service),
) -> Any:
    """Assignments with routes (GeoJSON), distance and time (分秒); unassigned people with the reason."""
    if vehicle is not None and vehicle not in VEHICLE_PROFILE.codes:
        raise invalid("vehicle", f"没有车辆类型 {vehicle!r}；可选：{VEHICLE_PROFILE.describe()}")

    labels = [b for b in (bands or "").split("|") if b] or None
    result = await run_in_threadpool(
        lambda: evacuation.incident_evacuation(store, svc, incident_id, bands=labels, vehicle=vehicle)
    )
    return JSONResponse(jsonable(result, store.tz))
