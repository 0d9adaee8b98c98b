"""Live-data features of the demo county (issue 13): sensors, hazmat routes, vehicles, geofences — all synthetic.

* Sensors at the hazard sources a county like 裕民 would monitor online: toxic-gas detectors
  at the water works' chlorine room, the chemical warehouse (liquid chlorine) and both
  ammonia refrigeration plants; flammable-gas detectors plus level, pressure and temperature
  at the LPG tanks; flammable-gas detectors and level at the oil depot, the LNG tanks and the
  LPG filling stations; one anemometer in the park. Set points come from
  ``data/standards/sensor_alarm_defaults.csv`` (:func:`layers.live_layers.sensor_alarm_defaults`).
* Two registered hazmat routes along demo roads: G219 outside the county seat (fuel and LPG
  deliveries) and the 察汗托海—矿区公路 to the copper mine.
* Six hazmat trucks of the park's carriers and one vehicle per vehicle row of every rescue
  team (``team_id`` set), parked at their base.
* Four geofences: no entry for hazmat trucks in the county seat's centre, no stopping near
  three of its schools during school hours.

The county seat of the demo is the town grid of :mod:`layers.demo.town` (哈拉布拉镇). Plates
are made up (新G: 塔城地区). Nothing here draws from the demo's shared generator.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely
from shapely.geometry import LineString, Point, box
from shapely.geometry.base import BaseGeometry

from safemap.layers.demo.county import County
from safemap.layers.demo.plan import Plan
from safemap.layers.demo.town import Town
from safemap.layers.enums import VEHICLE_PROFILE
from safemap.layers.live_layers import DEFAULT_STALE_AFTER_S, sensor_alarm_defaults

SOURCE = "synthetic: 虚构在线监测设备（编码、位置与报警设定值为演示数据）"
ROUTE_SOURCE = "synthetic: 虚构危险货物运输登记路线（沿演示路网生成）"
VEHICLE_SOURCE = "synthetic: 虚构车辆（车牌号为演示数据，不对应真实车辆）"
FENCE_SOURCE = "synthetic: 虚构电子围栏（范围为演示数据）"
SEED = 13_2021

#: Insert order of the live layers (after every layer they refer to).
LIVE_LAYER_ORDER: tuple[str, ...] = ("hazmat_routes", "sensors", "vehicles", "geofences")

#: (hazard-source key, code prefix, [(kind, unit, substance)]) of the monitored hazard sources.
MONITORED: tuple[tuple[str, str, tuple[tuple[str, str, str], ...]], ...] = (
    ("hz:town:chlorine", "WW-CL2", (("toxic_gas", "mg_m3", "氯"), ("toxic_gas", "mg_m3", "氯"))),
    ("hz:park:chem_warehouse", "CW-CL2", (("toxic_gas", "mg_m3", "氯"), ("flammable_gas", "pct_lel", ""))),
    ("hz:town:ammonia", "CS-NH3", (("toxic_gas", "mg_m3", "氨"), ("toxic_gas", "mg_m3", "氨"))),
    ("hz:park:ammonia", "PK-NH3", (("toxic_gas", "mg_m3", "氨"),)),
    *(
        (
            f"hz:park:lpg_tank{k}",
            f"LPG-T{k}",
            (
                ("flammable_gas", "pct_lel", "液化石油气"),
                ("liquid_level", "pct", ""),
                ("pressure", "mpa", "液化石油气"),
                ("temperature", "degc", "液化石油气"),
            ),
        )
        for k in (1, 2, 3)
    ),
    *(
        (f"hz:park:oil_tank{k}", f"OIL-T{k}", (("flammable_gas", "pct_lel", "汽油"), ("liquid_level", "pct", "")))
        for k in (1, 2)
    ),
    *(
        (f"hz:park:oil_tank{k}", f"OIL-T{k}", (("flammable_gas", "pct_lel", ""), ("liquid_level", "pct", "")))
        for k in (3, 4, 5)
    ),
    *(
        (f"hz:park:lng_tank{k}", f"LNG-T{k}", (("flammable_gas", "pct_lel", "天然气"), ("liquid_level", "pct", "")))
        for k in (1, 2)
    ),
    ("hz:fuel:road01", "GS-N", (("flammable_gas", "pct_lel", "液化石油气"),)),
    ("hz:fuel:road04", "GS-E", (("flammable_gas", "pct_lel", "液化石油气"),)),
)
KIND_LABEL = {
    "toxic_gas": "有毒气体探测器",
    "flammable_gas": "可燃气体探测器",
    "liquid_level": "液位计",
    "pressure": "压力变送器",
    "temperature": "温度变送器",
    "wind_speed": "风速仪",
}
RANGES = {"pct_lel": (0.0, 100.0), "mg_m3": (0.0, 50.0), "pct": (0.0, 100.0), "mpa": (0.0, 2.5), "degc": (-40.0, 80.0)}
RATE_LIMITS = {"pct_lel": 10.0, "mg_m3": 5.0, "pct": 5.0, "mpa": 0.2, "degc": 5.0}

#: (plate, carrier enterprise key, route: 0 G219 / 1 mine road, cargo, UN number, trailer).
TRUCKS: tuple[tuple[str, str, int, str, str], ...] = (
    ("新G31752", "ent:park:oil_depot", 0, "汽油", "1203"),
    ("新G31768", "ent:park:oil_depot", 0, "柴油", "1202"),
    ("新G2817挂", "ent:park:oil_depot", 1, "柴油", "1202"),
    ("新G50391", "ent:park:lpg", 0, "液化石油气", "1075"),
    ("新G50406", "ent:park:lpg", 0, "液化石油气", "1075"),
    ("新G7A236", "ent:mine:copper", 1, "工业炸药", "0241"),
)
SCHOOL_ZONES = ("pt:town:15_8", "pt:town:3_2", "pt:town:15_3")


def _defaults() -> dict[tuple[str, str, str], dict[str, Any]]:
    return {(r["kind"], r["unit"], r["substance"]): r for r in sensor_alarm_defaults()}


def _centre(geom: BaseGeometry) -> Point:
    return geom if isinstance(geom, Point) else geom.representative_point()


def _ensure_layers(plan: Plan) -> None:
    for name in LIVE_LAYER_ORDER:
        plan.layers.setdefault(name, [])


def add_live(plan: Plan, county: County, town: Town) -> None:
    """Draft sensors, hazmat routes, vehicles and geofences (call after the roads are drafted)."""
    _ensure_layers(plan)
    rng = np.random.default_rng(SEED)
    _sensors(plan, county, rng)
    routes = _routes(plan, county, town)
    _vehicles(plan, county, routes, rng)
    _geofences(plan, county, town)


def _sensors(plan: Plan, county: County, rng: np.random.Generator) -> None:
    defaults = _defaults()
    for hz_key, prefix, channels in MONITORED:
        hz = plan.get(hz_key)
        c = _centre(hz.geom)
        ent_key = hz.refs.get("enterprise_id")
        for k, (kind, unit, substance) in enumerate(channels):
            angle = 2 * np.pi * k / max(len(channels), 1) + float(rng.uniform(0, 0.5))
            xy = (c.x + 6.0 * np.cos(angle), c.y + 6.0 * np.sin(angle))
            d = defaults.get((kind, unit, substance)) or defaults.get((kind, unit, ""), {})
            lo, hi = RANGES[unit]
            standard = _basis(d)
            draft = plan.new(
                "sensors",
                f"sensor:{prefix}:{k + 1}",
                Point(xy),
                name=f"{hz.props['name']}{substance}{KIND_LABEL[kind]}{k + 1}#",
                township=county.township_at(xy),
                source=SOURCE,
                code=f"YM-{prefix}-{kind.upper().replace('_', '')[:4]}{k + 1:02d}",
                kind=kind,
                unit=unit,
                substance=substance or None,
                range_min=lo,
                range_max=hi,
                high_1=d.get("high_1"),
                high_2=d.get("high_2"),
                low_1=d.get("low_1"),
                low_2=d.get("low_2"),
                deadband=d.get("deadband"),
                rate_limit=RATE_LIMITS[unit],
                stale_after_s=DEFAULT_STALE_AFTER_S,
                standard=standard,
                note="报警设定值取自 sensor_alarm_defaults.csv（演示，未按设计文件核定）",
            )
            draft.refs["hazard_source_id"] = hz_key
            if ent_key:
                draft.refs["enterprise_id"] = ent_key
    lpg = plan.get("ent:park:lpg")
    at = _centre(lpg.geom)
    draft = plan.new(
        "sensors",
        "sensor:PARK-WIND",
        Point(at.x - 30.0, at.y + 30.0),
        name="工业园区气象站风速仪",
        township=county.township_at((at.x, at.y)),
        source=SOURCE,
        code="YM-PARK-WIND01",
        kind="wind_speed",
        unit="m_s",
        range_min=0.0,
        range_max=60.0,
        stale_after_s=DEFAULT_STALE_AFTER_S,
    )
    draft.refs["enterprise_id"] = "ent:park:lpg"


def _basis(row: dict[str, Any]) -> str | None:
    """``GB/T 50493-2019 5.5.2; GBZ 2.1-2019 表1`` from the CSV's parallel standard/clause lists."""
    standards = [x.strip() for x in str(row.get("standard") or "").split(";") if x.strip()]
    clauses = [x.strip() for x in str(row.get("clause") or "").split(";")]
    parts = [f"{s} {clauses[i]}".strip() if i < len(clauses) else s for i, s in enumerate(standards)]
    return "; ".join(parts) or None


