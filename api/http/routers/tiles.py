"""Vector tiles of a layer at ``/tiles/{layer}/{z}/{x}/{y}.mvt`` (for the map and GIS clients)."""

from __future__ import annotations

from functools import partial

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from starlette.responses import Response

from safemap.api.http.auth import county_scope, read_scope
from safemap.api.http.deps import get_store
from safemap.layers.store import FeatureStore
from safemap.layers.tiles import render_tile

MVT = "application/vnd.mapbox-vector-tile"

router = APIRouter(tags=["矢量瓦片"])


@router.get("/tiles/{layer}/{z}/{x}/{y}.mvt", summary="图层矢量瓦片（MVT, XYZ）", response_class=Response)
async def tile(
    request: Request, layer: str, z: int, x: int, y: int, store: FeatureStore = Depends(get_store)
) -> Response:
    """One Mapbox vector tile of a layer (XYZ scheme); private layers need a sign-in, enterprises see their own."""
    owner = read_scope(request, store.layer(layer))
    data = await run_in_threadpool(
        partial(render_tile, owner=owner, counties=county_scope(request)), store, layer, z, x, y
    )
    # Short cache: edits show up within a minute without reloading every tile each pan.
    return Response(data, media_type=MVT, headers={"Cache-Control": "max-age=60"})
