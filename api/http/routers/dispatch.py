"""Dispatch endpoints: plan, confirm, arrive, release, active dispatches, and live events (SSE).

* ``POST /api/dispatch/plan`` ranks available teams and depots for an incident (nothing stored).
* ``POST /api/dispatch/confirm`` commits teams and materials in one transaction; a team
  taken meanwhile by another dispatcher gives 409 with who took it and when.
* ``POST /api/dispatch/arrive`` / ``release`` move dispatches on; release frees the team.
* ``GET /api/events`` is a server-sent-event stream of team, dispatch and road changes
  read from the audit log, so every open map recolours team markers without reloading.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse

from safemap.api.http.auth import require_role
from safemap.api.http.errors import ApiError
from safemap.api.http.models import ConfirmRequest, PlanRequest, StatusRequest
from safemap.api.http.params import bad
from safemap.api.http.routers import route as routes_route
from safemap.api.services.dispatch import incident_point, plan, route_line
from safemap.layers import dispatching
from safemap.layers.errors import Problem
from safemap.layers.store import FeatureStore

TAGS = ["应急调度"]
LIVE_LAYERS = ("rescue_teams", "dispatches", "roads", "fire_lanes", "incidents")
#: Seconds between checks of the store for changes, and the longest an event stream stays open
#: (the browser's EventSource reconnects by itself and resumes after the last event id).
POLL_S = 1.0
STREAM_S = 300.0
KEEPALIVE_S = 15.0


def install(app: FastAPI) -> None:
    """Register the routing and dispatch endpoints."""
    routes_route.install(app)

    @app.post("/api/dispatch/plan", tags=TAGS, summary="调度方案：按实际行车时间排序队伍，匹配物资储备库")
    async def dispatch_plan(request: Request, body: PlanRequest) -> dict[str, Any]:
        store: FeatureStore = request.app.state.store
        if body.incident is not None:
            routes_route.check_in_area(request, "incident", body.incident)
        if not body.needs and not body.materials:
            raise bad("needs", "请至少提出一项队伍需求（needs）或物资需求（materials）", 422)
        return await run_in_threadpool(plan, store, routes_route.service(request), body)

    @app.post("/api/dispatch/confirm", tags=TAGS, summary="确认调度（队伍状态改为出动中；同一队伍只能被派出一次）")
    async def dispatch_confirm(request: Request, body: ConfirmRequest) -> dict[str, Any]:
        actor = require_role(request, "dispatcher", "admin")
        store: FeatureStore = request.app.state.store
        if not body.teams and not body.depots:
            raise bad("teams", "请至少选择一支队伍或一个储备库", 422)
        if body.incident is not None:
            routes_route.check_in_area(request, "incident", body.incident)
        ids = [t.team_id for t in body.teams]
        if len(set(ids)) != len(ids):
            raise bad("teams", "同一队伍在本次调度中出现了多次", 422)

        def run() -> dict[str, Any]:
            incident = incident_point(store, body.incident, body.incident_id)
            items = []
            for k, t in enumerate(body.teams):
                start = _position(store, "rescue_teams", t.team_id, f"teams.{k}.team_id")
                items.append(
                    dispatching.DispatchItem(
                        _line(t.route, start, incident, f"teams.{k}.route"),
                        team_id=t.team_id,
                        vehicle=t.vehicle,
                        eta_s=t.eta_s,
                        distance_m=t.distance_m,
                    )
                )
            for k, d in enumerate(body.depots):
                start = _position(store, "material_depots", d.depot_id, f"depots.{k}.depot_id")
                items.append(
                    dispatching.DispatchItem(
                        _line(d.route, start, incident, f"depots.{k}.route"),
                        depot_id=d.depot_id,
                        vehicle="materials_truck",
                        eta_s=d.eta_s,
                        distance_m=d.distance_m,
                        materials=[(m.item, None, m.quantity) for m in d.materials],
                    )
                )
            plan_id, rows = dispatching.confirm(
                store, actor, incident, items, incident_id=body.incident_id, note=body.note
            )
            return {"plan_id": plan_id, "dispatches": rows}

        return await run_in_threadpool(run)

    async def _status(request: Request, body: StatusRequest, status: str) -> dict[str, Any]:
        actor = require_role(request, "dispatcher", "admin")
        store: FeatureStore = request.app.state.store
        if not body.dispatch_ids and not body.team_ids:
            raise bad("dispatch_ids", "请给出调度记录编号 dispatch_ids 或队伍编号 team_ids", 422)

        def run() -> dict[str, Any]:
            ids = list(body.dispatch_ids)
            if body.team_ids:
                active = {f["properties"]["team_id"]: f["id"] for f in dispatching.active_dispatches(store)}
                missing = [t for t in body.team_ids if t not in active]
                if missing:
                    raise ApiError(
                        409,
                        "conflict",
                        f"队伍 {', '.join(map(str, missing))} 没有进行中的调度",
                        [Problem("team_ids", f"队伍 {t} 没有进行中的调度") for t in missing],
                    )
                ids += [active[t] for t in body.team_ids]
            rows = dispatching.set_status(store, actor, sorted(set(ids)), status, note=body.note)
            return {"dispatches": rows}

        return await run_in_threadpool(run)

    @app.post("/api/dispatch/arrive", tags=TAGS, summary="登记到场")
    async def dispatch_arrive(request: Request, body: StatusRequest) -> dict[str, Any]:
        return await _status(request, body, "arrived")

    @app.post("/api/dispatch/release", tags=TAGS, summary="解除调度（队伍归队，恢复待命）")
    async def dispatch_release(request: Request, body: StatusRequest) -> dict[str, Any]:
        return await _status(request, body, "released")

    @app.get("/api/dispatch/active", tags=TAGS, summary="进行中的调度（GeoJSON）")
    async def dispatch_active(request: Request) -> dict[str, Any]:
        store: FeatureStore = request.app.state.store
        feats = await run_in_threadpool(dispatching.active_dispatches, store)
        return {"type": "FeatureCollection", "features": orjson.loads(orjson.dumps(feats, default=str))}

    @app.get("/api/events", tags=TAGS, summary="实时事件流（server-sent events）：队伍状态、调度、道路封闭")
    async def events(request: Request) -> StreamingResponse:
        store: FeatureStore = request.app.state.store
        last = request.headers.get("last-event-id", "")
        start = int(last) if last.isdigit() else await run_in_threadpool(dispatching.latest_audit_id, store)
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
    while loop.time() - opened < STREAM_S:
        if await request.is_disconnected():
            return
        now = await run_in_threadpool(store.generation)
        if now != generation:
            generation = now
            rows = await run_in_threadpool(dispatching.changes_since, store, after, LIVE_LAYERS)
            for row in rows:
                after = int(row["id"])
                payload = _change(row)
                if payload is not None:
                    yield _event(row["layer"], payload, after)
                    quiet = loop.time()
        if loop.time() - quiet > KEEPALIVE_S:
            quiet = loop.time()
            yield b": keep-alive\n\n"
        await asyncio.sleep(poll)


def _event(kind: str, data: Any, event_id: int) -> bytes:
    return b"id: %d\nevent: %s\ndata: %s\n\n" % (event_id, kind.encode(), orjson.dumps(data, default=str))


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
    return {**base, "status": props.get("status"), "name": props.get("name")}


def _team_statuses(store: FeatureStore) -> list[dict[str, Any]]:
    page = store.query("rescue_teams", limit=None, count=False, children=False)
    return [{"id": r["id"], "status": r["status"], "version": r["version"]} for r in page.rows]


def _position(store: FeatureStore, layer: str, fid: int, field: str) -> tuple[float, float]:
    page = store.query(layer, ids=[fid], limit=1, count=False, children=False)
    if not page.rows:
        raise bad(field, f"{store.layer(layer).label}中没有编号为 {fid} 的要素", 422)
    g = page.geometries[0]
    return float(g.x), float(g.y)


def _line(value: dict[str, Any] | None, start: tuple[float, float], end: tuple[float, float], field: str) -> Any:
    try:
        return route_line(value, start, end)
    except (ValueError, TypeError, AttributeError) as exc:
        raise bad(field, str(exc), 422) from None
