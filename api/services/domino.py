"""Domino escalation in a park: the store side of :mod:`safemap.gis.domino`.

Reads the hazard sources (and proposed ones, never stored) with their substances, gives each
a vessel type and a volume, builds its fire/explosion scenarios exactly as the risk raster
does (:func:`safemap.api.services.safety.scenarios_for`) with their escalation vectors, and
hands them to the pure analysis. The risk with escalation is the same individual-risk grid
and F–N curve as ``/api/safety`` with the domino scenarios added (Cozzani et al. 2005,
simplified first-order method; see :mod:`safemap.gis.domino`).

Which hazard sources take part: every source in the area except buried fuel-station tanks
(earth-covered, shielded from radiation and blast; GB 50156 has station tanks buried)
and tailings ponds (not a vessel). A source's vessel type is its ``vessel_type`` when set,
else pressurised when one of its substances has a BLEVE scenario in ``risk_scenarios``
(a liquefied gas) and atmospheric otherwise. Its volume V (m³, for the radiation probit) is
``max_tank_m3`` when set, else Σ quantity_t / liquid_density_t_m3 of its substances
(``substance_properties``; 1 t/m³ when a substance has no density — water, conservative:
a smaller V shortens the atmospheric time to failure only by 2.667×10⁻⁵ V in its logarithm).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from safemap.api.services import safety
from safemap.api.services.problems import invalid
from safemap.gis import domino as dm
from safemap.gis.consequence_fire import PoolFire, fireball_fuel_kg
from safemap.gis.consequence_vce import tnt_equivalent_kg
from safemap.gis.individual_risk import DEFAULT_WEATHER, Grid, Scenario, fn_curve, risk_grid
from safemap.gis.numbers import finite
from safemap.layers.enums import HAZARD_KIND, VESSEL_TYPE
from safemap.layers.errors import Problem, Unprocessable
from safemap.layers.store import FeatureStore

#: Hazard kinds that neither start nor suffer escalation (see the module docstring).
EXCLUDED_KINDS = frozenset({"fuel_station_tank", "tailings_pond"})
FIRE_MODELS = ("pool_fire", "bleve", "vce")
#: Arrow colours: radiation red (level 1) / orange (levels 2–3); overpressure blue / purple.
COLOURS = {
    ("radiation", 1): "#d32f2f",
    ("radiation", 2): "#f57c00",
    ("overpressure", 1): "#1565c0",
    ("overpressure", 2): "#7b1fa2",
}
LEVEL_LABEL = {1: "一级（直接波及）", 2: "二级", 3: "三级"}


@dataclass
class DominoResult:
    """Escalation pairs, chains and scenarios of the hazard sources in an area (metric CRS)."""

    units: gpd.GeoDataFrame
    pairs: list[dict]
    chains: list[list[int]]
    scenarios: list[Scenario]
    domino_scenarios: list[Scenario]
    crs: CRS
    chain_frequency: list[float] = field(default_factory=list)
    failure_frequency: dict[int, float] = field(default_factory=dict)
    edges: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------- units


def _enabled(data: safety.SafetyData) -> pd.DataFrame:
    rows = data.scenario_rows
    return rows[rows["enabled"].fillna(True).astype(bool)]


def _vessel(data: safety.SafetyData, row: Any, liquefied: set[str]) -> tuple[str, bool]:
    stored = getattr(row, "vessel_type", None)
    return dm.vessel_type_of(stored if stored in VESSEL_TYPE.codes else None, row.substances, data.props, liquefied)


def _frame(data: safety.SafetyData, area: Any, extra: list[dict[str, Any]]) -> gpd.GeoDataFrame:
    hazards = data.hazards
    if area is not None:
        zone = gpd.GeoSeries([area], crs=4326).to_crs(data.crs).iloc[0]
        hazards = hazards[hazards.intersects(zone)]
    hazards = hazards[~hazards["kind"].isin(EXCLUDED_KINDS) & hazards.geometry.notna()]
    if extra:
        proposed = gpd.GeoDataFrame(
            pd.DataFrame([{**f["properties"], "id": -(i + 1)} for i, f in enumerate(extra)]),
            geometry=[shapely.geometry.shape(f["geometry"]) for f in extra],
            crs=4326,
        ).to_crs(data.crs)
        proposed = proposed[~proposed["kind"].isin(EXCLUDED_KINDS)]
        hazards = pd.concat([hazards, proposed], ignore_index=True)
    return gpd.GeoDataFrame(hazards, geometry="geometry", crs=data.crs).reset_index(drop=True)


# ---------------------------------------------------------------------------- scenarios and vectors


def _vector(h: Any, prop: Any, sc: Any, mass_kg: float) -> dm.Vector | None:
    fraction = finite(sc.release_fraction) or 1.0
    heat = finite(prop.get("heat_of_combustion_kj_kg"))
    if sc.model == "bleve":
        return dm.fireball_vector(fireball_fuel_kg(mass_kg * fraction, 1))
    if sc.model == "vce" and heat:
        return dm.vce_vector(tnt_equivalent_kg(mass_kg * fraction, heat))
    rate = finite(prop.get("burning_rate_kg_m2_s"))
    if sc.model == "pool_fire" and heat and rate:
        return dm.pool_fire_vector(PoolFire(safety._area_m2(h.geometry), rate, heat))
    return None


def _released(s: Scenario | None) -> float:
    return -1.0 if s is None else float(s.details.get("rate_kg_s", 0) * s.details.get("duration_s", 0))


def _scenarios(
    data: safety.SafetyData, frame: gpd.GeoDataFrame
) -> tuple[list[Scenario], list[dm.Source], dict[int, list[tuple[Scenario, float]]]]:
    """All scenarios, the fire/explosion sources with vectors, and what each unit's failure releases."""
    stored = {(s.source_id, s.name): s for s in safety.stored_scenarios(data)}
    by_category = {c: list(g.itertuples(index=False)) for c, g in _enabled(data).groupby("qra_category")}
    scenarios: list[Scenario] = []
    sources: list[dm.Source] = []
    toxic: dict[int, Scenario] = {}
    for h in frame.itertuples(index=False):
        centre = h.geometry if h.geometry.geom_type == "Point" else h.geometry.representative_point()
        own: list[dm.Source] = []
        for sub in h.substances or []:
            prop = data.props.find(sub.get("name"), sub.get("cas"))
            mass_kg = float(sub.get("quantity_t") or 0) * 1000
            if prop is None or not isinstance(prop.get("qra_category"), str) or mass_kg <= 0:
                continue
            for sc in by_category.get(prop["qra_category"], []):
                s = safety._scenario(h, (centre.x, centre.y), prop, sc, mass_kg, DEFAULT_WEATHER, None)
                if s is None:
                    continue
                s = stored.get((s.source_id, s.name), s)
                if s.table is None:
                    s.tabulate()
                scenarios.append(s)
                vector = _vector(h, prop, sc, mass_kg) if sc.model in FIRE_MODELS else None
                if vector is not None:
                    own.append(dm.Source(int(h.id), s, vector))
                elif s.model == "toxic_plume" and _released(s) > _released(toxic.get(int(h.id))):
                    toxic[int(h.id)] = s
        for src, w in zip(own, dm.weights([o.scenario.frequency for o in own]), strict=True):
            src.weight = w
        sources.extend(own)
    consequences: dict[int, list[tuple[Scenario, float]]] = {}
    for src in sources:
        consequences.setdefault(src.unit_id, []).append((src.scenario, src.weight))
    for unit, s in toxic.items():
        # A unit that fails loses its toxic contents too: its largest release, conditional probability 1.
        consequences.setdefault(unit, []).append((s, 1.0))
    return scenarios, sources, consequences


