"""Reading KML and KMZ files for import: Placemarks with their name, description and ExtendedData.

Parsed with the standard library's ElementTree rather than GDAL: GDAL's plain KML driver
drops ExtendedData and splits nested Folders into separate layers, and the LIBKML driver
that keeps them is not in every GDAL build (pyogrio's wheels, Debian's) — the columns 奥维
(Ovital) and Google Earth users put in ExtendedData would silently vanish. Here every
Placemark of the document, however deep in Folders, is one row (numbered from 1 in
document order); styles, overlays and network links are ignored.

Columns: ``name`` (the catalogue's 名称), ``description`` when any placemark has one,
then each ExtendedData ``<Data name=…><value>`` and ``<SchemaData><SimpleData name=…>``.
Geometries: Point, LineString, LinearRing, Polygon (with holes), MultiGeometry (made a
Multi* when its parts are all of one kind) and gx:Track; heights are dropped. Coordinates
are WGS 84 lon/lat as the KML standard fixes them, taken digit for digit from the text.

Namespaces are ignored (KML 2.0–2.2, Google's, none at all). A document with a DOCTYPE or
an ENTITY declaration is refused before parsing (no entity expansion). A KMZ is a zip:
its directory is checked against the zip limits (:func:`~safemap.layers.shapefiles.check_zip`)
and ``doc.kml`` (else the first ``.kml``) is read.
"""

from __future__ import annotations

import codecs
import re
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any
from xml.etree import ElementTree as ET

import shapely
from pyproj import CRS
from shapely.geometry import LinearRing, LineString, Point, Polygon
from shapely.geometry.base import BaseGeometry

from safemap.layers.errors import Problem
from safemap.layers.readers import RawTable, fail
from safemap.layers.shapefiles import ZipLimits, check_zip

WGS84 = CRS.from_epsg(4326)
_DECLARATIONS = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


def _local(tag: Any) -> str:
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def _children(el: ET.Element, name: str) -> list[ET.Element]:
    return [c for c in el if _local(c.tag) == name]


def _child(el: ET.Element, name: str) -> ET.Element | None:
    return next((c for c in el if _local(c.tag) == name), None)


def _text(el: ET.Element | None) -> str:
    return "".join(el.itertext()).strip() if el is not None else ""


def read_kmz(path: Path, *, limits: ZipLimits | None = None) -> RawTable:
    """Read the KML document of a KMZ (zip): ``doc.kml``, else the first ``.kml`` member."""
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        raise fail("不是有效的 KMZ（zip）文件：文件不完整或已损坏") from None
    with zf:
        check_zip(zf, limits or ZipLimits(), path.name)
        members = [n for n in zf.namelist() if n.lower().endswith(".kml") and not n.startswith("__MACOSX/")]
        if not members:
            raise fail(f"KMZ {path.name} 中没有 .kml 文件")
        chosen = next((n for n in members if n.lower() == "doc.kml"), members[0])
        try:
            data = zf.read(chosen)
        except (zipfile.BadZipFile, OSError, RuntimeError, EOFError) as exc:
            raise fail(f"无法解压 KMZ 中的 {PurePosixPath(chosen).name}：{exc}") from None
    raw = parse_kml(data, PurePosixPath(chosen).name)
    raw.format = "kmz"
    return raw


def read_kml(path: Path) -> RawTable:
    """Read a KML file."""
    return parse_kml(path.read_bytes(), path.name)


def parse_kml(data: bytes, shown: str) -> RawTable:
    """Parse a KML document's bytes (``shown``: its name in messages) into a :class:`RawTable`."""
    utf16 = data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or b"\x00" in data[:4]
    probe = data.decode("utf-16", errors="ignore").encode("utf-8") if utf16 else data
    # Only the prolog (before the root element) can declare; descriptions may quote <!DOCTYPE html>.
    probe = re.sub(rb"<!--.*?-->", b"", probe, flags=re.DOTALL)
    root_start = re.search(rb"<[A-Za-z_]", probe)
    if _DECLARATIONS.search(probe[: root_start.start()] if root_start else probe):
        raise fail(f"{shown} 含 DOCTYPE/ENTITY 声明，出于安全原因不予读取；请从 奥维/Google Earth 重新导出 KML")
    declared = re.match(rb"\s*<\?xml[^>]*encoding=[\"']([A-Za-z0-9_-]+)", data)
    if declared and declared.group(1).lower() in (b"gbk", b"gb2312", b"gb18030"):
        # expat reads no multi-byte encoding but UTF-8/16: recode and declare UTF-8.
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError:
            raise fail(f"{shown} 声明为 {declared.group(1).decode()} 编码，但内容不是有效的 GBK") from None
        data = re.sub(r"encoding=[\"'][A-Za-z0-9_-]+[\"']", 'encoding="UTF-8"', text, count=1).encode("utf-8")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise fail(f"{shown} 不是有效的 KML（XML 解析错误：{exc}）") from None
    if _local(root.tag) != "kml" and not any(_local(e.tag) == "Placemark" for e in root.iter()):
        raise fail(f"{shown} 不是 KML 文件（根元素是 <{_local(root.tag)}>）")
    raw = RawTable("kml", [], [], [], [], crs=WGS84)
    columns: dict[str, None] = {"name": None}
    has_description = False
    for number, placemark in enumerate((e for e in root.iter() if _local(e.tag) == "Placemark"), start=1):
        record: dict[str, Any] = {"name": _text(_child(placemark, "name")) or None}
        description = _text(_child(placemark, "description"))
        if description:
            record["description"] = description
            has_description = True
        extended = _child(placemark, "ExtendedData")
        if extended is not None:
            for key, value in _extended(extended):
                if key in ("name", "description") and record.get(key):
                    key = f"{key}_1"
                record[key] = value
                columns[key] = None
        raw.rows.append(number)
        raw.records.append(record)
        raw.geometries.append(_placemark_geometry(placemark, number, raw))
    if not raw.rows:
        raise fail(f"{shown} 中没有地标（Placemark）；KML 中的图片叠加层、网络链接不能导入")
    if has_description:
        columns = {"name": None, "description": None, **columns}
    raw.columns = list(columns)
    for record in raw.records:
        for col in raw.columns:
            record.setdefault(col, None)
    return raw


