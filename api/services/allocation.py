"""Material allocation plans (物资分配方案) for a large emergency: compute, store, edit, confirm, cancel.

:func:`compute` reads the depots with their inventories and the unit weights, times every
depot → demand point with **one** network search per depot (``routes.one_to_many``), builds
the arrays of :mod:`safemap.gis.allocation` and explains every shortfall in Chinese.

Truck capacity model: each depot can send ``trucks`` × ``trips`` loads of ``payload_t``
tonnes within the horizon (defaults 2 × 1 × 8 t: a 9.6 m two-axle box truck, GB 1589-2016
表3 caps its gross mass at 18 t; its kerb mass is about 10 t, so ≈ 8 t payload 【未核实】;
``vehicle_profiles`` has no payload column). An item's mass comes from ``material_weights``
(kg per unit); items counted in t or kg weigh what they say; items without a weight take no
capacity and the plan says so.

Items match by name, insensitive to full-width characters, spaces and case (NFKC): ``救灾帐篷(12m²)``
is ``救灾帐篷（12 m²）``; kg and t convert both ways.

Confirmation writes ``dispatches`` rows (one per depot → demand point, its materials listed)
through :func:`layers.dispatching.confirm`: the dispatch panel, the 调度单 and the stock
reservation (``UPDATE … WHERE quantity >= :q``) are shared with ordinary dispatch, and the
plan's status changes in the same transaction. A plan of an incident that has ended is refused.
"""

from __future__ import annotations

import json
import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from shapely.geometry import LineString, shape

from safemap.api.reports import allocation as explain
from safemap.api.services.network import NetworkService
from safemap.api.services.problems import bad
from safemap.api.services.routing import RouteOptions, check_in_area, route_json, vehicle_of
from safemap.gis import allocation as lp
from safemap.gis import routes
from safemap.gis.routing import NoRoute
from safemap.layers import dispatching, labels
from safemap.layers.errors import Problem, VersionConflict
from safemap.layers.model import Actor, utc_now
from safemap.layers.store import FeatureStore
from safemap.layers.validation import validate_feature

MASS_UNITS = {"t": 1000.0, "吨": 1000.0, "kg": 1.0, "千克": 1.0, "公斤": 1.0}
#: Units a load can be split in; everything else (顶, 台, 床, 箱 …) is sent in whole units.
DIVISIBLE_UNITS = {*MASS_UNITS, "l", "升", "m³", "m3", "立方米"}


@dataclass(frozen=True)
class DemandInput:
    """One demand row: a point, an item and its quantity (in ``unit``), priority 1 (最高) … 3."""

    name: str
    lonlat: tuple[float, float]
    item: str
    quantity: float
    unit: str | None = None
    priority: int = 2
    settlement_id: int | None = None
    township: str | None = None


@dataclass(frozen=True)
class PlanInput:
    """What a plan is computed from (times in seconds, payload in tonnes)."""

    name: str
    demands: tuple[DemandInput, ...]
    incident_id: int | None = None
    note: str | None = None
    vehicle: str = "materials_truck"
    trucks: int = 2
    trips: int = 1
    payload_t: float = 8.0
    time_limit_s: float | None = None
    loading_s: float = 0.0
    closed_roads: tuple[int, ...] = ()


@dataclass
class Computed:
    """A computed plan before it is stored."""

    demands: list[dict[str, Any]]
    flows: list[dict[str, Any]]
    summary: dict[str, Any]
    shortfalls: list[dict[str, Any]] = field(default_factory=list)


def norm(name: str) -> str:
    """An item name as the matcher compares it: NFKC, no whitespace, case folded."""
    return "".join(unicodedata.normalize("NFKC", name).split()).casefold()


def unit_factor(given: str | None, stocked: str | None) -> float | None:
    """Factor from ``given`` to ``stocked`` units (1 when equal or unknown; ``None`` when incompatible)."""
    a, b = norm(given or ""), norm(stocked or "")
    if not a or not b or a == b:
        return 1.0
    if a in MASS_UNITS and b in MASS_UNITS:
        return MASS_UNITS[a] / MASS_UNITS[b]
    return None


def _depots(store: FeatureStore) -> list[tuple[dict[str, Any], Any]]:
    page = store.query("material_depots", limit=None, count=False)
    return list(zip(page.rows, page.geometries, strict=True))


