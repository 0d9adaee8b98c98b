"""The live state of every sensor and vehicle, and the alarms it raises and clears.

:class:`Monitor` keeps, per sensor, what the alarm rules need to remember (the level it is in,
its last reading for the rate of change) and, per vehicle, where it is, which forbidden areas it
is inside, whether it is off its route and since when it has stood still. The memory lives in the
time series' state tables (``detail``): it is read at the start of every batch and written at its
end, so the map, a restarted server and a second process (``safemap simulate`` beside
``safemap serve``) all see one state — an alarm raised before a restart is not raised again.

The rules themselves are pure and live in :mod:`safemap.gis.alarm_rules` (set points with dead
band, rate of change, liveness) and :mod:`safemap.gis.vehicle_rules` (geofences, distance from
the registered route, stops near sensitive targets, hours of a rule). This module turns their
transitions into alarms (:mod:`live_alarms`) with Chinese messages.

Vehicles: geofences apply to the kinds of vehicle they name and in their hours; the route and
standing rules apply to hazardous-goods trucks. A truck counts as standing when it moves less than
:data:`STOP_MOVE_M` between reports or reports under :data:`STOP_SPEED_KMH`; standing longer
than the limit (a ``no_stop`` area's ``max_stop_s`` inside it, else :data:`DWELL_S`) within
:data:`DWELL_RADIUS_M` of a school, kindergarten, hospital, nursing home or market raises 敏感目标附近停留.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import math
import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from safemap.api.services import live_alarms
from safemap.api.services.incidents import durations_text
from safemap.api.services.live_alarms import AlarmInput
from safemap.api.services.live_registry import Registry, registry
from safemap.gis import alarm_rules, vehicle_rules
from safemap.layers.enums import ALARM_KIND, SENSOR_KIND, SENSOR_UNIT, VEHICLE_KIND
from safemap.layers.store import FeatureStore
from safemap.layers.timeseries import Position, Reading, TimeSeries

log = logging.getLogger("safemap.live")

#: A sensor without its own ``stale_after_s`` is 离线 after this many seconds without a reading.
SENSOR_STALE_S = 300
#: A vehicle that reported within the last day is 离线 after this many seconds of silence.
VEHICLE_STALE_S = 600
#: Distance from a sensitive target within which a standing truck counts, metres.
DWELL_RADIUS_M = 200.0
#: Longest a hazardous-goods truck may stand near a sensitive target, seconds.
DWELL_S = 600
#: Below this speed (km/h) or movement between reports (m) a vehicle is standing.
STOP_SPEED_KMH = 3.0
STOP_MOVE_M = 30.0
#: Off route clears only when the truck is back within this share of the allowed distance.
ROUTE_CLEAR_SHARE = 0.8


@dataclass
class Outcome:
    """What one batch did to the live state."""

    late: int = 0
    alarms: list[int] = field(default_factory=list)


@dataclass
class VehicleMemory:
    """What the vehicle rules remember between reports."""

    last_ts: dt.datetime | None = None
    lon: float | None = None
    lat: float | None = None
    speed_kmh: float | None = None
    heading_deg: float | None = None
    inside: list[int] = field(default_factory=list)
    off_route: bool = False
    stop_ts: dt.datetime | None = None
    stop_lon: float | None = None
    stop_lat: float | None = None
    dwell: bool = False
    offline: bool = False


def _dump(memory: Any) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, dt.datetime) else v) for k, v in dataclasses.asdict(memory).items()}


def _load(cls: Any, detail: dict[str, Any] | None) -> Any:
    names = {f.name: f for f in dataclasses.fields(cls)}
    values = {}
    for k, v in (detail or {}).items():
        if k not in names:
            continue
        if isinstance(v, str) and (k.endswith("_ts") or k == "last_ts"):
            v = dt.datetime.fromisoformat(v)
        values[k] = v
    return cls(**values)


def _metres(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Short distances (tens of metres) on the sphere, equirectangular; metres."""
    k = math.pi / 180 * 6_371_008.8
    return math.hypot((lon2 - lon1) * k * math.cos(math.radians((lat1 + lat2) / 2)), (lat2 - lat1) * k)


