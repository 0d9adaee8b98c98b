"""OGC API Features items and vector-tile speed on the demo county, beside other OGC API servers and the raw database.

1. OGC API Features ``items`` over HTTP (time to the last byte; ``Accept-Encoding: identity``
   for every server, so each sends the same uncompressed GeoJSON) on the same PostGIS
   tables, with the same requests:

   - ``/collections/roads/items?limit=1000`` (target < 100 ms);
   - ``/collections/roads/items?limit=1000&bbox=82.95,46.15,83.05,46.25`` (county seat);
   - ``/collections/enterprises/items?limit=10000`` (the demo's enterprises topped up
     with synthetic ones to 10,000).

   Servers: SafeMap (``/ogc/…``, PostGIS and GeoPackage stores); **pygeoapi** (PyPI, its
   ``PostgreSQL`` provider — SQLAlchemy + psycopg2 — on the same tables, served by
   uvicorn as ``pygeoapi.starlette_app:APP``); **tipg** (PyPI, asyncpg, PostGIS builds
   the GeoJSON, served by uvicorn as ``tipg.main:app``); and PostGIS itself
   (``json_agg(ST_AsGeoJSON)`` text over a kept psycopg connection, no HTTP). Each
   server runs in its own uvicorn process, started from this venv: ``pip install
   -e .[bench]`` installs pygeoapi, psycopg2-binary and tipg, which add packages but
   change none that SafeMap uses (checked with ``pip install --dry-run``). A peer that
   is not installed is skipped, and the output says so.
2. A z14 roads tile over the county seat (target < 50 ms from PostGIS) through
   ``/tiles/roads/14/x/y.mvt``; peer: the identical ``ST_AsMVT`` query run directly in
   the database with psycopg (what ``psql`` would run). GeoPackage tile time shown too.

Each peer's exact form (URL, server, config) is printed and recorded. Run: ``python -m benchmarks bench_ogc``.
"""

from __future__ import annotations

import importlib.util
import math
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psycopg
from sqlalchemy.engine import make_url

from benchmarks import report
from benchmarks.bench_layers import BBOX, fill, median_time
from safemap.layers.demo import build_demo
from safemap.layers.store import open_store
from tests.support import pg_cluster
from tests.support.background_server import BackgroundServer, free_port

SEAT = (82.985, 46.205)  # 哈拉布拉镇
N_ENTERPRISES = 10_000
BOX = ",".join(str(v) for v in BBOX)
REQUESTS = {  # label -> (collection, query)
    "roads limit=1000": ("roads", {"limit": 1000}),
    "roads limit=1000 bbox": ("roads", {"limit": 1000, "bbox": BOX}),
    "enterprises limit=10000": ("enterprises", {"limit": N_ENTERPRISES}),
}
IDENTITY = {"Accept-Encoding": "identity"}
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
RAW_ITEMS = (
    "SELECT json_build_object('type','FeatureCollection','features', json_agg(ST_AsGeoJSON(t.*)::json))::text "
    "FROM (SELECT * FROM roads ORDER BY id LIMIT 1000) t"
)

PYGEOAPI_CONFIG = """\
server:
  bind: {{host: 127.0.0.1, port: {port}}}
  url: http://127.0.0.1:{port}
  mimetype: application/json; charset=UTF-8
  encoding: utf-8
  languages: [en-US]
  limits: {{default_items: 10, max_items: {max_items}}}
  map: {{url: 'https://tile.openstreetmap.org/{{z}}/{{x}}/{{y}}.png', attribution: OSM}}
logging: {{level: ERROR}}
metadata:
  identification: {{title: SafeMap peer, description: bench, keywords: [bench], keywords_type: theme,
                    terms_of_service: none, url: 'http://127.0.0.1'}}
  license: {{name: CC-BY 4.0, url: 'https://creativecommons.org/licenses/by/4.0/'}}
  provider: {{name: bench, url: 'http://127.0.0.1'}}
  contact: {{name: bench}}
resources:
{resources}"""
PYGEOAPI_RESOURCE = """\
  {name}:
    type: collection
    title: {name}
    description: {name}
    keywords: [{name}]
    extents: {{spatial: {{bbox: [80, 40, 90, 50], crs: 'http://www.opengis.net/def/crs/OGC/1.3/CRS84'}}}}
    providers:
      - type: feature
        name: PostgreSQL
        data: {{host: {host}, port: {port}, dbname: {dbname}, user: {user}, search_path: [public]}}
        id_field: id
        table: {name}
        geom_field: geom
"""


