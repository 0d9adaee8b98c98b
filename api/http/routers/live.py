"""Live data: ingest of readings and positions, the live picture, series, tracks and alarms.

Devices and gateways post with a ``device`` token (it can do nothing else); dispatchers and
admins acknowledge and close alarms and turn them into incidents; everyone reads. Live changes
reach every open map over ``GET /api/events`` (``sensor_live``, ``vehicle_live``, ``alarms``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from starlette.responses import Response

from safemap.api.http.auth import require_role
from safemap.api.http.deps import get_store
from safemap.api.http.models.live import NoteBody
from safemap.api.http.models.safety import validated
from safemap.api.http.openapi import GeoJSONResponse
from safemap.api.http.params import FeatureIdPath, bad, json_body
from safemap.api.http.responses import GEOJSON, json_response
from safemap.api.services import ingest as ingest_service
from safemap.api.services import live_alarms, live_view
from safemap.layers.store import FeatureStore

TAGS = ["实时监测"]
INGESTERS = ("device", "admin")
WRITERS = ("dispatcher", "admin")

router = APIRouter(tags=TAGS)

_ITEM_DOC = {
    "readings": '{"readings": [{"sensor": "YM-LPG-01-GAS1", "ts": "2026-12-01T03:00:00+08:00", "value": 12.5}]}',
    "positions": '{"positions": [{"plate": "新F12345", "ts": "…", "lon": 82.98, "lat": 46.20, "speed_kmh": 40}]}',
}


def _items(body: Any, key: str) -> list[Any]:
    """The messages of a batch: ``{key: [...]}``, a bare list, or one message object."""
    if isinstance(body, dict) and key in body:
        items = body[key]
    elif isinstance(body, list):
        items = body
    elif isinstance(body, dict):
        items = [body]
    else:
        items = None
    if not isinstance(items, list):
        label = "读数列表" if key == "readings" else "位置列表"
        raise bad(key, f"{label}应为消息列表，如 {_ITEM_DOC[key]}", 422)
    if len(items) > ingest_service.MAX_BATCH:
        raise bad(key, f"每批最多 {ingest_service.MAX_BATCH} 条（收到 {len(items)} 条）；请分批上报", 422)
    return items


def _ingest(request: Request, store: FeatureStore) -> ingest_service.Ingest:
    settings = request.app.state.settings
    return ingest_service.ingest_for(store, max_age=dt.timedelta(days=settings.ingest_max_age_days))


@router.post("/api/readings", summary="上报传感器读数（批量；设备令牌）")
async def post_readings(request: Request, store: FeatureStore = Depends(get_store)) -> Response:
    """Store readings, deduplicated; evaluate alarms. Bad messages are rejected one by one with a reason."""
    require_role(request, *INGESTERS)
    items = _items(await json_body(request), "readings")
    result = await run_in_threadpool(_ingest(request, store).readings, items)
    return json_response(result.as_dict())


@router.post("/api/positions", summary="上报车辆位置（批量；设备令牌）")
async def post_positions(request: Request, store: FeatureStore = Depends(get_store)) -> Response:
    """Store positions, deduplicated; evaluate geofences, route and standing rules."""
    require_role(request, *INGESTERS)
    items = _items(await json_body(request), "positions")
    result = await run_in_threadpool(_ingest(request, store).positions, items)
    return json_response(result.as_dict())


@router.get("/api/live", summary="实时态势：全部传感器与车辆的当前状态")
async def live_snapshot(store: FeatureStore = Depends(get_store)) -> Response:
    """Sensors and vehicles with live state, labels and colours; vehicles with their last 10 min trail."""
    return json_response(await run_in_threadpool(live_view.snapshot, store))


def _when(text: str | None, field: str, store: FeatureStore) -> dt.datetime | None:
    if text is None or not text.strip():
        return None
    try:
        return ingest_service.parse_time(text, store.tz)
    except ingest_service.BadMessage as exc:
        raise bad(field, str(exc).replace("时间（ts）", "时间")) from None


@router.get("/api/sensors/{sensor_id}/readings", summary="传感器读数时间序列（原始 / 1 分钟 / 1 小时）")
async def sensor_readings(
    sensor_id: FeatureIdPath,
    store: FeatureStore = Depends(get_store),
    start: str | None = Query(None, alias="from", max_length=40, description="起始时间（默认 24 小时前）"),
    end: str | None = Query(None, alias="to", max_length=40, description="结束时间（默认现在）"),
    step: str = Query("raw", max_length=10, description="raw、1min 或 1h"),
) -> Response:
    """The series with the sensor's set points (for the chart's threshold lines)."""
    begin, finish = _when(start, "from", store), _when(end, "to", store)
    body = await run_in_threadpool(live_view.sensor_series, store, sensor_id, begin, finish, step.strip())
    return json_response(body)


@router.get("/api/vehicles/{vehicle_id}/track", summary="车辆轨迹（GeoJSON）", response_class=GeoJSONResponse)
async def vehicle_track(
    vehicle_id: FeatureIdPath,
    store: FeatureStore = Depends(get_store),
    start: str | None = Query(None, alias="from", max_length=40, description="起始时间（默认 24 小时前）"),
    end: str | None = Query(None, alias="to", max_length=40, description="结束时间（默认现在）"),
) -> Response:
    """Positions in time order as a LineString with ``properties.points`` (time, lon, lat, speed)."""
    begin, finish = _when(start, "from", store), _when(end, "to", store)
    body = await run_in_threadpool(live_view.vehicle_track, store, vehicle_id, begin, finish)
    return json_response(body, media=GEOJSON)


@router.get("/api/alarms", summary="报警列表（可按状态筛选）", response_class=GeoJSONResponse)
async def list_alarms(
    store: FeatureStore = Depends(get_store),
    state: str | None = Query(None, max_length=200, description="状态代码或中文，逗号分隔：active,acknowledged"),
    limit: int = Query(500, ge=1, le=5000, description="最多返回条数"),
) -> Response:
    """Alarms, newest first, as a FeatureCollection with Chinese labels and local times."""
    states = live_view.parse_alarm_states(state)
    feats = await run_in_threadpool(live_view.list_alarms, store, states, limit)
    return json_response({"type": "FeatureCollection", "features": feats}, media=GEOJSON)


async def _note(request: Request) -> str | None:
    raw = await request.body()
    if not raw.strip():
        return None
    return validated(NoteBody, await json_body(request)).note


@router.post("/api/alarms/{alarm_id}/ack", summary="确认报警（记录确认人、时间和备注）", response_class=GeoJSONResponse)
async def ack_alarm(request: Request, alarm_id: FeatureIdPath, store: FeatureStore = Depends(get_store)) -> Response:
    """报警 → 已确认; an alarm already acknowledged answers as it is."""
    actor = require_role(request, *WRITERS)
    note = await _note(request)
    feature = await run_in_threadpool(live_alarms.acknowledge, store, actor, alarm_id, note)
    return json_response(live_view.present_alarm(feature, store.tz), media=GEOJSON)


@router.post("/api/alarms/{alarm_id}/close", summary="关闭报警", response_class=GeoJSONResponse)
async def close_alarm(request: Request, alarm_id: FeatureIdPath, store: FeatureStore = Depends(get_store)) -> Response:
    """Any state → 已关闭 (after recovery, or a false alarm with a note)."""
    actor = require_role(request, *WRITERS)
    note = await _note(request)
    feature = await run_in_threadpool(live_alarms.close, store, actor, alarm_id, note)
    return json_response(live_view.present_alarm(feature, store.tz), media=GEOJSON)


@router.post(
    "/api/alarms/{alarm_id}/incident", status_code=201, summary="报警转为事件（接警）", response_class=GeoJSONResponse
)
async def alarm_to_incident(
    request: Request, alarm_id: FeatureIdPath, store: FeatureStore = Depends(get_store)
) -> Response:
    """Register an incident at the alarm's place with its substance; the alarm is linked and acknowledged."""
    actor = require_role(request, *WRITERS)
    feature = await run_in_threadpool(live_alarms.to_incident, store, actor, alarm_id)
    return json_response(feature, 201, GEOJSON, {"Location": f"/api/incidents/{feature['id']}"})
