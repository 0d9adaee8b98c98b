"""Travel times of many sites from one multi-source search, snapped and timed in partitions (in-process or Dask).

Shared by the region-wide coverage (:func:`safemap.api.services.region_analysis.coverage`) and
the map's coverage report (:func:`safemap.api.services.coverage_report.coverage_report`) when
``SAFEMAP_DASK_SCHEDULER`` is set: the search runs once in this process, its result is
scattered once, and each partition (a county, or a square tile when the sites carry no county)
snaps its sites to the network and reads their times on a worker. Times come back in the
sites' own order, equal to the unpartitioned :func:`safemap.api.services.coverage.times_to_sites`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import shapely

from safemap.api.services import coverage as cov
from safemap.api.services.region_executor import RunInfo, executor
from safemap.gis import partitions as parts
from safemap.gis.coverage import site_times
from safemap.gis.routing import Router

COUNTY = "county_code"


def partition_keys(frame: pd.DataFrame) -> np.ndarray | None:
    """Partition keys of a frame: its county codes, or ``None`` (tiles) when it has none."""
    if COUNTY not in frame or not frame[COUNTY].notna().any():
        return None
    return frame[COUNTY].to_numpy(dtype=object)


def coverage_partition(
    lonlat: np.ndarray, net: Any, cost: np.ndarray, search: Any, max_m: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Snap one partition's sites and read their time from the shared search (runs on a worker).

    Returns travel seconds (``inf`` unreachable), the nearest facility's index (``-1``) and
    whether each site lies within ``max_m`` metres of the usable network.
    """
    snaps = Router(net).snap(lonlat, usable=np.isfinite(cost), max_m=max_m) if len(lonlat) else []
    t, fac, _via = site_times(net, search, snaps)
    return t, fac, np.array([s is not None for s in snaps], dtype=bool)


def site_keys(site_frame: pd.DataFrame, net: Any, tile_m: float | None = None) -> tuple[np.ndarray, bool]:
    """Each site's partition: its county (``keyed``) or, with ``tile_m`` or no county, a square tile."""
    keys = partition_keys(site_frame) if tile_m is None else None
    if keys is not None:
        return keys, True
    lonlat = cov.lonlat_of(site_frame)
    xy = shapely.points(net.to_xy(lonlat)) if len(lonlat) else np.zeros(0, dtype=object)
    return parts.tile_keys(xy, tile_m or parts.DEFAULT_TILE_M), False


def partitioned_site_times(
    site_frame: pd.DataFrame,
    net: Any,
    cost: np.ndarray,
    search: Any,
    scheduler: str | None,
    *,
    keys: np.ndarray | None = None,
    groups: list[Any] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, RunInfo]:
    """Times (seconds), nearest facility (index, ``-1``) and on-network flags of every site, in its order.

    ``keys``/``groups``: the partition of each site and the partitions to compute (default: by
    county or tile, all of them); sites of other partitions keep ``inf``/``-1``/``False``.
    """
    lonlat = cov.lonlat_of(site_frame)
    if keys is None:
        keys, _ = site_keys(site_frame, net)
    if groups is None:
        groups = sorted(set(keys))
    picks = [np.flatnonzero(keys == k) for k in groups]
    with executor(scheduler) as ex:
        run = ex.run_info()
        results = ex.map(
            coverage_partition, [lonlat[i] for i in picks], net=net, cost=cost, search=search, max_m=cov.MAX_ACCESS_M
        )
    n = len(site_frame)
    t, fac, on = np.full(n, np.inf), np.full(n, -1, dtype=int), np.zeros(n, dtype=bool)
    for idx, (ti, fi, oi) in zip(picks, results, strict=True):
        t[idx], fac[idx], on[idx] = ti, fi, oi
    return t, fac, on, run.finish(len(picks))
