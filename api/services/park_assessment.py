"""Area-wide safety risk assessment of an industrial park (园区整体性安全风险评估, issue 18 item 2).

For one area (an ``admin_boundaries`` row of level ``industrial_park`` or a drawn polygon) this
module gathers, as plain JSON-ready data, what the report (:mod:`safemap.api.reports.park`),
the API and the CLI show:

1. the enterprises and hazard sources inside, with GB 18218 grade, S and R as stored;
2. the cumulative individual risk of every scenario of the sources inside — and of those
   outside whose reach crosses the area — against the GB 36894-2018 limits: contours at
   3×10⁻⁵, 1×10⁻⁵, 3×10⁻⁶ and 3×10⁻⁷ /年 and the protected targets in each band;
3. the societal risk (F–N curve) against F = 10⁻³/N and 10⁻⁵/N (GB 36894-2018 as read by
   Cheng et al., *Processes* 2023, 11, 1442; see ``reference/safety-standards.md`` §2), with
   a verdict that is 无法判断 — never 可接受 — when nothing could be computed;
4. domino escalation (:mod:`safemap.api.services.domino`) and IR/F–N with escalation;
5. with a proposed unit, the admission check.

Sections 2–5 are computed by :mod:`safemap.api.services.park_admission` (shared with the
admission check); this module finds the area, lists what is inside and puts the result together.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import shapely
from shapely.geometry import mapping, shape

from safemap.api.reports.clock import stamp
from safemap.api.services import safety as safety_service
from safemap.api.services.park_admission import (
    ACCEPTABLE,
    ALARP,
    BANDS,
    UNACCEPTABLE,
    UNKNOWN,
    Proposed,
    admission,
    band_of,
    domino_section,
    individual_risk,
    societal_risk,
    societal_verdict,
)
from safemap.api.services.problems import invalid
from safemap.gis.individual_risk import DEFAULT_WEATHER, Scenario, Weather
from safemap.gis.numbers import finite
from safemap.layers.enums import HAZARD_KIND, INDUSTRY, RISK_LEVEL
from safemap.layers.errors import FeatureNotFound
from safemap.layers.labels import grade_label, number_text
from safemap.layers.store import FeatureStore

#: The verdict words and risk sections live in park_admission (shared with the admission check).
__all__ = [
    "ACCEPTABLE",
    "ALARP",
    "BANDS",
    "UNACCEPTABLE",
    "UNKNOWN",
    "Area",
    "area_scenarios",
    "areas",
    "assess",
    "band_of",
    "inventory",
    "parse_proposed",
    "resolve_area",
    "societal_verdict",
    "summary",
]


@dataclass
class Area:
    """The area assessed: its name, boundary id (``None`` for a drawn polygon) and polygon (lon/lat)."""

    name: str
    boundary_id: int | None
    polygon: Any


# ---------------------------------------------------------------------------- areas


def areas(store: FeatureStore) -> list[dict[str, Any]]:
    """The industrial parks (``admin_boundaries`` of level ``industrial_park``) with area (km²) and outline."""
    frame = store.to_geodataframe("admin_boundaries")
    frame = frame[frame["level"] == "industrial_park"]
    out = []
    for row in frame.itertuples(index=False):
        out.append(
            {
                "id": int(row.id),
                "name": row.name,
                "area_km2": round(_area_km2(row.geometry), 4),
                "geometry": mapping(row.geometry),
            }
        )
    return out


def _area_km2(polygon: Any) -> float:
    if polygon is None or polygon.is_empty:
        return 0.0
    s = gpd.GeoSeries([polygon], crs=4326)
    return float(s.to_crs(s.estimate_utm_crs()).area.iloc[0]) / 1e6


def resolve_area(
    store: FeatureStore, *, area_id: int | None = None, name: str | None = None, polygon: Any | None = None
) -> Area:
    """The area to assess: a boundary by id or name, or a drawn polygon (lon/lat).

    Raises
    ------
    FeatureNotFound
        No industrial-park boundary has that id or name (HTTP 404).
    Unprocessable
        The polygon is empty or invalid, or no area was given (HTTP 422).
    """
    if polygon is not None:
        if polygon.geom_type not in ("Polygon", "MultiPolygon") or polygon.is_empty or not polygon.is_valid:
            raise invalid("area", "评估范围应为有效的面（Polygon/MultiPolygon）")
        return Area(name or "自定义评估范围", None, polygon)
    parks = areas(store)
    if area_id is None and name is None:
        if len(parks) == 1:
            area_id = parks[0]["id"]
        else:
            raise invalid("area_id", "请指定园区（area_id 或名称）或给出评估范围面")
    for p in parks:
        if (area_id is not None and p["id"] == area_id) or (area_id is None and p["name"] == name):
            return Area(p["name"], p["id"], shapely.geometry.shape(p["geometry"]))
    what = f"编号 {area_id}" if area_id is not None else f"名称“{name}”"
    raise FeatureNotFound(f"没有{what}的工业园区边界")


# ---------------------------------------------------------------------------- the proposed unit

FIELD = "proposed"


def _quantity(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise invalid(where, "应为数字（吨）")
    if value <= 0 or value > 1e6:
        raise invalid(where, "应大于 0 且不超过 1000000 吨")
    return float(value)


def parse_proposed(feature: Any, extent: tuple[float, float, float, float] | None = None) -> Proposed:
    """A proposed unit from a GeoJSON Feature; 422 naming the field at fault.

    ``properties``: ``name`` (optional), ``kind`` (a ``hazard_kind`` code, e.g. ``lpg_tank``),
    ``substances``: a non-empty list of ``{name, cas?, quantity_t}`` (tonnes).
    """
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        raise invalid(FIELD, "应为 GeoJSON Feature")
    try:
        geom = shape(feature.get("geometry"))
    except Exception:
        raise invalid(f"{FIELD}.geometry", "不是有效的 GeoJSON 几何") from None
    if geom.geom_type not in ("Point", "Polygon") or geom.is_empty or not geom.is_valid:
        raise invalid(f"{FIELD}.geometry", "应为有效的点或面")
    if extent is not None:
        x0, y0, x1, y1 = extent
        b = geom.bounds
        if b[0] < x0 or b[2] > x1 or b[1] < y0 or b[3] > y1:
            raise invalid(f"{FIELD}.geometry", f"超出服务范围（经度 {x0}–{x1}，纬度 {y0}–{y1}）")
    props = feature.get("properties") or {}
    if not isinstance(props, dict):
        raise invalid(f"{FIELD}.properties", "应为对象")
    kind = props.get("kind")
    if kind not in HAZARD_KIND.codes:
        labels = "、".join(m.label for m in HAZARD_KIND.members)
        raise invalid(f"{FIELD}.properties.kind", f"请选择危险源类型（{labels}）")
    subs = props.get("substances")
    if not isinstance(subs, list) or not subs:
        raise invalid(f"{FIELD}.properties.substances", "请至少填写一种物质及其数量（吨）")
    if len(subs) > 50:
        raise invalid(f"{FIELD}.properties.substances", "最多 50 种物质")
    rows = []
    for i, s in enumerate(subs):
        where = f"{FIELD}.properties.substances.{i}"
        if not isinstance(s, dict):
            raise invalid(where, "应为对象 {name, quantity_t}")
        name, cas = s.get("name"), s.get("cas")
        if not (isinstance(name, str) and name.strip()) and not (isinstance(cas, str) and cas.strip()):
            raise invalid(f"{where}.name", "请给出物质名称或 CAS 号")
        rows.append(
            {
                "name": name.strip() if isinstance(name, str) else None,
                "cas": cas.strip() if isinstance(cas, str) and cas.strip() else None,
                "quantity_t": _quantity(s.get("quantity_t"), f"{where}.quantity_t"),
            }
        )
    name = props.get("name")
    if name is not None and (not isinstance(name, str) or len(name) > 100):
        raise invalid(f"{FIELD}.properties.name", "应为不超过 100 字的文字")
    return Proposed(name or "拟入园项目", kind, rows, geom, feature)


# ---------------------------------------------------------------------------- inventory


def inventory(store: FeatureStore, data: safety_service.SafetyData, zone_metric: Any, zone: Any) -> dict[str, Any]:
    """Enterprises, hazard sources and GB 18218 units inside the area, with labels."""
    ent = store.to_geodataframe("enterprises")
    ent = ent[shapely.intersects(ent.geometry.to_numpy(), zone)]
    enterprises = [
        {
            "id": int(e.id),
            "name": e.name,
            "industry": e.industry,
            "industry_label": INDUSTRY.label(e.industry) if e.industry else "",
            "risk_level": e.risk_level,
            "risk_level_label": RISK_LEVEL.label(e.risk_level) if e.risk_level else "未定级",
            "employees": None if finite(e.employees) is None else int(e.employees),
        }
        for e in ent.itertuples(index=False)
    ]
    hz = data.hazards[shapely.intersects(data.hazards.geometry.to_numpy(), zone_metric)]
    points = hz.geometry.representative_point().to_crs(4326)
    sources = [
        {**_source_row(h), "lon": pt.x, "lat": pt.y} for h, pt in zip(hz.itertuples(index=False), points, strict=True)
    ]
    units = []
    if data.units is not None and len(data.units):
        inside = data.units[shapely.intersects(data.units.geometry.to_numpy(), zone_metric)]
        for u in inside.itertuples(index=False):
            units.append(
                {
                    "id": int(u.id),
                    "name": u.name,
                    "s_value": finite(u.s_value),
                    "r_value": finite(u.r_value),
                    "grade": None if finite(u.grade) is None else int(u.grade),
                    "grade_label": _grade_word(u.grade),
                }
            )
    return {"enterprises": enterprises, "sources": sources, "units": units}


def _grade_word(grade: Any) -> str:
    return "非重大危险源" if finite(grade) is None else grade_label(int(grade))


def _source_row(h: Any) -> dict[str, Any]:
    return {
        "id": int(h.id),
        "name": h.name,
        "enterprise": h.enterprise_name,
        "kind": h.kind,
        "kind_label": HAZARD_KIND.label(h.kind) if h.kind else "",
        "unit_id": None if finite(h.unit_id) is None else int(h.unit_id),
        "s_value": finite(h.s_value),
        "r_value": finite(h.r_value),
        "grade": None if finite(h.grade) is None else int(h.grade),
        "grade_label": _grade_word(h.grade),
        "substances": "、".join(f"{s.get('name')} {number_text(s.get('quantity_t'))} t" for s in (h.substances or [])),
    }


# ---------------------------------------------------------------------------- scenarios


def area_scenarios(
    data: safety_service.SafetyData, zone_metric: Any, weather: Sequence[Weather]
) -> tuple[list[Scenario], list[dict[str, Any]]]:
    """Scenarios of the sources inside, and of those outside whose reach crosses the area.

    Returns the scenarios and the outside sources they come from (id, name, distance m, reach m).
    """
    inside = set(data.hazards.loc[shapely.intersects(data.hazards.geometry.to_numpy(), zone_metric), "id"])
    names = dict(zip(data.hazards["id"], data.hazards["name"], strict=True))
    chosen: list[Scenario] = []
    outside: dict[int, dict[str, Any]] = {}
    for s in safety_service.stored_scenarios(data, tuple(weather)):
        if s.source_id in inside:
            chosen.append(s)
            continue
        distance = float(shapely.distance(shapely.points(s.x, s.y), zone_metric))
        if distance <= s.reach_m:
            chosen.append(s)
            row = outside.setdefault(
                int(s.source_id),
                {
                    "id": int(s.source_id),
                    "name": names.get(s.source_id),
                    "distance_m": round(distance, 1),
                    "reach_m": 0.0,
                },
            )
            row["reach_m"] = round(max(row["reach_m"], s.reach_m), 1)
    return chosen, list(outside.values())


# ---------------------------------------------------------------------------- the assessment


def assess(
    store: FeatureStore,
    area: Area,
    *,
    proposed: Any | None = None,
    weather: Sequence[Weather] = DEFAULT_WEATHER,
) -> dict[str, Any]:
    """The whole area-wide assessment as JSON-ready data (see the module docstring).

    Parameters
    ----------
    store
        The feature store (read only).
    area
        The area from :func:`resolve_area`.
    proposed
        A :class:`~safemap.api.services.park_admission.Proposed` unit (never stored), or ``None``.
    weather
        Weather classes of the toxic scenarios (default D, 3 m/s).
    """
    data = safety_service.load(store)
    zone = area.polygon
    zone_metric = gpd.GeoSeries([zone], crs=4326).to_crs(data.crs).iloc[0]
    scenarios, outside = area_scenarios(data, zone_metric, weather)
    base_ir = individual_risk(data, zone_metric, scenarios)
    base_fn = societal_risk(data, scenarios)
    domino = domino_section(store, zone)
    escalation: dict[str, Any] = {}
    if domino["available"] and domino["scenarios"]:
        with_domino = scenarios + domino.pop("scenarios")
        esc_ir = individual_risk(data, zone_metric, with_domino)
        escalation = {
            "max_ir_per_year": esc_ir["max_ir_per_year"],
            "increase_per_year": (esc_ir["max_ir_per_year"] or 0.0) - (base_ir["max_ir_per_year"] or 0.0),
            "exceeding": len(esc_ir["exceeding"]),
            "fn": societal_risk(data, with_domino),
        }
    else:
        domino.pop("scenarios", None)
    result: dict[str, Any] = {
        "area": {
            "name": area.name,
            "boundary_id": area.boundary_id,
            "area_km2": round(_area_km2(zone), 4),
            "geometry": mapping(zone),
        },
        "generated": stamp(None, store.tz),
        "weather": [{"stability": w.stability, "wind_m_s": w.wind_m_s, "probability": w.probability} for w in weather],
        **inventory(store, data, zone_metric, zone),
        "outside_sources": outside,
        "risk": base_ir,
        "fn": base_fn,
        "domino": {**domino, "escalation": escalation},
        "admission": None,
    }
    if proposed is not None:
        result["admission"] = admission(store, data, zone, zone_metric, scenarios, result, proposed)
    return result


def summary(result: dict[str, Any]) -> dict[str, Any]:
    """The key figures of an assessment (for the CLI and the panel's header)."""
    adm = result.get("admission") or {}
    return {
        "area": result["area"]["name"],
        "area_km2": result["area"]["area_km2"],
        "enterprises": len(result["enterprises"]),
        "sources": len(result["sources"]),
        "major_sources": sum(1 for s in result["sources"] if s["grade"] is not None),
        "outside_sources": len(result["outside_sources"]),
        "scenarios": result["risk"]["scenarios"],
        "max_ir_per_year": result["risk"]["max_ir_per_year"],
        "targets_exceeding": len(result["risk"]["exceeding"]),
        "fn_verdict": result["fn"]["verdict"],
        "fn_reason": result["fn"]["reason"],
        "domino_pairs": len(result["domino"]["pairs"]),
        "admission_verdict": adm.get("verdict"),
        "admission_reasons": adm.get("reasons", []),
    }
