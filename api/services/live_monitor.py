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
transitions into alarms (:mod:`live_alarms`) with Chinese messages; the vehicle rules are the
mixin :class:`~safemap.api.services.live_vehicles.VehicleRules`.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from safemap.api.services import live_alarms
from safemap.api.services.incidents import durations_text
from safemap.api.services.live_alarms import AlarmInput
from safemap.api.services.live_registry import Registry, registry
from safemap.api.services.live_vehicles import VehicleMemory, VehicleRules, dump_memory, load_memory
from safemap.gis import alarm_rules
from safemap.layers.enums import ALARM_KIND, SENSOR_KIND, SENSOR_UNIT, VEHICLE_KIND
from safemap.layers.store import FeatureStore
from safemap.layers.timeseries import Position, Reading, TimeSeries

log = logging.getLogger("safemap.live")

#: A sensor without its own ``stale_after_s`` is 离线 after this many seconds without a reading.
SENSOR_STALE_S = 300
#: A vehicle that reported within the last day is 离线 after this many seconds of silence.
VEHICLE_STALE_S = 600


class _Remembers(Protocol):
    """A sensor's or vehicle's memory: all :meth:`Monitor._on_batch` reads of it."""

    @property
    def last_ts(self) -> dt.datetime | None:
        """Time of the newest item evaluated, ``None`` before the first one."""


_Item = TypeVar("_Item")
_Memory = TypeVar("_Memory", bound=_Remembers)


@dataclass
class Outcome:
    """What one batch did to the live state."""

    late: int = 0
    alarms: list[int] = field(default_factory=list)


def _thresholds(row: dict[str, Any]) -> alarm_rules.Thresholds:
    """The sensor's set points; set points out of order (高报 above 高高报 …) alarm on nothing but are logged."""
    try:
        return alarm_rules.Thresholds.from_properties(row)
    except ValueError as exc:
        log.warning("传感器 %s 的报警值设置有误（%s），暂不判定报警", row.get("code"), exc)
        return alarm_rules.Thresholds()


def _sensor_row(sid: int, memory: alarm_rules.SensorMemory, state: str) -> dict[str, Any]:
    """A sensor's live state row (:meth:`TimeSeries.set_sensor_state`) from its memory."""
    return {
        "sensor_id": sid,
        "ts": memory.last_ts,
        "value": memory.last_value,
        "state": state,
        "detail": memory.as_dict(),
    }


def _vehicle_row(vid: int, memory: VehicleMemory, state: str) -> dict[str, Any]:
    """A vehicle's live state row (:meth:`TimeSeries.set_vehicle_state`) from its memory."""
    return {
        "vehicle_id": vid,
        "ts": memory.last_ts,
        "lon": memory.lon,
        "lat": memory.lat,
        "speed_kmh": memory.speed_kmh,
        "heading_deg": memory.heading_deg,
        "state": state,
        "detail": dump_memory(memory),
    }