def _weights(store: FeatureStore) -> dict[str, float]:
    rows = store.query("material_weights", limit=None, count=False, children=False).rows
    return {norm(r["name"]): float(r["kg_per_unit"]) for r in rows if r.get("kg_per_unit") is not None}


def compute(store: FeatureStore, svc: NetworkService, body: PlanInput) -> Computed:
    """Solve the plan for ``body`` on the current stock and network (nothing is written).

    Raises
    ------
    Unprocessable
        No demand, a demand's unit does not match the stock's, or an unknown vehicle.
    """
    if not body.demands:
        raise bad("demands", "请至少添加一个需求点", 422)
    for k, d in enumerate(body.demands):
        check_in_area(store.extent, f"demands.{k}.lonlat", d.lonlat)
    depots = _depots(store)
    # Items: one index per normalised name; unit and display name from the first depot holding it.
    items: dict[str, int] = {}
    item_unit: list[str | None] = []
    item_name: list[str] = []
    depot_names: list[dict[int, str]] = []  # per item: depot index → its own spelling (for the confirm)
    for d in body.demands:
        key = norm(d.item)
        if key not in items:
            items[key] = len(items)
            item_unit.append(None)
            item_name.append(d.item.strip())
            depot_names.append({})
    stock = np.zeros((len(depots), len(items)))
    for i, (row, _) in enumerate(depots):
        for inv in row.get("inventory", []):
            k = items.get(norm(inv["item"]))
            if k is None:
                continue
            if item_unit[k] is None:
                item_unit[k], item_name[k] = inv.get("unit"), inv["item"]
            factor = unit_factor(inv.get("unit"), item_unit[k]) or 0.0  # an incompatible unit is not this item
            stock[i, k] += float(inv.get("quantity") or 0.0) * factor
            depot_names[k].setdefault(i, inv["item"])
    quantity = np.zeros(len(body.demands))
    units: list[str | None] = []
    for j, d in enumerate(body.demands):
        k = items[norm(d.item)]
        factor = unit_factor(d.unit, item_unit[k])
        if factor is None:
            raise bad(
                f"demands.{j}.unit",
                f"第{j + 1}项需求“{d.item}”的单位“{d.unit}”与库存单位“{item_unit[k]}”不一致，无法换算",
                422,
            )
        quantity[j] = d.quantity * factor
        units.append(item_unit[k] or d.unit)
    # Points: each distinct position once; one search per depot to all of them.
    points: dict[tuple[float, float], int] = {}
    for d in body.demands:
        points.setdefault((round(d.lonlat[0], 7), round(d.lonlat[1], 7)), len(points))
    plist = list(points)
    vehicle = vehicle_of(store, svc, body.vehicle)
    router = svc.router(store)
    restr = RouteOptions(vehicle=body.vehicle, closed_roads=body.closed_roads).restrictions()
    legs = [routes.one_to_many(router, (float(g.x), float(g.y)), plist, vehicle, restr) for _, g in depots]
    time_s = np.array([[leg.duration_s + body.loading_s for leg in row] for row in legs]).reshape(
        len(depots), len(plist)
    )
    weights = _weights(store)
    unit_kg = np.array(
        [MASS_UNITS.get(norm(item_unit[k] or ""), weights.get(norm(item_name[k]), math.nan)) for k in range(len(items))]
    )
    cap = body.trucks * body.trips * body.payload_t
    problem = lp.AllocationProblem(
        row_item=np.array([items[norm(d.item)] for d in body.demands]),
        row_point=np.array([points[(round(d.lonlat[0], 7), round(d.lonlat[1], 7))] for d in body.demands]),
        quantity=quantity,
        weight=np.array([lp.weight_of(d.priority) for d in body.demands]),
        stock=stock,
        time_s=time_s,
        unit_kg=unit_kg,
        capacity_t=np.full(len(depots), float(cap)),
        time_limit_s=body.time_limit_s,
        integral=np.array([norm(u or "") not in DIVISIBLE_UNITS for u in item_unit]),
    )
    result = lp.solve(problem)
    served = np.zeros(len(body.demands))
    flows = []
    for f in result.flows:
        served[f.row] += f.quantity
        leg = legs[f.depot][int(problem.row_point[f.row])]
        drow, dgeom = depots[f.depot]
        end = plist[int(problem.row_point[f.row])]
        try:
            info = route_json(router, leg.route(), [dgeom.x, dgeom.y], list(end))
            geometry, distance = info["geometry"], info["distance_m"]
        except NoRoute:
            geometry, distance = LineString([(dgeom.x, dgeom.y), end]).__geo_interface__, None
        k = int(problem.row_item[f.row])
        flows.append(
            {
                "row": f.row,
                "depot_id": int(drow["id"]),
                "depot_name": drow["name"],
                "item": depot_names[k].get(f.depot, item_name[k]),
                "unit": units[f.row],
                "quantity": round(f.quantity, 6),
                "eta_s": round(f.time_s, 1),
                "distance_m": distance,
                "geometry": geometry,
            }
        )
    demands = [
        {
            "name": d.name,
            "lonlat": d.lonlat,
            "item": d.item.strip(),
            "unit": units[j],
            "quantity": float(quantity[j]),
            "priority": d.priority,
            "settlement_id": d.settlement_id,
            "township": d.township,
            "served": round(float(served[j]), 6),
            "unmet": round(float(result.unmet[j]), 6),
        }
        for j, d in enumerate(body.demands)
    ]
    ctx = explain.Context(depots, problem, item_name, units, legs, plist, body.time_limit_s, weights, cap)
    shortfalls = [explain.shortfall(ctx, s, demands[s.row], result) for s in result.shortfalls]
    summary = {
        "demand_total": float(quantity.sum()),
        "shipped_total": float(served.sum()),
        "unmet_total": float(result.unmet.sum()),
        "weighted_unmet": round(result.weighted_unmet, 6),
        "latest_eta_s": max((f["eta_s"] for f in flows), default=None),
        "solve_ms": round(result.solve_s * 1000.0, 1),
        "computed_at": utc_now(),
    }
    return Computed(demands, flows, summary, shortfalls)


