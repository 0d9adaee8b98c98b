"""Import of the files a Chinese county office holds: Excel, 奥维/Google Earth KML/KMZ, Excel's UTF-16 text.

Files are written the way the real tools write them (openpyxl for .xlsx, zipfile for a KMZ
with ``doc.kml``, UTF-16 LE with a BOM and tabs for Excel's "Unicode 文本"); positions must
come back exactly as written (0.00 m).
"""

from __future__ import annotations

import codecs
import datetime as dt
import zipfile
from pathlib import Path

import openpyxl
import pytest
from openpyxl.styles import Font

from safemap.layers.errors import ValidationFailed
from safemap.layers.model import Actor
from safemap.layers.store import FeatureStore
from safemap.layers.transfer import import_file

ACTOR = Actor("李应急", "admin")
HEADER = ["名称", "行业类别", "风险等级", "从业人员", "经度", "纬度"]
FIRMS = [
    ["裕民县永安加油站", "加油站", "黄", 12, 82.985123456789, 46.205123456789],
    ["裕民县天然气供应站", "加气站（CNG/LNG）", "橙", 8, 82.995000000001, 46.198765432101],
    ["裕民县宏达化工有限公司", "危化品经营（带储存）", "红", 35, 83.0012345678901, 46.2034567890123],
]


def features(store: FeatureStore, layer: str) -> dict[str, dict]:
    return {f["properties"]["name"]: f for f in store.query(layer, limit=None).features()}


def assert_same_position(got: list[float], want: tuple[float, float]) -> None:
    assert abs(got[0] - want[0]) <= 1e-9 and abs(got[1] - want[1]) <= 1e-9, (got, want)


def workbook(path: Path, rows: list[list], *, title: str = "企业名单", blank_rows_before: int = 0) -> Path:
    """A workbook as an office makes it: a title-less sheet, formatted empty rows after the data."""
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = title
    for _ in range(blank_rows_before):
        ws.append([])
    for row in rows:
        ws.append(row)
    for r in range(ws.max_row + 1, ws.max_row + 6):  # formatted but empty rows, as Excel keeps them
        ws.cell(row=r, column=1).font = Font(bold=True)
    wb.save(path)
    return path


def refused(store: FeatureStore, path: Path, **kw: object) -> str:
    with pytest.raises(ValidationFailed) as info:
        import_file(store, "enterprises", path, ACTOR, **kw)  # type: ignore[arg-type]
    return str(info.value) + " ".join(p.message for p in info.value.problems)


# ---------------------------------------------------------------------- Excel
def test_xlsx_with_chinese_headers_and_labels(gpkg_store: FeatureStore, tmp_path: Path) -> None:
    path = workbook(tmp_path / "企业台账.xlsx", [HEADER, *FIRMS], blank_rows_before=1)
    report = import_file(gpkg_store, "enterprises", path, ACTOR)
    assert report.count == 3 and report.format == "xlsx" and report.source_crs == "EPSG:4326"
    got = features(gpkg_store, "enterprises")
    for name, _industry, _risk, employees, lon, lat in FIRMS:
        p = got[name]["properties"]
        assert p["employees"] == employees and p["risk_level"] in ("yellow", "orange", "red")
        assert_same_position(got[name]["geometry"]["coordinates"], (lon, lat))
    assert got["裕民县宏达化工有限公司"]["properties"]["industry"] == "hazchem_storage"
    assert got["裕民县永安加油站"]["properties"]["risk_level"] == "yellow"


def test_xlsx_problems_carry_excel_row_numbers(gpkg_store: FeatureStore, tmp_path: Path) -> None:
    rows = [HEADER, FIRMS[0], ["坏数据", "加油站", "紫", 3, 82.99, 46.2], ["缺坐标", "加油站", "红", 1, None, 46.2]]
    path = workbook(tmp_path / "bad.xlsx", rows, blank_rows_before=2)  # header on Excel row 3
    with pytest.raises(ValidationFailed) as info:
        import_file(gpkg_store, "enterprises", path, ACTOR)
    rows_with_problems = {p.row for p in info.value.problems}
    assert rows_with_problems == {5, 6}, info.value.problems
    assert "第 5 行" in str(info.value)
    assert gpkg_store.query("enterprises", limit=None).rows == []


