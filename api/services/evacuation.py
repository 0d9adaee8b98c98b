"""Evacuation to shelters: everyone inside a hazard zone to a shelter outside it, by road, within capacity.

For each settlement or protected target inside the zone (its people: ``population``),
the travel time by road to every available shelter outside the zone is found with one
one-to-many search per origin on the network the :class:`NetworkService` keeps loaded.
Segments touching the zone cost :data:`INSIDE_FACTOR` times their travel time in that
search, so a route leaves the zone by the quickest way out instead of crossing it; the
times reported are the real ones.

**Assignment: a min-cost transportation problem** (``scipy.optimize.linprog`` with HiGHS):
minimise Σ people × seconds over origin → shelter flows, each shelter at most its
capacity, each origin's people either placed or left *unassigned* at a cost larger than
any route (so as many people as possible get a place first, then the total travel time is
least). A greedy "largest village takes its nearest shelter" can fill the one shelter a
remote village could reach with people who had another one nearby, and strand the remote
village; the transportation problem cannot. Its constraint matrix is totally unimodular,
so with whole people and capacities the optimum HiGHS returns is whole; an origin may be
split over two shelters when one cannot hold it (a village of 800 to two schools). Zones
hold tens of origins and a county tens of shelters: the problem solves in milliseconds.

Unassigned people come with the reason: 无可达避难场所 (no road out of the zone to any
open shelter) or 避难场所容量不足 (every reachable shelter is full).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from scipy.optimize import linprog
from shapely.geometry.base import BaseGeometry

from safemap.api.services.network import NetworkService
from safemap.api.services.routing import vehicle_of
from safemap.gis import routes
from safemap.gis.routing import MAX_SNAP_M, Restrictions, Router
from safemap.layers.labels import duration_text
from safemap.layers.store import FeatureStore

#: Cost multiplier of segments touching the zone in the search (time inside the zone is exposure).
INSIDE_FACTOR = 10.0
#: Origin layers and the field holding their people (targets first: the detailed layer).
ORIGINS = (("protected_targets", "population"), ("settlements", "population"))
#: A settlement whose people are already counted by populated targets within this many metres.
SETTLEMENT_REACH_M = {"county_seat": 3000.0, "township_seat": 1500.0, "village": 300.0}
NO_ROUTE = "无可达避难场所（区外无可通行道路或附近无开放的避难场所）"
NO_ROOM = "避难场所容量不足"


@dataclass(frozen=True)
class Origin:
    """A place inside the zone whose people leave."""

    layer: str
    id: int
    name: str
    people: int
    lonlat: tuple[float, float]
    township: str | None = None


@dataclass(frozen=True)
class Shelter:
    """An open shelter outside the zone."""

    id: int
    name: str
    capacity: int
    lonlat: tuple[float, float]
    kind: str | None = None


def origins_in(store: FeatureStore, zone: BaseGeometry) -> list[Origin]:
    """Protected targets and settlements inside ``zone`` with people, each person counted once.

    Protected targets are the detailed layer (a housing estate, a school, a village's
    houses); a settlement point stands for the whole village or town. A settlement is
    therefore an origin only when no populated protected target inside the zone lies within
    :data:`SETTLEMENT_REACH_M` of it (by its kind): otherwise its people are already the
    targets' people, and counting both would double them.
    """
    found: dict[str, list[tuple[dict[str, Any], BaseGeometry]]] = {}
    shapely.prepare(zone)
    for layer, field in ORIGINS:
        page = store.query(layer, bbox=tuple(zone.bounds), limit=None, count=False, children=False)  # type: ignore[arg-type]
        found[layer] = [
            (row, geom)
            for row, geom in zip(page.rows, page.geometries, strict=True)
            if geom is not None and zone.intersects(geom) and int(row.get(field) or 0) > 0
        ]
    targets = np.array([_point(g) for _, g in found["protected_targets"]]).reshape(-1, 2)
    out: list[Origin] = []
    for layer, _ in ORIGINS:
        for row, geom in found[layer]:
            pt = geom if geom.geom_type == "Point" else geom.representative_point()
            if layer == "settlements" and len(targets):
                reach = SETTLEMENT_REACH_M.get(str(row.get("kind")), 300.0)
                if _metres(targets, (pt.x, pt.y)).min() <= reach:
                    continue
            people = int(row.get("population") or 0)
            out.append(Origin(layer, int(row["id"]), str(row["name"]), people, (pt.x, pt.y), row.get("township")))
    return out


def _point(geom: BaseGeometry) -> tuple[float, float]:
    pt = geom if geom.geom_type == "Point" else geom.representative_point()
    return (pt.x, pt.y)


def _metres(points: np.ndarray, at: tuple[float, float]) -> np.ndarray:
    """Distances in metres from ``at`` to lon/lat ``points`` (equirectangular: exact enough within a zone)."""
    k = 111_320.0 * math.cos(math.radians(at[1]))
    return np.hypot((points[:, 0] - at[0]) * k, (points[:, 1] - at[1]) * 110_574.0)


def shelters_outside(store: FeatureStore, zone: BaseGeometry) -> tuple[list[Shelter], list[dict[str, Any]]]:
    """Open shelters with room outside ``zone``; also those left out (inside, closed, no capacity) with why."""
    page = store.query("shelters", limit=None, count=False, children=False)
    ok: list[Shelter] = []
    left: list[dict[str, Any]] = []
    for row, geom in zip(page.rows, page.geometries, strict=True):
        why = None
        if geom is None:
            why = "无位置"
        elif zone.intersects(geom):
            why = "位于危险区内"
        elif row.get("available") is False:
            why = "未启用"
        elif not row.get("capacity"):
            why = "容量为 0"
        if why:
            left.append({"id": row["id"], "name": row["name"], "reason": why})
            continue
        pt = geom if geom.geom_type == "Point" else geom.representative_point()
        ok.append(Shelter(int(row["id"]), str(row["name"]), int(row["capacity"]), (pt.x, pt.y), row.get("kind")))
    return ok, left


def assign(people: Sequence[int], capacity: Sequence[int], seconds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Min-cost transportation: people of each origin to shelters within capacity (see the module docstring).

    Parameters
    ----------
    people
        People per origin.
    capacity
        Places per shelter.
    seconds
        Origin × shelter travel times; ``inf`` where there is no route.

    Returns
    -------
    tuple[numpy.ndarray, numpy.ndarray]
        The flows (origin × shelter, whole people) and the unassigned people per origin.
    """
    n, m = seconds.shape
    flows = np.zeros((n, m), dtype=np.int64)
    if n == 0:
        return flows, np.zeros(0, dtype=np.int64)
    pairs = [(i, j) for i in range(n) for j in range(m) if math.isfinite(seconds[i, j])]
    finite = [seconds[i, j] for i, j in pairs]
    big = (max(finite) if finite else 1.0) * 1000.0 + 1e6
    k = len(pairs)
    c = np.concatenate([[seconds[i, j] for i, j in pairs], np.full(n, big)])
    a_eq = np.zeros((n, k + n))
    for col, (i, _) in enumerate(pairs):
        a_eq[i, col] = 1.0
    a_eq[np.arange(n), k + np.arange(n)] = 1.0
    a_ub = np.zeros((m, k + n))
    for col, (_, j) in enumerate(pairs):
        a_ub[j, col] = 1.0
    res = linprog(
        c,
        A_ub=a_ub if m else None,
        b_ub=np.asarray(capacity, float) if m else None,
        A_eq=a_eq,
        b_eq=np.asarray(people, float),
        bounds=(0, None),
        method="highs",
    )
    if res.status != 0:  # cannot happen (everyone may stay unassigned); never invent a plan
        raise RuntimeError(f"evacuation assignment failed: {res.message}")
    x = np.rint(res.x).astype(np.int64)
    for col, (i, j) in enumerate(pairs):
        flows[i, j] = x[col]
    return flows, x[k:]


