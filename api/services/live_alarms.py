"""Alarms of the live data and their life: 报警 → 确认 → 恢复 / 关闭, and the step to an incident.

An alarm is a feature of the ``alarms`` layer, written only here (the layer has no editors), so
every change is audited and reaches every open map over the event stream like any other layer.

* :func:`raise_alarm` opens one; while an alarm of the same kind is open (报警 or 已确认) on the
  same sensor, vehicle or geofence, another is not opened — a flood of readings above a set point
  is one alarm, not thousands.
* :func:`recover` marks the open alarms of a kind on an object 已恢复 when the condition is gone
  (the value fell back below the set point less the dead band, the truck left the area …).
* :func:`acknowledge` (who, when, note) and :func:`close` are the duty officer's steps;
  :func:`to_incident` registers an incident (接警) at the alarm's place with its substance and
  links the two.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from safemap.api.services import incidents
from safemap.layers.enums import ALARM_KIND, ALARM_STATE
from safemap.layers.errors import Unprocessable, VersionConflict
from safemap.layers.model import SYSTEM, Actor
from safemap.layers.store import FeatureStore
from safemap.layers.validation import validate_feature

OPEN = ("active", "acknowledged")

#: The incident kind an alarm becomes (泄漏 for gas and tank alarms, 交通 for trucks).
INCIDENT_KIND = {
    "high_1": "leak",
    "high_2": "leak",
    "low_1": "leak",
    "low_2": "leak",
    "rate": "leak",
    "offline": "other",
    "geofence": "traffic",
    "off_route": "traffic",
    "dwell": "traffic",
}


@dataclass(frozen=True)
class AlarmInput:
    """What raises an alarm; ``object`` names the field that holds the object's id."""

    kind: str
    at: dt.datetime
    lon: float
    lat: float
    message: str
    sensor_id: int | None = None
    vehicle_id: int | None = None
    geofence_id: int | None = None
    hazard_source_id: int | None = None
    enterprise_id: int | None = None
    substance: str | None = None
    value: float | None = None
    threshold: float | None = None
    unit: str | None = None
    level: int | None = None
    danger_id: int | None = None


def _object_filter(
    sensor_id: int | None, vehicle_id: int | None, geofence_id: int | None, danger_id: int | None = None
) -> dict[str, list[Any]]:
    filters: dict[str, list[Any]] = {}
    if danger_id is not None:
        filters["danger_id"] = [danger_id]
    if sensor_id is not None:
        filters["sensor_id"] = [sensor_id]
    if vehicle_id is not None:
        filters["vehicle_id"] = [vehicle_id]
    if geofence_id is not None:
        filters["geofence_id"] = [geofence_id]
    return filters


def open_alarms(
    store: FeatureStore,
    kind: str,
    *,
    sensor_id: int | None = None,
    vehicle_id: int | None = None,
    geofence_id: int | None = None,
    danger_id: int | None = None,
) -> list[dict[str, Any]]:
    """The open alarms (报警 or 已确认) of ``kind`` on one object."""
    filters = _object_filter(sensor_id, vehicle_id, geofence_id, danger_id) | {"kind": [kind], "state": list(OPEN)}
    return store.query("alarms", filters=filters, limit=None, count=False, children=False).rows


def _feature(alarm: AlarmInput) -> dict[str, Any]:
    props = {
        "name": alarm.message[:200],
        "kind": alarm.kind,
        "state": "active",
        "level": alarm.level,
        "sensor_id": alarm.sensor_id,
        "vehicle_id": alarm.vehicle_id,
        "geofence_id": alarm.geofence_id,
        "danger_id": alarm.danger_id,
        "hazard_source_id": alarm.hazard_source_id,
        "enterprise_id": alarm.enterprise_id,
        "substance": alarm.substance,
        "value": alarm.value,
        "threshold": alarm.threshold,
        "unit": alarm.unit,
        "message": alarm.message,
        "raised_at": alarm.at,
        "source": "SafeMap 实时监测",
    }
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [alarm.lon, alarm.lat]},
        "properties": {k: v for k, v in props.items() if v is not None},
    }


def raise_alarm(store: FeatureStore, alarm: AlarmInput) -> tuple[int, bool]:
    """Open an alarm unless one of the same kind is open on the object; ``(id, created)``."""
    found = open_alarms(
        store,
        alarm.kind,
        sensor_id=alarm.sensor_id,
        vehicle_id=alarm.vehicle_id,
        geofence_id=alarm.geofence_id,
        danger_id=alarm.danger_id,
    )
    if found:
        return int(found[0]["id"]), False
    created = store.create("alarms", _feature(alarm), SYSTEM)
    return int(created["id"]), True


