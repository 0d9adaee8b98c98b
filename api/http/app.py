"""The FastAPI application: layer API, audit log, health check, and the map page at ``/``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.staticfiles import StaticFiles
from starlette.responses import HTMLResponse, Response

from safemap.api.http import errors, ogc
from safemap.api.http.auth import require_actor
from safemap.api.http.routers import coverage as routes_coverage
from safemap.api.http.routers import dispatch as routes_dispatch
from safemap.api.http.routers import layers as routes_layers
from safemap.api.http.routers import safety as routes_safety
from safemap.api.http.routers import tiles as routes_tiles
from safemap.api.settings import Settings
from safemap.layers.migrations import SCHEMA_VERSION
from safemap.layers.store import FeatureStore, open_store

DESCRIPTION = """SafeMap 安全生产风险与应急资源"一张图" — layer API.

* Reads are open; writes need `Authorization: Bearer <token>` with a role allowed to edit the
  layer (tokens: `safemap token create --name 张三 --role planner`).
* GeoJSON in and out (RFC 7946, WGS 84 lon/lat). Every feature has a `version`; PATCH and
  DELETE must quote it (`If-Match: "3"` or `properties.version`), a stale edit gets 409.
* Errors are JSON: `{"error", "message", "problems": [{"field", "message", "row"?}]}`.
"""


def open_configured_store(settings: Settings) -> FeatureStore:
    """Open (creating or upgrading) the store the settings select."""
    return open_store(settings.store_target, extent=settings.extent, local_tz=settings.timezone)


def create_app(settings: Settings | None = None, store: FeatureStore | None = None) -> FastAPI:
    """Build the application; ``store`` overrides the one the settings select (tests)."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = store is None
        app.state.store = store or open_configured_store(settings)
        try:
            yield
        finally:
            if owned:
                app.state.store.close()

    app = FastAPI(
        title="SafeMap 安全生产一张图 API",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    if store is not None:
        app.state.store = store
    errors.install(app)
    app.add_middleware(errors.BodyLimit, max_body=settings.max_body_bytes, max_upload=settings.max_upload_bytes)
    # The map page is ~1 MB of embedded GeoJSON: gzip brings it to ~0.2 MB on the intranet.
    # Level 1: on 4 MB of GeoJSON level 9 costs ~250 ms for 20 % fewer bytes than level 1 (~25 ms).
    app.add_middleware(GZipMiddleware, minimum_size=2048, compresslevel=1)
    routes_layers.install(app)
    ogc.install(app)
    routes_tiles.install(app)
    routes_safety.install(app)
    routes_coverage.install(app)
    routes_dispatch.install(app)
    _install_service_routes(app)
    _install_map(app, settings)
    return app


def _install_service_routes(app: FastAPI) -> None:
    @app.get("/healthz", tags=["系统"], summary="健康检查")
    async def healthz(request: Request) -> dict[str, Any]:
        store: FeatureStore = request.app.state.store
        counts = await run_in_threadpool(store.counts)
        return {
            "status": "ok",
            "store": store.kind,
            "schema_version": SCHEMA_VERSION,
            "features": sum(counts.values()),
        }

    @app.get("/api/me", tags=["系统"], summary="当前令牌的使用人与角色")
    async def me(request: Request) -> dict[str, str]:
        actor = require_actor(request)
        return {"name": actor.name, "role": actor.role}

    @app.get("/api/audit", tags=["系统"], summary="审计日志（谁、何时、改了哪个要素、改前改后）")
    async def audit(
        request: Request,
        layer: str | None = Query(None),
        feature_id: int | None = Query(None),
        limit: int = Query(100, ge=1, le=1000),
        offset: int = Query(0, ge=0),
    ) -> dict[str, Any]:
        require_actor(request)
        store: FeatureStore = request.app.state.store
        if layer is not None:
            store.layer(layer)
        entries = await run_in_threadpool(
            store.audit_log, layer=layer, feature_id=feature_id, limit=limit, offset=offset
        )
        return {"entries": entries}


def _install_map(app: FastAPI, settings: Settings) -> None:
    from safemap.webmap.assets import STATIC_DIR
    from safemap.webmap.features import popup_html
    from safemap.webmap.page import MapOptions, render_map

    app.mount("/static", _CachedStatic(directory=STATIC_DIR), name="static")
    cache: dict[str, Any] = {}

    @app.get("/map/popup/{layer}/{feature_id}", include_in_schema=False)
    async def popup(request: Request, layer: str, feature_id: int) -> HTMLResponse:
        # Features drawn from vector tiles carry no popup text; the page asks for it here.
        store: FeatureStore = request.app.state.store
        feature = await run_in_threadpool(store.get, layer, feature_id)
        return HTMLResponse(popup_html(store.layer(layer), feature, store.tz))

    @app.get("/", include_in_schema=False)
    async def map_page(request: Request) -> Response:
        store: FeatureStore = request.app.state.store
        generation = await run_in_threadpool(store.generation)
        if cache.get("generation") != generation:
            options = MapOptions.from_settings(settings)
            cache["html"] = await run_in_threadpool(render_map, store, options)
            cache["generation"] = generation
        return HTMLResponse(cache["html"])


class _CachedStatic(StaticFiles):
    """Static files; vendored libraries are cached for a day (their URLs carry a version hash)."""

    async def get_response(self, path: str, scope: Any) -> Response:
        """The file, with a long cache lifetime under ``vendor/``."""
        response = await super().get_response(path, scope)
        if path.startswith("vendor/") and response.status_code == 200:
            response.headers["Cache-Control"] = "public, max-age=86400"
        return response
