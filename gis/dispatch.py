"""Dispatch planning: rank available teams by real travel time and match materials across depots.

* Each team is timed for the vehicle it would send: the vehicle the need asks for, else
  the team's lead vehicle for its kind (a fire station sends a water tender first, a
  hazmat team its hazmat unit, …). Teams are grouped by that vehicle so one search per
  vehicle profile times them all (towards the incident, on the reversed graph).
* With a hazard zone the searches go round the zone and enter it only for the final
  approach, preferring the upwind side (:mod:`gis.approach`).
* Materials: the depots that together hold the requested quantities with the earliest
  *complete* delivery. Sorting depots by delivery time, the first prefix that covers
  every item has the smallest possible latest arrival (any covering set contains a
  depot at least that late); within it, items are taken from the nearest depots first
  and depots left with nothing to send are dropped.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from safemap.gis.approach import Approach, approach
from safemap.gis.routes import Leg, LonLat, many_to_one, snap_usable
from safemap.gis.routing import NoRoute, Restrictions, Route, Router, Vehicle

#: Vehicle a team sends first, by team kind, when the need names none.
LEAD_VEHICLE: dict[str, tuple[str, ...]] = {
    "fire_station": ("fire_engine", "foam_engine", "rescue"),
    "professional_fire": ("fire_engine", "foam_engine", "rescue"),
    "enterprise_brigade": ("foam_engine", "fire_engine", "rescue"),
    "forest_fire": ("fire_engine", "materials_truck", "command"),
    "hazmat": ("hazmat", "foam_engine", "rescue"),
    "mine_rescue": ("mine_rescue", "rescue", "ambulance"),
    "medical": ("ambulance",),
    "volunteer": ("rescue", "command", "materials_truck"),
}


@dataclass(frozen=True)
class Team:
    """An available team: id, name, kind, position (lon, lat) and vehicles ``{profile: count}``."""

    id: int
    name: str
    kind: str
    lonlat: LonLat
    vehicles: Mapping[str, int]


@dataclass(frozen=True)
class Need:
    """``count`` teams of any of ``kinds``; ``vehicle`` if a particular vehicle must come."""

    kinds: tuple[str, ...]
    count: int = 1
    vehicle: str | None = None


@dataclass(frozen=True)
class Hazard:
    """A hazard zone in the network's metric CRS and the wind (direction it blows from, degrees)."""

    zone_xy: Any
    wind_from_deg: float | None = None
    upwind_penalty_s: float = 300.0


@dataclass
class Candidate:
    """One team considered for a need, with its ETA for the vehicle it would send."""

    team: Team
    need: int
    vehicle: str | None
    travel_s: float
    eta_s: float
    route: Route | None = None
    reasons: list[str] = field(default_factory=list)
    approach: dict[str, Any] | None = None
    selected: bool = False


def lead_vehicle(team: Team, need: Need) -> str | None:
    """The vehicle ``team`` would send for ``need`` (``None`` if it has none that fits)."""
    have = {p for p, n in team.vehicles.items() if n > 0}
    if need.vehicle is not None:
        return need.vehicle if need.vehicle in have else None
    for code in LEAD_VEHICLE.get(team.kind, ()):
        if code in have:
            return code
    return sorted(have)[0] if have else None


def rank_teams(
    router: Router,
    incident: LonLat,
    teams: Sequence[Team],
    needs: Sequence[Need],
    vehicles: Mapping[str, Vehicle],
    *,
    restrictions: Restrictions | None = None,
    hazard: Hazard | None = None,
    turnout_s: float = 0.0,
    alternatives: int = 3,
) -> list[list[Candidate]]:
    """For each need, its candidate teams by ETA; the first ``count`` not taken by an earlier need are selected.

    Routes are built for the selected teams and ``alternatives`` more per need.
    ``eta_s`` is ``turnout_s`` (seconds to get rolling) plus the travel time.
    """
    pairs: dict[str, list[Team]] = {}
    wanted: list[list[tuple[Team, str | None]]] = []
    for need in needs:
        rows = []
        for team in teams:
            if team.kind not in need.kinds:
                continue
            code = lead_vehicle(team, need)
            rows.append((team, code))
            if code is not None and code in vehicles:
                pairs.setdefault(code, [])
                if team not in pairs[code]:
                    pairs[code].append(team)
        wanted.append(rows)
    timed: dict[tuple[int, str], tuple[float, Any]] = {}
    for code, group in pairs.items():
        for team, (cost, handle) in zip(
            group, _time_group(router, incident, group, vehicles[code], restrictions, hazard), strict=True
        ):
            timed[(team.id, code)] = (cost, handle)
    taken: set[int] = set()
    out: list[list[Candidate]] = []
    for k, (need, rows) in enumerate(zip(needs, wanted, strict=True)):
        cands: list[tuple[Candidate, Any]] = []
        for team, code in rows:
            cost, handle = timed.get((team.id, code), (np.inf, None)) if code else (np.inf, None)
            cand = Candidate(team, k, code, cost, cost + turnout_s)
            if code is None:
                cand.reasons = [f"无{need.vehicle or '可派'}车辆"]
            elif code not in vehicles:
                cand.reasons = [f"车辆类型 {code} 不在车辆参数表中"]
            cands.append((cand, handle))
        cands.sort(key=lambda ch: (ch[0].travel_s, ch[0].team.id))
        picked = 0
        for cand, _ in cands:
            if picked < need.count and cand.team.id not in taken and math.isfinite(cand.travel_s):
                cand.selected = True
                taken.add(cand.team.id)
                picked += 1
        spare = alternatives
        for cand, handle in cands:
            if not cand.selected:
                if spare <= 0:
                    continue
                spare -= 1
            if handle is not None:
                _finish(cand, handle, turnout_s)
        out.append([c for c, _ in cands])
    return out


