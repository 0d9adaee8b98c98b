"""Layer API and bbox-query speed, SafeMap side by side with its peers in their fastest idiomatic form.

1. ``GET /api/layers/enterprises?limit=10000`` over HTTP (uvicorn, httpx; time to the last
   byte received) on both stores (target < 0.3 s), against the same rows read straight
   from the database and serialised by the peer. The request asks for
   ``Accept-Encoding: identity``, so SafeMap sends the same uncompressed text the peers
   make (httpx asks for gzip by default, and then the server's GZip middleware and the
   client's inflating are timed too: that figure is printed beside it). The peers:
   - PostGIS building the GeoJSON itself as text over a kept psycopg connection
     (``json_build_object(... json_agg(ST_AsGeoJSON(t.*)::json))::text``; time to the
     last byte received, no JSON parsing on the client either);
   - the GeoPackage read by pyogrio through Arrow (``pyogrio.read_arrow``) and
     serialised with orjson (geometries by ``shapely.to_geojson``, passed to orjson as
     ``orjson.Fragment``). Without pyarrow installed the peer uses ``pyogrio.raw.read``
     (numpy arrays) instead, and says so.
2. The same bbox query on a 100,000-feature layer: ``FeatureStore.query(bbox=…)`` vs a
   plain ``ST_Intersects`` SQL query over a kept psycopg connection in PostGIS, and on the
   GeoPackage vs a kept-open sqlite3 connection using the GeoPackage's own R-tree (what
   GDAL runs; pyogrio has no open-dataset handle) with ``shapely.from_wkb`` on the
   blobs, and GDAL's spatial filter through pyogrio (which opens the file per call).

Each peer's exact call is printed. Run: ``python -m benchmarks bench_layers [--bbox-features N]`` (or
``make bench``). Prints medians and ratios (SafeMap time / peer time: < 1 is faster).
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import orjson
import psycopg
import pyogrio
import shapely

from benchmarks import report
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


HAVE_ARROW = importlib.util.find_spec("pyarrow") is not None
PG_GEOJSON = (
    "SELECT json_build_object('type','FeatureCollection','features', json_agg(ST_AsGeoJSON(t.*)::json))::text "
    "FROM (SELECT * FROM enterprises ORDER BY id LIMIT 10000) t"
)
PG_BBOX = (
    "SELECT *, ST_AsBinary(geom) FROM protected_targets WHERE ST_Intersects(geom, ST_MakeEnvelope(%s,%s,%s,%s,4326))"
)
GPKG_BBOX = (
    'SELECT t.* FROM "protected_targets" t JOIN "rtree_protected_targets_geom" r ON t.id = r.id '
    "WHERE r.minx <= ? AND r.maxx >= ? AND r.miny <= ? AND r.maxy >= ?"
)
_ENVELOPE_BYTES = (0, 32, 48, 48, 64)


def gpkg_geojson(path: Path, layer: str) -> bytes:
    """The layer as GeoJSON: pyogrio (Arrow when pyarrow is installed) + shapely.to_geojson + orjson."""
    if HAVE_ARROW:
        meta, table = pyogrio.read_arrow(path, layer=layer, return_fids=True)
        geom_col = meta.get("geometry_name") or "wkb_geometry"
        wkb = table.column(geom_col).to_numpy(zero_copy_only=False)
        props = table.drop_columns([geom_col]).to_pylist()
    else:
        meta, fids, wkb, field_data = pyogrio.raw.read(path, layer=layer, return_fids=True)
        names = ["id", *meta["fields"]]
        props = [
            dict(zip(names, row, strict=True))
            for row in zip(fids.tolist(), *(a.tolist() for a in field_data), strict=True)
        ]
    geoms = shapely.to_geojson(shapely.from_wkb(wkb))
    features = [
        {"type": "Feature", "properties": p, "geometry": orjson.Fragment(g)} for p, g in zip(props, geoms, strict=True)
    ]
    return orjson.dumps({"type": "FeatureCollection", "features": features}, default=str)


def gpkg_blobs_to_shapely(blobs: list[bytes]) -> np.ndarray:
    """GeoPackage geometry blobs (GPKG header + WKB) to shapely geometries."""
    return shapely.from_wkb([b[8 + _ENVELOPE_BYTES[(b[3] >> 1) & 7] :] for b in blobs])


def bench_api(target: str, label: str, peer: tuple[str, Callable[[], Any]]) -> None:
    with BackgroundServer(target) as base, httpx.Client(base_url=base, timeout=60) as http:
        first = http.get("/api/layers/enterprises", params={"limit": 10_000})
        assert first.status_code == 200 and first.json()["numberReturned"] == 10_000

        def get(encoding: str) -> Callable[[], None]:
            # Time to the last byte of the response; parsing 4 MB of JSON is the client's cost.
            headers = {"Accept-Encoding": encoding}
            return lambda: http.get(
                "/api/layers/enterprises", params={"limit": 10_000}, headers=headers
            ).raise_for_status()

        ours = median_time(get("identity"))  # the same uncompressed text the peer reads
        gzipped = median_time(get("gzip"))  # what a browser gets: compressed by the server (level 1), inflated here
    theirs = median_time(peer[1])
    key = label.lower()
    report.figure(f"geojson.{key}.safemap_ms", round(ours * 1000, 3), "ms", features=10_000, encoding="identity")
    report.figure(f"geojson.{key}.safemap_gzip_ms", round(gzipped * 1000, 3), "ms", features=10_000, encoding="gzip")
    report.figure(f"geojson.{key}.peer_ms", round(theirs * 1000, 3), "ms", features=10_000, peer=peer[0])
    print(
        f"  {label:<11} GET /api/layers/enterprises (10,000 features, HTTP, identity): {ours * 1000:7.1f} ms"
        f"   | {peer[0]}: {theirs * 1000:7.1f} ms   ratio {ours / theirs:5.2f}"
    )
    print(
        f"  {'':<11} the same with Accept-Encoding: gzip (server compresses, client inflates): {gzipped * 1000:7.1f} ms"
    )


@report.recorded("bench_layers")
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bbox-features", type=int, default=100_000, help="size of the layer for the bbox query")
    n_bbox = parser.parse_args(argv).bbox_features
    print(f"SafeMap layer benchmarks (median of 7); pyarrow {'installed' if HAVE_ARROW else 'NOT installed'}")
    cluster = pg_cluster.start()
    tmp = Path(tempfile.mkdtemp(prefix="safemap-bench-"))
    gpkg = tmp / "bench.gpkg"
    try:
        con = psycopg.connect(cluster.dsn(), autocommit=True)  # kept for every peer call
        pg = open_store(cluster.url)
        gp = open_store(gpkg)
        for store in (pg, gp):
            fill(store, "enterprises", 10_000)

        def pg_peer() -> None:
            text = con.execute(PG_GEOJSON).fetchone()[0]  # type: ignore[index]
            assert isinstance(text, str)

        def gpkg_peer() -> None:
            gpkg_geojson(gpkg, "enterprises")

        gpkg_call = (
            "meta, table = pyogrio.read_arrow(path, layer='enterprises', return_fids=True); "
            "props = table.drop_columns([geom]).to_pylist()"
            if HAVE_ARROW
            else "meta, fids, wkb, fields = pyogrio.raw.read(path, layer='enterprises', return_fids=True) "
            "(pyarrow not installed); props = [dict(zip(names, row)) ...]"
        )
        gpkg_call += (
            "; geoms = shapely.to_geojson(shapely.from_wkb(wkb)); orjson.dumps({'type': 'FeatureCollection', "
            "'features': [{'type': 'Feature', 'properties': p, 'geometry': orjson.Fragment(g)} ...]})"
        )
        print("1. 10,000 features as GeoJSON (target < 300 ms)")
        report.peer("PostGIS GeoJSON (kept connection, text)", f"con.execute({PG_GEOJSON!r}).fetchone()")
        report.peer("GeoPackage GeoJSON", gpkg_call)
        bench_api(cluster.url, "PostGIS", ("PostGIS json_agg(ST_AsGeoJSON)::text", pg_peer))
        bench_api(str(gpkg), "GeoPackage", ("pyogrio + orjson", gpkg_peer))

        print(f"2. bbox query on a {n_bbox:,}-feature layer (features returned with all attributes)")
        for store in (pg, gp):
            _fill_targets(store, n_bbox)
        n_hits = len(pg.query("protected_targets", bbox=BBOX, limit=None, count=False, children=False))
        ours_pg = median_time(lambda: pg.query("protected_targets", bbox=BBOX, limit=None, count=False, children=False))
        ours_gp = median_time(lambda: gp.query("protected_targets", bbox=BBOX, limit=None, count=False, children=False))
        x0, y0, x1, y1 = BBOX
        lite = sqlite3.connect(f"file:{gpkg}?mode=ro", uri=True, check_same_thread=False)  # kept open
        hits: dict[str, int] = {}

        def raw_pg() -> None:
            hits["pg"] = len(con.execute(PG_BBOX, BBOX).fetchall())

        def kept_gp() -> None:
            rows = lite.execute(GPKG_BBOX, (x1, x0, y1, y0)).fetchall()
            geom_at = names.index("geom")
            gpkg_blobs_to_shapely([r[geom_at] for r in rows])
            hits["gpkg"] = len(rows)

        def pyogrio_gp() -> None:
            hits["pyogrio"] = len(
                pyogrio.read_dataframe(gpkg, layer="protected_targets", bbox=BBOX, use_arrow=HAVE_ARROW)
            )

        names = [d[0] for d in lite.execute('SELECT * FROM "protected_targets" LIMIT 0').description]
        report.peer("PostGIS bbox (kept connection)", f"con.execute({PG_BBOX!r}, bbox).fetchall()")
        report.peer(
            "GeoPackage bbox (kept sqlite3 connection, GeoPackage R-tree)",
            f"lite.execute({GPKG_BBOX!r}, (x1, x0, y1, y0)).fetchall(); shapely.from_wkb(blobs minus GPKG header)",
        )
        report.peer(
            "GeoPackage bbox (GDAL via pyogrio, opens the file per call)",
            f"pyogrio.read_dataframe(path, layer='protected_targets', bbox=bbox, use_arrow={HAVE_ARROW})",
        )
        peer_pg, peer_gp, peer_ogr = median_time(raw_pg), median_time(kept_gp), median_time(pyogrio_gp)
        lite.close()
        print(f"  {n_hits} of {n_bbox:,} features in the box (peers: {hits})")
        print(
            f"  PostGIS    FeatureStore.query: {ours_pg * 1000:7.1f} ms | ST_Intersects, kept psycopg connection: "
            f"{peer_pg * 1000:7.1f} ms   ratio {ours_pg / peer_pg:5.2f}"
        )
        print(
            f"  GeoPackage FeatureStore.query: {ours_gp * 1000:7.1f} ms | R-tree join, kept sqlite3 connection:   "
            f"{peer_gp * 1000:7.1f} ms   ratio {ours_gp / peer_gp:5.2f}"
        )
        print(
            f"  GeoPackage FeatureStore.query: {ours_gp * 1000:7.1f} ms | GDAL/pyogrio bbox filter (reopens):     "
            f"{peer_ogr * 1000:7.1f} ms   ratio {ours_gp / peer_ogr:5.2f}"
        )
        for key, value in {
            "bbox.features_in_box": n_hits,
            "bbox.postgis.safemap_ms": ours_pg * 1000,
            "bbox.postgis.peer_ms": peer_pg * 1000,
            "bbox.gpkg.safemap_ms": ours_gp * 1000,
            "bbox.gpkg.peer_sqlite_rtree_ms": peer_gp * 1000,
            "bbox.gpkg.peer_pyogrio_ms": peer_ogr * 1000,
        }.items():
            report.figure(key, round(value, 3), "" if key.endswith("box") else "ms", layer_features=n_bbox)
        pg.close()
        gp.close()
    finally:
        if "con" in locals():
            con.close()
        cluster.stop()
        shutil.rmtree(tmp, ignore_errors=True)


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
