"""Import of files as a Chinese county office holds them (issue 15): truncated Chinese shapefile
columns, enum values as people write them, and CRS mistakes diagnosed with the ``--crs`` that fits."""

from __future__ import annotations

import csv
import subprocess
import warnings
import zipfile
from pathlib import Path
from shutil import which

import geopandas as gpd
import pyogrio
import pytest
import shapely
from pyproj import Transformer

from safemap.layers import enums, paths
from safemap.layers.checks import credit_code_check_char
from safemap.layers.columns import ColumnMatcher, byte_truncations
from safemap.layers.definitions import get_layer
from safemap.layers.errors import ValidationFailed
from safemap.layers.model import Actor
from safemap.layers.schemas import ENUM_SYNONYMS_CSV, enum_code, enum_synonyms, value_from_text
from safemap.layers.store import FeatureStore
from safemap.layers.transfer import import_file

ACTOR = Actor("李应急", "admin")
CREDIT = "91654225MA7" + "ABC12A"
CREDIT += credit_code_check_char(CREDIT)
YUMIN = (82.98, 46.2)  # near the county seat


def enterprises_frame() -> gpd.GeoDataFrame:
    """An enterprise list with Chinese headers as a county office keeps it."""
    return gpd.GeoDataFrame(
        {
            "名称": ["裕民县宏达化工有限公司", "裕民县加油站"],
            "统一社会信用代码": [CREDIT, None],
            "行业类别": ["危险化学品经营（带储存）", "加油站"],
            "风险等级": ["重大风险", "橙(较大风险)"],
            "从业人员 (人)": [35, 6],
        },
        geometry=[shapely.Point(*YUMIN), shapely.Point(82.99, 46.21)],
        crs="EPSG:4326",
    )


def write_zip(folder: Path, target: Path, *, cpg: bool) -> Path:
    if not cpg:
        for f in folder.glob("*.cpg"):
            f.unlink()
    with zipfile.ZipFile(target, "w") as zf:
        for f in sorted(folder.iterdir()):
            zf.write(f, f"数据/{f.name}")
    return target


def pyogrio_shapefile(tmp_path: Path, encoding: str, *, cpg: bool, frame: gpd.GeoDataFrame | None = None) -> Path:
    folder = tmp_path / f"shp-{encoding}-{cpg}"
    folder.mkdir()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # GDAL: names laundered to 10 bytes
        pyogrio.write_dataframe(enterprises_frame() if frame is None else frame, folder / "企业.shp", encoding=encoding)
    return write_zip(folder, tmp_path / f"企业-{encoding}-{cpg}.zip", cpg=cpg)


def dbf_names(zip_path: Path) -> list[bytes]:
    with zipfile.ZipFile(zip_path) as zf:
        data = zf.read(next(n for n in zf.namelist() if n.endswith(".dbf")))
    header_len = int.from_bytes(data[8:10], "little")
    return [data[i : i + 11].split(b"\0")[0] for i in range(32, header_len - 1, 32)]


def assert_enterprises(store: FeatureStore) -> None:
    got = {f["properties"]["name"]: f for f in store.query("enterprises", limit=None).features()}
    first = got["裕民县宏达化工有限公司"]["properties"]
    assert first["credit_code"] == CREDIT
    assert first["risk_level"] == "red" and first["industry"] == "hazchem_storage"
    assert first["employees"] == 35
    assert got["裕民县加油站"]["properties"]["risk_level"] == "orange"
    assert got["裕民县加油站"]["properties"]["employees"] == 6
    assert got["裕民县宏达化工有限公司"]["geometry"]["coordinates"] == pytest.approx(list(YUMIN), abs=1e-9)


# ---------------------------------------------------------------------- truncated columns
@pytest.mark.parametrize("cpg", [True, False], ids=["cpg", "no-cpg"])
@pytest.mark.parametrize("encoding", ["GBK", "UTF-8"])
def test_shapefile_with_chinese_columns_cut_to_10_bytes(
    gpkg_store: FeatureStore, tmp_path: Path, encoding: str, cpg: bool
) -> None:
    path = pyogrio_shapefile(tmp_path, encoding, cpg=cpg)
    names = dbf_names(path)
    cut = "统一社会信".encode("gbk") if encoding == "GBK" else "统一社".encode() + b"\xe4"
    assert cut in names  # GDAL cut the name by bytes (in UTF-8 mid-character)
    report = import_file(gpkg_store, "enterprises", path, ACTOR)
    assert report.count == 2
    assert_enterprises(gpkg_store)


