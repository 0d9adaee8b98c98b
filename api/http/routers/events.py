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

While the store is unavailable (a primary failing over to its standby) the stream stays open:
it sends a comment, waits :data:`RETRY_S` and reads again from where it was, so changes written
on the promoted standby reach maps opened before the failover. (A browser would reconnect by
itself too, but ``EventSource`` gives up for good on an HTTP error status such as 503.)
"""

from __future__ import annotations

import asyncio
import copy
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
from safemap.layers.errors import StoreUnavailable
from safemap.layers.store import FeatureStore

#: Seconds between checks of the store for changes, and the longest an event stream stays open
#: (the browser's EventSource reconnects by itself and resumes after the last event id).
POLL_S = 0.5
STREAM_S = 300.0
KEEPALIVE_S = 15.0
#: Seconds between attempts to read a store that is unavailable (a failover takes a few seconds).
RETRY_S = 1.0
#: The SSE comment sent while the store is unavailable (a comment: EventSource ignores it).
UNAVAILABLE = ": 数据库暂时不可用（可能正在切换主备），稍后继续\n\n".encode()

router = APIRouter(tags=["应急调度"])


@router.get("/api/events", summary="实时事件流（server-sent events）：要素变更、队伍、调度、道路、报警、设备状态")
async def events(request: Request, store: FeatureStore = Depends(get_store)) -> StreamingResponse:
    """Server-sent events of feature, team, dispatch, road and live changes, resuming after ``Last-Event-ID``."""
    start = storable_int(request.headers.get("last-event-id", ""))
    poll = float(getattr(request.app.state, "events_poll_s", POLL_S))
    return StreamingResponse(
        _stream(request, store, start, poll),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _read(store: FeatureStore, cursor: event_feed.AuditCursor) -> list[tuple[int, str, dict[str, Any]]]:
    return [(int(row["id"]), name, data) for row in cursor.rows(store) for name, data in event_feed.events(row, store)]


def _opening(store: FeatureStore, after: int | None) -> tuple[int, list[dict[str, Any]], int]:
    """Where the stream starts (``after``, or the newest audit id), the teams' snapshot and the live sequence."""
    start = dispatching.latest_audit_id(store) if after is None else after
    return start, event_feed.team_statuses(store), live_view.current_seq(store)


async def _stream(request: Request, store: FeatureStore, after: int | None, poll: float) -> AsyncIterator[bytes]:
    yield b"retry: 3000\n\n"
    loop = asyncio.get_running_loop()
    opened = quiet = loop.time()
    while True:
        try:
            start, teams, live_seq = await run_in_threadpool(_opening, store, after)
            break
        except StoreUnavailable:
            if await request.is_disconnected() or loop.time() - opened > STREAM_S:
                return
            yield UNAVAILABLE
            await asyncio.sleep(RETRY_S)
    yield _event("snapshot", {"teams": teams}, start)
    generation = None
    cursor = event_feed.AuditCursor(start)
    while loop.time() - opened < STREAM_S:
        if await request.is_disconnected():
            return
        try:
            now = await run_in_threadpool(store.generation)
            if now != generation:
                # Read with a copy of the cursor: if the store goes away half-way, the rows read
                # so far were not sent, and the next attempt reads them again.
                trial = copy.deepcopy(cursor)
                found = await run_in_threadpool(_read, store, trial)
                cursor, generation = trial, now
                for rid, name, data in found:
                    yield _event(name, data, rid)
                    quiet = loop.time()
            # Sensor and vehicle states change thousands of times more often than features: they are
            # read from the time series' state tables by their own sequence, not from the audit log.
            live_seq, sensors, vehicles = await run_in_threadpool(live_view.changes, store, live_seq)
        except StoreUnavailable:
            yield UNAVAILABLE
            quiet = loop.time()
            await asyncio.sleep(RETRY_S)
            continue
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
