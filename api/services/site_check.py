"""Site check of a proposed site: rule checks, consequence zones, individual risk, GB 18218 grade.

Used by ``POST /api/safety/site-check``, its report and ``safemap site-check``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from safemap.api.services.safety import (
    SafetyData,
    classified_targets,
    classify,
    labelled,
    people_inside,
    risk_targets,
    scenarios_for,
    stored_scenarios,
)
from safemap.api.services.wind import fire_station_wind_checks
from safemap.gis import individual_risk as ir_mod
from safemap.gis import plume as plume_mod
from safemap.gis.consequence_fire import PoolFire, bleve
from safemap.gis.consequence_vce import kb_scaled_distance
from safemap.gis.major_hazard import exposed_population, grade
from safemap.gis.site_check import SITE_KINDS, SiteKind, proposed_frame, proposed_properties, site_checks
from safemap.gis.verdicts import CANNOT_CHECK, FAIL, PASS, overall
from safemap.layers.enums import (
    CLASS_BASIS,
    GB36894_CLASS,
    GB50156_CLASS,
    TARGET_CATEGORY,
    VAPOUR_RECOVERY,
    VERDICT_STATUS,
)
from safemap.layers.errors import Problem, ValidationFailed

#: Coded site properties: the catalogue enum each must belong to, and its Chinese label.
CODED = {
    "gb50156_class": (GB50156_CLASS, "GB 50156 保护物类别"),
    "gb36894_class": (GB36894_CLASS, "GB 36894 防护目标类别"),
    "vapour_recovery": (VAPOUR_RECOVERY, "油气回收"),
    "category": (TARGET_CATEGORY, "防护目标类别"),
}

WORST_WEATHER = ir_mod.Weather("F", 1.5, 1.0)  # EPA RMP worst case (reference §4.7)


def _records(frame: gpd.GeoDataFrame) -> list[dict[str, Any]]:
    out = []
    for row, geom in zip(frame.drop(columns="geometry").to_dict("records"), frame.geometry, strict=True):
        clean = {
            k: (None if isinstance(v, float) and math.isnan(v) else v.item() if hasattr(v, "item") else v)
            for k, v in row.items()
        }
        out.append({"type": "Feature", "geometry": shapely.geometry.mapping(geom), "properties": clean})
    return out


def consequence_zones(
    data: SafetyData, code: str, site: BaseGeometry, props: Mapping[str, Any]
) -> list[tuple[str, str, Any]]:
    """Worst-case zones of a proposed hazard (metric polygons around the site outline)."""
    zones: list[tuple[str, str, Any]] = []
    if code == "lpg_depot":
        single_t = float(props.get("single_tank_m3") or props.get("volume_m3") or 0) * 0.55 * 0.85
        if single_t > 0:
            res = bleve(single_t * 1000 * 0.5)
            zones += [(k, f"BLEVE {label}", site.buffer(r, 32)) for k, label, r in res.zones() if r > 0]
    elif code == "explosives_store":
        w = float(props.get("tnt_kg") or 0)
        if w > 0:
            for kpa, label in ((44.0, "重伤（44 kPa）"), (17.0, "轻伤（17 kPa）"), (2.0, "GB 6722 允许超压 2 kPa")):
                zones.append((f"op_{kpa:g}", label, site.buffer(kb_scaled_distance(kpa) * w ** (1 / 3), 32)))
    elif code == "tank_farm":
        liquid = data.props.find(str(props.get("liquid") or "汽油"), None) or {}
        rate, heat = liquid.get("burning_rate_kg_m2_s"), liquid.get("heat_of_combustion_kj_kg")
        if rate and heat and not math.isnan(rate):
            area = site.area if site.area > 1 else 1000.0
            fire = PoolFire(area, float(rate), float(heat))
            edge = fire.diameter_m / 2
            for q in (37.5, 12.5, 5.0):
                d = fire.distance_to_flux_m(q * 1000) - edge
                if d > 0:
                    zones.append((f"flux_{q:g}", f"池火热辐射 {q:g} kW/m²", site.buffer(d, 32)))
    # Toxic inventories: threat radius (any wind direction) of a 10-min release under F, 1.5 m/s.
    for sub in props.get("substances") or []:
        row = data.props.find(sub.get("name"), sub.get("cas"))
        if not row or row.get("qra_category") != "toxic_gas":
            continue
        mass = float(sub.get("quantity_t") or 0) * 1000
        mw = row.get("molar_mass_g_mol")
        if mass <= 0 or not mw:
            continue
        plume = plume_mod.Plume(mass / 600.0, WORST_WEATHER.wind_m_s, WORST_WEATHER.stability)
        for key in ("aegl3_ppm", "aegl2_ppm"):
            ppm = row.get(key)
            if ppm and not math.isnan(ppm):
                d = plume.max_distance_m(plume_mod.ppm_to_mg_m3(ppm, mw))
                label = f"{row['name']} {key[:5].upper()} 威胁半径（F、1.5 m/s，10 min 泄漏）"
                zones.append((f"{key}_{row['name']}", label, site.buffer(d, 32)))
    return zones


def site_check(
    data: SafetyData,
    geometry: BaseGeometry,
    kind_code: str,
    *,
    name: str | None = None,
    overrides: Mapping[str, Any] | None = None,
    vicinity_m: float = 1000.0,
    wind: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Everything the planner sees for a proposed site (JSON-ready, geometries in lon/lat).

    A fire station is also checked against 建标152's wind rule (上风或侧风, one record per
    hazardous-chemical site within ``vicinity_m`` in ``wind_checks``) with ``wind``, the
    county's prevailing wind (:func:`safemap.api.services.wind.prevailing_wind`); without
    it those records are 无法核查.

    The verdict is three-valued (``summary.status`` pass/fail/cannot_check with the
    catalogue's label in ``summary.verdict``): 符合 only when at least one rule was checked
    and all passed; 无法核查 with ``summary.reason`` when a check could not be made or
    nothing was checked. Each check record (``checks`` features, ``unchecked_rules``) has
    ``status``, ``status_label`` and, for 无法核查, ``reason``.

    Raises
    ------
    ValidationFailed
        A coded property (``gb50156_class`` …) that is not a code of its catalogue enum.
    """
    kind = SITE_KINDS[kind_code]
    _check_codes(overrides)
    props = proposed_properties(kind, overrides)
    site_m = gpd.GeoSeries([geometry], crs=4326).to_crs(data.crs).iloc[0]
    label = name or (kind.label if kind.label.startswith("新建") else f"拟建{kind.label}")
    site = proposed_frame(kind, site_m, {**props, "plant_status": "new"}, data.crs, label)
    if kind.layer == "protected_targets":
        site = classify(data, site)
    checks, issues = site_checks(kind, site, data.hazards, classified_targets(data), data.rules, data.props, vicinity_m)
    checks = labelled(checks)
    checks_ll = checks.to_crs(4326)
    unchecked = [_issue_record(r) for r in labelled(issues).to_dict("records")]
    wind_checks: list[dict[str, Any]] = []
    if kind.code == "fire_station":
        wind_checks = [
            r | {"status_label": VERDICT_STATUS.label(r["status"])}
            for r in fire_station_wind_checks(data, geometry, vicinity_m, wind=dict(wind) if wind else None)
        ]
    summary = _summary(kind, checks, unchecked + wind_checks, vicinity_m)
    out: dict[str, Any] = {
        "site": {
            "type": "Feature",
            "geometry": shapely.geometry.mapping(geometry),
            "properties": {
                **{("layer_kind" if k == "kind" else k): v for k, v in props.items() if k != "substances"},
                "name": label,
                "kind": kind.code,
                "kind_label": kind.label,
                "role": kind.role,
                **_class_used(site),
            },
        },
        "substances": props.get("substances") or [],
        "summary": summary,
        "checks": {"type": "FeatureCollection", "features": _records(checks_ll)},
        "unchecked_rules": unchecked,
        "wind_checks": wind_checks,
    }
    zones: list[tuple[str, str, Any]] = []
    if kind.role == "hazard":
        zones = consequence_zones(data, kind.code, site_m, props)
        protected = data.protected
        people = int(exposed_population([site_m], protected.geometry.to_numpy(), protected["population"].to_numpy())[0])
        out["gb18218"] = grade(props.get("substances") or [], people, data.table).as_dict()
        scenarios = scenarios_for(data, site)
        targets = risk_targets(data, scenarios, new_sources={0}) if scenarios else None
        out["risk"] = {
            "scenarios": [s.name for s in scenarios],
            "targets_over_limit": []
            if targets is None or not len(targets)
            else targets[targets["exceeds"]].to_dict("records"),
            "basis": "新建装置：与 GB 36894 新建装置个人风险基准比较",
        }
    else:
        scenarios = stored_scenarios(data)
        at = [float(s.frequency * s.lookup(*_offset(s, site_m))) for s in scenarios]
        ir = float(sum(at))
        cls = props.get("gb36894_class") or "general_1"
        limits = {r.target_class: (r.new_plant_per_year, r.existing_plant_per_year) for r in data.limits.itertuples()}
        lim_new, lim_old = limits.get(cls, (3e-7, 3e-6))
        top = sorted(zip(at, scenarios, strict=True), key=lambda t: -t[0])[:10]
        out["risk"] = {
            "ir_per_year": ir,
            "gb36894_class": cls,
            "limit_existing_per_year": float(lim_old),
            "limit_new_per_year": float(lim_new),
            "exceeds_existing_limit": ir > lim_old,
            "contributions": [{"scenario": s.name, "ir_per_year": v} for v, s in top if v > 0],
        }
    zones.sort(key=lambda z: z[2].area)  # innermost first
    people = people_inside(data, [z[2] for z in zones])
    features: list[dict[str, Any]] = []
    if zones:
        zframe = gpd.GeoDataFrame(
            [
                {"key": k, "label": lab, "population": p["population"], "targets": p["targets"]}
                for (k, lab, _), p in zip(zones, people, strict=True)
            ],
            geometry=[z[2] for z in zones],
            crs=data.crs,
        )
        features = _records(zframe.to_crs(4326))
    out["zones"] = {"type": "FeatureCollection", "features": features}
    return out


