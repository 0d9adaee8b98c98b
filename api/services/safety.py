"""The store side of the safety-distance analyses: load layers and standards tables, run ``gis``.

``gis/`` is pure (frames in, frames out); this module reads what it needs from the store
(hazard sources with their substances, protected targets, fire stations, roads, and the
standards tables an admin edits), projects it to the local UTM zone, and writes back
the computed GB 18218 fields. Loaded data is cached per store until the store's
generation changes (any write anywhere).
"""

from __future__ import annotations

import math
import threading
import weakref
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from safemap.api.services.major_hazard import grade_request as grade_request
from safemap.api.services.major_hazard import grade_sources as grade_sources
from safemap.api.services.major_hazard import grade_units as grade_units
from safemap.api.services.major_hazard import recompute_grades as recompute_grades
from safemap.gis import individual_risk as ir_mod
from safemap.gis.consequence_fire import PoolFire
from safemap.gis.individual_risk import DEFAULT_WEATHER, Grid, Scenario, Weather
from safemap.gis.major_hazard import CriticalQuantities
from safemap.gis.numbers import finite
from safemap.gis.projection import metric_crs
from safemap.gis.separation import SubstanceProperties, audit_with_issues
from safemap.gis.target_classes import derive_classes
from safemap.gis.verdicts import CANNOT_CHECK, FAIL
from safemap.layers.enums import CLASS_BASIS, TARGET_CATEGORY, VERDICT_STATUS
from safemap.layers.store import FeatureStore

TARGET_LAYERS = ("protected_targets", "rescue_teams", "roads")
#: GB/T 37243-2019 leaves fuel and gas stations to separation distances (reference §3): no QRA scenarios.
QRA_EXCLUDED_KINDS = frozenset({"fuel_station_tank", "tailings_pond"})
#: Pool area used when a hazard source is a point (no dike outline), m².
DEFAULT_POOL_AREA_M2 = 100.0
RISK_LEVELS = (3e-7, 3e-6, 1e-5, 3e-5)


@dataclass
class SafetyData:
    """Everything the analyses read, in one metric CRS."""

    generation: int
    crs: CRS
    hazards: gpd.GeoDataFrame
    targets: gpd.GeoDataFrame
    rules: pd.DataFrame
    table: CriticalQuantities
    props: SubstanceProperties
    limits: pd.DataFrame
    scenario_rows: pd.DataFrame
    cache: dict[Any, Any] = field(default_factory=dict)
    #: GB 18218 units (``hazard_units``), metric.
    units: gpd.GeoDataFrame | None = None

    @property
    def protected(self) -> gpd.GeoDataFrame:
        """Protected targets only (people live or gather there)."""
        return self.targets[self.targets["layer"] == "protected_targets"]


_CACHE: weakref.WeakKeyDictionary[FeatureStore, SafetyData] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def _frame(store: FeatureStore, layer: str, *, children: bool = False) -> gpd.GeoDataFrame:
    page = store.query(layer, limit=None, count=False, children=children)
    columns = [f.name for f in page.layer.fields] + ([c.name for c in page.layer.children] if children else [])
    return gpd.GeoDataFrame(pd.DataFrame(page.rows, columns=columns), geometry=list(page.geometries), crs=4326)


def _table(store: FeatureStore, layer: str) -> pd.DataFrame:
    return store.to_geodataframe(layer).reset_index(drop=True)


def load(store: FeatureStore) -> SafetyData:
    """The store's data for the analyses (cached until the next write)."""
    generation = store.generation()
    with _LOCK:
        cached = _CACHE.get(store)
        if cached is not None and cached.generation == generation:
            return cached
    hazards = _frame(store, "hazard_sources", children=True)
    enterprises = store.to_geodataframe("enterprises")
    names = dict(zip(enterprises["id"], enterprises["name"], strict=True))
    hazards["enterprise_name"] = hazards["enterprise_id"].map(names)
    frames = []
    for layer in TARGET_LAYERS:
        f = _frame(store, layer)
        f["layer"] = layer
        frames.append(f)
    targets = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs=4326)
    crs = metric_crs(hazards if len(hazards) else targets)
    data = SafetyData(
        generation=generation,
        crs=crs,
        hazards=hazards.to_crs(crs).reset_index(drop=True),
        targets=targets.to_crs(crs).reset_index(drop=True),
        rules=_table(store, "separation_rules"),
        table=CriticalQuantities(_table(store, "gb18218_substances"), _table(store, "gb18218_classes")),
        props=SubstanceProperties(_table(store, "substance_properties")),
        limits=_table(store, "gb36894_limits"),
        scenario_rows=_table(store, "risk_scenarios"),
        units=_frame(store, "hazard_units").to_crs(crs).reset_index(drop=True),
    )
    data.cache[CLASS_RULES_KEY] = _table(store, "target_class_rules")  # GB 50156 附录B classes by kind
    with _LOCK:
        _CACHE[store] = data
    return data


