"""Layer API and bbox-query speed, SafeMap side by side with its peers.

1. ``GET /api/layers/enterprises?limit=10000`` over HTTP (uvicorn, httpx) on both stores
   (target < 0.3 s), against the same rows read straight from the database and
   serialised by the peer: PostGIS building the GeoJSON itself (``json_agg`` +
   ``ST_AsGeoJSON``) and GDAL/pyogrio reading the GeoPackage.
2. The same bbox query on a 100,000-feature layer: ``FeatureStore.query(bbox=…)`` vs a
   plain ``ST_Intersects`` SQL query in PostGIS and vs GDAL's R-tree-backed spatial
   filter (``pyogrio.read_dataframe(bbox=…)``) on the GeoPackage.

Run: ``python -m benchmarks.bench_layers`` (or ``make bench``). Prints medians and ratios.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psycopg
import pyogrio
import shapely

from safemap.api.settings import YUMIN_EXTENT
from safemap.layers.model import SYSTEM
from safemap.layers.store import FeatureStore, open_store
from safemap.layers.validation import CleanFeature
from tests.support import pg_cluster
from tests.support.background_server import BackgroundServer

BBOX = (82.95, 46.15, 83.05, 46.25)  # ~8 km x 11 km around the county seat


def median_time(fn: Callable[[], Any], repeat: int = 7, warmup: int = 1) -> float:
    """Median wall time of ``fn`` in seconds."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def fill(store: FeatureStore, layer: str, n: int, seed: int = 7) -> None:
    """Insert ``n`` synthetic point features spread over the county extent."""
    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = YUMIN_EXTENT
    xs, ys = rng.uniform(x0, x1, n), rng.uniform(y0, y1, n)
    levels = np.array(["red", "orange", "yellow", "blue"])[rng.integers(0, 4, n)]
    batch = [
        CleanFeature(
            {
                "name": f"基准企业{i:06d}",
                "industry": "industry_trade",
                "risk_level": str(levels[i]),
                "employees": int(i % 300),
                "township": "哈拉布拉镇",
                "source": "synthetic benchmark",
            },
            {},
            shapely.Point(float(xs[i]), float(ys[i])),
        )
        for i in range(n)
    ]
    for start in range(0, n, 20_000):
        store.insert_clean(layer, batch[start : start + 20_000], SYSTEM, action="seed", audit_each=False)


def bench_api(target: str, label: str, peer: tuple[str, Callable[[], Any]]) -> None:
    with BackgroundServer(target) as base, httpx.Client(base_url=base, timeout=60) as http:
        first = http.get("/api/layers/enterprises", params={"limit": 10_000})
        assert first.status_code == 200 and first.json()["numberReturned"] == 10_000

        def get() -> None:
            # Time to the last byte of the response; parsing 4 MB of JSON is the client's cost.
            http.get("/api/layers/enterprises", params={"limit": 10_000}).raise_for_status()

        ours = median_time(get)
    theirs = median_time(peer[1])
    print(
        f"  {label:<11} GET /api/layers/enterprises (10,000 features, HTTP): {ours * 1000:7.1f} ms"
        f"   | {peer[0]}: {theirs * 1000:7.1f} ms   ratio {ours / theirs:5.2f}"
    )


def main() -> None:
    print("SafeMap layer benchmarks (median of 7)")
    cluster = pg_cluster.start()
    tmp = Path(tempfile.mkdtemp(prefix="safemap-bench-"))
    try:
        pg = open_store(cluster.url)
        gp = open_store(tmp / "bench.gpkg")
        for store in (pg, gp):
            fill(store, "enterprises", 10_000)

        def pg_peer() -> None:
            with psycopg.connect(cluster.dsn()) as con:
                con.execute(
                    "SELECT json_build_object('type','FeatureCollection','features', json_agg(ST_AsGeoJSON(t.*)::json)) "
                    "FROM (SELECT * FROM enterprises ORDER BY id LIMIT 10000) t"
                ).fetchone()

        def gpkg_peer() -> None:
            pyogrio.read_dataframe(tmp / "bench.gpkg", layer="enterprises").to_json(default=str)

        print("1. 10,000 features as GeoJSON (target < 300 ms)")
        bench_api(cluster.url, "PostGIS", ("psql json_agg(ST_AsGeoJSON)", pg_peer))
        bench_api(str(tmp / "bench.gpkg"), "GeoPackage", ("pyogrio + GeoDataFrame.to_json", gpkg_peer))

        print("2. bbox query on a 100,000-feature layer (features returned with all attributes)")
        for store in (pg, gp):
            _fill_targets(store, 100_000)
        n_hits = pg.query("protected_targets", bbox=BBOX, limit=None, count=False, children=False)
        ours_pg = median_time(lambda: pg.query("protected_targets", bbox=BBOX, limit=None, count=False, children=False))
        ours_gp = median_time(lambda: gp.query("protected_targets", bbox=BBOX, limit=None, count=False, children=False))

        def raw_pg() -> None:
            with psycopg.connect(cluster.dsn()) as con:
                con.execute(
                    "SELECT *, ST_AsBinary(geom) FROM protected_targets WHERE "
                    "ST_Intersects(geom, ST_MakeEnvelope(%s,%s,%s,%s,4326))",
                    BBOX,
                ).fetchall()

        def raw_gp() -> None:
            pyogrio.read_dataframe(tmp / "bench.gpkg", layer="protected_targets", bbox=BBOX)

        peer_pg, peer_gp = median_time(raw_pg), median_time(raw_gp)
        print(f"  {len(n_hits)} of 100,000 features in the box")
        print(
            f"  PostGIS    FeatureStore.query: {ours_pg * 1000:7.1f} ms | raw ST_Intersects via psycopg: {peer_pg * 1000:7.1f} ms   ratio {ours_pg / peer_pg:5.2f}"
        )
        print(
            f"  GeoPackage FeatureStore.query: {ours_gp * 1000:7.1f} ms | GDAL/pyogrio bbox filter:    {peer_gp * 1000:7.1f} ms   ratio {ours_gp / peer_gp:5.2f}"
        )
        pg.close()
        gp.close()
    finally:
        cluster.stop()


def _fill_targets(store: FeatureStore, n: int) -> None:
    rng = np.random.default_rng(11)
    x0, y0, x1, y1 = YUMIN_EXTENT
    xs, ys = rng.uniform(x0, x1, n), rng.uniform(y0, y1, n)
    batch = [
        CleanFeature(
            {
                "name": f"住宅{i:06d}",
                "category": "residential",
                "gb36894_class": "general_2",
                "population": int(30 + i % 70),
                "source": "synthetic benchmark",
            },
            {},
            shapely.Point(float(xs[i]), float(ys[i])),
        )
        for i in range(n)
    ]
    for start in range(0, n, 20_000):
        store.insert_clean(
            "protected_targets",
            batch[start : start + 20_000],
            SYSTEM,
            action="seed",
            audit_each=False,
        )


if __name__ == "__main__":
    main()
