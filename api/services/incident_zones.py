"""An incident's hazard zone: any consequence model at the incident's location, stored and versioned.

:func:`model_zone` runs :func:`safemap.api.services.consequence.compute` with the incident's
location, fills what a dispatcher may leave out — the plume's Pasquill stability from the wind,
the hour and the cloud (:func:`safemap.gis.stability.pasquill_class`), the wind direction from
the county's prevailing wind (:func:`safemap.api.services.consequence.with_default_wind`) —
and stores the bands as a new ``incident_zones`` row numbered ``seq`` 1, 2, … per incident.
The newest row is the incident's current zone (a re-model when the wind turns adds a row; the
old ones stay as history). The zone and its timeline entry commit together or not at all.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import shapely
from shapely.geometry import shape
from sqlalchemy import func, select

from safemap.api.services import consequence
from safemap.api.services.incidents import get, local, location_of, record_event
from safemap.api.services.problems import invalid
from safemap.api.services.safety import load as load_safety
from safemap.gis.stability import pasquill_class
from safemap.layers.enums import CONSEQUENCE_MODEL
from safemap.layers.errors import FeatureNotFound, Problem, VersionConflict
from safemap.layers.model import Actor, utc_now
from safemap.layers.store import FeatureStore
from safemap.layers.validation import validate_feature


def derive_stability(
    values: dict[str, Any], location: tuple[float, float], cloud_cover: Any, at: dt.datetime | None, tz: dt.tzinfo
) -> dict[str, Any] | None:
    """Fill a plume's missing ``stability`` from wind, time and cloud; return how it was found (or ``None``)."""
    if values.get("model") != "gaussian_plume" or values.get("stability"):
        return None
    if cloud_cover is None:
        raise invalid(
            "stability",
            "请给出大气稳定度（A–F），或给出云量 cloud_cover（0–8 或 晴/少云/多云/阴）由系统按 Turner 表推定",
        )
    when = at or utc_now()
    if when.tzinfo is None:
        when = when.replace(tzinfo=tz)
    try:
        res = pasquill_class(float(values["wind_m_s"]), when, location[0], location[1], cloud_cover)
    except ValueError as exc:
        raise invalid("cloud_cover", str(exc)) from None
    values["stability"] = res.stability
    return {
        "stability": res.stability,
        "table_cell": res.table_cell,
        "insolation": res.insolation,
        "sun_elevation_deg": res.sun_elevation_deg,
        "cloud_oktas": res.cloud_oktas,
        "at": when.astimezone(tz).isoformat(timespec="minutes"),
        "explanation": res.explanation,
        "source": "Turner (1970) Workbook of Atmospheric Dispersion Estimates, Table 1 (Pasquill 1961)",
    }


def _threshold(props: dict[str, Any]) -> str | None:
    if props.get("threshold_mg_m3") is not None:
        return f"≥ {float(props['threshold_mg_m3']):.3g} mg/m³"
    if props.get("radius_m") is not None:
        return f"半径 {float(props['radius_m']):.0f} m"
    return None


