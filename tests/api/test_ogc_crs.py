"""OGC API – Features Part 2 (CRS by reference): ``crs``, ``bbox-crs``, ``Content-Crs``, axis order.

Expected numbers are computed independently of the server: the lat/lon swap by hand, Web
Mercator from its closed formula, and the county's Gauss–Krüger zone (EPSG:4537, CGCS2000
3-degree CM 84°E — 裕民县 lies at 82.98°E) with pyproj in the CRS's own axis order (X north, Y east).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pyogrio
import pytest
from fastapi.testclient import TestClient
from pyproj import CRS, Transformer

from safemap.api.http.app import create_app
from safemap.api.settings import Settings
from safemap.layers.model import Actor
from safemap.layers.store import FeatureStore
from tests.support.background_server import BackgroundServer

ADMIN = Actor("admin", "admin")
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG = "http://www.opengis.net/def/crs/EPSG/0/"
LON, LAT = 82.98, 46.2
#: Web Mercator by its formula (sphere of radius 6378137 m; 20037508.34 m is half the equator).
MERC_X = LON * 20037508.34 / 180
MERC_Y = 6378137 * math.log(math.tan(math.pi / 4 + math.radians(LAT) / 2))


def gk(lon: float, lat: float) -> tuple[float, float]:
    """(northing, easting) in EPSG:4537, in the CRS's authority axis order."""
    north, east = Transformer.from_crs("EPSG:4490", "EPSG:4537").transform(lat, lon)
    return north, east


def fill(store: FeatureStore) -> None:
    for name, lon, lat in (("加油站", LON, LAT), ("西站", 82.5, 46.0), ("北站", 83.3, 46.5)):
        store.create(
            "enterprises",
            {
                "geometry": {"type": "Point", "coordinates": [lon, lat]},
                "properties": {"name": name, "industry": "fuel_station", "risk_level": "blue"},
            },
            ADMIN,
        )
    store.create(
        "roads",
        {
            "geometry": {"type": "LineString", "coordinates": [[82.9, 46.1], [83.0, 46.15]]},
            "properties": {"name": "G219 裕民段", "road_class": "national", "status": "open"},
        },
        ADMIN,
    )


@pytest.fixture
def client(gpkg_store: FeatureStore) -> Iterator[TestClient]:
    fill(gpkg_store)
    with TestClient(create_app(Settings(basemap="none"), store=gpkg_store)) as c:
        yield c


def _point(client: TestClient, crs: str | None) -> tuple[list[float], str]:
    query = "name=加油站" + (f"&crs={crs}" if crs else "")
    r = client.get(f"/ogc/collections/enterprises/items?{query}")
    assert r.status_code == 200, r.text
    return r.json()["features"][0]["geometry"]["coordinates"], r.headers["content-crs"]


def test_county_zone_is_epsg_4537() -> None:
    crs = CRS.from_epsg(4537)
    assert crs.name == "CGCS2000 / 3-degree Gauss-Kruger CM 84E"
    west, south, east, north = crs.area_of_use.bounds
    assert west <= LON <= east and south <= LAT <= north
    assert [a.direction for a in crs.axis_info] == ["north", "east"]


def test_collections_list_crs_and_conformance(client: TestClient) -> None:
    ent = client.get("/ogc/collections/enterprises").json()
    assert ent["storageCrs"] == CRS84
    assert ent["crs"] == [CRS84, EPSG + "4490", EPSG + "4326", EPSG + "3857", EPSG + "4537"]
    assert all(c["crs"] == ent["crs"] for c in client.get("/ogc/collections").json()["collections"])
    conformance = client.get("/ogc/conformance").json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs" in conformance


def test_point_in_each_crs_with_content_crs(client: TestClient) -> None:
    assert _point(client, None) == ([LON, LAT], f"<{CRS84}>")
    assert _point(client, CRS84) == ([LON, LAT], f"<{CRS84}>")
    assert _point(client, EPSG + "4490") == ([LAT, LON], f"<{EPSG}4490>")  # CGCS2000: lat, lon
    assert _point(client, EPSG + "4326") == ([LAT, LON], f"<{EPSG}4326>")
    (x, y), header = _point(client, EPSG + "3857")
    assert header == f"<{EPSG}3857>"
    assert x == pytest.approx(MERC_X, abs=0.01) and y == pytest.approx(MERC_Y, abs=0.01)
    (north, east), header = _point(client, EPSG + "4537")
    assert header == f"<{EPSG}4537>"
    assert (north, east) == pytest.approx(gk(LON, LAT), abs=0.001)
    assert 5_118_000 < north < 5_119_000 and 421_000 < east < 422_000  # 78.7 km west of CM 84°E, no zone prefix


