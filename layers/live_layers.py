"""Layers of live data (issue 13): sensors, hazmat routes, vehicles, geofences and alarms.

* ``sensors`` 监测传感器 — one per device channel (gas detector, tank level, pressure,
  temperature …) at the place it measures, with its alarm set points (一级/二级 high,
  low, 回差, rate of change) in its own unit. Devices report under ``code``.
* ``hazmat_routes`` 危险货物运输登记路线 — the route a carrier registered for its trucks.
* ``vehicles`` 车辆 — hazmat trucks and rescue vehicles; the point is the home base.
* ``geofences`` 电子围栏 — areas a hazmat truck may not enter or stop in.
* ``alarms`` 报警 — raised, acknowledged, recovered and closed by the alarm service only
  (``editors`` empty, every change audited, so it reaches every map through the event stream).

The readings and positions themselves are time series, not layers (:mod:`layers.timeseries`).

Uniqueness of ``sensors.code`` and ``vehicles.plate``: the catalogue has no unique-field
mechanism (no :class:`~layers.catalogue.Field` option, no unique index on layer tables), so
none is declared here; the ingest services look devices up by code/plate and refuse an
ambiguous one.

Default alarm set points per kind and substance are data:
``data/standards/sensor_alarm_defaults.csv`` (:func:`sensor_alarm_defaults`).
"""

from __future__ import annotations

import csv
from typing import Any

from safemap.layers import paths
from safemap.layers.catalogue import EnumType, Field, GeometryType, Layer, Style, common_fields
from safemap.layers.enums import (
    ALARM_KIND,
    ALARM_STATE,
    GEOFENCE_APPLIES,
    GEOFENCE_KIND,
    GEOFENCE_RULE,
    SENSOR_KIND,
    SENSOR_UNIT,
    VEHICLE_KIND,
    VEHICLE_PROFILE,
)

LIVE = "监测预警"
#: Truck routes and no-entry areas sit with the roads in the layer tree (traffic controls, not devices).
ROADS = "道路与消防车道"
POLY: tuple[GeometryType, ...] = ("Polygon", "MultiPolygon")
LINES: tuple[GeometryType, ...] = ("LineString", "MultiLineString")
PHONE = r"[0-9+\-() ]{5,30}"
SENSOR_CODE = r"[A-Za-z0-9_.:-]{1,64}"
PLATE = r"[\u4e00-\u9fa5][A-Z][A-Z0-9]{4,6}[\u4e00-\u9fa5]?"
HOURS = r"\d{2}:\d{2}-\d{2}:\d{2}"
DEFAULT_STALE_AFTER_S = 300
DEFAULT_MAX_OFF_ROUTE_M = 500.0
DEFAULT_MAX_STOP_S = 600
ALARM_DEFAULTS_CSV = "standards/sensor_alarm_defaults.csv"


def _setpoint(name: str, label: str) -> Field:
    return Field(name, "float", label, minimum=-1e9, maximum=1e9, description="Alarm set point in the sensor's unit.")


def _required_enum(name: str, label: str, enum: EnumType) -> Field:
    """A required field taking one code of ``enum`` (``kind``, ``unit``, ``state`` …)."""
    return Field(name, "enum", label, required=True, enum=enum)


def _site_refs() -> tuple[Field, ...]:
    """The hazard source and the enterprise a sensor or an alarm belongs to."""
    return (
        Field("hazard_source_id", "int", "危险源编号", references="hazard_sources"),
        Field("enterprise_id", "int", "企业编号", references="enterprises"),
    )


def _carrier() -> Field:
    """The carrier (an enterprise) of a registered route or a vehicle."""
    return Field("enterprise_id", "int", "承运企业编号", references="enterprises")


def _note() -> Field:
    """The free-text note that ends a layer's own fields."""
    return Field("note", "str", "备注", max_length=500)


