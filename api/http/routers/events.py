"""The live event stream of every open map: ``GET /api/events`` (server-sent events).

Events (the SSE ``event:`` field; ``data:`` is JSON, times in ``SAFEMAP_TIMEZONE``):

* ``snapshot`` — first, the status of every rescue team;
* ``features`` — any feature created, edited or deleted, in any layer: ``layer``, ``id``,
  ``action``, ``actor``, ``version`` (every map redraws it; :mod:`safemap.api.services.event_feed`);
* an event named after the layer for the layers the panels follow (``rescue_teams``,
  ``dispatches``, ``roads``, ``fire_lanes``, ``incidents``, ``incident_zones``,
  ``incident_events``, ``warnings``, ``warning_deliveries``, ``alarms``) with the fields the
  panels read (:func:`safemap.api.services.event_feed.change`);
* ``sensor_live`` / ``vehicle_live`` — sensor and vehicle states that changed.

Each event's ``id`` is the audit id it comes from, so a browser that reconnects (by itself,
after ``retry``) resumes with ``Last-Event-ID`` and misses nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse

from safemap.api.http.deps import get_store
from safemap.api.http.params import storable_int
from safemap.api.http.responses import dumps
from safemap.api.services import event_feed, live_view
from safemap.layers import dispatching
from safemap.layers.store import FeatureStore

#: Seconds between checks of the store for changes, and the longest an event stream stays open
#: (the browser's EventSource reconnects by itself and resumes after the last event id).
POLL_S = 0.5
STREAM_S = 300.0
KEEPALIVE_S = 15.0

router = APIRouter(tags=["应急调度"])


@router.get("/api/events", summary="实时事件流（server-sent events）：要素变更、队伍、调度、道路、报警、设备状态")
async def events(request: Request, store: FeatureStore = Depends(get_store)) -> StreamingResponse:
    """Server-sent events of feature, team, dispatch, road and live changes, resuming after ``Last-Event-ID``."""
    start = storable_int(request.headers.get("last-event-id", ""))
    if start is None:
        start = await run_in_threadpool(dispatching.latest_audit_id, store)
    poll = float(getattr(request.app.state, "events_poll_s", POLL_S))
    return StreamingResponse(
        _stream(request, store, start, poll),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _read(store: FeatureStore, cursor: event_feed.AuditCursor) -> list[tuple[int, str, dict[str, Any]]]:
    return [(int(row["id"]), name, data) for row in cursor.rows(store) for name, data in event_feed.events(row, store)]


async def _stream(request: Request, store: FeatureStore, after: int, poll: float) -> AsyncIterator[bytes]:
    yield b"retry: 3000\n\n"
    teams = await run_in_threadpool(event_feed.team_statuses, store)
    yield _event("snapshot", {"teams": teams}, after)
    loop = asyncio.get_running_loop()
    opened = quiet = loop.time()
    generation = None
    cursor = event_feed.AuditCursor(after)
    live_seq = await run_in_threadpool(live_view.current_seq, store)
    while loop.time() - opened < STREAM_S:
        if await request.is_disconnected():
            return
        now = await run_in_threadpool(store.generation)
        if now != generation:
            generation = now
            for rid, name, data in await run_in_threadpool(_read, store, cursor):
                yield _event(name, data, rid)
                quiet = loop.time()
        # Sensor and vehicle states change thousands of times more often than features: they are
        # read from the time series' state tables by their own sequence, not from the audit log.
        live_seq, sensors, vehicles = await run_in_threadpool(live_view.changes, store, live_seq)
        if sensors:
            yield _event("sensor_live", {"seq": live_seq, "sensors": sensors}, cursor.after)
            quiet = loop.time()
        if vehicles:
            yield _event("vehicle_live", {"seq": live_seq, "vehicles": vehicles}, cursor.after)
            quiet = loop.time()
        if loop.time() - quiet > KEEPALIVE_S:
            quiet = loop.time()
            yield b": keep-alive\n\n"
        await asyncio.sleep(poll)


def _event(kind: str, data: Any, event_id: int) -> bytes:
    return b"id: %d\nevent: %s\ndata: %s\n\n" % (event_id, kind.encode(), dumps(data))
