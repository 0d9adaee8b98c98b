"""Import by upload and export by download through the API."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from safemap.api.http.app import create_app
from safemap.api.settings import Settings
from safemap.layers.store import FeatureStore
from safemap.layers.tokens import create_token


@pytest.fixture
def client(store: FeatureStore) -> Iterator[TestClient]:
    app = create_app(Settings(basemap="none", max_upload_bytes=200_000), store=store)
    with TestClient(app) as c:
        yield c


@pytest.fixture
def planner(store: FeatureStore) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_token(store, '规划员', 'planner')}"}


def _csv(rows: list[dict]) -> bytes:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue().encode("utf-8-sig")


GOOD = [
    {"名称": "裕民县永安加油站", "行业类别": "加油站", "风险等级": "黄", "经度": "82.985", "纬度": "46.205"},
    {
        "名称": "裕民县天然气供应站",
        "行业类别": "加气站（CNG/LNG）",
        "风险等级": "橙",
        "经度": "82.995",
        "纬度": "46.198",
    },
]


def test_upload_csv_with_chinese_headers(client: TestClient, planner: dict) -> None:
    r = client.post(
        "/api/layers/enterprises/import", files={"file": ("加油站.csv", _csv(GOOD), "text/csv")}, headers=planner
    )
    assert r.status_code == 201, r.text
    assert r.json()["count"] == 2 and len(r.json()["ids"]) == 2
    names = sorted(f["properties"]["name"] for f in client.get("/api/layers/enterprises").json()["features"])
    assert names == ["裕民县天然气供应站", "裕民县永安加油站"]
    log = client.get("/api/audit", params={"layer": "enterprises"}, headers=planner).json()["entries"]
    assert {e["action"] for e in log} == {"import"} and log[0]["actor"] == "规划员"


def test_dry_run_writes_nothing(client: TestClient, planner: dict) -> None:
    r = client.post(
        "/api/layers/enterprises/import",
        files={"file": ("a.csv", _csv(GOOD), "text/csv")},
        data={"dry_run": "true"},
        headers=planner,
    )
    assert r.status_code == 200 and r.json()["dry_run"] is True
    assert client.get("/api/layers/enterprises").json()["numberMatched"] == 0


def test_bad_row_reported_and_nothing_written(client: TestClient, planner: dict) -> None:
    rows = [*GOOD, {"名称": "坏数据", "行业类别": "加油站", "风险等级": "紫", "经度": "82.99", "纬度": "46.2"}]
    r = client.post(
        "/api/layers/enterprises/import", files={"file": ("a.csv", _csv(rows), "text/csv")}, headers=planner
    )
    assert r.status_code == 422
    problem = r.json()["problems"][0]
    assert problem["row"] == 4 and problem["field"].endswith("risk_level")
    assert client.get("/api/layers/enterprises").json()["numberMatched"] == 0


def test_upload_rules(client: TestClient, planner: dict, store: FeatureStore) -> None:
    files = {"file": ("a.csv", _csv(GOOD), "text/csv")}
    assert client.post("/api/layers/enterprises/import", files=files).status_code == 401
    fire = {"Authorization": f"Bearer {create_token(store, '消防员', 'fire')}"}
    assert client.post("/api/layers/enterprises/import", files=files, headers=fire).status_code == 403
    r = client.post(
        "/api/layers/enterprises/import",
        files={"file": ("a.xlsx", b"PK..", "application/octet-stream")},
        headers=planner,
    )
    assert r.status_code == 422 and r.json()["problems"][0]["field"] == "file"
    r = client.post(
        "/api/layers/enterprises/import", files={"file": ("big.csv", b"x" * 300_000, "text/csv")}, headers=planner
    )
    assert r.status_code == 413
    r = client.post(
        "/api/layers/enterprises/import", files={"file": ("bad.geojson", b"{oops", "application/json")}, headers=planner
    )
    assert r.status_code == 422 and r.json()["problems"][0]["field"] == "file"


@pytest.mark.parametrize("fmt", ["geojson", "gpkg", "shp", "csv"])
def test_export_download_reimports(client: TestClient, planner: dict, fmt: str, store: FeatureStore) -> None:
    client.post("/api/layers/enterprises/import", files={"file": ("a.csv", _csv(GOOD), "text/csv")}, headers=planner)
    r = client.get("/api/layers/enterprises/export", params={"format": fmt, "risk_level": "yellow"})
    assert r.status_code == 200, r.text
    name = r.headers["content-disposition"]
    suffix = {"geojson": ".geojson", "gpkg": ".gpkg", "shp": ".zip", "csv": ".csv"}[fmt]
    assert "enterprises_" in name and name.rstrip('"').endswith(suffix)
    if fmt == "geojson":
        assert [f["properties"]["name"] for f in json.loads(r.content)["features"]] == ["裕民县永安加油站"]
    if fmt == "shp":
        assert any(n.endswith(".shp") for n in zipfile.ZipFile(io.BytesIO(r.content)).namelist())
    again = client.post(
        "/api/layers/enterprises/import",
        files={"file": (f"back{suffix}", r.content, "application/octet-stream")},
        data={"dry_run": "true"},
        headers=planner,
    )
    assert again.status_code == 200, again.text
    assert again.json()["count"] == 1


def test_export_bad_parameters(client: TestClient) -> None:
    assert client.get("/api/layers/enterprises/export", params={"format": "kml"}).status_code == 400
    assert client.get("/api/layers/enterprises/export", params={"colour": "red"}).status_code == 400