def test_xlsx_typed_cells_dates_and_wkt(gpkg_store: FeatureStore, tmp_path: Path) -> None:
    rows = [
        ["名称", "净宽(m)", "检查日期", "wkt"],
        ["园区消防车道", 4.5, dt.datetime(2024, 5, 1), "LINESTRING (83.0001 46.2001, 83.0021 46.2011)"],
    ]
    path = workbook(tmp_path / "车道.xlsx", rows, title="消防车道")
    assert import_file(gpkg_store, "fire_lanes", path, ACTOR).count == 1
    lane = features(gpkg_store, "fire_lanes")["园区消防车道"]
    assert (lane["properties"]["width_m"], lane["properties"]["inspected_at"]) == (4.5, dt.date(2024, 5, 1))
    assert [list(c) for c in lane["geometry"]["coordinates"]] == [[83.0001, 46.2001], [83.0021, 46.2011]]


def test_xlsx_sheet_choice(gpkg_store: FeatureStore, tmp_path: Path) -> None:
    path = tmp_path / "two.xlsx"
    wb = openpyxl.Workbook()
    first = wb.active
    assert first is not None
    first.title = "说明"
    first.append(["本表为裕民县企业台账"])
    second = wb.create_sheet("加油 站")
    for row in [HEADER, FIRMS[0]]:
        second.append(row)
    wb.save(path)
    message = refused(gpkg_store, path)  # the first sheet holds no coordinates
    assert "--lon" in message
    message = refused(gpkg_store, path, sheet="企业")
    assert "说明" in message and "加油 站" in message and "--sheet" in message
    report = import_file(gpkg_store, "enterprises", path, ACTOR, sheet="加油站")  # spaces ignored
    assert report.count == 1
    assert "只有 Excel" in refused(gpkg_store, _utf16_text(tmp_path / "a.txt"), sheet="加油站")


def test_xlsx_awkward_files(gpkg_store: FeatureStore, tmp_path: Path) -> None:
    assert "是空的" in refused(gpkg_store, workbook(tmp_path / "empty.xlsx", []))
    assert "只有表头" in refused(gpkg_store, workbook(tmp_path / "header.xlsx", [HEADER]))
    path = tmp_path / "merged.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["企业基本信息", None, None, "位置", None])
    ws.append(["名称", "行业类别", "风险等级", "经度", "纬度"])
    ws.append(["甲", "加油站", "黄", 83.0, 46.2])
    ws.merge_cells("A1:C1")
    ws.merge_cells("D1:E1")
    wb.save(path)
    message = refused(gpkg_store, path)
    assert "合并单元格" in message and "A1:C1" in message and "取消合并" in message
    ole2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)  # an Excel 97-2003 file's first sector
    for name in ("old.xls", "old.dat", "old"):
        (tmp_path / name).write_bytes(ole2)
        message = refused(gpkg_store, tmp_path / name)
        assert ".xls" in message and "另存为" in message and ".xlsx" in message


# ---------------------------------------------------------------------- KML / KMZ
OVITAL_KML = """<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2" xmlns:gx="http://www.google.com/kml/ext/2.2">
<Document>
  <name>裕民县调查点</name>
  <Style id="yellow"><IconStyle><color>ff00ffff</color><scale>1.1</scale></IconStyle></Style>
  <Schema name="企业" id="s1"><SimpleField name="从业人员" type="int"/></Schema>
  <Folder>
    <name>加油站</name>
    <Folder>
      <name>哈拉布拉镇</name>
      <Placemark>
        <name>裕民县永安加油站</name>
        <description><![CDATA[<!DOCTYPE html><html><b>2024年5月调查</b></html>]]></description>
        <styleUrl>#yellow</styleUrl>
        <ExtendedData>
          <Data name="行业类别"><value>加油站</value></Data>
          <Data name="风险等级"><value>黄</value></Data>
          <SchemaData schemaUrl="#s1"><SimpleData name="从业人员">12</SimpleData></SchemaData>
        </ExtendedData>
        <Point><coordinates>82.985123456789,46.205123456789,0</coordinates></Point>
      </Placemark>
    </Folder>
    <Placemark>
      <name>裕民县宏达化工有限公司</name>
      <ExtendedData>
        <Data name="行业类别"><value>危化品经营（带储存）</value></Data>
        <Data name="风险等级"><value>红</value></Data>
      </ExtendedData>
      <Point><coordinates>
        83.0012345678901,46.2034567890123,0
      </coordinates></Point>
    </Placemark>
  </Folder>
</Document>
</kml>
"""


