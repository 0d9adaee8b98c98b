"""OGC API – Features Part 1 Core, requirement by requirement, and with independent clients
(GDAL's OAPIF driver through pyogrio, and OWSLib) against a live server on both stores."""

from __future__ import annotations

from collections.abc import Iterator

import pyogrio
import pytest
from fastapi.testclient import TestClient

from safemap.api.http.app import create_app
from safemap.api.http.ogc import CONFORMANCE, CRS84
from safemap.api.settings import Settings
from safemap.layers.definitions import LAYERS
from safemap.layers.model import Actor
from safemap.layers.store import FeatureStore
from tests.support.background_server import BackgroundServer

ADMIN = Actor("admin", "admin")


def fill(store: FeatureStore, n: int = 25) -> None:
    for i in range(n):
        store.create(
            "enterprises",
            {
                "geometry": {"type": "Point", "coordinates": [82.9 + i * 0.01, 46.2]},
                "properties": {
                    "name": f"企业{i:02d}",
                    "industry": "other",
                    "risk_level": ["red", "blue"][i % 2],
                    "employees": i,
                },
            },
            ADMIN,
        )
    store.create(
        "roads",
        {
            "geometry": {"type": "LineString", "coordinates": [[82.9, 46.1], [83.0, 46.15]]},
            "properties": {"name": "G219 裕民段", "road_class": "national", "ref": "G219", "status": "open"},
        },
        ADMIN,
    )
    store.create(
        "incidents",
        {
            "geometry": {"type": "Point", "coordinates": [82.95, 46.21]},
            "properties": {
                "name": "加油站火情",
                "kind": "fire",
                "status": "closed",
                "reported_at": "2026-05-01T10:00:00+08:00",
            },
        },
        Actor("值班员", "dispatcher"),
    )


@pytest.fixture
def client(store: FeatureStore) -> Iterator[TestClient]:
    fill(store)
    with TestClient(create_app(Settings(basemap="none"), store=store)) as c:
        yield c


def test_landing_page(client: TestClient) -> None:
    r = client.get("/ogc")
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    rels = {link["rel"]: link for link in r.json()["links"]}
    assert {"self", "service-desc", "service-doc", "conformance", "data"} <= set(rels)
    assert all("type" in link for link in r.json()["links"])  # /req/core/root-success, rel-type
    assert client.get(rels["service-desc"]["href"]).json()["openapi"].startswith("3.")
    assert client.get("/ogc", headers={"Accept": "text/html"}).headers["content-type"].startswith("text/html")


def test_conformance(client: TestClient) -> None:
    body = client.get("/ogc/conformance").json()
    assert set(CONFORMANCE) <= set(body["conformsTo"])
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in body["conformsTo"]


def test_collections_have_extent_and_links(client: TestClient) -> None:
    body = client.get("/ogc/collections").json()
    ids = [c["id"] for c in body["collections"]]
    assert ids == [layer.name for layer in LAYERS if layer.is_spatial]
    ent = next(c for c in body["collections"] if c["id"] == "enterprises")
    assert ent["title"] == "企业" and ent["itemType"] == "feature"
    bbox = ent["extent"]["spatial"]["bbox"][0]
    assert bbox[0] == pytest.approx(82.9, abs=1e-4) and bbox[2] == pytest.approx(83.14, abs=1e-4)
    assert ent["extent"]["spatial"]["crs"] == CRS84
    assert any(link["rel"] == "items" and link["type"] == "application/geo+json" for link in ent["links"])
    inc = client.get("/ogc/collections/incidents").json()
    assert inc["extent"]["temporal"]["interval"] == [["2026-05-01T02:00:00Z", "2026-05-01T02:00:00Z"]]
    assert client.get("/ogc/collections/nope").status_code == 404


def test_items_default_limit_paging_and_counts(client: TestClient) -> None:
    r = client.get("/ogc/collections/enterprises/items")
    assert r.headers["content-type"] == "application/geo+json"
    fc = r.json()
    assert fc["type"] == "FeatureCollection"
    assert fc["numberReturned"] == 10 and fc["numberMatched"] == 25  # default limit 10
    assert "timeStamp" in fc
    seen, url = [], "/ogc/collections/enterprises/items?limit=7"
    while url:
        page = client.get(url).json()
        seen += [f["id"] for f in page["features"]]
        url = next((link["href"] for link in page["links"] if link["rel"] == "next"), None)
    assert len(seen) == len(set(seen)) == 25
    assert client.get("/ogc/collections/enterprises/items?limit=50000").json()["numberReturned"] == 25


