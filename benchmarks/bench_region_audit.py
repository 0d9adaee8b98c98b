"""Region-wide separation audit on Dask: 100 counties (10M targets × 500k hazard sources), 1/2/4 workers.

Synthetic data (marked synthetic; nothing read from a store): 100 counties in a 10 × 10 grid
of 60 km squares, each with 100,000 protected targets (a fifth of them building polygons,
clustered around 40 towns) and 5,000 hazard sources (fuel stations of all grades and
vapour-recovery levels, LPG tanks, gasoline tank farms, explosives stores), as
``bench_safety`` builds one county. Target categories and GB 50156 classes are drawn from the
values the real rules table (``data/standards/separation_rules.csv``) selects on; every
enabled rule applies.

Each county is one partition (:mod:`safemap.gis.partitions`), generated *on the worker* from
``(seed, county)``: its targets, its own sources and the sources of its neighbours whose rule
distances reach into it (the halo). A task runs the product's audit of one partition
(:func:`safemap.api.services.region_analysis.audit_partition`: rule matching, STRtree,
exact distances, shortest lines) and returns its counts. Runs: in-process (one process, a
plain loop over the same tasks — :class:`~safemap.api.services.region_executor.Executor`),
then a Dask ``LocalCluster`` with 1, 2 and 4 worker processes (1 thread each). Every run must
give the same per-county counts. Wall seconds exclude starting the cluster (printed apart).

Run: ``python -m benchmarks bench_region_audit`` (full size: 100 counties) or
``--scale 0.04`` (4 counties, 2 × 2) for a quick run; ``--workers 1,2`` to choose the
cluster sizes; ``--verify`` also audits the first 2 × 2 counties unpartitioned and checks the
partitioned sum equals it.
"""

from __future__ import annotations

import argparse
import importlib
import math
import os
import time
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from benchmarks import report
from safemap.api.services.region_analysis import audit_partition
from safemap.api.services.region_executor import Executor
from safemap.gis import partitions as parts
from safemap.gis.separation import SubstanceProperties, evaluate
from safemap.layers.paths import DATA_DIR

CRS = "EPSG:32644"
SIDE_M = 60_000.0
GRID = 10
N_TARGETS = 100_000
N_HAZARDS = 5_000
#: Neighbours' sources farther than this outside a county are never in its halo (checked per task).
MAX_HALO_M = 3_000.0
SOURCE = "synthetic"


def rules_table() -> pd.DataFrame:
    """The real separation rules (``data/standards/separation_rules.csv``), enabled ones as in the store."""
    frame = pd.read_csv(DATA_DIR / "standards" / "separation_rules.csv", dtype={"vapour_recovery": object})
    frame["enabled"] = frame["enabled"].astype(str).str.lower().eq("true")
    frame["id"] = np.arange(1, len(frame) + 1)
    return frame


def props_table() -> SubstanceProperties:
    """Substance data (``data/standards/substance_properties.csv``)."""
    return SubstanceProperties(pd.read_csv(DATA_DIR / "standards" / "substance_properties.csv", dtype={"cas": str}))


def _values(rules: pd.DataFrame, field: str) -> np.ndarray:
    vals = rules.loc[rules["target_field"] == field, "target_values"].dropna()
    return np.array(sorted({v for text in vals for v in str(text).split("|")}), dtype=object)