SENSORS = Layer(
    name="sensors",
    label="监测传感器",
    group=LIVE,
    geometry_types=("Point",),
    fields=(
        *common_fields(),
        Field(
            "code",
            "str",
            "设备编码",
            required=True,
            max_length=64,
            pattern=SENSOR_CODE,
            description="The code the device reports under; unique (services look sensors up by it).",
        ),
        _required_enum("kind", "监测类型", SENSOR_KIND),
        _required_enum("unit", "计量单位", SENSOR_UNIT),
        *_site_refs(),
        Field("substance", "str", "监测物质", max_length=100),
        Field("range_min", "float", "量程下限", minimum=-1e9, maximum=1e9),
        Field("range_max", "float", "量程上限", minimum=-1e9, maximum=1e9),
        _setpoint("high_1", "一级报警值（高报）"),
        _setpoint("high_2", "二级报警值（高高报）"),
        _setpoint("low_1", "低报值"),
        _setpoint("low_2", "低低报值"),
        Field("deadband", "float", "回差", minimum=0, maximum=1e9, description="Hysteresis, in the sensor's unit."),
        Field(
            "rate_limit",
            "float",
            "变化速率报警值",
            minimum=1e-9,
            maximum=1e9,
            description="Alarm when the value changes faster than this, in the sensor's unit per minute.",
        ),
        Field(
            "stale_after_s",
            "int",
            "离线判定时间",
            unit="s",
            minimum=1,
            maximum=30 * 86400,
            description=f"No reading for this long: offline (empty: {DEFAULT_STALE_AFTER_S} s).",
        ),
        Field("standard", "str", "依据", max_length=200, description='e.g. "GB/T 50493-2019 5.5.2".'),
        _note(),
    ),
    # Drawn live by the 监测预警 panel (state colours, positions that move), not as a static layer.
    style=None,
    editors=frozenset({"planner", "dispatcher", "admin"}),
    description="Monitoring sensors (gas detectors, tank level, pressure, temperature) with their alarm set points.",
)

HAZMAT_ROUTES = Layer(
    name="hazmat_routes",
    label="危险货物运输登记路线",
    group=ROADS,
    geometry_types=LINES,
    fields=(
        *common_fields(),
        _carrier(),
        _note(),
    ),
    style=Style("line", "#ff6f00", weight=4),
    editors=frozenset({"dispatcher", "admin"}),
    description="Routes registered for hazardous-goods trucks; leaving one raises an off-route alarm.",
)

VEHICLES = Layer(
    name="vehicles",
    label="车辆",
    group=LIVE,
    geometry_types=("Point",),
    fields=(
        *common_fields(),
        Field(
            "plate",
            "str",
            "车牌号",
            required=True,
            max_length=12,
            pattern=PLATE,
            description="Licence plate, e.g. 新F12345 or 新F1234挂; unique (positions are reported under it).",
        ),
        _required_enum("kind", "车辆类型", VEHICLE_KIND),
        _carrier(),
        Field("team_id", "int", "救援队伍编号", references="rescue_teams"),
        Field("profile", "enum", "车型", enum=VEHICLE_PROFILE),
        Field("cargo", "str", "装载货物", max_length=200),
        Field("un_number", "str", "联合国编号", max_length=4, pattern=r"\d{4}"),
        Field("route_id", "int", "登记路线编号", references="hazmat_routes"),
        Field(
            "max_off_route_m",
            "float",
            "允许偏离距离",
            unit="m",
            minimum=0,
            maximum=100_000,
            description=f"Empty: {DEFAULT_MAX_OFF_ROUTE_M:g} m.",
        ),
        Field("phone", "str", "联系电话", max_length=30, pattern=PHONE),
        _note(),
    ),
    # Drawn live by the 监测预警 panel (state colours, positions that move), not as a static layer.
    style=None,
    editors=frozenset({"dispatcher", "admin"}),
    description="Hazmat trucks and rescue vehicles; the point is the home base, live positions are a time series.",
)