@pytest.mark.skipif(which("ogr2ogr") is None, reason="Debian gdal-bin not installed")
@pytest.mark.parametrize("cpg", [True, False], ids=["cpg", "no-cpg"])
def test_shapefile_from_debian_ogr2ogr_gbk(gpkg_store: FeatureStore, tmp_path: Path, cpg: bool) -> None:
    source = tmp_path / "企业.geojson"
    enterprises_frame().to_file(source, driver="GeoJSON")
    folder = tmp_path / "ogr"
    folder.mkdir()
    subprocess.run(
        ["ogr2ogr", "-q", "-f", "ESRI Shapefile", "-lco", "ENCODING=GBK", str(folder / "企业.shp"), str(source)],
        check=True,
        capture_output=True,
    )
    path = write_zip(folder, tmp_path / "企业.zip", cpg=cpg)
    assert "统一社会信".encode("gbk") in dbf_names(path)
    assert import_file(gpkg_store, "enterprises", path, ACTOR).count == 2
    assert_enterprises(gpkg_store)


def test_cut_name_fitting_two_fields_is_reported_naming_both(gpkg_store: FeatureStore, tmp_path: Path) -> None:
    frame = gpd.GeoDataFrame(
        {"名称": ["园区消防车道"], "回车场长度 (m)": [12.0]},
        geometry=[shapely.LineString([(83.0, 46.2), (83.001, 46.2)])],
        crs="EPSG:4326",
    )
    path = pyogrio_shapefile(tmp_path, "UTF-8", cpg=True, frame=frame)
    with pytest.raises(ValidationFailed) as info:
        import_file(gpkg_store, "fire_lanes", path, ACTOR)
    problem = next(p for p in info.value.problems if p.field == "回车场")
    assert "turnaround_length_m（回车场长度）" in problem.message
    assert "turnaround_width_m（回车场宽度）" in problem.message
    assert gpkg_store.query("fire_lanes", limit=None).features() == []


def test_column_matcher_cuts_labels_by_bytes() -> None:
    assert byte_truncations("统一社会信用代码") == {"统一社会信", "统一社"}
    assert byte_truncations("名称") == set()
    layer = get_layer("enterprises")
    match = ColumnMatcher(layer.fields, truncated=True).match(["统一社会信", "从业人员 (", "风险等级"])
    assert match.fields == {"统一社会信": "credit_code", "从业人员 (": "employees", "风险等级": "risk_level"}
    # Only shapefiles cut names: a CSV column 统一社会信 is not guessed.
    assert ColumnMatcher(layer.fields).match(["统一社会信"]).unknown == ["统一社会信"]
    lanes = get_layer("fire_lanes")
    ambiguous = ColumnMatcher(lanes.fields, truncated=True).match(["回车场"]).ambiguous
    assert ambiguous == {"回车场": ["turnaround_length_m", "turnaround_width_m"]}


# ---------------------------------------------------------------------- enum values
@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("重大风险", "red"),
        ("较大风险", "orange"),
        ("一般风险", "yellow"),
        ("低风险", "blue"),
        ("红色", "red"),
        ("红", "red"),
        ("红(重大风险)", "red"),
        ("红（重大风险）", "red"),
        (" 蓝（低风险） ", "blue"),
        ("黄 (一般风险)", "yellow"),
        ("红色【重大风险】", "red"),
        ("ＲＥＤ", "red"),
        ("Orange", "orange"),
    ],
)
def test_risk_level_as_people_write_it(text: str, code: str) -> None:
    assert enum_code(enums.RISK_LEVEL, text) == code
    assert value_from_text(get_layer("enterprises").field("risk_level"), text) == code


def test_unknown_or_contradictory_enum_values_are_refused_with_the_labels() -> None:
    assert enum_code(enums.RISK_LEVEL, "红(较大风险)") is None  # word and gloss disagree: not guessed
    for text in ("紫色", "红(较大风险)"):
        with pytest.raises(ValueError, match=r"可选：红（重大风险）（red）"):
            value_from_text(get_layer("enterprises").field("risk_level"), text)