def origin(county: int) -> tuple[float, float]:
    """South-west corner of a county's square, metres."""
    return (county % GRID) * SIDE_M, (county // GRID) * SIDE_M


def code(county: int) -> str:
    """A made-up 行政区划代码 for synthetic county ``county`` (65 + four digits)."""
    return f"65{county:04d}"


def _towns(seed: int, county: int) -> np.ndarray:
    x0, y0 = origin(county)
    rng = np.random.default_rng([seed, county, 0])
    return rng.uniform(2_000, SIDE_M - 2_000, (40, 2)) + np.array([x0, y0])


def targets_of(seed: int, county: int, rules: pd.DataFrame) -> gpd.GeoDataFrame:
    """County ``county``'s 100,000 synthetic protected targets (and a few fire stations), metric."""
    rng = np.random.default_rng([seed, county, 1])
    towns = _towns(seed, county)
    xy = towns[rng.integers(0, 40, N_TARGETS)] + rng.normal(0, 900, (N_TARGETS, 2))
    polys = rng.random(N_TARGETS) < 0.2
    geoms = np.where(polys, shapely.box(xy[:, 0] - 12, xy[:, 1] - 8, xy[:, 0] + 12, xy[:, 1] + 8), shapely.points(xy))
    cats, classes = _values(rules, "category"), _values(rules, "gb50156_class")
    ids = county * 1_000_000 + np.arange(1, N_TARGETS + 1)
    return gpd.GeoDataFrame(
        {
            "id": ids,
            "name": [f"T{i}" for i in ids],
            "layer": np.where(rng.random(N_TARGETS) < 0.002, "rescue_teams", "protected_targets"),
            "category": cats[rng.integers(0, len(cats), N_TARGETS)],
            "gb50156_class": classes[rng.integers(0, len(classes), N_TARGETS)],
            "kind": "fire_station",
            "road_class": None,
            "county_code": code(county),
            "source": SOURCE,
        },
        geometry=geoms,
        crs=CRS,
    )


def hazards_of(seed: int, county: int, keep: np.ndarray | None = None) -> gpd.GeoDataFrame:
    """County ``county``'s 5,000 synthetic hazard sources (only ``keep`` positions when given), metric.

    The whole county is drawn every time (the same random stream), so any worker gets the
    same sources; ``keep`` only limits which rows are built.
    """
    rng = np.random.default_rng([seed, county, 2])
    towns = _towns(seed, county)
    xy = towns[rng.integers(0, 40, N_HAZARDS)] + rng.normal(0, 1500, (N_HAZARDS, 2))
    kinds = rng.choice(
        ["fuel_station_tank", "lpg_tank", "storage_tank", "explosives_store"], N_HAZARDS, p=[0.6, 0.2, 0.15, 0.05]
    )
    gasoline = rng.choice([30.0, 60.0, 90.0, 120.0, 150.0], N_HAZARDS)
    diesel = rng.choice([30.0, 60.0, 100.0], N_HAZARDS)
    tank = np.where(rng.random(N_HAZARDS) < 0.5, 30.0, 50.0)
    recovery = rng.choice(["none", "unloading", "full"], N_HAZARDS)
    lpg_t, liquid_t, tnt_t = (
        rng.uniform(5, 60, N_HAZARDS),
        rng.uniform(50, 3000, N_HAZARDS),
        rng.uniform(0.1, 5, N_HAZARDS),
    )
    idx = np.arange(N_HAZARDS) if keep is None else np.asarray(keep, dtype=int)
    rows = []
    for i in idx:
        kind = kinds[i]
        hid = county * 1_000_000 + int(i) + 1
        row: dict[str, Any] = {
            "id": hid,
            "name": f"H{hid}",
            "kind": kind,
            "enterprise_id": hid,
            "gasoline_m3": None,
            "diesel_m3": None,
            "max_tank_m3": None,
            "vapour_recovery": None,
            "county_code": code(county),
            "source": SOURCE,
        }
        if kind == "fuel_station_tank":
            row.update(
                gasoline_m3=gasoline[i],
                diesel_m3=diesel[i],
                max_tank_m3=tank[i],
                vapour_recovery=str(recovery[i]),
                substances=[{"name": "汽油", "quantity_t": 50.0}],
            )
        elif kind == "lpg_tank":
            row["substances"] = [{"name": "液化石油气", "quantity_t": float(lpg_t[i])}]
        elif kind == "storage_tank":
            row["substances"] = [{"name": "汽油", "quantity_t": float(liquid_t[i])}]
        else:
            row["substances"] = [{"name": "乳化炸药", "hazard_class": "W1.1", "quantity_t": float(tnt_t[i])}]
        rows.append(row)
    pts = shapely.points(xy[idx]) if len(idx) else np.zeros(0, dtype=object)
    return gpd.GeoDataFrame(rows, geometry=shapely.buffer(pts, 10.0, quad_segs=2), crs=CRS)


def _near(seed: int, county: int, x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    """Positions of ``county``'s sources within :data:`MAX_HALO_M` of the box (centres; 10 m pads)."""
    rng = np.random.default_rng([seed, county, 2])
    towns = _towns(seed, county)
    xy = towns[rng.integers(0, 40, N_HAZARDS)] + rng.normal(0, 1500, (N_HAZARDS, 2))
    m = MAX_HALO_M + 10.0
    inside = (xy[:, 0] > x0 - m) & (xy[:, 0] < x1 + m) & (xy[:, 1] > y0 - m) & (xy[:, 1] < y1 + m)
    return np.flatnonzero(inside)


def county_partition(county: int, n: int, seed: int, rules: pd.DataFrame) -> dict[str, Any]:
    """The partition of ``county``: its targets, its sources and its neighbours' sources that reach it."""
    targets = targets_of(seed, county, rules)
    x0, y0, x1, y1 = targets.total_bounds
    col, row = county % GRID, county // GRID
    frames = []
    for dc in (-1, 0, 1):
        for dr in (-1, 0, 1):
            c, r = col + dc, row + dr
            k = r * GRID + c
            if not (0 <= c < GRID and 0 <= r < GRID) or k >= n:
                continue
            frames.append(hazards_of(seed, k) if k == county else hazards_of(seed, k, _near(seed, k, x0, y0, x1, y1)))
    hazards = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs=CRS)
    return {"targets": targets, "hazards": hazards}


def county_task(county: int, n: int, seed: int, rules: pd.DataFrame, props: SubstanceProperties) -> dict[str, Any]:
    """Generate county ``county``'s partition and audit it (on a worker); its counts."""
    part = county_partition(county, n, seed, rules)
    hazards, targets = part["hazards"], part["targets"]
    reach = parts.separation_reach(hazards, rules, props)
    if reach.max(initial=0.0) > MAX_HALO_M:
        raise RuntimeError(f"a rule reaches {reach.max():.0f} m, beyond the benchmark's halo of {MAX_HALO_M:.0f} m")
    (p,) = [
        q
        for q in parts.split(
            targets.geometry.to_numpy(),
            hazards.geometry.to_numpy(),
            reach,
            target_keys=targets["county_code"].to_numpy(dtype=object),
            hazard_keys=hazards["county_code"].to_numpy(dtype=object),
            hazard_groups=hazards["enterprise_id"].to_numpy(dtype=object),
        )
        if q.key == code(county)
    ]
    item = {
        "hazards": hazards.iloc[p.hazards].reset_index(drop=True),
        "targets": targets.iloc[p.targets].reset_index(drop=True),
        "owned": np.isin(p.hazards, p.owned),
    }
    frame, issues = audit_partition(item, rules, props)
    return {
        "county": code(county),
        "fail": int((frame["status"] == "fail").sum()),
        "cannot_check": int((frame["status"] == "cannot_check").sum()),
        "issues": len(issues),
        "halo": int((~item["owned"]).sum()),
        "actual_m_sum": round(float(frame["actual_m"].sum()), 2),
    }


def run(ex: Executor, n: int, seed: int, rules: pd.DataFrame, props: SubstanceProperties) -> tuple[float, list[dict]]:
    """Audit ``n`` counties with ``ex``: wall seconds and the per-county counts."""
    t0 = time.perf_counter()
    out = ex.map(county_task, list(range(n)), n=n, seed=seed, rules=rules, props=props)
    return time.perf_counter() - t0, out


def verify(seed: int, rules: pd.DataFrame, props: SubstanceProperties, rows: list[dict]) -> bool:
    """The first 2 × 2 counties audited as one frame (no partitions) give the partitioned counts' sum."""
    counties = [0, 1, GRID, GRID + 1]
    hazards = pd.concat([hazards_of(seed, k) for k in counties], ignore_index=True)
    targets = pd.concat([targets_of(seed, k, rules) for k in counties], ignore_index=True)
    pairs, _ = evaluate(gpd.GeoDataFrame(hazards, crs=CRS), gpd.GeoDataFrame(targets, crs=CRS), rules, props)
    by = {r["county"]: r for r in rows}
    want = sum(by[code(k)]["fail"] for k in counties)
    got = int((pairs["status"] == "fail").sum())
    print(
        f"verify: 2×2 counties unpartitioned {got} violations, partitioned {want} → {'equal' if got == want else 'DIFFERENT'}"
    )
    return got == want


def main() -> None:
    """Print the table of wall seconds and ratios to in-process."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the 100 counties (0.04: 2×2)")
    parser.add_argument("--workers", default="1,2,4", help="Dask worker processes to try, comma-separated")
    parser.add_argument("--seed", type=int, default=19)
    parser.add_argument("--no-local", action="store_true", help="skip the in-process run")
    parser.add_argument("--verify", action="store_true", help="also audit the first 2×2 counties unpartitioned")
    args = parser.parse_args()
    n = max(1, min(GRID * GRID, round(GRID * GRID * args.scale)))
    if args.verify:
        n = max(n, GRID + 2)
    rules, props = rules_table(), props_table()
    print(
        f"synthetic region: {n} counties × {N_TARGETS:,} targets = {n * N_TARGETS:,} targets, "
        f"× {N_HAZARDS:,} hazard sources = {n * N_HAZARDS:,} sources ({SIDE_M / 1000:g} km squares; source={SOURCE})"
    )
    one, five, _ = os.getloadavg()
    print(f"machine: {os.cpu_count()} cores, load {one:.2f} / {five:.2f} (1/5 min) before the runs")
    results: list[tuple[str, int, float, list[dict]]] = []
    if not args.no_local:
        secs, rows = run(Executor(), n, args.seed, rules, props)
        results.append(("in-process", 1, secs, rows))
        print(f"  in-process: {secs:.1f} s", flush=True)
    from dask.distributed import Client, LocalCluster

    for w in [int(x) for x in args.workers.split(",") if x.strip()]:
        t0 = time.perf_counter()
        with (
            LocalCluster(n_workers=w, threads_per_worker=1, processes=True, dashboard_address=None) as lc,
            Client(lc) as client,
        ):
            # Imports on the workers (geopandas, shapely, safemap) belong to starting the cluster.
            client.run(importlib.import_module, "benchmarks.bench_region_audit")
            start_s = time.perf_counter() - t0
            secs, rows = run(Executor(client), n, args.seed, rules, props)
        results.append((f"Dask LocalCluster ({w} × 1 thread)", w, secs, rows))
        print(f"  Dask {w} workers: {secs:.1f} s (cluster start {start_s:.1f} s, not counted)", flush=True)
    base = results[0][2]
    reference = results[0][3]
    print(f"\n{'engine':34} {'workers':>7} {'wall s':>9} {'ratio':>7} {'violations':>11} {'无法核查':>9} same")
    for name, w, secs, rows in results:
        fails = sum(r["fail"] for r in rows)
        unsure = sum(r["cannot_check"] for r in rows)
        same = rows == reference
        ratio = base / secs if secs > 0 else math.nan
        print(f"{name:34} {w:>7} {secs:>9.1f} {ratio:>6.2f}× {fails:>11,} {unsure:>9,} {same}")
        key = "in_process" if w == 1 and name.startswith("in") else f"dask_{w}"
        report.figure(f"region_audit.{key}.seconds", round(secs, 2), "s", counties=n, violations=fails, same=same)
        report.figure(f"region_audit.{key}.ratio_to_in_process", round(ratio, 2), "x")
    one, five, _ = os.getloadavg()
    print(
        f"ratio = first run's seconds / this run's seconds; machine load {one:.2f} / {five:.2f} after, {os.cpu_count()} cores"
    )
    if args.verify:
        verify(args.seed, rules, props, reference)


if __name__ == "__main__":
    main()
