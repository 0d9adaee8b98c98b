"""Synthetic live data for the demo county (``safemap simulate``): readings, truck movements, a slow leak.

Everything here is invented, to show the live picture without devices; the demo's sensors and
vehicles are themselves synthetic (their ``source`` says so). What it produces:

* every sensor reports every ``interval`` seconds around a plausible value for its kind (gas
  detectors near 0–3 %LEL or a fraction of their first set point, tank levels 40–70 % with a
  slow drift, pressures and temperatures with a daily swing) with small noise;
* **a slow leak** at one gas detector (the first flammable-gas detector, else the first toxic-gas
  one): starting ``leak_after`` seconds into the run its reading climbs linearly, crossing its
  一级 and then its 二级 set point over ``leak_ramp`` seconds, so alarms follow their life;
* hazardous-goods trucks drive their registered routes back and forth at 40–60 km/h, one of them
  leaves its route half-way for a few minutes (偏离登记路线) and comes back;
* rescue vehicles stand at their base and report every few minutes.

:func:`frames` yields ``(time, readings, positions)`` per tick in simulated time; the CLI sends
them in-process (:mod:`ingest`), to a running server over HTTP, or to an MQTT broker.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pyproj import Geod
from shapely.geometry import LineString, MultiLineString, Point
from shapely.geometry.base import BaseGeometry

from safemap.api.services.live_registry import Registry

GEOD = Geod(ellps="WGS84")


@dataclass(frozen=True)
class Plan:
    """How the simulation runs (seconds are simulated time)."""

    start: dt.datetime
    duration_s: float = 3600.0
    interval_s: float = 10.0
    leak_after_s: float = 120.0
    leak_ramp_s: float = 900.0
    rescue_every_s: float = 300.0
    seed: int = 13


def _baseline(row: dict[str, Any], t: float, rnd: random.Random) -> float:
    """A plausible undisturbed reading of the sensor at ``t`` seconds into the day."""
    kind = row.get("kind")
    day = math.sin(2 * math.pi * (t % 86400) / 86400)
    h1 = row.get("high_1")
    if kind == "flammable_gas":
        return max(0.0, 1.0 + rnd.gauss(0, 0.4))
    if kind == "toxic_gas":
        base = 0.05 * float(h1) if h1 else 0.1
        return max(0.0, base * (1 + rnd.gauss(0, 0.3)))
    if kind == "liquid_level":
        low = float(row.get("low_1") or 10.0)
        high = float(h1 or 90.0)
        return low + (high - low) * (0.55 + 0.05 * day) + rnd.gauss(0, 0.2)
    if kind == "pressure":
        ref = float(h1) * 0.6 if h1 else 0.4
        return ref * (1 + 0.03 * day) + rnd.gauss(0, ref * 0.005)
    if kind == "temperature":
        return 12.0 + 8.0 * day + rnd.gauss(0, 0.3)
    if kind == "oxygen":
        return 20.9 + rnd.gauss(0, 0.05)
    if kind == "wind_speed":
        return max(0.0, 3.0 + 1.5 * day + rnd.gauss(0, 0.5))
    return rnd.gauss(0, 1)


def leak_sensor(reg: Registry) -> int | None:
    """The gas detector the leak happens at: the first flammable-gas one with set points, else toxic."""
    for kind in ("flammable_gas", "toxic_gas"):
        for sid, row in sorted(reg.sensors.items()):
            if row.get("kind") == kind and row.get("high_2") is not None:
                return sid
    return None


def _leak_value(row: dict[str, Any], since: float, ramp: float, base: float) -> float:
    """The leaking detector's reading ``since`` seconds after the leak began: up to 1.2 × 二级 over ``ramp``."""
    peak = 1.2 * float(row["high_2"])
    share = min(1.0, max(0.0, since / ramp))
    return base + (peak - base) * share


