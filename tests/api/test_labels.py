"""Chinese for people, codes for machines: labels, error messages, CSV headers and file names (issue 14)."""

from __future__ import annotations

import csv
import io
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from safemap.api.http.app import create_app
from safemap.api.settings import Settings
from safemap.layers import labels
from safemap.layers.definitions import get_layer as layer_by_name
from safemap.layers.store import FeatureStore
from safemap.layers.tokens import create_token

# ------------------------------------------------------------------------------ the one place


def test_codes_become_catalogue_labels() -> None:
    assert labels.enum_label("vehicle_profile", "fire_engine") == "水罐消防车"
    assert labels.enum_label("gb36894_class", "general_1") == "一般防护目标（一类）"
    assert labels.enum_label("gb36894_class", "high_sensitive") == "高敏感防护目标"
    assert labels.enum_label("vehicle_profile", None) == ""
    assert labels.enum_label("vehicle_profile", "hovercraft") == "hovercraft"  # what the record holds
    assert labels.role_label("planner") == "规划/应急管理"
    assert labels.role_label("planner", with_code=True) == "规划/应急管理（planner）"
    assert labels.roles_text(["admin", "dispatcher"]) == "应急指挥调度、系统管理员"
    from safemap.layers.enums import RISK_LEVEL

    # Allowed values in error messages and docs: the words first, the code to send in brackets.
    assert RISK_LEVEL.describe().startswith("红（重大风险）（red）、橙（较大风险）（orange）")
    assert [labels.grade_label(g) for g in (1, 2, 3, 4, None, float("nan"))] == [
        "一级",
        "二级",
        "三级",
        "四级",
        "未分级",
        "未分级",
    ]


def test_synthetic_sources_say_so_in_words() -> None:
    assert labels.source_text("synthetic: 虚构救援队伍") == "合成演示数据：虚构救援队伍"
    assert labels.source_text("synthetic") == "合成演示数据"
    assert labels.source_text("县应急管理局 2025 年普查") == "县应急管理局 2025 年普查"
    assert labels.source_text(None) == ""


def test_numbers_units_durations_distances() -> None:
    assert labels.number_text(1e6) == "1000000" and labels.number_text(2.5) == "2.5"
    assert labels.rate_text(1e-6) == "1.0×10⁻⁶/年"
    assert labels.rate_text(3.456e-5) == "3.5×10⁻⁵/年"
    assert labels.rate_text(0.0) == "< 1×10⁻⁸/年"
    assert labels.rate_text(None) == "—"
    assert labels.duration_text(564.3) == "9分24秒"
    assert labels.duration_text(45) == "45秒" and labels.duration_text(3725) == "1小时02分05秒"
    assert labels.distance_text(9404.6) == "9.4 km" and labels.distance_text(850.2) == "850 m"
    assert labels.count_text(1210, "人") == "1210 人"


def test_field_paths_in_chinese() -> None:
    hazards = layer_by_name("hazard_sources")
    assert labels.layer_path_label(hazards, "properties.substances[0].quantity_t") == "危险物质第1项·最大储存量（t）"
    assert labels.layer_path_label(layer_by_name("enterprises"), "properties.employees") == "从业人员（人）"
    assert labels.path_label("properties.no_such_field") is None


def test_csv_headers_and_file_names() -> None:
    words = {"layer": "图层代码", "label": "图层", "count": "数量"}
    assert labels.csv_header(["layer", "label", "count"], words) == ["图层代码", "图层", "数量"]
    assert labels.csv_header(["layer", "label", "count"], words, "code") == ["layer", "label", "count"]
    import datetime as dt

    day = dt.date(2026, 12, 1)
    assert labels.export_filename("覆盖统计", "csv", day=day) == "覆盖统计_20261201.csv"
    assert labels.export_filename("覆盖统计", "csv", code_stem="coverage_summary", mode="code", day=day) == (
        "coverage_summary_20261201.csv"
    )
    header = labels.content_disposition("覆盖统计_20261201.csv", fallback="coverage_summary_20261201.csv")
    assert header.startswith('attachment; filename="coverage_summary_20261201.csv"')
    assert "filename*=UTF-8''" + urllib.parse.quote("覆盖统计_20261201.csv") in header
    with pytest.raises(ValueError):
        labels.header_mode("en")


# ------------------------------------------------------------------------------ through the API


@pytest.fixture
def client(gpkg_store: FeatureStore) -> Iterator[TestClient]:
    app = create_app(Settings(basemap="none", max_body_bytes=64 * 1024), store=gpkg_store)
    with TestClient(app) as c:
        yield c


def test_feature_errors_name_the_field_in_chinese(client: TestClient, gpkg_store: FeatureStore) -> None:
    token = {"Authorization": f"Bearer {create_token(gpkg_store, '规划员', 'planner')}"}
    feature = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [82.99, 46.2]},
        "properties": {"name": "金泰油品", "industry": "fuel_station", "risk_level": "yellow", "employees": -3},
    }
    r = client.post("/api/layers/enterprises", json=feature, headers=token)
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["problems"][0]["field"] == "properties.employees"  # the machine-readable code stays
    assert body["message"].startswith("从业人员（人）：不能小于 0"), body["message"]
    assert "properties." not in body["message"]


@pytest.fixture(scope="module")
def demo_client(demo_store: FeatureStore) -> Iterator[TestClient]:
    settings = Settings(basemap="none", gpkg_path=Path("unused.gpkg"))
    with TestClient(create_app(settings, store=demo_store)) as c:
        yield c


def test_site_property_errors_name_the_field_in_chinese(demo_client: TestClient) -> None:
    body = {
        "geometry": {"type": "Point", "coordinates": [82.98, 46.2]},
        "kind": "lpg_depot",
        "properties": {"volume_m3": 5e6},
    }
    r = demo_client.post("/api/safety/site-check", json=body)
    assert r.status_code == 422, r.text
    out = r.json()
    assert out["problems"][0]["field"] == "properties.volume_m3"
    assert out["message"] == "容积（m³）：应为 0–1000000 之间的数", out["message"]


def test_coverage_csv_has_chinese_headers_and_file_names(demo_client: TestClient) -> None:
    r = demo_client.get("/api/coverage/report", params={"format": "csv", "table": "summary"})
    assert r.status_code == 200, r.text
    header = next(csv.reader(io.StringIO(r.text.lstrip("\ufeff"))))
    assert header[:3] == ["图层", "对象数", "覆盖数"], header
    assert not any(h.isascii() for h in header), header
    disposition = r.headers["content-disposition"]
    assert "filename*=UTF-8''" + urllib.parse.quote("覆盖统计_") in disposition
    assert 'filename="coverage_summary_' in disposition  # the ASCII fallback
    code = demo_client.get("/api/coverage/report", params={"format": "csv", "table": "summary", "headers": "code"})
    assert next(csv.reader(io.StringIO(code.text.lstrip("\ufeff"))))[:3] == ["layer", "label", "count"]
    assert "filename*=UTF-8''coverage_summary_" in code.headers["content-disposition"]
    grades = demo_client.get("/api/coverage/report").json()["by_grade"]
    assert {g["grade"] for g in grades} <= {"一级", "二级", "三级", "四级", "未分级"}, grades
    assert demo_client.get("/api/coverage/report", params={"format": "csv", "headers": "en"}).status_code == 400
