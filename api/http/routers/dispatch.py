"""Dispatch endpoints: plan, confirm, arrive, release, active dispatches, and live events (SSE).

* ``POST /api/dispatch/plan`` ranks available teams and depots for an incident (nothing stored).
* ``POST /api/dispatch/confirm`` commits teams and materials in one transaction; a team
  taken meanwhile by another dispatcher gives 409 with who took it and when.
* ``POST /api/dispatch/arrive`` / ``release`` move dispatches on; release frees the team.
* ``GET /api/events`` is a server-sent-event stream of team, dispatch and road changes
  read from the audit log, so every open map recolours team markers without reloading.

Incident event kinds (the SSE ``event:`` field is the layer changed):

* ``incidents`` — an incident registered (``action`` create) or its status changed
  (``action`` status): ``id``, ``status``, ``status_label``, ``kind``, ``name``, ``version``,
  ``reported_at``, ``geometry``;
* ``incident_zones`` — a hazard zone (re-)modelled: ``id``, ``incident_id``, ``seq``,
  ``model``, ``wind_from_deg``, ``stability``, ``geometry`` (the outline; the bands are at
  ``GET /api/incidents/{id}/zones``);
* ``incident_events`` — any timeline entry (接警, status, note, zone, dispatch, warning …):
  ``id``, ``incident_id``, ``kind``, ``text``, ``actor``, ``at``, ``ref``.
* ``warnings`` — a warning sent (预警发布): ``id``, ``incident_id``, ``title``, ``bands``,
  ``channels``, ``recipients``, ``created_by`` (deliveries at ``GET /api/incidents/{id}/warnings``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse

from safemap.api.http.auth import require_role
from safemap.api.http.deps import Extent, get_store, network_service, service_extent
from safemap.api.http.models.dispatch import ConfirmRequest, PlanRequest, StatusRequest, polygon_from_geojson
from safemap.api.http.params import bad, storable_int
from safemap.api.http.responses import dumps
from safemap.api.http.routers.route import route_options
from safemap.api.services import dispatch as dispatch_service
from safemap.api.services import live_view
from safemap.api.services.network import NetworkService
from safemap.api.services.routing import check_in_area
from safemap.layers import dispatching
from safemap.layers.enums import DELIVERY_STATE, INCIDENT_STATUS
from safemap.layers.store import FeatureStore

TAGS = ["应急调度"]
LIVE_LAYERS = (
    "rescue_teams",
    "dispatches",
    "roads",
    "fire_lanes",
    "incidents",
    "warnings",
    "warning_deliveries",
    "incident_zones",
    "incident_events",
    "alarms",
)
#: Seconds between checks of the store for changes, and the longest an event stream stays open
#: (the browser's EventSource reconnects by itself and resumes after the last event id).
POLL_S = 0.5
#: Audit ids read again behind the newest sent (late commits), and rows read per page.
LOOKBACK = 200
PAGE = 500
STREAM_S = 300.0
KEEPALIVE_S = 15.0

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


@router.get("/api/dispatch/active", summary="进行中的调度（GeoJSON）")
async def dispatch_active(store: FeatureStore = Depends(get_store)) -> dict[str, Any]:
    """The dispatches under way, as a GeoJSON FeatureCollection."""
    feats = await run_in_threadpool(dispatching.active_dispatches, store)
    return {"type": "FeatureCollection", "features": orjson.loads(orjson.dumps(feats, default=str))}


@router.get("/api/events", summary="实时事件流（server-sent events）：队伍状态、调度、道路封闭")
async def events(request: Request, store: FeatureStore = Depends(get_store)) -> StreamingResponse:
    """Server-sent events of team, dispatch and road changes, resuming after ``Last-Event-ID``."""
    last = request.headers.get("last-event-id", "")
    start = storable_int(last)
    if start is None:
        start = await run_in_threadpool(dispatching.latest_audit_id, store)
    poll = float(getattr(request.app.state, "events_poll_s", POLL_S))
    return StreamingResponse(
        _stream(request, store, start, poll),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _stream(request: Request, store: FeatureStore, after: int, poll: float) -> AsyncIterator[bytes]:
    yield b"retry: 3000\n\n"
    teams = await run_in_threadpool(_team_statuses, store)
    yield _event("snapshot", {"teams": teams}, after)
    loop = asyncio.get_running_loop()
    opened = quiet = loop.time()
    generation = None
    floor = after  # nothing from before the connection (or the Last-Event-ID) is replayed
    sent: set[int] = set()
    live_seq = await run_in_threadpool(live_view.current_seq, store)
    while loop.time() - opened < STREAM_S:
        if await request.is_disconnected():
            return
        now = await run_in_threadpool(store.generation)
        if now != generation:
            generation = now
            # PostgreSQL hands out audit ids when a row is written, not when its transaction
            # commits: a long write (500 alarms at once) can become visible after a later, higher
            # id was already sent. So the ids just behind the newest sent are read again and any
            # not sent yet go out; and a burst larger than one page is read to its end.
            cursor = max(floor, after - LOOKBACK)
            while True:
                rows = await run_in_threadpool(dispatching.changes_since, store, cursor, LIVE_LAYERS, PAGE)
                for row in rows:
                    rid = int(row["id"])
                    if rid in sent:
                        continue
                    sent.add(rid)
                    after = max(after, rid)
                    payload = _alarm_change(row, store) if row["layer"] == "alarms" else _change(row)
                    if payload is not None:
                        yield _event(row["layer"], payload, rid)
                        quiet = loop.time()
                if len(rows) < PAGE:
                    break
                cursor = int(rows[-1]["id"])
            sent = {i for i in sent if i > after - LOOKBACK}
        # Sensor and vehicle states change thousands of times more often than features: they are
        # read from the time series' state tables by their own sequence, not from the audit log.
        live_seq, sensors, vehicles = await run_in_threadpool(live_view.changes, store, live_seq)
        if sensors:
            yield _event("sensor_live", {"seq": live_seq, "sensors": sensors}, after)
            quiet = loop.time()
        if vehicles:
            yield _event("vehicle_live", {"seq": live_seq, "vehicles": vehicles}, after)
            quiet = loop.time()
        if loop.time() - quiet > KEEPALIVE_S:
            quiet = loop.time()
            yield b": keep-alive\n\n"
        await asyncio.sleep(poll)


def _event(kind: str, data: Any, event_id: int) -> bytes:
    return b"id: %d\nevent: %s\ndata: %s\n\n" % (event_id, kind.encode(), dumps(data))


def _alarm_change(row: dict[str, Any], store: FeatureStore) -> dict[str, Any] | None:
    after = row.get("after")
    if row["feature_id"] is None or not after:
        return None
    feature = {"type": "Feature", "id": row["feature_id"], **after}
    present = live_view.present_alarm(feature, store.tz)
    return {"id": row["feature_id"], "action": row["action"], "actor": row["actor"], **present}


def _change(row: dict[str, Any]) -> dict[str, Any] | None:
    after = row.get("after") or {}
    props = after.get("properties") or {}
    base = {"id": row["feature_id"], "action": row["action"], "actor": row["actor"]}
    if row["feature_id"] is None:
        return None
    if row["layer"] == "rescue_teams":
        return {**base, "status": props.get("status"), "version": props.get("version"), "name": props.get("name")}
    if row["layer"] == "dispatches":
        keys = ("status", "team_id", "depot_id", "plan_id", "eta_s", "vehicle", "dispatcher")
        return {**base, **{k: props.get(k) for k in keys}, "geometry": after.get("geometry")}
    if row["layer"] in ("roads", "fire_lanes"):
        return {
            **base,
            "status": props.get("status"),
            "obstructed": props.get("obstructed"),
            "version": props.get("version"),
            "name": props.get("name"),
        }
    if row["layer"] == "warnings":
        keys = ("incident_id", "title", "bands", "channels", "recipients", "created_by")
        return {**base, **{k: props.get(k) for k in keys}, "name": props.get("name")}
    if row["layer"] == "warning_deliveries":
        keys = ("warning_id", "incident_id", "channel", "state", "attempts", "version")
        return {
            **base,
            **{k: props.get(k) for k in keys},
            "state_label": DELIVERY_STATE.label(props.get("state")) if props.get("state") else None,
        }
    if row["layer"] == "incidents":
        keys = ("status", "kind", "name", "version", "reported_at")
        return {
            **base,
            **{k: props.get(k) for k in keys},
            "status_label": INCIDENT_STATUS.label(props.get("status")),
            "geometry": after.get("geometry"),
        }
    if row["layer"] == "incident_zones":
        keys = ("incident_id", "seq", "model", "wind_from_deg", "stability")
        return {**base, **{k: props.get(k) for k in keys}, "geometry": after.get("geometry")}
    if row["layer"] == "incident_events":
        return {**base, **{k: props.get(k) for k in ("incident_id", "kind", "text", "at", "ref")}}
    return {**base, "status": props.get("status"), "name": props.get("name")}


def _team_statuses(store: FeatureStore) -> list[dict[str, Any]]:
    page = store.query("rescue_teams", limit=None, count=False, children=False)
    return [{"id": r["id"], "status": r["status"], "version": r["version"]} for r in page.rows]