def test_enum_synonyms_are_data_and_each_names_its_own_member() -> None:
    by_name = {v.name: v for v in vars(enums).values() if isinstance(v, enums.EnumType)}
    with (paths.DATA_DIR / ENUM_SYNONYMS_CSV).open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert rows and set(rows[0]) == {"enum", "synonym", "code", "source", "note"}
    for row in rows:
        enum = by_name[row["enum"]]
        assert row["code"] in enum.codes, row
        assert row["source"], row
        # No synonym is shadowed by (or contradicts) the catalogue's own spellings.
        assert enum_code(enum, row["synonym"]) == row["code"], row
    assert enum_synonyms()["risk_level"]["重大风险"] == "red"
    assert enum_code(enums.HYDRANT_STATUS, "正常") == "ok"
    assert enum_code(enums.ROAD_STATUS, "封闭") == "closed"


def test_csv_with_enum_synonyms_imports_and_unknown_is_refused(gpkg_store: FeatureStore, tmp_path: Path) -> None:
    path = tmp_path / "企业.csv"
    path.write_text(
        "名称,行业类别,风险等级,经度,纬度\n"
        "甲,危险化学品使用, 红(重大风险) ,82.98,46.2\n"
        "乙,工贸,较大风险,82.98,46.2\n"
        "丙,加油站,蓝色,82.98,46.2\n",
        encoding="gbk",
    )
    import_file(gpkg_store, "enterprises", path, ACTOR)
    got = {f["properties"]["name"]: f["properties"] for f in gpkg_store.query("enterprises", limit=None).features()}
    assert {n: p["risk_level"] for n, p in got.items()} == {"甲": "red", "乙": "orange", "丙": "blue"}
    assert got["甲"]["industry"] == "hazchem_use" and got["乙"]["industry"] == "industry_trade"
    bad = tmp_path / "bad.csv"
    bad.write_text("名称,行业类别,风险等级,经度,纬度\n丁,其他,紫色,82.98,46.2\n", encoding="utf-8")
    with pytest.raises(ValidationFailed) as info:
        import_file(gpkg_store, "enterprises", bad, ACTOR)
    message = next(p.message for p in info.value.problems if p.field == "properties.risk_level")
    assert "紫色" in message and "红（重大风险）" in message


# ---------------------------------------------------------------------- CRS diagnosis
POINTS = [(82.98, 46.2), (82.75, 46.05), (83.3, 46.4)]


def gk(epsg: int) -> list[tuple[float, float]]:
    to = Transformer.from_crs(4326, epsg, always_xy=True)
    return [to.transform(lon, lat) for lon, lat in POINTS]


