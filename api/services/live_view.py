"""What the map shows of the live data: sensors and vehicles with their state, series, tracks, alarms.

Every item carries Chinese labels next to its codes (``state_label``, ``kind_label``,
``unit_label``) and a colour from the catalogue, and times in ``SAFEMAP_TIMEZONE``, so the page
never shows a code. The same items travel on the event stream (``sensor_live``,
``vehicle_live``) as in ``GET /api/live``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from safemap.api.services.live_registry import Registry, registry
from safemap.api.services.problems import bad
from safemap.layers.enums import ALARM_KIND, ALARM_STATE, SENSOR_KIND, SENSOR_STATE, SENSOR_UNIT, VEHICLE_KIND
from safemap.layers.errors import FeatureNotFound
from safemap.layers.store import FeatureStore
from safemap.layers.timeseries import TimeSeries

#: Live state of a vehicle (not a catalogue enum: it is derived, never stored on the feature).
VEHICLE_STATES = {
    "moving": ("行驶中", "#2e7d32"),
    "stopped": ("停驶", "#1565c0"),
    "alarm": ("报警", "#d50000"),
    "offline": ("离线", "#9e9e9e"),
    "silent": ("未上报", "#bdbdbd"),
}
TRAIL = dt.timedelta(minutes=10)
STEPS = ("raw", "1min", "1h")
#: Longest span one series request may cover (raw readings: one day at 1/s is 86,400 points).
MAX_SPAN = {"raw": dt.timedelta(days=2), "1min": dt.timedelta(days=31), "1h": dt.timedelta(days=400)}


def _local(value: Any, tz: dt.tzinfo) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return aware.astimezone(tz).isoformat(timespec="seconds")


def _colour(enum: Any, code: str) -> str | None:
    for member in enum.members:
        if member.code == code:
            return member.color
    return None


def sensor_item(reg: Registry, sid: int, state: dict[str, Any] | None, tz: dt.tzinfo) -> dict[str, Any]:
    """One sensor as the map shows it (configuration and live state)."""
    row = reg.sensors[sid]
    geom = reg.sensor_geoms[sid]
    code = (state or {}).get("state") or "silent"
    return {
        "id": sid,
        "code": row.get("code"),
        "name": row.get("name"),
        "kind": row.get("kind"),
        "kind_label": SENSOR_KIND.label(row.get("kind")),
        "unit": row.get("unit"),
        "unit_label": SENSOR_UNIT.label(row.get("unit")),
        "lon": float(geom.x),
        "lat": float(geom.y),
        "value": (state or {}).get("value"),
        "ts": _local((state or {}).get("ts"), tz),
        "state": code,
        "state_label": SENSOR_STATE.label(code),
        "color": _colour(SENSOR_STATE, code),
        "hazard_source_id": row.get("hazard_source_id"),
        "enterprise_id": row.get("enterprise_id"),
        "substance": row.get("substance"),
        **{k: row.get(k) for k in ("high_1", "high_2", "low_1", "low_2", "range_min", "range_max")},
    }


def vehicle_item(
    reg: Registry, vid: int, state: dict[str, Any] | None, tz: dt.tzinfo, trail: list[list[float]] | None = None
) -> dict[str, Any]:
    """One vehicle as the map shows it (registration and live position)."""
    row = reg.vehicles[vid]
    code = (state or {}).get("state") or "silent"
    label, colour = VEHICLE_STATES.get(code, (code, None))
    return {
        "id": vid,
        "plate": row.get("plate"),
        "name": row.get("name"),
        "kind": row.get("kind"),
        "kind_label": VEHICLE_KIND.label(row.get("kind")),
        "team_id": row.get("team_id"),
        "enterprise_id": row.get("enterprise_id"),
        "cargo": row.get("cargo"),
        "un_number": row.get("un_number"),
        "lon": (state or {}).get("lon"),
        "lat": (state or {}).get("lat"),
        "ts": _local((state or {}).get("ts"), tz),
        "speed_kmh": (state or {}).get("speed_kmh"),
        "heading": (state or {}).get("heading_deg"),
        "state": code,
        "state_label": label,
        "color": colour,
        "trail": trail or [],
    }


def snapshot(store: FeatureStore, now: dt.datetime | None = None) -> dict[str, Any]:
    """Every sensor and vehicle with its live state, and the sequence number to follow changes from."""
    now = now or dt.datetime.now(dt.UTC)
    reg = registry(store)
    series = TimeSeries.for_store(store)
    seq = current_seq(store)
    sensor_states = series.sensor_states()
    vehicle_states = series.vehicle_states()
    vehicles = []
    for vid in reg.vehicles:
        state = vehicle_states.get(vid)
        trail = []
        if state is not None and state.get("ts") is not None:
            points = series.track(vid, now - TRAIL, now)
            trail = [[p["lon"], p["lat"]] for p in points]
        vehicles.append(vehicle_item(reg, vid, state, store.tz, trail))
    return {
        "seq": seq,
        "sensors": [sensor_item(reg, sid, sensor_states.get(sid), store.tz) for sid in reg.sensors],
        "vehicles": vehicles,
    }


def current_seq(store: FeatureStore) -> int:
    """The live state's sequence number now (changes after it are news)."""
    seq, _, _ = TimeSeries.for_store(store).changes_since(2**62)
    return seq


