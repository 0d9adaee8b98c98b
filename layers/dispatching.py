"""Confirm, arrive and release dispatches atomically: one winner when two dispatchers send the same team.

A confirmation changes several tables in **one transaction**: each team's status goes
``available → dispatched`` by a conditional ``UPDATE … WHERE status = 'available'`` on a
row locked with ``SELECT … FOR UPDATE`` (PostGIS; GeoPackage serialises writers with
``BEGIN IMMEDIATE``), each depot's stock is reduced by ``UPDATE … WHERE quantity >= :q``,
and the ``dispatches`` rows are inserted. If any team is no longer available or any stock
is short, the whole transaction rolls back and :class:`~layers.errors.VersionConflict`
(HTTP 409) says who holds the team since when. The check is the database's, not Python's:
a second transaction waiting on the row lock re-reads the committed status and updates
nothing. Every change is audited and bumps the store's generation (live map updates).

Material allocation plans (物资分配方案) end in the same confirmation; their own writes are
here too: :func:`lock_draft` (a plan is edited only as a draft at the version the client saw),
:func:`write_rows` / :func:`delete_rows` (a computed plan's demands and flows),
:func:`set_flow_quantities` (hand edits checked against stock and demand).
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from shapely.geometry.base import BaseGeometry
from sqlalchemy import bindparam, delete, func, select, update

from safemap.layers.allocation_tables import ALLOCATION_STATUS
from safemap.layers.catalogue import Layer
from safemap.layers.errors import Problem, Unprocessable, VersionConflict
from safemap.layers.model import Actor, AuditEntry, Feature, utc_now
from safemap.layers.store import FeatureStore
from safemap.layers.transaction import Transaction
from safemap.layers.validation import validate_feature

ACTIVE = ("confirmed", "arrived")


@dataclass
class DispatchItem:
    """One resource to send: a team (``team_id``) or a depot's materials (``depot_id``).

    ``target`` (lon, lat) is where this item goes when it is not the incident itself: a
    material allocation plan sends each depot's load to its own demand point.
    """

    route: BaseGeometry
    team_id: int | None = None
    depot_id: int | None = None
    vehicle: str | None = None
    eta_s: float | None = None
    distance_m: float | None = None
    materials: list[tuple[str, str | None, float]] = field(default_factory=list)
    target: tuple[float, float] | None = None


def plan_number(now: dt.datetime, tz: dt.tzinfo) -> str:
    """The 调度单号 people read and say on the radio: local date and time plus three digits.

    ``20261202-013015-347``: when it was confirmed (in the store's zone) and a random suffix
    so two dispatchers confirming in the same second still get two numbers; never hex.
    """
    return f"{now.astimezone(tz):%Y%m%d-%H%M%S}-{secrets.randbelow(900) + 100}"


def confirm(
    store: FeatureStore,
    actor: Actor,
    incident: tuple[float, float],
    items: Sequence[DispatchItem],
    *,
    incident_id: int | None = None,
    note: str | None = None,
    on_commit: Callable[[Transaction, str, list[Feature]], None] | None = None,
) -> tuple[str, list[dict[str, Any]]]:
    """Commit a dispatch plan; return its batch id and the dispatch features written.

    Raises :class:`VersionConflict` (nothing written) when a team is not available any
    more or a depot no longer holds a requested quantity. ``incident_id`` links every
    dispatch to its incident (``dispatches.incident_id``); ``on_commit(tx, plan_id, rows)``
    runs inside the same transaction after the rows are written (the incident's timeline
    entry), so the dispatch and its record commit together or not at all.
    """
    now = utc_now()
    plan_id = plan_number(now, store.tz)
    layer = store.layer("dispatches")
    cleans = []
    for k, item in enumerate(items):
        resource = "rescue_teams" if item.team_id is not None else "material_depots"
        goal = incident if item.target is None else item.target
        props = {
            "name": f"{plan_id}-{k + 1}",
            "plan_id": plan_id,
            "incident_id": incident_id,
            "incident_lon": float(goal[0]),
            "incident_lat": float(goal[1]),
            "resource_layer": resource,
            "team_id": item.team_id,
            "depot_id": item.depot_id,
            "vehicle": item.vehicle,
            "status": "confirmed",
            "eta_s": None if item.eta_s is None else round(float(item.eta_s), 1),
            "distance_m": None if item.distance_m is None else round(float(item.distance_m), 1),
            "materials": _materials_text(item.materials) or None,
            "dispatcher": actor.name,
            "confirmed_at": now.isoformat(),
            "note": note,
            "source": f"调度确认（{actor.name}）",
        }
        feature = {"type": "Feature", "geometry": item.route.__geo_interface__, "properties": props}
        cleans.append(validate_feature(layer, feature, partial=False, extent=store.extent))
    teams = store.layer("rescue_teams")
    depots = store.layer("material_depots")
    with store.transaction() as tx:
        tx.check_references(layer, [c.properties for c in cleans])  # a dangling incident_id is refused
        team_audit: list[AuditEntry] = []
        for item in items:
            if item.team_id is None:
                continue
            before = tx.lock("rescue_teams", item.team_id)
            if not tx.update(
                "rescue_teams", item.team_id, {"status": "dispatched"}, only_if={"status": "available"}, now=now
            ):
                raise VersionConflict(_busy_message(tx, store, item.team_id, before), _problem("team_id", item))
            team_audit.append((item.team_id, before, tx.fetch(teams, item.team_id)))
        depot_audit: list[AuditEntry] = []
        for item in items:
            if item.depot_id is None:
                continue
            before = tx.lock("material_depots", item.depot_id)
            for name, _unit, qty in item.materials:
                _take(tx, item.depot_id, before, name, float(qty))
            tx.update("material_depots", item.depot_id, {}, now=now)
            depot_audit.append((item.depot_id, before, tx.fetch(depots, item.depot_id)))
        ids = tx.insert(layer, cleans, actor, now=now)
        written = tx.fetch_many(layer, ids)
        text = note or f"调度单号 {plan_id}"
        tx.record_audit(actor, "create", layer, [(i, None, written[i]) for i in ids], text)
        if team_audit:
            tx.record_audit(actor, "dispatch", teams, team_audit, text)
        if depot_audit:
            tx.record_audit(actor, "dispatch", depots, depot_audit, text)
        if on_commit is not None:
            on_commit(tx, plan_id, [written[i] for i in ids])
        tx.bump_generation()
    return plan_id, [written[i] for i in ids]


def set_status(
    store: FeatureStore, actor: Actor, dispatch_ids: Sequence[int], status: str, *, note: str | None = None
) -> list[dict[str, Any]]:
    """Mark dispatches ``arrived`` or ``released`` (a released team becomes available again).

    All or nothing: a dispatch already released (or, for ``arrived``, already arrived)
    is a 409 and nothing changes.
    """
    if status not in ("arrived", "released"):
        raise ValueError(status)
    layer = store.layer("dispatches")
    teams = store.layer("rescue_teams")
    allowed = ("confirmed",) if status == "arrived" else ACTIVE
    stamp = "arrived_at" if status == "arrived" else "released_at"
    now = utc_now()
    with store.transaction() as tx:
        t_disp = tx.table("dispatches")
        audit: list[tuple[int, Feature, Feature | None]] = []
        team_audit: list[AuditEntry] = []
        for did in dispatch_ids:
            before = tx.lock("dispatches", did)
            current = before["properties"]["status"]
            if not tx.update("dispatches", did, {"status": status, stamp: now}, only_if={"status": allowed}, now=now):
                label = _status_label(layer, current)
                message = f"调度记录 {did} 当前状态为“{label}”，不能改为“{_status_label(layer, status)}”"
                raise VersionConflict(message, [Problem("dispatch_ids", message)])
            audit.append((did, before, tx.fetch(layer, did)))
            team_id = before["properties"]["team_id"]
            if status == "released" and team_id is not None:
                team_before = tx.lock("rescue_teams", team_id)
                others = tx.execute(
                    select(func.count())
                    .select_from(t_disp)
                    .where(t_disp.c.team_id == team_id, t_disp.c.status.in_(ACTIVE))
                ).scalar_one()
                if others == 0 and tx.update(
                    "rescue_teams", team_id, {"status": "available"}, only_if={"status": "dispatched"}, now=now
                ):
                    team_audit.append((team_id, team_before, tx.fetch(teams, team_id)))
        action = "arrive" if status == "arrived" else "release"
        tx.record_audit(actor, action, layer, audit, note)
        if team_audit:
            tx.record_audit(actor, action, teams, team_audit, note)
        tx.bump_generation()
    return [after for _, _, after in audit if after is not None]


def active_dispatches(store: FeatureStore) -> list[dict[str, Any]]:
    """Dispatches still under way (confirmed or arrived), newest first."""
    page = store.query("dispatches", filters={"status": list(ACTIVE)}, limit=None, count=False)
    feats = page.features()
    feats.sort(key=lambda f: f["id"], reverse=True)
    return feats


def changes_since(
    store: FeatureStore, after_id: int, layers: Sequence[str] | None, limit: int = 500
) -> list[dict[str, Any]]:
    """Audit entries newer than ``after_id`` on the given layers (``None``: all), oldest first (for live updates)."""
    with store.transaction(readonly=True) as tx:
        a = tx.audit_table
        stmt = select(a.c.id, a.c.layer, a.c.feature_id, a.c.action, a.c.after, a.c.actor).where(a.c.id > after_id)
        if layers is not None:
            stmt = stmt.where(a.c.layer.in_(list(layers)))
        stmt = stmt.order_by(a.c.id).limit(limit)
        return [dict(r) for r in tx.execute(stmt).mappings()]


def latest_audit_id(store: FeatureStore) -> int:
    """Id of the newest audit entry (0 when there is none)."""
    with store.transaction(readonly=True) as tx:
        a = tx.audit_table
        return int(tx.execute(select(func.coalesce(func.max(a.c.id), 0))).scalar_one())


def fingerprint(store: FeatureStore, layers: Sequence[str]) -> tuple[Any, ...]:
    """A value that changes whenever a feature of these layers is created, edited or deleted.

    Per layer: count, max id, sum of versions, latest edit time.
    """
    out: list[Any] = []
    with store.transaction(readonly=True) as tx:
        for name in layers:
            t = tx.table(name)
            row = tx.execute(
                select(func.count(), func.max(t.c.id), func.sum(t.c.version), func.max(t.c.updated_at))
            ).one()
            out.append(tuple(row))
    return tuple(out)


# ---------------------------------------------------------------------- allocation plans (api/services/allocation.py)
def lock_draft(tx: Transaction, plan_id: int, version: int) -> Feature:
    """Lock the plan at ``version`` (409 naming who wrote it when stale) and check it is still a draft."""
    before = tx.lock_version(tx.layer("allocation_plans"), plan_id, version)
    status = before["properties"]["status"]
    if status != "draft":
        why = f"物资分配方案 {plan_id} 状态为“{ALLOCATION_STATUS.label(status)}”，不能再修改"
        raise VersionConflict(why, [Problem("version", why)])
    return before


def delete_rows(tx: Transaction, plan_id: int) -> None:
    """Remove the plan's flows and demands (before it is computed again)."""
    for name in ("allocation_flows", "allocation_demands"):
        t = tx.table(name)
        tx.execute(delete(t).where(t.c.plan_id == plan_id))


def write_rows(
    tx: Transaction,
    actor: Actor,
    plan_id: int,
    demands: Sequence[Mapping[str, Any]],
    flows: Sequence[Mapping[str, Any]],
    shortfalls: Sequence[Mapping[str, Any]],
    summary: Mapping[str, Any],
    now: dt.datetime,
) -> None:
    """Insert demands (``lonlat``) and flows (``row`` = index into demands, ``geometry``); set the summary."""
    cleans = []
    for d in demands:
        props = {k: d[k] for k in ("name", "item", "unit", "quantity", "priority", "settlement_id", "township")}
        props.update(plan_id=plan_id, served=d["served"], unmet=d["unmet"], source=f"物资分配方案 {plan_id}")
        feat = {"type": "Feature", "geometry": {"type": "Point", "coordinates": list(d["lonlat"])}, "properties": props}
        cleans.append(validate_feature(tx.layer("allocation_demands"), feat, partial=False, extent=None))
    ids = tx.insert(tx.layer("allocation_demands"), cleans, actor, now=now)
    # served/unmet are computed: validation keeps them out of the insert, so they are set here in one statement.
    t = tx.table("allocation_demands")
    if ids:
        tx.execute(
            update(t)
            .where(t.c.id == bindparam("b_id"))
            .values(served=bindparam("b_served"), unmet=bindparam("b_unmet")),
            # executemany: Transaction.execute passes a list of parameter sets straight to SQLAlchemy.
            [{"b_id": i, "b_served": d["served"], "b_unmet": d["unmet"]} for i, d in zip(ids, demands, strict=True)],  # type: ignore[arg-type]
        )
    fcleans = []
    for f in flows:
        props = {k: f[k] for k in ("depot_id", "item", "unit", "quantity", "eta_s", "distance_m")}
        props.update(
            name=f"{f['depot_name']} → {demands[f['row']]['name']}",
            plan_id=plan_id,
            demand_id=ids[f["row"]],
            edited=False,
            source=f"物资分配方案 {plan_id}",
        )
        feat = {"type": "Feature", "geometry": f["geometry"], "properties": props}
        fcleans.append(validate_feature(tx.layer("allocation_flows"), feat, partial=False, extent=None))
    tx.insert(tx.layer("allocation_flows"), fcleans, actor, now=now)
    shorts = [{**s, "demand_id": ids[s["row"]]} for s in shortfalls]
    tx.set_values("allocation_plans", plan_id, {**summary, "shortfalls": json.dumps(shorts, ensure_ascii=False)})


def set_flow_quantities(tx: Transaction, plan_id: int, changes: Sequence[tuple[int, float]], now: dt.datetime) -> None:
    """Set flow quantities by hand (0 removes the flow), checked against stock and demand; refresh served."""
    t = tx.table("allocation_flows")
    rows = {int(r["id"]): dict(r) for r in tx.execute(select(t).where(t.c.plan_id == plan_id)).mappings()}
    for n, (fid, qty) in enumerate(changes):
        if fid not in rows:
            msg = f"调拨明细 {fid} 不属于物资分配方案 {plan_id}"
            raise Unprocessable(msg, [Problem(f"flows.{n}.id", msg)])
        rows[fid]["quantity"] = float(qty)
    _check_stock(tx, rows)
    _check_demand(tx, rows, plan_id)
    for fid, qty in changes:
        if qty <= 1e-9:
            tx.execute(delete(t).where(t.c.id == fid))
        else:
            tx.update("allocation_flows", fid, {"quantity": float(qty), "edited": True}, now=now)
    refresh_served(tx, plan_id)


def _check_stock(tx: Transaction, rows: Mapping[int, Mapping[str, Any]]) -> None:
    sent: dict[tuple[int, str], float] = {}
    for r in rows.values():
        sent[(r["depot_id"], r["item"])] = sent.get((r["depot_id"], r["item"]), 0.0) + r["quantity"]
    inv = tx.child_table("material_depots", "inventory")
    for (depot, item), qty in sent.items():
        have = tx.execute(
            select(func.coalesce(func.sum(inv.c.quantity), 0.0)).where(inv.c.parent_id == depot, inv.c.item == item)
        ).scalar_one()
        if qty > float(have) + 1e-9:
            found = tx.fetch("material_depots", depot)
            name = found["properties"]["name"] if found else f"储备库 {depot}"
            msg = f"{name}的“{item}”库存仅 {float(have):g}，调拨合计 {qty:g} 超出库存"
            raise Unprocessable(msg, [Problem("flows", msg)])


def _check_demand(tx: Transaction, rows: Mapping[int, Mapping[str, Any]], plan_id: int) -> None:
    got: dict[int, float] = {}
    for r in rows.values():
        got[r["demand_id"]] = got.get(r["demand_id"], 0.0) + r["quantity"]
    d = tx.table("allocation_demands")
    for did, name, item, want in tx.execute(
        select(d.c.id, d.c.name, d.c.item, d.c.quantity).where(d.c.plan_id == plan_id)
    ).all():
        if got.get(did, 0.0) > want + 1e-9:
            msg = f"需求点“{name}”的“{item}”需求 {want:g}，调拨合计 {got[did]:g} 超出需求"
            raise Unprocessable(msg, [Problem("flows", msg)])


def refresh_served(tx: Transaction, plan_id: int) -> None:
    """Recompute each demand's served/unmet and the plan's totals from its flows."""
    t, d = tx.table("allocation_flows"), tx.table("allocation_demands")
    got: dict[int, float] = {}
    for did, qty in tx.execute(select(t.c.demand_id, t.c.quantity).where(t.c.plan_id == plan_id)).all():
        got[did] = got.get(did, 0.0) + qty
    shipped = unmet = 0.0
    for did, qty in tx.execute(select(d.c.id, d.c.quantity).where(d.c.plan_id == plan_id)).all():
        served = got.get(did, 0.0)
        tx.set_values("allocation_demands", did, {"served": served, "unmet": max(0.0, qty - served)})
        shipped, unmet = shipped + served, unmet + max(0.0, qty - served)
    tx.set_values("allocation_plans", plan_id, {"shipped_total": shipped, "unmet_total": unmet})


# ---------------------------------------------------------------------- internals
def _status_label(layer: Layer, code: str) -> str:
    enum = layer.field("status").enum
    assert enum is not None
    return str(enum.label(code))  # as the f-string showed it: None as "None"


def _busy_message(tx: Transaction, store: FeatureStore, team_id: int, before: Feature) -> str:
    name = before["properties"].get("name") or f"队伍 {team_id}"
    label = _status_label(store.layer("rescue_teams"), before["properties"].get("status"))
    t = tx.table("dispatches")
    row = tx.execute(
        select(t.c.dispatcher, t.c.confirmed_at, t.c.plan_id)
        .where(t.c.team_id == team_id, t.c.status.in_(ACTIVE))
        .order_by(t.c.id.desc())
        .limit(1)
    ).first()
    if row is not None:
        when = row[1].astimezone(store.tz).strftime("%H:%M:%S") if isinstance(row[1], dt.datetime) else ""
        return f"{name}已被 {row[0]} 于 {when} 派出（调度单号 {row[2]}），当前状态：{label}；请刷新方案后改派其他队伍"
    return f"{name}当前状态为“{label}”，不能派出；请刷新方案后改派其他队伍"


def _take(tx: Transaction, depot_id: int, before: Feature, item: str, qty: float) -> None:
    inv = tx.child_table("material_depots", "inventory")
    row = tx.execute(
        select(inv.c.id, inv.c.quantity)
        .where(inv.c.parent_id == depot_id, inv.c.item == item)
        .order_by(inv.c.quantity.desc())
        .limit(1)
    ).first()
    name = before["properties"].get("name") or f"储备库 {depot_id}"
    if row is None:
        message = f"{name}没有“{item}”库存"
        raise VersionConflict(message, [Problem("materials", message)])
    done = tx.execute(
        update(inv).where(inv.c.id == row[0], inv.c.quantity >= qty).values(quantity=inv.c.quantity - qty)
    )
    if done.rowcount != 1:
        message = f"{name}的“{item}”库存不足：现有 {row[1]:g}，需调拨 {qty:g}；请刷新方案"
        raise VersionConflict(message, [Problem("materials", message)])


def _problem(what: str, item: DispatchItem) -> list[Problem]:
    return [Problem(what, f"编号 {item.team_id if what == 'team_id' else item.depot_id} 不可派出")]


def _materials_text(materials: Sequence[tuple[str, str | None, float]]) -> str:
    return "；".join(f"{name} {qty:g}{unit or ''}" for name, unit, qty in materials)