# ---------------------------------------------------------------------- storage
def _plan_props(body: PlanInput, actor: Actor) -> dict[str, Any]:
    return {
        "name": body.name,
        "status": "draft",
        "incident_id": body.incident_id,
        "note": body.note,
        "created_by": actor.name,
        "vehicle": body.vehicle,
        "trucks": body.trucks,
        "trips": body.trips,
        "payload_t": body.payload_t,
        "time_limit_s": body.time_limit_s,
        "loading_s": body.loading_s,
        "source": f"物资分配方案（{actor.name}）",
    }


def create(store: FeatureStore, svc: NetworkService, actor: Actor, body: PlanInput) -> dict[str, Any]:
    """Compute and store a draft plan; return it as :func:`get` does."""
    computed = compute(store, svc, body)
    layer = store.layer("allocation_plans")
    clean = validate_feature(
        layer,
        {"type": "Feature", "geometry": None, "properties": _plan_props(body, actor)},
        partial=False,
        extent=None,
    )
    now = utc_now()
    with store.transaction() as tx:
        tx.check_references(layer, [clean.properties])
        plan_id = tx.insert(layer, [clean], actor, now=now)[0]
        dispatching.write_rows(
            tx, actor, plan_id, computed.demands, computed.flows, computed.shortfalls, computed.summary, now
        )
        after = tx.fetch(layer, plan_id)
        tx.record_audit(actor, "create", layer, [(plan_id, None, after)], f"物资分配方案 {body.name}")
        tx.bump_generation()
    return get(store, plan_id)


def replace(
    store: FeatureStore, svc: NetworkService, actor: Actor, plan_id: int, version: int, body: PlanInput
) -> dict[str, Any]:
    """Re-optimise a draft with new demands/parameters (409 when ``version`` is stale or it is not a draft)."""
    computed = compute(store, svc, body)
    layer = store.layer("allocation_plans")
    now = utc_now()
    with store.transaction() as tx:
        before = dispatching.lock_draft(tx, plan_id, version)
        props = {k: v for k, v in _plan_props(body, actor).items() if k not in ("status", "created_by", "source")}
        clean = validate_feature(
            layer, {"type": "Feature", "geometry": None, "properties": props}, partial=True, extent=None
        )
        tx.check_references(layer, [clean.properties])
        dispatching.delete_rows(tx, plan_id)
        tx.update("allocation_plans", plan_id, tx.storage_values(layer, clean.properties), now=now)
        dispatching.write_rows(
            tx, actor, plan_id, computed.demands, computed.flows, computed.shortfalls, computed.summary, now
        )
        tx.record_audit(actor, "update", layer, [(plan_id, before, tx.fetch(layer, plan_id))], "重新计算物资分配方案")
        tx.bump_generation()
    return get(store, plan_id)