def kmz(path: Path, kml: str = OVITAL_KML, member: str = "doc.kml") -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(member, kml.encode("utf-8"))
        zf.writestr("files/icon.png", b"\x89PNG\r\n\x1a\n")
    return path


def test_ovital_kmz_placemarks_in_folders(gpkg_store: FeatureStore, tmp_path: Path) -> None:
    report = import_file(gpkg_store, "enterprises", kmz(tmp_path / "调查点.kmz"), ACTOR)
    assert report.count == 2 and report.format == "kmz" and report.source_crs == "EPSG:4326"
    assert any("description" in w for w in report.warnings)  # enterprises have no such field
    got = features(gpkg_store, "enterprises")
    p = got["裕民县永安加油站"]["properties"]
    assert (p["industry"], p["risk_level"], p["employees"]) == ("fuel_station", "yellow", 12)
    assert_same_position(got["裕民县永安加油站"]["geometry"]["coordinates"], (82.985123456789, 46.205123456789))
    assert_same_position(got["裕民县宏达化工有限公司"]["geometry"]["coordinates"], (83.0012345678901, 46.2034567890123))


def test_kml_linestring_and_multigeometry(gpkg_store: FeatureStore, tmp_path: Path) -> None:
    coords = [(83.0001, 46.2001), (83.00123456789, 46.20123456789), (83.0031, 46.2011)]
    text = " ".join(f"{x},{y},0" for x, y in coords)
    path = tmp_path / "车道.kml"
    path.write_text(
        f"""<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://earth.google.com/kml/2.1"><Document><Folder><name>消防车道</name>
<Placemark><name>园区一号消防车道</name><LineString><tessellate>1</tessellate>
<coordinates>{text}</coordinates></LineString></Placemark>
<Placemark><name>园区二号消防车道</name><MultiGeometry>
<LineString><coordinates>83.01,46.21 83.011,46.21</coordinates></LineString>
<LineString><coordinates>83.012,46.21 83.013,46.211</coordinates></LineString>
</MultiGeometry></Placemark></Folder></Document></kml>""",
        encoding="utf-8",
    )
    report = import_file(gpkg_store, "fire_lanes", path, ACTOR)
    assert report.format == "kml" and report.count == 3  # the two-part line is split, as for shapefiles
    lane = features(gpkg_store, "fire_lanes")["园区一号消防车道"]["geometry"]
    assert lane["type"] == "LineString" and len(lane["coordinates"]) == 3
    for got, want in zip(lane["coordinates"], coords, strict=True):
        assert_same_position(got, want)


