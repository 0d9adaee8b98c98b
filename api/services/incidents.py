"""The incident lifecycle: 接警 → 核实 → 处置中 → 结束, notes, and the timeline of everything.

Every write goes through one :meth:`FeatureStore.transaction` (all or nothing), is audited
like any layer edit, bumps the store's generation (so every open map hears of it through
``GET /api/events``) and appends a row to ``incident_events`` — the timeline.

Status rules (:func:`set_status`): a status only moves **forward** along
``reported (接警) → verified (核实) → responding (处置中) → controlled (已控制) → closed (结束)``.
Skipping forward is allowed — a team may roll before the call is verified, and a false
alarm goes straight from 接警 to 结束 — and the timeline says which steps were skipped.
Going back, or "changing" to the same status, is a 409 with the reason in Chinese; a
closed incident is final (a wrongly closed one is re-registered, its record kept).

Other modules (warnings, evacuation, dispatch) put their entries on the timeline with
:func:`record_event`, inside their own transaction when they have one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from shapely.geometry import Point
from sqlalchemy import select

from safemap.api.services.incident_location import Located, parse_coordinates, place_location
from safemap.api.services.problems import invalid
from safemap.layers import labels
from safemap.layers.enums import INCIDENT_EVENT_KIND, INCIDENT_KIND, INCIDENT_STATUS
from safemap.layers.errors import FeatureNotFound, Problem, VersionConflict
from safemap.layers.model import Actor, Feature, utc_now
from safemap.layers.store import FeatureStore
from safemap.layers.transaction import Transaction
from safemap.layers.validation import validate_feature

#: The lifecycle order; a change must go to a later status.
STATUS_ORDER: dict[str, int] = {"reported": 0, "verified": 1, "responding": 2, "controlled": 3, "closed": 4}
ACTIVE_STATUSES = tuple(c for c in STATUS_ORDER if c != "closed")


@dataclass(frozen=True)
class IncidentInput:
    """What a 接警 records. Exactly one of ``location``, ``location_text``, ``place`` is given.

    Attributes
    ----------
    kind
        An ``incident_kind`` code or its Chinese label.
    location
        ``(lon, lat)`` in degrees (WGS 84).
    location_text, crs
        Typed coordinates (decimal or 度分秒) and their CRS (``WGS84`` or ``CGCS2000``).
    place
        ``{"layer": …, "id": …}`` or ``{"layer": …, "name": …}``.
    reported_at
        When the call came in; naive times are in the store's zone; ``None``: now.
    quantity_t
        Estimated quantity released or involved, tonnes.
    """

    kind: str
    location: tuple[float, float] | None = None
    location_text: str | None = None
    crs: str = "WGS84"
    place: dict[str, Any] | None = None
    name: str | None = None
    enterprise_id: int | None = None
    hazard_source_id: int | None = None
    substance: str | None = None
    quantity_t: float | None = None
    reporter: str | None = None
    phone: str | None = None
    reported_at: dt.datetime | str | None = None
    description: str | None = None
    severity: str | None = None


# ---------------------------------------------------------------------------- codes
def kind_code(value: str) -> str:
    """The ``incident_kind`` code of a code or a Chinese label; 422 naming ``kind`` otherwise."""
    return _code(INCIDENT_KIND, value, "kind")


def status_code(value: str) -> str:
    """The ``incident_status`` code of a code or a Chinese label; 422 naming ``status`` otherwise."""
    return _code(INCIDENT_STATUS, value, "status")


def _code(enum: Any, value: str, field: str) -> str:
    text = (value or "").strip()
    for m in enum.members:
        if text in (m.code, m.label):
            return str(m.code)
    raise invalid(field, f"应为 {enum.describe()} 之一，收到“{value}”")


def parse_statuses(value: str | None) -> list[str] | None:
    """Statuses from ``?status=``: codes or labels, comma separated; ``active`` = not closed."""
    if value is None or not value.strip():
        return None
    out: list[str] = []
    for part in value.replace("，", ",").split(","):
        part = part.strip()
        if not part:
            continue
        if part in ("active", "进行中", "未结束"):
            out += [c for c in ACTIVE_STATUSES if c not in out]
        else:
            code = status_code(part)
            if code not in out:
                out.append(code)
    return out


# ---------------------------------------------------------------------------- reading
def local(value: Any, tz: dt.tzinfo) -> Any:
    """A stored datetime as an ISO string in ``tz``; anything else unchanged."""
    if isinstance(value, dt.datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return aware.astimezone(tz).isoformat(timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def present(feature: Feature, tz: dt.tzinfo) -> dict[str, Any]:
    """An incident feature for people: local times, Chinese labels beside the codes."""
    props = {k: local(v, tz) for k, v in feature["properties"].items()}
    props["kind_label"] = INCIDENT_KIND.label(props.get("kind"))
    props["status_label"] = INCIDENT_STATUS.label(props.get("status"))
    return {"type": "Feature", "id": feature["id"], "geometry": feature["geometry"], "properties": props}


def get(store: FeatureStore, incident_id: int) -> Feature:
    """The stored incident; :class:`FeatureNotFound` (404) in Chinese when there is none."""
    page = store.query("incidents", ids=[incident_id], limit=1, count=False)
    if not page.rows:
        raise FeatureNotFound(f"没有编号为 {incident_id} 的事件")
    return page.features()[0]


def list_incidents(store: FeatureStore, statuses: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Incidents (newest report first), optionally only those in ``statuses`` (codes)."""
    filters = None if statuses is None else {"status": list(statuses)}
    page = store.query("incidents", filters=filters, limit=None, count=False)
    feats = [present(f, store.tz) for f in page.features()]
    feats.sort(key=lambda f: (str(f["properties"].get("reported_at") or ""), f["id"]), reverse=True)
    return feats