# ---------------------------------------------------------------------------- the analysis


def analyse(
    store: FeatureStore, *, area: Any = None, extra_sources: list[dict] | None = None, max_level: int = 3
) -> DominoResult:
    """Escalation pairs, chains (levels 1–``max_level``) and domino scenarios of the sources in ``area``.

    Parameters
    ----------
    store
        The feature store.
    area
        A shapely polygon in lon/lat: only hazard sources intersecting it; ``None``: all.
    extra_sources
        GeoJSON features (lon/lat) of proposed hazard sources shaped like ``hazard_sources``
        (properties ``name``, ``kind``, ``enterprise_id``, ``vessel_type``, ``max_tank_m3``,
        ``substances``); analysed, never stored, ids −1, −2, ….
    max_level
        Deepest escalation level, 1–3.

    Raises
    ------
    Unprocessable
        A proposed source or ``max_level`` is not valid (the message names the field in Chinese).
    """
    extra = validate_sources(extra_sources, store.extent)
    if not isinstance(max_level, int) or isinstance(max_level, bool) or not 1 <= max_level <= 3:
        raise invalid("max_level", "多米诺层级应为 1、2 或 3")
    data = safety.load(store)
    key = ("domino", None if area is None else shapely.to_wkb(area), max_level)
    if not extra and key in data.cache:
        return data.cache[key]
    frame = _frame(data, area, extra)
    rows = _enabled(data)
    liquefied = set(rows.loc[rows["model"] == "bleve", "qra_category"])
    types = [_vessel(data, r, liquefied) for r in frame.itertuples(index=False)]
    frame["vessel_type"] = [t for t, _ in types]
    frame["vessel_type_derived"] = [d for _, d in types]
    frame["volume_m3"] = [dm.volume_of(r.max_tank_m3, r.substances, data.props) for r in frame.itertuples(index=False)]
    units = {
        int(r.id): dm.Unit(int(r.id), str(r.name), r.geometry, r.vessel_type, float(r.volume_m3))
        for r in frame.itertuples(index=False)
    }
    scenarios, sources, consequences = _scenarios(data, frame)
    esc = dm.analyse(units, sources, consequences=consequences, max_level=max_level)
    silent = "、".join(units[u].name for u in sorted(esc.failure_frequency) if u not in consequences)
    notes = (
        [f"以下危险源可被波及，但没有可计算的火灾、爆炸或中毒场景，其次生事故未计入风险：{silent}"] if silent else []
    )
    columns = ["id", "name", "enterprise_id", "kind", "vessel_type", "vessel_type_derived", "volume_m3", "geometry"]
    result = DominoResult(
        units=gpd.GeoDataFrame(frame[columns], geometry="geometry", crs=data.crs),
        pairs=esc.pairs,
        chains=esc.chains,
        scenarios=scenarios,
        domino_scenarios=esc.domino_scenarios,
        crs=data.crs,
        chain_frequency=esc.chain_frequency,
        failure_frequency=esc.failure_frequency,
        edges=esc.edges,
        notes=notes,
    )
    if not extra:
        data.cache[key] = result
    return result


