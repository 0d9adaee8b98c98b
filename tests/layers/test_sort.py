"""Ordering a query (``sort``) on both stores, through the API, and the attribute table's selection export."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from safemap.api.http.app import create_app
from safemap.api.settings import Settings
from safemap.layers.errors import BadQuery
from safemap.layers.model import Actor
from safemap.layers.store import FeatureStore

PLANNER = Actor("王规划", "planner")


def enterprise(name: str, risk: str, employees: int | None, lon: float = 83.0) -> dict:
    props = {"name": name, "industry": "hazchem_storage", "risk_level": risk}
    if employees is not None:
        props["employees"] = employees
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, 46.2]}, "properties": props}


def _fill(store: FeatureStore) -> list[int]:
    rows = [("丙化工", "blue", 30), ("甲化工", "red", None), ("乙化工", "yellow", 5), ("丁化工", "red", 300)]
    return [store.create("enterprises", enterprise(n, r, e), PLANNER)["id"] for n, r, e in rows]


def _names(store: FeatureStore, sort: str | None, **kw: object) -> list[str]:
    page = store.query("enterprises", sort=sort, **kw)  # type: ignore[arg-type]
    return [row["name"] for row in page.rows]


def test_sort_by_number_ascending_and_descending_empty_last(store: FeatureStore) -> None:
    _fill(store)
    assert _names(store, "employees") == ["乙化工", "丙化工", "丁化工", "甲化工"]
    assert _names(store, "-employees") == ["丁化工", "丙化工", "乙化工", "甲化工"]


def test_sort_enum_in_display_order_then_id(store: FeatureStore) -> None:
    ids = _fill(store)
    page = store.query("enterprises", sort="risk_level")
    assert [r["risk_level"] for r in page.rows] == ["red", "red", "yellow", "blue"]
    assert [r["id"] for r in page.rows][:2] == [ids[1], ids[3]]  # ties by id
    assert [r["risk_level"] for r in store.query("enterprises", sort="-risk_level").rows] == [
        "blue",
        "yellow",
        "red",
        "red",
    ]


def test_sort_with_paging_and_several_keys(store: FeatureStore) -> None:
    _fill(store)
    assert _names(store, "risk_level,-employees", limit=2) == ["丁化工", "甲化工"]
    assert _names(store, "risk_level,-employees", limit=2, offset=2) == ["乙化工", "丙化工"]
    assert _names(store, "-id") == ["丁化工", "乙化工", "甲化工", "丙化工"]
    assert _names(store, None) == ["丙化工", "甲化工", "乙化工", "丁化工"]


def test_sort_by_unknown_field_is_refused_in_chinese(store: FeatureStore) -> None:
    with pytest.raises(BadQuery) as err:
        store.query("enterprises", sort="-nonsense")
    assert "企业图层没有字段 'nonsense'" in str(err.value)
    assert "风险等级（risk_level）" in str(err.value)


@pytest.fixture
def client(gpkg_store: FeatureStore) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(basemap="none"), store=gpkg_store)) as c:
        yield c


def test_api_sort_parameter(client: TestClient, gpkg_store: FeatureStore) -> None:
    _fill(gpkg_store)
    body = client.get("/api/layers/enterprises", params={"sort": "-employees", "limit": 2}).json()
    assert [f["properties"]["name"] for f in body["features"]] == ["丁化工", "丙化工"]
    assert body["numberMatched"] == 4
    next_link = next(link for link in body["links"] if link["rel"] == "next")
    assert "sort=-employees" in next_link["href"]
    bad = client.get("/api/layers/enterprises", params={"sort": "colour"})
    assert bad.status_code == 400
    assert "排序" in bad.json()["message"] and "风险等级" in bad.json()["message"]


def test_export_selection_csv_xlsx_geojson(client: TestClient, gpkg_store: FeatureStore) -> None:
    ids = _fill(gpkg_store)
    chosen = f"{ids[0]},{ids[3]}"
    r = client.get("/api/layers/enterprises/export", params={"format": "csv", "ids": chosen, "sort": "name"})
    assert r.status_code == 200
    assert r.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert "风险等级" in rows[0] and "从业人员 (人)" in rows[0]
    assert len(rows) == 3
    risk = rows[0].index("风险等级")
    assert sorted(row[risk][0] for row in rows[1:]) == ["红", "蓝"]  # 红（重大风险）: labels, not codes

    r = client.get("/api/layers/enterprises/export", params={"format": "xlsx", "ids": chosen})
    assert r.status_code == 200
    from openpyxl import load_workbook

    ws = load_workbook(io.BytesIO(r.content)).active
    values = [[c.value for c in row] for row in ws.iter_rows()]
    assert "风险等级" in values[0] and "经度" in values[0]
    assert len(values) == 3
    assert {row[values[0].index("名称")] for row in values[1:]} == {"丙化工", "丁化工"}

    fc = client.get("/api/layers/enterprises/export", params={"format": "geojson", "ids": chosen}).json()
    assert sorted(f["id"] for f in fc["features"]) == sorted([ids[0], ids[3]])

    assert client.get("/api/layers/enterprises/export", params={"format": "csv", "ids": "1,x"}).status_code == 400
