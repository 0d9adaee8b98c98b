"""A write that cannot get the store's lock in time answers 503 with ``Retry-After``, never 500 (issue 10, item 4)."""

from __future__ import annotations

import csv
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from safemap.api.http.app import create_app
from safemap.api.settings import Settings
from safemap.layers.model import Actor
from safemap.layers.store import FeatureStore, open_store
from safemap.layers.tokens import create_token
from safemap.layers.transfer import import_file
from tests.conftest import YUMIN_EXTENT

FEATURE = {
    "type": "Feature",
    "geometry": {"type": "Point", "coordinates": [82.99, 46.2]},
    "properties": {"name": "裕民县金泰油品经营部", "industry": "fuel_station", "risk_level": "yellow"},
}


@pytest.fixture
def busy_store(gpkg_path: Path) -> Iterator[FeatureStore]:
    store = open_store(gpkg_path, extent=YUMIN_EXTENT, lock_timeout=0.2)
    yield store
    store.close()


@pytest.fixture
def client(busy_store: FeatureStore) -> Iterator[TestClient]:
    app = create_app(Settings(basemap="none"), store=busy_store)
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def admin(busy_store: FeatureStore) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_token(busy_store, '管理员', 'admin')}"}


def test_patch_on_a_geopackage_held_by_another_writer_is_503(client: TestClient, admin: dict, gpkg_path: Path) -> None:
    fid = client.post("/api/layers/enterprises", json=FEATURE, headers=admin).json()["id"]
    other = sqlite3.connect(gpkg_path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # held far longer than the 0.2 s the store waits
    try:
        r = client.patch(
            f"/api/layers/enterprises/{fid}", json={"properties": {"employees": 7}}, headers=admin | {"If-Match": '"1"'}
        )
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert r.status_code == 503, r.text
    assert r.headers["content-type"].startswith("application/json")
    assert int(r.headers["Retry-After"]) >= 1
    body = r.json()
    assert body["error"] == "busy"
    assert "数据库正忙" in body["message"] and "重试" in body["message"]
    # Nothing was written; the retry the client is told to make succeeds.
    r = client.patch(
        f"/api/layers/enterprises/{fid}", json={"properties": {"employees": 7}}, headers=admin | {"If-Match": '"1"'}
    )
    assert r.status_code == 200, r.text
    assert r.json()["properties"]["version"] == 2


def test_patches_during_an_import_succeed_or_get_503(gpkg_store: FeatureStore, tmp_path: Path) -> None:
    token = create_token(gpkg_store, "管理员", "admin")
    headers = {"Authorization": f"Bearer {token}"}
    path = tmp_path / "big.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["name", "industry", "risk_level", "lon", "lat"])
        w.writerows(
            [f"企业{i}", "其他", "蓝", 82.9 + (i % 100) * 1e-3, 46.1 + (i // 100) * 1e-4] for i in range(10_000)
        )
    statuses: list[int] = []
    with TestClient(create_app(Settings(basemap="none"), store=gpkg_store), raise_server_exceptions=False) as client:
        fid = client.post("/api/layers/enterprises", json=FEATURE, headers=headers).json()["id"]
        importer = threading.Thread(target=import_file, args=(gpkg_store, "enterprises", path, Actor("导入", "admin")))
        importer.start()
        version = 1
        while importer.is_alive():
            r = client.patch(
                f"/api/layers/enterprises/{fid}",
                json={"properties": {"employees": len(statuses)}},
                headers=headers | {"If-Match": f'"{version}"'},
            )
            statuses.append(r.status_code)
            if r.status_code == 200:
                version = r.json()["properties"]["version"]
            else:
                assert r.status_code == 503, r.text
                assert int(r.headers["Retry-After"]) >= 1
        importer.join()
    assert statuses.count(200) >= 1
    assert gpkg_store.counts()["enterprises"] == 10_001
    assert gpkg_store.get("enterprises", fid)["properties"]["version"] == 1 + statuses.count(200)