def plan_input(store: FeatureStore, plan_id: int) -> tuple[PlanInput, int]:
    """The stored plan's inputs (to re-optimise on today's stock) and its version."""
    plan = get(store, plan_id)
    p = plan["plan"]
    demands = tuple(
        DemandInput(
            *(d["name"], tuple(f["geometry"]["coordinates"][:2]), d["item"], float(d["quantity"]), d["unit"]),
            *(int(d["priority"]), d.get("settlement_id"), d.get("township")),
        )
        for f in plan["demands"]["features"]
        for d in [f["properties"]]
    )
    defaults = PlanInput("", ())
    body = PlanInput(
        *(p["name"], demands, p.get("incident_id"), p.get("note"), p.get("vehicle") or defaults.vehicle),
        *(defaults.trucks if p.get("trucks") is None else int(p["trucks"]), int(p.get("trips") or 1)),
        *(defaults.payload_t if p.get("payload_t") is None else float(p["payload_t"]), p.get("time_limit_s")),
        float(p.get("loading_s") or 0.0),
    )
    return body, int(p["version"])


def get(store: FeatureStore, plan_id: int) -> dict[str, Any]:
    """The plan, its demands and flows (GeoJSON) and its shortfalls; 404 when absent."""
    plan = store.get("allocation_plans", plan_id)
    props = dict(plan["properties"])
    props["id"] = plan["id"]
    shorts = json.loads(props.pop("shortfalls") or "[]")
    status_enum = store.layer("allocation_plans").field("status").enum
    assert status_enum is not None
    props["status_label"] = status_enum.label(props["status"])
    demands = store.query("allocation_demands", filters={"plan_id": [plan_id]}, limit=None, count=False).features()
    flows = store.query("allocation_flows", filters={"plan_id": [plan_id]}, limit=None, count=False).features()
    for f in flows:
        f["properties"]["eta_text"] = labels.duration_text(f["properties"].get("eta_s"))
    collection = lambda feats: {"type": "FeatureCollection", "features": feats}  # noqa: E731
    return {"plan": props, "demands": collection(demands), "flows": collection(flows), "shortfalls": shorts}


def list_plans(store: FeatureStore, limit: int = 200) -> list[dict[str, Any]]:
    """Plans, newest first (without their rows)."""
    rows = store.query("allocation_plans", limit=None, count=False, children=False).rows
    rows.sort(key=lambda r: r["id"], reverse=True)
    return [{k: v for k, v in r.items() if k != "shortfalls"} for r in rows[:limit]]


def edit_flows(
    store: FeatureStore, actor: Actor, plan_id: int, version: int, changes: Sequence[tuple[int, float]]
) -> dict[str, Any]:
    """Set flow quantities by hand; a flow at 0 is removed. Stock and demand are checked (422).

    Raises
    ------
    VersionConflict
        ``version`` is stale, or the plan is not a draft.
    Unprocessable
        A flow is not of this plan, a depot would send more than it holds, or a point would
        get more than it asked for.
    """
    layer = store.layer("allocation_plans")
    now = utc_now()
    with store.transaction() as tx:
        before = dispatching.lock_draft(tx, plan_id, version)
        dispatching.set_flow_quantities(tx, plan_id, changes, now)
        tx.update("allocation_plans", plan_id, {}, now=now)
        tx.record_audit(actor, "update", layer, [(plan_id, before, tx.fetch(layer, plan_id))], "人工调整调拨数量")
        tx.bump_generation()
    return get(store, plan_id)