def raise_many(store: FeatureStore, alarms: list[AlarmInput]) -> list[int]:
    """Open many alarms in one transaction (a gateway with 500 detectors going silent), skipping open ones.

    One query for the open alarms and one insert instead of two statements per alarm: raising
    500 设备离线 one by one held the monitor for seconds, delaying every other alarm.
    """
    if not alarms:
        return []
    kinds = sorted({a.kind for a in alarms})
    rows = store.query(
        "alarms", filters={"kind": kinds, "state": list(OPEN)}, limit=None, count=False, children=False
    ).rows
    open_keys = {(r["kind"], r.get("sensor_id"), r.get("vehicle_id"), r.get("geofence_id")) for r in rows}
    layer = store.layer("alarms")
    cleans = []
    for a in alarms:
        key = (a.kind, a.sensor_id, a.vehicle_id, a.geofence_id)
        if key in open_keys:
            continue
        open_keys.add(key)
        cleans.append(validate_feature(layer, _feature(a), partial=False, extent=store.extent))
    return store.insert_clean("alarms", cleans, SYSTEM, action="create") if cleans else []


def recover(
    store: FeatureStore,
    kind: str,
    at: dt.datetime,
    *,
    sensor_id: int | None = None,
    vehicle_id: int | None = None,
    geofence_id: int | None = None,
) -> list[int]:
    """Mark the open alarms of ``kind`` on the object 已恢复 at ``at``; their ids."""
    done = []
    for row in open_alarms(store, kind, sensor_id=sensor_id, vehicle_id=vehicle_id, geofence_id=geofence_id):
        patch = {"properties": {"state": "recovered", "recovered_at": at}}
        store.update("alarms", int(row["id"]), patch, SYSTEM, expected_version=int(row["version"]))
        done.append(int(row["id"]))
    return done


def _alarm(store: FeatureStore, alarm_id: int) -> dict[str, Any]:
    return store.get("alarms", alarm_id)


def acknowledge(store: FeatureStore, actor: Actor, alarm_id: int, note: str | None) -> dict[str, Any]:
    """确认: who and when, with an optional note; an alarm already closed cannot be acknowledged (409)."""
    feature = _alarm(store, alarm_id)
    props = feature["properties"]
    if props["state"] == "closed":
        raise VersionConflict("该报警已关闭，不能再确认")
    if props.get("acknowledged_at"):
        return feature
    patch: dict[str, Any] = {
        "acknowledged_at": dt.datetime.now(dt.UTC),
        "acknowledged_by": actor.name,
        "ack_note": note,
    }
    if props["state"] == "active":
        patch["state"] = "acknowledged"
    return store.update(
        "alarms",
        alarm_id,
        {"properties": {k: v for k, v in patch.items() if v is not None}},
        actor,
        expected_version=int(props["version"]),
    )


def close(store: FeatureStore, actor: Actor, alarm_id: int, note: str | None) -> dict[str, Any]:
    """关闭: the officer ends the alarm (after recovery or as a false alarm); idempotent."""
    feature = _alarm(store, alarm_id)
    props = feature["properties"]
    if props["state"] == "closed":
        return feature
    patch: dict[str, Any] = {"state": "closed", "closed_at": dt.datetime.now(dt.UTC), "closed_by": actor.name}
    if note:
        patch["ack_note"] = (props.get("ack_note") + "；" if props.get("ack_note") else "") + note
    return store.update("alarms", alarm_id, {"properties": patch}, actor, expected_version=int(props["version"]))


def to_incident(store: FeatureStore, actor: Actor, alarm_id: int) -> dict[str, Any]:
    """Register an incident from the alarm (place, substance, enterprise, hazard source) and link them.

    An alarm already linked answers with its incident (no second incident for one alarm).
    """
    feature = _alarm(store, alarm_id)
    props = feature["properties"]
    if props.get("incident_id"):
        return incidents.present(incidents.get(store, int(props["incident_id"])), store.tz)
    if props["state"] == "closed":
        raise Unprocessable("该报警已关闭，不能转为事件")
    lon, lat = feature["geometry"]["coordinates"][:2]
    kind_label = ALARM_KIND.label(props["kind"])
    body = incidents.IncidentInput(
        kind=INCIDENT_KIND.get(props["kind"], "other"),
        location=(float(lon), float(lat)),
        name=f"{kind_label}：{props.get('name') or ''}"[:200],
        enterprise_id=props.get("enterprise_id"),
        hazard_source_id=props.get("hazard_source_id"),
        substance=props.get("substance"),
        reporter=f"实时监测报警 {alarm_id}",
        description=props.get("message"),
    )
    created = incidents.create(store, actor, body)
    patch: dict[str, Any] = {"incident_id": created["id"]}
    if props["state"] == "active":
        patch |= {"state": "acknowledged", "acknowledged_at": dt.datetime.now(dt.UTC), "acknowledged_by": actor.name}
    store.update("alarms", alarm_id, {"properties": patch}, actor, expected_version=int(props["version"]))
    return created


def state_label(code: str) -> str:
    """The Chinese label of an alarm state."""
    return ALARM_STATE.label(code) or code
