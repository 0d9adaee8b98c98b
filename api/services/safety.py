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

from safemap.gis import individual_risk as ir_mod
from safemap.gis.consequence_fire import PoolFire
from safemap.gis.individual_risk import DEFAULT_WEATHER, Grid, Scenario, Weather
from safemap.gis.major_hazard import CriticalQuantities, Grading, exposed_population, grade
from safemap.gis.projection import metric_crs
from safemap.gis.separation import SubstanceProperties, audit
from safemap.layers.model import SYSTEM, Actor
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
    )
    with _LOCK:
        _CACHE[store] = data
    return data


def to_lonlat(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """A metric frame back in WGS 84 lon/lat."""
    return frame.to_crs(4326)


# ---------------------------------------------------------------------------- separation audit


def violations(store: FeatureStore) -> gpd.GeoDataFrame:
    """Every separation-rule violation in the store (lines between the pair, lon/lat)."""
    data = load(store)
    key = ("violations",)
    if key not in data.cache:
        data.cache[key] = to_lonlat(audit(data.hazards, data.targets, data.rules, data.props))
    return data.cache[key]


def geojson_features(frame: gpd.GeoDataFrame) -> list[dict[str, Any]]:
    """The rows of a lon/lat frame as GeoJSON features (every column but the geometry a property)."""
    out = []
    for row, geom in zip(frame.drop(columns="geometry").to_dict("records"), frame.geometry, strict=True):
        out.append({"type": "Feature", "geometry": shapely.geometry.mapping(geom), "properties": row})
    return out


# ---------------------------------------------------------------------------- GB 18218


def grade_sources(hazards: gpd.GeoDataFrame, protected: gpd.GeoDataFrame, table: CriticalQuantities) -> pd.DataFrame:
    """GB 18218 S, R, grade and exposed population of every hazard source (metric frames)."""
    exposed = exposed_population(
        hazards.geometry.to_numpy(), protected.geometry.to_numpy(), protected["population"].to_numpy()
    )
    rows = []
    for h, people in zip(hazards.itertuples(index=False), exposed, strict=True):
        g = grade(h.substances or [], int(people), table)
        rows.append({"id": h.id, "grading": g})
    return pd.DataFrame(rows, columns=["id", "grading"])


def _grading_inputs(store: FeatureStore) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, CriticalQuantities]:
    """Only what GB 18218 needs (hazard sources, protected targets, Tables 1–4): cheap after every write."""
    with _LOCK:
        cached = _CACHE.get(store)
    if cached is not None and cached.generation == store.generation():
        return cached.hazards, cached.protected, cached.table
    hazards = _frame(store, "hazard_sources", children=True)
    protected = _frame(store, "protected_targets")
    crs = metric_crs(hazards if len(hazards) else protected)
    table = CriticalQuantities(_table(store, "gb18218_substances"), _table(store, "gb18218_classes"))
    return hazards.to_crs(crs), protected.to_crs(crs), table


def _stored(value: Any) -> Any:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def recompute_grades(store: FeatureStore, actor: Actor = SYSTEM) -> dict[str, Any]:
    """Write S, R, grade and exposed population of every hazard source that changed.

    Returns counts (``graded``, ``changed``, ``major``) and the per-source results.
    """
    hazards, protected, table = _grading_inputs(store)
    graded = grade_sources(hazards, protected, table)
    current = hazards.set_index("id")
    updates: dict[int, dict[str, Any]] = {}
    results = []
    for hid, g in zip(graded["id"], graded["grading"], strict=True):
        values = {
            "s_value": round(g.s, 6),
            "r_value": round(g.r, 6),
            "grade": g.grade,
            "exposed_population": g.exposed_population,
        }
        old = current.loc[hid]
        if any(_differs(_stored(old[k]), v) for k, v in values.items()):
            updates[int(hid)] = values
        results.append({"id": int(hid), "name": old["name"], **values, "is_major": g.is_major, "notes": g.notes})
    if updates:
        store.set_computed("hazard_sources", updates, actor, note=f"GB 18218 重新计算 {len(updates)} 个危险源")
    return {
        "graded": len(results),
        "changed": len(updates),
        "major": sum(r["is_major"] for r in results),
        "sources": results,
    }


def _differs(old: Any, new: Any) -> bool:
    if old is None or new is None:
        return old is not new
    if isinstance(new, float) or isinstance(old, float):
        return not math.isclose(float(old), float(new), rel_tol=1e-9, abs_tol=1e-9)
    return old != new


def grade_request(
    store: FeatureStore,
    substances: Sequence[Mapping[str, Any]],
    exposed: int | None,
    geometry: Any | None,
) -> tuple[Grading, int]:
    """Grade a unit described in a request; the population comes from the map when a geometry is given."""
    data = load(store)
    if exposed is None:
        unit = gpd.GeoSeries([geometry], crs=4326).to_crs(data.crs).to_numpy()
        protected = data.protected
        exposed = int(exposed_population(unit, protected.geometry.to_numpy(), protected["population"].to_numpy())[0])
    return grade(substances, exposed, data.table), exposed


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


def _num(value: Any) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


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
    fraction = _num(sc.release_fraction) or 1.0
    name = f"{h.name}：{sc.name}（{prop['name']}）"
    heat = _num(prop.get("heat_of_combustion_kj_kg"))
    if sc.model == "bleve":
        return ir_mod.bleve_scenario(h.id, xy, freq, mass_kg * fraction, name)
    if sc.model == "vce" and heat:
        return ir_mod.vce_scenario(h.id, xy, freq, mass_kg * fraction, heat, name)
    if sc.model == "pool_fire":
        rate = _num(prop.get("burning_rate_kg_m2_s"))
        if heat and rate:
            return ir_mod.pool_fire_scenario(h.id, xy, freq, PoolFire(_area_m2(h.geometry), rate, heat), name)
    if sc.model == "toxic_plume":
        mw, a, b, n = (_num(prop.get(k)) for k in ("molar_mass_g_mol", "probit_a", "probit_b", "probit_n"))
        duration = _num(sc.release_duration_s) or 600.0
        if mw and a is not None and b and n:
            rate = _num(sc.release_rate_kg_s) or mass_kg * fraction / duration
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
    if bbox is not None:
        corners = gpd.GeoSeries(
            shapely.points([bbox[0], bbox[2], bbox[0], bbox[2]], [bbox[1], bbox[1], bbox[3], bbox[3]]), crs=4326
        )
        pts = shapely.get_coordinates(corners.to_crs(data.crs).to_numpy())
        grid = Grid.around(pts, 0.0, cell_m, max_cells)
    elif scenarios:
        pts = np.array([[s.x, s.y] for s in scenarios])
        reach = max(s.reach_m for s in scenarios)
        grid = Grid.around(pts, reach + cell_m, cell_m, max_cells)
    else:
        raise LookupError("没有可计算个人风险的事故场景（无含易燃、有毒物质的危险源）；请给出 bbox")
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
