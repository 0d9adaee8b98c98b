"""Writing a page of features to GeoJSON, GeoPackage, zipped Shapefile or CSV.

Used by :func:`layers.transfer.export_layer`, which documents what each format holds.
Every writer writes to a temporary file beside the target and moves it into place at
the end, so a failed export never leaves a half-written file behind.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import warnings
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

import geopandas as gpd
import numpy as np
import orjson
import pandas as pd
import pyogrio
import shapely

from safemap.layers.catalogue import ChildTable, Field, Layer
from safemap.layers.columns import short_names
from safemap.layers.csvsafe import csv_writer
from safemap.layers.errors import Problem, ValidationFailed
from safemap.layers.geojson import geometry_fragments
from safemap.layers.model import Page

FORMATS = {
    "geojson": "geojson",
    "json": "geojson",
    "gpkg": "gpkg",
    "geopackage": "gpkg",
    "shapefile": "shapefile",
    "shp": "shapefile",
    "zip": "shapefile",
    "csv": "csv",
}
"""Accepted format names and suffixes -> format."""
DBF_TEXT_BYTES = 254
"""Longest text a dBASE field holds (bytes; 84 Chinese characters in UTF-8)."""
_GEOMETRY_FAMILY = {
    "Point": "point",
    "MultiPoint": "point",
    "LineString": "line",
    "MultiLineString": "line",
    "Polygon": "polygon",
    "MultiPolygon": "polygon",
}
_OGR_TYPE = {
    "POINT": "Point",
    "LINESTRING": "LineString",
    "MULTIPOLYGON": "MultiPolygon",
    "POLYGON": "Polygon",
}


class ExportWarning(UserWarning):
    """Something was lost in an export (e.g. text cut to fit a dBASE field)."""


def format_for(path: Path, fmt: str | None, *, layer_is_spatial: bool = True) -> str:
    """Return the export format of ``path`` (from ``fmt`` or its suffix)."""
    key = (fmt or path.suffix.lstrip(".")).lower()
    if key not in FORMATS:
        message = f"不支持的导出格式 {key or '(无扩展名)'}：可用 geojson、gpkg、zip（Shapefile）、csv"
        raise ValidationFailed(message, [Problem("format", message)])
    if FORMATS[key] == "shapefile" and not layer_is_spatial:
        message = "属性表没有几何图形，不能导出为 Shapefile；请用 CSV、GeoJSON 或 GeoPackage"
        raise ValidationFailed(message, [Problem("format", message)])
    if FORMATS[key] == "shapefile" and path.suffix.lower() != ".zip":
        message = "Shapefile 导出为一个 .zip 文件（含 .shp/.shx/.dbf/.prj/.cpg），请用 .zip 作为文件名后缀"
        raise ValidationFailed(message, [Problem("path", message)])
    return FORMATS[key]


def write(page: Page, path: Path, fmt: str, *, tz: ZoneInfo, csv_headers: str = "label") -> int:
    """Write ``page`` to ``path`` in ``fmt``; return the number of features written.

    Parameters
    ----------
    page
        Features of one layer with their child rows (``FeatureStore.query``).
    path
        Target file; written beside it first, then moved into place.
    fmt
        ``geojson``, ``gpkg``, ``shapefile`` or ``csv`` (see :func:`format_for`).
    tz
        Time zone in which datetimes are written to text formats (UTC in GeoPackage).
    csv_headers
        ``label`` or ``name`` (see :func:`write_csv`).
    """
    writer = {"geojson": write_geojson, "gpkg": write_gpkg, "shapefile": write_shapefile_zip}
    with _atomic(path) as tmp:
        if fmt == "csv":
            write_csv(page, tmp, tz=tz, headers=csv_headers)
        else:
            writer[fmt](page, tmp, tz=tz)
    return len(page)


@contextmanager
def _atomic(path: Path) -> Iterator[Path]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    tmp.unlink()  # writers create the file themselves (GDAL refuses an existing empty one)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _local(value: Any, tz: ZoneInfo) -> Any:
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(tz)
    return value


# ---------------------------------------------------------------------- GeoJSON
def write_geojson(page: Page, path: Path, *, tz: ZoneInfo, chunk: int = 10_000) -> None:
    """Write an RFC 7946 FeatureCollection, one feature per line, in chunks.

    Geometries are serialised in bulk by GEOS at full precision, outer rings
    counter-clockwise (:func:`layers.geojson.geometry_fragments`).
    """
    layer = page.layer
    head = {"type": "FeatureCollection", "name": layer.name, "title": layer.label}
    with path.open("wb") as fh:
        fh.write(orjson.dumps(head)[:-1] + b',"features":[\n')
        for start in range(0, len(page), chunk):
            rows = page.rows[start : start + chunk]
            fragments = geometry_fragments(page.geometries[start : start + chunk])
            for i, (row, geom) in enumerate(zip(rows, fragments, strict=True)):
                props = {k: _local(v, tz) for k, v in row.items()}
                feature = {
                    "type": "Feature",
                    "id": row["id"],
                    "geometry": geom,
                    "properties": props,
                }
                fh.write((b",\n" if start + i else b"") + orjson.dumps(feature))
        fh.write(b"\n]}\n")


# ---------------------------------------------------------------------- GeoPackage
def _column(f: Field, values: list[Any], tz: ZoneInfo, *, text_dates: bool) -> Any:
    if f.type == "int":
        return pd.array(values, dtype="Int64")
    if f.type == "float":
        return pd.array([np.nan if v is None else v for v in values], dtype="float64")
    if f.type == "bool":
        return pd.array(values, dtype="boolean")
    if f.type == "date":
        return [None if v is None else v.isoformat() for v in values]
    if f.type == "datetime":
        if text_dates:
            return [None if v is None else v.astimezone(tz).isoformat() for v in values]
        # GeoPackage DATETIME is UTC with millisecond precision (GPKG 1.4 §1.1.1.1.1).
        stamps = [None if v is None else v.astimezone(dt.UTC) for v in values]
        # pandas reads None as NaT; the stubs leave None out of the list's element type.
        return pd.to_datetime(cast(list[dt.datetime], stamps), utc=True)
    return pd.array(values, dtype=object)


def _frame(fields: tuple[Field, ...], rows: list[dict[str, Any]], tz: ZoneInfo, *, text_dates: bool) -> dict[str, Any]:
    return {f.name: _column(f, [r.get(f.name) for r in rows], tz, text_dates=text_dates) for f in fields}


def _child_frame(child: ChildTable, page: Page, tz: ZoneInfo, *, text_dates: bool) -> pd.DataFrame:
    rows = [{"parent_id": r["id"], "seq": i, **c} for r in page.rows for i, c in enumerate(r.get(child.name) or [])]
    data = {
        "parent_id": pd.array([r["parent_id"] for r in rows], dtype="Int64"),
        "seq": pd.array([r["seq"] for r in rows], dtype="Int64"),
        **_frame(child.fields, rows, tz, text_dates=text_dates),
    }
    return pd.DataFrame(data)


def write_gpkg(page: Page, path: Path, *, tz: ZoneInfo) -> None:
    """Write the layer as a feature table and each child table as an attribute table."""
    layer = page.layer
    frame: pd.DataFrame
    if layer.is_spatial:
        frame = gpd.GeoDataFrame(
            _frame(layer.fields, page.rows, tz, text_dates=False),
            geometry=gpd.GeoSeries(list(page.geometries), crs="EPSG:4326"),
        )
    else:
        frame = pd.DataFrame(_frame(layer.fields, page.rows, tz, text_dates=False))
    pyogrio.write_dataframe(
        frame,
        path,
        layer=layer.name,
        driver="GPKG",
        geometry_type=_OGR_TYPE.get(layer.storage_geometry, "Unknown") if layer.is_spatial else None,
        layer_options={"IDENTIFIER": layer.label, "DESCRIPTION": layer.description or layer.label},
    )
    for child in layer.children:
        pyogrio.write_dataframe(
            _child_frame(child, page, tz, text_dates=False),
            path,
            layer=child.table_name(layer.name),
            driver="GPKG",
            layer_options={
                "IDENTIFIER": f"{layer.label}-{child.label}",
                "DESCRIPTION": f"{layer.label}的{child.label}（parent_id 对应 {layer.name} 的 id）",
            },
        )


# ---------------------------------------------------------------------- Shapefile
def _summaries(layer: Layer, rows: list[dict[str, Any]], sep: str) -> dict[str, list[str | None]]:
    out: dict[str, list[str | None]] = {}
    for child in layer.children:
        summary = child.summary or (lambda r: "、".join(str(v) for v in r.values() if v is not None))
        out[child.name] = [sep.join(summary(c) for c in r.get(child.name) or []) or None for r in rows]
    return out


def _fit_dbf_text(frame: pd.DataFrame, what: str) -> None:
    for col in frame.columns:
        if frame[col].dtype != object and not pd.api.types.is_string_dtype(frame[col]):
            continue
        cut = 0
        values = frame[col].tolist()
        for i, v in enumerate(values):
            if isinstance(v, str) and len(v.encode("utf-8")) > DBF_TEXT_BYTES:
                values[i] = v.encode("utf-8")[:DBF_TEXT_BYTES].decode("utf-8", errors="ignore")
                cut += 1
        if cut:
            frame[col] = pd.array(values, dtype=object)
            warnings.warn(
                f"{what}: {cut} 个 {col} 值超过 {DBF_TEXT_BYTES} 字节（dBASE 上限），已截断",
                ExportWarning,
                stacklevel=4,
            )


def write_shapefile_zip(page: Page, path: Path, *, tz: ZoneInfo) -> None:
    """Write a zip of shapefile(s), child ``.dbf`` tables and ``fields.txt``.

    Field names are cut to 10 characters (:func:`~layers.columns.short_names`); text
    over 254 bytes is cut with an :class:`ExportWarning`. Points, lines and polygons
    of a mixed layer go to ``<layer>_point.shp``, ``<layer>_line.shp`` and
    ``<layer>_polygon.shp``; a single-type layer to ``<layer>.shp``. Datetimes are
    ISO 8601 text in ``tz`` (dBASE has no time type).
    """
    layer = page.layer
    summaries = _summaries(layer, page.rows, "; ")
    names = short_names([*layer.field_names, *summaries])
    data = _frame(layer.fields, page.rows, tz, text_dates=True)
    data.update({k: pd.array(v, dtype=object) for k, v in summaries.items()})
    frame = gpd.GeoDataFrame(
        {names[k]: v for k, v in data.items()},
        geometry=gpd.GeoSeries(list(page.geometries), crs="EPSG:4326"),
    )
    _fit_dbf_text(frame, layer.name)
    families = np.array([_GEOMETRY_FAMILY[g.geom_type] for g in page.geometries], dtype=object)
    present = sorted(set(families.tolist())) or [_GEOMETRY_FAMILY[layer.geometry_types[0]]]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for family in present:
            stem = layer.name if len(present) == 1 else f"{layer.name}_{family}"
            part = frame[families == family] if len(page) else frame
            geometry_type = {"point": "Point", "line": "LineString", "polygon": "MultiPolygon"}
            pyogrio.write_dataframe(
                part,
                folder / f"{stem}.shp",
                driver="ESRI Shapefile",
                encoding="UTF-8",
                geometry_type=geometry_type[family],
            )
        lines = [
            f"# SafeMap 导出：{layer.name}（{layer.label}）；Shapefile 字段名最长 10 个字符，本表给出完整字段名",
            "# 表\t短字段名\t字段\t中文名",
            *(f"{layer.name}\t{names[f.name]}\t{f.name}\t{f.display_label}" for f in layer.fields),
            *(f"{layer.name}\t{names[c.name]}\t{c.name}\t{c.label}（摘要）" for c in layer.children),
        ]
        for child in layer.children:
            table = child.table_name(layer.name)
            cnames = short_names(["parent_id", "seq", *(f.name for f in child.fields)])
            cframe = _child_frame(child, page, tz, text_dates=True).rename(columns=cnames)
            _fit_dbf_text(cframe, table)
            pyogrio.write_dataframe(cframe, folder / f"{table}.dbf", driver="ESRI Shapefile", encoding="UTF-8")
            lines += [f"{table}\t{cnames[f.name]}\t{f.name}\t{f.display_label}" for f in child.fields]
        (folder / "fields.txt").write_text("\n".join(lines) + "\n", encoding="utf-8-sig")
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for file in sorted(folder.iterdir()):
                zf.write(file, file.name)


# ---------------------------------------------------------------------- CSV
def _text(f: Field, value: Any, tz: ZoneInfo, labels: bool) -> Any:
    if value is None:
        return ""
    if f.type == "enum" and labels:
        assert f.enum is not None
        return f.enum.label(value)
    if f.type == "bool":
        return ("是" if value else "否") if labels else ("true" if value else "false")
    if f.type == "float":
        return float(value)  # a number: csv writes its repr, and csv_writer leaves it unquoted
    if isinstance(value, dt.datetime):
        return _local(value, tz).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def write_csv(page: Page, path: Path, *, tz: ZoneInfo, headers: str = "label") -> None:
    """Write UTF-8 CSV with BOM; lon/lat columns for point layers, else ``wkt``.

    Parameters
    ----------
    page, path, tz
        As for :func:`write`.
    headers
        ``label``: Chinese labels with units (``净宽 (m)``), enum labels, 是/否 and
        ``经度``/``纬度`` columns, for Excel. ``name``: field names, codes, true/false
        and ``lon``/``lat``. Coordinates are WGS 84 degrees at full precision; child
        tables are summarised in one text column each.
    """
    if headers not in ("label", "name"):
        message = f"csv_headers 应为 label 或 name（收到 {headers!r}）"
        raise ValidationFailed(message, [Problem("csv_headers", message)])
    layer = page.layer
    labels = headers == "label"
    points = layer.geometry_types == ("Point",)
    summaries = _summaries(layer, page.rows, "；")
    header = [f.display_label if labels else f.name for f in layer.fields]
    header += [c.label if labels else c.name for c in layer.children]
    if layer.is_spatial:
        header += (["经度", "纬度"] if labels else ["lon", "lat"]) if points else ["wkt"]
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        out = csv_writer(fh)  # formula-like text gets a leading ' (layers/csvsafe.py)
        out.writerow(header)
        for i, (row, geom) in enumerate(zip(page.rows, page.geometries, strict=True)):
            cells = [_text(f, row.get(f.name), tz, labels) for f in layer.fields]
            cells += [summaries[c.name][i] or "" for c in layer.children]
            if points:
                cells += [float(geom.x), float(geom.y)]
            elif layer.is_spatial:
                cells.append(shapely.to_wkt(geom, rounding_precision=-1))
            out.writerow(cells)
