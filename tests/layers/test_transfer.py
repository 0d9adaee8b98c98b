"""Import and export: real files written the way users produce them, on both stores."""

from __future__ import annotations

import csv
import json
import warnings
import zipfile
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from pyproj import Transformer

from safemap.layers.checks import credit_code_check_char
from safemap.layers.columns import ColumnMatcher, short_names
from safemap.layers.definitions import LAYERS
from safemap.layers.errors import ValidationFailed
from safemap.layers.model import Actor
from safemap.layers.schemas import read_only_names
from safemap.layers.store import FeatureStore
from safemap.layers.transfer import export_layer, import_file
from safemap.layers.writers import ExportWarning

ACTOR = Actor("李应急", "admin")
CREDIT = "91654225MA7" + "ABC12A"
CREDIT += credit_code_check_char(CREDIT)
ALL = (
    "enterprises",
    "hazard_sources",
    "fire_lanes",
    "incidents",
    "protected_targets",
    "material_depots",
)
SQUARE = [[[83.0, 46.2], [83.0004, 46.2], [83.0004, 46.2003], [83.0, 46.2003], [83.0, 46.2]]]


def feature(geometry: dict, **props: Any) -> dict:
    return {"type": "Feature", "geometry": geometry, "properties": props}


def point(lon: float = 83.0, lat: float = 46.2) -> dict:
    return {"type": "Point", "coordinates": [lon, lat]}


def seed(store: FeatureStore) -> dict[str, int]:
    """A small county: enterprises, hazard sources with substances, a fire lane, an incident."""
    e1 = store.create(
        "enterprises",
        feature(
            point(83.0012345678901, 46.2034567890123),
            name="裕民县宏达化工有限公司",
            industry="hazchem_storage",
            risk_level="red",
            credit_code=CREDIT,
            employees=35,
            contact="阿依古丽·买买提",
            phone="0901-6521234",
            park="裕民县工业园区",
            address="哈拉布拉镇工业街12号",
            township="哈拉布拉镇",
        ),
        ACTOR,
    )["id"]
    store.create(
        "enterprises",
        feature(
            point(83.05, 46.21),
            name="新地乡加油站",
            industry="fuel_station",
            risk_level="blue",
            source="县应急局 2024 年台账",
        ),
        ACTOR,
    )
    store.create(
        "hazard_sources",
        feature(
            {"type": "Polygon", "coordinates": SQUARE},
            name="1号罐区",
            enterprise_id=e1,
            kind="tank_farm",
            plant_status="existing",
            max_tank_m3=50.5,
            substances=[
                {"name": "汽油", "cas": "86290-81-5", "hazard_class": "W5.4", "quantity_t": 20.5},
                {"name": "液化石油气", "quantity_t": 5.0},
            ],
        ),
        ACTOR,
    )
    store.create(
        "hazard_sources",
        feature(
            point(83.001, 46.2001),
            name="2号储罐",
            enterprise_id=e1,
            kind="storage_tank",
            vapour_recovery="full",
            substances=[{"name": "柴油", "quantity_t": 12.0}],
        ),
        ACTOR,
    )
    store.create(
        "fire_lanes",
        feature(
            {
                "type": "LineString",
                "coordinates": [[83.0, 46.2], [83.001, 46.2005], [83.002, 46.2]],
            },
            name="园区东侧消防车道",
            width_m=4.5,
            clear_height_m=5.0,
            dead_end=True,
            turnaround_length_m=12.0,
            turnaround_width_m=15.0,
            obstructed=False,
            inspected_at="2024-05-01",
        ),
        ACTOR,
    )
    store.create(
        "incidents",
        feature(
            point(83.02, 46.19),
            name="仓库火情",
            kind="fire",
            status="responding",
            reported_at="2024-05-01T10:30:15+08:00",
            casualties=0,
            description="二号仓库冒烟，已出动",
        ),
        ACTOR,
    )
    store.create(
        "protected_targets",
        feature(
            {
                "type": "MultiPolygon",
                "coordinates": [
                    SQUARE,
                    [[[83.01, 46.2], [83.011, 46.2], [83.011, 46.201], [83.01, 46.2]]],
                ],
            },
            name="裕民县第一中学",
            category="school",
            gb36894_class="high_sensitive",
            gb50156_class="important_public",
            population=1800,
            height_m=18.5,
        ),
        ACTOR,
    )
    store.create(
        "protected_targets",
        feature(point(83.03, 46.22), name="县人民医院", category="hospital", population=650),
        ACTOR,
    )
    store.create(
        "material_depots",
        feature(
            point(83.04, 46.2),
            name="县应急物资储备库",
            level="county",
            area_m2=8350.0,
            inventory=[
                {"item": "救援车辆", "category": "vehicle", "unit": "辆", "quantity": 5},
                {"item": "叉车", "unit": "台", "quantity": 2},
            ],
        ),
        ACTOR,
    )
    return {"enterprise": e1}


