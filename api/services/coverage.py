"""Shared plumbing of the coverage and fire-access analyses: network, vehicles, facilities, sites.

The routable network and the vehicle profiles come from the routing work's cache
(:class:`safemap.api.services.network.NetworkService`: built from ``roads`` + ``fire_lanes``, rebuilt
only when they change, closures applied in place). Everything here reads the store and
hands plain frames and arrays to ``gis/``.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from safemap.api.services.network import NetworkService
from safemap.api.services.problems import bad
from safemap.gis.coverage import MultiSearch, multi_source, site_times
from safemap.gis.fire_access import RuleBook
from safemap.gis.network import Network
from safemap.gis.routing import Router, Snap, Vehicle
from safemap.layers.store import FeatureStore

#: Team kinds that answer fires (the coverage report's default).
FIRE_KINDS = ("fire_station", "professional_fire")
SITE_LAYERS = ("enterprises", "hazard_sources", "protected_targets")
SITE_LABELS = {"enterprises": "企业", "hazard_sources": "危险源", "protected_targets": "防护目标"}
#: Sites farther than this from every road the vehicle may use count as unreachable (metres).
MAX_ACCESS_M = 1000.0

_lock = threading.Lock()
#: The routing network cache (:mod:`safemap.api.services.network`) per store; the app's own one when a
#: request attached it, so the map's routes, dispatch and coverage share one network in memory.
_services: dict[int, NetworkService] = {}
_default = NetworkService()


def attach(store: FeatureStore, service: NetworkService) -> None:
    """Use ``service`` (the app's network cache) for ``store``."""
    with _lock:
        _services[id(store)] = service


def _service(store: FeatureStore) -> NetworkService:
    with _lock:
        return _services.get(id(store), _default)


def network(store: FeatureStore) -> tuple[Network, Router]:
    """The routable network of the store (roads + fire lanes), rebuilt only after an edit."""
    router = _service(store).router(store)
    return router.net, router


def vehicle(store: FeatureStore, code: str, field: str = "vehicle") -> Vehicle:
    """The vehicle profile ``code`` (dimensions, weight, speed factor) from ``vehicle_profiles``."""
    from safemap.layers.enums import VEHICLE_PROFILE

    if code not in VEHICLE_PROFILE.codes:
        raise bad(field, f"未知车辆类型 {code!r}；可选：{VEHICLE_PROFILE.describe()}")
    found = _service(store).vehicles(store).get(code)
    if found is None:
        raise bad(field, f"车辆参数表 vehicle_profiles 中没有 {code!r}（请管理员补充）", 422)
    return found


def rulebook(store: FeatureStore) -> RuleBook:
    """The review's limits and clauses from the ``fire_access_rules`` table."""
    page = store.query("fire_access_rules", limit=None, count=False, children=False)
    return RuleBook.from_rows(page.rows)


@dataclass
class Facilities:
    """Teams or depots taking part in a search, with their positions on the network."""

    frame: gpd.GeoDataFrame
    snaps: list[Snap | None]


def facilities(
    store: FeatureStore,
    layer: str,
    *,
    kinds: Sequence[str] | None = None,
    vehicle_code: str | None = None,
    ids: Sequence[int] | None = None,
    only_available: bool = False,
    levels: Sequence[str] | None = None,
) -> gpd.GeoDataFrame:
    """Rescue teams (of ``kinds``, holding ``vehicle_code``) or material depots (of ``levels``)."""
    page = store.query(layer, limit=None, count=False, children=layer == "rescue_teams", ids=ids)
    rows = page.rows
    geoms = list(page.geometries)
    keep = []
    for r in rows:
        if layer == "rescue_teams":
            if kinds and r.get("kind") not in kinds:
                keep.append(False)
                continue
            if only_available and r.get("status") != "available":
                keep.append(False)
                continue
            if vehicle_code:
                held = {v.get("profile") for v in r.get("vehicles") or [] if (v.get("count") or 0) > 0}
                keep.append(vehicle_code in held)
                continue
        elif levels and r.get("level") not in levels:
            keep.append(False)
            continue
        keep.append(True)
    cols = ["id", "name", "township", "kind", "level", "status"]
    data = [{c: r.get(c) for c in cols} for r, k in zip(rows, keep, strict=True) if k]
    frame = gpd.GeoDataFrame(
        data, columns=cols, geometry=[g for g, k in zip(geoms, keep, strict=True) if k], crs="EPSG:4326"
    )
    return frame


def snap_points(
    router: Router, lonlat: np.ndarray, seg_cost: np.ndarray, max_m: float = MAX_ACCESS_M
) -> list[Snap | None]:
    """Positions on segments the vehicle may use (``None`` farther than ``max_m``)."""
    if not len(lonlat):
        return []
    return router.snap(np.asarray(lonlat, float).reshape(-1, 2), usable=np.isfinite(seg_cost), max_m=max_m)


def lonlat_of(frame: gpd.GeoDataFrame) -> np.ndarray:
    """A representative lon/lat of each feature (points as they are, areas inside them)."""
    if not len(frame):
        return np.zeros((0, 2))
    pts = frame.geometry.representative_point()
    return np.column_stack([pts.x.to_numpy(), pts.y.to_numpy()])


def sites(store: FeatureStore, layers: Sequence[str] = SITE_LAYERS) -> gpd.GeoDataFrame:
    """Enterprises, hazard sources and protected targets in one frame (lon/lat).

    Columns: ``layer``, ``id``, ``name``, ``township``, ``population`` (protected targets;
    0 elsewhere), ``grade`` (hazard sources; NaN when not graded), ``category``,
    ``industry``, ``height_m`` and geometry.
    """
    frames = []
    for layer in layers:
        g = store.to_geodataframe(layer)
        if not len(g):
            continue
        f = pd.DataFrame(
            {
                "layer": layer,
                "id": g["id"].astype(int).to_numpy(),
                "name": g["name"].to_numpy(),
                "township": g["township"].to_numpy(),
            }
        )
        f["population"] = pd.to_numeric(g["population"], errors="coerce").to_numpy() if "population" in g else 0.0
        f["grade"] = pd.to_numeric(g["grade"], errors="coerce").to_numpy() if "grade" in g else np.nan
        for c in ("category", "industry", "height_m", "kind", "county_code"):
            f[c] = g[c].to_numpy() if c in g else None
        frames.append(gpd.GeoDataFrame(f, geometry=g.geometry.to_numpy(), crs="EPSG:4326"))
    if not frames:
        return gpd.GeoDataFrame(
            columns=["layer", "id", "name", "township", "population", "grade"], geometry=[], crs="EPSG:4326"
        )
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs="EPSG:4326")