def location_of(feature: Feature) -> tuple[float, float]:
    """The incident's ``(lon, lat)``."""
    lon, lat = feature["geometry"]["coordinates"][:2]
    return float(lon), float(lat)


# ---------------------------------------------------------------------------- timeline
def record_event(
    store_or_tx: FeatureStore | Transaction,
    incident_id: int,
    kind: str,
    text: str,
    actor: Actor | str,
    ref: str | None = None,
    *,
    at: dt.datetime | None = None,
) -> int:
    """Append an entry to an incident's timeline; return its id.

    Public for the other incident modules (warnings, evacuation, dispatch): call it with the
    :class:`~safemap.layers.transaction.Transaction` of the write it records so both commit
    or neither does; with a store it opens its own transaction. The entry is audited, so it
    reaches every open map as an ``incident_events`` event.

    Parameters
    ----------
    store_or_tx
        A store (own transaction) or an open write transaction.
    incident_id
        The incident; :class:`FeatureNotFound` when it does not exist.
    kind
        An ``incident_event_kind`` code: created, status, note, zone, dispatch, warning,
        evacuation, other.
    text
        What happened, in Chinese, ≤ 4000 characters.
    actor
        Who did it (an :class:`Actor` or a name).
    ref
        What the entry refers to, e.g. ``incident_zones:3``, ``dispatches:12``, ``warnings:5``.
    at
        When (UTC); default now.
    """
    if kind not in INCIDENT_EVENT_KIND.codes:
        raise ValueError(f"unknown timeline kind {kind!r}")
    who = actor if isinstance(actor, Actor) else Actor(str(actor), "system")
    if isinstance(store_or_tx, FeatureStore):
        with store_or_tx.transaction() as tx:
            return _record(tx, incident_id, kind, text, who, ref, at)
    return _record(store_or_tx, incident_id, kind, text, who, ref, at)


def _record(
    tx: Transaction, incident_id: int, kind: str, text: str, actor: Actor, ref: str | None, at: dt.datetime | None
) -> int:
    if tx.fetch("incidents", incident_id) is None:
        raise FeatureNotFound(f"没有编号为 {incident_id} 的事件")
    layer = tx.layer("incident_events")
    when = at or utc_now()
    props = {
        "name": f"{INCIDENT_EVENT_KIND.label(kind)}·事件{incident_id}",
        "incident_id": incident_id,
        "at": when.isoformat(),
        "kind": kind,
        "actor": actor.name[:100],
        "text": text[:4000],
        "ref": ref,
        "source": "事件处置记录",
    }
    clean = validate_feature(
        layer, {"type": "Feature", "geometry": None, "properties": props}, partial=False, extent=None
    )
    (eid,) = tx.insert(layer, [clean], actor, now=when)
    tx.record_audit(actor, "create", layer, [(eid, None, tx.fetch(layer, eid))], text[:200])
    tx.bump_generation()
    return eid


def timeline(store: FeatureStore, incident_id: int) -> list[dict[str, Any]]:
    """Everything that happened to an incident, oldest first: ``at``, ``actor``, ``kind``, ``text``, ``ref``."""
    get(store, incident_id)
    with store.transaction(readonly=True) as tx:
        t = tx.table("incident_events")
        rows = tx.execute(
            select(t.c.id, t.c.at, t.c.actor, t.c.kind, t.c.text, t.c.ref)
            .where(t.c.incident_id == incident_id)
            .order_by(t.c.at, t.c.id)
        ).mappings()
        out = [dict(r) for r in rows]
    return [
        {
            "id": r["id"],
            "at": local(r["at"], store.tz),
            "actor": r["actor"],
            "kind": r["kind"],
            "kind_label": INCIDENT_EVENT_KIND.label(r["kind"]),
            "text": r["text"],
            "ref": r["ref"],
        }
        for r in out
    ]