def gk_csv(tmp_path: Path, name: str, rows: list[tuple[float, float]]) -> Path:
    path = tmp_path / name
    lines = ["名称,行业类别,风险等级,X,Y"]
    lines += [f"点{i},其他,蓝,{x!r},{y!r}" for i, (x, y) in enumerate(rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def import_error(store: FeatureStore, path: Path, **kw: object) -> str:
    with pytest.raises(ValidationFailed) as info:
        import_file(store, "enterprises", path, ACTOR, **kw)
    assert store.query("enterprises", limit=None).features() == []
    return info.value.problems[0].message


def assert_lands_on_source(store: FeatureStore, epsg: int, rows: list[tuple[float, float]]) -> None:
    """Stored positions, projected back to the file's CRS, are the file's numbers (0.00 m)."""
    back = Transformer.from_crs(4326, epsg, always_xy=True)
    got = {f["properties"]["name"]: f["geometry"]["coordinates"] for f in store.query("enterprises").features()}
    for i, (x, y) in enumerate(rows):
        bx, by = back.transform(*got[f"点{i}"])
        assert abs(bx - x) < 1e-6 and abs(by - y) < 1e-6, (bx - x, by - y)
        lon, lat = got[f"点{i}"]
        assert abs(lon - POINTS[i][0]) < 1e-9 and abs(lat - POINTS[i][1]) < 1e-9


def test_epsg_codes_of_the_yumin_zone() -> None:
    from pyproj import CRS

    assert CRS.from_epsg(4516).name == "CGCS2000 / 3-degree Gauss-Kruger zone 28"
    assert CRS.from_epsg(4537).name == "CGCS2000 / 3-degree Gauss-Kruger CM 84E"
    assert gk(4516)[0][0] - gk(4537)[0][0] == pytest.approx(28_000_000)


def test_zone_prefix_read_as_unprefixed_names_the_prefixed_crs(gpkg_store: FeatureStore, tmp_path: Path) -> None:
    rows = gk(4516)
    assert 28_000_000 < rows[0][0] < 29_000_000
    path = gk_csv(tmp_path, "prefixed.csv", rows)
    message = import_error(gpkg_store, path, crs="EPSG:4537")
    assert "带号 28" in message and "--crs EPSG:4516" in message and "crs=EPSG:4516" in message
    assert "第28带" in message and "NaN" not in message
    import_file(gpkg_store, "enterprises", path, ACTOR, crs="EPSG:4516")
    assert_lands_on_source(gpkg_store, 4516, rows)


@pytest.mark.parametrize(("epsg", "suggested"), [(4516, "EPSG:4516"), (4537, "EPSG:4537")])
def test_metres_without_a_crs_suggest_the_zone(
    gpkg_store: FeatureStore, tmp_path: Path, epsg: int, suggested: str
) -> None:
    rows = gk(epsg)
    path = gk_csv(tmp_path, f"gk{epsg}.csv", rows)
    message = import_error(gpkg_store, path)
    assert "没有声明坐标系" in message and f"--crs {suggested}" in message, message
    import_file(gpkg_store, "enterprises", path, ACTOR, crs=suggested)
    assert_lands_on_source(gpkg_store, epsg, rows)


@pytest.mark.parametrize("epsg", [4537, 4516])
def test_surveyors_x_north_y_east_is_detected(gpkg_store: FeatureStore, tmp_path: Path, epsg: int) -> None:
    rows = gk(epsg)
    path = gk_csv(tmp_path, "swapped.csv", [(y, x) for x, y in rows])  # X = north, Y = east
    message = import_error(gpkg_store, path, crs=f"EPSG:{epsg}")
    assert "颠倒" in message and "--lon" in message and "--lat" in message, message
    assert "NaN" not in message
    import_file(gpkg_store, "enterprises", path, ACTOR, crs=f"EPSG:{epsg}", lon_field="Y", lat_field="X")
    assert_lands_on_source(gpkg_store, epsg, rows)


def test_swapped_metres_without_a_crs_name_both_fixes(gpkg_store: FeatureStore, tmp_path: Path) -> None:
    rows = gk(4516)
    path = gk_csv(tmp_path, "swapped.csv", [(y, x) for x, y in rows])
    message = import_error(gpkg_store, path)
    assert "--crs EPSG:4516" in message and "对调" in message, message


def test_prefixed_shapefile_with_the_wrong_prj(gpkg_store: FeatureStore, tmp_path: Path) -> None:
    rows = gk(4516)
    frame = gpd.GeoDataFrame(
        {"name": [f"点{i}" for i in range(3)], "industry": ["other"] * 3, "risk_level": ["blue"] * 3},
        geometry=[shapely.Point(x, y) for x, y in rows],
        crs="EPSG:4537",  # the .prj says no prefix, the numbers have it
    )
    folder = tmp_path / "shp"
    folder.mkdir()
    pyogrio.write_dataframe(frame, folder / "企业.shp")
    path = write_zip(folder, tmp_path / "企业.zip", cpg=True)
    message = import_error(gpkg_store, path)
    assert "--crs EPSG:4516" in message, message
    import_file(gpkg_store, "enterprises", path, ACTOR, crs="EPSG:4516")
    assert_lands_on_source(gpkg_store, 4516, rows)


def test_good_coordinates_and_stray_rows_are_not_diagnosed(gpkg_store: FeatureStore, tmp_path: Path) -> None:
    rows = gk(4537)
    path = gk_csv(tmp_path, "good.csv", rows)
    assert import_file(gpkg_store, "enterprises", path, ACTOR, crs="EPSG:4537").count == 3
    # One bad row among good ones is that row's problem, not the file's CRS.
    lines = [
        "名称,行业类别,风险等级,经度,纬度",
        "甲,其他,蓝,82.98,46.2",
        "乙,其他,蓝,82.9,46.1",
        "丙,其他,蓝,500000,46.1",
    ]
    stray = tmp_path / "stray.csv"
    stray.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ValidationFailed) as info:
        import_file(gpkg_store, "enterprises", stray, ACTOR)
    assert [p.row for p in info.value.problems] == [4]
