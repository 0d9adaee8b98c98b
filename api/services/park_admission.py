"""The risk sections of the park-wide assessment, and 入园项目准入 (what a proposed unit changes).

The sections both the assessment (:mod:`safemap.api.services.park_assessment`) and the admission
check need live here, so that neither module imports the other: the cumulative individual risk
with its GB 36894 bands and contours, the F–N curve with its verdict, and the domino section
(:mod:`safemap.api.services.domino`, when installed).

The proposed unit (a GeoJSON Feature: point or polygon, ``kind``, ``substances`` with
quantities) is never stored. Its scenarios come from the same ``risk_scenarios`` table and
substance data as the stored sources (:func:`safemap.api.services.safety.scenarios_for`).

Verdict rules (GB 36894-2018 §4 and 表1, reference ``safety-standards.md`` §2):

- 不予准入 when the risk *from the new unit* at any protected target exceeds the target's
  new-plant limit (GB 36894 applies the stricter column to new and expanded installations),
  when the total risk pushes a target over its existing-plant limit that it met before, or
  when the societal risk becomes (or stays) 不可接受 (F > 10⁻³/N);
- 有条件准入 when none of that holds but the unit adds to a societal risk in the ALARP zone,
  creates or suffers domino pairs, or the domino analysis could not run — with what to change;
- 准入 otherwise; 无法判断 when the unit yields no accident scenario (a substance without
  quantitative-risk data, a kind left to separation distances) — never 准入 by default.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import mapping

from safemap.api.services import domino as domino_service
from safemap.api.services import risk_raster
from safemap.api.services import safety as safety_service
from safemap.api.services.problems import invalid_all
from safemap.gis.individual_risk import F_LOWER_AT_1, F_UPPER_AT_1, Grid, Scenario, fn_curve, risk_grid
from safemap.layers.enums import GB36894_CLASS, HAZARD_KIND, TARGET_CATEGORY
from safemap.layers.errors import Problem, Unprocessable
from safemap.layers.labels import rate_text
from safemap.layers.store import FeatureStore

ADMIT, CONDITIONAL, REFUSE = "准入", "有条件准入", "不予准入"
#: Id the proposed unit carries in the scenario lists (stored ids are positive).
PROPOSED_ID = -1

#: Societal-risk verdicts (GB 36894-2018 ALARP zones) and the word for "nothing could be checked".
UNACCEPTABLE, ALARP, ACCEPTABLE, UNKNOWN = "不可接受", "ALARP 区", "可接受", "无法判断"
#: IR bands (per year) drawn and counted, highest first: GB 36894-2018 表1 limits (reference §2).
BANDS = (3e-5, 1e-5, 3e-6, 3e-7)
#: Largest raster drawn for the contours; the cell grows (from 10 m) to stay under it.
MAX_CELLS = 1_500_000
#: How far beyond the area the contour raster reaches, m: targets just outside still get their
#: exact IR (``risk_at``); the raster is only the picture.
DRAW_MARGIN_M = 2000.0


@dataclass
class Proposed:
    """A proposed unit, validated: name, kind, substances (name, cas, quantity_t) and geometry (lon/lat)."""

    name: str
    kind: str
    substances: list[dict[str, Any]]
    geometry: Any
    feature: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------------------- scenarios and risk


def _grid(zone_metric: Any, scenarios: Sequence[Scenario]) -> Grid:
    x0, y0, x1, y1 = zone_metric.bounds
    reach = max((s.reach_m for s in scenarios), default=0.0)
    margin = min(reach, DRAW_MARGIN_M) + 50.0
    width, height = x1 - x0 + 2 * margin, y1 - y0 + 2 * margin
    cell = max(10.0, math.ceil(math.sqrt(width * height / MAX_CELLS)))
    return Grid.around(np.array([[x0, y0], [x1, y1]]), margin, cell, MAX_CELLS * 2)


def band_of(ir: float) -> float | None:
    """The GB 36894 band an IR (per year) falls in: its lower limit, or ``None`` below 3×10⁻⁷."""
    for level in BANDS:
        if ir >= level:
            return level
    return None


def individual_risk(
    data: safety_service.SafetyData,
    zone_metric: Any,
    scenarios: list[Scenario],
    new_sources: set[int] | None = None,
) -> dict[str, Any]:
    """IR raster, contours (lon/lat), the maximum, and the protected targets per band."""
    if not scenarios:
        return {
            "scenarios": 0,
            "max_ir_per_year": None,
            "max_ir_in_area_per_year": None,
            "contours": {"type": "FeatureCollection", "features": []},
            "bands": [_band_entry(level, []) for level in BANDS],
            "targets": [],
            "exceeding": [],
            "cell_m": None,
        }
    grid = _grid(zone_metric, scenarios)
    ir = risk_grid(scenarios, grid)
    result = safety_service.RiskResult(grid, ir, data.crs, scenarios)
    contours = risk_raster.contours_geojson(result, BANDS[::-1])
    xs = grid.x0 + (np.arange(grid.nx) + 0.5) * grid.cell_m
    ys = grid.y0 + (np.arange(grid.ny)[::-1] + 0.5) * grid.cell_m
    cx, cy = np.meshgrid(xs, ys)
    in_zone = shapely.contains_xy(zone_metric, cx, cy)
    table = safety_service.risk_targets(data, scenarios, new_sources)
    rows = [_target_row(r, _target_points(data)) for r in table.to_dict("records")] if len(table) else []
    banded = [r for r in rows if r["band"] is not None]
    return {
        "scenarios": len(scenarios),
        "max_ir_per_year": float(ir.max()),
        "max_ir_in_area_per_year": float(ir[in_zone].max()) if in_zone.any() else 0.0,
        "contours": contours,
        "bands": [_band_entry(level, [r for r in banded if r["band"] == level]) for level in BANDS],
        "targets": banded,
        "exceeding": [r for r in rows if r["exceeds"]],
        "cell_m": grid.cell_m,
    }


def _target_points(data: safety_service.SafetyData) -> dict[int, tuple[float, float]]:
    """Lon/lat of a point of every protected target (cached with the data)."""
    key = ("park_target_points",)
    if key not in data.cache:
        protected = data.protected
        pts = protected.geometry.representative_point().to_crs(4326)
        data.cache[key] = {int(i): (p.x, p.y) for i, p in zip(protected["id"], pts, strict=True)}
    return data.cache[key]


def _target_row(r: dict[str, Any], points: dict[int, tuple[float, float]]) -> dict[str, Any]:
    cls = r["gb36894_class"]
    lon, lat = points.get(int(r["target_id"]), (None, None))
    return {
        **r,
        "lon": lon,
        "lat": lat,
        "category_label": TARGET_CATEGORY.label(r["category"]) if r["category"] in TARGET_CATEGORY.codes else "",
        "class_label": GB36894_CLASS.label(cls) if cls in GB36894_CLASS.codes else str(cls),
        "band": band_of(r["ir_per_year"]),
        "ir_text": rate_text(r["ir_per_year"]),
    }


def _band_entry(level: float, rows: list[dict[str, Any]]) -> dict[str, Any]:
    upper = {3e-7: 3e-6, 3e-6: 1e-5, 1e-5: 3e-5}.get(level)
    label = (
        f"≥ {rate_text(level, digits=0)}"
        if upper is None
        else f"{rate_text(level, digits=0)} – {rate_text(upper, digits=0)}"
    )
    return {
        "level_per_year": level,
        "label": label,
        "count": len(rows),
        "population": int(sum(r["population"] or 0 for r in rows)),
        "exceeding": sum(1 for r in rows if r["exceeds"]),
        "targets": rows,
    }


# ---------------------------------------------------------------------------- societal risk


def societal_verdict(curve: Sequence[tuple[float, float]], *, scenarios: int, population: float) -> dict[str, str]:
    """The F–N verdict: 不可接受 / ALARP 区 / 可接受, or 无法判断 with the reason.

    Parameters
    ----------
    curve
        (N deaths, F per year) points of the cumulative F–N curve.
    scenarios
        How many accident scenarios were computed.
    population
        People (persons) at the protected targets within reach of those scenarios.

    Returns
    -------
    dict
        ``verdict`` and ``reason`` (Chinese). Lines: F = 10⁻³/N (upper) and 10⁻⁵/N (lower),
        GB 36894-2018 as read by Cheng et al. (2023), reference §2.
    """
    if scenarios <= 0:
        return {
            "verdict": UNKNOWN,
            "reason": "没有可计算的事故场景（区域内及周边无含易燃、有毒物质且有定量风险数据的危险源）",
        }
    if population <= 0:
        return {"verdict": UNKNOWN, "reason": "事故影响范围内没有登记人数的防护目标，无法计算社会风险"}
    over_upper = [(n, f) for n, f in curve if f > F_UPPER_AT_1 / n]
    if over_upper:
        n, f = max(over_upper, key=lambda p: p[1] * p[0])
        return {"verdict": UNACCEPTABLE, "reason": f"N ≥ {n:.0f} 人的累计频率 {rate_text(f)} 高于上限 10⁻³/N"}
    over_lower = [(n, f) for n, f in curve if f > F_LOWER_AT_1 / n]
    if over_lower:
        n, f = max(over_lower, key=lambda p: p[1] * p[0])
        return {
            "verdict": ALARP,
            "reason": f"N ≥ {n:.0f} 人的累计频率 {rate_text(f)} 介于 10⁻⁵/N 与 10⁻³/N 之间，应尽可能降低",
        }
    if not curve:
        return {"verdict": ACCEPTABLE, "reason": "没有致死 1 人及以上的事故后果"}
    return {"verdict": ACCEPTABLE, "reason": "F–N 曲线全部低于可接受线 10⁻⁵/N"}


def societal_risk(data: safety_service.SafetyData, scenarios: Sequence[Scenario]) -> dict[str, Any]:
    """The F–N curve of ``scenarios`` over the protected targets, and its verdict."""
    protected = data.protected
    geoms = protected.geometry.to_numpy()
    pop = np.nan_to_num(protected["population"].to_numpy(dtype=float))
    exposed = 0.0
    if scenarios and len(geoms):
        near = np.zeros(len(geoms), dtype=bool)
        for s in scenarios:
            near |= shapely.dwithin(shapely.points(s.x, s.y), geoms, max(s.reach_m, 1.0))
        exposed = float(pop[near].sum())
    result = fn_curve(scenarios, geoms, pop) if scenarios else {"curve": [], "max_N": 0.0}
    verdict = societal_verdict(result["curve"], scenarios=len(scenarios), population=exposed)
    return {
        "curve": [[float(n), float(f)] for n, f in result["curve"]],
        "f_at": f_at(result["curve"]),
        "max_N": float(result["max_N"]),
        "exposed_population": int(exposed),
        **verdict,
    }


#: N at which the report compares F–N curves (before/after escalation or a proposed unit).
COMPARE_N = (1, 10, 100, 1000)


def f_at(curve: Sequence[tuple[float, float]]) -> list[dict[str, float]]:
    """F (per year) of outcomes killing N or more, at each N of :data:`COMPARE_N`.

    The curve is cumulative (F falls as N grows), so F(≥ n) is F at the curve's first N ≥ n; 0 past its end.
    """
    out = []
    for n in COMPARE_N:
        fs = [f for big_n, f in curve if big_n >= n]
        out.append({"n": n, "f_per_year": float(fs[0]) if fs else 0.0})
    return out


# ---------------------------------------------------------------------------- the proposed unit


def _frame(data: safety_service.SafetyData, p: Proposed) -> gpd.GeoDataFrame:
    """The proposed unit as a one-row hazard frame in the analyses' metric CRS."""
    row = {c: None for c in data.hazards.columns if c != "geometry"}
    row.update(
        id=PROPOSED_ID,
        name=p.name,
        kind=p.kind,
        plant_status="new",
        substances=p.substances,
        enterprise_name="拟入园项目",
    )
    frame = gpd.GeoDataFrame(pd.DataFrame([row]), geometry=[p.geometry], crs=4326)
    return frame.to_crs(data.crs)


