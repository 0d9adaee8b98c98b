"""Who reports: sensors by the code their device sends, vehicles by plate, geofences and routes.

Ingest looks every message up here, thousands of times a second, so the catalogue rows are read
once and kept until the store's generation changes (any edit of any layer bumps it): an edited
set point or a new sensor is used from the next batch on, without a restart.

Codes and plates are compared in a canonical form: surrounding spaces dropped, full-width ASCII
folded to half-width and letters upper-cased for plates (``新f 12345`` and ``新Ｆ12345`` are the
same truck), because gateways and people type them differently.
"""

from __future__ import annotations

import threading
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from shapely.geometry.base import BaseGeometry

from safemap.layers.store import FeatureStore


def canonical_code(value: str) -> str:
    """A sensor code as compared: NFKC (full-width → half-width) without surrounding spaces."""
    return unicodedata.normalize("NFKC", value).strip()


def canonical_plate(value: str) -> str:
    """A plate as compared: NFKC, no spaces, dots or hyphens, letters upper-case (``新F·12345`` → ``新F12345``)."""
    text = unicodedata.normalize("NFKC", value)
    return "".join(ch for ch in text if ch not in " ·.-\u3000").upper()


@dataclass
class Registry:
    """The configured sensors, vehicles, geofences and registered routes at one generation."""

    generation: int
    sensors: dict[int, dict[str, Any]] = field(default_factory=dict)
    sensor_geoms: dict[int, BaseGeometry] = field(default_factory=dict)
    sensor_by_code: dict[str, int] = field(default_factory=dict)
    vehicles: dict[int, dict[str, Any]] = field(default_factory=dict)
    vehicle_by_plate: dict[str, int] = field(default_factory=dict)
    vehicle_geoms: dict[int, BaseGeometry] = field(default_factory=dict)
    geofences: list[tuple[dict[str, Any], BaseGeometry]] = field(default_factory=list)
    routes: dict[int, BaseGeometry] = field(default_factory=dict)
    targets: list[tuple[dict[str, Any], BaseGeometry]] = field(default_factory=list)


_CACHE: dict[int, Registry] = {}
_LOCK = threading.Lock()

#: Protected-target categories near which a hazmat truck must not stand (the dwell rule).
SENSITIVE_CATEGORIES = frozenset({"school", "kindergarten", "hospital", "nursing_home", "market"})


def registry(store: FeatureStore) -> Registry:
    """The registry of ``store``, re-read when the store's generation has moved."""
    generation = store.generation()
    with _LOCK:
        cached = _CACHE.get(id(store))
        if cached is not None and cached.generation == generation:
            return cached
    fresh = _read(store, generation)
    with _LOCK:
        _CACHE[id(store)] = fresh
    return fresh


def _all(store: FeatureStore, layer: str) -> tuple[list[dict[str, Any]], list[BaseGeometry]]:
    page = store.query(layer, limit=None, count=False, children=False)
    return page.rows, list(page.geometries)


def _read(store: FeatureStore, generation: int) -> Registry:
    reg = Registry(generation)
    rows, geoms = _all(store, "sensors")
    for row, geom in zip(rows, geoms, strict=True):
        reg.sensors[row["id"]] = row
        reg.sensor_geoms[row["id"]] = geom
        reg.sensor_by_code.setdefault(canonical_code(row["code"]), row["id"])
    rows, geoms = _all(store, "vehicles")
    for row, geom in zip(rows, geoms, strict=True):
        reg.vehicles[row["id"]] = row
        reg.vehicle_geoms[row["id"]] = geom
        reg.vehicle_by_plate.setdefault(canonical_plate(row["plate"]), row["id"])
    rows, geoms = _all(store, "geofences")
    reg.geofences = list(zip(rows, geoms, strict=True))
    rows, geoms = _all(store, "hazmat_routes")
    reg.routes = {row["id"]: geom for row, geom in zip(rows, geoms, strict=True)}
    page = store.query(
        "protected_targets",
        filters={"category": sorted(SENSITIVE_CATEGORIES)},
        limit=None,
        count=False,
        children=False,
    )
    reg.targets = list(zip(page.rows, list(page.geometries), strict=True))
    return reg