class Monitor(VehicleRules):
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
            vid: load_memory(VehicleMemory, row.get("detail")) for vid, row in self.series.vehicle_states().items()
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

    # ----------------------------------------------------------------- batches
    def _on_batch(
        self,
        reg: Registry,
        groups: dict[int, list[_Item]],
        rows: dict[int, dict[str, Any]],
        load: Callable[[], None],
        memory_of: Callable[[int], _Memory],
        ts_of: Callable[[_Item], dt.datetime],
        evaluate: Callable[[Registry, int, dict[str, Any], _Memory, list[_Item]], tuple[list[int], dict[str, Any]]],
        write: Callable[[list[dict[str, Any]]], int | None],
    ) -> Outcome:
        """Evaluate one batch of new items, grouped by sensor or vehicle, under the lock.

        Parameters
        ----------
        reg
            The registry of sensors and vehicles.
        groups
            The new items of each sensor or vehicle (sorted here, in place, by time).
        rows
            The registered sensors or vehicles by id; items of an unknown one are skipped.
        load
            Reads the memories from the store when another writer moved them.
        memory_of
            The memory of one sensor or vehicle (a new one when there is none yet).
        ts_of
            The time of one item.
        evaluate
            Evaluates the fresh items (newer than the memory's ``last_ts``) of one sensor or
            vehicle; returns the alarms it touched and the live state row to write.
        write
            Writes the live state rows; returns the state batch's seq.

        Returns
        -------
        Outcome
            How many items were late (not newer than the memory) and the alarms touched.
        """
        outcome = Outcome()
        with self.lock:
            load()
            states = []
            for key, items in groups.items():
                row = rows.get(key)
                if row is None:
                    continue
                items.sort(key=ts_of)
                memory = memory_of(key)
                fresh = [p for p in items if memory.last_ts is None or ts_of(p) > memory.last_ts]
                outcome.late += len(items) - len(fresh)
                if not fresh:
                    continue
                alarms, state = evaluate(reg, key, row, memory, fresh)
                outcome.alarms.extend(alarms)
                states.append(state)
            if states:
                self._wrote(write(states))
        return outcome

    # ----------------------------------------------------------------- sensors
    def on_readings(self, reg: Registry, new: list[Reading]) -> Outcome:
        """Evaluate newly stored readings; write the sensors' live state; raise and clear alarms."""
        by_sensor: dict[int, list[tuple[dt.datetime, float]]] = {}
        for sid, ts, value in new:
            by_sensor.setdefault(sid, []).append((ts, value))
        return self._on_batch(
            reg,
            by_sensor,
            reg.sensors,
            self._load_sensors,
            lambda sid: self.sensors.get(sid) or alarm_rules.SensorMemory(),
            lambda p: p[0],
            self._sensor_readings,
            self.series.set_sensor_state,
        )

    def _sensor_readings(
        self,
        reg: Registry,
        sid: int,
        row: dict[str, Any],
        memory: alarm_rules.SensorMemory,
        fresh: list[tuple[dt.datetime, float]],
    ) -> tuple[list[int], dict[str, Any]]:
        """One sensor's fresh ``(ts, value)`` readings: the alarms they touch and the sensor's live state."""
        alarms: list[int] = []
        memory, transitions = alarm_rules.evaluate(self._thresholds(reg, sid), memory, fresh)
        self.sensors[sid] = memory
        for t in transitions:
            alarms.extend(self._sensor_transition(reg, row, t))
        if self.sensor_state.get(sid) == "offline":
            last = fresh[-1][0]
            alarms.extend(live_alarms.recover(self.store, "offline", last, sensor_id=sid))
        state = memory.level
        self.sensor_state[sid] = state
        return alarms, _sensor_row(sid, memory, state)

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
        by_vehicle: dict[int, list[Position]] = {}
        for p in new:
            by_vehicle.setdefault(p[0], []).append(p)
        return self._on_batch(
            reg,
            by_vehicle,
            reg.vehicles,
            self._load_vehicles,
            lambda vid: self.vehicles.get(vid) or VehicleMemory(),
            lambda p: p[1],
            self._vehicle_positions,
            self.series.set_vehicle_state,
        )

    def _vehicle_positions(
        self, reg: Registry, vid: int, row: dict[str, Any], memory: VehicleMemory, fresh: list[Position]
    ) -> tuple[list[int], dict[str, Any]]:
        """One vehicle's fresh positions: the alarms they touch and the vehicle's live state."""
        alarms: list[int] = []
        if memory.offline:
            memory.offline = False
            alarms.extend(live_alarms.recover(self.store, "offline", fresh[0][1], vehicle_id=vid))
        alarms.extend(self._vehicle_rules(reg, row, memory, fresh))
        last = fresh[-1]
        memory.last_ts, memory.lon, memory.lat = last[1], last[2], last[3]
        memory.speed_kmh, memory.heading_deg = last[4], last[5]
        self.vehicles[vid] = memory
        return alarms, _vehicle_row(vid, memory, self._vehicle_state(memory))

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
                sensor_rows.append(_sensor_row(sid, memory, "offline"))
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
                vehicle_rows.append(_vehicle_row(vid, vm, "offline"))
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