# ---------------------------------------------------------------------------- map, summary


def _point(geom: Any) -> Any:
    return geom if geom.geom_type == "Point" else geom.representative_point()


def geojson(result: DominoResult) -> dict[str, Any]:
    """Arrows (primary → secondary, one per vector and level, the strongest scenario) and unit points, lon/lat."""
    ll = result.units.to_crs(4326)
    where = {int(i): _point(g) for i, g in zip(ll["id"], ll.geometry, strict=True)}
    names = dict(zip(result.units["id"].astype(int), result.units["name"], strict=True))
    strongest: dict[tuple[int, int, str, int], dict] = {}
    for p in result.pairs:
        k = (p["primary_id"], p["secondary_id"], p["vector"], p["level"])
        if k not in strongest or p["value"] / p["threshold"] > strongest[k]["value"] / strongest[k]["threshold"]:
            strongest[k] = p
    feats = []
    for (a, b, vector, level), p in strongest.items():
        line = shapely.LineString([where[a], where[b]])
        text = (
            f"{names[a]} → {names[b]}：{dm.VECTOR_LABEL[vector]} {p['value']:.1f} {p['unit']}"
            f" ≥ 阈值 {p['threshold']:.1f} {p['unit']}，失效概率 {p['probability']:.2g}（{LEVEL_LABEL[level]}）"
        )
        feats.append(
            {
                "type": "Feature",
                "geometry": shapely.geometry.mapping(line),
                "properties": {
                    "feature": "arrow",
                    **{k: p[k] for k in ("primary_id", "secondary_id", "scenario", "vector", "value", "threshold")},
                    **{k: p[k] for k in ("unit", "probability", "level", "distance_m")},
                    "primary_name": names[a],
                    "secondary_name": names[b],
                    "vector_label": dm.VECTOR_LABEL[vector],
                    "level_label": LEVEL_LABEL[level],
                    "color": COLOURS[(vector, min(level, 2))],
                    "label": text,
                },
            }
        )
    degrees = graph_summary(names, result.edges)
    for r in result.units.itertuples(index=False):
        i = int(r.id)
        d_in, d_out = degrees.get(i, (0, 0))
        props = {"feature": "unit", "id": i, "name": r.name, "proposed": i < 0, "in_degree": d_in, "out_degree": d_out}
        props |= {"vessel_type_label": VESSEL_TYPE.label(r.vessel_type)}
        props |= {"domino_failure_per_year": result.failure_frequency.get(i, 0.0)}
        feats.append({"type": "Feature", "geometry": shapely.geometry.mapping(where[i]), "properties": props})
    return {"type": "FeatureCollection", "features": feats}


