"""Excel and KMZ through the command line (``--sheet``) and the upload route (``sheet``)."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest
from fastapi.testclient import TestClient

from safemap.api.http.app import create_app
from safemap.api.settings import Settings
from safemap.layers.store import FeatureStore
from safemap.layers.tokens import create_token
from tests.support.cli import run

ROWS = [["名称", "行业类别", "风险等级", "东经", "北纬"], ["裕民县永安加油站", "加油站", "黄", 82.985, 46.205]]


def _workbook() -> bytes:
    """Two sheets: a note first, the enterprises in the second."""
    wb = openpyxl.Workbook()
    note = wb.active
    assert note is not None
    note.title = "说明"
    note.append(["裕民县企业台账，2024 年"])
    firms = wb.create_sheet("企业")
    for row in ROWS:
        firms.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _kmz() -> bytes:
    kml = (
        '<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document><Folder>'
        "<Placemark><name>裕民县永安加油站</name><ExtendedData>"
        '<Data name="行业类别"><value>加油站</value></Data><Data name="风险等级"><value>黄</value></Data>'
        "</ExtendedData><Point><coordinates>82.985,46.205,0</coordinates></Point></Placemark>"
        "</Folder></Document></kml>"
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("doc.kml", kml)
    return buf.getvalue()


def test_cli_imports_a_named_sheet(env: Path, tmp_path: Path) -> None:
    path = tmp_path / "台账.xlsx"
    path.write_bytes(_workbook())
    code, out = run("import", "enterprises", str(path), "--dry-run")
    assert code == 2 and "--lon" in out and "--sheet" in out  # the first sheet has no coordinates
    code, out = run("import", "enterprises", str(path), "--sheet", "企业")
    assert code == 0 and "已导入 1 个要素" in out, out
    kmz = tmp_path / "调查点.kmz"
    kmz.write_bytes(_kmz())
    code, out = run("import", "enterprises", str(kmz))
    assert code == 0 and "已导入 1 个要素" in out, out


@pytest.fixture
def client(gpkg_store: FeatureStore) -> Iterator[TestClient]:
    app = create_app(Settings(basemap="none", max_upload_bytes=200_000), store=gpkg_store)
    with TestClient(app) as c:
        yield c


def test_upload_xlsx_with_sheet_and_kmz(client: TestClient, gpkg_store: FeatureStore) -> None:
    headers = {"Authorization": f"Bearer {create_token(gpkg_store, '规划员', 'planner')}"}
    url = "/api/layers/enterprises/import"
    files = {"file": ("台账.xlsx", _workbook(), "application/octet-stream")}
    r = client.post(url, files=files, data={"sheet": "企业", "dry_run": "true"}, headers=headers)
    assert r.status_code == 200 and r.json()["count"] == 1, r.text
    r = client.post(url, files=files, params={"sheet": "企业"}, headers=headers)
    assert r.status_code == 201 and r.json()["count"] == 1, r.text
    r = client.post(url, files=files, data={"sheet": "没有"}, headers=headers)
    assert r.status_code == 422 and "说明" in r.text and "企业" in r.text
    r = client.post(url, files={"file": ("调查点.kmz", _kmz(), "application/vnd.google-earth.kmz")}, headers=headers)
    assert r.status_code == 201 and r.json()["count"] == 1, r.text
    r = client.post(url, files={"file": ("旧.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504))}, headers=headers)
    assert r.status_code == 422 and ".xlsx" in r.text
