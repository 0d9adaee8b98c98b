"""Reading import files into raw rows; GeoJSON and GeoPackage here.

Zipped shapefiles are read by :mod:`layers.shapefiles`, CSV and text files by
:mod:`layers.csvfiles`, Excel workbooks by :mod:`layers.xlsxfiles`, KML/KMZ by
:mod:`layers.kmlfiles`; all return a :class:`RawTable`. :func:`detect_format` tells
them apart by content.

Readers only read: they return every row's raw values keyed by the file's column
names, its geometry (shapely, in the file's own coordinates) and the CRS the file
declares. Matching columns to the catalogue, reprojection, GCJ-02 conversion and
validation happen in :mod:`layers.transfer`.

A file that cannot be read at all raises :class:`~layers.errors.ValidationFailed` with
one problem on the field ``file`` and a Chinese reason. Problems of single rows (a
geometry that does not parse, a CSV record with too many cells) are collected in
:attr:`RawTable.problems` so that the whole file is still checked.

Row numbers are 1-based feature numbers (KML: placemark numbers), except in CSV files
where they are the line number in the file (the header is line 1, so the first record is
normally line 2) and in Excel workbooks where they are Excel's row numbers.
"""

from __future__ import annotations

import codecs
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pyogrio
from pyproj import CRS
from shapely.geometry import shape

from safemap.layers.columns import normalise
from safemap.layers.errors import Problem, ValidationFailed

SUFFIXES = {
    ".geojson": "geojson",
    ".json": "geojson",
    ".gpkg": "gpkg",
    ".zip": "shapefile",
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".kml": "kml",
    ".kmz": "kmz",
}
"""File suffix -> format name."""


@dataclass
class RawChildTable:
    """Rows of one child table read from a file, linked to parents by ``parent_id``."""

    columns: list[str]
    records: list[dict[str, Any]]
    parent_ids: list[Any]


@dataclass
class RawTable:
    """What a reader found in a file (see the module docstring).

    Attributes
    ----------
    format
        ``geojson``, ``gpkg``, ``shapefile``, ``csv``, ``xlsx``, ``kml`` or ``kmz``.
    columns
        Attribute column names in file order (GeoJSON: every property key seen).
    rows
        Row number of each record (feature number; CSV line number; Excel row number).
    records
        Column -> raw value, one dict per row.
    geometries
        Shapely geometry per row in the file's coordinates, or ``None``.
    crs
        CRS the file declares (``None``: undeclared).
    crs_text
        A GeoJSON ``crs`` member's name, as written.
    keys
        The row's ``id`` (or GeoPackage FID) that child tables' ``parent_id`` refer to.
    children
        Child table name -> its rows.
    problems
        Problems of single rows found while reading.
    warnings
        Things worth telling the user (Chinese).
    bad_geometry
        Row numbers whose geometry could not be read (already in ``problems``).
    short_names
        From a shapefile zip's ``fields.txt``: table -> {short name: field name}.
    consumed
        Columns used for geometry (CSV/Excel lon/lat or WKT), not attributes.
    """

    format: str
    columns: list[str]
    rows: list[int]
    records: list[dict[str, Any]]
    geometries: list[Any]
    crs: CRS | None = None
    crs_text: str | None = None
    keys: list[Any] | None = None
    children: dict[str, RawChildTable] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    bad_geometry: set[int] = field(default_factory=set)
    short_names: dict[str, dict[str, str]] = field(default_factory=dict)
    consumed: set[str] = field(default_factory=set)


def fail(reason: str) -> ValidationFailed:
    """Return the error for a file that cannot be read (field ``file``)."""
    return ValidationFailed(f"file: {reason}", [Problem("file", reason)])


def scrub_path(text: str, path: Path, shown: str, *, vsi: str | None = None, member: str | None = None) -> str:
    """``text`` (a GDAL message) with the file's server path replaced by ``shown``, its own name.

    Uploads are stored under a server folder whose path must not reach the client; a zip
    member's GDAL path (``/vsizip/<path>/<member>``) becomes ``<shown>/<member>``.
    """
    inside = f"{shown}/{member}" if member else shown
    for full, replacement in ((vsi, inside), (str(path.resolve()), shown), (str(path), shown)):
        if full:
            text = text.replace(full, replacement)
    for folder in {str(path.resolve().parent), str(path.parent)} - {"", "."}:
        text = text.replace(folder + "/", "").replace(folder, "")
    return text.replace("/vsizip/", "")