def graph_summary(units: Iterable[int], edges: Sequence[Mapping[str, Any]]) -> dict[int, tuple[int, int]]:
    """(in-degree, out-degree) of every unit in the escalation graph."""
    deg = {u: [0, 0] for u in units}
    for e in edges:
        deg.setdefault(e["from"], [0, 0])[1] += 1
        deg.setdefault(e["to"], [0, 0])[0] += 1
    return {u: (a, b) for u, (a, b) in deg.items()}


def summary(result: DominoResult) -> dict[str, Any]:
    """Counts for a report: units, pairs per level and vector, chains per level, domino frequency."""
    levels = {str(lv): sum(1 for p in result.pairs if p["level"] == lv) for lv in (1, 2, 3)}
    vectors = {v: sum(1 for p in result.pairs if p["vector"] == v) for v in dm.VECTOR_LABEL}
    chain_levels = {str(lv): sum(1 for c in result.chains if len(c) == lv + 1) for lv in (1, 2, 3)}
    return {
        "units": len(result.units),
        "scenarios": len(result.scenarios),
        "pairs": len(result.pairs),
        "pairs_by_level": levels,
        "pairs_by_vector": vectors,
        "edges": len(result.edges),
        "chains": len(result.chains),
        "chains_by_level": chain_levels,
        "domino_scenarios": len(result.domino_scenarios),
        "domino_frequency_per_year": float(sum(s.frequency for s in result.domino_scenarios)),
        "primary_frequency_per_year": float(sum(s.frequency for s in result.scenarios)),
        "notes": result.notes,
    }


# ---------------------------------------------------------------------------- risk with escalation


@dataclass
class DominoRisk:
    """The IR grid and F–N curve without and with escalation, on one grid."""

    without: safety.RiskResult
    with_domino: safety.RiskResult
    fn_without: dict
    fn_with: dict
    increase: dict