def plan(
    store: FeatureStore,
    svc: NetworkService,
    zone: BaseGeometry,
    *,
    vehicle: str | None = None,
    max_snap_m: float = MAX_SNAP_M,
) -> dict[str, Any]:
    """Evacuation of everyone inside ``zone`` (lon/lat) to shelters outside it.

    Parameters
    ----------
    store, svc
        The store and its loaded network.
    zone
        The area to leave (the union of the zone's bands).
    vehicle
        Vehicle profile code of the evacuation transport (``None``: any road, free speed).

    Returns
    -------
    dict
        ``assignments`` (origin, shelter, people, ``duration_s``, ``duration_text``,
        ``distance_m``, ``route`` GeoJSON), ``unassigned`` (origin, people, reason),
        ``shelters`` (capacity, assigned, remaining), ``excluded_shelters`` and totals.
    """
    origins = origins_in(store, zone)
    shelters, excluded = shelters_outside(store, zone)
    router = svc.router(store)
    veh = None if vehicle is None else vehicle_of(store, svc, vehicle)
    real = router.segment_cost(veh, Restrictions())
    inside = router.blocked(None, Restrictions(avoid=(zone,), ignore_closures=True))
    cost = np.where(inside, real * INSIDE_FACTOR, real)
    seconds = np.full((len(origins), len(shelters)), np.inf)
    searches: dict[int, Any] = {}
    shelter_snaps: list[Any] = []
    if shelters:
        shelter_snaps = router.snap(np.array([s.lonlat for s in shelters]), np.isfinite(cost), max_snap_m)
        for i, o in enumerate(origins):
            snap = router.snap(np.array([o.lonlat]), np.isfinite(cost), max_snap_m)[0]
            if snap is None:
                continue
            searches[i] = search = router.search(snap, cost, "out", targets=shelter_snaps)
            for j, end in enumerate(shelter_snaps):
                # The assignment weighs time inside the zone as the search did (exposure first).
                seconds[i, j] = router.cost_to(search, end)[0]
    flows, left = assign([o.people for o in origins], [s.capacity for s in shelters], seconds)
    assignments = []
    for i, o in enumerate(origins):
        for j, s in enumerate(shelters):
            if flows[i, j] <= 0:
                continue
            found = router.route_to(searches[i], shelter_snaps[j])
            secs = sum(abs(f1 - f0) * float(real[seg]) for seg, f0, f1 in found.pieces)
            summary = _route_json(router, found, o.lonlat, s.lonlat, real)
            assignments.append(
                {
                    "origin": _origin_json(o),
                    "shelter": {"id": s.id, "name": s.name},
                    "people": int(flows[i, j]),
                    "duration_s": round(secs, 1),
                    "duration_text": duration_text(secs),
                    "distance_m": summary["distance_m"],
                    "inside_m": round(_inside_m(router, found, inside), 1),
                    "route": summary["geometry"],
                    "roads": summary["roads"],
                }
            )
    unassigned = []
    for i, o in enumerate(origins):
        if left[i] > 0:
            reachable = bool(np.isfinite(seconds[i]).any())
            unassigned.append(
                {"origin": _origin_json(o), "people": int(left[i]), "reason": NO_ROOM if reachable else NO_ROUTE}
            )
    used = flows.sum(axis=0) if len(origins) else np.zeros(len(shelters), dtype=np.int64)
    people = sum(o.people for o in origins)
    return {
        "method": "最小费用运输问题（scipy HiGHS）：先安置尽可能多的人，再使总人·时最小",
        "people": people,
        "assigned": int(people - int(left.sum())) if len(origins) else 0,
        "unassigned_people": int(left.sum()) if len(origins) else 0,
        "origins": len(origins),
        "assignments": sorted(assignments, key=lambda a: (a["origin"]["name"], a["duration_s"])),
        "unassigned": unassigned,
        "shelters": [
            {
                "id": s.id,
                "name": s.name,
                "capacity": s.capacity,
                "assigned": int(used[j]),
                "remaining": s.capacity - int(used[j]),
            }
            for j, s in enumerate(shelters)
        ],
        "excluded_shelters": excluded,
    }