def detect_format(path: Path) -> str:
    """Return the format of ``path``, from its content where that tells, else from its suffix.

    A zip (``PK``) is looked into: a ``.shp`` member makes it a zipped shapefile,
    ``xl/workbook.xml`` an Excel workbook (``xlsx``), a ``.kml`` member a ``kmz``; any other
    zip is refused listing what it holds. ``SQLite format 3`` is a GeoPackage; an old
    binary Office file (.xls) is refused with how to save it as .xlsx. Text starting with
    ``<?xml``/``<kml`` (UTF-8 or UTF-16) is KML; otherwise the suffix decides, and
    without a known one ``{``/``[`` means GeoJSON and a UTF-16 BOM delimited text.
    """
    suffix = path.suffix.lower()
    with path.open("rb") as fh:
        head = fh.read(4096)
    if head.startswith(b"PK"):
        return _zip_format(path)
    if head.startswith(b"SQLite format 3"):
        return "gpkg"
    if head.startswith(OLE2_MAGIC) or suffix == ".xls":
        raise fail(XLS_REFUSED)
    if _looks_like_kml(head):
        return "kml"
    fmt = SUFFIXES.get(suffix)
    if fmt and fmt not in ("shapefile", "xlsx", "kmz"):  # a zip is known by its content
        return fmt
    if head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"{", b"["):
        return "geojson"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "csv"
    if fmt in ("shapefile", "xlsx", "kmz"):
        raise fail(
            f"{path.name} 不是有效的 zip 文件（{suffix} 应是 zip 压缩格式；文件可能不完整或已损坏）。{SUPPORTED}"
        )
    raise fail(f"无法识别文件格式 {path.suffix or '(无扩展名)'}。{SUPPORTED}")


SUPPORTED = (
    "支持的文件：GeoJSON（.geojson/.json）、GeoPackage（.gpkg）、Shapefile（.shp/.shx/.dbf/.prj 打包为 .zip）、"
    "Excel 工作簿（.xlsx）、CSV 或文本（.csv/.txt/.tsv，UTF-8、GBK 或 Unicode/UTF-16）、KML/KMZ（奥维、Google Earth）"
)
"""The supported kinds of file, for messages (Chinese)."""
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
"""First bytes of an old binary Office file (.xls, .doc, WPS .et)."""
XLS_REFUSED = (
    "这是旧版 Excel 97-2003 工作簿（.xls），无法直接导入；请在 Excel 或 WPS 中"
    "“另存为” Excel 工作簿（.xlsx）或 CSV（UTF-8）后再导入"
)
"""Why an .xls is refused and what to do (Chinese)."""


def _looks_like_kml(head: bytes) -> bool:
    text = head
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = head.decode("utf-16", errors="ignore").encode("utf-8")
    text = text.removeprefix(codecs.BOM_UTF8).lstrip()
    if text.startswith(b"<kml"):
        return True
    return text.startswith(b"<?xml") and b"<kml" in text