def _offset(s: ir_mod.Scenario, site: BaseGeometry) -> tuple[np.ndarray, np.ndarray]:
    near = shapely.get_coordinates(shapely.shortest_line(shapely.Point(s.x, s.y), site))[1]
    return np.array(near[0] - s.x), np.array(near[1] - s.y)


def _round(v: Any) -> Any:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else round(float(v), 2)


def _check_codes(overrides: Mapping[str, Any] | None) -> None:
    """Refuse a coded property that is not a code of its enum (422 naming the field in Chinese)."""
    for key, (enum, label) in CODED.items():
        value = (overrides or {}).get(key)
        if value is not None and value not in enum.codes:
            msg = f"{label}：不认识的代码 {value!r}；可选：{enum.describe()}"
            raise ValidationFailed(msg, [Problem(f"properties.{key}", msg)])


def _class_used(site: gpd.GeoDataFrame) -> dict[str, Any]:
    """The GB 50156 class a proposed target was checked as, and whether it was entered or derived."""
    if "gb50156_class_basis" not in site:
        return {}
    row = site.iloc[0]
    code = row.get("gb50156_class")
    basis = row.get("gb50156_class_basis")
    return {
        "gb50156_class": code,
        "gb50156_class_label": GB50156_CLASS.label(code) if isinstance(code, str) else None,
        "gb50156_class_basis": basis,
        "gb50156_class_basis_label": CLASS_BASIS.label(basis) if isinstance(basis, str) else None,
        "gb50156_class_note": row.get("gb50156_class_note"),
    }


