"""The vehicle rules of the live monitor: forbidden areas, the registered route, standing near sensitive targets.

Geofences apply to the kinds of vehicle they name and in their hours; the route and standing
rules apply to hazardous-goods trucks. A truck counts as standing when it moves less than
:data:`STOP_MOVE_M` between reports or reports under :data:`STOP_SPEED_KMH`; standing longer
than the limit (a ``no_stop`` area's ``max_stop_s`` inside it, else :data:`DWELL_S`) within
:data:`DWELL_RADIUS_M` of a school, kindergarten, hospital, nursing home or market raises
敏感目标附近停留. The geometry is pure (:mod:`safemap.gis.vehicle_rules`); this mixin of
:class:`~safemap.api.services.live_monitor.Monitor` turns it into alarms with Chinese messages.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from safemap.api.services import live_alarms
from safemap.api.services.incidents import durations_text
from safemap.api.services.live_alarms import AlarmInput
from safemap.api.services.live_registry import Registry
from safemap.gis import vehicle_rules
from safemap.layers.enums import VEHICLE_KIND
from safemap.layers.store import FeatureStore
from safemap.layers.timeseries import Position

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


def dump_memory(memory: Any) -> dict[str, Any]:
    """A memory dataclass as JSON-ready values (times as ISO text), for the state tables."""
    return {k: (v.isoformat() if isinstance(v, dt.datetime) else v) for k, v in dataclasses.asdict(memory).items()}


def load_memory(cls: Any, detail: dict[str, Any] | None) -> Any:
    """A memory dataclass from its stored ``detail`` (unknown keys ignored, times parsed)."""
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


def _in_hours(local: dt.datetime, hours: str | None) -> bool:
    try:
        return vehicle_rules.in_hours(local, hours)
    except ValueError:  # an impossible window such as 25:00-26:00 counts as always, never as never
        return True


class VehicleRules:
    """Vehicle rules of :class:`~safemap.api.services.live_monitor.Monitor` (which provides ``store``)."""

    store: FeatureStore

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
