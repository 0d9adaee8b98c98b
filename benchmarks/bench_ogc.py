"""OGC API items and vector-tile speed on the demo county, side by side with the raw database.

1. ``/ogc/collections/roads/items?limit=1000`` over HTTP (target < 100 ms), both stores;
   peer: the same 1,000 rows as GeoJSON built by PostGIS (``json_agg(ST_AsGeoJSON)``).
2. A z14 roads tile over the county seat (target < 50 ms from PostGIS) through
   ``/tiles/roads/14/x/y.mvt``; peer: the identical ``ST_AsMVT`` query run directly in
   the database with psycopg (what ``psql`` would run). GeoPackage tile time shown too.

Run: ``python -m benchmarks.bench_ogc``.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

import httpx
import psycopg

from benchmarks import report
from benchmarks.bench_layers import median_time
from safemap.layers.demo import build_demo
from safemap.layers.store import open_store
from tests.support import pg_cluster
from tests.support.background_server import BackgroundServer

SEAT = (82.985, 46.205)  # 哈拉布拉镇
TILE_SQL = """
WITH bounds AS (
    SELECT ST_TileEnvelope(%(z)s, %(x)s, %(y)s) AS env,
           ST_Transform(ST_TileEnvelope(%(z)s, %(x)s, %(y)s, margin => 0.015625), 4326) AS env4326
)
SELECT ST_AsMVT(q, 'roads', 4096, 'geom', 'fid') FROM (
    SELECT t.id AS fid, t.id, t.name, t.road_class, t.status,
           ST_AsMVTGeom(ST_Transform(t.geom, 3857), bounds.env, 4096, 64, true) AS geom
    FROM roads t, bounds WHERE t.geom && bounds.env4326
) q WHERE q.geom IS NOT NULL
"""


def seat_tile(z: int = 14) -> tuple[int, int, int]:
    """The tile holding the county seat at zoom ``z``."""
    lon, lat = SEAT
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.log(math.tan(math.radians(lat)) + 1 / math.cos(math.radians(lat))) / math.pi) / 2 * n)
    return z, x, y


@report.recorded("bench_ogc")
def main() -> None:
    print("SafeMap OGC API and tile benchmarks on the demo county (median of 7)")
    cluster = pg_cluster.start()
    tmp = Path(tempfile.mkdtemp(prefix="safemap-bench-"))
    try:
        targets = {"PostGIS": cluster.url, "GeoPackage": str(tmp / "demo.gpkg")}
        for target in targets.values():
            store = open_store(target)
            build_demo(store)
            store.close()
        z, x, y = seat_tile()
        with psycopg.connect(cluster.dsn()) as con:
            n_tile = len(con.execute(TILE_SQL, {"z": z, "x": x, "y": y}).fetchone()[0])

            def raw_items() -> None:
                con.execute(
                    "SELECT json_agg(ST_AsGeoJSON(t.*)::json) FROM (SELECT * FROM roads ORDER BY id LIMIT 1000) t"
                ).fetchone()

            def raw_tile() -> None:
                con.execute(TILE_SQL, {"z": z, "x": x, "y": y}).fetchone()

            peer_items, peer_tile = median_time(raw_items), median_time(raw_tile)
        print(
            f"1. items page of 1,000 roads (target < 100 ms); peer json_agg(ST_AsGeoJSON): {peer_items * 1000:.1f} ms"
        )
        tile_times = {}
        for label, target in targets.items():
            with BackgroundServer(target) as base, httpx.Client(base_url=base) as http:
                items = median_time(lambda: http.get("/ogc/collections/roads/items", params={"limit": 1000}).content)
                tile_times[label] = median_time(lambda: http.get(f"/tiles/roads/{z}/{x}/{y}.mvt").content)
            print(f"   {label:<10} {items * 1000:6.1f} ms   ratio to peer {items / peer_items:5.2f}")
        print(f"2. roads tile {z}/{x}/{y} over the county seat ({n_tile} bytes; target < 50 ms)")
        print(
            f"   PostGIS    via /tiles: {tile_times['PostGIS'] * 1000:6.1f} ms | same ST_AsMVT in the database: "
            f"{peer_tile * 1000:6.1f} ms   ratio {tile_times['PostGIS'] / peer_tile:5.2f}"
        )
        print(f"   GeoPackage via /tiles: {tile_times['GeoPackage'] * 1000:6.1f} ms (Python encoder)")
    finally:
        cluster.stop()


if __name__ == "__main__":
    main()
