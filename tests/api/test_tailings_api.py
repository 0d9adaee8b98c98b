"""``/api/tailings``, ``safemap tailings breach`` and ``safemap dem load|info`` on the demo county.

Known answer (Concha Larrauri & Lall 2018, Environments 5(2):28) for the demo copper-mine pond,
H = 28 m, V_T = 3.2 × 10⁶ m³: V_F = 0.332 × 3.2^0.95 = 1.002378 × 10⁶ m³;
H_f = 28 × 1.002378² / 3.2 = 8.79163; D_max = 3.04 × 8.79163^0.545 km = 9.9401 km.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import rasterio
from fastapi.testclient import TestClient
from rasterio.transform import from_origin

from safemap.api.http.app import create_app
from safemap.api.settings import Settings
from safemap.layers.model import Actor
from safemap.layers.store import FeatureStore
from tests.support.cli import cli_env, run
from tests.support.demo import YUMIN_EXTENT as EXTENT

DEMO_RUNOUT_M = 9940.1


@pytest.fixture(autouse=True)
def _no_loaded_dem(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test reads the demo's synthetic DEM unless it loads one itself (never the repo's var/)."""
    monkeypatch.delenv("SAFEMAP_DEM_PATH", raising=False)
    monkeypatch.setenv("SAFEMAP_DEM_DIR", str(tmp_path / "dem"))


def _client(store: FeatureStore) -> TestClient:
    return TestClient(create_app(Settings(basemap="none", gpkg_path=Path("unused.gpkg")), store=store))


@pytest.fixture
def client(demo_store: FeatureStore) -> Iterator[TestClient]:
    with _client(demo_store) as c:
        yield c


def _pond(client: TestClient) -> dict:
    ponds = client.get("/api/tailings/ponds").json()["ponds"]
    return next(p for p in ponds if "铜矿尾矿库" in p["name"])


def test_ponds_list_the_demo_pond_with_its_dam(client: TestClient) -> None:
    r = client.get("/api/tailings/ponds")
    assert r.status_code == 200
    pond = _pond(client)
    assert (pond["dam_height_m"], pond["tailings_volume_m3"]) == (28.0, 3_200_000.0)
    assert pond["checkable"] and pond["reasons"] == []
    assert EXTENT[0] < pond["lon"] < EXTENT[2] and EXTENT[1] < pond["lat"] < EXTENT[3]


def test_breach_of_the_demo_pond(client: TestClient) -> None:
    pond = _pond(client)
    r = client.post(f"/api/tailings/{pond['id']}/breach")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["runout"]["runout_m"] == pytest.approx(DEMO_RUNOUT_M, abs=0.5)
    assert body["runout"]["released_m3"] == pytest.approx(1_002_378, rel=1e-5)
    assert body["breach"]["origin"] == "pour_point"
    # The path leaves the pond downhill: its first step goes down and it ends lower than the dam.
    heights = [p["height_m"] for p in body["profile"]]
    assert len(heights) >= 2 and heights[1] < heights[0] and heights[-1] < heights[0]
    # On the synthetic DEM the pond sits in a closed upland basin larger than the 10⁶ m³ released:
    # the flow stops in it (fill-and-spill) short of the run-out, and says so.
    path = body["path"]
    assert path["geometry"]["type"] == "LineString"
    assert path["properties"]["end"] in ("runout", "basin")
    assert 0 < path["properties"]["length_m"] <= DEMO_RUNOUT_M + 0.5
    if path["properties"]["end"] == "basin":
        assert any("洼地" in w for w in body["warnings"])
    for lon, lat in path["geometry"]["coordinates"]:
        assert EXTENT[0] < lon < EXTENT[2] and EXTENT[1] < lat < EXTENT[3]
    assert body["corridor"]["geometry"]["type"] in ("Polygon", "MultiPolygon")
    assert body["corridor"]["properties"]["area_m2"] > 0
    # Arrival times grow down the path, and each road reached is given with its time.
    times = [p["arrival_s"] for p in body["profile"]]
    assert times[0] == 0 and all(b > a for a, b in itertools.pairwise(times))
    for item in body["roads"] + body["settlements"] + body["targets"]:
        assert item["arrival_text"].endswith("秒") and item["distance_m"] <= DEMO_RUNOUT_M
    assert body["synthetic"] is True and body["dem"]["synthetic"] is True
    assert any("合成" in w for w in body["warnings"])
    assert "溃坝分析" in body["summary"]


def test_breach_point_from_the_caller(client: TestClient) -> None:
    pond = _pond(client)
    r = client.post(f"/api/tailings/{pond['id']}/breach", json={"lon": pond["lon"], "lat": pond["lat"]})
    assert r.status_code == 200 and r.json()["breach"]["origin"] == "request"
    far = client.post(f"/api/tailings/{pond['id']}/breach", json={"lon": 82.9, "lat": 46.2})
    assert far.status_code == 422 and "溃口" in far.json()["message"]
    one = client.post(f"/api/tailings/{pond['id']}/breach", json={"lon": pond["lon"]})
    assert one.status_code == 422 and "同时给出" in one.json()["message"]


@pytest.mark.parametrize(
    ("body", "word"),
    [
        ({"depth_m": -1}, "流深"),
        ({"depth_m": "２"}, "流深"),
        ({"released_m3": 0}, "下泄量"),
        ({"tailings_volume_m3": -5}, "尾矿库存量"),
        ({"unknown": 1}, ""),
    ],
)
def test_bad_bodies_are_422_naming_the_field(client: TestClient, body: dict, word: str) -> None:
    pond = _pond(client)
    r = client.post(f"/api/tailings/{pond['id']}/breach", json=body)
    assert r.status_code == 422 and word in r.json()["message"]