def editable(layer_name: str, props: dict) -> dict:
    layer = next(la for la in LAYERS if la.name == layer_name)
    skip = read_only_names(layer)
    return {k: v for k, v in props.items() if k not in skip}


def by_name(store: FeatureStore, layer: str, ids: list[int] | None = None) -> dict[str, dict]:
    page = store.query(layer, ids=ids, limit=None)
    return {f["properties"]["name"]: f for f in page.features()}


def assert_round_trip(
    store: FeatureStore, layer: str, path: Path, *, children: bool = True, **export: Any
) -> list[str]:
    before = by_name(store, layer)
    assert export_layer(store, layer, path, **export) == len(before)
    counts = store.counts()
    report = import_file(store, layer, path, ACTOR)
    assert report.count == len(before) and len(report.ids) == len(before)
    assert store.counts()[layer] == counts[layer] + len(before)
    after = by_name(store, layer, report.ids)
    assert after.keys() == before.keys()
    for name, old in before.items():
        new = after[name]
        old_props, new_props = (
            editable(layer, old["properties"]),
            editable(layer, new["properties"]),
        )
        if not children:
            for child in ("substances", "vehicles", "inventory"):
                old_props.pop(child, None)
                assert new_props.pop(child, []) == []
        assert new_props == old_props, name
        g_old = shapely.geometry.shape(old["geometry"])
        g_new = shapely.geometry.shape(new["geometry"])
        assert g_new.geom_type == g_old.geom_type
        assert shapely.equals_exact(shapely.normalize(g_new), shapely.normalize(g_old), 1e-12), name
    for fid in report.ids:  # leave the store as it was for the next round trip
        store.delete(layer, fid, ACTOR, expected_version=1)
    return report.warnings


def expect_failure(store: FeatureStore, layer: str, path: Path, **kw: Any) -> ValidationFailed:
    counts = store.counts()
    with pytest.raises(ValidationFailed) as info:
        import_file(store, layer, path, ACTOR, **kw)
    assert store.counts() == counts, "a failed import must write nothing"
    return info.value