def _merged(lines: list[BaseGeometry]) -> LineString:
    """The lines merged; the longest piece when they do not join into one (the validator takes one line)."""
    merged = shapely.line_merge(shapely.union_all(lines))
    if isinstance(merged, LineString):
        return merged
    return max(getattr(merged, "geoms", []), key=lambda g: g.length)


def _routes(plan: Plan, county: County, town: Town) -> list[str]:
    seat = box(min(town.xs), min(town.ys), max(town.xs), max(town.ys))
    g219 = [d.geom for d in plan.of("roads") if d.props.get("ref") == "G219" and not seat.contains(d.geom.centroid)]
    mine = [d.geom for d in plan.of("roads") if d.props.get("name") == "察汗托海—矿区公路"]
    keys = []
    for key, name, lines, ent, note in (
        (
            "route:g219",
            "G219线危险货物运输登记路线（县城外段）",
            g219,
            "ent:park:oil_depot",
            "成品油、液化石油气运输；不得穿越县城中心区",
        ),
        ("route:mine", "察汗托海—矿区公路危险货物运输登记路线", mine, "ent:mine:copper", "民用爆炸物品、柴油运输"),
    ):
        if not lines:
            continue
        geom = _merged(lines)
        mid = _centre(geom)
        draft = plan.new(
            "hazmat_routes",
            key,
            geom,
            name=name,
            township=county.township_at((mid.x, mid.y)),
            source=ROUTE_SOURCE,
            note=note,
        )
        draft.refs["enterprise_id"] = ent
        keys.append(key)
    return keys


