"""Safety analyses at county-plus scale, SafeMap side by side with PostGIS.

1. Full separation audit: 100,000 protected targets × 5,000 hazard sources (fuel stations
   of all grades and vapour-recovery levels, LPG tanks, gasoline tank farms, explosives
   stores) over 60 km × 60 km, with every enabled rule of ``data/standards/separation_rules.csv``.
   SafeMap: :func:`gis.separation.audit` (rule matching, STRtree ``dwithin``, exact
   distances, shortest lines; target < 2 s). Peer: the same pairs found by PostGIS with an
   ``ST_DWithin`` join — given the rule matching for free (one row per hazard and
   applicable rule with its required distance and target classes), both tables in the
   projected CRS (EPSG:32644) with GIST indexes, so the index is used (no
   ``::geography`` cast on a 4326 column: web-gis-ecosystem.md §4). Same violations.
2. Individual-risk grid of 1000 × 1000 cells (10 m) from 200 scenarios (BLEVE, VCE, pool
   fire, toxic plumes with a 16-sector wind rose): target < 5 s.

Run: ``python -m benchmarks bench_safety`` (or ``make bench``).
"""

from __future__ import annotations

import time

import geopandas as gpd
import numpy as np
import pandas as pd
import psycopg
import shapely

from benchmarks import report
from benchmarks.bench_layers import median_time
from safemap.gis import individual_risk as ir
from safemap.gis.consequence_fire import PoolFire
from safemap.gis.separation import SubstanceProperties, applicable_rules, audit, hazard_profiles
from safemap.layers.paths import DATA_DIR
from tests.support import pg_cluster

CRS = "EPSG:32644"
SIZE_M = 60_000.0
N_TARGETS = 100_000
N_HAZARDS = 5_000


def _rules() -> pd.DataFrame:
    frame = pd.read_csv(DATA_DIR / "standards" / "separation_rules.csv", dtype={"vapour_recovery": object})
    frame["enabled"] = frame["enabled"].astype(str).str.lower().eq("true")
    frame["id"] = np.arange(1, len(frame) + 1)
    return frame


def _props() -> SubstanceProperties:
    return SubstanceProperties(pd.read_csv(DATA_DIR / "standards" / "substance_properties.csv", dtype={"cas": str}))


def synthetic(seed: int = 3) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """5,000 hazard sources and 100,000 targets (a fifth of them building polygons), metric CRS."""
    rng = np.random.default_rng(seed)
    # Targets cluster around 40 towns, like homes do; hazards sit among them.
    towns = rng.uniform(2_000, SIZE_M - 2_000, (40, 2))
    pick = rng.integers(0, 40, N_TARGETS)
    txy = towns[pick] + rng.normal(0, 900, (N_TARGETS, 2))
    polys = rng.random(N_TARGETS) < 0.2
    geoms = np.where(
        polys,
        shapely.box(txy[:, 0] - 12, txy[:, 1] - 8, txy[:, 0] + 12, txy[:, 1] + 8),
        shapely.points(txy),
    )
    cats = np.array(["residential", "village", "school", "kindergarten", "hospital", "market", "government", "other"])
    gb50156 = np.array(["civil_1", "civil_2", "civil_3", "important_public"])
    targets = gpd.GeoDataFrame(
        {
            "id": np.arange(1, N_TARGETS + 1),
            "name": [f"T{i}" for i in range(N_TARGETS)],
            "layer": np.where(rng.random(N_TARGETS) < 0.002, "rescue_teams", "protected_targets"),
            "category": cats[rng.integers(0, len(cats), N_TARGETS)],
            "gb50156_class": gb50156[rng.integers(0, 4, N_TARGETS)],
            "kind": "fire_station",
            "road_class": None,
        },
        geometry=geoms,
        crs=CRS,
    )
    hxy = towns[rng.integers(0, 40, N_HAZARDS)] + rng.normal(0, 1500, (N_HAZARDS, 2))
    kinds = rng.choice(
        ["fuel_station_tank", "lpg_tank", "storage_tank", "explosives_store"], N_HAZARDS, p=[0.6, 0.2, 0.15, 0.05]
    )
    rows = []
    for i, kind in enumerate(kinds):
        row = {
            "id": i + 1,
            "name": f"H{i}",
            "kind": kind,
            "enterprise_id": i + 1,
            "gasoline_m3": None,
            "diesel_m3": None,
            "max_tank_m3": None,
            "vapour_recovery": None,
            "substances": [],
        }
        if kind == "fuel_station_tank":
            row.update(
                gasoline_m3=float(rng.choice([30, 60, 90, 120, 150])),
                diesel_m3=float(rng.choice([30, 60, 100])),
                max_tank_m3=30.0 if rng.random() < 0.5 else 50.0,
                vapour_recovery=str(rng.choice(["none", "unloading", "full"])),
                substances=[{"name": "汽油", "quantity_t": 50.0}],
            )
        elif kind == "lpg_tank":
            row["substances"] = [{"name": "液化石油气", "quantity_t": float(rng.uniform(5, 60))}]
        elif kind == "storage_tank":
            row["substances"] = [{"name": "汽油", "quantity_t": float(rng.uniform(50, 3000))}]
        else:
            row["substances"] = [{"name": "乳化炸药", "hazard_class": "W1.1", "quantity_t": float(rng.uniform(0.1, 5))}]
        rows.append(row)
    hazards = gpd.GeoDataFrame(rows, geometry=shapely.buffer(shapely.points(hxy), 10.0, quad_segs=2), crs=CRS)
    return hazards, targets