def to_lonlat(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """A metric frame back in WGS 84 lon/lat."""
    return frame.to_crs(4326)


# ---------------------------------------------------------------------------- separation audit


CLASS_RULES_KEY = ("target_class_rules",)


def class_rules(data: SafetyData) -> pd.DataFrame:
    """The ``target_class_rules`` table (GB 50156 附录B class by category) as loaded with ``data``."""
    table = data.cache.get(CLASS_RULES_KEY)
    return table if isinstance(table, pd.DataFrame) else pd.DataFrame()


def classify(data: SafetyData, frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``frame`` with GB 50156 classes derived from the category where none is entered.

    Adds ``gb50156_class_basis`` (``explicit``/``derived``) and ``gb50156_class_note`` (the
    clause followed, or why no class can be derived); see :mod:`gis.target_classes`.
    """
    labels = {m.code: m.label for m in TARGET_CATEGORY.members}
    return derive_classes(frame, class_rules(data), labels)


def classified_targets(data: SafetyData) -> gpd.GeoDataFrame:
    """The store's targets with derived classes (cached until the next write)."""
    key = ("classified_targets",)
    if key not in data.cache:
        data.cache[key] = classify(data, data.targets)
    return data.cache[key]


def labelled(frame: pd.DataFrame) -> pd.DataFrame:
    """Checks with the catalogue's Chinese words beside the codes: ``status_label``, ``class_basis_label``."""
    out = frame.copy()
    out["status_label"] = [VERDICT_STATUS.label(s) for s in out["status"]] if len(out) else []
    if "class_basis" in out:
        out["class_basis_label"] = [None if b is None else CLASS_BASIS.label(b) for b in out["class_basis"]]
    return out


def _audit(data: SafetyData) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    key = ("audit",)
    if key not in data.cache:
        frame, issues = audit_with_issues(data.hazards, classified_targets(data), data.rules, data.props)
        data.cache[key] = (to_lonlat(labelled(frame)), labelled(issues))
    return data.cache[key]


def violations(store: FeatureStore) -> gpd.GeoDataFrame:
    """Every separation-rule pair that fails (不符合) or cannot be checked (无法核查), lon/lat lines.

    Each row has ``status`` (``fail``/``cannot_check``), ``status_label`` (不符合/无法核查),
    ``reason`` for the latter, and ``class_basis``/``class_basis_label`` when the target's
    class was derived from its category (按类别推定).
    """
    return _audit(load(store))[0]


def separation_issues(store: FeatureStore) -> list[dict[str, Any]]:
    """Hazard-level findings of the audit, each 无法核查 with its reason.

    Sources without a grade or volume (e.g. a fuel station beyond GB 50156 一级), rules whose
    targets have no map layer (railways, substations …), volumes above a table's last band:
    ``hazard_id``, ``hazard_name``, ``hazard_category``, ``rule``, ``standard``, ``clause``,
    ``target_class``, ``required_m``, ``status``, ``status_label``, ``reason``.
    """
    issues = _audit(load(store))[1]
    return [{k: _stored(v) for k, v in row.items() if k != "rule_pos"} for row in issues.to_dict("records")]


def audit_summary(store: FeatureStore) -> dict[str, Any]:
    """Counts of the audit: pairs 不符合 / 无法核查 and hazard-level 无法核查 findings, with labels."""
    frame, issues = _audit(load(store))
    counts = frame["status"].value_counts().to_dict() if len(frame) else {}
    return {
        "fail": int(counts.get(FAIL, 0)),
        "cannot_check": int(counts.get(CANNOT_CHECK, 0)),
        "issues": len(issues),
        "labels": {code: VERDICT_STATUS.label(code) for code in VERDICT_STATUS.codes},
    }


def geojson_features(frame: gpd.GeoDataFrame) -> list[dict[str, Any]]:
    """The rows of a lon/lat frame as GeoJSON features (every column but the geometry a property)."""
    out = []
    for row, geom in zip(frame.drop(columns="geometry").to_dict("records"), frame.geometry, strict=True):
        out.append({"type": "Feature", "geometry": shapely.geometry.mapping(geom), "properties": row})
    return out


# ---------------------------------------------------------------------------- GB 18218

# GB 18218 grading itself is :mod:`safemap.api.services.major_hazard` (imported above, so that
# ``safety.recompute_grades`` and friends keep working for older callers).


def _stored(value: Any) -> Any:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


# ---------------------------------------------------------------------------- QRA scenarios


def _area_m2(geom: Any) -> float:
    return float(geom.area) if geom is not None and geom.area > 1 else DEFAULT_POOL_AREA_M2


def scenarios_for(
    data: SafetyData,
    hazards: gpd.GeoDataFrame,
    *,
    weather: Sequence[Weather] = DEFAULT_WEATHER,
    wind_rose: Sequence[float] | None = None,
) -> list[Scenario]:
    """Accident scenarios of ``hazards`` (metric) from the ``risk_scenarios`` table and substance data."""
    rows = data.scenario_rows
    rows = rows[rows["enabled"].fillna(True).astype(bool)]
    out: list[Scenario] = []
    for h in hazards.itertuples(index=False):
        if h.kind in QRA_EXCLUDED_KINDS or h.geometry is None:
            continue
        centre = h.geometry.representative_point() if h.geometry.geom_type != "Point" else h.geometry
        xy = (centre.x, centre.y)
        for sub in h.substances or []:
            prop = data.props.find(sub.get("name"), sub.get("cas"))
            if prop is None or not isinstance(prop.get("qra_category"), str):
                continue
            mass_kg = float(sub.get("quantity_t") or 0) * 1000
            if mass_kg <= 0:
                continue
            for sc in rows[rows["qra_category"] == prop["qra_category"]].itertuples(index=False):
                s = _scenario(h, xy, prop, sc, mass_kg, weather, wind_rose)
                if s is not None:
                    out.append(s)
    return out


def _scenario(
    h: Any,
    xy: tuple[float, float],
    prop: Mapping[str, Any],
    sc: Any,
    mass_kg: float,
    weather: Sequence[Weather],
    wind_rose: Sequence[float] | None,
) -> Scenario | None:
    freq = float(sc.frequency_per_year)
    fraction = finite(sc.release_fraction) or 1.0
    name = f"{h.name}：{sc.name}（{prop['name']}）"
    heat = finite(prop.get("heat_of_combustion_kj_kg"))
    if sc.model == "bleve":
        return ir_mod.bleve_scenario(h.id, xy, freq, mass_kg * fraction, name)
    if sc.model == "vce" and heat:
        return ir_mod.vce_scenario(h.id, xy, freq, mass_kg * fraction, heat, name)
    if sc.model == "pool_fire":
        rate = finite(prop.get("burning_rate_kg_m2_s"))
        if heat and rate:
            return ir_mod.pool_fire_scenario(h.id, xy, freq, PoolFire(_area_m2(h.geometry), rate, heat), name)
    if sc.model == "toxic_plume":
        mw, a, b, n = (finite(prop.get(k)) for k in ("molar_mass_g_mol", "probit_a", "probit_b", "probit_n"))
        duration = finite(sc.release_duration_s) or 600.0
        if mw and a is not None and b and n:
            rate = finite(sc.release_rate_kg_s) or mass_kg * fraction / duration
            rate = min(rate, mass_kg / duration)
            return ir_mod.toxic_scenario(h.id, xy, freq, rate, duration, mw, (a, b, n), name, weather, wind_rose)
    return None


def stored_scenarios(
    data: SafetyData, weather: Sequence[Weather] = DEFAULT_WEATHER, wind_rose: Sequence[float] | None = None
) -> list[Scenario]:
    """Tabulated scenarios of every stored hazard source, cached per weather until the next write."""
    key = ("scenarios", tuple(weather), None if wind_rose is None else tuple(wind_rose))
    if key not in data.cache:
        # Tabulated once: panning the map only re-samples them on a new grid.
        scenarios = scenarios_for(data, data.hazards, weather=weather, wind_rose=wind_rose)
        for s in scenarios:
            s.tabulate()
        data.cache[key] = scenarios
    return data.cache[key]


@dataclass
class RiskResult:
    """An individual-risk grid and what made it."""

    grid: Grid
    ir: np.ndarray
    crs: CRS
    scenarios: list[Scenario]


def risk_grid_for(
    data: SafetyData,
    scenarios: Sequence[Scenario],
    bbox: tuple[float, float, float, float] | None,
    cell_m: float,
    max_cells: int = 4_000_000,
) -> Grid:
    """The grid of :func:`risk`: ``bbox`` (lon/lat) or the reach of every scenario, cells of ``cell_m`` m.

    Shared with the region-wide raster (:mod:`safemap.api.services.region_analysis`), which
    computes the same grid in strips.
    """
    if bbox is not None:
        corners = gpd.GeoSeries(
            shapely.points([bbox[0], bbox[2], bbox[0], bbox[2]], [bbox[1], bbox[1], bbox[3], bbox[3]]), crs=4326
        )
        pts = shapely.get_coordinates(corners.to_crs(data.crs).to_numpy())
        return Grid.around(pts, 0.0, cell_m, max_cells)
    if scenarios:
        pts = np.array([[s.x, s.y] for s in scenarios])
        reach = max(s.reach_m for s in scenarios)
        return Grid.around(pts, reach + cell_m, cell_m, max_cells)
    raise LookupError("没有可计算个人风险的事故场景（无含易燃、有毒物质的危险源）；请给出 bbox")


def risk(
    store: FeatureStore,
    *,
    bbox: tuple[float, float, float, float] | None = None,
    cell_m: float = 10.0,
    weather: Sequence[Weather] = DEFAULT_WEATHER,
    wind_rose: Sequence[float] | None = None,
    max_cells: int = 4_000_000,
) -> RiskResult:
    """Individual risk over ``bbox`` (lon/lat; default: the reach of every scenario) in cells of ``cell_m`` m."""
    data = load(store)
    key = ("risk", bbox, cell_m, tuple(weather), None if wind_rose is None else tuple(wind_rose))
    if key in data.cache:
        return data.cache[key]
    scenarios = stored_scenarios(data, weather, wind_rose)
    grid = risk_grid_for(data, scenarios, bbox, cell_m, max_cells)
    result = RiskResult(grid, ir_mod.risk_grid(scenarios, grid), data.crs, scenarios)
    # A grid may be tens of MB: keep only the last few.
    grids = [k for k in data.cache if k[0] == "risk"]
    for old_key in grids[: max(0, len(grids) - 3)]:
        del data.cache[old_key]
    data.cache[key] = result
    return result


def limits_table(data: SafetyData) -> dict[str, tuple[float, float]]:
    """GB 36894 limits per target class: (new plant, existing plant) per year."""
    return {
        r.target_class: (float(r.new_plant_per_year), float(r.existing_plant_per_year))
        for r in data.limits.itertuples(index=False)
    }


def risk_targets(
    data: SafetyData, scenarios: Sequence[Scenario], new_sources: Iterable[int] | None = None
) -> pd.DataFrame:
    """IR at every protected target against its GB 36894 limit.

    A target is flagged when the risk from *new/expanded* plants exceeds the new-plant
    limit, or the risk from all plants exceeds the existing-plant limit (GB 36894 sets the
    stricter column for new and expanded installations).
    """
    protected = data.protected
    geoms = protected.geometry.to_numpy()
    if new_sources is None:
        new_sources = set(data.hazards.loc[data.hazards["plant_status"] == "new", "id"])
    new_ids = set(new_sources)
    new = [s for s in scenarios if s.source_id in new_ids]
    total = ir_mod.risk_at(scenarios, geoms)
    from_new = ir_mod.risk_at(new, geoms) if new else np.zeros(len(geoms))
    limits = limits_table(data)
    rows = []
    for t, ir_all, ir_new in zip(protected.itertuples(index=False), total, from_new, strict=True):
        cls = t.gb36894_class if isinstance(t.gb36894_class, str) else "general_1"
        lim_new, lim_old = limits.get(cls, limits.get("general_1", (3e-7, 3e-6)))
        exceeds_new = ir_new > lim_new
        exceeds_old = ir_all > lim_old
        rows.append(
            {
                "target_id": t.id,
                "target_name": t.name,
                "category": t.category,
                "gb36894_class": cls,
                "population": _stored(t.population),
                "ir_per_year": float(ir_all),
                "ir_new_plants_per_year": float(ir_new),
                "limit_new_per_year": lim_new,
                "limit_existing_per_year": lim_old,
                "exceeds": bool(exceeds_new or exceeds_old),
                # Informational: what a new or expanded plant here would have to meet.
                "above_new_plant_limit": bool(ir_all > lim_new),
                "basis": "new" if exceeds_new else "existing" if exceeds_old else None,
            }
        )
    frame = pd.DataFrame(rows)
    if len(frame):
        frame = frame.sort_values("ir_per_year", ascending=False).reset_index(drop=True)
    return frame


def people_inside(data: SafetyData, zones: Iterable[Any]) -> list[dict[str, Any]]:
    """Protected targets intersecting each zone (metric polygons): their list and total population."""
    protected = data.protected
    geoms = protected.geometry.to_numpy()
    out = []
    for zone in zones:
        if zone is None or zone.is_empty:
            out.append({"population": 0, "targets": []})
            continue
        hit = shapely.intersects(zone, geoms)
        sub = protected[hit]
        out.append(
            {
                "population": int(np.nansum(sub["population"].to_numpy(dtype=float))),
                "targets": [
                    {
                        "id": int(r.id),
                        "name": r.name,
                        "category": r.category,
                        "gb36894_class": _stored(r.gb36894_class),
                        "population": None if _stored(r.population) is None else int(r.population),
                    }
                    for r in sub.itertuples(index=False)
                ],
            }
        )
    return out