def _grading(store: FeatureStore, p: Proposed) -> dict[str, Any] | None:
    try:
        grading, _ = safety_service.grade_request(store, p.substances, None, p.geometry)
    except Unprocessable as exc:
        prefix = "proposed.properties."
        raise invalid_all([Problem(prefix + pr.field, pr.message) for pr in exc.problems]) from None
    d = grading.as_dict()
    return {k: d[k] for k in ("S", "R", "grade", "grade_label", "is_major", "exposed_population")}


def _no_qra_reason(data: safety_service.SafetyData, p: Proposed) -> str:
    if p.kind in safety_service.QRA_EXCLUDED_KINDS:
        return f"{HAZARD_KIND.label(p.kind)}按安全间距管理（GB/T 37243-2019），不做定量风险计算；请按间距规则核查"
    missing = []
    for s in p.substances:
        prop = data.props.find(s.get("name"), s.get("cas"))
        if prop is None or not isinstance(prop.get("qra_category"), str):
            missing.append(s.get("name") or s.get("cas"))
    if missing:
        return f"物质 {'、'.join(str(m) for m in missing)} 缺少定量风险计算所需的物性或事故场景数据"
    names = "、".join(str(s.get("name") or s.get("cas")) for s in p.substances)
    return f"物质 {names} 的物性数据（燃烧热、燃烧速率或毒性概率函数参数）不足以建立事故场景，无法计算风险"