def _time_group(
    router: Router,
    incident: LonLat,
    group: Sequence[Team],
    vehicle: Vehicle,
    restrictions: Restrictions | None,
    hazard: Hazard | None,
) -> list[tuple[float, Any]]:
    if hazard is None:
        legs = many_to_one(router, [t.lonlat for t in group], incident, vehicle, restrictions)
        return [(leg.duration_s, leg) for leg in legs]
    snaps, cost = snap_usable(router, [incident, *[t.lonlat for t in group]], vehicle, restrictions, 5000.0)
    if snaps[0] is None:
        legs = many_to_one(router, [t.lonlat for t in group], incident, vehicle, restrictions)
        return [(leg.duration_s, leg) for leg in legs]
    plan = approach(
        router,
        snaps[0],
        cost,
        hazard.zone_xy,
        wind_from_deg=hazard.wind_from_deg,
        upwind_penalty_s=hazard.upwind_penalty_s,
    )
    out: list[tuple[float, Any]] = []
    for snap in snaps[1:]:
        if snap is None or not math.isfinite(plan.cost(snap)):
            out.append((np.inf, None))
            continue
        found = plan.route(snap)
        out.append((found.duration_s, (plan, found)))
    return out


def _finish(cand: Candidate, handle: Any, turnout_s: float) -> None:
    if isinstance(handle, Leg):
        try:
            cand.route = handle.route()
        except NoRoute as exc:
            cand.reasons = exc.reasons
        return
    plan, found = handle
    assert isinstance(plan, Approach)
    cand.route = found
    cand.travel_s = found.duration_s
    cand.eta_s = found.duration_s + turnout_s
    cand.approach = plan.describe(found)


def leg_reasons(leg: Leg) -> list[str]:
    """Why a leg has no route."""
    try:
        leg.route()
    except NoRoute as exc:
        return exc.reasons
    return []


# ---------------------------------------------------------------------- materials
@dataclass
class MaterialPlan:
    """Which depot sends what, when everything has arrived, and what is still missing."""

    allocations: list[dict[str, Any]]
    depots: list[int]
    complete_s: float | None
    shortfall: dict[str, float]


def match_materials(
    delivery_s: Mapping[int, float],
    inventories: Mapping[int, Sequence[tuple[str, str, float]]],
    requests: Sequence[tuple[str, float]],
) -> MaterialPlan:
    """Allocate requested items to depots for the earliest complete delivery.

    Parameters
    ----------
    delivery_s
        Depot id -> delivery time in seconds (``inf``: unreachable).
    inventories
        Depot id -> ``(item, unit, quantity)`` rows.
    requests
        ``(item, quantity)`` pairs; items are matched by exact name.

    Returns
    -------
    MaterialPlan
        ``complete_s`` is the latest arrival among the depots used (``None`` if some item
        cannot be covered at all: then ``shortfall`` names what is missing and the
        allocation is the best partial one).
    """
    need: dict[str, float] = {}
    for item, qty in requests:
        need[item] = need.get(item, 0.0) + float(qty)
    order = sorted((d for d in delivery_s if math.isfinite(delivery_s[d])), key=lambda d: (delivery_s[d], d))
    stock = {d: _stock(inventories.get(d, ())) for d in order}
    held = dict.fromkeys(need, 0.0)
    prefix = len(order)
    for k, d in enumerate(order):
        for item in need:
            held[item] += stock[d].get(item, (None, 0.0))[1]
        if all(held[i] >= need[i] - 1e-9 for i in need):
            prefix = k + 1
            break
    allocations: list[dict[str, Any]] = []
    left = dict(need)
    for d in order[:prefix]:
        for item in need:
            unit, have = stock[d].get(item, (None, 0.0))
            take = min(have, left[item])
            if take > 1e-9:
                left[item] -= take
                allocations.append(
                    {"depot_id": d, "item": item, "unit": unit, "quantity": take, "delivery_s": delivery_s[d]}
                )
    used = sorted({a["depot_id"] for a in allocations}, key=lambda d: (delivery_s[d], d))
    shortfall = {i: q for i, q in left.items() if q > 1e-9}
    complete = max((delivery_s[d] for d in used), default=0.0) if not shortfall else None
    return MaterialPlan(allocations, used, complete, shortfall)


def _stock(rows: Sequence[tuple[str, str, float]]) -> dict[str, tuple[str, float]]:
    out: dict[str, tuple[str, float]] = {}
    for item, unit, qty in rows:
        prev = out.get(item, (unit, 0.0))
        out[item] = (prev[0], prev[1] + float(qty or 0.0))
    return out