# ---------------------------------------------------------------------------- writing
def locate(store: FeatureStore, body: IncidentInput) -> Located:
    """Where the incident is, from whichever of location / location_text / place was given."""
    given = [k for k in ("location", "location_text", "place") if getattr(body, k) is not None]
    if len(given) != 1:
        raise invalid("location", "请给出且只给出一种位置：location [经度, 纬度]、location_text 或 place")
    if body.location is not None:
        found = Located(float(body.location[0]), float(body.location[1]))
    elif body.location_text is not None:
        try:
            lon, lat, notes = parse_coordinates(body.location_text, body.crs, store.extent)
        except ValueError as exc:
            raise invalid("location_text", str(exc)) from None
        found = Located(lon, lat, text=body.location_text.strip(), notes=notes)
    else:
        place = body.place or {}
        found = place_location(store, str(place.get("layer")), place.get("id"), place.get("name"))
    ext = store.extent
    if ext is not None and not (ext[0] <= found.lon <= ext[2] and ext[1] <= found.lat <= ext[3]):
        field = "location_text" if body.location_text is not None else "location"
        raise invalid(
            field,
            f"位置（经度 {found.lon:.5f}，纬度 {found.lat:.5f}）不在本县服务范围"
            f"（经度 {ext[0]}–{ext[2]}，纬度 {ext[1]}–{ext[3]}）内；请核对坐标，注意经度在前",
        )
    return found


def _township_at(store: FeatureStore, lon: float, lat: float) -> str | None:
    page = store.query("townships", bbox=(lon, lat, lon, lat), limit=10, count=False, children=False)
    point = Point(lon, lat)
    for row, geom in zip(page.rows, page.geometries, strict=True):
        if geom is not None and geom.covers(point):
            return str(row["name"])
    return None


def create(store: FeatureStore, actor: Actor, body: IncidentInput) -> dict[str, Any]:
    """Register an incident (接警): store it with status ``reported`` and open its timeline.

    Returns
    -------
    dict
        The incident as a GeoJSON Feature (local times, labels), plus ``notes`` on how the
        location was read.

    Raises
    ------
    Unprocessable
        Bad kind, location outside the county, unknown place, enterprise or hazard source.
    """
    kind = kind_code(body.kind)
    where = locate(store, body)
    enterprise_id = body.enterprise_id or where.enterprise_id
    hazard_source_id = body.hazard_source_id or where.hazard_source_id
    if hazard_source_id is not None and enterprise_id is None:
        page = store.query("hazard_sources", ids=[hazard_source_id], limit=1, count=False, children=False)
        if page.rows:
            enterprise_id = page.rows[0].get("enterprise_id")
    reported = body.reported_at or utc_now()
    if isinstance(reported, dt.datetime):
        aware = reported if reported.tzinfo else reported.replace(tzinfo=store.tz)
        if aware > utc_now() + dt.timedelta(minutes=10):
            shown = aware.astimezone(store.tz).strftime("%Y-%m-%d %H:%M")
            raise invalid("reported_at", f"接报时间 {shown} 晚于现在；请核对日期和时区（不带时区按 {store.tz}）")
    kind_label = INCIDENT_KIND.label(kind)
    township = where.township or _township_at(store, where.lon, where.lat)
    if body.place is not None and where.text:
        place_name = where.text.split("：", 1)[-1].split("（编号")[0]
    else:
        place_name = township or "裕民县"
    when = reported if isinstance(reported, dt.datetime) else None
    if when is not None:
        when = (when if when.tzinfo else when.replace(tzinfo=store.tz)).astimezone(store.tz)
    name = body.name or f"{place_name}{kind_label}" + (f"（{when:%m月%d日%H:%M}）" if when else "")
    props = {
        "name": name[:200],
        "kind": kind,
        "status": "reported",
        "reported_at": reported.isoformat() if isinstance(reported, dt.datetime) else reported,
        "severity": body.severity,
        "description": body.description,
        "enterprise_id": enterprise_id,
        "hazard_source_id": hazard_source_id,
        "substance": body.substance,
        "quantity_t": body.quantity_t,
        "reporter": body.reporter,
        "phone": body.phone,
        "location_text": where.text,
        "township": township,
        "source": f"接警登记（{actor.name}）",
    }
    layer = store.layer("incidents")
    clean = validate_feature(
        layer,
        {"type": "Feature", "geometry": Point(where.lon, where.lat).__geo_interface__, "properties": props},
        partial=False,
        extent=store.extent,
    )
    now = utc_now()
    with store.transaction() as tx:
        tx.check_references(layer, [clean.properties])
        (fid,) = tx.insert(layer, [clean], actor, now=now)
        after = tx.fetch(layer, fid)
        tx.record_audit(actor, "create", layer, [(fid, None, after)], "接警")
        bits = [f"接警：{kind_label}", f"位置 {where.lon:.5f}, {where.lat:.5f}"]
        if where.text:
            bits.append(f"（{where.text}）")
        for label, value in (("物质", body.substance), ("报警人", body.reporter), ("电话", body.phone)):
            if value:
                bits.append(f"{label} {value}")
        if body.quantity_t is not None:
            bits.append(f"估计量 {body.quantity_t:g} t")
        _record(tx, fid, "created", "；".join(bits), actor, f"incidents:{fid}", now)
        feature = tx.fetch(layer, fid)
    assert feature is not None
    out = present(feature, store.tz)
    out["notes"] = list(where.notes)
    return out