def _origin_json(o: Origin) -> dict[str, Any]:
    return {
        "layer": o.layer,
        "id": o.id,
        "name": o.name,
        "people": o.people,
        "township": o.township,
        "lonlat": list(o.lonlat),
    }


def _inside_m(router: Router, found: Any, inside: np.ndarray) -> float:
    net = router.net
    return float(sum(abs(f1 - f0) * float(net.seg_len[s]) for s, f0, f1 in found.pieces if inside[s]))


def _route_json(
    router: Router, found: Any, start: tuple[float, float], end: tuple[float, float], real: np.ndarray
) -> dict[str, Any]:
    """The route's GeoJSON and roads with real times (the search weighed the zone)."""
    route = router.assemble(list(found.pieces), found.duration_s, real)
    lonlat = router.net.to_lonlat(route.xy) if len(route.xy) else np.zeros((0, 2))
    line = np.vstack([[list(start)], lonlat, [list(end)]])
    return routes.route_summary(route, line)


def plan_for_bands(
    store: FeatureStore, svc: NetworkService, bands: Sequence[Any], *, vehicle: str | None = None
) -> dict[str, Any]:
    """:func:`plan` for the union of a zone's bands (anything with a ``geometry`` in lon/lat) with the bands' labels."""
    zone = shapely.union_all([b.geometry for b in bands])
    return {"bands": [b.label for b in bands], **plan(store, svc, zone, vehicle=vehicle)}


def incident_evacuation(
    store: FeatureStore,
    svc: NetworkService,
    incident_id: int,
    *,
    bands: Sequence[str] | None = None,
    vehicle: str | None = None,
) -> dict[str, Any]:
    """:func:`plan` for an incident's current zone (all its bands, or those named); 422 before a zone exists."""
    from safemap.api.services.warnings import choose_bands, incident_zone

    zone = incident_zone(store, incident_id)
    chosen = choose_bands(zone, list(bands) if bands else [b.label for b in zone.bands])
    return {"incident_id": incident_id, "zone_id": zone.zone_id, **plan_for_bands(store, svc, chosen, vehicle=vehicle)}


__all__ = ["INSIDE_FACTOR", "assign", "duration_text", "incident_evacuation", "plan", "plan_for_bands"]