def admission(
    store: FeatureStore,
    data: safety_service.SafetyData,
    zone: Any,
    zone_metric: Any,
    scenarios: list[Any],
    base: dict[str, Any],
    p: Proposed,
) -> dict[str, Any]:
    """Recompute IR, F–N and domino with the proposed unit; differences and the verdict."""
    grading = _grading(store, p)
    frame = _frame(data, p)
    new = safety_service.scenarios_for(data, frame)
    for s in new:
        s.tabulate()
    inside = bool(shapely.intersects(zone, p.geometry))
    out: dict[str, Any] = {
        "name": p.name,
        "kind": p.kind,
        "kind_label": HAZARD_KIND.label(p.kind),
        "substances": p.substances,
        "geometry": mapping(p.geometry),
        "inside_area": inside,
        "gb18218": grading,
        "scenarios": len(new),
    }
    if not new:
        reason = _no_qra_reason(data, p)
        return {**out, "verdict": UNKNOWN, "reasons": [reason], "conditions": [], "targets_over_new_limit": []}
    with_new = scenarios + new
    ir = individual_risk(data, zone_metric, with_new, new_sources={PROPOSED_ID})
    fn = societal_risk(data, with_new)
    over_new = [t for t in ir["exceeding"] if t["ir_new_plants_per_year"] > t["limit_new_per_year"]]
    before_exceeding = {t["target_id"] for t in base["risk"]["exceeding"]}
    newly_over_existing = [
        t
        for t in ir["exceeding"]
        if t["ir_per_year"] > t["limit_existing_per_year"] and t["target_id"] not in before_exceeding
    ]
    domino = _domino(store, zone, p, base)
    escalated = with_new + domino.pop("scenarios", [])
    if len(escalated) > len(with_new):
        # With the proposed unit and every escalation it starts or suffers (informative: the
        # limits above are judged without escalation, as GB 36894 sets them).
        esc_ir = individual_risk(data, zone_metric, escalated, new_sources={PROPOSED_ID})
        domino["escalation"] = {"max_ir_per_year": esc_ir["max_ir_per_year"], "fn": societal_risk(data, escalated)}
    reasons: list[str] = []
    conditions: list[str] = []
    for t in over_new:
        reasons.append(
            f"{t['target_name']}（{t['class_label']}）受拟建项目的个人风险 {rate_text(t['ir_new_plants_per_year'])}，"
            f"超过新建装置基准 {rate_text(t['limit_new_per_year'], digits=0)}（GB 36894-2018 表1）"
        )
    for t in newly_over_existing:
        if t in over_new:
            continue
        reasons.append(
            f"{t['target_name']}（{t['class_label']}）累计个人风险升至 {rate_text(t['ir_per_year'])}，"
            f"超过在役装置基准 {rate_text(t['limit_existing_per_year'], digits=0)}"
        )
    if fn["verdict"] == UNACCEPTABLE:
        reasons.append(f"增加拟建项目后区域社会风险不可接受：{fn['reason']}")
    # ALARP asks for reduction only when the new unit adds to the curve (a park already in the
    # ALARP zone is not a condition on a unit that kills no one off site).
    if fn["verdict"] == ALARP and fn["curve"] != base["fn"]["curve"]:
        conditions.append(f"社会风险处于尽可能降低区（{fn['reason']}）：应减少存量、增设紧急切断和泄漏检测等措施")
    for pair in domino["new_pairs"]:
        conditions.append(
            f"消除多米诺效应：{pair['primary_name']} → {pair['secondary_name']}（{pair.get('scenario') or ''}，"
            f"距离 {_metres(pair.get('distance_m'))}）——增大间距或设置防火堤、水喷淋、防爆墙"
        )
    if not domino["available"]:
        conditions.append(f"多米诺效应未能分析（{domino['reason']}）：应补充多米诺效应评估")
    if not inside:
        conditions.append("拟建项目位于评估范围之外，请确认选址")
    if reasons:
        verdict = REFUSE
    elif conditions:
        verdict = CONDITIONAL
    else:
        verdict = ADMIT
        same = "（拟建项目不改变 F–N 曲线）" if fn["curve"] == base["fn"]["curve"] else ""
        reasons.append(
            f"拟建项目未使任何防护目标超过 GB 36894 基准；增加后区域社会风险：{fn['verdict']}{same}；"
            "不产生新的多米诺效应"
        )
    base_max = base["risk"]["max_ir_per_year"] or 0.0
    return {
        **out,
        "verdict": verdict,
        "reasons": reasons,
        "conditions": conditions,
        "targets_over_new_limit": over_new,
        "targets_newly_over_existing": newly_over_existing,
        "risk": ir,
        "fn": fn,
        "max_ir_before_per_year": base_max,
        "max_ir_after_per_year": ir["max_ir_per_year"],
        "max_ir_increase_per_year": (ir["max_ir_per_year"] or 0.0) - base_max,
        "fn_before": base["fn"]["verdict"],
        "fn_after": fn["verdict"],
        "domino": domino,
    }


