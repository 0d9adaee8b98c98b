"""OGC API – Tiles metadata for the layers' vector tiles (discovery, WebMercatorQuad, tile template)."""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from safemap.api.http.app import create_app
from safemap.api.settings import Settings
from safemap.layers.model import Actor
from safemap.layers.store import FeatureStore

ADMIN = Actor("admin", "admin")
TMS_URI = "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad"
LON, LAT = 82.98, 46.2


@pytest.fixture
def client(gpkg_store: FeatureStore) -> Iterator[TestClient]:
    gpkg_store.create(
        "enterprises",
        {
            "geometry": {"type": "Point", "coordinates": [LON, LAT]},
            "properties": {"name": "加油站", "industry": "fuel_station", "risk_level": "blue"},
        },
        ADMIN,
    )
    with TestClient(create_app(Settings(basemap="none"), store=gpkg_store)) as c:
        yield c


def xyz(lon: float, lat: float, z: int) -> tuple[int, int]:
    """Column and row (from the top) of the tile holding lon/lat (the slippy-map formula)."""
    n = 2**z
    col = int((lon + 180) / 360 * n)
    row = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return col, row


def test_tile_matrix_sets(client: TestClient) -> None:
    landing = client.get("/ogc").json()["links"]
    schemes = [link for link in landing if link["rel"] == "http://www.opengis.net/def/rel/ogc/1.0/tiling-schemes"]
    assert schemes and schemes[0]["href"].endswith("/ogc/tileMatrixSets")
    listed = client.get("/ogc/tileMatrixSets").json()["tileMatrixSets"]
    assert [t["id"] for t in listed] == ["WebMercatorQuad"]
    tms = client.get("/ogc/tileMatrixSets/WebMercatorQuad").json()
    assert tms["uri"] == TMS_URI and tms["crs"] == "http://www.opengis.net/def/crs/EPSG/0/3857"
    z0, z10 = tms["tileMatrices"][0], tms["tileMatrices"][10]
    assert z0["cellSize"] == pytest.approx(156543.03392804097) and z0["scaleDenominator"] == pytest.approx(
        559082264.0287178
    )
    assert z0["pointOfOrigin"] == pytest.approx([-20037508.3427892, 20037508.3427892])
    assert z10["matrixWidth"] == z10["matrixHeight"] == 1024 and z10["cornerOfOrigin"] == "topLeft"
    assert client.get("/ogc/tileMatrixSets/WorldCRS84Quad").status_code == 404
    conformance = client.get("/ogc/conformance").json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/mvt" in conformance


def test_tileset_template_maps_to_the_xyz_tiles(client: TestClient) -> None:
    links = client.get("/ogc/collections/enterprises").json()["links"]
    tiles_url = next(link["href"] for link in links if link["rel"].endswith("/tilesets-vector"))
    tilesets = client.get(tiles_url).json()["tilesets"]
    assert tilesets[0]["tileMatrixSetURI"] == TMS_URI and tilesets[0]["dataType"] == "vector"
    meta = client.get(next(link["href"] for link in tilesets[0]["links"] if link["rel"] == "self")).json()
    assert meta["layers"][0]["id"] == "enterprises" and meta["layers"][0]["geometryDimension"] == 0
    assert meta["boundingBox"]["lowerLeft"] == pytest.approx([LON, LAT], abs=1e-4)
    item = next(link for link in meta["links"] if link["rel"] == "item")
    assert item["templated"] is True and item["type"] == "application/vnd.mapbox-vector-tile"
    z = 12
    col, row = xyz(LON, LAT, z)
    url = item["href"].format(tileMatrix=z, tileRow=row, tileCol=col)
    assert url.endswith(f"/tiles/WebMercatorQuad/{z}/{row}/{col}")
    tile = client.get(url)
    assert tile.status_code == 200 and tile.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    assert tile.content and tile.content == client.get(f"/tiles/enterprises/{z}/{col}/{row}.mvt").content
    # The neighbouring row is empty: rows count from the top, as XYZ y does.
    assert client.get(item["href"].format(tileMatrix=z, tileRow=row + 1, tileCol=col)).content == b""
    assert client.get("/ogc/collections/enterprises/tiles/WorldCRS84Quad").status_code == 404