def changes(store: FeatureStore, after: int) -> tuple[int, list[dict[str, Any]], list[dict[str, Any]]]:
    """Sensors and vehicles whose live state changed after ``after``: ``(seq, sensors, vehicles)``."""
    seq, sensor_rows, vehicle_rows = TimeSeries.for_store(store).changes_since(after)
    if not sensor_rows and not vehicle_rows:
        return seq, [], []
    reg = registry(store)
    sensors = [sensor_item(reg, r["sensor_id"], r, store.tz) for r in sensor_rows if r["sensor_id"] in reg.sensors]
    vehicles = [
        vehicle_item(reg, r["vehicle_id"], r, store.tz) for r in vehicle_rows if r["vehicle_id"] in reg.vehicles
    ]
    return seq, sensors, vehicles


def _span(start: dt.datetime | None, end: dt.datetime | None, default: dt.timedelta) -> tuple[dt.datetime, dt.datetime]:
    end = end or dt.datetime.now(dt.UTC)
    start = start or end - default
    if start >= end:
        raise bad("from", "起始时间应早于结束时间")
    return start, end


def sensor_series(
    store: FeatureStore, sensor_id: int, start: dt.datetime | None, end: dt.datetime | None, step: str
) -> dict[str, Any]:
    """A sensor's readings from ``start`` to ``end`` (default: the last 24 h) at ``step``."""
    if step not in STEPS:
        raise bad("step", "步长应为 raw（原始）、1min（1 分钟）或 1h（1 小时）")
    reg = registry(store)
    if sensor_id not in reg.sensors:
        raise FeatureNotFound(f"监测传感器图层中没有编号为 {sensor_id} 的要素")
    start, end = _span(start, end, dt.timedelta(hours=24))
    if end - start > MAX_SPAN[step]:
        raise bad("to", f"按 {step} 一次最多查询 {MAX_SPAN[step].days} 天；请缩短时段或加大步长")
    series = TimeSeries.for_store(store)
    points = series.readings(sensor_id, start, end, step)
    state = series.sensor_states().get(sensor_id)
    return {
        "sensor": sensor_item(reg, sensor_id, state, store.tz),
        "step": step,
        "from": _local(start, store.tz),
        "to": _local(end, store.tz),
        "points": [{**p, "ts": _local(p["ts"], store.tz)} for p in points],
    }


def vehicle_track(
    store: FeatureStore, vehicle_id: int, start: dt.datetime | None, end: dt.datetime | None
) -> dict[str, Any]:
    """A vehicle's positions from ``start`` to ``end`` (default: the last 24 h) as a GeoJSON Feature."""
    reg = registry(store)
    if vehicle_id not in reg.vehicles:
        raise FeatureNotFound(f"车辆图层中没有编号为 {vehicle_id} 的要素")
    start, end = _span(start, end, dt.timedelta(hours=24))
    if end - start > dt.timedelta(days=31):
        raise bad("to", "一次最多查询 31 天的轨迹")
    points = TimeSeries.for_store(store).track(vehicle_id, start, end)
    coords = [[p["lon"], p["lat"]] for p in points]
    geometry = {"type": "LineString", "coordinates": coords} if len(coords) >= 2 else None
    state = TimeSeries.for_store(store).vehicle_states().get(vehicle_id)
    return {
        "type": "Feature",
        "id": vehicle_id,
        "geometry": geometry,
        "properties": {
            **vehicle_item(reg, vehicle_id, state, store.tz),
            "from": _local(start, store.tz),
            "to": _local(end, store.tz),
            "points": [
                {"ts": _local(p["ts"], store.tz), "lon": p["lon"], "lat": p["lat"], "speed_kmh": p.get("speed_kmh")}
                for p in points
            ],
        },
    }


ALARM_TIMES = ("raised_at", "acknowledged_at", "recovered_at", "closed_at", "updated_at")


def present_alarm(feature: dict[str, Any], tz: dt.tzinfo) -> dict[str, Any]:
    """An alarm feature with Chinese labels and local times."""
    props = dict(feature["properties"])
    for key in ALARM_TIMES:
        props[key] = _local(props.get(key), tz)
    props["kind_label"] = ALARM_KIND.label(props.get("kind"))
    props["state_label"] = ALARM_STATE.label(props.get("state"))
    props["color"] = _colour(ALARM_STATE, props.get("state") or "")
    return {**feature, "properties": props}


def list_alarms(store: FeatureStore, states: list[str] | None, limit: int = 500) -> list[dict[str, Any]]:
    """Alarms, newest raised first, optionally in some states."""
    filters = {"state": states} if states else None
    page = store.query("alarms", filters=filters, limit=None, count=False, children=False)
    feats = [present_alarm(f, store.tz) for f in page.features()]
    feats.sort(key=lambda f: f["properties"].get("raised_at") or "", reverse=True)
    return feats[:limit]


def parse_alarm_states(text: str | None) -> list[str] | None:
    """``active,acknowledged`` or Chinese labels (报警,已确认) as codes; 400 naming ``state`` if unknown."""
    if not text:
        return None
    codes = []
    by_label = {m.label: m.code for m in ALARM_STATE.members}
    for part in text.replace("，", ",").split(","):
        word = part.strip()
        if not word:
            continue
        code = word if word in ALARM_STATE.codes else by_label.get(word)
        if code is None:
            raise bad("state", f"未知的报警状态 {word!r}；可选：{ALARM_STATE.describe()}")
        codes.append(code)
    return codes or None