def _lines(geom: BaseGeometry | None) -> LineString | None:
    if isinstance(geom, LineString):
        return geom
    if isinstance(geom, MultiLineString) and not geom.is_empty:
        return max(geom.geoms, key=lambda g: g.length)
    return None


@dataclass
class _Truck:
    vid: int
    plate: str
    line: LineString
    length_m: float
    speed_ms: float
    offset_m: float
    wander: bool


def _trucks(reg: Registry, rnd: random.Random) -> list[_Truck]:
    trucks = []
    for vid, row in sorted(reg.vehicles.items()):
        if row.get("kind") != "hazmat_truck" or not row.get("route_id"):
            continue
        line = _lines(reg.routes.get(int(row["route_id"])))
        if line is None:
            continue
        length = float(GEOD.geometry_length(line))
        if length < 100:
            continue
        trucks.append(
            _Truck(vid, row["plate"], line, length, rnd.uniform(40, 60) / 3.6, rnd.uniform(0, length), not trucks)
        )
    return trucks


def _along(truck: _Truck, travelled: float) -> tuple[float, float, float]:
    """Position and heading of a truck shuttling along its route after ``travelled`` metres."""
    cycle = travelled % (2 * truck.length_m)
    forward = cycle <= truck.length_m
    share = (cycle if forward else 2 * truck.length_m - cycle) / truck.length_m
    p = truck.line.interpolate(share, normalized=True)
    q = truck.line.interpolate(min(1.0, share + 0.001) if forward else max(0.0, share - 0.001), normalized=True)
    heading, _, _ = GEOD.inv(p.x, p.y, q.x, q.y)
    return float(p.x), float(p.y), float(heading % 360)


def frames(reg: Registry, plan: Plan) -> Iterator[tuple[dt.datetime, list[dict[str, Any]], list[dict[str, Any]]]]:
    """Simulated messages tick by tick: ``(time, readings, positions)`` in the ingest's JSON shape."""
    rnd = random.Random(plan.seed)
    leak = leak_sensor(reg)
    trucks = _trucks(reg, rnd)
    rescue = [
        (vid, row)
        for vid, row in sorted(reg.vehicles.items())
        if row.get("kind") == "rescue" and reg.vehicle_geoms.get(vid) is not None
    ]
    ticks = int(plan.duration_s // plan.interval_s) + 1
    for i in range(ticks):
        t = i * plan.interval_s
        now = plan.start + dt.timedelta(seconds=t)
        day_s = now.hour * 3600 + now.minute * 60 + now.second
        readings = []
        for sid, row in sorted(reg.sensors.items()):
            value = _baseline(row, day_s, rnd)
            if sid == leak and t >= plan.leak_after_s:
                value = _leak_value(row, t - plan.leak_after_s, plan.leak_ramp_s, value)
            readings.append({"sensor": row["code"], "ts": now.isoformat(), "value": round(value, 3)})
        positions = []
        for truck in trucks:
            x, y, heading = _along(truck, truck.offset_m + truck.speed_ms * t)
            # The first truck leaves its route for ~5 min a third of the way through the run.
            if truck.wander and plan.duration_s / 3 <= t < plan.duration_s / 3 + 300:
                x, y, _ = GEOD.fwd(x, y, (heading + 90) % 360, 1200.0)
            speed = truck.speed_ms * 3.6 + rnd.gauss(0, 2)
            positions.append(
                {
                    "plate": truck.plate,
                    "ts": now.isoformat(),
                    "lon": round(x, 6),
                    "lat": round(y, 6),
                    "speed_kmh": round(max(0.0, speed), 1),
                    "heading": round(heading, 1),
                }
            )
        if t % plan.rescue_every_s < plan.interval_s:
            for vid, row in rescue:
                base: Point = reg.vehicle_geoms[vid]
                positions.append(
                    {
                        "plate": row["plate"],
                        "ts": now.isoformat(),
                        "lon": round(base.x, 6),
                        "lat": round(base.y, 6),
                        "speed_kmh": 0.0,
                    }
                )
        yield now, readings, positions