def search_from(
    store: FeatureStore,
    vehicle_code: str,
    frame: gpd.GeoDataFrame,
    limit_s: float = np.inf,
    extra_lonlat: np.ndarray | None = None,
) -> tuple[Network, Router, np.ndarray, MultiSearch, list[Snap | None]]:
    """One multi-source search of a vehicle from the facilities in ``frame`` (plus extra points)."""
    net, router = network(store)
    veh = vehicle(store, vehicle_code)
    cost = router.segment_cost(veh)
    pts = lonlat_of(frame)
    if extra_lonlat is not None and len(extra_lonlat):
        pts = np.vstack([pts, np.asarray(extra_lonlat, float).reshape(-1, 2)])
    snaps = snap_points(router, pts, cost)
    return net, router, cost, multi_source(net, cost, snaps, limit=limit_s), snaps


def times_to_sites(
    net: Network, router: Router, cost: np.ndarray, search: MultiSearch, site_frame: gpd.GeoDataFrame
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[Snap | None]]:
    """Time from the nearest facility to each site, the facility's index, the via node and the snaps."""
    snaps = snap_points(router, lonlat_of(site_frame), cost)
    t, fac, via = site_times(net, search, snaps)
    return t, fac, via, snaps


def geojson_geometry(geom: Any, net: Network) -> dict[str, Any] | None:
    """A metric shapely geometry as a GeoJSON geometry in lon/lat (6 decimals ≈ 0.1 m)."""
    import shapely

    if geom is None or geom.is_empty:
        return None
    lonlat = shapely.transform(geom, lambda xy: net.to_lonlat(xy))
    return shapely.geometry.mapping(shapely.set_precision(lonlat, 1e-6))