def test_kml_hostile_or_empty(gpkg_store: FeatureStore, tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.kml"
    bomb.write_text(
        '<?xml version="1.0"?><!DOCTYPE kml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
        "<kml><Placemark><name>&b;</name></Placemark></kml>",
        encoding="utf-8",
    )
    assert "DOCTYPE" in refused(gpkg_store, bomb)
    empty = tmp_path / "empty.kml"
    empty.write_text('<kml xmlns="http://www.opengis.net/kml/2.2"><Document/></kml>', encoding="utf-8")
    assert "Placemark" in refused(gpkg_store, empty)
    broken = tmp_path / "broken.kmz"
    broken.write_bytes(b"PK\x03\x04 truncated")
    assert "zip" in refused(gpkg_store, broken)


# ---------------------------------------------------------------------- UTF-16 text
def _utf16_text(path: Path, *, bom: bool = True, lon: str = "经度", lat: str = "纬度") -> Path:
    """A sheet saved by Excel as "Unicode 文本": UTF-16 LE with a BOM, tabs, CRLF, quotes where needed."""
    lines = ["\t".join(["名称", "行业类别", "风险等级", lon, lat])]
    lines.append('"裕民县""永安""加油站"\t加油站\t黄\t82.985123456789\t46.205123456789')
    lines.append("裕民县宏达化工有限公司\t危化品经营（带储存）\t红\t83.0012345678901\t46.2034567890123")
    data = ("\r\n".join(lines) + "\r\n").encode("utf-16-le")
    path.write_bytes((codecs.BOM_UTF16_LE if bom else b"") + data)
    return path


@pytest.mark.parametrize("bom", [True, False])
def test_excel_unicode_text(gpkg_store: FeatureStore, tmp_path: Path, bom: bool) -> None:
    path = _utf16_text(tmp_path / "企业.txt", bom=bom, lon="东经", lat="北纬")
    report = import_file(gpkg_store, "enterprises", path, ACTOR)
    assert report.count == 2 and not any("GBK" in w for w in report.warnings)
    got = features(gpkg_store, "enterprises")
    assert_same_position(got['裕民县"永安"加油站']["geometry"]["coordinates"], (82.985123456789, 46.205123456789))
    assert_same_position(got["裕民县宏达化工有限公司"]["geometry"]["coordinates"], (83.0012345678901, 46.2034567890123))


# ---------------------------------------------------------------------- file type by content
def test_type_by_content_not_suffix(gpkg_store: FeatureStore, tmp_path: Path) -> None:
    book = workbook(tmp_path / "real.xlsx", [HEADER, FIRMS[0]])
    for name in ("企业台账.zip", "企业台账", "企业台账.csv"):
        (tmp_path / name).write_bytes(book.read_bytes())
        assert import_file(gpkg_store, "enterprises", tmp_path / name, ACTOR, dry_run=True).format == "xlsx"
    for name in ("调查点.zip", "调查点"):
        report = import_file(gpkg_store, "enterprises", kmz(tmp_path / name, member="调查点.kml"), ACTOR, dry_run=True)
        assert report.format == "kmz" and report.count == 2
    kml = tmp_path / "调查点.xml"
    kml.write_bytes(codecs.BOM_UTF8 + OVITAL_KML.encode("utf-8"))
    assert import_file(gpkg_store, "enterprises", kml, ACTOR, dry_run=True).format == "kml"
    utf16 = tmp_path / "企业"
    utf16.write_bytes(_utf16_text(tmp_path / "u.txt").read_bytes())
    assert import_file(gpkg_store, "enterprises", utf16, ACTOR, dry_run=True).format == "csv"


def test_zip_with_neither_lists_what_it_holds(gpkg_store: FeatureStore, tmp_path: Path) -> None:
    path = tmp_path / "资料.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("说明.docx", b"x")
        zf.writestr("企业.csv", "名称,经度,纬度\n")
    message = refused(gpkg_store, path)
    assert "说明.docx" in message and "企业.csv" in message
    assert all(kind in message for kind in ("Shapefile", ".xlsx", "KML", "CSV", "GeoJSON", "GeoPackage"))
    (tmp_path / "notes.doc2").write_text("随便写的", encoding="utf-8")
    message = refused(gpkg_store, tmp_path / "notes.doc2")
    assert "无法识别文件格式" in message and ".xlsx" in message and "KML" in message


# ---------------------------------------------------------------------- coordinate headers
@pytest.mark.parametrize(
    ("lon", "lat"),
    [
        ("经度", "纬度"),
        ("东经", "北纬"),
        ("经度(°)", "纬度（度）"),
        ("经度 （°）", "纬度 [度]"),
        ("lng", "lat"),
        ("Longitude", "Latitude"),
        ("X", "Y"),
        ("ＬＯＮ", "ＬＡＴ"),  # full-width
        (" 经 度 ", "纬度 "),
        ("POINT_X", "POINT_Y"),
    ],
)
def test_coordinate_headers_as_people_write_them(gpkg_store: FeatureStore, tmp_path: Path, lon: str, lat: str) -> None:
    path = tmp_path / "a.csv"
    path.write_text(f"名称,行业类别,风险等级,{lon},{lat}\n甲,加油站,黄,82.985123456789,46.205123456789\n", "utf-8")
    report = import_file(gpkg_store, "enterprises", path, ACTOR)
    assert report.count == 1
    got = features(gpkg_store, "enterprises")["甲"]["geometry"]["coordinates"]
    assert_same_position(got, (82.985123456789, 46.205123456789))


def test_missing_coordinate_columns_name_the_options(gpkg_store: FeatureStore, tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("名称,行业类别,风险等级,位置E,位置N\n甲,加油站,黄,82.98,46.2\n", "utf-8")
    message = refused(gpkg_store, path)
    assert "--lon" in message and "--lat" in message and "位置E" in message
    report = import_file(gpkg_store, "enterprises", path, ACTOR, lon_field="位置E", lat_field="位置N")
    assert report.count == 1
    message = refused(gpkg_store, path, lon_field="经度", lat_field="位置N")
    assert "--lon" in message and "经度" in message
