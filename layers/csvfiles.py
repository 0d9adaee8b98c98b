"""Reading CSV files for import: lon/lat columns or a WKT column, UTF-8 (BOM or not) or GBK.

A cell our export quoted against formula injection (``'=…``, ``'+…``, ``'-…``, ``'@…``, see
:mod:`safemap.layers.csvsafe`) loses that one quote here, so an export → import round trip
is lossless; other cells are read as they are.

Row numbers are line numbers in the file: the header is line 1, so the first record is
normally line 2 (a quoted value spanning lines counts from its first line).
"""

from __future__ import annotations

import codecs
import csv
import io
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

import numpy as np
import numpy.typing as npt
import shapely

from safemap.layers.columns import normalise
from safemap.layers.csvsafe import restore_cell
from safemap.layers.errors import Problem
from safemap.layers.readers import RawTable, fail

LON_NAMES = ("lon", "lng", "long", "longitude", "x", "经度")
"""CSV column names recognised as longitude (compared after :func:`normalise`)."""
LAT_NAMES = ("lat", "latitude", "y", "纬度")
"""CSV column names recognised as latitude."""
WKT_NAMES = ("wkt", "geometry", "geom")
"""CSV column names recognised as WKT geometry."""


def decode_text(data: bytes) -> tuple[str, str]:
    """Decode CSV bytes: UTF-8 (with or without BOM), else GBK (GB 18030)."""
    if data.startswith(codecs.BOM_UTF8):
        return data[3:].decode("utf-8", errors="strict"), "UTF-8"
    try:
        return data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030"), "GBK"
    except UnicodeDecodeError:
        raise fail("无法识别文件编码：请另存为 UTF-8（或 GBK）编码的 CSV") from None


def read_csv(path: Path, *, lon_field: str | None, lat_field: str | None, spatial: bool = True) -> RawTable:
    """Read a CSV with coordinate columns or a WKT column.

    The delimiter (comma, tab or semicolon) is taken from the header line.

    Parameters
    ----------
    path
        The CSV file: UTF-8 with or without BOM, else GBK (GB 18030, with a warning).
    lon_field, lat_field
        Columns holding x and y, matched like headers (case and width folded); by
        default the first of :data:`LON_NAMES` / :data:`LAT_NAMES` present. Values are
        in the units of the file's CRS: degrees for lon/lat, metres for projected ones.
        Without such columns, a :data:`WKT_NAMES` column is read as WKT.

    Returns
    -------
    RawTable
        Cells as text; rows numbered by file line (header = line 1).
    """
    try:
        text, encoding = decode_text(path.read_bytes())
    except UnicodeDecodeError:
        raise fail("文件以 UTF-8 BOM 开头，但内容不是有效的 UTF-8") from None
    if not text.strip():
        raise fail("文件是空的")
    first_line = next((line for line in io.StringIO(text) if line.strip()), "")
    delimiter = max(",\t;", key=first_line.count)  # comma on a tie (Excel's choice)
    reader = csv.reader(io.StringIO(text, newline=""), csv.excel, delimiter=delimiter)
    header: list[str] = []
    try:
        for cells in reader:  # the header is the first line that is not blank
            if any(c.strip() for c in cells):
                header = [restore_cell(h).strip() for h in cells]
                break
    except csv.Error as exc:
        raise fail(f"无法读取表头：{exc}") from None
    raw = RawTable("csv", [], [], [], [], crs=None)
    if encoding == "GBK":
        raw.warnings.append("文件不是 UTF-8 编码，已按 GBK（GB 18030）读取")
    blanks = [i + 1 for i, h in enumerate(header) if not h]
    dupes = sorted({h for h in header if h and header.count(h) > 1})
    if dupes:
        raise fail(f"表头有重复的列名：{'、'.join(dupes)}")
    if spatial:
        lon_col, lat_col, wkt_col = _geometry_columns(header, lon_field, lat_field, raw)
    else:
        lon_col = lat_col = wkt_col = None
    raw.consumed = {c for c in (lon_col, lat_col, wkt_col) if c}
    raw.columns = [h for h in header if h and h not in raw.consumed]
    last_line = reader.line_num
    xs: list[float] = []
    ys: list[float] = []
    wkts: list[str | None] = []
    try:
        for cells in reader:
            line, last_line = last_line + 1, reader.line_num
            if not any(c.strip() for c in cells):
                continue
            cells = [restore_cell(c) for c in cells]
            if len(cells) > len(header) and any(c.strip() for c in cells[len(header) :]):
                raw.problems.append(Problem("file", f"本行有 {len(cells)} 列，表头只有 {len(header)} 列", line))
            cells = cells + [""] * (len(header) - len(cells))
            record = dict(zip(header, cells, strict=False))
            for b in blanks:
                if cells[b - 1].strip():
                    raw.problems.append(Problem("file", f"第 {b} 列没有列名，但有数据", line))
            raw.rows.append(line)
            raw.records.append({c: record[c] for c in raw.columns})
            if wkt_col is not None:
                wkts.append(record[wkt_col])
            elif spatial:
                assert lon_col is not None and lat_col is not None
                xs.append(_number(record[lon_col], lon_col, line, raw))
                ys.append(_number(record[lat_col], lat_col, line, raw))
    except csv.Error as exc:
        raise fail(f"第 {reader.line_num} 行 CSV 格式错误：{exc}") from None
    if not spatial:
        raw.geometries = [None] * len(raw.rows)
    elif wkt_col is not None:
        raw.geometries = _parse_wkt(wkts, wkt_col, raw)
    else:
        # Arrays of x and y give an array of points; the stubs also allow a single Point.
        points = cast(npt.NDArray[np.object_], shapely.points(np.array(xs, dtype=float), np.array(ys, dtype=float)))
        raw.geometries = [None if i in raw.bad_geometry else g for i, g in zip(raw.rows, points, strict=True)]
    return raw


