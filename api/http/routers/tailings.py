"""Tailings dam breach (issue 18): ``/api/tailings/*`` — the ponds, and the breach path of one.

Analyses only (nothing is stored): open to every signed-in user like ``/api/safety``. The work
is :mod:`safemap.api.services.tailings`; this module parses and answers.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool

from safemap.api.http.deps import get_settings, get_store
from safemap.api.http.models.tailings import BreachIn, parse_breach
from safemap.api.http.openapi import request_body
from safemap.api.http.params import FeatureIdPath
from safemap.api.services import tailings as tailings_service
from safemap.api.services.problems import bad
from safemap.api.settings import Settings
from safemap.layers.store import FeatureStore

router = APIRouter(tags=["园区与矿山"])

_BODY = request_body(BreachIn)
_BODY["requestBody"]["required"] = False  # every option has a default: an empty body runs the analysis


@router.get("/api/tailings/ponds", summary="尾矿库清单（坝高、库存量，及无法分析的原因）")
async def list_ponds(store: FeatureStore = Depends(get_store)) -> dict[str, Any]:
    """Every tailings pond with its dam height, stored volume, centre and ``reasons`` it cannot be analysed."""
    ponds = await run_in_threadpool(tailings_service.ponds, store)
    return {"ponds": ponds, "count": len(ponds)}


@router.post("/api/tailings/{pond_id}/breach", summary="尾矿库溃坝流路、淹没范围与到达时间", openapi_extra=_BODY)
async def breach(
    request: Request,
    pond_id: FeatureIdPath,
    store: FeatureStore = Depends(get_store),
    settings: Settings = Depends(get_settings),
) -> dict[str, Any]:
    """Flow path, corridor, run-out and who is reached when, with the DEM's provenance and ``synthetic``.

    Path (GeoJSON, lon/lat), corridor polygon, run-out, released volume, the settlements,
    protected targets and roads reached with arrival times; ``synthetic`` is shown on the map
    as a warning. A pond without dam height or stored volume is a 422 naming 坝高 / 尾矿库存量.
    """
    raw = await request.body()
    try:
        data = orjson.loads(raw) if raw.strip() else None
    except orjson.JSONDecodeError as exc:
        raise bad("body", f"不是有效的 JSON：{exc}") from None
    body = parse_breach(data)
    where = None
    if body.lon is not None and body.lat is not None:
        x0, y0, x1, y1 = settings.extent
        if not (x0 <= body.lon <= x1 and y0 <= body.lat <= y1):
            raise bad("lon", f"溃口 ({body.lon}, {body.lat}) 不在服务范围（经度 {x0}–{x1}，纬度 {y0}–{y1}）内", 422)
        where = (body.lon, body.lat)
    return await run_in_threadpool(
        lambda: tailings_service.breach(
            store,
            pond_id,
            breach_lonlat=where,
            stored_m3=body.tailings_volume_m3,
            released_m3=body.released_m3,
            depth_m=body.depth_m,
        )
    )
