"""Double prevention (双重预防, issue 17) of the demo county — all synthetic.

* **Risk zones and points** (风险分区、风险点) of nine enterprises a county like 裕民 would grade
  first: the park's oil depot, LPG supply station, chemical trader (liquid chlorine next to the
  vocational school), cold-chain plant (liquid ammonia) and industrial-gas plant, the water
  works' chlorination room, a filling station, an LPG filling station and the copper mine.
  Zones are drawn around the enterprise's hazard sources where it has them, otherwise as
  20–80 m boxes beside its point. Every risk point carries factor values of the standard
  tables (LEC L∈{10,6,3,1,0.5,0.2,0.1}, E∈{10,6,3,2,1,0.5}, C∈{100,40,15,7,3,1}; LS L,S∈1–5)
  chosen so that all four colours occur; ``score`` and ``risk_level`` are left to the service.
* **Inspections and findings** (检查任务、隐患) from June to November 2026 with the checklists of
  ``data/standards/checklist_items.csv``: about a fifth 重大隐患, statuses mixed, several open
  findings past their deadline (逾期) on 2026-12-01 and several due in 2027; each finding's
  timeline (``hidden_danger_events``) follows its status.
* **Accidents 2020–2026** (生产安全事故), mostly road transport, two 较大 in seven years, placed on
  the demo roads or at the enterprise involved, and the **indicator denominators**
  (``indicator_years``; 2026's GDP not yet published).

:func:`write_demo_photos` adds a generated evidence photo (a grey JPEG saying 演示照片) to every
demo finding under review or closed, after the plan has been written
(:mod:`safemap.layers.demo.prevention_findings` drafts the inspections and findings and makes the photos).

The tables — risk-point templates, the enterprises' zones, inspections, findings, accidents and
indicator years — are synthetic CSV files in ``data/demo/`` (see its ``README.md``).
Names, phones, dates and figures are made up; every record says ``synthetic`` in ``source``.
Nothing here draws from the demo's shared random generator — it has its own, seeded apart.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import numpy as np
import shapely
from shapely.geometry import LineString, Point, Polygon

from safemap.layers.demo.county import County
from safemap.layers.demo.identities import person, phone
from safemap.layers.demo.plan import Plan
from safemap.layers.demo.prevention_findings import (
    SOURCE,
    TZ,
    demo_photo,
    inspections_and_findings,
    point_of,
    read_table,
    table_row,
    write_demo_photos,
)

__all__ = ["PREVENTION_LAYER_ORDER", "add_prevention", "demo_photo", "write_demo_photos"]

ACCIDENT_SOURCE = "synthetic：演示数据（虚构生产安全事故，非裕民县真实事故统计）"
INDICATOR_SOURCE = "synthetic：演示数据（虚构统计指标，量级参照县域统计年鉴，非公布数据）"
SEED = 17_2021
#: Insert order of the layers drafted here (after enterprises; each after the layers it refers to).
PREVENTION_LAYER_ORDER: tuple[str, ...] = (
    "risk_zones",
    "risk_points",
    "inspections",
    "hidden_dangers",
    "hidden_danger_events",
    "accidents",
    "indicator_years",
)

#: Risk-point template: (name, kind, method, factors, hazard, measures, control level).
#: ``factors`` are (L, E, C) for LEC and (L, S) for LS (``|``-joined in the CSV, whose ``rating``
#: column gives D or R and its colour for the reader).
RiskTemplate = tuple[str, str, str, tuple[float, ...], str, str, str]
#: Zone of an enterprise: (label, template set, outline). The outline is either hazard-source keys
#: (their envelope grown by 6 m) or a box (x0, y0, x1, y1) in metres relative to the enterprise point.
ZoneSpec = tuple[str, str, tuple[str, ...] | tuple[float, float, float, float]]
#: Accident: (date-time, industry, kind, deaths, serious injuries, minor injuries, loss 万元, operating vehicle,
#: place, name, description).
#: ``place`` is ``road:<class>``, ``ent:...`` (at that enterprise, referenced), ``incident:...`` (at the
#: demo incident) or ``town`` (in the county seat).
Accident = tuple[str, str, str, int, int, int, float, bool | None, str, str, str]
#: indicator_years row: (year, GDP 亿元 or None, GMT employees, coal output 万吨, operating vehicles).
IndicatorYear = tuple[int, float | None, int, float, int]
_BOOL = {"true": True, "false": False, "": None}


# ---------------------------------------------------------------------------- tables
def _zone_templates() -> dict[str, tuple[RiskTemplate, ...]]:
    """Risk-point templates by template group (``office`` is shared by every enterprise)."""
    groups: dict[str, list[RiskTemplate]] = {}
    for r in read_table("prevention_risk_templates"):
        factors = tuple(int(v) if v.isdigit() else float(v) for v in r["factors"].split("|"))
        row = (r["name"], r["kind"], r["method"], factors, r["hazard"], r["measures"], r["control_level"])
        groups.setdefault(r["template_group"], []).append(row)
    return {group: tuple(rows) for group, rows in groups.items()}


def _enterprise_zones() -> tuple[tuple[str, tuple[ZoneSpec, ...]], ...]:
    """Zones of each enterprise in file order: hazard-source keys, or the box when there are none."""
    zones: dict[str, list[ZoneSpec]] = {}
    for r in read_table("prevention_enterprise_zones"):
        outline: tuple[str, ...] | tuple[float, float, float, float]
        if r["hazard_sources"]:
            outline = tuple(r["hazard_sources"].split("|"))
        else:
            outline = (float(r["x0"]), float(r["y0"]), float(r["x1"]), float(r["y1"]))
        zones.setdefault(r["enterprise"], []).append((r["zone"], r["template_group"], outline))
    return tuple((ent, tuple(specs)) for ent, specs in zones.items())


def _accident_rows() -> tuple[Accident, ...]:
    return tuple(
        (
            r["occurred_at"],
            r["industry"],
            r["kind"],
            int(r["deaths"]),
            int(r["serious_injuries"]),
            int(r["minor_injuries"]),
            float(r["direct_loss_wan"]),
            _BOOL[r["vehicle_operating"]],
            r["place"],
            r["name"],
            r["description"],
        )
        for r in read_table("prevention_accidents")
    )


def _indicator_rows() -> tuple[IndicatorYear, ...]:
    return tuple(
        (
            int(r["year"]),
            float(r["gdp_100m_yuan"]) if r["gdp_100m_yuan"] else None,
            int(r["employees_gmt"]),
            float(r["coal_output_10kt"]),
            int(r["operating_vehicles"]),
        )
        for r in read_table("prevention_indicator_years")
    )


# ---------------------------------------------------------------------------- drafting
def _ensure_layers(plan: Plan) -> None:
    for name in PREVENTION_LAYER_ORDER:
        plan.layers.setdefault(name, [])


def add_prevention(plan: Plan, county: County) -> None:
    """Draft risk zones and points, inspections, findings with their timelines, accidents and indicator years.

    Call after the roads are drafted (accidents are placed on them). Uses its own generator.
    """
    _ensure_layers(plan)
    rng = np.random.default_rng(SEED)
    _risk(plan, county, rng)
    inspections_and_findings(plan, county, rng)
    _accidents(plan, county, rng)
    _indicator_years(plan)


def _zone_outline(plan: Plan, origin: Point, outline: Sequence[Any]) -> Polygon:
    if all(isinstance(v, str) for v in outline):
        merged = shapely.union_all([plan.get(k).geom for k in outline])
        x0, y0, x1, y1 = merged.bounds
        return shapely.box(x0 - 6.0, y0 - 6.0, x1 + 6.0, y1 + 6.0)
    x0, y0, x1, y1 = (float(v) for v in outline)
    return shapely.box(origin.x + x0, origin.y + y0, origin.x + x1, origin.y + y1)


def _inside(zone: Polygon, rng: np.random.Generator, taken: list[Point]) -> Point:
    """A point well inside ``zone``, a few metres from the points placed before."""
    x0, y0, x1, y1 = zone.bounds
    mx, my = min(4.0, (x1 - x0) / 4), min(4.0, (y1 - y0) / 4)
    cand = Point((x0 + x1) / 2, (y0 + y1) / 2)
    for _ in range(200):
        cand = Point(float(rng.uniform(x0 + mx, x1 - mx)), float(rng.uniform(y0 + my, y1 - my)))
        if all(cand.distance(p) >= 3.0 for p in taken):
            break
    taken.append(cand)
    return cand


def _factors(method: str, factors: Sequence[float]) -> dict[str, Any]:
    if method == "lec":
        l_, e, c = factors
        return {"lec_l": float(l_), "lec_e": float(e), "lec_c": float(c)}
    l_, s = factors
    return {"ls_l": int(l_), "ls_s": int(s)}


def _risk(plan: Plan, county: County, rng: np.random.Generator) -> None:
    templates = _zone_templates()
    for ent_key, zones in _enterprise_zones():
        ent = plan.get(ent_key)
        origin = point_of(plan, ent_key)
        ent_name = str(ent.props["name"])
        township = county.township_at((origin.x, origin.y))
        owner = person(rng)
        owner_phone = phone(rng)
        for z, (label, template_set, outline) in enumerate(zones, start=1):
            zone_key = f"rz:{ent_key}:{z}"
            poly = _zone_outline(plan, origin, outline)
            zone = plan.new(
                "risk_zones",
                zone_key,
                poly,
                name=f"{ent_name}·{label}",
                township=township,
                source=SOURCE,
                note=f"{label}（{len(templates[template_set])}个风险点）",
            )
            zone.refs["enterprise_id"] = ent_key
            taken: list[Point] = []
            keeper = person(rng)
            keeper_phone = phone(rng)
            for k, (name, kind, method, factors, hazard, measures, level) in enumerate(
                templates[template_set], start=1
            ):
                company = level == "公司级"
                assessed = dt.date(2026, 1, 5) + dt.timedelta(days=int(rng.integers(0, 150)))
                point = plan.new(
                    "risk_points",
                    f"rp:{ent_key}:{z}:{k}",
                    _inside(poly, rng, taken),
                    name=f"{label}·{name}",
                    township=township,
                    source=SOURCE,
                    kind=kind,
                    method=method,
                    hazard=hazard,
                    measures=measures,
                    control_level=level,
                    responsible=owner if company else keeper,
                    phone=owner_phone if company else keeper_phone,
                    assessed_on=assessed.isoformat(),
                    **_factors(method, factors),
                )
                point.refs["enterprise_id"] = ent_key
                point.refs["zone_id"] = zone_key


def _road_point(plan: Plan, road_class: str, rng: np.random.Generator) -> Point:
    roads = [d for d in plan.of("roads") if d.props.get("road_class") == road_class]
    road = roads[int(rng.integers(0, len(roads)))]
    line = road.geom
    assert isinstance(line, LineString)
    return line.interpolate(float(rng.uniform(0.2, 0.8)), normalized=True)


def _accidents(plan: Plan, county: County, rng: np.random.Generator) -> None:
    x0, y0, x1, y1 = county.town_box.bounds
    rows = _accident_rows()
    for k, (when, industry, kind, deaths, serious, minor, loss, operating, place, name, text) in enumerate(rows):
        ent_key = place if place.startswith("ent:") else None
        if place.startswith("road:"):
            at = _road_point(plan, place.split(":", 1)[1], rng)
        elif place == "town":
            at = Point(float(rng.uniform(x0 + 300, x1 - 300)), float(rng.uniform(y0 + 300, y1 - 300)))
        else:
            base = point_of(plan, place)
            at = Point(base.x + float(rng.uniform(-15, 15)), base.y + float(rng.uniform(-15, 15)))
        occurred = dt.datetime.fromisoformat(when).replace(tzinfo=TZ)
        draft = plan.new(
            "accidents",
            f"acc:{k + 1:02d}",
            at,
            name=f"{occurred.year}年{name}",
            township=county.township_at((at.x, at.y)),
            source=ACCIDENT_SOURCE,
            occurred_at=occurred.isoformat(),
            industry=industry,
            kind=kind,
            deaths=deaths,
            serious_injuries=serious,
            minor_injuries=minor,
            direct_loss_wan=loss,
            vehicle_operating=operating,
            description=text,
        )
        if ent_key:
            draft.refs["enterprise_id"] = ent_key


def _indicator_years(plan: Plan) -> None:
    for year, gdp, employees, coal, vehicles in _indicator_rows():
        table_row(
            plan,
            "indicator_years",
            f"iy:{year}",
            name=f"{year}年",
            source=INDICATOR_SOURCE + ("；地区生产总值尚未公布" if gdp is None else ""),
            year=year,
            gdp_100m_yuan=gdp,
            employees_gmt=employees,
            coal_output_10kt=coal,
            operating_vehicles=vehicles,
        )
