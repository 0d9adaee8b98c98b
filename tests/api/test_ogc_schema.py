"""Schemas of the OGC API collections: Part 5 ``/schema`` and the GeoJSON Feature schema GDAL reads.

GDAL 3.6 (Debian 12's, the one QGIS 3.22 uses) types a field from the first page of items
unless the collection links a JSON Schema with rel ``describedBy`` (compared case-sensitively)
and type ``application/schema+json``; a field null in that page otherwise becomes String.
The live tests prove it with Debian's ``ogrinfo`` (and its ``IGNORE_SCHEMA`` open option as the
control) and with pyogrio's bundled GDAL.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyogrio
import pytest
from fastapi.testclient import TestClient

from safemap.api.http.app import create_app
from safemap.api.settings import Settings
from safemap.layers.model import Actor
from safemap.layers.store import FeatureStore
from tests.support.background_server import BackgroundServer

ADMIN = Actor("admin", "admin")
SCHEMA_JSON = "application/schema+json"


def fill(store: FeatureStore) -> None:
    """Roads and hazard sources whose first items leave ``max_height_m`` / ``gasoline_m3`` null."""
    for i in range(12):
        store.create(
            "roads",
            {
                "geometry": {"type": "LineString", "coordinates": [[82.9, 46.1 + i / 100], [83.0, 46.15]]},
                "properties": {"name": f"乡道{i:02d}", "road_class": "township", "status": "open"},
            },
            ADMIN,
        )
    store.create(
        "roads",
        {
            "geometry": {"type": "LineString", "coordinates": [[82.95, 46.3], [83.0, 46.35]]},
            "properties": {"name": "限高路", "road_class": "county", "status": "open", "max_height_m": 4.5},
        },
        ADMIN,
    )
    ent = store.create(
        "enterprises",
        {
            "geometry": {"type": "Point", "coordinates": [82.98, 46.2]},
            "properties": {"name": "城东加油站", "industry": "fuel_station", "risk_level": "blue"},
        },
        ADMIN,
    )
    for name, gasoline in (("油罐区甲", None), ("油罐区乙", 60.0)):
        store.create(
            "hazard_sources",
            {
                "geometry": {"type": "Point", "coordinates": [82.98, 46.2]},
                "properties": {
                    "name": name,
                    "enterprise_id": ent["id"],
                    "kind": "storage_tank",
                    "gasoline_m3": gasoline,
                },
            },
            ADMIN,
        )


@pytest.fixture
def client(gpkg_store: FeatureStore) -> Iterator[TestClient]:
    fill(gpkg_store)
    with TestClient(create_app(Settings(basemap="none"), store=gpkg_store)) as c:
        yield c


def _types(node: Any) -> Iterator[Any]:
    if isinstance(node, dict):
        if "type" in node and not isinstance(node.get("type"), dict):
            yield node["type"]
        for value in node.values():
            yield from _types(value)
    elif isinstance(node, list):
        for value in node:
            yield from _types(value)


def test_collection_links_schemas_the_way_gdal_and_part5_ask(client: TestClient) -> None:
    links = client.get("/ogc/collections/roads").json()["links"]
    described = [link for link in links if link["rel"] == "describedBy"]  # GDAL 3.6 compares with ==
    assert len(described) == 1 and described[0]["type"] == SCHEMA_JSON
    assert described[0]["href"].endswith("/ogc/collections/roads/schema/geojson")
    part5 = [link for link in links if link["rel"] == "http://www.opengis.net/def/rel/ogc/1.0/schema"]
    assert part5 and part5[0]["type"] == SCHEMA_JSON and part5[0]["href"].endswith("/collections/roads/schema")
    conformance = client.get("/ogc/conformance").json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-5/1.0/conf/schemas" in conformance


def test_geojson_feature_schema_types(client: TestClient) -> None:
    r = client.get("/ogc/collections/roads/schema/geojson")
    assert r.status_code == 200 and r.headers["content-type"] == SCHEMA_JSON
    schema = r.json()
    assert schema["type"] == "object" and schema["properties"]["type"]["enum"] == ["Feature"]
    props = schema["properties"]["properties"]["properties"]
    assert props["max_height_m"]["type"] == "number"
    assert props["version"]["type"] == "integer"
    assert props["oneway"]["type"] == "boolean"
    assert props["name"]["type"] == "string"
    assert props["updated_at"] == {**props["updated_at"], "type": "string", "format": "date-time"}
    assert "id" not in props  # GDAL already has it from the items; listed twice otherwise
    # GDAL 3.6 reads only a single type name: a list such as ["number", "null"] would give String.
    assert all(isinstance(t, str) for t in _types(schema))
    hazard = client.get("/ogc/collections/hazard_sources/schema/geojson").json()
    assert hazard["properties"]["properties"]["properties"]["gasoline_m3"]["type"] == "number"


def test_part5_schema_roles(client: TestClient) -> None:
    s = client.get("/ogc/collections/hazard_sources/schema").json()
    assert s["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert s["$id"].endswith("/ogc/collections/hazard_sources/schema")
    p = s["properties"]
    assert p["id"]["x-ogc-role"] == "id"
    assert p["geom"]["x-ogc-role"] == "primary-geometry" and p["geom"]["format"].startswith("geometry-")
    assert p["updated_at"]["x-ogc-role"] == "primary-instant"
    assert p["enterprise_id"]["x-ogc-role"] == "reference" and p["enterprise_id"]["x-ogc-collectionId"] == "enterprises"
    assert p["gasoline_m3"]["type"] == "number" and p["gasoline_m3"]["x-ogc-unit"] == "m³"
    assert [v["x-ogc-propertySeq"] for v in p.values()] == list(range(1, len(p) + 1))
    inc = client.get("/ogc/collections/incidents/schema").json()["properties"]
    assert inc["reported_at"]["x-ogc-role"] == "primary-instant" and "x-ogc-role" not in inc["updated_at"]


@pytest.fixture
def live(gpkg_store: FeatureStore, gpkg_path: Path) -> Iterator[str]:
    fill(gpkg_store)
    with BackgroundServer(gpkg_path) as url:
        yield url


def _ogrinfo(*args: str) -> str:
    run = subprocess.run(["ogrinfo", *args], capture_output=True, text=True, timeout=120, check=True)
    return run.stdout


@pytest.mark.skipif(shutil.which("ogrinfo") is None, reason="Debian's gdal-bin (ogrinfo) is not installed")
def test_debian_gdal_types_fields_from_schema(live: str) -> None:
    version = _ogrinfo("--version")
    summary = _ogrinfo("-ro", "-so", f"OAPIF:{live}/ogc", "roads")
    assert "max_height_m: Real" in summary, summary
    assert "updated_at: DateTime" in summary and "oneway: Integer(Boolean)" in summary
    assert summary.count("\nid: ") == 1
    hazard = _ogrinfo("-ro", "-so", f"OAPIF:{live}/ogc", "hazard_sources")
    assert "gasoline_m3: Real" in hazard
    if version.startswith("GDAL 3.6"):
        # The control: without the schema, GDAL 3.6 guesses from the first page and gets it wrong.
        guessed = _ogrinfo("-ro", "-so", "-oo", "IGNORE_SCHEMA=YES", f"OAPIF:{live}/ogc", "roads")
        assert "max_height_m: String" in guessed
    features = _ogrinfo("-ro", "-q", f"OAPIF:{live}/ogc", "roads", "-where", "name = '限高路'")
    assert "max_height_m (Real) = 4.5" in features


def test_pyogrio_types_fields_from_schema(live: str) -> None:
    info = pyogrio.read_info(f"OAPIF:{live}/ogc", layer="roads")
    types = dict(zip(info["fields"], info["ogr_types"], strict=True))
    assert types["max_height_m"] == "OFTReal" and types["updated_at"] == "OFTDateTime"
    assert list(info["fields"]).count("id") == 1
    df = pyogrio.read_dataframe(f"OAPIF:{live}/ogc", layer="roads")
    assert str(df["max_height_m"].dtype) == "float64"
    assert df.loc[df["name"] == "限高路", "max_height_m"].item() == 4.5
    hazard = pyogrio.read_dataframe(f"OAPIF:{live}/ogc", layer="hazard_sources")
    assert str(hazard["gasoline_m3"].dtype) == "float64"
    assert sorted(hazard["gasoline_m3"].fillna(-1)) == [-1, 60.0]