def test_released_volume_override_and_unknown_ponds(client: TestClient, demo_store: FeatureStore) -> None:
    pond = _pond(client)
    r = client.post(f"/api/tailings/{pond['id']}/breach", json={"released_m3": 1_000_000})
    assert r.status_code == 200 and r.json()["runout"]["released_origin"] == "request"
    too_much = client.post(f"/api/tailings/{pond['id']}/breach", json={"released_m3": 4_000_000})
    assert too_much.status_code == 422 and "下泄量" in too_much.json()["message"]
    assert client.post("/api/tailings/999999/breach").status_code == 404
    other = demo_store.query("hazard_sources", q="炸药库", limit=1).features()[0]
    assert client.post(f"/api/tailings/{other['id']}/breach").status_code == 404
    bad_json = client.post(
        f"/api/tailings/{pond['id']}/breach", content=b"{", headers={"content-type": "application/json"}
    )
    assert bad_json.status_code == 400


@pytest.mark.parametrize(("field", "label"), [("dam_height_m", "坝高"), ("tailings_volume_m3", "尾矿库存量")])
def test_missing_dam_data_is_422(demo_copy: FeatureStore, field: str, label: str) -> None:
    feature = demo_copy.query("hazard_sources", q="铜矿尾矿库", limit=1).features()[0]
    version = feature["properties"]["version"]
    demo_copy.update(
        "hazard_sources", feature["id"], {"properties": {field: None}}, Actor("test", "admin"), expected_version=version
    )
    with _client(demo_copy) as c:
        pond = _pond(c)
        assert not pond["checkable"] and any(label in reason for reason in pond["reasons"])
        r = c.post(f"/api/tailings/{pond['id']}/breach")
        assert r.status_code == 422
        assert r.json()["message"].startswith(label) and r.json()["problems"][0]["field"] == field


def _write_lonlat_dem(path: Path) -> None:
    """A 120 × 100 DEM in EPSG:4326 (0.001° cells) over the demo mine area, falling 2 m per row."""
    z = (1500.0 - np.arange(100)[:, None] * 2.0 + np.abs(np.arange(120)[None, :] - 60) * 1.0).astype("float32")
    profile = {"driver": "GTiff", "width": 120, "height": 100, "count": 1, "dtype": "float32", "crs": "EPSG:4326"}
    with rasterio.open(path, "w", transform=from_origin(82.50, 45.70, 0.001, 0.001), **profile) as dst:
        dst.write(z, 1)


def test_cli_dem_load_and_info(client: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cli_env(tmp_path / "cli.gpkg", monkeypatch)
    monkeypatch.setenv("SAFEMAP_DEM_DIR", str(tmp_path / "loaded"))
    code, out = run("dem", "info")
    assert code == 0 and "合成数据：是" in out and "yumin_dem_synthetic.tif" in out
    source = tmp_path / "lonlat.tif"
    _write_lonlat_dem(source)
    code, out = run("dem", "load", str(source))
    assert code == 0, out
    assert "EPSG:4326 → EPSG:32644" in out
    loaded = tmp_path / "loaded" / "dem.tif"
    with rasterio.open(loaded) as src:
        assert src.crs.to_epsg() == 32644 and src.tags()["SYNTHETIC"] == "no"
        # 0.001° of longitude at 45.65°N ≈ 78 m, of latitude ≈ 111 m: the default transform keeps
        # about the source's cell count, so a square cell between the two.
        assert 70 < src.transform.a < 115
        band = src.read(1, masked=True)
        assert float(band.min()) > 1290 and float(band.max()) < 1570
    record = json.loads((tmp_path / "loaded" / "dem.json").read_text(encoding="utf-8"))
    assert record["source_crs"] == "EPSG:4326" and record["synthetic"] is False
    code, out = run("dem", "info")
    assert code == 0 and "safemap dem load 导入" in out and "合成数据：否" in out
    from safemap.layers.dem import dem_path, read_dem

    assert dem_path() == loaded
    dem = read_dem(bounds_lonlat=(82.53, 45.63, 82.56, 45.66))
    assert dem is not None and not dem.synthetic and dem.crs == "EPSG:32644"
    # The breach analysis now reads the loaded DEM (it covers the demo pond): no synthetic warning.
    r = client.post(f"/api/tailings/{_pond(client)['id']}/breach")
    assert r.status_code == 200 and r.json()["synthetic"] is False and r.json()["dem"]["origin"] == "loaded"
    assert not any("合成" in w for w in r.json()["warnings"]) and r.json()["dem"]["path"] == "dem.tif"
    junk = tmp_path / "junk.tif"
    junk.write_text("not a raster")
    code, out = run("dem", "load", str(junk))
    assert code == 2 and "栅格" in out


def test_cli_breach(demo_copy: FeatureStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cli_env(tmp_path / "demo.gpkg", monkeypatch)  # demo_copy's own file
    target = tmp_path / "breach.geojson"
    code, out = run("tailings", "breach", "--geojson", str(target))
    assert code == 0, out
    assert "经验冲出距离 9.9 km" in out and "合成演示数据" in out and "下泄量 100.2 万m³" in out
    doc = json.loads(target.read_text(encoding="utf-8"))
    kinds = {f["properties"]["kind"] for f in doc["features"]}
    assert {"path", "corridor"} <= kinds and doc["synthetic"] is True
    code, out = run("tailings", "breach", "不存在的库")
    assert code == 2 and "尾矿库" in out
    code, out = run("tailings", "breach", "--lon", "82.5")
    assert code == 2 and "同时给出" in out
