"""The FastAPI application factory: settings and store on ``app.state``, error handlers, middleware, routers.

The routes live in :mod:`safemap.api.http.routers` (and :mod:`safemap.api.http.ogc`); they
read the store and settings through :mod:`safemap.api.http.deps`.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from fastapi.middleware.gzip import GZipMiddleware

from safemap.api.http import errors, ogc, openapi, uploads
from safemap.api.http.routers import allocation as routes_allocation
from safemap.api.http.routers import coverage as routes_coverage
from safemap.api.http.routers import dispatch as routes_dispatch
from safemap.api.http.routers import docs as routes_docs
from safemap.api.http.routers import domino as routes_domino
from safemap.api.http.routers import events as routes_events
from safemap.api.http.routers import incidents as routes_incidents
from safemap.api.http.routers import indicators as routes_indicators
from safemap.api.http.routers import layers as routes_layers
from safemap.api.http.routers import live as routes_live
from safemap.api.http.routers import locate as routes_locate
from safemap.api.http.routers import map as routes_map
from safemap.api.http.routers import park as routes_park
from safemap.api.http.routers import prevention as routes_prevention
from safemap.api.http.routers import printing as routes_printing
from safemap.api.http.routers import region as routes_region
from safemap.api.http.routers import replication as routes_replication
from safemap.api.http.routers import route as routes_route
from safemap.api.http.routers import safety as routes_safety
from safemap.api.http.routers import session as routes_session
from safemap.api.http.routers import system as routes_system
from safemap.api.http.routers import tailings as routes_tailings
from safemap.api.http.routers import tiles as routes_tiles
from safemap.api.http.routers import warnings as routes_warnings
from safemap.api.http.routers import wind as routes_wind
from safemap.api.services import replication as replication_service
from safemap.api.services.replication import HeartbeatWorker
from safemap.api.settings import Settings, delivery_worker, live_worker, load_settings, open_configured_store
from safemap.layers.store import FeatureStore

DESCRIPTION = """SafeMap 安全生产风险与应急资源"一张图" — layer API.

* Reads are open; writes need `Authorization: Bearer <token>` with a role allowed to edit the
  layer (tokens: `safemap token create --name 张三 --role planner`).
* GeoJSON in and out (RFC 7946, WGS 84 lon/lat). Every feature has a `version`; PATCH and
  DELETE must quote it (`If-Match: "3"` or `properties.version`), a stale edit gets 409.
* Errors are JSON: `{"error", "message", "problems": [{"field", "message", "row"?}]}`.
"""


@functools.cache
def _layer_routes() -> APIRouter:
    """The per-layer routes, built once per process.

    They depend on the catalogue only (the store and settings come from the request's app), and
    building ~450 routes from the catalogue takes about a second: an app made per test or per
    worker should not pay it again.
    """
    return routes_layers.build_router()


@functools.cache
def _ogc_routes() -> APIRouter:
    """The OGC API routes (collections from the catalogue), built once per process like :func:`_layer_routes`."""
    return ogc.build_router()


def _publishes(store: FeatureStore, settings: Settings) -> bool:
    """Whether this server's store is a county publishing upward (and heartbeats are wanted)."""
    if settings.heartbeat_s <= 0 or store.kind != "postgis":
        return False
    try:
        return replication_service.role(store) == "county"
    except Exception:  # a status that cannot be read must not stop the server; the CLI reports it
        return False


def create_app(settings: Settings | None = None, store: FeatureStore | None = None) -> FastAPI:
    """Build the application; ``store`` overrides the one the settings select (tests)."""
    settings = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = store is None
        app.state.store = store or open_configured_store(settings)
        # Upload folders left by a server that died mid-import.
        uploads.clean_leftovers(uploads.upload_root(settings, app.state.store))
        # The warning outbox lives in the store: this worker (or `safemap warnings deliver`) empties it.
        worker = delivery_worker(settings, app.state.store) if settings.warning_worker else None
        if worker is not None:
            worker.start(settings.warning_worker_interval_s)
        app.state.warning_worker = worker
        # Silent sensors and vehicles, retention and the MQTT subscriber (SAFEMAP_MQTT_URL).
        live = live_worker(settings, app.state.store) if settings.live_worker or settings.mqtt_url else None
        if live is not None:
            live.start(settings.live_worker_interval_s)
        app.state.live_worker = live
        # A county that publishes upward beats every few seconds, so its hub sees 数据延迟 when nobody edits.
        beats = (
            HeartbeatWorker(app.state.store, settings.heartbeat_s) if _publishes(app.state.store, settings) else None
        )
        if beats is not None:
            beats.start()
        try:
            yield
        finally:
            if beats is not None:
                beats.stop()
            if live is not None:
                live.stop()
            if worker is not None:
                worker.stop()
            if owned:
                app.state.store.close()

    app = FastAPI(
        title="SafeMap 安全生产一张图 API",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        # /docs and /redoc come from routers/docs.py: the same pages with vendored assets.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    if store is not None:
        app.state.store = store
    errors.install(app)
    openapi.install(app)
    app.add_middleware(errors.JsonOnly)
    app.add_middleware(errors.BodyLimit, max_body=settings.max_body_bytes, max_upload=settings.max_upload_bytes)
    # The map page is ~1 MB of embedded GeoJSON: gzip brings it to ~0.2 MB on the intranet.
    # Level 1: on 4 MB of GeoJSON level 9 costs ~250 ms for 20 % fewer bytes than level 1 (~25 ms).
    app.add_middleware(GZipMiddleware, minimum_size=2048, compresslevel=1)
    app.include_router(_layer_routes())
    app.include_router(_ogc_routes())
    app.include_router(routes_tiles.router)
    app.include_router(routes_wind.router)
    app.include_router(routes_safety.router)
    app.include_router(routes_coverage.router)
    app.include_router(routes_route.router)
    app.include_router(routes_dispatch.router)
    app.include_router(routes_events.router)
    app.include_router(routes_printing.router)
    app.include_router(routes_incidents.router)
    app.include_router(routes_warnings.router)
    app.include_router(routes_live.router)
    app.include_router(routes_prevention.router)
    app.include_router(routes_indicators.router)
    # The industrial park and the mines (issue 18).
    app.include_router(routes_domino.router)
    app.include_router(routes_park.router)
    app.include_router(routes_tailings.router)
    app.include_router(routes_allocation.router)
    app.include_router(routes_region.router)
    app.include_router(routes_replication.router)
    app.include_router(routes_locate.router)
    app.include_router(routes_system.router)
    app.include_router(routes_session.router)
    routes_map.mount_static(app)
    app.include_router(routes_map.router)
    app.include_router(routes_docs.router)
    return app