def _metres(value: Any) -> str:
    return "—" if not isinstance(value, int | float) else f"{value:.0f} m"


def _domino(store: FeatureStore, zone: Any, p: Proposed, base: dict[str, Any]) -> dict[str, Any]:
    """Domino pairs the proposed unit creates (as primary) or suffers (as secondary)."""
    if not base["domino"]["available"]:
        return {"available": False, "reason": base["domino"]["reason"], "new_pairs": []}
    feature = {
        "type": "Feature",
        "geometry": mapping(p.geometry),
        "properties": {"name": p.name, "kind": p.kind, "substances": p.substances},
    }
    after = domino_section(store, zone, [feature])
    # The domino service numbers proposed sources −1, −2, … (PROPOSED_ID is the first).
    new_pairs = [x for x in after["pairs"] if PROPOSED_ID in (x.get("primary_id"), x.get("secondary_id"))]
    return {
        "available": True,
        "reason": "",
        "new_pairs": new_pairs,
        "chains": after["chains"],
        "scenarios": after["scenarios"],
    }


# ---------------------------------------------------------------------------- domino


def domino_section(store: FeatureStore, zone: Any, extra: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Pairs, chains and escalation scenarios from the domino service."""
    result = domino_service.analyse(store, area=zone, extra_sources=extra or None)
    names: dict[int, str] = {}
    for p in result.pairs:
        names[int(p["primary_id"])] = p["primary_name"]
        names[int(p["secondary_id"])] = p["secondary_name"]
    chains = [{"ids": [int(i) for i in c], "names": [names.get(int(i), str(i)) for i in c]} for c in result.chains]
    return {
        "available": True,
        "reason": "",
        "pairs": [_plain(p) for p in result.pairs],
        "chains": chains,
        "scenarios": list(result.domino_scenarios),
    }


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in row.items():
        if isinstance(v, np.generic):
            v = v.item()
        out[k] = None if isinstance(v, float) and math.isnan(v) else v
    return out