def _vehicles(plan: Plan, county: County, routes: list[str], rng: np.random.Generator) -> None:
    for k, (plate, ent_key, route, cargo, un) in enumerate(TRUCKS):
        base = _centre(plan.get(ent_key).geom)
        xy = (base.x + 15.0 + 6.0 * k, base.y - 20.0)
        draft = plan.new(
            "vehicles",
            f"vehicle:{plate}",
            Point(xy),
            name=f"{plan.get(ent_key).props['name']}{cargo}运输车（{plate}）",
            township=county.township_at(xy),
            source=VEHICLE_SOURCE,
            plate=plate,
            kind="hazmat_truck",
            cargo=cargo,
            un_number=un,
            max_off_route_m=500.0,
            phone=f"1399901{int(rng.integers(0, 10_000)):04d}",
        )
        draft.refs["enterprise_id"] = ent_key
        if route < len(routes):
            draft.refs["route_id"] = routes[route]
    serial = 0
    for team in plan.of("rescue_teams"):
        base = _centre(team.geom)
        for row in team.children.get("vehicles", []):
            serial += 1
            xy = (base.x + 8.0 * (serial % 5), base.y + 8.0 * (serial // 5 % 3))
            plate = f"新G{'XF' if serial % 2 else 'YJ'}{serial:03d}"
            draft = plan.new(
                "vehicles",
                f"vehicle:{team.key}:{row['profile']}",
                Point(xy),
                name=f"{team.props['name']}{_profile_label(row['profile'])}",
                township=team.props.get("township"),
                source=VEHICLE_SOURCE,
                plate=plate,
                kind="rescue",
                profile=row["profile"],
                phone=team.props.get("phone"),
            )
            draft.refs["team_id"] = team.key


def _profile_label(code: str) -> str:
    return str(VEHICLE_PROFILE.label(code))


def _geofences(plan: Plan, county: County, town: Town) -> None:
    cx, cy = town.centre
    centre = box(cx - 700.0, cy - 450.0, cx + 700.0, cy + 450.0)
    plan.new(
        "geofences",
        "fence:town_centre",
        centre,
        name="县城中心区危险货物运输车辆禁行区",
        township=county.township_at((cx, cy)),
        source=FENCE_SOURCE,
        kind="town_centre",
        rule="no_entry",
        applies_to="hazmat_truck",
        note="危险货物运输车辆禁止驶入县城中心区（演示范围）",
    )
    for key in SCHOOL_ZONES:
        school = plan.get(key)
        at = _centre(school.geom)
        plan.new(
            "geofences",
            f"fence:{key}",
            at.buffer(200.0, 16),
            name=f"{school.props['name']}周边禁停区",
            township=school.props.get("township") or county.township_at((at.x, at.y)),
            source=FENCE_SOURCE,
            kind="school_zone",
            rule="no_stop",
            applies_to="hazmat_truck",
            max_stop_s=300,
            hours="07:00-20:00",
            note="上学、放学时段危险货物运输车辆不得在学校周边200 m内停留（演示）",
        )


__all__ = ["LIVE_LAYER_ORDER", "add_live"]