GEOFENCES = Layer(
    name="geofences",
    label="电子围栏",
    group=ROADS,
    geometry_types=POLY,
    fields=(
        *common_fields(),
        _required_enum("kind", "围栏类型", GEOFENCE_KIND),
        _required_enum("rule", "规则", GEOFENCE_RULE),
        _required_enum("applies_to", "适用车辆", GEOFENCE_APPLIES),
        Field(
            "max_stop_s",
            "int",
            "允许停留时间",
            unit="s",
            minimum=0,
            maximum=86400,
            description=f"For no_stop and the dwell rule (empty: {DEFAULT_MAX_STOP_S} s).",
        ),
        Field(
            "hours",
            "str",
            "生效时段",
            max_length=11,
            pattern=HOURS,
            description="e.g. 07:00-20:00 (local time); empty: always.",
        ),
        _note(),
    ),
    style=Style("fill", "#ad1457", by="kind", weight=2, fill_opacity=0.12),
    editors=frozenset({"dispatcher", "planner", "admin"}),
    description="Geofences: areas hazmat trucks may not enter (town centre) or stop in (school zones).",
)

ALARMS = Layer(
    name="alarms",
    label="报警",
    group=LIVE,
    geometry_types=("Point",),
    fields=(
        *common_fields(),
        _required_enum("kind", "报警类型", ALARM_KIND),
        _required_enum("state", "报警状态", ALARM_STATE),
        Field("level", "int", "报警级别", minimum=1, maximum=2),
        Field("sensor_id", "int", "传感器编号", references="sensors"),
        Field("vehicle_id", "int", "车辆编号", references="vehicles"),
        Field("geofence_id", "int", "电子围栏编号", references="geofences"),
        *_site_refs(),
        Field("incident_id", "int", "事件编号", references="incidents"),
        Field("danger_id", "int", "隐患编号", references="hidden_dangers"),
        Field("substance", "str", "物质", max_length=100),
        Field("value", "float", "报警时数值"),
        Field("threshold", "float", "报警阈值"),
        Field("unit", "str", "单位", max_length=20),
        Field("message", "str", "报警内容", max_length=1000),
        Field("raised_at", "datetime", "报警时间"),
        Field("acknowledged_at", "datetime", "确认时间"),
        Field("recovered_at", "datetime", "恢复时间"),
        Field("closed_at", "datetime", "关闭时间"),
        Field("acknowledged_by", "str", "确认人", max_length=100),
        Field("closed_by", "str", "关闭人", max_length=100),
        Field("ack_note", "str", "处置说明", max_length=1000),
    ),
    # Drawn live by the 监测预警 panel (state colours, positions that move), not as a static layer.
    style=None,
    editors=frozenset(),
    temporal="raised_at",
    description="Alarms of sensors and vehicles (报警 → 确认 → 恢复 → 关闭), written by the alarm service only.",
)

LIVE_DATA_LAYERS: tuple[Layer, ...] = (SENSORS, HAZMAT_ROUTES, VEHICLES, GEOFENCES, ALARMS)

_FLOATS = ("high_1", "high_2", "low_1", "low_2", "deadband")


def sensor_alarm_defaults() -> list[dict[str, Any]]:
    """Default alarm set points per sensor kind and substance (``data/standards/sensor_alarm_defaults.csv``).

    Set points are floats in ``unit`` (``None`` when empty); ``note`` says 【未核实】 for every
    number not confirmed against a primary copy of the standard.
    """
    path = paths.DATA_DIR / ALARM_DEFAULTS_CSV
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    out: list[dict[str, Any]] = []
    for row in rows:
        item: dict[str, Any] = {k: (v.strip() if v is not None else "") for k, v in row.items()}
        for key in _FLOATS:
            item[key] = float(item[key]) if item.get(key) else None
        out.append(item)
    return out
