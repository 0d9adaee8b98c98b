"""Region-wide analyses over every county of the store, partitioned, in this process or on Dask.

The separation audit, the individual-risk raster and coverage of every county run as one
task per partition (:mod:`safemap.gis.partitions`): per county (行政区划代码, ``county_code``)
when the data carry it, else per square tile. The executor
(:mod:`safemap.api.services.region_executor`) runs the tasks in this process when
``SAFEMAP_DASK_SCHEDULER`` is empty, or on the Dask cluster it names — the answer is the same
row for row and cell for cell: the analyses themselves are those of one county
(:mod:`safemap.gis.separation`, :mod:`safemap.gis.individual_risk`, :mod:`safemap.gis.coverage`),
only fed a partition at a time.

Each result carries ``run`` (:class:`~safemap.api.services.region_executor.RunInfo`): engine
(进程内/Dask), workers, partitions and wall seconds.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from safemap.api.services import coverage as cov
from safemap.api.services import safety
from safemap.api.services.problems import bad
from safemap.api.services.region_executor import Executor, RunInfo, executor
from safemap.api.services.region_sites import partition_keys, partitioned_site_times, site_keys
from safemap.api.settings import Settings
from safemap.gis import partitions as parts
from safemap.gis.coverage import coverage_tables
from safemap.gis.individual_risk import DEFAULT_WEATHER, Grid, Scenario, Weather, risk_grid
from safemap.gis.partitions import audit_order as canonical
from safemap.gis.separation import SubstanceProperties, describe_issues, describe_pairs, evaluate
from safemap.gis.verdicts import CANNOT_CHECK, FAIL
from safemap.layers.counties import CountyCodeInvalid, county_name, parse_codes
from safemap.layers.enums import VERDICT_STATUS
from safemap.layers.store import FeatureStore

ISSUE_ORDER = ["county_code", "hazard_id", "hazard_category", "rule", "required_m", "reason"]
COUNTY = "county_code"


def counties_of(text: str | Sequence[str] | None) -> tuple[str, ...] | None:
    """The ``counties`` parameter (comma list of 行政区划代码) as codes; ``None``: every county."""
    try:
        return parse_codes(text)
    except CountyCodeInvalid as exc:
        raise bad("counties", str(exc)) from None


def area_name(key: Any, keyed: bool) -> str:
    """What people read for a partition: the county's name, or 分区 and the tile's key."""
    if not keyed:
        return f"分区 {key}"
    return county_name(key) if key else "未注明区县"


def _selected(
    partitions: list[parts.Partition], counties: tuple[str, ...] | None, keyed: bool
) -> list[parts.Partition]:
    if counties is None:
        return partitions
    if not keyed:
        raise bad("counties", "数据中没有行政区划代码（county_code），无法按县筛选")
    return [p for p in partitions if p.key in counties]


# ---------------------------------------------------------------------------- separation audit


@dataclass
class AuditResult:
    """The region-wide audit: pairs (lon/lat lines), hazard-level issues, per-county counts, run."""

    frame: gpd.GeoDataFrame
    issues: pd.DataFrame
    counties: list[dict[str, Any]]
    run: RunInfo

    def summary(self) -> dict[str, Any]:
        """Totals: pairs 不符合 / 无法核查 and hazard-level issues."""
        status = self.frame["status"] if len(self.frame) else pd.Series(dtype=object)
        return {
            "fail": int((status == FAIL).sum()),
            "cannot_check": int((status == CANNOT_CHECK).sum()),
            "issues": len(self.issues),
        }


def audit_partition(
    part: dict[str, Any], rules: pd.DataFrame, props: SubstanceProperties
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """One partition's audit (runs on a worker): its targets against its sources and halo.

    ``part`` holds ``key``, ``hazards``, ``targets`` (metric frames) and ``owned`` (a boolean
    per source: this partition reports its source-level findings). Returns the described
    pairs (metric, every target of this partition) and the issues of the owned sources.
    """
    hazards, targets = part["hazards"], part["targets"]
    pairs, issues = evaluate(hazards, targets, rules, props)
    issues = issues[np.asarray(part["owned"], dtype=bool)[issues["pos"].to_numpy(dtype=int)]] if len(issues) else issues
    frame = describe_pairs(pairs, hazards, targets, rules)
    return frame, describe_issues(issues.reset_index(drop=True), hazards, rules)


def _hazard_frame(data: safety.SafetyData) -> gpd.GeoDataFrame:
    hazards = data.hazards
    if COUNTY in hazards and hazards[COUNTY].notna().any():
        # Enterprise ids are a county's own numbers: two counties' tank farms must not add up.
        hazards = hazards.copy()
        ent = hazards["enterprise_id"]
        hazards["enterprise_id"] = [
            None if pd.isna(e) else f"{c}:{int(e)}" for c, e in zip(hazards[COUNTY], ent, strict=True)
        ]
    return hazards


def audit(
    store: FeatureStore,
    settings: Settings,
    counties: Sequence[str] | str | None = None,
    *,
    tile_m: float | None = None,
) -> AuditResult:
    """The separation audit of every county (or ``counties``), partitioned by county.

    Returns the same pairs as :func:`safemap.api.services.safety.violations` (plus
    ``county_code`` of the target's partition, ordered on :data:`AUDIT_ORDER`) and the same
    hazard-level issues, each found once however the counties are split. ``tile_m``: split
    into square tiles of that many metres instead (one county over several workers).
    """
    started = time.perf_counter()
    codes = counties_of(counties)
    data = safety.load(store)
    with executor(settings.dask_scheduler) as ex:
        run = ex.run_info()
        run.started = started
        frame, issues, rows = audit_frames(
            _hazard_frame(data),
            safety.classified_targets(data),
            data.rules,
            data.props,
            ex,
            counties=codes,
            tile_m=tile_m,
        )
    out = safety.to_lonlat(safety.labelled(frame))
    return AuditResult(out, safety.labelled(issues) if len(issues) else issues, rows, run.finish(len(rows)))


def audit_frames(
    hazards: gpd.GeoDataFrame,
    targets: gpd.GeoDataFrame,
    rules: pd.DataFrame,
    props: SubstanceProperties,
    ex: Executor,
    *,
    counties: tuple[str, ...] | None = None,
    tile_m: float | None = None,
) -> tuple[gpd.GeoDataFrame, pd.DataFrame, list[dict[str, Any]]]:
    """The partitioned audit of metric frames: pairs (metric, :data:`AUDIT_ORDER`), issues, per-partition rows.

    Partitions by ``county_code`` when both frames carry one (and ``tile_m`` is not given),
    else by tiles of ``tile_m`` (default :data:`safemap.gis.partitions.DEFAULT_TILE_M`) metres.
    """
    rules = rules.reset_index(drop=True)
    reach = parts.separation_reach(hazards, rules, props)
    tkeys, hkeys = partition_keys(targets), partition_keys(hazards)
    keyed = tkeys is not None and hkeys is not None and tile_m is None
    partitions = parts.split(
        targets.geometry.to_numpy(),
        hazards.geometry.to_numpy(),
        reach,
        target_keys=tkeys if keyed else None,
        hazard_keys=hkeys if keyed else None,
        hazard_groups=hazards["enterprise_id"].to_numpy(dtype=object),
        tile_m=tile_m or parts.DEFAULT_TILE_M,
    )
    partitions = _selected(partitions, counties, keyed)
    items = [
        {
            "key": p.key,
            "hazards": hazards.iloc[p.hazards].reset_index(drop=True),
            "targets": targets.iloc[p.targets].reset_index(drop=True),
            "owned": np.isin(p.hazards, p.owned),
        }
        for p in partitions
    ]
    results = ex.map(audit_partition, items, rules=rules, props=props)
    frames, issue_frames, rows = [], [], []
    for p, item, (frame, issues) in zip(partitions, items, results, strict=True):
        frame[COUNTY] = p.key if keyed else None
        issues[COUNTY] = p.key if keyed else None
        frames.append(frame)
        issue_frames.append(issues)
        status = frame["status"]
        rows.append(
            {
                COUNTY: p.key if keyed else None,
                "county_name": area_name(p.key, keyed),
                "partition": p.key,
                "targets": len(p.targets),
                "hazard_sources": len(p.owned),
                "halo_sources": int((~item["owned"]).sum()),
                "fail": int((status == FAIL).sum()),
                "cannot_check": int((status == CANNOT_CHECK).sum()),
                "issues": len(issues),
            }
        )
    issues = parts.merge_frames(issue_frames, ISSUE_ORDER) if issue_frames else pd.DataFrame()
    return _merge_audit(frames, hazards.crs), issues, rows


def _merge_audit(frames: list[gpd.GeoDataFrame], crs: Any) -> gpd.GeoDataFrame:
    found = [f for f in frames if len(f)]
    if not found:
        return frames[0].iloc[0:0] if frames else gpd.GeoDataFrame({"status": []}, geometry=[], crs=crs)
    frame = gpd.GeoDataFrame(pd.concat(found, ignore_index=True), geometry="geometry", crs=crs)
    return canonical(frame)


# ---------------------------------------------------------------------------- individual-risk raster


@dataclass
class RegionRisk:
    """The mosaicked individual-risk raster, per-county figures at protected targets, and the run."""

    result: safety.RiskResult
    counties: list[dict[str, Any]]
    run: RunInfo


def risk_strip(item: tuple[tuple[int, int], list[int]], scenarios: list[Scenario], grid: Grid) -> np.ndarray:
    """Rows ``[a, b)`` of the raster (runs on a worker) from the scenarios that reach them.

    The whole grid is summed in the original scenario order, then cut: the strip's cells get
    exactly the additions, in the same order, of one run over everything.
    """
    (a, b), which = item
    return risk_grid([scenarios[i] for i in which], grid)[a:b]


def _portable(s: Scenario) -> Scenario:
    # A tabulated scenario needs only its table; its kernels are closures, costly to ship.
    if s.table is None:
        s.tabulate()
    return dataclasses.replace(s, kernels=[])


def risk_raster(
    store: FeatureStore,
    settings: Settings,
    *,
    bbox: tuple[float, float, float, float] | None = None,
    cell_m: float = 10.0,
    weather: Sequence[Weather] = DEFAULT_WEATHER,
    n_strips: int | None = None,
    max_cells: int = 4_000_000,
) -> RegionRisk:
    """Individual risk over the region (as :func:`safemap.api.services.safety.risk`), computed in strips.

    Parameters
    ----------
    bbox
        Lon/lat extent; default the reach of every scenario.
    cell_m
        Cell side, metres.
    n_strips
        Strips of rows; default two per worker.
    """
    started = time.perf_counter()
    data = safety.load(store)
    scenarios = safety.stored_scenarios(data, tuple(weather), None)
    grid = safety.risk_grid_for(data, scenarios, bbox, cell_m, max_cells)
    windows = [
        parts.rows_touched(
            s.x, s.y, s.reach_m if s.frequency > 0 else 0.0, grid.x0, grid.y0, grid.cell_m, grid.nx, grid.ny
        )
        for s in scenarios
    ]
    portable = [_portable(s) for s in scenarios]
    with executor(settings.dask_scheduler) as ex:
        run = ex.run_info()
        run.started = started
        row_ranges = parts.strips(grid.ny, n_strips or 2 * run.workers)
        items = [(rows, parts.scenarios_reaching(windows, rows)) for rows in row_ranges]
        blocks = ex.map(risk_strip, items, scenarios=portable, grid=grid)
    ir = np.vstack(blocks) if blocks else np.zeros((grid.ny, grid.nx))
    result = safety.RiskResult(grid, ir, data.crs, scenarios)
    return RegionRisk(result, _risk_by_county(data, result), run.finish(len(items)))


def _risk_by_county(data: safety.SafetyData, result: safety.RiskResult) -> list[dict[str, Any]]:
    """Per county: protected targets, the largest IR in their cells, how many lie above each GB 36894 level."""
    protected = data.protected
    g = result.grid
    pts = (
        shapely.get_coordinates(protected.geometry.representative_point().to_numpy())
        if len(protected)
        else np.zeros((0, 2))
    )
    col = np.floor((pts[:, 0] - g.x0) / g.cell_m).astype(int)
    row = g.ny - 1 - np.floor((pts[:, 1] - g.y0) / g.cell_m).astype(int)
    inside = (col >= 0) & (col < g.nx) & (row >= 0) & (row < g.ny)
    ir = np.zeros(len(pts))
    ir[inside] = result.ir[row[inside], col[inside]]
    keys = protected[COUNTY].fillna("").to_numpy(dtype=object) if COUNTY in protected else np.full(len(pts), "")
    out = []
    for key in sorted(set(keys)):
        sel = keys == key
        rec: dict[str, Any] = {
            COUNTY: key or None,
            "county_name": area_name(key or None, True),
            "protected_targets": int(sel.sum()),
        }
        rec["max_ir_per_year"] = float(ir[sel].max()) if sel.any() else 0.0
        rec["above_levels"] = [
            {"level_per_year": level, "targets": int((ir[sel] >= level).sum())} for level in safety.RISK_LEVELS
        ]
        out.append(rec)
    return out


# ---------------------------------------------------------------------------- coverage


@dataclass
class RegionCoverage:
    """Response time of every site, the coverage tables, per-county shares, and the run."""

    sites: pd.DataFrame
    standard_s: float
    tables: dict[str, pd.DataFrame]
    counties: list[dict[str, Any]]
    run: RunInfo


def coverage(
    store: FeatureStore,
    settings: Settings,
    *,
    vehicle: str = "fire_engine",
    kinds: Sequence[str] | None = cov.FIRE_KINDS,
    standard_min: float | None = None,
    turnout_s: float | None = None,
    counties: Sequence[str] | str | None = None,
    tile_m: float | None = None,
) -> RegionCoverage:
    """Response time of every site (enterprises, hazard sources, protected targets) from the fire teams.

    One multi-source search over the network (as the coverage report), then the sites split
    by county (or tile) and snapped and timed in partitions. Times and shares are those of
    :func:`safemap.api.services.coverage_report.coverage_report`.
    """
    started = time.perf_counter()
    codes = counties_of(counties)
    rules = cov.rulebook(store)
    standard_s = standard_min * 60.0 if standard_min is not None else rules.value("response_time")
    turnout = turnout_s if turnout_s is not None else rules.value("turnout_time")
    teams = cov.facilities(store, "rescue_teams", kinds=kinds, vehicle_code=vehicle)
    net, _router, cost, search, _snaps = cov.search_from(store, vehicle, teams)
    site_frame = cov.sites(store)
    keys, keyed = site_keys(site_frame, net, tile_m)
    groups = sorted(set(keys)) if codes is None else [k for k in sorted(set(keys)) if k in codes]
    if codes is not None and not keyed:
        raise bad("counties", "数据中没有行政区划代码（county_code），无法按县筛选")
    t_all, fac_all, _on, run = partitioned_site_times(
        site_frame, net, cost, search, settings.dask_scheduler, keys=keys, groups=groups
    )
    run.started = started
    order = np.flatnonzero(np.isin(keys, groups)) if len(keys) else np.zeros(0, dtype=int)
    t, fac = t_all[order], fac_all[order]
    response = np.where(np.isfinite(t), t + turnout, np.inf)
    sub = site_frame.iloc[order].reset_index(drop=True)
    df = pd.DataFrame(
        {
            COUNTY: sub[COUNTY] if keyed else keys[order],
            "layer": sub["layer"],
            "id": sub["id"],
            "name": sub["name"],
            "township": sub["township"],
            "population": sub["population"],
            "grade": sub["grade"],
            "time_s": response,
            "nearest_team_id": [int(teams.iloc[f]["id"]) if f >= 0 else None for f in fac],
        }
    )
    df = df.sort_values([COUNTY, "layer", "id"], kind="mergesort").reset_index(drop=True)
    tables = coverage_tables(df, standard_s) if len(df) else {}
    rows = []
    for key, g in df.groupby(COUNTY, sort=True):
        covered = g["time_s"] <= standard_s
        pop = pd.to_numeric(g["population"], errors="coerce").fillna(0.0)
        rows.append(
            {
                COUNTY: key if keyed else None,
                "county_name": area_name(key, keyed),
                "partition": key,
                "sites": len(g),
                "covered": int(covered.sum()),
                "share": round(float(covered.mean()), 4) if len(g) else None,
                "population": float(pop.sum()),
                "population_covered": float(pop[covered].sum()),
                "unreachable": int((~np.isfinite(g["time_s"])).sum()),
            }
        )
    return RegionCoverage(df, standard_s, tables, rows, run.finish(len(groups)))


# ------------------------------------------------ the map's panels (/api/safety/violations, risk-*)
# No scheduler: the county's own functions; with one: the same answer, partitioned on Dask.


def _cached_audit(store: FeatureStore, scheduler: str) -> AuditResult:
    data = safety.load(store)
    key = ("region_audit", scheduler)
    if key not in data.cache:
        data.cache[key] = audit(store, Settings(dask_scheduler=scheduler))
    return data.cache[key]


def violations(store: FeatureStore, scheduler: str | None) -> gpd.GeoDataFrame:
    """:func:`safemap.api.services.safety.violations`, on Dask when ``scheduler`` is set."""
    if not scheduler:
        return safety.violations(store)
    return _cached_audit(store, scheduler).frame.drop(columns=COUNTY)


def audit_summary(store: FeatureStore, scheduler: str | None) -> dict[str, Any]:
    """:func:`safemap.api.services.safety.audit_summary`, on Dask when ``scheduler`` is set (plus ``run``)."""
    if not scheduler:
        return safety.audit_summary(store)
    result = _cached_audit(store, scheduler)
    labels = {code: VERDICT_STATUS.label(code) for code in VERDICT_STATUS.codes}
    return {**result.summary(), "labels": labels, "run": result.run.as_dict()}


def separation_issues(store: FeatureStore, scheduler: str | None) -> list[dict[str, Any]]:
    """:func:`safemap.api.services.safety.separation_issues`, on Dask when ``scheduler`` is set."""
    if not scheduler:
        return safety.separation_issues(store)
    issues = _cached_audit(store, scheduler).issues
    return [
        {k: None if pd.isna(v) else v for k, v in row.items() if k not in ("rule_pos", COUNTY)}
        for row in issues.to_dict("records")
    ]


def risk(
    store: FeatureStore,
    scheduler: str | None,
    *,
    bbox: tuple[float, float, float, float] | None = None,
    cell_m: float = 10.0,
    weather: Sequence[Weather] = DEFAULT_WEATHER,
) -> safety.RiskResult:
    """:func:`safemap.api.services.safety.risk`, computed in strips on Dask when ``scheduler`` is set."""
    if not scheduler:
        return safety.risk(store, bbox=bbox, cell_m=cell_m, weather=weather)
    data = safety.load(store)
    key = ("region_risk", scheduler, bbox, cell_m, tuple(weather))
    if key not in data.cache:
        # A grid may be tens of MB: keep the last few, as safety.risk does.
        for old in [k for k in data.cache if k[0] == "region_risk"][:-2]:
            del data.cache[old]
        data.cache[key] = risk_raster(
            store, Settings(dask_scheduler=scheduler), bbox=bbox, cell_m=cell_m, weather=weather
        ).result
    return data.cache[key]
