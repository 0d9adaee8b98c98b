"""Dispatch against the store: plan (teams and depots ranked by travel time), confirm, arrive, release.

:func:`plan` reads the available teams (with their vehicles) and the depots (with
inventories), runs :mod:`safemap.gis.dispatch` on the cached network and writes nothing.
:func:`confirm` and :func:`set_status` write through :mod:`safemap.layers.dispatching`
(all or nothing; a team taken meanwhile is a ``VersionConflict``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import shapely
from shapely.geometry import LineString, Point, shape
from shapely.geometry.base import BaseGeometry

from safemap.api.services import experts
from safemap.api.services.dispatch_origins import POSITION_FRESH_S, live_note, live_origins
from safemap.api.services.network import NetworkService
from safemap.api.services.problems import bad
from safemap.api.services.routing import RouteOptions, route_json
from safemap.gis import routes
from safemap.gis.dispatch import Hazard, Need, Team, match_materials, rank_teams
from safemap.gis.routing import NoRoute, Router
from safemap.layers import dispatching, labels
from safemap.layers.enums import TEAM_KIND, VEHICLE_PROFILE
from safemap.layers.errors import Problem, VersionConflict
from safemap.layers.model import Actor
from safemap.layers.store import FeatureStore


@dataclass(frozen=True)
class NeedInput:
    """Teams wanted: any of ``kinds``, ``count`` of them, optionally with one vehicle type."""

    kinds: tuple[str, ...]
    count: int = 1
    vehicle: str | None = None


@dataclass(frozen=True)
class MaterialInput:
    """A material wanted, by its inventory name, and the quantity (in the depot's unit)."""

    item: str
    quantity: float


@dataclass(frozen=True)
class HazardInput:
    """Hazard zone around the incident (a radius in metres or a lon/lat polygon) and the wind."""

    radius_m: float | None = None
    zone: BaseGeometry | None = None
    wind_from_deg: float | None = None
    upwind_penalty_s: float = 300.0


@dataclass(frozen=True)
class PlanInput:
    """What a dispatch plan is asked for.

    Attributes
    ----------
    incident, incident_id
        The incident's ``[lon, lat]``, or its id in the ``incidents`` layer.
    needs, materials
        Teams and materials wanted.
    hazard
        Zone to approach from upwind, if any.
    turnout_s, loading_s
        Preparation time of teams, loading time of materials (seconds).
    alternatives
        Extra candidates listed per need.
    options
        Closures and avoid areas; ``options.vehicle`` carries the materials.
    """

    incident: tuple[float, float] | None = None
    incident_id: int | None = None
    needs: tuple[NeedInput, ...] = ()
    materials: tuple[MaterialInput, ...] = ()
    hazard: HazardInput | None = None
    turnout_s: float = 0.0
    loading_s: float = 0.0
    alternatives: int = 3
    options: RouteOptions = field(default_factory=lambda: RouteOptions(vehicle="materials_truck"))
    incident_kind: str | None = None


@dataclass(frozen=True)
class TeamOrder:
    """A team to send, with what the plan said (``route``: a GeoJSON LineString, lon/lat)."""

    team_id: int
    vehicle: str | None = None
    eta_s: float | None = None
    distance_m: float | None = None
    route: dict[str, Any] | None = None


@dataclass(frozen=True)
class DepotOrder:
    """Materials to take from one depot."""

    depot_id: int
    materials: tuple[MaterialInput, ...]
    eta_s: float | None = None
    distance_m: float | None = None
    route: dict[str, Any] | None = None


@dataclass(frozen=True)
class ConfirmInput:
    """The chosen teams and depots of a dispatch (committed all or nothing)."""

    incident: tuple[float, float] | None = None
    incident_id: int | None = None
    teams: tuple[TeamOrder, ...] = ()
    depots: tuple[DepotOrder, ...] = ()
    note: str | None = None


def incident_point(store: FeatureStore, lonlat: Sequence[float] | None, incident_id: int | None) -> tuple[float, float]:
    """The incident position from the body, or from the ``incidents`` layer."""
    if lonlat is not None:
        return float(lonlat[0]), float(lonlat[1])
    if incident_id is None:
        raise bad("incident", "请给出事发地坐标 incident 或事件编号 incident_id", 422)
    feature = store.get("incidents", incident_id)
    geom = shape(feature["geometry"])
    return float(geom.x), float(geom.y)


def available_teams(store: FeatureStore, live: dict[int, dict[str, Any]] | None = None) -> list[Team]:
    """Teams whose status is ``available``, with their vehicles, at their live position when fresh."""
    page = store.query("rescue_teams", filters={"status": ["available"]}, limit=None, count=False)
    live = live or {}
    return [
        Team(
            int(row["id"]),
            row["name"],
            row["kind"],
            live[int(row["id"])]["lonlat"] if int(row["id"]) in live else (float(g.x), float(g.y)),
            {v["profile"]: int(v["count"]) for v in row.get("vehicles", [])},
        )
        for row, g in zip(page.rows, page.geometries, strict=True)
    ]


def plan(
    store: FeatureStore, svc: NetworkService, body: PlanInput, *, position_fresh_s: float = POSITION_FRESH_S
) -> dict[str, Any]:
    """Rank teams for each need and match materials across depots (nothing is stored).

    Parameters
    ----------
    store
        The feature store.
    svc
        The network cache.
    body
        The incident, needs, materials, hazard and routing options.
    position_fresh_s
        Rescue vehicles with a live position younger than this (seconds) start from it.

    Returns
    -------
    dict
        ``incident``, ``hazard`` (its zone), ``needs`` (ranked candidates with routes) and
        ``materials`` (depots, allocations, shortfall) or ``None``, and ``experts`` to call
        by the incident's kind (the stored incident's, else ``incident_kind``) or ``None``.
    """
    incident = incident_point(store, body.incident, body.incident_id)
    zone_used = None
    if body.incident_id is not None and body.hazard is None:
        body, zone_used = _incident_hazard(store, body)
    router = svc.router(store)
    vehicles = svc.vehicles(store)
    restr = body.options.restrictions()
    hazard, zone_lonlat = _hazard(router, incident, body)
    needs = [Need(tuple(n.kinds), n.count, n.vehicle) for n in body.needs]
    live = live_origins(store, position_fresh_s)
    ranked = rank_teams(
        router,
        incident,
        available_teams(store, live),
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
                "from_live": live_note(live.get(c.team.id), store),
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
        "hazard": None
        if zone_lonlat is None
        else {"zone": shapely.geometry.mapping(zone_lonlat), "incident_zone": zone_used},
        "needs": out_needs,
        "materials": _materials(store, svc, router, incident, body) if body.materials else None,
        "experts": _experts(store, incident, body),
    }


def _experts(store: FeatureStore, incident: tuple[float, float], body: PlanInput) -> dict[str, Any] | None:
    """Experts by the incident's kind: the stored incident's kind wins over one sent with the plan."""
    kind = body.incident_kind
    if body.incident_id is not None:
        rows = store.query("incidents", ids=[body.incident_id], limit=1, count=False, children=False).rows
        kind = rows[0].get("kind") if rows else kind
    return None if kind is None else experts.offered(store, kind, incident)


def _incident_hazard(store: FeatureStore, body: PlanInput) -> tuple[PlanInput, dict[str, Any] | None]:
    """``body`` with the incident's current stored zone as its hazard (routes avoid it, approach upwind)."""
    from safemap.api.services import incident_zones

    assert body.incident_id is not None
    current = incident_zones.current_zone(store, body.incident_id)
    if current is None:
        return body, None
    hazard = HazardInput(
        radius_m=100.0,  # the zone must touch the incident within this distance (a plume starts at it)
        zone=shape(current["outline"]),
        wind_from_deg=current["wind_from_deg"],
    )
    return replace(body, hazard=hazard), incident_zones.summary(current)


def _hazard(router: Router, incident: tuple[float, float], body: PlanInput) -> tuple[Hazard | None, Any]:
    h = body.hazard
    if h is None or (h.radius_m is None and h.zone is None):
        return None, None
    if h.zone is not None:
        zone_ll = h.zone
        zone_xy = shapely.transform(zone_ll, lambda c: router.net.to_xy(c))
        if not zone_xy.intersects(Point(router.net.to_xy(np.array([incident]))[0]).buffer(h.radius_m or 1.0)):
            raise bad("hazard.zone", "危险区多边形应包含事发地", 422)
    else:
        centre = router.net.to_xy(np.array([incident]))[0]
        zone_xy = Point(centre).buffer(float(h.radius_m or 0.0), quad_segs=16)
        zone_ll = shapely.transform(zone_xy, lambda c: router.net.to_lonlat(c))
    return Hazard(zone_xy, h.wind_from_deg, h.upwind_penalty_s), zone_ll


def _materials(
    store: FeatureStore, svc: NetworkService, router: Router, incident: tuple[float, float], body: PlanInput
) -> dict[str, Any]:
    page = store.query("material_depots", limit=None, count=False)
    depots = {int(r["id"]): (r, g) for r, g in zip(page.rows, page.geometries, strict=True)}
    truck = svc.vehicles(store).get(body.options.vehicle)
    if truck is None:
        raise bad("vehicle", f"车辆参数表中没有 {body.options.vehicle!r}", 422)
    ids = list(depots)
    legs = routes.many_to_one(
        router, [(depots[d][1].x, depots[d][1].y) for d in ids], incident, truck, body.options.restrictions()
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


def confirm(store: FeatureStore, actor: Actor, body: ConfirmInput) -> dict[str, Any]:
    """Commit the chosen teams and depots in one transaction.

    Parameters
    ----------
    store
        The feature store.
    actor
        Who dispatches (recorded in the audit log).
    body
        Incident, teams and depots with what the plan said about them.

    Returns
    -------
    dict
        ``plan_id`` and the ``dispatches`` written.

    Raises
    ------
    Unprocessable
        A team or depot does not exist, or a route is not a line.
    VersionConflict
        A team is not available any more (nothing is written).
    """
    incident = incident_point(store, body.incident, body.incident_id)
    items = []
    for k, t in enumerate(body.teams):
        start = _position(store, "rescue_teams", t.team_id, f"teams.{k}.team_id")
        items.append(
            dispatching.DispatchItem(
                _line(t.route, start, incident, f"teams.{k}.route"),
                team_id=t.team_id,
                vehicle=t.vehicle,
                eta_s=t.eta_s,
                distance_m=t.distance_m,
            )
        )
    for k, d in enumerate(body.depots):
        start = _position(store, "material_depots", d.depot_id, f"depots.{k}.depot_id")
        items.append(
            dispatching.DispatchItem(
                _line(d.route, start, incident, f"depots.{k}.route"),
                depot_id=d.depot_id,
                vehicle="materials_truck",
                eta_s=d.eta_s,
                distance_m=d.distance_m,
                materials=[(m.item, None, m.quantity) for m in d.materials],
            )
        )
    on_commit = None
    if body.incident_id is not None:
        from safemap.api.services import incidents

        if incidents.get(store, body.incident_id)["properties"]["status"] == "closed":
            why = f"事件 {body.incident_id} 已结束，不能再调度"
            raise VersionConflict(why, [Problem("incident_id", why)])

        def on_commit(tx: Any, plan_id: str, rows: list[dict[str, Any]]) -> None:
            names = [_dispatch_text(store, r) for r in rows]
            incidents.record_event(
                tx,
                body.incident_id,
                "dispatch",
                f"调度单号 {plan_id}：" + "；".join(names),
                actor,
                f"dispatches:{plan_id}",
            )

    plan_id, rows = dispatching.confirm(
        store, actor, incident, items, incident_id=body.incident_id, note=body.note, on_commit=on_commit
    )
    return {"plan_id": plan_id, "dispatches": rows}


def _dispatch_text(store: FeatureStore, row: dict[str, Any]) -> str:
    p = row["properties"]
    layer = p.get("resource_layer") or "rescue_teams"
    fid = p.get("team_id") or p.get("depot_id")
    found = store.query(layer, ids=[fid], limit=1, count=False, children=False).rows if fid else []
    name = found[0]["name"] if found else f"{store.layer(layer).label} {fid}"
    eta = f"，预计 {durations(p.get('eta_s'))} 到达" if p.get("eta_s") is not None else ""
    what = f"（{p['materials']}）" if p.get("materials") else ""
    return f"{name}{what}{eta}"


def durations(seconds: float | None) -> str:
    """Seconds as 分秒 (``12分05秒``) for the timeline: the one shared :func:`labels.duration_text`."""
    return labels.duration_text(seconds)


def set_status(
    store: FeatureStore,
    actor: Actor,
    status: str,
    *,
    dispatch_ids: Sequence[int] = (),
    team_ids: Sequence[int] = (),
    note: str | None = None,
) -> dict[str, Any]:
    """Mark dispatches ``arrived`` or ``released``, named by id or by their team's id.

    Raises
    ------
    VersionConflict
        A team has no active dispatch, or a dispatch is already in that state (nothing changes).
    """
    ids = list(dispatch_ids)
    if team_ids:
        active = {f["properties"]["team_id"]: f["id"] for f in dispatching.active_dispatches(store)}
        missing = [t for t in team_ids if t not in active]
        if missing:
            raise VersionConflict(
                f"队伍 {', '.join(map(str, missing))} 没有进行中的调度",
                [Problem("team_ids", f"队伍 {t} 没有进行中的调度") for t in missing],
            )
        ids += [active[t] for t in team_ids]
    rows = dispatching.set_status(store, actor, sorted(set(ids)), status, note=note)
    return {"dispatches": rows}


def _position(store: FeatureStore, layer: str, fid: int, field: str) -> tuple[float, float]:
    page = store.query(layer, ids=[fid], limit=1, count=False, children=False)
    if not page.rows:
        raise bad(field, f"{store.layer(layer).label}中没有编号为 {fid} 的要素", 422)
    g = page.geometries[0]
    return float(g.x), float(g.y)


def _line(value: dict[str, Any] | None, start: tuple[float, float], end: tuple[float, float], field: str) -> Any:
    try:
        return route_line(value, start, end)
    except (ValueError, TypeError, AttributeError) as exc:
        raise bad(field, str(exc), 422) from None


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
