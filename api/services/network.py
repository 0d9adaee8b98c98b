"""The routing network of a store, built once and kept in memory until roads or fire lanes change.

:class:`NetworkService` answers ``router(store)`` with a :class:`~gis.routing.Router` on
the current network. A cheap fingerprint of ``roads``, ``fire_lanes`` and ``road_speeds``
(count, max id, Σ version, last edit) is read on each call; when it changed the lines
are reloaded and compared with the ones the network was built from:

* only ``status`` / ``obstructed`` changed (a road closed or reopened) → the closure
  flags are replaced in place, no rebuild;
* anything else (geometry, speed, limits, a new road) → the network is rebuilt.

Vehicle profiles are read from the ``vehicle_profiles`` table the same way.

A network of :data:`HIERARCHY_MIN_EDGES` directed edges or more also gets a contraction
hierarchy (:mod:`gis.hierarchy`) for dispatch-sized many-to-one queries. It is built in a
background thread after each rebuild (seconds on a province, about a second on a county)
and attached to the router when ready; until then, and for each vehicle profile until its
metric is customized, the router answers with Dijkstra — never a wait, the same answers.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import shapely

from safemap.gis.hierarchy import Hierarchy
from safemap.gis.network import Network, build_network, links_from_layers
from safemap.gis.routing import Router, Vehicle
from safemap.layers.dispatching import fingerprint
from safemap.layers.enums import VEHICLE_PROFILE
from safemap.layers.store import FeatureStore

NETWORK_LAYERS = ("roads", "fire_lanes", "road_speeds")
SNAP_M = 1.0
#: Networks with at least this many directed edges get a contraction hierarchy (below it Dijkstra takes < 10 ms).
HIERARCHY_MIN_EDGES = 100_000

log = logging.getLogger(__name__)


@dataclass
class NetworkState:
    """What the service holds for one store."""

    fingerprint: tuple[Any, ...]
    shape_key: int
    router: Router
    built_at: float
    build_s: float
    builds: int = 1
    closure_updates: int = 0
    #: ``none`` (small network), ``building``, ``ready`` or ``failed``.
    hierarchy: str = "none"
    hierarchy_s: float | None = None


class NetworkService:
    """Cached network and vehicle profiles per store (thread-safe)."""

    def __init__(self, snap_m: float = SNAP_M, hierarchy_min_edges: int = HIERARCHY_MIN_EDGES) -> None:
        self.snap_m = snap_m
        self.hierarchy_min_edges = hierarchy_min_edges
        self._lock = threading.Lock()
        self._state: dict[int, NetworkState] = {}
        self._vehicles: dict[int, tuple[tuple[Any, ...], dict[str, Vehicle]]] = {}

    def router(self, store: FeatureStore) -> Router:
        """The router on the store's current network (rebuilt only when needed)."""
        return self.state(store).router

    def state(self, store: FeatureStore) -> NetworkState:
        """The cached state, refreshed if the network layers changed."""
        fp = fingerprint(store, NETWORK_LAYERS)
        with self._lock:
            state = self._state.get(id(store))
            if state is not None and state.fingerprint == fp:
                return state
            links, speeds = _load(store)
            key = _shape_key(links, speeds)
            if state is not None and state.shape_key == key:
                state.router.set_closed(_closed_per_segment(state.router.net, links))
                state.fingerprint = fp
                state.closure_updates += 1
                return state
            t0 = time.perf_counter()
            net = build_network(links, speeds=speeds, snap_m=self.snap_m)
            builds = 1 if state is None else state.builds + 1
            new = NetworkState(fp, key, Router(net), time.time(), time.perf_counter() - t0, builds)
            self._state[id(store)] = new
            if net.n_edges >= self.hierarchy_min_edges and net.n_edges:
                new.hierarchy = "building"
                threading.Thread(target=_attach_hierarchy, args=(new,), daemon=True, name="safemap-hierarchy").start()
            return new

    def vehicles(self, store: FeatureStore) -> dict[str, Vehicle]:
        """Vehicle profiles by code, from the ``vehicle_profiles`` table."""
        fp = fingerprint(store, ("vehicle_profiles",))
        with self._lock:
            hit = self._vehicles.get(id(store))
            if hit is not None and hit[0] == fp:
                return hit[1]
        frame = store.to_geodataframe("vehicle_profiles")
        out: dict[str, Vehicle] = {}
        for row in frame.itertuples(index=False):
            out[row.code] = Vehicle(
                code=row.code,
                label=VEHICLE_PROFILE.label(row.code) or row.code,
                width_m=float(row.width_m),
                height_m=float(row.height_m),
                length_m=float(row.length_m),
                weight_t=float(row.weight_t),
                speed_factor=float(row.speed_factor),
                max_speed_kmh=float(row.max_speed_kmh),
            )
        with self._lock:
            self._vehicles[id(store)] = (fp, out)
        return out


def _attach_hierarchy(state: NetworkState) -> None:
    """Build the contraction hierarchy of the state's network and give it to its router."""
    try:
        hierarchy = Hierarchy(state.router.net, background=True)
    except Exception:  # the router keeps answering with Dijkstra; the status says why not faster
        log.exception("contraction hierarchy not built")
        state.hierarchy = "failed"
        return
    state.router.hierarchy = hierarchy
    state.hierarchy_s = hierarchy.build_s
    state.hierarchy = "ready"


def _load(store: FeatureStore) -> tuple[Any, dict[str, float]]:
    roads = store.to_geodataframe("roads")
    lanes = store.to_geodataframe("fire_lanes")
    speeds_frame = store.to_geodataframe("road_speeds")
    speeds = {str(r.road_class): float(r.speed_kmh) for r in speeds_frame.itertuples(index=False)}
    return links_from_layers(roads, lanes), speeds


def _shape_key(links: Any, speeds: dict[str, float]) -> int:
    """Hash of everything that shapes the network except the closure flags."""
    cols = [c for c in links.columns if c not in ("closed", "geometry")]
    digest = hashlib.sha1(pd.util.hash_pandas_object(links[cols].astype(str), index=False).to_numpy().tobytes())
    for wkb in shapely.to_wkb(links.geometry.to_numpy()):
        digest.update(wkb)
    digest.update(repr(sorted(speeds.items())).encode())
    return int.from_bytes(digest.digest()[:8], "big")


def _closed_per_segment(net: Network, links: Any) -> np.ndarray:
    closed = {
        (int(la), int(f)): bool(c) for la, f, c in zip(links["layer"], links["fid"], links["closed"], strict=True)
    }
    return np.array(
        [closed.get((int(la), int(f)), False) for la, f in zip(net.seg_layer, net.seg_fid, strict=True)], bool
    )