def _extended(extended: ET.Element) -> list[tuple[str, str | None]]:
    out: list[tuple[str, str | None]] = []
    for el in extended.iter():
        tag = _local(el.tag)
        if tag == "Data":
            key = (el.get("name") or "").strip() or _text(_child(el, "displayName"))
            if key:
                out.append((key, _text(_child(el, "value")) or None))
        elif tag == "SimpleData":
            key = (el.get("name") or "").strip()
            if key:
                out.append((key, _text(el) or None))
    return out


GEOMETRY_TAGS = ("Point", "LineString", "LinearRing", "Polygon", "MultiGeometry", "Track", "MultiTrack")


def _placemark_geometry(placemark: ET.Element, row: int, raw: RawTable) -> BaseGeometry | None:
    el = next((c for c in placemark if _local(c.tag) in GEOMETRY_TAGS), None)
    if el is None:
        return None
    try:
        return _geometry(el)
    except ValueError as exc:
        raw.problems.append(Problem("geometry", f"KML 坐标无法解析：{exc}", row))
        raw.bad_geometry.add(row)
        return None


def _coordinates(el: ET.Element | None) -> list[tuple[float, float]]:
    text = _text(_child(el, "coordinates")) if el is not None else ""
    text = re.sub(r"\s*,\s*", ",", text)
    out = []
    for item in text.split():
        parts = item.split(",")
        if len(parts) < 2:
            raise ValueError(f"坐标 {item!r} 应为 经度,纬度[,高度]")
        try:
            out.append((float(parts[0]), float(parts[1])))
        except ValueError:
            raise ValueError(f"坐标 {item!r} 不是数值") from None
    if not out:
        raise ValueError("没有坐标")
    return out


def _geometry(el: ET.Element) -> BaseGeometry:
    tag = _local(el.tag)
    if tag == "Point":
        coords = _coordinates(el)
        return Point(coords[0])
    if tag == "LineString":
        return LineString(_coordinates(el))
    if tag == "LinearRing":
        return LinearRing(_coordinates(el))
    if tag == "Polygon":
        outer = _child(el, "outerBoundaryIs")
        shell = _coordinates(_child(outer, "LinearRing") if outer is not None else None)
        holes = [
            _coordinates(_child(inner, "LinearRing"))
            for inner in _children(el, "innerBoundaryIs")
            if _child(inner, "LinearRing") is not None
        ]
        return Polygon(shell, holes)
    if tag == "Track":
        points = []
        for coord in (c for c in el if _local(c.tag) == "coord"):
            xyz = _text(coord).split()
            if len(xyz) < 2:
                raise ValueError(f"轨迹点 {_text(coord)!r} 应为 经度 纬度 [高度]")
            points.append((float(xyz[0]), float(xyz[1])))
        return LineString(points)
    parts: list[BaseGeometry] = [_geometry(c) for c in el if _local(c.tag) in GEOMETRY_TAGS]
    if not parts:
        raise ValueError(f"{tag} 中没有几何")
    return _collect(parts)


def _collect(parts: list[BaseGeometry]) -> BaseGeometry:
    flat: list[Any] = list(shapely.get_parts(parts))  # nested multi-parts flattened
    kinds = {"LinearRing": "LineString"}
    types = {kinds.get(p.geom_type, p.geom_type) for p in flat}
    if len(flat) == 1:
        return flat[0]
    if types == {"Point"}:
        return shapely.MultiPoint(flat)
    if types == {"LineString"}:
        return shapely.MultiLineString([LineString(p.coords) for p in flat])
    if types == {"Polygon"}:
        return shapely.MultiPolygon(flat)
    return shapely.GeometryCollection(flat)