def _zip_format(path: Path) -> str:
    """``shapefile``, ``xlsx`` or ``kmz`` from a zip's member names (its directory only)."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = [n for n in zf.namelist() if not n.endswith("/") and not n.startswith("__MACOSX/")]
    except (zipfile.BadZipFile, OSError):
        raise fail(
            "不是有效的 zip 文件（文件以 PK 开头但无法解压，可能不完整或已损坏；"
            "Shapefile 请将 .shp、.shx、.dbf、.prj、.cpg 打包为 zip）"
        ) from None
    lower = [n.lower() for n in names]
    if any(n.endswith(".shp") for n in lower):
        return "shapefile"
    if "xl/workbook.xml" in lower:
        return "xlsx"
    if any(n.endswith(".kml") for n in lower):
        return "kmz"
    shown = "、".join(names[:10]) + (f" 等 {len(names)} 个文件" if len(names) > 10 else "") if names else "（空）"
    raise fail(
        f"{path.name} 是 zip 压缩包，但其中既没有 Shapefile（.shp），也没有 KML（.kml），也不是 Excel 工作簿；"
        f"压缩包内有：{shown}。{SUPPORTED}"
    )


# ---------------------------------------------------------------------- GeoJSON
def read_geojson(path: Path) -> RawTable:
    """Read a FeatureCollection, a single Feature or a bare array of Features.

    Parameters
    ----------
    path
        GeoJSON file, UTF-8 (a BOM is tolerated). Coordinates are lon/lat degrees
        (RFC 7946) unless a legacy ``crs`` member names another CRS.

    Returns
    -------
    RawTable
        Properties as parsed, so child rows travel as arrays of objects; rows are
        feature numbers from 1.
    """
    data = path.read_bytes().removeprefix(codecs.BOM_UTF8)
    if not data.strip():
        raise fail("文件是空的")
    try:
        obj = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise fail(f"不是有效的 JSON：{exc}") from None
    crs_text = None
    features: object  # narrowed to a list in each branch below
    if isinstance(obj, list):
        features = obj
    elif isinstance(obj, dict) and obj.get("type") == "FeatureCollection":
        features = obj.get("features")
        if not isinstance(features, list):
            raise fail("FeatureCollection 缺少 features 数组")
        crs_text = _crs_member(obj.get("crs"))
    elif isinstance(obj, dict) and obj.get("type") == "Feature":
        features = [obj]
        crs_text = _crs_member(obj.get("crs"))
    else:
        raise fail("不是 GeoJSON 要素集合：顶层应为 FeatureCollection、Feature 或 Feature 数组")
    raw = RawTable("geojson", [], [], [], [], crs_text=crs_text)
    columns: dict[str, None] = {}
    for i, feat in enumerate(features, start=1):
        raw.rows.append(i)
        props: Any = feat.get("properties") if isinstance(feat, dict) else None
        if not isinstance(feat, dict) or feat.get("type") != "Feature":
            raw.problems.append(Problem("feature", "应为 GeoJSON Feature 对象", i))
            props = {}
        elif props is None:
            props = {}
        elif not isinstance(props, dict):
            raw.problems.append(Problem("properties", "应为对象", i))
            props = {}
        columns.update(dict.fromkeys(props))
        raw.records.append(props)
        geometry = feat.get("geometry") if isinstance(feat, dict) else None
        raw.geometries.append(_parse_geojson_geometry(geometry, i, raw))
    raw.columns = list(columns)
    return raw


def _crs_member(crs: Any) -> str | None:
    if crs is None:
        return None
    props = crs.get("properties") if isinstance(crs, dict) else None
    name = props.get("name") if isinstance(props, dict) else None
    if not isinstance(name, str) or not name.strip():
        raise fail('GeoJSON 的 crs 成员无法识别（应为 {"type": "name", "properties": {"name": …}}）')
    return name.strip()


def _parse_geojson_geometry(geometry: Any, row: int, raw: RawTable) -> Any:
    if geometry is None:
        return None
    if not isinstance(geometry, dict) or "type" not in geometry:
        raw.problems.append(Problem("geometry", "应为 GeoJSON 几何对象", row))
    else:
        try:
            return shape(geometry)
        except Exception as exc:  # shapely raises several types for malformed coordinates
            raw.problems.append(Problem("geometry", f"无法解析几何坐标：{exc}", row))
    raw.bad_geometry.add(row)
    return None


# ---------------------------------------------------------------------- GeoPackage
def read_gpkg(
    path: Path, layer_name: str, child_names: Sequence[str], source_layer: str | None, *, spatial: bool = True
) -> RawTable:
    """Read one feature table of a GeoPackage, and its SafeMap child tables if present.

    Parameters
    ----------
    path
        GeoPackage file (a SafeMap export, a SafeMap store, or any other).
    layer_name
        SafeMap layer being imported: the default table to read.
    child_names
        The layer's child tables, looked for as attribute tables ``<table>__<child>``
        with a ``parent_id`` column referring to the table's ``id`` column (or FID).
    source_layer
        Table to read; default the one named ``layer_name``, else the only one.

    Returns
    -------
    RawTable
        Rows numbered from 1 in FID order; ``crs`` from the table's SRS.
    """
    try:
        listed = pyogrio.list_layers(path)
    except Exception as exc:  # GDAL raises DataSourceError subclasses
        raise fail(f"无法打开 GeoPackage {path.name}：{scrub_path(str(exc), path, path.name)}") from None
    names = [str(n) for n, _ in listed]
    # An attribute table (no geometry) is read from the non-spatial tables instead.
    candidates = [str(n) for n, g in listed if (g is not None) == spatial and "__" not in str(n)]
    table = choose(source_layer, layer_name, candidates, names, "GeoPackage 图层")
    try:
        frame = pyogrio.read_dataframe(path, layer=table, fid_as_index=True, read_geometry=spatial)
    except Exception as exc:
        raise fail(f"无法读取 GeoPackage 图层 {table}：{scrub_path(str(exc), path, path.name)}") from None
    if not spatial:
        import geopandas as gpd

        # An object array of None: the stubs accept no None in a geometry list.
        frame = gpd.GeoDataFrame(frame, geometry=np.full(len(frame), None, dtype=object))
    raw = from_frame("gpkg", frame)
    if raw.keys is None:
        raw.keys = frame.index.tolist()
    for child in child_names:
        name = f"{table}__{child}"
        if name in names:
            try:
                cframe = pyogrio.read_dataframe(path, layer=name, read_geometry=False)
            except Exception as exc:
                raise fail(f"无法读取子表 {name}：{scrub_path(str(exc), path, path.name)}") from None
            add_child(raw, child, cframe, name)
    return raw


def choose(wanted: str | None, layer_name: str, candidates: list[str], all_names: list[str], what: str) -> str:
    """Pick the table to read: ``wanted``, else the one named ``layer_name``, else the only one.

    Parameters
    ----------
    wanted
        Name asked for (case-insensitive), or ``None``.
    layer_name
        SafeMap layer being imported.
    candidates
        Tables with geometry (GeoPackage) or shapefile names (zip).
    all_names
        Every table, for the error message.
    what
        What a candidate is called in messages (Chinese).
    """
    listing = "、".join(candidates) or "（无）"
    if wanted is not None:
        found = [n for n in candidates if n.lower() == wanted.lower()]
        if not found:
            raise fail(f"文件中没有{what} {wanted!r}；现有：{listing}")
        return found[0]
    same = [n for n in candidates if n.lower() == layer_name.lower()]
    if same:
        return same[0]
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise fail(f"文件中没有含几何的{what}（现有表：{'、'.join(all_names) or '无'}）")
    raise fail(f"文件中有多个{what}：{listing}；请指定要导入哪一个（source_layer）")


def from_frame(fmt: str, frame: Any) -> RawTable:
    """Turn a GeoDataFrame read by pyogrio into a :class:`RawTable` (rows numbered from 1)."""
    columns = [c for c in frame.columns if c != frame.geometry.name]
    records = frame[columns].to_dict("records")
    geoms = list(np.asarray(frame.geometry.array, dtype=object))
    n = len(records)
    raw = RawTable(fmt, [str(c) for c in columns], list(range(1, n + 1)), records, geoms)
    raw.crs = frame.crs
    id_col = next((c for c in columns if normalise(c) == "id"), None)
    if id_col is not None:
        raw.keys = frame[id_col].tolist()
    return raw


def add_child(raw: RawTable, child: str, frame: Any, where: str) -> None:
    """Attach the child table ``child`` read as ``frame`` (from ``where``) to ``raw``."""
    cols = [str(c) for c in frame.columns]
    pid = next((c for c in cols if normalise(c) == "parent_id"), None)
    if pid is None:
        raw.warnings.append(f"子表 {where} 没有 parent_id 列，无法对应到要素，已忽略")
        return
    seq = next((c for c in cols if normalise(c) == "seq"), None)
    if seq is not None:
        frame = frame.sort_values([pid, seq], kind="stable")
    # id and county_code are the store's own bookkeeping (a SafeMap file's child rows carry them).
    data = [c for c in cols if c not in (pid, seq) and normalise(c) not in ("id", "county_code")]
    raw.children[child] = RawChildTable(data, frame[data].to_dict("records"), frame[pid].tolist())