def _issue_record(r: Mapping[str, Any]) -> dict[str, Any]:
    """A rule-level check record (no target pair): same keys as a pair's where they apply."""
    return {
        "status": r["status"],
        "status_label": r["status_label"],
        "reason": r["reason"],
        "rule": r.get("rule"),
        "standard": r.get("standard"),
        "clause": r.get("clause"),
        "required_m": _round(r.get("required_m")),
        "target": r.get("target_class"),
        "hazard_category": r.get("hazard_category"),
    }


def _summary(kind: SiteKind, checks: Any, unchecked: list[dict[str, Any]], vicinity_m: float) -> dict[str, Any]:
    """The verdict of the whole site check (see :func:`gis.verdicts.overall`) with counts per kind."""
    records = [(str(s), r) for s, r in zip(checks["status"], checks["reason"], strict=True)] if len(checks) else []
    records += [(u["status"], u["reason"]) for u in unchecked]
    what = "危险源" if kind.role == "target" else "防护目标"
    v = overall(records, nothing_checked=f"各规则要求间距外 {vicinity_m:g} m 内没有适用安全间距规则的{what}")
    counts = v["counts"]
    return {
        "status": v["status"],
        "verdict": VERDICT_STATUS.label(v["status"]),
        "reason": v["reason"],
        "counts": counts,
        "labels": {code: VERDICT_STATUS.label(code) for code in (PASS, FAIL, CANNOT_CHECK)},
        "checks": len(checks),
        "passed": counts[PASS],
        "failed": counts[FAIL],
        "cannot_check": counts[CANNOT_CHECK],
        "vicinity_m": vicinity_m,
    }
