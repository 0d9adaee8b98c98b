"""The county's wind for planners: ``GET /api/safety/wind`` and the 建标152 wind check of a station.

The rose itself is the ``wind_rose`` standards table, edited by an admin through
``/api/layers/wind_rose`` (versioned, audited); these routes only read it.
"""

from __future__ import annotations

from typing import Any

import shapely
from fastapi import APIRouter, Depends, Query
from fastapi.concurrency import run_in_threadpool

from safemap.api.http.deps import get_settings, get_store
from safemap.api.services import wind as wind_service
from safemap.api.services.problems import bad
from safemap.api.settings import Settings
from safemap.layers.store import FeatureStore

router = APIRouter(tags=["安全间距与风险"])


@router.get("/api/safety/wind", summary="县域风向玫瑰与常年主导风向")
async def wind(store: FeatureStore = Depends(get_store)) -> dict[str, Any]:
    """The 16-sector wind rose, calm share, prevailing wind (from-direction, degrees, Chinese name) and source."""
    return await run_in_threadpool(wind_service.prevailing_wind, store)


@router.get(
    "/api/safety/wind/station-check",
    summary="消防站与危险化学品场所的上风/侧风核查（建标152）",
)
async def station_check(
    lon: float = Query(..., ge=-180, le=180, description="消防站经度"),
    lat: float = Query(..., ge=-90, le=90, description="消防站纬度"),
    vicinity_m: float = Query(1000.0, ge=0, le=20_000, description="核查范围 m（危险化学品场所与消防站的距离）"),
    store: FeatureStore = Depends(get_store),
    settings: Settings = Depends(get_settings),
) -> dict[str, Any]:
    """Upwind/crosswind check of a fire station at (lon, lat) against every hazardous-chemical site nearby."""
    x0, y0, x1, y1 = settings.extent
    if not (x0 <= lon <= x1 and y0 <= lat <= y1):
        raise bad("lon", f"位置 ({lon}, {lat}) 不在服务范围（经度 {x0}–{x1}，纬度 {y0}–{y1}）内")
    summary = await run_in_threadpool(wind_service.prevailing_wind, store)
    checks = await run_in_threadpool(
        lambda: wind_service.fire_station_wind_checks(store, shapely.Point(lon, lat), vicinity_m, wind=summary)
    )
    counts = {k: sum(1 for c in checks if c["status"] == k) for k in ("pass", "fail", "cannot_check")}
    return {"wind": {k: v for k, v in summary.items() if k != "rose"}, "checks": checks, "counts": counts}
