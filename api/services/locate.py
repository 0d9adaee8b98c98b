"""Where should the next station or depot go: location-allocation on the road network (issue 5, item 3).

Candidates are network junctions (thinned to one per ``spacing_m`` square), a regular grid
snapped to the roads, or a given list; demand is the population of the protected targets,
the hazard sources or the enterprises; the existing teams (or depots) stay open. The cost
matrix is the vehicle's travel time from each candidate to each demand point
(:func:`gis.coverage.time_matrix`), and :mod:`gis.location` solves MCLP or p-center with
HiGHS, reporting its gap to the optimum. The answer carries the service area within the
standard time before and after, for the map.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import shapely

from safemap.api.services import coverage as svc
from safemap.api.services.problems import bad
from safemap.gis.coverage import service_areas as search_bands
from safemap.gis.coverage import site_times, time_matrix
from safemap.gis.location import mclp, pcenter
from safemap.layers.store import FeatureStore

DEMANDS = {
    "population": ("protected_targets", "防护目标人口"),
    "hazard_sources": ("hazard_sources", "危险源"),
    "enterprises": ("enterprises", "企业"),
}
#: The unit of each demand's weight, said after every count of it ("单独新增覆盖 1210 人").
DEMAND_UNITS = {"population": "人", "hazard_sources": "个", "enterprises": "家"}
#: What the result calls its method, for people (the solver's own name goes in a tooltip).
METHOD_LABELS = {
    "mclp": "最优选址（混合整数规划）",
    "pcenter": "最优选址（最短最长时间，混合整数规划）",
}


def candidate_points(
    store: FeatureStore,
    vehicle_code: str,
    source: str,
    *,
    spacing_m: float = 1000.0,
    max_candidates: int = 500,
    points: Sequence[Sequence[float]] = (),
) -> np.ndarray:
    """Candidate sites as lon/lat ``(n, 2)``.

    Parameters
    ----------
    source
        ``nodes`` (road junctions with three or more arms, one per ``spacing_m`` square),
        ``grid`` (a square grid of ``spacing_m`` inside the county, kept where a road is
        within 1 km) or ``list`` (``points`` as given).
    """
    if source == "list":
        return np.asarray(points, float).reshape(-1, 2)
    net, router = svc.network(store)
    cost = router.segment_cost(svc.vehicle(store, vehicle_code))
    usable = np.isfinite(cost)
    county = _county(store, net)
    if source == "nodes":
        arms = np.bincount(net.seg_u[usable], minlength=net.n_nodes) + np.bincount(
            net.seg_v[usable], minlength=net.n_nodes
        )
        xy = net.node_xy[arms >= 3]
    else:
        if county is None:
            x0, y0 = net.node_xy.min(axis=0)
            x1, y1 = net.node_xy.max(axis=0)
        else:
            x0, y0, x1, y1 = county.bounds
        gx, gy = np.meshgrid(np.arange(x0 + spacing_m / 2, x1, spacing_m), np.arange(y0 + spacing_m / 2, y1, spacing_m))
        xy = np.column_stack([gx.ravel(), gy.ravel()])
        near = net.tree().query(shapely.points(xy), predicate="dwithin", distance=svc.MAX_ACCESS_M)[0]
        xy = xy[np.unique(near)]
    if county is not None and len(xy):
        xy = xy[shapely.contains_xy(county, xy[:, 0], xy[:, 1])]
    # One candidate per square of spacing_m (the first in a stable order), then at most max_candidates.
    cells = np.floor(xy / spacing_m).astype(np.int64)
    _, first = np.unique(cells, axis=0, return_index=True)
    xy = xy[np.sort(first)]
    if len(xy) > max_candidates:
        xy = xy[np.linspace(0, len(xy) - 1, max_candidates).round().astype(int)]
    return net.to_lonlat(xy) if len(xy) else np.zeros((0, 2))


def _county(store: FeatureStore, net: Any) -> Any:
    try:
        b = store.to_geodataframe("admin_boundaries", filters={"level": ["county"]})
    except Exception:
        return None
    if not len(b):
        return None
    return shapely.union_all(b.to_crs(net.crs).geometry.values)


def locate(
    store: FeatureStore,
    *,
    problem: str = "mclp",
    k: int = 1,
    layer: str = "rescue_teams",
    kinds: Sequence[str] | None = svc.FIRE_KINDS,
    vehicle: str = "fire_engine",
    demand: str = "population",
    standard_min: float | None = None,
    turnout_s: float | None = None,
    candidates: str = "nodes",
    spacing_m: float = 1000.0,
    max_candidates: int = 500,
    points: Sequence[Sequence[float]] = (),
    time_limit_s: float = 30.0,
) -> dict[str, Any]:
    """Propose ``k`` new stations (or depots) and compare coverage before and after.

    The radius of MCLP is the standard time minus the turnout time (teams; depots have no
    turnout) — travel seconds, like the cost matrix.
    """
    rules = svc.rulebook(store)
    is_team = layer == "rescue_teams"
    if standard_min is None:
        standard_s = rules.value("response_time") if is_team else rules.value("depot_reach")
    else:
        standard_s = standard_min * 60.0
    turnout = (turnout_s if turnout_s is not None else rules.value("turnout_time")) if is_team else 0.0
    radius = max(standard_s - turnout, 1.0)
    existing = svc.facilities(store, layer, kinds=kinds if is_team else None, vehicle_code=vehicle if is_team else None)
    net, router, cost, search, _ = svc.search_from(store, vehicle, existing)
    dem_layer, dem_label = DEMANDS[demand]
    dem = svc.sites(store, [dem_layer])
    weights = dem["population"].fillna(0).to_numpy(float) if demand == "population" else np.ones(len(dem))
    d_snaps = svc.snap_points(router, svc.lonlat_of(dem), cost)
    ex_time, _, _ = site_times(net, search, d_snaps)
    cand = candidate_points(
        store, vehicle, candidates, spacing_m=spacing_m, max_candidates=max_candidates, points=points
    )
    c_snaps = svc.snap_points(router, cand, cost)
    keep = [i for i, s in enumerate(c_snaps) if s is not None]
    if not keep:
        raise bad("candidates", "没有可通行道路附近的候选点")
    cand = cand[keep]
    c_snaps = [c_snaps[i] for i in keep]
    matrix = time_matrix(net, cost, c_snaps, d_snaps)
    k = min(k, len(c_snaps))
    if problem == "mclp":
        res = mclp(matrix, weights, radius, k, cost_existing=ex_time[:, None], time_limit_s=time_limit_s)
    else:
        reachable = np.isfinite(np.minimum(matrix.min(axis=1), ex_time))
        res = pcenter(matrix[reachable], k, cost_existing=ex_time[reachable, None], time_limit_s=time_limit_s)
    chosen_xy = cand[res.chosen]
    after = np.minimum(ex_time, matrix[:, res.chosen].min(axis=1)) if res.chosen else ex_time
    total = float(weights.sum())

    def state(t: np.ndarray) -> dict[str, Any]:
        cov = t <= radius
        finite = t[np.isfinite(t)]
        return {
            "covered_weight": float(weights[cov].sum()),
            "covered_share": round(float(weights[cov].sum()) / total, 4) if total > 0 else None,
            "covered_points": int(cov.sum()),
            "worst_travel_min": round(float(finite.max()) / 60.0, 2) if len(finite) else None,
            "unreachable_points": int((~np.isfinite(t)).sum()),
        }

    sites_out = []
    for j, idx in enumerate(res.chosen):
        gain_t = np.minimum(ex_time, matrix[:, idx])
        snap = c_snaps[idx]
        sites_out.append(
            {
                "rank": j + 1,
                "label": f"新址{j + 1}",
                "lon": round(float(chosen_xy[j, 0]), 6),
                "lat": round(float(chosen_xy[j, 1]), 6),
                "road": net.segment_label(snap.seg),
                "candidate": int(idx),
                "alone_adds_weight": float(weights[(gain_t <= radius) & ~(ex_time <= radius)].sum()),
            }
        )
    areas = {}
    for name, extra in (("before", None), ("after", chosen_xy)):
        _n, _r, _c, s2, _ = svc.search_from(store, vehicle, existing, radius, extra)
        (band,) = search_bands(net, s2, [radius])
        areas[name] = {
            "type": "Feature",
            "geometry": svc.geojson_geometry(band.area, net),
            "properties": {"state": name, "area_km2": round(band.area.area / 1e6, 3)},
        }
    return {
        "problem": problem,
        "k": k,
        "layer": layer,
        "vehicle": vehicle,
        "demand": demand,
        "demand_label": dem_label,
        "demand_unit": DEMAND_UNITS[demand],
        "radius_min": round(radius / 60.0, 2),
        "standard_min": round(standard_s / 60.0, 2),
        "turnout_s": turnout,
        "candidates": {"source": candidates, "count": len(c_snaps)},
        "existing": len(existing),
        "sites": sites_out,
        "before": state(ex_time),
        "after": state(after),
        "objective": _finite(res.objective),
        "bound": _finite(res.bound),
        "gap": _finite(res.gap),
        "optimal": bool(res.optimal),
        "greedy_objective": _finite(res.greedy_objective),
        "solver": res.method,
        "method_label": METHOD_LABELS.get(problem, "最优选址"),
        "seconds": round(res.seconds, 3),
        "stats": res.stats,
        "areas": {"type": "FeatureCollection", "features": [areas["before"], areas["after"]]},
    }


def _finite(x: float) -> float | None:
    return None if x is None or not math.isfinite(x) else round(float(x), 4)