def postgis_audit(
    cluster: pg_cluster.Cluster, hazards: gpd.GeoDataFrame, targets: gpd.GeoDataFrame, rules: pd.DataFrame
) -> tuple[float, int]:
    """Load the same data into PostGIS (projected, GIST-indexed) and time the ST_DWithin join."""
    dsn = cluster.dsn("bench_safety")
    profiles = hazard_profiles(hazards, _props())
    applicable = applicable_rules(profiles, rules)
    r = rules.reset_index(drop=True)
    app = applicable.join(r[["target_layer", "target_field", "target_values"]], on="rule_pos")
    with psycopg.connect(dsn, autocommit=True) as con:
        con.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        con.execute("DROP TABLE IF EXISTS targets, hazard_rules")
        con.execute(
            "CREATE TABLE targets (id int, layer text, category text, gb50156_class text, kind text,"
            " geom geometry(Geometry, 32644))"
        )
        con.execute(
            "CREATE TABLE hazard_rules (hazard_id int, rule_pos int, required_m float8, target_layer text,"
            " target_field text, target_values text[], geom geometry(Geometry, 32644))"
        )
        with con.cursor().copy("COPY targets FROM STDIN") as cp:
            for t, wkb in zip(
                targets.itertuples(index=False), shapely.to_wkb(targets.geometry.to_numpy(), hex=True), strict=True
            ):
                cp.write_row((t.id, t.layer, t.category, t.gb50156_class, t.kind, f"SRID=32644;{wkb}"))
        hwkb = shapely.to_wkb(hazards.geometry.to_numpy(), hex=True)
        with con.cursor().copy("COPY hazard_rules FROM STDIN") as cp:
            for a in app.itertuples(index=False):
                values = None if not isinstance(a.target_values, str) else a.target_values.split("|")
                field = a.target_field if isinstance(a.target_field, str) else None
                cp.write_row(
                    (
                        int(hazards.iloc[a.pos]["id"]),
                        a.rule_pos,
                        a.required_m,
                        a.target_layer,
                        field,
                        values,
                        f"SRID=32644;{hwkb[a.pos]}",
                    )
                )
        con.execute("CREATE INDEX ON targets USING gist (geom)")
        con.execute("CREATE INDEX ON hazard_rules USING gist (geom)")
        con.execute("ANALYZE targets; ANALYZE hazard_rules")
        sql = """
            SELECT h.hazard_id, t.id, h.rule_pos, h.required_m, ST_Distance(h.geom, t.geom) AS actual_m,
                   ST_ShortestLine(h.geom, t.geom)
            FROM hazard_rules h JOIN targets t
              ON ST_DWithin(h.geom, t.geom, h.required_m) AND t.layer = h.target_layer
            WHERE ST_Distance(h.geom, t.geom) < h.required_m
              AND (h.target_field IS NULL
                   OR (h.target_field = 'gb50156_class' AND t.gb50156_class = ANY(h.target_values))
                   OR (h.target_field = 'category' AND t.category = ANY(h.target_values))
                   OR (h.target_field = 'kind' AND t.kind = ANY(h.target_values)))
        """
        plan = "\n".join(row[0] for row in con.execute("EXPLAIN " + sql).fetchall())
        assert "Index" in plan, plan
        count = [0]

        def run() -> None:
            count[0] = len(con.execute(sql).fetchall())

        return median_time(run, repeat=3), count[0]


