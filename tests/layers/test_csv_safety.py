"""CSV formula injection (issue 10, item 5): every CSV the app writes neutralises formula-like text.

The OWASP rule (layers/csvsafe.py): a text cell beginning with ``=``, ``+``, ``-``, ``@``, tab
or CR gets a leading ``'``; numbers are written as numbers; the CSV import drops that one
quote again, so our own export imports back unchanged.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest
import shapely

from safemap.layers.csvsafe import csv_writer, restore_cell, safe_cell
from safemap.layers.definitions import LAYERS
from safemap.layers.model import Actor, Page
from safemap.layers.store import FeatureStore
from safemap.layers.transfer import export_layer, import_file
from safemap.layers.writers import write_csv

ACTOR = Actor("李应急", "admin")
HYPERLINK = '=HYPERLINK("http://x/","点击")'
DDE = "+cmd|' /C calc'!A0"
EVIL = [HYPERLINK, DDE, "-2+3", "@SUM(A1:A9)", "\t=1+1", "\r=1+1"]


def rows_of(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text.lstrip("\ufeff"), newline="")))


# ---------------------------------------------------------------------- the rule
@pytest.mark.parametrize("text", EVIL)
def test_formula_like_text_gets_a_leading_quote(text: str) -> None:
    assert safe_cell(text) == "'" + text
    assert restore_cell(safe_cell(text)) == text


@pytest.mark.parametrize("value", ["", "裕民县宏达化工", "a=b", "0901-6521234", " =x", "'", "'quoted", "x@y"])
def test_plain_text_is_unchanged(value: str) -> None:
    assert safe_cell(value) == value
    assert restore_cell(value) == value


@pytest.mark.parametrize("value", [-3.5, -1, 0, 2.5, True, np.float64(-0.25), np.int64(-7), None])
def test_numbers_are_never_quoted(value: Any) -> None:
    assert safe_cell(value) is value


def test_already_quoted_formula_text_round_trips() -> None:
    # Text that is literally "'=x" is written "''=x", so import gives back "'=x".
    for text in ("'=x", "''+1", "'-"):
        assert safe_cell(text) == "'" + text
        assert restore_cell(safe_cell(text)) == text
    # A foreign file's "=x" (no quote) is read as it is.
    assert restore_cell("=x") == "=x"


def test_writer_neutralises_text_but_writes_numbers() -> None:
    buf = io.StringIO()
    w = csv_writer(buf)
    w.writerow(["=名称", -3.5, "-3.5", -2])
    w.writerows([[DDE, 1e-7]])
    assert rows_of(buf.getvalue()) == [["'=名称", "-3.5", "'-3.5", "-2"], ["'" + DDE, "1e-07"]]


# ---------------------------------------------------------------------- layer export
def test_layer_csv_export_neutralises_text_keeps_negative_numbers(tmp_path: Path) -> None:
    hydrants = next(la for la in LAYERS if la.name == "hydrants")
    row = {f.name: None for f in hydrants.fields} | {"id": 1, "name": HYPERLINK, "flow_lps": -3.5}
    page = Page(hydrants, [row], np.array([shapely.Point(-83.25, -46.5)], dtype=object))
    for headers in ("label", "name"):
        path = tmp_path / f"h_{headers}.csv"
        write_csv(page, path, tz=ZoneInfo("UTC"), headers=headers)
        header, cells = rows_of(path.read_text("utf-8-sig"))
        record = dict(zip(header, cells, strict=True))
        name_col = "name" if headers == "name" else next(f.display_label for f in hydrants.fields if f.name == "name")
        flow_col = (
            "flow_lps" if headers == "name" else next(f.display_label for f in hydrants.fields if f.name == "flow_lps")
        )
        assert record[name_col] == "'" + HYPERLINK
        assert record[flow_col] == "-3.5"
        lon, lat = ("lon", "lat") if headers == "name" else ("经度", "纬度")
        assert (record[lon], record[lat]) == ("-83.25", "-46.5")
        assert not any(
            c.startswith(("=", "+", "-", "@", "\t", "\r")) for c in cells if c not in ("-3.5", "-83.25", "-46.5")
        )


def test_export_import_round_trip_is_lossless(gpkg_store: FeatureStore, tmp_path: Path) -> None:
    props = {
        "name": DDE,
        "industry": "fuel_station",
        "risk_level": "blue",
        "contact": HYPERLINK,
        "phone": "+86 0901-6521234",
        "address": "@哈拉布拉镇工业街12号",
        "park": "-裕民县工业园区",
        "township": "'=已带引号",
    }
    fid = gpkg_store.create(
        "enterprises",
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [83.0, 46.2]}, "properties": props},
        ACTOR,
    )["id"]
    for headers in ("label", "name"):
        path = tmp_path / f"e_{headers}.csv"
        assert export_layer(gpkg_store, "enterprises", path, csv_headers=headers) == 1
        text = path.read_text("utf-8-sig")
        assert "'" + HYPERLINK.replace('"', '""') in text and "'" + DDE in text and "'+86 0901-6521234" in text
        assert "''=已带引号" in text
        report = import_file(gpkg_store, "enterprises", path, ACTOR)
        (new,) = report.ids
        got = gpkg_store.get("enterprises", new)["properties"]
        assert {k: got[k] for k in props} == props, headers
        gpkg_store.delete("enterprises", new, ACTOR, expected_version=1)
    assert gpkg_store.get("enterprises", fid)["properties"]["contact"] == HYPERLINK


# ---------------------------------------------------------------------- report and coverage CSVs
def test_checks_csv_of_site_checks_and_violations() -> None:
    from safemap.api.reports.safety import checks_csv

    feature = {
        "properties": {
            "passed": False,
            "rule": "=1+1",
            "hazard_name": HYPERLINK,
            "target_name": DDE,
            "required_m": 50,
            "actual_m": 31.2,
            "shortfall_m": -18.8,
            "measured_between": "@罐区边界—学校",
            "note": "-",
        }
    }
    header, row = rows_of(checks_csv([feature]))
    record = dict(zip(header, row, strict=True))
    assert record["危险源"] == "'" + HYPERLINK and record["防护目标"] == "'" + DDE
    assert record["规则"] == "'=1+1" and record["间距起止点"] == "'@罐区边界—学校" and record["备注"] == "'-"
    assert record["不足(m)"] == "-18.8" and record["实际间距(m)"] == "31.2"


def test_findings_csv_of_the_fire_access_review() -> None:
    from safemap.api.reports.access import findings_csv

    props = {"rule": "lane_width", "label": "+净宽", "layer": "fire_lanes", "feature_id": 7, "name": HYPERLINK}
    props |= {"measured": -0.5, "required": 4.0, "lon": -83.1, "message": "@说明"}
    header, row = rows_of(findings_csv({"findings": {"features": [{"properties": props}]}}))
    record = dict(zip(header, row, strict=True))
    assert record["名称"] == "'" + HYPERLINK and record["规则"] == "'+净宽" and record["说明"] == "'@说明"
    assert record["实测值"] == "-0.5" and record["经度"] == "-83.1" and record["图层"] == "消防车道"


def test_coverage_report_csv() -> None:
    from safemap.api.services.coverage_report import report_csv

    report = {"targets": [{"name": DDE, "minutes": -1.5, "covered": True}, {"name": "学校", "extra": "=x"}]}
    # Machine headers (codes) here; the people's default (Chinese headers) escapes the same cells.
    rows = rows_of(report_csv(report, "targets", headers="code"))
    assert rows == [["name", "minutes", "covered", "extra"], ["'" + DDE, "-1.5", "True", ""], ["学校", "", "", "'=x"]]
    people = rows_of(report_csv(report, "targets"))
    assert people[0][:3] == ["名称", "最短到达时间（min）", "覆盖数"] and people[1:] == rows[1:]
    depots = {
        "depots": {
            "depots": [{"name": "=站"}],
            "seats": [{"name": HYPERLINK, "min": -2.0, "by_depot_min": [3.5]}],
            "hazard_sources": [],
        }
    }
    header, row = rows_of(report_csv(depots, "depots", headers="code"))
    assert header == ["name", "min", "至=站(min)"] and row == ["'" + HYPERLINK, "-2.0", "3.5"]


def test_violations_csv_route(gpkg_store: FeatureStore, monkeypatch: pytest.MonkeyPatch) -> None:
    from fastapi.testclient import TestClient

    from safemap.api.http.routers import safety as routes
    from tests.webmap.browsing import app_for

    feature = {"properties": {"passed": False, "hazard_name": HYPERLINK, "target_name": "学校", "actual_m": -1.0}}
    monkeypatch.setattr(routes.safety_service, "violations", lambda store: None)
    monkeypatch.setattr(routes.safety_service, "geojson_features", lambda frame: [feature])
    with TestClient(app_for(gpkg_store)) as client:
        r = client.get("/api/safety/violations", params={"format": "csv"})
    assert r.status_code == 200
    header, row = rows_of(r.text)
    record = dict(zip(header, row, strict=True))
    assert record["危险源"] == "'" + HYPERLINK and record["实际间距(m)"] == "-1.0"