# ---------------------------------------------------------------------- round trips
def test_round_trip_geojson_and_csv(store: FeatureStore, tmp_path: Path) -> None:
    seed(store)
    for layer in ALL:
        assert_round_trip(store, layer, tmp_path / f"{layer}.geojson")
    data = json.loads((tmp_path / "hazard_sources.geojson").read_text(encoding="utf-8"))
    assert "crs" not in data
    tank = next(f for f in data["features"] if f["properties"]["name"] == "1号罐区")
    ring = shapely.LinearRing(tank["geometry"]["coordinates"][0])
    assert ring.is_ccw  # RFC 7946 right-hand rule
    assert tank["properties"]["substances"][0] == {  # every catalogue field; flash/boiling point unset (issue 11)
        "name": "汽油",
        "cas": "86290-81-5",
        "hazard_class": "W5.4",
        "quantity_t": 20.5,
        "flash_point_c": None,
        "boiling_point_c": None,
    }
    for layer in ("enterprises", "fire_lanes", "incidents", "protected_targets"):
        assert_round_trip(store, layer, tmp_path / f"{layer}.csv")
    warned = assert_round_trip(store, "hazard_sources", tmp_path / "hs.csv", children=False)
    assert any("子表摘要" in w for w in warned)
    raw = (tmp_path / "enterprises.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    header = next(csv.reader(raw.decode("utf-8-sig").splitlines()))
    assert header[:2] == ["编号", "名称"] and header[-2:] == ["经度", "纬度"]
    assert "风险等级" in header
    wkt_header = next(csv.reader((tmp_path / "hs.csv").read_text("utf-8-sig").splitlines()))
    assert wkt_header[-2:] == ["危险物质", "wkt"]
    assert_round_trip(store, "enterprises", tmp_path / "names.csv", csv_headers="name")
    header = (tmp_path / "names.csv").read_text("utf-8-sig").splitlines()[0].split(",")
    assert header[-2:] == ["lon", "lat"] and "risk_level" in header


def test_round_trip_geopackage(gpkg_store: FeatureStore, tmp_path: Path) -> None:
    seed(gpkg_store)
    for layer in ALL:
        assert_round_trip(gpkg_store, layer, tmp_path / f"{layer}.gpkg")
    listed = {str(n) for n, _ in pyogrio.list_layers(tmp_path / "hazard_sources.gpkg")}
    assert listed == {"hazard_sources", "hazard_sources__substances"}
    subs = pyogrio.read_dataframe(tmp_path / "hazard_sources.gpkg", layer="hazard_sources__substances")
    assert set(subs["name"]) == {"汽油", "液化石油气", "柴油"}
    assert {"parent_id", "seq", "quantity_t"} <= set(subs.columns)


def test_round_trip_geopackage_postgis(pg_store: FeatureStore, tmp_path: Path) -> None:
    seed(pg_store)
    assert_round_trip(pg_store, "hazard_sources", tmp_path / "hs.gpkg")


def test_import_straight_from_a_safemap_store_file(
    gpkg_store: FeatureStore, gpkg_path: Path, pg_store: FeatureStore
) -> None:
    seed(gpkg_store)
    gpkg_store.close()  # checkpoint the write-ahead log into the file
    report = import_file(pg_store, "material_depots", gpkg_path, ACTOR)
    got = pg_store.get("material_depots", report.ids[0])["properties"]
    assert got["name"] == "县应急物资储备库" and got["area_m2"] == 8350.0
    assert [r["item"] for r in got["inventory"]] == ["救援车辆", "叉车"]


def test_round_trip_shapefile(gpkg_store: FeatureStore, tmp_path: Path) -> None:
    seed(gpkg_store)
    for layer in ("enterprises", "fire_lanes", "incidents", "protected_targets", "material_depots"):
        assert_round_trip(gpkg_store, layer, tmp_path / f"{layer}.zip")
    warned = assert_round_trip(gpkg_store, "hazard_sources", tmp_path / "hazard_sources.zip")
    assert any("多个 Shapefile" in w for w in warned)
    with zipfile.ZipFile(tmp_path / "hazard_sources.zip") as zf:
        names = set(zf.namelist())
        for stem in ("hazard_sources_point", "hazard_sources_polygon"):
            assert {f"{stem}.{ext}" for ext in ("shp", "shx", "dbf", "prj", "cpg")} <= names
        assert zf.read("hazard_sources_point.cpg").strip().upper() == b"UTF-8"
        assert "hazard_sources__substances.dbf" in names
        fields = zf.read("fields.txt").decode("utf-8-sig")
    assert "enterprise\tenterprise_id\t所属企业编号" in fields
    frame = pyogrio.read_dataframe(f"/vsizip/{tmp_path / 'hazard_sources.zip'}/hazard_sources_polygon.shp")
    assert max(len(c) for c in frame.columns) <= 10
    assert frame.loc[0, "name"] == "1号罐区"
    assert frame.loc[0, "substances"] == "汽油 20.5 t; 液化石油气 5 t"
    with zipfile.ZipFile(tmp_path / "fire_lanes.zip") as zf:
        fields = zf.read("fields.txt").decode("utf-8-sig")
    assert "turnaround\tturnaround_length_m" in fields and "turnarou_2\tturnaround_width_m" in fields


def test_shapefile_text_over_254_bytes_is_cut_with_a_warning(gpkg_store: FeatureStore, tmp_path: Path) -> None:
    gpkg_store.create(
        "incidents",
        feature(
            point(),
            name="长描述",
            kind="leak",
            status="reported",
            reported_at="2024-06-01T08:00:00",
            description="储罐区阀门泄漏" * 30,
        ),
        ACTOR,
    )
    with pytest.warns(ExportWarning, match="254"):
        export_layer(gpkg_store, "incidents", tmp_path / "inc.zip")
    with pytest.raises(ValidationFailed, match=r"\.zip"):
        export_layer(gpkg_store, "incidents", tmp_path / "inc.shp")


def test_export_query_and_empty_layer(gpkg_store: FeatureStore, tmp_path: Path) -> None:
    seed(gpkg_store)
    n = export_layer(gpkg_store, "enterprises", tmp_path / "red.geojson", filters={"risk_level": ["red"]})
    assert n == 1
    n = export_layer(gpkg_store, "enterprises", tmp_path / "box.csv", bbox=(83.04, 46.2, 83.06, 46.22))
    assert n == 1
    for suffix in ("geojson", "gpkg", "zip", "csv"):
        assert export_layer(gpkg_store, "hydrants", tmp_path / f"empty.{suffix}") == 0
        assert import_file(gpkg_store, "hydrants", tmp_path / f"empty.{suffix}", ACTOR).count == 0


# ---------------------------------------------------------------------- what users bring
def test_csv_with_chinese_headers_and_labels(store: FeatureStore, tmp_path: Path) -> None:
    path = tmp_path / "企业台账.csv"
    rows = [
        ["序号", "名称", "行业类别", "风险等级", "从业人员 (人)", "所属乡镇", "经度", "纬度"],
        [
            "1",
            "裕民县宏达化工有限公司",
            "危化品经营（带储存）",
            "红",
            "35",
            "哈拉布拉镇",
            "83.0",
            "46.2",
        ],
        ["2", "新地乡加油站", "加油站", "橙（较大风险）", "", "新地乡", "82.95", "46.25"],
    ]
    with path.open("w", encoding="gbk", newline="") as fh:  # as Excel saves on a Chinese Windows
        csv.writer(fh).writerows(rows)
    report = import_file(store, "enterprises", path, ACTOR)
    assert report.count == 2
    assert any("GBK" in w for w in report.warnings)
    assert any("序号" in w for w in report.warnings)
    got = by_name(store, "enterprises")
    p = got["裕民县宏达化工有限公司"]["properties"]
    assert (p["industry"], p["risk_level"], p["employees"], p["township"]) == (
        "hazchem_storage",
        "red",
        35,
        "哈拉布拉镇",
    )
    assert p["source"] == "导入自 企业台账.csv"
    assert got["新地乡加油站"]["properties"]["risk_level"] == "orange"
    assert got["新地乡加油站"]["properties"]["employees"] is None


def test_csv_line_numbers_name_row_and_field(store: FeatureStore, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(
        "\ufeffname,industry,risk_level,lon,lat\n"
        "甲企业,fuel_station,red,83.0,46.2\n"
        "\n"
        "乙企业,fuel_station,紫色,83.0,46.2\n"
        '"丙企业\n（分厂）",加油站,blue,abc,46.2\n',
        encoding="utf-8",
    )
    err = expect_failure(store, "enterprises", path)
    found = {(p.row, p.field) for p in err.problems}
    assert (4, "properties.risk_level") in found
    assert (5, "lon") in found
    enum_problem = next(p for p in err.problems if p.field == "properties.risk_level")
    assert "紫色" in enum_problem.message and "red" in enum_problem.message
    assert "未写入" in err.message


def test_reprojected_from_utm_44n(gpkg_store: FeatureStore, tmp_path: Path) -> None:
    to_utm = Transformer.from_crs(4326, 32644, always_xy=True)
    to_wgs = Transformer.from_crs(32644, 4326, always_xy=True)
    x, y = to_utm.transform(83.0, 46.2)
    square = shapely.Polygon([(x, y), (x + 60, y), (x + 60, y + 40), (x, y + 40)])
    frame = gpd.GeoDataFrame(
        {
            "name": ["危化品仓库", "加油站储罐"],
            "enterprise_id": [0, 0],
            "kind": ["warehouse", "fuel_station_tank"],
        },
        geometry=[square, shapely.Point(x + 500, y - 300)],
        crs="EPSG:32644",
    )
    e = gpkg_store.create("enterprises", feature(point(), name="企业", industry="other", risk_level="blue"), ACTOR)
    frame["enterprise_id"] = e["id"]
    path = tmp_path / "utm.gpkg"
    pyogrio.write_dataframe(frame, path, layer="仓库", geometry_type="Unknown")
    report = import_file(gpkg_store, "hazard_sources", path, ACTOR)
    assert report.source_crs == "EPSG:32644"
    got = by_name(gpkg_store, "hazard_sources")
    stored = shapely.get_coordinates(shapely.geometry.shape(got["危化品仓库"]["geometry"]))
    expected = np.column_stack(to_wgs.transform(*shapely.get_coordinates(square).T))
    np.testing.assert_allclose(stored, expected, atol=1e-7, rtol=0)
    tank = got["加油站储罐"]["geometry"]["coordinates"]
    np.testing.assert_allclose(tank, to_wgs.transform(x + 500, y - 300), atol=1e-7, rtol=0)
    # The same point as a legacy GeoJSON with a crs member, and as a CSV with --crs.
    legacy = {
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::32644"}},
        "features": [
            feature(
                {"type": "Point", "coordinates": [x, y]},
                name="坐标系测试",
                industry="other",
                risk_level="blue",
            )
        ],
    }
    (tmp_path / "legacy.json").write_text(json.dumps(legacy, ensure_ascii=False), encoding="utf-8")
    assert import_file(gpkg_store, "enterprises", tmp_path / "legacy.json", ACTOR).source_crs == "EPSG:32644"
    (tmp_path / "utm.csv").write_text(f"名称,行业类别,风险等级,x,y\n坐标系测试2,其他,蓝,{x!r},{y!r}\n", "utf-8")
    import_file(gpkg_store, "enterprises", tmp_path / "utm.csv", ACTOR, crs="EPSG:32644")
    for name in ("坐标系测试", "坐标系测试2"):
        lon, lat = by_name(gpkg_store, "enterprises")[name]["geometry"]["coordinates"]
        assert abs(lon - 83.0) < 1e-7 and abs(lat - 46.2) < 1e-7


def test_gcj02_needs_the_option_and_is_converted(store: FeatureStore, tmp_path: Path) -> None:
    path = tmp_path / "county_points_gcj02.geojson"
    data = {
        "type": "FeatureCollection",
        "features": [feature(point(82.982667, 46.201104), name="裕民县", kind="county_seat")],
    }
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    err = expect_failure(store, "settlements", path)
    assert err.problems[0].field == "file" and "GCJ-02" in err.problems[0].message
    report = import_file(store, "settlements", path, ACTOR, gcj02=True)
    assert report.converted_from_gcj02 and report.source_crs == "GCJ-02"
    lon, lat = store.get("settlements", report.ids[0])["geometry"]["coordinates"]
    assert abs(lon - 82.979536) < 1e-5 and abs(lat - 46.200426) < 1e-5
    csv_path = tmp_path / "gaode.csv"
    csv_path.write_text("名称,类型,lng,lat\n县城,县城,82.982667,46.201104\n", encoding="utf-8")
    report = import_file(store, "settlements", csv_path, ACTOR, crs="GCJ-02")
    lon, _ = store.get("settlements", report.ids[0])["geometry"]["coordinates"]
    assert abs(lon - 82.979536) < 1e-5


def test_zipped_gbk_shapefile_with_truncated_names_and_no_cpg(gpkg_store: FeatureStore, tmp_path: Path) -> None:
    folder = tmp_path / "shp"
    folder.mkdir()
    frame = gpd.GeoDataFrame(
        {
            "name": ["园区消防车道"],
            "width_m": [4.0],
            "clear_height_m": [4.5],
            "inspected_at": ["2024/5/1"],
            "obstructed": [1],
        },
        geometry=[shapely.MultiLineString([[(83.0, 46.2), (83.001, 46.2)], [(83.002, 46.2), (83.003, 46.201)]])],
        crs="EPSG:4326",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # GDAL: names truncated to 10 characters
        pyogrio.write_dataframe(frame, folder / "消防车道.shp", encoding="GBK")
    (folder / "消防车道.cpg").unlink()
    path = tmp_path / "lanes.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for f in folder.iterdir():
            zf.write(f, f"数据/{f.name}")
    report = import_file(gpkg_store, "fire_lanes", path, ACTOR)
    assert report.count == 2  # the two-part line was split
    assert any("GBK" in w for w in report.warnings)
    assert any("第 1 行是多段线" in w for w in report.warnings)
    feats = gpkg_store.query("fire_lanes", limit=None).features()
    props = feats[0]["properties"]
    assert props["name"] == "园区消防车道"
    assert props["clear_height_m"] == 4.5 and props["obstructed"] is True
    assert str(props["inspected_at"]) == "2024-05-01"
    assert [f["geometry"]["type"] for f in feats] == ["LineString", "LineString"]


# ---------------------------------------------------------------------- broken files
def test_unreadable_files_are_refused_with_a_reason(store: FeatureStore, tmp_path: Path) -> None:
    cases = {
        "bad.geojson": (b'{"type": "FeatureCollection", "features": [', "JSON"),
        "empty.csv": (b"", "空"),
        "nocoords.csv": ("名称,风险等级\n甲,红\n".encode(), "坐标列"),
        "notazip.zip": (b"this is not a zip", "zip"),
        "list.geojson": (b'{"type": "Point", "coordinates": [83, 46]}', "FeatureCollection"),
    }
    for name, (content, reason) in cases.items():
        (tmp_path / name).write_bytes(content)
        err = expect_failure(store, "enterprises", tmp_path / name)
        assert err.problems[0].field == "file", name
        assert reason in err.problems[0].message, name
    path = tmp_path / "noshp.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("readme.txt", "no shapefile here")
    err = expect_failure(store, "enterprises", path)
    assert ".shp" in err.problems[0].message


def test_shapefile_without_prj_needs_crs(gpkg_store: FeatureStore, tmp_path: Path) -> None:
    folder = tmp_path / "shp"
    folder.mkdir()
    frame = gpd.GeoDataFrame(
        {"名称": ["消火栓1"], "状态": ["完好"]}, geometry=[shapely.Point(83, 46.2)], crs="EPSG:4326"
    )
    pyogrio.write_dataframe(frame, folder / "hydrants.shp", encoding="UTF-8")
    (folder / "hydrants.prj").unlink()
    path = tmp_path / "hydrants.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for f in folder.iterdir():
            zf.write(f, f.name)
    err = expect_failure(gpkg_store, "hydrants", path)
    assert ".prj" in err.problems[0].message
    report = import_file(gpkg_store, "hydrants", path, ACTOR, crs="EPSG:4490")
    assert report.count == 1 and report.source_crs == "EPSG:4490"
    assert gpkg_store.query("hydrants").rows[0]["status"] == "ok"


def test_row_problems_are_all_reported_and_nothing_is_written(store: FeatureStore, tmp_path: Path) -> None:
    seed(store)
    bowtie = {
        "type": "Polygon",
        "coordinates": [[[83.0, 46.2], [83.001, 46.201], [83.001, 46.2], [83.0, 46.201], [83.0, 46.2]]],
    }
    features = [
        feature(point(), name="正常", enterprise_id=1, kind="warehouse"),
        feature(bowtie, name="自相交", enterprise_id=1, kind="warehouse"),
        feature(point(87.6, 43.8), name="乌鲁木齐", enterprise_id=1, kind="warehouse"),
        feature(point(), name="无企业", enterprise_id=99999, kind="warehouse"),
        feature(point(), name="未知类型", enterprise_id=1, kind="rocket", color="red"),
        feature(point(46.2, 83.0), name="颠倒", enterprise_id=1, kind="warehouse"),
    ]
    path = tmp_path / "hs.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False))
    err = expect_failure(store, "hazard_sources", path)
    found = {(p.row, p.field) for p in err.problems}
    assert (2, "geometry") in found
    assert (3, "geometry") in found
    assert (4, "properties.enterprise_id") in found
    assert (5, "properties.kind") in found
    assert (None, "color") in found  # unknown column, named
    assert (6, "geometry") in found
    messages = {(p.row, p.field): p.message for p in err.problems}
    assert "自相交" in messages[(2, "geometry")] or "Self-intersection" in messages[(2, "geometry")]
    assert "服务区域" in messages[(3, "geometry")]
    assert "颠倒" in messages[(6, "geometry")]
    assert all(p.row != 1 for p in err.problems)
    # Dry run of a good file writes nothing either.
    good = tmp_path / "good.geojson"
    good.write_text(json.dumps({"type": "FeatureCollection", "features": features[:1]}))
    counts = store.counts()
    report = import_file(store, "hazard_sources", good, ACTOR, dry_run=True)
    assert report.count == 1 and report.ids == [] and store.counts() == counts


def test_problem_list_is_capped(gpkg_store: FeatureStore, tmp_path: Path) -> None:
    path = tmp_path / "many.csv"
    lines = ["name,status,lon,lat"] + [f"栓{i},broken,83.0,46.2" for i in range(700)]
    path.write_text("\n".join(lines), encoding="utf-8")
    err = expect_failure(gpkg_store, "hydrants", path)
    assert len(err.problems) == 500
    assert err.problems[0].row == 2 and "500" in err.message


def test_geopackage_layer_choice(gpkg_store: FeatureStore, tmp_path: Path) -> None:
    path = tmp_path / "two.gpkg"
    for layer in ("a", "b"):
        frame = gpd.GeoDataFrame(
            {"name": [f"点{layer}"], "status": ["ok"]},
            geometry=[shapely.Point(83, 46.2)],
            crs="EPSG:4326",
        )
        pyogrio.write_dataframe(frame, path, layer=layer)
    err = expect_failure(gpkg_store, "hydrants", path)
    assert "source_layer" in err.problems[0].message
    assert import_file(gpkg_store, "hydrants", path, ACTOR, source_layer="b").count == 1
    assert gpkg_store.query("hydrants").rows[0]["name"] == "点b"


# ---------------------------------------------------------------------- the catalogue mapping
def test_every_field_is_reachable_by_name_and_label() -> None:
    for layer in LAYERS:
        matcher = ColumnMatcher(layer.fields, layer.children)
        columns = [f.label for f in layer.fields] + [f.name.upper() for f in layer.fields]
        match = matcher.match(columns)
        assert not match.unknown, (layer.name, match.unknown)
        names = set(match.fields.values()) | {"id"}
        assert names == set(layer.field_names), layer.name


def test_short_names_are_unique_and_fit() -> None:
    for layer in LAYERS:
        names = short_names([*layer.field_names, *(c.name for c in layer.children)])
        shorts = [s.lower() for s in names.values()]
        assert len(set(shorts)) == len(shorts) and max(map(len, shorts)) <= 10


def test_dataframe_values_are_coerced() -> None:
    from safemap.layers.rows import coerce as _coerce

    layer = next(la for la in LAYERS if la.name == "townships")
    assert _coerce(layer.field("code"), 654225100) == "654225100"
    assert _coerce(layer.field("population"), 1200.0) == 1200
    assert _coerce(layer.field("population"), np.float64("nan")) is None
    assert _coerce(layer.field("population"), pd.NA) is None