def risk_benchmark() -> tuple[float, int]:
    """IR grid of 1000 × 1000 cells (10 m) from 200 scenarios of four kinds."""
    rng = np.random.default_rng(11)
    fire = PoolFire(300.0, 0.055, 44_000)
    scenarios = []
    for i in range(200):
        xy = tuple(rng.uniform(500, 9_500, 2))
        kind = i % 4
        if kind == 0:
            scenarios.append(ir.bleve_scenario(i, xy, 3.5e-7, float(rng.uniform(5e3, 5e4)), "bleve"))
        elif kind == 1:
            scenarios.append(ir.vce_scenario(i, xy, 1.5e-7, float(rng.uniform(5e3, 5e4)), 50_290, "vce"))
        elif kind == 2:
            scenarios.append(ir.pool_fire_scenario(i, xy, 6.5e-7, fire, "pool"))
        else:
            scenarios.append(
                ir.toxic_scenario(i, xy, 1e-5, float(rng.uniform(0.5, 3)), 1800, 70.9, (-8.29, 0.92, 2), "cl2")
            )
    grid = ir.Grid(0.0, 0.0, 10.0, 1000, 1000)

    def run() -> None:
        for s in scenarios:
            s.table = None  # tabulating the scenarios is part of the job
        ir.risk_grid(scenarios, grid)

    return median_time(run, repeat=3), len(scenarios)


@report.recorded("bench_safety")
def main() -> None:
    """Print the timings and the ratio against PostGIS."""
    rules = _rules()
    props = _props()
    t0 = time.perf_counter()
    hazards, targets = synthetic()
    print(f"synthetic data: {len(hazards)} hazard sources, {len(targets)} targets ({time.perf_counter() - t0:.1f} s)")
    result = {}

    def ours() -> None:
        result["v"] = audit(hazards, targets, rules, props)

    t_ours = median_time(ours, repeat=3)
    # The audit also lists pairs it cannot check (无法核查); the peer's join counts violations only.
    n_ours = int((result["v"]["status"] == "fail").sum())
    n_unknown = len(result["v"]) - n_ours
    print(f"SafeMap separation audit: {t_ours:.2f} s, {n_ours} violations, {n_unknown} pairs 无法核查 (target < 2 s)")
    cluster = pg_cluster.start()
    try:
        cluster.create_database("bench_safety")
        t_pg, n_pg = postgis_audit(cluster, hazards, targets, rules)
    finally:
        cluster.stop()
    print(f"PostGIS ST_DWithin join (EPSG:32644, GIST, rules pre-matched): {t_pg:.2f} s, {n_pg} violations")
    print(f"ratio PostGIS / SafeMap: {t_pg / t_ours:.1f}×  (same violations: {n_pg == n_ours})")
    t_ir, n = risk_benchmark()
    print(f"individual-risk grid 1000×1000 from {n} scenarios: {t_ir:.2f} s (target < 5 s)")


if __name__ == "__main__":
    main()