def risk(result: DominoResult, store: FeatureStore, *, cell_m: float = 10.0, max_cells: int = 4_000_000) -> DominoRisk:
    """IR and F–N of the area's scenarios, then with the domino scenarios added (Cozzani et al. 2005).

    Raises
    ------
    LookupError
        No scenario to compute.
    ValueError
        The grid would exceed ``max_cells``.
    """
    if not result.scenarios:
        raise LookupError("所选范围内没有可计算个人风险的事故场景")
    data = safety.load(store)
    both = [*result.scenarios, *result.domino_scenarios]
    pts = np.array([[s.x, s.y] for s in both])
    reach = max(s.reach_m for s in both)
    grid = Grid.around(pts, reach + cell_m, cell_m, max_cells)
    base = risk_grid(result.scenarios, grid)
    extra = risk_grid(result.domino_scenarios, grid) if result.domino_scenarios else np.zeros_like(base)
    without = safety.RiskResult(grid, base, result.crs, list(result.scenarios))
    with_domino = safety.RiskResult(grid, base + extra, result.crs, both)
    protected = data.protected
    geoms, pop = protected.geometry.to_numpy(), protected["population"].to_numpy(dtype=float)
    fn0, fn1 = fn_curve(result.scenarios, geoms, pop), fn_curve(both, geoms, pop)
    cell_area = grid.cell_m**2
    areas = {
        f"{lv:g}": {
            "without_m2": float((base >= lv).sum() * cell_area),
            "with_m2": float(((base + extra) >= lv).sum() * cell_area),
        }
        for lv in safety.RISK_LEVELS
    }
    targets0 = safety.risk_targets(data, result.scenarios)
    targets1 = safety.risk_targets(data, both)
    increase = {
        "max_ir_without_per_year": float(base.max()),
        "max_ir_with_per_year": float((base + extra).max()),
        "max_ir_increase_per_year": float(extra.max()) if extra.size else 0.0,
        "area_above_m2": areas,
        "targets_exceeding_without": int(targets0["exceeds"].sum()) if len(targets0) else 0,
        "targets_exceeding_with": int(targets1["exceeds"].sum()) if len(targets1) else 0,
        "fn_max_n_without": fn0["max_N"],
        "fn_max_n_with": fn1["max_N"],
        "method": (
            "Cozzani 等（2005）简化一阶方法：每一次多米诺失效在次生危险源处增加一个次生事故场景，"
            "频率 = 初始事故频率 × 逐级升级概率（概率单位法），后果取次生危险源自身的火灾、爆炸（及最大中毒）场景；"
            "个人风险栅格与 F–N 曲线在同一网格上按 原场景 + 次生场景 重新计算。"
        ),
    }
    return DominoRisk(without, with_domino, fn0, fn1, increase)


def fn_payload(fn: dict) -> dict[str, Any]:
    """The F–N result as JSON (the outcome count instead of the outcomes)."""
    return {k: v for k, v in fn.items() if k != "outcomes"} | {"outcomes": len(fn["outcomes"])}


def area_of(store: FeatureStore, area_id: int) -> tuple[str, Any]:
    """(name, lon/lat polygon) of an ``admin_boundaries`` feature; ``Unprocessable`` if there is none."""
    frame = store.to_geodataframe("admin_boundaries")
    hit = frame[frame["id"] == area_id]
    if not len(hit) or hit.geometry.iloc[0] is None:
        raise invalid("area", f"没有编号为 {area_id} 的行政区或园区边界")
    return str(hit["name"].iloc[0]), hit.geometry.iloc[0]


def parks(store: FeatureStore) -> list[dict[str, Any]]:
    """The industrial parks (``admin_boundaries`` of level ``industrial_park``): id and name."""
    frame = store.to_geodataframe("admin_boundaries")
    frame = frame[frame["level"] == "industrial_park"]
    return [{"id": int(r.id), "name": r.name} for r in frame.itertuples(index=False)]


# ---------------------------------------------------------------------------- proposed sources

MAX_EXTRA, MAX_SUBSTANCES = 200, 50


def _require(ok: bool, field_path: str, message: str) -> None:
    if not ok:
        raise Unprocessable(message, [Problem(field_path, message)])


def _number(value: Any, lo: float, hi: float) -> bool:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    return ok and lo <= value <= hi


