"""数据上报 (issue 19 item 2): ``GET /api/replication/status`` — each county's state and 数据延迟.

On the prefecture's (or region's) server it lists every county whose rows it receives, with
the lag read from the heartbeat each county writes every few seconds; on a county's server,
the hubs connected to it. Limited, like every read, to the counties the person may see.
Setting replication up is the database administrator's job (``safemap replication …``).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool

from safemap.api.http.auth import county_scope, require_actor
from safemap.api.http.deps import get_store
from safemap.api.http.openapi import error_responses
from safemap.api.services import replication as service
from safemap.layers.store import FeatureStore

router = APIRouter(tags=["数据上报"])


@router.get(
    "/api/replication/status",
    summary="数据上报状态：各区县同步状态与数据延迟（登录用户）",
    responses=error_responses(401),
)
async def status(request: Request, store: FeatureStore = Depends(get_store)) -> dict[str, Any]:
    """The part this server plays in reporting upward and, per county shown, state and 数据延迟."""
    require_actor(request)
    seen = county_scope(request)
    out = await run_in_threadpool(service.status, store)
    if seen is not None:
        out["counties"] = [c for c in out["counties"] if c["county_code"] in seen]
    return out


@router.get(
    "/api/replication/map",
    summary="数据上报地图：各区县边界按同步状态着色（GeoJSON；登录用户）",
    responses=error_responses(401),
)
async def lag_map(request: Request, store: FeatureStore = Depends(get_store)) -> dict[str, Any]:
    """The prefecture's counties with their state and 数据延迟, for the map."""
    require_actor(request)
    return await run_in_threadpool(service.lag_map, store, county_scope(request))
