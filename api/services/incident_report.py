"""What the printed 处置记录 of an incident shows: gathered here, drawn by :mod:`safemap.api.reports.incident`."""

from __future__ import annotations

import datetime as dt
from typing import Any

from safemap.api.reports.incident import incident_html, incident_map
from safemap.api.services import evacuation, incident_zones, incidents
from safemap.api.services import exposure as exposure_service
from safemap.api.services.network import NetworkService
from safemap.layers.enums import VEHICLE_PROFILE
from safemap.layers.errors import LayerError
from safemap.layers.model import utc_now
from safemap.layers.store import FeatureStore


def _dispatches(store: FeatureStore, incident_id: int) -> list[dict[str, Any]]:
    page = store.query("dispatches", filters={"incident_id": [incident_id]}, limit=None, count=False)
    status = store.layer("dispatches").field("status").enum
    out = []
    for r in page.rows:
        layer = r.get("resource_layer") or "rescue_teams"
        fid = r.get("team_id") or r.get("depot_id")
        rows = store.query(layer, ids=[fid], limit=1, count=False, children=False).rows if fid else []
        out.append(
            {
                "plan_id": r.get("plan_id"),
                "name": (rows[0]["name"] if rows else str(fid))
                + (f"（{r['materials']}）" if r.get("materials") else ""),
                "vehicle": VEHICLE_PROFILE.label(r.get("vehicle")) if r.get("vehicle") else None,
                "confirmed_at": human(incidents.local(r.get("confirmed_at"), store.tz)),
                "eta": incidents.durations_text(r.get("eta_s")) if r.get("eta_s") is not None else None,
                "status_label": status.label(r.get("status")) if status else r.get("status"),
                "dispatcher": r.get("dispatcher"),
            }
        )
    return out


def human(value: Any) -> Any:
    """An ISO time as people read it on paper: ``2026-12-01 03:05:12`` (the zone is printed once, in the header)."""
    if not isinstance(value, str) or "T" not in value:
        return value
    try:
        return dt.datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return value


def _evacuation(store: FeatureStore, svc: NetworkService | None, incident_id: int) -> dict[str, Any] | None:
    """The evacuation plan for the current zone, or ``None`` without a road network service or a zone."""
    if svc is None:
        return None
    try:
        return evacuation.incident_evacuation(store, svc, incident_id)
    except LayerError:  # no zone yet, or no road network: the record says so instead
        return None


def context(store: FeatureStore, incident_id: int, svc: NetworkService | None = None) -> dict[str, Any]:
    """Everything the 处置记录 template needs (with ``svc``, the road network, also the evacuation)."""
    feature = incidents.present(incidents.get(store, incident_id), store.tz)
    props = feature["properties"]
    lonlat = incidents.location_of(feature)
    history = incident_zones.zones(store, incident_id)
    current = history[-1] if history else None
    found = exposure_service.exposure(store, incident_id) if current else None
    inside: list[dict[str, Any]] = []
    points: dict[tuple[str, int], tuple[float, float]] = {}
    if found:
        for band in found["bands"]:
            for layer in ("protected_targets", "settlements", "enterprises", "rescue_teams", "material_depots"):
                inside += band[layer]
        for layer in {i["layer"] for i in inside}:
            ids = [i["id"] for i in inside if i["layer"] == layer]
            page = store.query(layer, ids=ids, limit=None, count=False, children=False)
            for r, g in zip(page.rows, page.geometries, strict=True):
                p = g if g.geom_type == "Point" else g.representative_point()
                points[(layer, int(r["id"]))] = (float(p.x), float(p.y))
    start = props.get("reported_at")
    end = props.get("closed_at")
    if start:
        t_end = dt.datetime.fromisoformat(end) if end else utc_now()
        seconds = (t_end - dt.datetime.fromisoformat(start)).total_seconds()
        duration = incidents.durations_text(seconds) + ("" if end else "（仍在处置）")
    else:
        duration = "—"
    shown = {**props, "id": feature["id"], "reported_at": human(start), "closed_at": human(end)}
    line = [
        {**e, "at": human(e["at"])} for e in incidents.timeline_entries(incidents.timeline(store, incident_id), start)
    ]
    return {
        "incident": shown,
        "lonlat": lonlat,
        "printed_at": human(incidents.local(utc_now(), store.tz)),
        "tz": str(store.tz),
        "duration": duration,
        "map": incident_map(lonlat, current, inside, points),
        "timeline": line,
        "zones": [{**z, "created_at": human(z["created_at"])} for z in history],
        "exposure": found,
        "first": exposure_service.FIRST,
        "dispatches": _dispatches(store, incident_id),
        "evacuation": _evacuation(store, svc, incident_id) if current else None,
    }


def report_html(store: FeatureStore, incident_id: int, svc: NetworkService | None = None) -> str:
    """The printable 处置记录 of an incident (self-contained HTML; with ``svc`` its evacuation plan too)."""
    return incident_html(context(store, incident_id, svc))