def _geometry(value: Any, at: str, who: str, extent: tuple[float, float, float, float]) -> Any:
    try:
        geom = shapely.geometry.shape(value)
    except Exception:
        geom = None
    good = geom is not None and geom.geom_type in ("Point", "Polygon", "MultiPolygon") and not geom.is_empty
    _require(good and geom.is_valid, at, f"{who}·位置：应为有效的 GeoJSON 点或面")
    x0, y0, x1, y1 = extent
    b = geom.bounds
    inside = x0 <= b[0] and b[2] <= x1 and y0 <= b[1] and b[3] <= y1
    _require(inside, at, f"{who}·位置：超出服务范围（经度 {x0}–{x1}，纬度 {y0}–{y1}）")
    return geom


def validate_sources(extra: Any, extent: tuple[float, float, float, float] | None) -> list[dict[str, Any]]:
    """Proposed hazard sources checked and normalised; ``Unprocessable`` naming the first bad field in Chinese."""
    if extra is None:
        return []
    _require(
        isinstance(extra, list) and len(extra) <= MAX_EXTRA,
        "extra_sources",
        "拟建危险源应为 GeoJSON 要素列表（至多 200 项）",
    )
    out = []
    for i, feat in enumerate(extra):
        at, who = f"extra_sources.{i}", f"拟建危险源第{i + 1}项"
        _require(
            isinstance(feat, dict) and isinstance(feat.get("properties"), dict),
            at,
            f"{who}：应为带 properties 的 GeoJSON 要素",
        )
        geom = _geometry(feat.get("geometry"), f"{at}.geometry", who, extent or (-180.0, -90.0, 180.0, 90.0))
        props, at = feat["properties"], f"{at}.properties"
        name, kind, vt = props.get("name"), props.get("kind"), props.get("vessel_type") or None
        tank, ent, subs = props.get("max_tank_m3"), props.get("enterprise_id"), props.get("substances", [])
        name = who if name is None or (isinstance(name, str) and not name.strip()) else name
        _require(isinstance(name, str) and len(name) <= 100, f"{at}.name", f"{who}·名称：应为文字（至多 100 字）")
        _require(kind in HAZARD_KIND.codes, f"{at}.kind", f"{who}·类型：不是有效的危险源类型")
        _require(
            vt is None or vt in VESSEL_TYPE.codes, f"{at}.vessel_type", f"{who}·设备类型（多米诺）：不是有效的设备类型"
        )
        _require(
            tank is None or _number(tank, 0, 100_000),
            f"{at}.max_tank_m3",
            f"{who}·单罐最大容积：应为 0–100000 m³ 之间的数",
        )
        _require(
            ent is None or (isinstance(ent, int) and not isinstance(ent, bool)),
            f"{at}.enterprise_id",
            f"{who}·所属企业编号：应为整数",
        )
        _require(
            isinstance(subs, list) and len(subs) <= MAX_SUBSTANCES,
            f"{at}.substances",
            f"{who}·物质：应为列表（至多 50 项）",
        )
        clean = []
        for j, sub in enumerate(subs):
            where, label = f"{at}.substances.{j}", f"{who}·物质第{j + 1}项"
            _require(isinstance(sub, dict), where, f"{label}：应为对象")
            sname, cas = (v if isinstance(v, str) and v.strip() else None for v in (sub.get("name"), sub.get("cas")))
            _require(bool(sname or cas), f"{where}.name", f"{label}·名称：请给出物质名称或 CAS 号")
            qty = sub.get("quantity_t")
            _require(_number(qty, 0, 1e6), f"{where}.quantity_t", f"{label}·数量：应为 0–1000000 t 之间的数")
            clean.append({"name": sname, "cas": cas, "quantity_t": float(qty)})
        tank = None if tank is None else float(tank)
        properties = {"name": name.strip(), "kind": kind, "enterprise_id": ent, "vessel_type": vt, "max_tank_m3": tank}
        out.append({"geometry": shapely.geometry.mapping(geom), "properties": {**properties, "substances": clean}})
    return out


__all__ = [
    "DominoResult",
    "DominoRisk",
    "analyse",
    "area_of",
    "geojson",
    "parks",
    "risk",
    "summary",
    "validate_sources",
]
