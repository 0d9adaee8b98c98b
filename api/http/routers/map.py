"""The map page at ``/``, the popups of tiled features, and the page's static files under ``/static``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.staticfiles import StaticFiles
from starlette.responses import HTMLResponse, Response

from safemap.api.http.deps import get_settings, get_store, map_cache
from safemap.api.http.params import FeatureIdPath
from safemap.api.settings import Settings
from safemap.layers.store import FeatureStore
from safemap.webmap.assets import STATIC_DIR
from safemap.webmap.features import popup_html
from safemap.webmap.page import MapOptions, render_map

router = APIRouter(include_in_schema=False)


@router.get("/map/popup/{layer}/{feature_id}")
async def popup(layer: str, feature_id: FeatureIdPath, store: FeatureStore = Depends(get_store)) -> HTMLResponse:
    """The popup of one feature (features drawn from vector tiles carry no popup text)."""
    feature = await run_in_threadpool(store.get, layer, feature_id)
    return HTMLResponse(popup_html(store.layer(layer), feature, store.tz))


@router.get("/")
async def map_page(
    store: FeatureStore = Depends(get_store),
    settings: Settings = Depends(get_settings),
    cache: dict[str, Any] = Depends(map_cache),
) -> Response:
    """The map page, rendered again only after the store changed."""
    generation = await run_in_threadpool(store.generation)
    if cache.get("generation") != generation:
        options = MapOptions.from_settings(settings)
        cache["html"] = await run_in_threadpool(render_map, store, options)
        cache["generation"] = generation
    return HTMLResponse(cache["html"])


def mount_static(app: FastAPI) -> None:
    """Serve the page's scripts, styles and vendored libraries under ``/static``."""
    app.mount("/static", CachedStatic(directory=STATIC_DIR), name="static")


class CachedStatic(StaticFiles):
    """Static files; vendored libraries are cached for a day (their URLs carry a version hash)."""

    async def get_response(self, path: str, scope: Any) -> Response:
        """The file, with a long cache lifetime under ``vendor/``."""
        response = await super().get_response(path, scope)
        if path.startswith("vendor/") and response.status_code == 200:
            response.headers["Cache-Control"] = "public, max-age=86400"
        return response