def model_zone(
    store: FeatureStore,
    actor: Actor,
    incident_id: int,
    values: dict[str, Any],
    *,
    cloud_cover: Any = None,
    at: dt.datetime | None = None,
) -> dict[str, Any]:
    """Model the incident's hazard zone and store it as its newest zone.

    Parameters
    ----------
    store
        The feature store.
    actor
        Who models (recorded as ``created_by``, in the audit log and on the timeline).
    incident_id
        The incident; its location is the release point.
    values
        A consequence body (``model`` and its fields, range-checked by the caller) without
        ``location``. A plume may leave out ``stability`` when ``cloud_cover`` is given, and
        ``wind_from_deg`` (the county's prevailing wind is used).
    cloud_cover
        Oktas 0–8 or 晴/少云/多云/阴, for the plume's stability.
    at
        The time for the sun's elevation (default now).

    Returns
    -------
    dict
        The zone record (see :func:`zone_record`) plus ``results`` of the model and ``wind``.

    Raises
    ------
    FeatureNotFound
        No such incident.
    VersionConflict
        The incident is closed (结束).
    Unprocessable
        A missing or unknown input (substance, stability, wind), or a model with no zone at all.
    """
    incident = get(store, incident_id)
    if incident["properties"]["status"] == "closed":
        why = "事件已结束，不能再建模危险区"
        raise VersionConflict(why, [Problem("status", why)])
    lonlat = location_of(incident)
    values = {k: v for k, v in values.items() if k != "location"}
    values["location"] = lonlat
    if not values.get("substance") and incident["properties"].get("substance"):
        values["substance"] = incident["properties"]["substance"]
    derived = derive_stability(values, lonlat, cloud_cover, at, store.tz)
    req = consequence.make_input(values)
    req, wind = consequence.with_default_wind(store, req)
    result = consequence.compute(load_safety(store), req, store.extent, wind=wind)
    feats = result["zones"]["features"]
    if not feats:
        raise invalid("model", "按所给参数，任何阈值都没有影响区（浓度/热辐射/超压均未达到阈值）；未保存危险区")
    bands = [
        {
            "key": f["properties"].get("key"),
            "label": f["properties"].get("label"),
            "threshold": _threshold(f["properties"]),
            "geometry": f["geometry"],
        }
        for f in feats
    ]
    outline = shapely.union_all([shape(b["geometry"]) for b in bands])
    inputs = {k: v for k, v in values.items() if k != "location" and v is not None}
    if derived:
        inputs["stability_derived"] = derived
    if cloud_cover is not None:
        inputs["cloud_cover"] = cloud_cover
    wind_from = getattr(req, "wind_from_deg", None)
    layer = store.layer("incident_zones")
    now = utc_now()
    model_label = CONSEQUENCE_MODEL.label(req.model)
    with store.transaction() as tx:
        t = tx.table("incident_zones")
        tx.lock("incidents", incident_id)
        seq = (
            int(
                tx.execute(
                    select(func.coalesce(func.max(t.c.seq), 0)).where(t.c.incident_id == incident_id)
                ).scalar_one()
            )
            + 1
        )
        props = {
            "name": f"事件{incident_id}危险区第{seq}版（{model_label}）",
            "incident_id": incident_id,
            "seq": seq,
            "model": req.model,
            "wind_from_deg": wind_from,
            "wind_m_s": getattr(req, "wind_m_s", None),
            "stability": getattr(req, "stability", None),
            "inputs": json.dumps(inputs, ensure_ascii=False, default=str),
            "bands": json.dumps(bands, ensure_ascii=False),
            "created_by": actor.name[:100],
            "township": incident["properties"].get("township"),
            "source": f"后果模型计算（{actor.name}）",
        }
        clean = validate_feature(
            layer,
            {"type": "Feature", "geometry": outline.__geo_interface__, "properties": props},
            partial=False,
            extent=None,
        )
        (zid,) = tx.insert(layer, [clean], actor, now=now)
        tx.record_audit(actor, "create", layer, [(zid, None, tx.fetch(layer, zid))], f"事件{incident_id}危险区建模")
        parts = [f"危险区第{seq}版：{model_label}"]
        if wind_from is not None:
            parts.append(f"风向 {wind_from:g}°" + (f"（{wind.get('description')}）" if wind else ""))
        if getattr(req, "wind_m_s", None) is not None:
            parts.append(f"风速 {req.wind_m_s:g} m/s")  # type: ignore[attr-defined]
        if getattr(req, "stability", None):
            parts.append(f"稳定度 {req.stability}")  # type: ignore[attr-defined]
        parts.append("；".join(f"{b['label']}" for b in bands))
        record_event(tx, incident_id, "zone", "，".join(parts), actor, f"incident_zones:{zid}", at=now)
        row = tx.fetch(layer, zid)
    assert row is not None
    out = zone_record(row, store.tz)
    out["results"] = result["results"]
    out["wind"] = result.get("wind")
    return out


def zone_record(feature: dict[str, Any], tz: dt.tzinfo) -> dict[str, Any]:
    """A stored zone as the API shows it: ``id``, ``incident_id``, ``seq``, ``model``, ``inputs``, ``bands``."""
    p = feature["properties"]
    return {
        "id": feature["id"],
        "incident_id": p["incident_id"],
        "seq": p["seq"],
        "model": p["model"],
        "model_label": CONSEQUENCE_MODEL.label(p["model"]),
        "inputs": json.loads(p["inputs"] or "{}"),
        "bands": [{k: b[k] for k in ("label", "threshold", "geometry")} for b in json.loads(p["bands"] or "[]")],
        "wind_from_deg": p.get("wind_from_deg"),
        "wind_m_s": p.get("wind_m_s"),
        "stability": p.get("stability"),
        "outline": feature["geometry"],
        "created_at": local(p.get("updated_at"), tz),  # zones are never edited: last write = creation
        "created_by": p.get("created_by"),
    }


def zones(store: FeatureStore, incident_id: int) -> list[dict[str, Any]]:
    """All zones of an incident, oldest first (the last is current)."""
    get(store, incident_id)
    page = store.query("incident_zones", filters={"incident_id": [incident_id]}, limit=None, count=False)
    out = [zone_record(f, store.tz) for f in page.features()]
    out.sort(key=lambda z: z["seq"])
    return out


def current_zone(store: FeatureStore, incident_id: int) -> dict[str, Any] | None:
    """The incident's newest zone, or ``None`` before any was modelled."""
    found = zones(store, incident_id)
    return found[-1] if found else None


def zone(store: FeatureStore, incident_id: int, zone_id: int | None) -> dict[str, Any]:
    """Zone ``zone_id`` of the incident, or its current one; 404/422 in Chinese otherwise."""
    found = zones(store, incident_id)
    if not found:
        raise invalid("zone_id", f"事件 {incident_id} 尚未建模危险区；请先 POST /api/incidents/{incident_id}/zone")
    if zone_id is None:
        return found[-1]
    for z in found:
        if z["id"] == zone_id:
            return z
    raise FeatureNotFound(f"事件 {incident_id} 没有编号为 {zone_id} 的危险区")


def summary(z: dict[str, Any] | None) -> dict[str, Any] | None:
    """A short description of a zone for the incident's page (no band geometry)."""
    if z is None:
        return None
    return {
        "id": z["id"],
        "seq": z["seq"],
        "model": z["model"],
        "model_label": z["model_label"],
        "wind_from_deg": z["wind_from_deg"],
        "wind_m_s": z["wind_m_s"],
        "stability": z["stability"],
        "bands": [{"label": b["label"], "threshold": b["threshold"]} for b in z["bands"]],
        "created_at": z["created_at"],
        "created_by": z["created_by"],
    }