def _geometry_columns(
    header: list[str], lon_field: str | None, lat_field: str | None, raw: RawTable
) -> tuple[str | None, str | None, str | None]:
    by_norm = {normalise(h): h for h in header if h}

    def find(given: str | None, names: Sequence[str], what: str) -> str | None:
        if given is not None:
            col = by_norm.get(normalise(given))
            if col is None:
                raise fail(f"CSV 中没有指定的{what}列 {given!r}（表头：{'、'.join(h for h in header if h)}）")
            return col
        return next((by_norm[n] for n in names if n in by_norm), None)

    lon = find(lon_field, LON_NAMES, "经度")
    lat = find(lat_field, LAT_NAMES, "纬度")
    wkt = next((by_norm[n] for n in WKT_NAMES if n in by_norm), None)
    if lon and lat:
        if wkt and lon_field is None:
            raw.warnings.append(f"同时有经纬度列与 WKT 列 {wkt}；按经纬度列 {lon}/{lat} 读取，{wkt} 列已忽略")
            raw.consumed.add(wkt)
        return lon, lat, None
    if wkt:
        return None, None, wkt
    raise fail(
        "CSV 中找不到坐标列：需要经度、纬度两列（如 lon/lng/longitude/x/经度 与 "
        "lat/latitude/y/纬度，或用 lon_field/lat_field 指定），或一列 WKT（wkt/geometry）"
    )


def _number(text: str, col: str, line: int, raw: RawTable) -> float:
    value = text.strip()
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not value or not math.isfinite(number):
        reason = "缺少坐标" if not value else f"坐标应为数值（收到 {value!r}）"
        if line not in raw.bad_geometry:
            raw.problems.append(Problem(col, reason, line))
        raw.bad_geometry.add(line)
    return number


def _parse_wkt(wkts: list[str | None], col: str, raw: RawTable) -> list[Any]:
    out: list[Any] = []
    for line, text in zip(raw.rows, wkts, strict=True):
        value = (text or "").strip()
        if not value:
            out.append(None)
            continue
        try:
            out.append(shapely.from_wkt(value))
        except shapely.errors.GEOSException as exc:
            raw.problems.append(Problem(col, f"WKT 无法解析：{exc}", line))
            raw.bad_geometry.add(line)
            out.append(None)
    return out