def seat_tile(z: int = 14) -> tuple[int, int, int]:
    """The tile holding the county seat at zoom ``z``."""
    lon, lat = SEAT
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.log(math.tan(math.radians(lat)) + 1 / math.cos(math.radians(lat))) / math.pi) / 2 * n)
    return z, x, y


@contextmanager
def uvicorn_server(app: str, env: dict[str, str], health: str, port: int | None = None) -> Iterator[str]:
    """``python -m uvicorn <app>`` from this venv (on a free port); yields its base URL once ``health`` answers."""
    port = port or free_port()
    base = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port)]
    proc = subprocess.Popen([*cmd, "--log-level", "warning"], env={**os.environ, **env})
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{app} exited with {proc.returncode}")
            try:
                if httpx.get(base + health, timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{app} did not answer {health} within 90 s")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


@contextmanager
def pygeoapi_server(dsn_url: str, tmp: Path) -> Iterator[str]:
    """pygeoapi with its PostgreSQL provider on ``roads`` and ``enterprises``, under uvicorn."""
    url = make_url(dsn_url)
    port = free_port()
    resources = "".join(
        PYGEOAPI_RESOURCE.format(
            name=name, host=url.host, port=url.port, dbname=url.database, user=url.username or "postgres"
        )
        for name in ("roads", "enterprises")
    )
    config = tmp / "pygeoapi-config.yml"
    config.write_text(PYGEOAPI_CONFIG.format(port=port, max_items=N_ENTERPRISES, resources=resources))
    openapi = tmp / "pygeoapi-openapi.yml"
    env = {"PYGEOAPI_CONFIG": str(config), "PYGEOAPI_OPENAPI": str(openapi)}
    subprocess.run(
        [
            str(Path(sys.executable).parent / "pygeoapi"),
            "openapi",
            "generate",
            str(config),
            "--output-file",
            str(openapi),
        ],
        env={**os.environ, **env},
        check=True,
        capture_output=True,
    )
    report.peer(
        "pygeoapi",
        f"uvicorn pygeoapi.starlette_app:APP (pygeoapi {_version('pygeoapi')}), PYGEOAPI_CONFIG={config.name}: "
        f"provider PostgreSQL (SQLAlchemy + psycopg2) on tables roads, enterprises; id_field id, geom_field geom; "
        f"limits.max_items {N_ENTERPRISES}; GET /collections/<name>/items?f=json&limit=…[&bbox=…]",
    )
    with uvicorn_server("pygeoapi.starlette_app:APP", env, "/collections?f=json", port) as base:
        yield base


@contextmanager
def tipg_server(database_url: str) -> Iterator[str]:
    """tipg on the same database (every table of ``public``), under uvicorn."""
    env = {
        "DATABASE_URL": database_url,
        "TIPG_MAX_FEATURES_PER_QUERY": str(N_ENTERPRISES),
        "TIPG_DB_SCHEMAS": '["public"]',
    }
    report.peer(
        "tipg",
        f'uvicorn tipg.main:app (tipg {_version("tipg")}), DATABASE_URL=<cluster>, TIPG_DB_SCHEMAS=["public"], '
        f"TIPG_MAX_FEATURES_PER_QUERY={N_ENTERPRISES}; GET /collections/public.<name>/items?f=geojson&limit=…[&bbox=…]",
    )
    with uvicorn_server("tipg.main:app", env, "/collections") as base:
        yield base


def _version(dist: str) -> str:
    from importlib.metadata import version

    return version(dist)


def time_items(base: str, prefix: str, fmt: dict[str, str]) -> dict[str, tuple[float, int]]:
    """Median time and feature count of each request of :data:`REQUESTS` against one server."""
    out: dict[str, tuple[float, int]] = {}
    with httpx.Client(base_url=base, timeout=120, headers=IDENTITY) as http:
        for label, (collection, query) in REQUESTS.items():
            path = f"{prefix}{collection}/items"
            params = {**query, **fmt}
            first = http.get(path, params=params)
            first.raise_for_status()
            n = len(first.json()["features"])
            out[label] = (median_time(lambda p=path, q=params: http.get(p, params=q).content), n)
    return out


def _peer_times(name: str, cluster: pg_cluster.Cluster, tmp: Path) -> dict[str, tuple[float, int]] | None:
    if importlib.util.find_spec(name) is None:
        print(f"   {name}: not installed (pip install -e .[bench]); skipped")
        return None
    try:
        if name == "pygeoapi":
            with pygeoapi_server(cluster.url, tmp) as base:
                return time_items(base, "/collections/", {"f": "json"})
        with tipg_server(cluster.url.replace("postgresql+psycopg://", "postgresql://", 1)) as base:
            return time_items(base, "/collections/public.", {"f": "geojson"})
    except (RuntimeError, httpx.HTTPError, subprocess.CalledProcessError) as exc:
        print(f"   {name}: could not be measured ({exc}); skipped")
        return None


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
            fill(store, "enterprises", N_ENTERPRISES - store.counts()["enterprises"])
            store.close()
        z, x, y = seat_tile()
        with psycopg.connect(cluster.dsn()) as con:
            n_tile = len(con.execute(TILE_SQL, {"z": z, "x": x, "y": y}).fetchone()[0])  # type: ignore[index]

            def raw_items() -> None:
                con.execute(RAW_ITEMS).fetchone()

            def raw_tile() -> None:
                con.execute(TILE_SQL, {"z": z, "x": x, "y": y}).fetchone()

            peer_items, peer_tile = median_time(raw_items), median_time(raw_tile)
        report.peer("PostGIS GeoJSON text (kept psycopg connection, no HTTP)", f"con.execute({RAW_ITEMS!r}).fetchone()")
        print("1. OGC API Features items over HTTP, Accept-Encoding: identity (roads target < 100 ms)")
        print(f"   PostGIS json_agg(ST_AsGeoJSON) text, roads limit=1000, no HTTP: {peer_items * 1000:.1f} ms")
        results: dict[str, dict[str, tuple[float, int]]] = {}
        tile_times = {}
        for label, target in targets.items():
            with BackgroundServer(target) as base:
                results[f"SafeMap {label}"] = time_items(base, "/ogc/collections/", {})
                with httpx.Client(base_url=base) as http:
                    tile_times[label] = median_time(lambda: http.get(f"/tiles/roads/{z}/{x}/{y}.mvt").content)
        for name in ("pygeoapi", "tipg"):
            measured = _peer_times(name, cluster, tmp)
            if measured is not None:
                results[name] = measured
        _print_items(results)
        print(f"2. roads tile {z}/{x}/{y} over the county seat ({n_tile} bytes; target < 50 ms)")
        print(
            f"   PostGIS    via /tiles: {tile_times['PostGIS'] * 1000:6.1f} ms | same ST_AsMVT in the database: "
            f"{peer_tile * 1000:6.1f} ms   ratio {tile_times['PostGIS'] / peer_tile:5.2f}"
        )
        print(f"   GeoPackage via /tiles: {tile_times['GeoPackage'] * 1000:6.1f} ms (Python encoder)")
        report.figure("items.postgis_text_roads_1000_ms", round(peer_items * 1000, 3), "ms")
        report.figure("tile.postgis.safemap_ms", round(tile_times["PostGIS"] * 1000, 3), "ms")
        report.figure("tile.postgis.peer_ms", round(peer_tile * 1000, 3), "ms")
        report.figure("tile.gpkg.safemap_ms", round(tile_times["GeoPackage"] * 1000, 3), "ms")
    finally:
        cluster.stop()


def _print_items(results: dict[str, dict[str, tuple[float, int]]]) -> None:
    ours = results["SafeMap PostGIS"]
    for label in REQUESTS:
        print(f"   {label}:")
        for server, times in results.items():
            seconds, n = times[label]
            ratio = "" if server == "SafeMap PostGIS" else f"   SafeMap PostGIS / this: {ours[label][0] / seconds:5.2f}"
            print(f"     {server:<18} {seconds * 1000:7.1f} ms  ({n} features){ratio}")
            key = server.lower().replace(" ", "_")
            report.figure(f"items.{key}.{label.replace(' ', '_')}_ms", round(seconds * 1000, 3), "ms", features=n)


if __name__ == "__main__":
    main()