def test_line_and_single_item_in_crs(client: TestClient) -> None:
    fc = client.get(f"/ogc/collections/roads/items?crs={EPSG}4490").json()
    assert fc["features"][0]["geometry"]["coordinates"] == [[46.1, 82.9], [46.15, 83.0]]
    fid = fc["features"][0]["id"]
    r = client.get(f"/ogc/collections/roads/items/{fid}?crs={EPSG}4537")
    assert r.status_code == 200 and r.headers["content-crs"] == f"<{EPSG}4537>"
    coords = r.json()["geometry"]["coordinates"]
    assert coords[0] == pytest.approx(gk(82.9, 46.1), abs=0.001)
    plain = client.get(f"/ogc/collections/roads/items/{fid}")
    assert plain.headers["content-crs"] == f"<{CRS84}>"
    assert plain.json()["geometry"]["coordinates"] == [[82.9, 46.1], [83.0, 46.15]]


def _names(client: TestClient, query: str) -> list[str]:
    r = client.get(f"/ogc/collections/enterprises/items?{query}")
    assert r.status_code == 200, r.text
    return sorted(f["properties"]["name"] for f in r.json()["features"])


def test_bbox_crs(client: TestClient) -> None:
    assert _names(client, "bbox=82.9,46.1,83.1,46.3") == ["加油站"]
    # CGCS2000 and EPSG:4326 boxes are written lat, lon (min lat, min lon, max lat, max lon).
    assert _names(client, f"bbox=46.1,82.9,46.3,83.1&bbox-crs={EPSG}4490") == ["加油站"]
    assert _names(client, f"bbox=46.1,82.9,46.3,83.1&bbox-crs={EPSG}4326") == ["加油站"]
    assert _names(client, f"bbox=45.9,82.4,46.6,83.4&bbox-crs={EPSG}4490") == sorted(["北站", "加油站", "西站"])
    x0, y0 = MERC_X - 1000, MERC_Y - 1000
    x1, y1 = MERC_X + 1000, MERC_Y + 1000
    assert _names(client, f"bbox={x0},{y0},{x1},{y1}&bbox-crs={EPSG}3857") == ["加油站"]
    north, east = gk(LON, LAT)
    box = f"{north - 500},{east - 500},{north + 500},{east + 500}"  # X (north) first
    assert _names(client, f"bbox={box}&bbox-crs={EPSG}4537") == ["加油站"]
    # bbox in CGCS2000, answer in the county zone.
    r = client.get(f"/ogc/collections/enterprises/items?bbox=46.1,82.9,46.3,83.1&bbox-crs={EPSG}4490&crs={EPSG}4537")
    assert r.headers["content-crs"] == f"<{EPSG}4537>"
    assert r.json()["features"][0]["geometry"]["coordinates"] == pytest.approx(gk(LON, LAT), abs=0.001)


@pytest.mark.parametrize("param", ["crs", "bbox-crs"])
def test_unsupported_crs_is_400_listing_the_supported(client: TestClient, param: str) -> None:
    r = client.get(f"/ogc/collections/enterprises/items?bbox=1,2,3,4&{param}={EPSG}32644")
    assert r.status_code == 400
    message = r.json()["message"]
    assert "不支持的坐标参照系" in message and f"{EPSG}32644" in message
    for uri in (CRS84, EPSG + "4490", EPSG + "4326", EPSG + "3857", EPSG + "4537"):
        assert uri in message
    item = client.get(f"/ogc/collections/roads/items/1?crs={EPSG}32644")
    assert item.status_code == 400


def test_bbox_in_crs_with_wrong_order_is_400(client: TestClient) -> None:
    r = client.get(f"/ogc/collections/enterprises/items?bbox=46.3,82.9,46.1,83.1&bbox-crs={EPSG}4490")
    assert r.status_code == 400


@pytest.fixture
def live(gpkg_store: FeatureStore, gpkg_path: Path) -> Iterator[str]:
    fill(gpkg_store)
    with BackgroundServer(gpkg_path) as url:
        yield url


def test_gdal_reads_in_cgcs2000_and_county_zone(live: str) -> None:
    """pyogrio's GDAL (≥ 3.7 speaks Part 2) asks for the CRS and maps the axes back to x = east."""
    for code, expected in ((4490, (LON, LAT)), (4537, gk(LON, LAT)[::-1])):
        df = pyogrio.read_dataframe(f"OAPIF:{live}/ogc", layer="enterprises", CRS=f"EPSG:{code}")
        assert df.crs.to_epsg() == code
        point = df.loc[df["name"] == "加油站", "geometry"].item()
        assert (point.x, point.y) == pytest.approx(expected, abs=0.001)


def test_owslib_reads_collections_and_items_in_crs(live: str) -> None:
    from owslib.ogcapi.features import Features

    api = Features(live + "/ogc")
    conformance = api.conformance()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs" in conformance
    ent = api.collection("enterprises")
    assert EPSG + "4490" in ent["crs"] and ent["storageCrs"] == CRS84
    items = api.collection_items("enterprises", crs=EPSG + "4490", name="加油站")
    assert items["features"][0]["geometry"]["coordinates"] == [LAT, LON]
    boxed = api.collection_items("enterprises", bbox=[46.1, 82.9, 46.3, 83.1], **{"bbox-crs": EPSG + "4490"})
    assert [f["properties"]["name"] for f in boxed["features"]] == ["加油站"]