def confirm(store: FeatureStore, actor: Actor, plan_id: int, version: int) -> dict[str, Any]:
    """Reserve the stock of every flow and write the dispatches, all or nothing.

    Raises
    ------
    VersionConflict
        The plan changed since ``version``, is not a draft, or a depot no longer holds a
        flow's quantity (the message names the depot and the item); nothing is written.
    """
    plan = get(store, plan_id)
    if int(plan["plan"]["version"]) != version or plan["plan"]["status"] != "draft":
        with store.transaction() as tx:
            dispatching.lock_draft(tx, plan_id, version)  # raises the stale-version 409 with who wrote it
    flows, incident_id = plan["flows"]["features"], plan["plan"].get("incident_id")
    if incident_id and store.get("incidents", int(incident_id))["properties"]["status"] == "closed":
        why = f"事件 {incident_id} 已结束，不能再调拨物资"
        raise VersionConflict(why, [Problem("incident_id", why)])
    if not flows:
        raise bad("flows", "方案中没有调拨明细，无需确认", 422)
    demands = {f["id"]: f for f in plan["demands"]["features"]}
    units = {int(r["id"]): {i["item"]: i.get("unit") for i in r.get("inventory", [])} for r, _ in _depots(store)}
    groups: dict[tuple[int, Any], list[dict[str, Any]]] = {}
    for f in flows:
        p = f["properties"]
        point = tuple(demands[p["demand_id"]]["geometry"]["coordinates"])
        groups.setdefault((p["depot_id"], point), []).append(f)
    items = []
    for (depot_id, _), group in groups.items():
        first = group[0]["properties"]
        target = demands[first["demand_id"]]["geometry"]["coordinates"]
        materials = []
        for f in group:
            p = f["properties"]
            factor = unit_factor(p["unit"], units.get(depot_id, {}).get(p["item"])) or 1.0
            materials.append((p["item"], units.get(depot_id, {}).get(p["item"]), float(p["quantity"]) * factor))
        longest = max(group, key=lambda f: len(f["geometry"]["coordinates"]))
        items.append(
            dispatching.DispatchItem(
                shape(longest["geometry"]),
                depot_id=depot_id,
                vehicle=plan["plan"].get("vehicle") or "materials_truck",
                eta_s=max(f["properties"].get("eta_s") or 0.0 for f in group),
                distance_m=first.get("distance_m"),
                materials=materials,
                target=(float(target[0]), float(target[1])),
            )
        )
    layer = store.layer("allocation_plans")

    def on_commit(tx: Any, dispatch_plan: str, rows: list[dict[str, Any]]) -> None:
        before = dispatching.lock_draft(tx, plan_id, version)
        now = utc_now()
        tx.update(
            "allocation_plans",
            plan_id,
            {"status": "confirmed", "confirmed_by": actor.name, "confirmed_at": now, "dispatch_plan_id": dispatch_plan},
            now=now,
        )
        tx.record_audit(
            actor, "confirm", layer, [(plan_id, before, tx.fetch(layer, plan_id))], f"调度单号 {dispatch_plan}"
        )
        if plan["plan"].get("incident_id"):  # the incident's timeline says what went where, in the same transaction
            from safemap.api.services import incidents

            text = f"物资分配方案 {plan_id}（{plan['plan']['name']}）确认，调度单号 {dispatch_plan}：{len(rows)} 车次"
            incidents.record_event(
                tx, plan["plan"]["incident_id"], "dispatch", text, actor, f"dispatches:{dispatch_plan}"
            )

    first_point = tuple(next(iter(demands.values()))["geometry"]["coordinates"])
    dispatching.confirm(
        store,
        actor,
        (float(first_point[0]), float(first_point[1])),
        items,
        incident_id=plan["plan"].get("incident_id"),
        note=f"物资分配方案 {plan_id}：{plan['plan']['name']}",
        on_commit=on_commit,
    )
    return get(store, plan_id)


def cancel(store: FeatureStore, actor: Actor, plan_id: int, version: int) -> dict[str, Any]:
    """Cancel a draft (a confirmed plan's stock is returned through the dispatch records, not here)."""
    layer = store.layer("allocation_plans")
    with store.transaction() as tx:
        before = dispatching.lock_draft(tx, plan_id, version)
        tx.update("allocation_plans", plan_id, {"status": "cancelled"})
        tx.record_audit(actor, "cancel", layer, [(plan_id, before, tx.fetch(layer, plan_id))], "取消物资分配方案")
        tx.bump_generation()
    return get(store, plan_id)


def inventory_items(store: FeatureStore) -> list[dict[str, Any]]:
    """Every inventory item: name, unit, total stock, depots holding it, kg per unit (for the item picker)."""
    weights = _weights(store)
    out: dict[str, dict[str, Any]] = {}
    for row, _ in _depots(store):
        for inv in row.get("inventory", []):
            key = norm(inv["item"])
            entry = out.setdefault(
                key,
                {
                    "item": inv["item"],
                    "unit": inv.get("unit"),
                    "quantity": 0.0,
                    "depots": 0,
                    "kg_per_unit": MASS_UNITS.get(norm(inv.get("unit") or ""), weights.get(key)),
                },
            )
            entry["quantity"] += float(inv.get("quantity") or 0.0)
            entry["depots"] += 1
    return sorted(out.values(), key=lambda e: e["item"])