def _thresholds(row: dict[str, Any]) -> alarm_rules.Thresholds:
    """The sensor's set points; set points out of order (高报 above 高高报 …) alarm on nothing but are logged."""
    try:
        return alarm_rules.Thresholds.from_properties(row)
    except ValueError as exc:
        log.warning("传感器 %s 的报警值设置有误（%s），暂不判定报警", row.get("code"), exc)
        return alarm_rules.Thresholds()


def _in_hours(local: dt.datetime, hours: str | None) -> bool:
    try:
        return vehicle_rules.in_hours(local, hours)
    except ValueError:  # an impossible window such as 25:00-26:00 counts as always, never as never
        return True


class Monitor:
    """Live state and alarm evaluation of one store (one per process; see :func:`monitor_for`)."""

    def __init__(self, store: FeatureStore) -> None:
        self.store = store
        self.series = TimeSeries.for_store(store)
        self.lock = threading.RLock()
        self.sensors: dict[int, alarm_rules.SensorMemory] = {}
        self.sensor_state: dict[int, str] = {}
        self.vehicles: dict[int, VehicleMemory] = {}
        self._sensor_seq = -1
        self._vehicle_seq = -1
        self._threshold_cache: dict[int, alarm_rules.Thresholds] = {}
        self._threshold_generation = -1

    def _load_sensors(self) -> None:
        """Read the sensors' memory from the store when another writer moved it.

        The store is the one truth: another process (``safemap simulate``, a second server) may
        have written states since this one last did. Every state batch takes the next number of
        one sequence, so when the sequence is still where this process left it, the memory here
        is current and the read (500 rows with their memory) is saved.
        """
        now = self.series.current_seq()
        if now == self._sensor_seq:
            return
        self.sensors.clear()
        self.sensor_state.clear()
        for sid, row in self.series.sensor_states().items():
            self.sensors[sid] = alarm_rules.SensorMemory.from_dict(row.get("detail"))
            self.sensor_state[sid] = row.get("state") or "normal"
        self._sensor_seq = now

    def _load_vehicles(self) -> None:
        now = self.series.current_seq()
        if now == self._vehicle_seq:
            return
        self.vehicles = {
            vid: _load(VehicleMemory, row.get("detail")) for vid, row in self.series.vehicle_states().items()
        }
        self._vehicle_seq = now

    def _wrote(self, seq: int | None) -> None:
        """After this process wrote state batch ``seq``: memories stay current only if no one wrote between."""
        if seq is None:
            return
        self._sensor_seq = seq if seq == self._sensor_seq + 1 else -1
        self._vehicle_seq = seq if seq == self._vehicle_seq + 1 else -1

    def _thresholds(self, reg: Registry, sid: int) -> alarm_rules.Thresholds:
        if self._threshold_generation != reg.generation:
            self._threshold_cache = {}
            self._threshold_generation = reg.generation
        found = self._threshold_cache.get(sid)
        if found is None:
            found = self._threshold_cache[sid] = _thresholds(reg.sensors[sid])
        return found

    # ----------------------------------------------------------------- sensors
    def on_readings(self, reg: Registry, new: list[Reading]) -> Outcome:
        """Evaluate newly stored readings; write the sensors' live state; raise and clear alarms."""
        outcome = Outcome()
        by_sensor: dict[int, list[tuple[dt.datetime, float]]] = {}
        for sid, ts, value in new:
            by_sensor.setdefault(sid, []).append((ts, value))
        with self.lock:
            self._load_sensors()
            states = []
            for sid, series in by_sensor.items():
                row = reg.sensors.get(sid)
                if row is None:
                    continue
                series.sort(key=lambda p: p[0])
                memory = self.sensors.get(sid) or alarm_rules.SensorMemory()
                fresh = [p for p in series if memory.last_ts is None or p[0] > memory.last_ts]
                outcome.late += len(series) - len(fresh)
                if not fresh:
                    continue
                memory, transitions = alarm_rules.evaluate(self._thresholds(reg, sid), memory, fresh)
                self.sensors[sid] = memory
                for t in transitions:
                    outcome.alarms.extend(self._sensor_transition(reg, row, t))
                if self.sensor_state.get(sid) == "offline":
                    last = fresh[-1][0]
                    outcome.alarms.extend(live_alarms.recover(self.store, "offline", last, sensor_id=sid))
                state = memory.level
                self.sensor_state[sid] = state
                states.append(
                    {
                        "sensor_id": sid,
                        "ts": memory.last_ts,
                        "value": memory.last_value,
                        "state": state,
                        "detail": memory.as_dict(),
                    }
                )
            if states:
                self._wrote(self.series.set_sensor_state(states))
        return outcome

    def _sensor_transition(self, reg: Registry, row: dict[str, Any], t: alarm_rules.Transition) -> list[int]:
        sid = int(row["id"])
        if t.change == "clear":
            return live_alarms.recover(self.store, t.kind, t.ts, sensor_id=sid)
        geom = reg.sensor_geoms[sid]
        unit = SENSOR_UNIT.label(row.get("unit")) or ""
        name = row.get("name") or row.get("code")
        kind_label = SENSOR_KIND.label(row.get("kind")) or ""
        if t.kind == "rate":
            text = f"{name}（{kind_label}）读数变化过快：{t.value:g}{unit}，变化速率报警值 {t.threshold:g}{unit}/分钟"
        else:
            word = "超过" if t.kind.startswith("high") else "低于"
            label = ALARM_KIND.label(t.kind)
            text = f"{name}（{kind_label}）{label}：{t.value:g}{unit}，{word}报警值 {t.threshold:g}{unit}"
        level = 2 if t.kind.endswith("_2") else 1
        alarm_id, created = live_alarms.raise_alarm(
            self.store,
            AlarmInput(
                kind=t.kind,
                at=t.ts,
                lon=float(geom.x),
                lat=float(geom.y),
                message=text,
                sensor_id=sid,
                hazard_source_id=row.get("hazard_source_id"),
                enterprise_id=row.get("enterprise_id"),
                substance=row.get("substance"),
                value=t.value,
                threshold=t.threshold,
                unit=unit,
                level=level,
            ),
        )
        return [alarm_id] if created else []

    # ----------------------------------------------------------------- vehicles
    def on_positions(self, reg: Registry, new: list[Position]) -> Outcome:
        """Evaluate newly stored positions; write the vehicles' live state; raise and clear alarms."""
        outcome = Outcome()
        by_vehicle: dict[int, list[Position]] = {}
        for p in new:
            by_vehicle.setdefault(p[0], []).append(p)
        with self.lock:
            self._load_vehicles()
            states = []
            for vid, track in by_vehicle.items():
                row = reg.vehicles.get(vid)
                if row is None:
                    continue
                track.sort(key=lambda p: p[1])
                memory = self.vehicles.get(vid) or VehicleMemory()
                fresh = [p for p in track if memory.last_ts is None or p[1] > memory.last_ts]
                outcome.late += len(track) - len(fresh)
                if not fresh:
                    continue
                if memory.offline:
                    memory.offline = False
                    outcome.alarms.extend(live_alarms.recover(self.store, "offline", fresh[0][1], vehicle_id=vid))
                outcome.alarms.extend(self._vehicle_rules(reg, row, memory, fresh))
                last = fresh[-1]
                memory.last_ts, memory.lon, memory.lat = last[1], last[2], last[3]
                memory.speed_kmh, memory.heading_deg = last[4], last[5]
                self.vehicles[vid] = memory
                states.append(
                    {
                        "vehicle_id": vid,
                        "ts": last[1],
                        "lon": last[2],
                        "lat": last[3],
                        "speed_kmh": last[4],
                        "heading_deg": last[5],
                        "state": self._vehicle_state(memory),
                        "detail": _dump(memory),
                    }
                )
            if states:
                self._wrote(self.series.set_vehicle_state(states))
        return outcome

    @staticmethod
    def _vehicle_state(memory: VehicleMemory) -> str:
        if memory.offline:
            return "offline"
        if memory.inside or memory.off_route or memory.dwell:
            return "alarm"
        return "moving" if (memory.speed_kmh or 0) >= STOP_SPEED_KMH else "stopped"

    def _applicable_fences(self, reg: Registry, row: dict[str, Any]) -> list[tuple[dict[str, Any], Any]]:
        kind = row.get("kind")
        return [(f, g) for f, g in reg.geofences if f.get("applies_to") in (None, "all") or f.get("applies_to") == kind]

    def _vehicle_rules(
        self, reg: Registry, row: dict[str, Any], memory: VehicleMemory, fresh: list[Position]
    ) -> list[int]:
        vid = int(row["id"])
        raised: list[int] = []
        lon = np.array([p[2] for p in fresh])
        lat = np.array([p[3] for p in fresh])
        fences = self._applicable_fences(reg, row)
        hits = vehicle_rules.geofence_hits(lon, lat, [g for _, g in fences]) if fences else [[] for _ in fresh]
        hazmat = row.get("kind") == "hazmat_truck"
        route = reg.routes.get(row.get("route_id")) if hazmat and row.get("route_id") else None
        away = vehicle_rules.off_route_m(lon, lat, route) if route is not None else None
        allowed = float(row.get("max_off_route_m") or 500.0)
        plate = row.get("plate")
        who = f"{VEHICLE_KIND.label(row.get('kind'))} {plate}"
        tz = self.store.tz
        for i, (_, ts, x, y, speed, _heading) in enumerate(fresh):
            local = ts.astimezone(tz)
            inside_now = {
                int(fences[j][0]["id"])
                for j in hits[i]
                if fences[j][0].get("rule") == "no_entry" and _in_hours(local, fences[j][0].get("hours"))
            }
            for fid in sorted(inside_now - set(memory.inside)):
                fence = next(f for f, _ in fences if int(f["id"]) == fid)
                text = f"{who} 驶入禁入区域「{fence.get('name')}」"
                raised += self._raise_vehicle("geofence", ts, x, y, text, row, geofence_id=fid)
            for fid in sorted(set(memory.inside) - inside_now):
                raised += live_alarms.recover(self.store, "geofence", ts, vehicle_id=vid, geofence_id=fid)
            memory.inside = sorted(inside_now)
            if away is not None:
                d = float(away[i])
                if not memory.off_route and d > allowed:
                    memory.off_route = True
                    text = f"{who} 偏离登记路线 {d:.0f} m（允许 {allowed:.0f} m）"
                    raised += self._raise_vehicle("off_route", ts, x, y, text, row, value=d, threshold=allowed)
                elif memory.off_route and d <= allowed * ROUTE_CLEAR_SHARE:
                    memory.off_route = False
                    raised += live_alarms.recover(self.store, "off_route", ts, vehicle_id=vid)
            raised += self._standing(reg, row, memory, fences, hits[i], ts, x, y, speed, who) if hazmat else []
        return raised

    def _standing(
        self,
        reg: Registry,
        row: dict[str, Any],
        memory: VehicleMemory,
        fences: list[tuple[dict[str, Any], Any]],
        hit: list[int],
        ts: dt.datetime,
        x: float,
        y: float,
        speed: float | None,
        who: str,
    ) -> list[int]:
        vid = int(row["id"])
        moved = (
            memory.stop_lon is None
            or memory.stop_lat is None
            or _metres(memory.stop_lon, memory.stop_lat, x, y) > STOP_MOVE_M
            or (speed is not None and speed >= STOP_SPEED_KMH)
        )
        if moved:
            memory.stop_ts, memory.stop_lon, memory.stop_lat = ts, x, y
            if memory.dwell:
                memory.dwell = False
                return live_alarms.recover(self.store, "dwell", ts, vehicle_id=vid)
            return []
        if memory.dwell or memory.stop_ts is None:
            return []
        stood = (ts - memory.stop_ts).total_seconds()
        no_stop = [fences[j][0] for j in hit if fences[j][0].get("rule") == "no_stop"]
        for fence in no_stop:
            limit = float(fence.get("max_stop_s") or DWELL_S)
            if stood >= limit:
                memory.dwell = True
                text = f"{who} 在禁止停留区域「{fence.get('name')}」停留 {durations_text(stood)}"
                return self._raise_vehicle("dwell", ts, x, y, text, row, value=stood, threshold=limit)
        if stood < DWELL_S or not reg.targets:
            return []
        tx = np.array([g.representative_point().x for _, g in reg.targets])
        ty = np.array([g.representative_point().y for _, g in reg.targets])
        near = vehicle_rules.dwell_near((x, y), tx, ty, DWELL_RADIUS_M)
        if len(near) == 0:
            return []
        memory.dwell = True
        target = reg.targets[int(near[0])][0]
        text = f"{who} 在「{target.get('name')}」{DWELL_RADIUS_M:.0f} m 内停留 {durations_text(stood)}"
        return self._raise_vehicle("dwell", ts, x, y, text, row, value=stood, threshold=float(DWELL_S))

    def _raise_vehicle(
        self,
        kind: str,
        ts: dt.datetime,
        x: float,
        y: float,
        text: str,
        row: dict[str, Any],
        *,
        geofence_id: int | None = None,
        value: float | None = None,
        threshold: float | None = None,
    ) -> list[int]:
        alarm_id, created = live_alarms.raise_alarm(
            self.store,
            AlarmInput(
                kind=kind,
                at=ts,
                lon=x,
                lat=y,
                message=text,
                vehicle_id=int(row["id"]),
                geofence_id=geofence_id,
                enterprise_id=row.get("enterprise_id"),
                substance=row.get("cargo"),
                value=value,
                threshold=threshold,
                unit="m" if kind == "off_route" else ("s" if kind == "dwell" else None),
            ),
        )
        return [alarm_id] if created else []

    # ----------------------------------------------------------------- silence
    def sweep(self, now: dt.datetime | None = None) -> list[int]:
        """Mark sensors and vehicles that stopped reporting 离线 and raise 设备离线 once each."""
        now = now or dt.datetime.now(dt.UTC)
        reg = registry(self.store)
        with self.lock:
            self._load_sensors()
            self._load_vehicles()
            # Raised together in one transaction: a gateway of 500 detectors going silent must not
            # hold the monitor (and every other alarm) for seconds.
            pending: list[AlarmInput] = []
            sensor_rows = []
            for sid, memory in self.sensors.items():
                row = reg.sensors.get(sid)
                if row is None or memory.last_ts is None or self.sensor_state.get(sid) == "offline":
                    continue
                limit = int(row.get("stale_after_s") or SENSOR_STALE_S)
                if alarm_rules.liveness(memory, now, limit) != "offline":
                    continue
                self.sensor_state[sid] = "offline"
                geom = reg.sensor_geoms[sid]
                silent = durations_text((now - memory.last_ts).total_seconds())
                text = f"{row.get('name') or row.get('code')} 已 {silent} 未上报数据"
                pending.append(
                    AlarmInput(
                        kind="offline",
                        at=now,
                        lon=float(geom.x),
                        lat=float(geom.y),
                        message=text,
                        sensor_id=sid,
                        hazard_source_id=row.get("hazard_source_id"),
                        enterprise_id=row.get("enterprise_id"),
                        threshold=float(limit),
                        unit="s",
                    )
                )
                sensor_rows.append(
                    {
                        "sensor_id": sid,
                        "ts": memory.last_ts,
                        "value": memory.last_value,
                        "state": "offline",
                        "detail": memory.as_dict(),
                    }
                )
            vehicle_rows = []
            for vid, vm in self.vehicles.items():
                row = reg.vehicles.get(vid)
                if row is None or vm.last_ts is None or vm.offline or vm.lon is None or vm.lat is None:
                    continue
                silent = (now - vm.last_ts).total_seconds()
                if not VEHICLE_STALE_S < silent < 86_400:
                    continue
                vm.offline = True
                text = (
                    f"{VEHICLE_KIND.label(row.get('kind'))} {row.get('plate')} 已 {durations_text(silent)} 未上报位置"
                )
                pending.append(
                    AlarmInput(
                        kind="offline",
                        at=now,
                        lon=vm.lon,
                        lat=vm.lat,
                        message=text,
                        vehicle_id=vid,
                        enterprise_id=row.get("enterprise_id"),
                        substance=row.get("cargo"),
                        threshold=float(VEHICLE_STALE_S),
                        unit="s",
                    )
                )
                vehicle_rows.append(
                    {
                        "vehicle_id": vid,
                        "ts": vm.last_ts,
                        "lon": vm.lon,
                        "lat": vm.lat,
                        "speed_kmh": vm.speed_kmh,
                        "heading_deg": vm.heading_deg,
                        "state": "offline",
                        "detail": _dump(vm),
                    }
                )
            raised = live_alarms.raise_many(self.store, pending)
            if sensor_rows:
                self._wrote(self.series.set_sensor_state(sensor_rows))
            if vehicle_rows:
                self._wrote(self.series.set_vehicle_state(vehicle_rows))
        return raised


_MONITORS: dict[int, Monitor] = {}
_LOCK = threading.Lock()


def monitor_for(store: FeatureStore) -> Monitor:
    """The one :class:`Monitor` of ``store`` in this process."""
    with _LOCK:
        found = _MONITORS.get(id(store))
        if found is None or found.store is not store:
            found = _MONITORS[id(store)] = Monitor(store)
        return found
