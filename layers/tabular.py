"""Tables of cells (CSV, text, Excel) into a :class:`~layers.readers.RawTable`: coordinate or WKT columns.

:mod:`layers.csvfiles` and :mod:`layers.xlsxfiles` both hand :func:`table_from_cells` a
header and numbered rows of cells; it finds the coordinate columns as people write them
(经度/纬度, 东经/北纬, ``经度(°)``, ``纬度（度）``, lon/lat/lng/longitude/latitude, X/Y,
full-width characters and spaces folded), or a WKT column, and builds the geometries.
Cells are kept as given: text from a CSV, typed values (numbers, ISO dates) from Excel.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from typing import Any, cast

import numpy as np
import numpy.typing as npt
import shapely

from safemap.layers.columns import normalise
from safemap.layers.errors import Problem
from safemap.layers.readers import RawTable, fail

LON_NAMES = ("lon", "lng", "long", "longitude", "经度", "东经", "x", "point_x", "pointx")
"""Column names recognised as longitude / easting (compared after :func:`coordinate_key`)."""
LAT_NAMES = ("lat", "latitude", "纬度", "北纬", "y", "point_y", "pointy")
"""Column names recognised as latitude / northing."""
WKT_NAMES = ("wkt", "geometry", "geom", "几何", "空间信息")
"""Column names recognised as WKT geometry."""
OPTIONS_HINT = "命令行用 --lon 列名 --lat 列名，网页上传用参数 lon_field、lat_field"
"""How a user names the coordinate columns (CLI options and HTTP upload parameters)."""

_UNIT = re.compile(r"[(\[【][^)\]】]*[)\]】]")


def coordinate_key(header: str) -> str:
    """Comparison form of a coordinate header: :func:`normalise`, then units dropped.

    ``经度(°)``, ``纬度（度）``, ``Lon [deg]`` and ``东经 °`` become ``经度``, ``纬度``,
    ``lon`` and ``东经``.
    """
    key = _UNIT.sub("", normalise(header)).replace("°", "")
    return key.strip("_-:：/") or normalise(header)


def is_blank(value: Any) -> bool:
    """A cell with nothing in it (``None`` or only whitespace)."""
    return value is None or (isinstance(value, str) and not value.strip())


def table_from_cells(
    fmt: str,
    header: Sequence[str],
    lines: Iterable[tuple[int, Sequence[Any]]],
    *,
    lon_field: str | None,
    lat_field: str | None,
    spatial: bool,
    raw: RawTable | None = None,
) -> RawTable:
    """Build a table from a header and numbered rows of cells.

    Parameters
    ----------
    fmt
        Format name of the :class:`RawTable` (``csv``, ``xlsx``).
    header
        Column names (already stripped; blank for a column without a name).
    lines
        (row number, cells) for each data row; blank rows are skipped here.
    lon_field, lat_field
        Coordinate columns named by the user (see :func:`geometry_columns`).
    spatial
        Whether geometry is read at all (attribute tables: not).
    raw
        A table to fill (to keep warnings already given); default a new one.
    """
    raw = raw if raw is not None else RawTable(fmt, [], [], [], [], crs=None)
    header = list(header)
    blanks = [i for i, h in enumerate(header) if not h]
    dupes = sorted({h for h in header if h and header.count(h) > 1})
    if dupes:
        raise fail(f"表头有重复的列名：{'、'.join(dupes)}")
    if spatial:
        lon_col, lat_col, wkt_col = geometry_columns(header, lon_field, lat_field, raw)
    else:
        lon_col = lat_col = wkt_col = None
    raw.consumed |= {c for c in (lon_col, lat_col, wkt_col) if c}
    raw.columns = [h for h in header if h and h not in raw.consumed]
    xs: list[float] = []
    ys: list[float] = []
    wkts: list[Any] = []
    for line, given in lines:
        if all(is_blank(c) for c in given):
            continue
        cells = list(given)
        if len(cells) > len(header) and not all(is_blank(c) for c in cells[len(header) :]):
            raw.problems.append(Problem("file", f"本行有 {len(cells)} 列，表头只有 {len(header)} 列", line))
        cells += [None if fmt != "csv" else ""] * (len(header) - len(cells))
        for b in blanks:
            if not is_blank(cells[b]):
                raw.problems.append(Problem("file", f"第 {b + 1} 列没有列名，但有数据", line))
        record = dict(zip(header, cells, strict=False))
        raw.rows.append(line)
        raw.records.append({c: record[c] for c in raw.columns})
        if wkt_col is not None:
            wkts.append(record[wkt_col])
        elif spatial:
            assert lon_col is not None and lat_col is not None
            xs.append(coordinate(record[lon_col], lon_col, line, raw))
            ys.append(coordinate(record[lat_col], lat_col, line, raw))
    if not spatial:
        raw.geometries = [None] * len(raw.rows)
    elif wkt_col is not None:
        raw.geometries = parse_wkt(wkts, wkt_col, raw)
    else:
        # Arrays of x and y give an array of points; the stubs also allow a single Point.
        points = cast(npt.NDArray[np.object_], shapely.points(np.array(xs, dtype=float), np.array(ys, dtype=float)))
        raw.geometries = [None if i in raw.bad_geometry else g for i, g in zip(raw.rows, points, strict=True)]
    return raw


def geometry_columns(
    header: Sequence[str], lon_field: str | None, lat_field: str | None, raw: RawTable
) -> tuple[str | None, str | None, str | None]:
    """Find the (longitude, latitude, WKT) columns of ``header``.

    ``lon_field``/``lat_field`` name the columns (matched like headers, units ignored);
    by default the first of :data:`LON_NAMES`/:data:`LAT_NAMES` present. Without both, a
    :data:`WKT_NAMES` column. X is taken as easting/longitude and Y as northing/latitude.
    Raises :class:`ValidationFailed` naming the CLI options and HTTP parameters to use.
    """
    names = [h for h in header if h]
    by_norm: dict[str, str] = {}
    for h in names:  # exact names first, then unit-free forms
        by_norm.setdefault(normalise(h), h)
    for h in names:
        by_norm.setdefault(coordinate_key(h), h)
    listing = "、".join(names) or "（无）"

    def find(given: str | None, wanted: Sequence[str], what: str, option: str) -> str | None:
        if given is not None:
            col = by_norm.get(normalise(given)) or by_norm.get(coordinate_key(given))
            if col is None:
                raise fail(f"文件中没有指定的{what}列 {given!r}（{option}）；表头：{listing}")
            return col
        return next((by_norm[n] for n in wanted if n in by_norm), None)

    lon = find(lon_field, LON_NAMES, "经度", "--lon / lon_field")
    lat = find(lat_field, LAT_NAMES, "纬度", "--lat / lat_field")
    wkt = next((by_norm[n] for n in WKT_NAMES if n in by_norm), None)
    if lon and lat:
        if wkt and lon_field is None:
            raw.warnings.append(f"同时有经纬度列与 WKT 列 {wkt}；按经纬度列 {lon}/{lat} 读取，{wkt} 列已忽略")
            raw.consumed.add(wkt)
        return lon, lat, None
    if wkt:
        return None, None, wkt
    found = f"（只找到{'经度列 ' + lon if lon else '纬度列 ' + str(lat)}）" if lon or lat else ""
    raise fail(
        f"找不到坐标列{found}：需要经度、纬度两列（表头如 经度/东经/lon/lng/longitude/X 与 "
        f"纬度/北纬/lat/latitude/Y，可带单位如 经度(°)），或一列 WKT（wkt/geometry）；"
        f"列名不同时请指定：{OPTIONS_HINT}。表头：{listing}"
    )


def coordinate(value: Any, col: str, line: int, raw: RawTable) -> float:
    """A coordinate cell as a float; NaN (with a problem on the row) when missing or not a number."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number, text = float(value), str(value)
    else:
        text = "" if value is None else str(value).strip()
        try:
            number = float(text)
        except ValueError:
            number = math.nan
    if not text or not math.isfinite(number):
        reason = "缺少坐标" if not text else f"坐标应为数值（收到 {text!r}）"
        if line not in raw.bad_geometry:
            raw.problems.append(Problem(col, reason, line))
        raw.bad_geometry.add(line)
    return number


def parse_wkt(wkts: Sequence[Any], col: str, raw: RawTable) -> list[Any]:
    """Parse one WKT cell per row of ``raw`` (blank: no geometry; bad: a problem on the row)."""
    out: list[Any] = []
    for line, text in zip(raw.rows, wkts, strict=True):
        value = "" if text is None else str(text).strip()
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