@pytest.mark.parametrize(
    "query",
    [
        "limit=0",
        "limit=x",
        "bbox=1,2",
        "datetime=soon",
        "foo=bar",
        "offset=-1",
        "bbox-crs=http://www.opengis.net/def/crs/EPSG/0/32644",
        "crs=http://www.opengis.net/def/crs/EPSG/0/32644",
        "f=xml",
    ],
)
def test_items_bad_parameters_are_400(client: TestClient, query: str) -> None:
    assert client.get(f"/ogc/collections/enterprises/items?{query}").status_code == 400


def test_items_filters(client: TestClient) -> None:
    box = client.get("/ogc/collections/enterprises/items?bbox=82.895,46.1,82.925,46.3").json()
    assert [f["properties"]["name"] for f in box["features"]] == ["企业00", "企业01", "企业02"]
    red = client.get("/ogc/collections/enterprises/items?risk_level=red&limit=100").json()
    assert red["numberMatched"] == 13
    when = client.get("/ogc/collections/incidents/items?datetime=2026-04-30T00:00:00Z/..").json()
    assert when["numberMatched"] == 1
    before = client.get("/ogc/collections/incidents/items?datetime=../2026-04-30T00:00:00Z").json()
    assert before["numberMatched"] == 0


def test_single_feature(client: TestClient) -> None:
    first = client.get("/ogc/collections/roads/items").json()["features"][0]
    r = client.get(f"/ogc/collections/roads/items/{first['id']}")
    assert r.status_code == 200 and r.headers["content-type"] == "application/geo+json"
    assert r.json()["properties"]["ref"] == "G219"
    assert {link["rel"] for link in r.json()["links"]} >= {"self", "collection"}
    assert client.get("/ogc/collections/roads/items/99999").status_code == 404
    assert client.get("/ogc/collections/roads/items/abc").status_code == 404
    html = client.get(f"/ogc/collections/roads/items/{first['id']}?f=html")
    assert "国道" in html.text


def test_queryables_and_schema_from_catalogue(client: TestClient) -> None:
    q = client.get("/ogc/collections/enterprises/queryables").json()
    assert q["properties"]["risk_level"]["enum"] == ["red", "orange", "yellow", "blue"]
    assert q["properties"]["geom"]["format"] == "geometry-point"
    s = client.get("/ogc/collections/hazard_sources/schema").json()
    assert s["properties"]["grade"]["readOnly"] is True
    assert s["properties"]["substances"]["type"] == "array"


@pytest.fixture
def live(store: FeatureStore) -> Iterator[str]:
    fill(store)
    target = store.backend.url if store.kind == "postgis" else store.backend.path
    with BackgroundServer(target) as url:
        yield url


def test_gdal_oapif_reads_every_collection(live: str, store: FeatureStore) -> None:
    listed = {name for name, _ in pyogrio.list_layers(f"OAPIF:{live}/ogc")}
    assert listed == {layer.name for layer in LAYERS if layer.is_spatial}
    for name in ("enterprises", "roads", "incidents"):
        df = pyogrio.read_dataframe(f"OAPIF:{live}/ogc", layer=name)
        page = store.query(name, limit=None)
        assert sorted(df["name"]) == sorted(r["name"] for r in page.rows)
    boxed = pyogrio.read_dataframe(f"OAPIF:{live}/ogc", layer="enterprises", bbox=(82.895, 46.1, 82.925, 46.3))
    assert sorted(boxed["name"]) == ["企业00", "企业01", "企业02"]


def test_owslib_client(live: str, store: FeatureStore) -> None:
    from owslib.ogcapi.features import Features

    api = Features(live + "/ogc")
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in api.conformance()["conformsTo"]
    assert {c["id"] for c in api.collections()["collections"]} == {layer.name for layer in LAYERS if layer.is_spatial}
    items = api.collection_items("enterprises", limit=100)
    assert items["numberMatched"] == 25 == len(items["features"])
    boxed = api.collection_items("enterprises", bbox=[82.895, 46.1, 82.925, 46.3])
    assert boxed["numberMatched"] == 3
    one = api.collection_item("enterprises", str(items["features"][0]["id"]))
    assert one["properties"]["name"] == "企业00"