def set_status(
    store: FeatureStore,
    actor: Actor,
    incident_id: int,
    status: str,
    *,
    note: str | None = None,
    version: int | None = None,
) -> dict[str, Any]:
    """Move an incident forward to ``status`` (code or label); record who and when on the timeline.

    Raises
    ------
    FeatureNotFound
        No such incident.
    VersionConflict
        ``version`` is stale, or the status would go backwards or stay (nothing written).
    """
    new = status_code(status)
    layer = store.layer("incidents")
    now = utc_now()
    with store.transaction() as tx:
        if tx.fetch(layer, incident_id) is None:
            raise FeatureNotFound(f"没有编号为 {incident_id} 的事件")
        before = (
            tx.lock_version(layer, incident_id, version) if version is not None else tx.lock("incidents", incident_id)
        )
        old = str(before["properties"]["status"])
        old_label, new_label = INCIDENT_STATUS.label(old), INCIDENT_STATUS.label(new)
        if STATUS_ORDER[new] <= STATUS_ORDER[old]:
            if old == "closed":
                why = f"事件已“结束”，不能改为“{new_label}”；如需重新处置，请重新接警登记"
            elif new == old:
                why = f"事件当前已是“{old_label}”"
            else:
                why = f"事件状态只能向前推进（接警 → 核实 → 处置中 → 结束），不能从“{old_label}”退回“{new_label}”"
            raise VersionConflict(why, [Problem("status", why)])
        values: dict[str, Any] = {"status": new}
        if new == "closed":
            values["closed_at"] = now
        tx.update("incidents", incident_id, values, now=now)
        after = tx.fetch(layer, incident_id)
        tx.record_audit(actor, "status", layer, [(incident_id, before, after)], note)
        skipped = [
            INCIDENT_STATUS.label(c) for c, k in STATUS_ORDER.items() if STATUS_ORDER[old] < k < STATUS_ORDER[new]
        ]
        skipped = [s for s in skipped if s != "已控制"]
        text = f"状态：{old_label} → {new_label}" + (f"（未经 {'、'.join(map(str, skipped))}）" if skipped else "")
        if note:
            text += f"；{note}"
        _record(tx, incident_id, "status", text, actor, f"incidents:{incident_id}", now)
    assert after is not None
    return present(after, store.tz)


def add_note(store: FeatureStore, actor: Actor, incident_id: int, text: str) -> dict[str, Any]:
    """Add a note to an incident's timeline (also after it is closed); return the entry."""
    text = (text or "").strip()
    if not text:
        raise invalid("text", "记录内容不能为空")
    eid = record_event(store, incident_id, "note", text, actor)
    return next(e for e in timeline(store, incident_id) if e["id"] == eid)


def durations_text(seconds: float | None) -> str:
    """A duration as 时分秒 for people: ``1小时02分05秒``, ``12分30秒``, ``45秒`` (:func:`labels.duration_text`)."""
    return labels.duration_text(seconds)


def timeline_entries(entries: Iterable[dict[str, Any]], start: str | None) -> list[dict[str, Any]]:
    """Timeline entries with ``since`` (分秒 after ``start``, an ISO time) for the printed record."""
    t0 = dt.datetime.fromisoformat(start) if start else None
    out = []
    for e in entries:
        since = None
        if t0 is not None and e.get("at"):
            since = durations_text((dt.datetime.fromisoformat(e["at"]) - t0).total_seconds())
        out.append({**e, "since": since})
    return out
