"""FastAPI dependencies: the store, the settings and the shared services of the running app.

Routes declare what they need (``store: FeatureStore = Depends(get_store)``) instead of
reaching into ``request.app.state``; tests may swap any of them through
``app.dependency_overrides``. The app factory (:func:`safemap.api.http.app.create_app`)
puts the store and settings on ``app.state``; these functions are the only readers.
"""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Request

from safemap.api.services import coverage
from safemap.api.services.network import NetworkService
from safemap.api.settings import Settings
from safemap.layers.store import FeatureStore

Extent = tuple[float, float, float, float]


def get_store(request: Request) -> FeatureStore:
    """The app's feature store."""
    store: FeatureStore = request.app.state.store
    return store


def get_settings(request: Request) -> Settings:
    """The app's settings."""
    settings: Settings = request.app.state.settings
    return settings


def network_service(request: Request) -> NetworkService:
    """The app's network cache (created on first use), shared by routing, dispatch and coverage."""
    state = request.app.state
    if getattr(state, "network_service", None) is None:
        state.network_service = NetworkService()
    service: NetworkService = state.network_service
    return service


def coverage_store(
    store: FeatureStore = Depends(get_store), service: NetworkService = Depends(network_service)
) -> FeatureStore:
    """The store, bound to the app's network cache for the coverage analyses."""
    coverage.attach(store, service)
    return store


def service_extent(
    store: FeatureStore = Depends(get_store), settings: Settings = Depends(get_settings)
) -> Extent | None:
    """The service area: the store's extent, else the one the settings give."""
    extent: Extent | None = store.extent or settings.extent
    return extent


def map_cache(request: Request) -> dict[str, Any]:
    """The app's cache of the rendered map page (keyed by the store's generation)."""
    state = request.app.state
    if getattr(state, "map_cache", None) is None:
        state.map_cache = {}
    cache: dict[str, Any] = state.map_cache
    return cache


__all__ = ["coverage_store", "get_settings", "get_store", "map_cache", "network_service", "service_extent"]
