"""Dispatch planning against the store: teams and depots ranked by travel time, materials matched.

Reads the available teams (with their vehicles) and the depots (with inventories), runs
:mod:`gis.dispatch` on the cached network, and writes nothing: confirmation is
:func:`layers.dispatching.confirm`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import shapely
from shapely.geometry import LineString, Point, shape

from safemap.api.http.models import PlanRequest, polygon_from_geojson
from safemap.api.http.params import bad
from safemap.api.http.routers.route import restrictions_of, route_json
from safemap.api.services.network import NetworkService
from safemap.gis import routes
from safemap.gis.dispatch import Hazard, Need, Team, match_materials, rank_teams
from safemap.gis.routing import NoRoute, Router
from safemap.layers.enums import TEAM_KIND, VEHICLE_PROFILE
from safemap.layers.store import FeatureStore


def incident_point(store: FeatureStore, lonlat: list[float] | None, incident_id: int | None) -> tuple[float, float]:
    """The incident position from the body, or from the ``incidents`` layer."""
    if lonlat is not None:
        return float(lonlat[0]), float(lonlat[1])
    if incident_id is None:
        raise bad("incident", "请给出事发地坐标 incident 或事件编号 incident_id", 422)
    feature = store.get("incidents", incident_id)
    geom = shape(feature["geometry"])
    return float(geom.x), float(geom.y)


def available_teams(store: FeatureStore) -> list[Team]:
    """Teams whose status is ``available``, with their vehicles."""
    page = store.query("rescue_teams", filters={"status": ["available"]}, limit=None, count=False)
    return [
        Team(
            int(row["id"]),
            row["name"],
            row["kind"],
            (float(g.x), float(g.y)),
            {v["profile"]: int(v["count"]) for v in row.get("vehicles", [])},
        )
        for row, g in zip(page.rows, page.geometries, strict=True)
    ]


def plan(store: FeatureStore, svc: NetworkService, body: PlanRequest) -> dict[str, Any]:
    """Rank teams for each need and match materials across depots (nothing is stored)."""
    incident = incident_point(store, body.incident, body.incident_id)
    router = svc.router(store)
    vehicles = svc.vehicles(store)
    restr = restrictions_of(body)
    hazard, zone_lonlat = _hazard(router, incident, body)
    needs = [Need(tuple(n.kinds), n.count, n.vehicle) for n in body.needs]
    ranked = rank_teams(
        router,
        incident,
        available_teams(store),
        needs,
        vehicles,
        restrictions=restr,
        hazard=hazard,
        turnout_s=body.turnout_s,
        alternatives=body.alternatives,
    )
    out_needs = []
    for need, cands in zip(body.needs, ranked, strict=True):
        shown = [c for c in cands if c.selected or c.route is not None or c.reasons]
        rows = []
        for c in shown:
            row: dict[str, Any] = {
                "team_id": c.team.id,
                "name": c.team.name,
                "kind": c.team.kind,
                "kind_label": TEAM_KIND.label(c.team.kind),
                "vehicle": c.vehicle,
                "vehicle_label": VEHICLE_PROFILE.label(c.vehicle) if c.vehicle else None,
                "selected": c.selected,
                "travel_s": _num(c.travel_s),
                "eta_s": _num(c.eta_s),
                "reasons": c.reasons,
                "approach": c.approach,
            }
            if c.route is not None:
                row.update(route_json(router, c.route, list(c.team.lonlat), list(incident)))
                row["eta_s"] = _num(c.eta_s)
            rows.append(row)
        picked = sum(c.selected for c in cands)
        out_needs.append(
            {
                "kinds": list(need.kinds),
                "count": need.count,
                "vehicle": need.vehicle,
                "found": picked,
                "shortfall": need.count - picked,
                "candidates": rows,
            }
        )
    return {
        "incident": {"lon": incident[0], "lat": incident[1], "incident_id": body.incident_id},
        "hazard": None if zone_lonlat is None else {"zone": shapely.geometry.mapping(zone_lonlat)},
        "needs": out_needs,
        "materials": _materials(store, svc, router, incident, body) if body.materials else None,
    }


def _hazard(router: Router, incident: tuple[float, float], body: PlanRequest) -> tuple[Hazard | None, Any]:
    h = body.hazard
    if h is None or (h.radius_m is None and h.zone is None):
        return None, None
    if h.zone is not None:
        zone_ll = polygon_from_geojson(h.zone)
        zone_xy = shapely.transform(zone_ll, lambda c: router.net.to_xy(c))
        if not zone_xy.intersects(Point(router.net.to_xy(np.array([incident]))[0]).buffer(h.radius_m or 1.0)):
            raise bad("hazard.zone", "危险区多边形应包含事发地", 422)
    else:
        centre = router.net.to_xy(np.array([incident]))[0]
        zone_xy = Point(centre).buffer(float(h.radius_m or 0.0), quad_segs=16)
        zone_ll = shapely.transform(zone_xy, lambda c: router.net.to_lonlat(c))
    return Hazard(zone_xy, h.wind_from_deg, h.upwind_penalty_s), zone_ll


def _materials(
    store: FeatureStore, svc: NetworkService, router: Router, incident: tuple[float, float], body: PlanRequest
) -> dict[str, Any]:
    page = store.query("material_depots", limit=None, count=False)
    depots = {int(r["id"]): (r, g) for r, g in zip(page.rows, page.geometries, strict=True)}
    truck = svc.vehicles(store).get(body.vehicle)
    if truck is None:
        raise bad("vehicle", f"车辆参数表中没有 {body.vehicle!r}", 422)
    ids = list(depots)
    legs = routes.many_to_one(
        router, [(depots[d][1].x, depots[d][1].y) for d in ids], incident, truck, restrictions_of(body)
    )
    delivery = {d: leg.duration_s + body.loading_s for d, leg in zip(ids, legs, strict=True)}
    inventories = {
        d: [(i["item"], i["unit"], float(i["quantity"])) for i in depots[d][0].get("inventory", [])] for d in ids
    }
    result = match_materials(delivery, inventories, [(m.item, m.quantity) for m in body.materials])
    by_depot = dict(zip(ids, legs, strict=True))
    rows = []
    for d in result.depots:
        leg = by_depot[d]
        row: dict[str, Any] = {
            "depot_id": d,
            "name": depots[d][0]["name"],
            "delivery_s": _num(delivery[d]),
            "vehicle": truck.code,
            "items": [
                {"item": a["item"], "unit": a["unit"], "quantity": a["quantity"]}
                for a in result.allocations
                if a["depot_id"] == d
            ],
        }
        try:
            found = leg.route()
            row.update(route_json(router, found, [depots[d][1].x, depots[d][1].y], list(incident)))
        except NoRoute as exc:
            row["reasons"] = exc.reasons
        rows.append(row)
    known = sorted({i for inv in inventories.values() for i, _, _ in inv})
    unknown = [m.item for m in body.materials if m.item not in known]
    return {
        "depots": rows,
        "complete_s": _num(result.complete_s),
        "shortfall": result.shortfall,
        "unknown_items": unknown,
    }


def route_line(value: dict[str, Any] | None, start: tuple[float, float], end: tuple[float, float]) -> LineString:
    """The route a confirmation carries (GeoJSON LineString), or a straight line start → end."""
    if value is None:
        return LineString([start, end])
    if value.get("type") != "LineString":
        raise ValueError("route 应为 GeoJSON LineString")
    line = shape(value)
    if len(line.coords) < 2 or line.is_empty:
        raise ValueError("route 至少需要两个点")
    return line


def _num(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), 1)
