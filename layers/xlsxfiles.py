"""Reading Excel workbooks (.xlsx) for import: lon/lat columns or a WKT column, like CSV.

One sheet is read: the one named, else the first visible one. Its header is the first
row that is not empty; cells keep their types (numbers stay numbers, dates and times
become ISO text); blank rows (Excel keeps formatted empty rows) are skipped. Coordinate
and WKT columns are found as in CSV (:mod:`safemap.layers.tabular`). Row numbers in
problems are Excel's row numbers.

The workbook is a zip: its directory is checked against the zip limits
(:func:`safemap.layers.shapefiles.check_zip`) before openpyxl unpacks anything. Old
binary workbooks (.xls, Excel 97-2003) are refused by
:func:`safemap.layers.readers.detect_format` with how to save them as .xlsx.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path
from typing import Any

from safemap.layers.errors import ValidationFailed
from safemap.layers.readers import RawTable, fail
from safemap.layers.shapefiles import ZipLimits, check_zip
from safemap.layers.tabular import is_blank, table_from_cells


def _cell(value: Any) -> Any:
    """A cell value as imported: numbers and text as they are, dates and times as ISO text."""
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0) and value.tzinfo is None:
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value)
    return value


def read_xlsx(
    path: Path,
    *,
    sheet: str | None,
    lon_field: str | None,
    lat_field: str | None,
    spatial: bool = True,
    limits: ZipLimits | None = None,
) -> RawTable:
    """Read one sheet of an Excel workbook.

    Parameters
    ----------
    path
        The .xlsx (or .xlsm) workbook.
    sheet
        Sheet to read (name, case and spaces ignored); default the first visible one.
    lon_field, lat_field
        Coordinate columns, as for CSV (:func:`safemap.layers.tabular.geometry_columns`).
    spatial
        Whether geometry is read.
    limits
        Caps on what the workbook (a zip) may unpack to.

    Returns
    -------
    RawTable
        Format ``xlsx``; typed cells; rows numbered as in Excel.
    """
    import openpyxl  # type: ignore[import-untyped]
    from openpyxl.utils.exceptions import InvalidFileException  # type: ignore[import-untyped]

    try:
        with zipfile.ZipFile(path) as zf:
            check_zip(zf, limits or ZipLimits(), path.name)
    except (zipfile.BadZipFile, OSError):
        raise fail("不是有效的 Excel 工作簿（.xlsx）：文件不完整或已损坏") from None
    try:
        # Not read-only: merged cells are only known to a fully loaded sheet. A file object,
        # not a path: openpyxl refuses paths by suffix, and the type was found by content.
        with path.open("rb") as fh:
            wb = openpyxl.load_workbook(fh, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise fail(f"无法打开 Excel 工作簿：{exc}") from None
    try:
        return _read_sheet(wb, path, sheet, lon_field, lat_field, spatial)
    finally:
        wb.close()


def _read_sheet(
    wb: Any, path: Path, sheet: str | None, lon_field: str | None, lat_field: str | None, spatial: bool
) -> RawTable:
    names = [ws.title for ws in wb.worksheets]
    listing = "、".join(names) or "（无）"
    if sheet is not None:
        wanted = "".join(sheet.split()).lower()
        found = [ws for ws in wb.worksheets if "".join(ws.title.split()).lower() == wanted]
        if not found:
            raise fail(f"工作簿中没有工作表 {sheet!r}；现有：{listing}（--sheet / sheet 参数）")
        ws = found[0]
    else:
        if not wb.worksheets:
            raise fail("工作簿中没有工作表")
        visible = [ws for ws in wb.worksheets if ws.sheet_state == "visible"]
        ws = (visible or wb.worksheets)[0]
    raw = RawTable("xlsx", [], [], [], [], crs=None)
    if sheet is None and len(names) > 1:
        raw.warnings.append(
            f"工作簿有 {len(names)} 个工作表（{listing}），已读取“{ws.title}”；"
            "其他工作表请用 --sheet（网页上传用 sheet 参数）指定"
        )
    rows = ws.iter_rows(values_only=True)
    header_row = 0
    header: list[str] = []
    for number, values in enumerate(rows, start=1):
        if not all(is_blank(v) for v in values):
            header_row = number
            header = ["" if v is None else str(_cell(v)).strip() for v in values]
            break
    if not header_row:
        raise fail(f"工作表“{ws.title}”是空的")
    while header and not header[-1]:
        header.pop()
    merged = [r for r in ws.merged_cells.ranges if r.min_row <= header_row <= r.max_row]
    if merged:
        cells = "、".join(str(r.coord) for r in merged)
        raise fail(
            f"工作表“{ws.title}”的表头（第 {header_row} 行）有合并单元格 {cells}；"
            "请取消合并，使表头只占一行、每列一个列名（如 名称、经度、纬度）"
        )
    lines = ((n, [_cell(v) for v in values]) for n, values in enumerate(rows, start=header_row + 1))
    try:
        table_from_cells("xlsx", header, lines, lon_field=lon_field, lat_field=lat_field, spatial=spatial, raw=raw)
    except ValidationFailed as exc:
        if sheet is not None or len(names) < 2 or len(exc.problems) != 1:
            raise
        others = "、".join(n for n in names if n != ws.title)
        raise fail(
            f"{exc.problems[0].message}（读取的是工作表“{ws.title}”；工作簿还有：{others}，"
            "请用 --sheet（网页上传用 sheet 参数）指定）"
        ) from None
    data_merged = sorted(str(r.coord) for r in ws.merged_cells.ranges if r.min_row > header_row and r.size["rows"] > 1)
    if data_merged:
        raw.warnings.append(
            f"工作表“{ws.title}”有合并单元格 {'、'.join(data_merged[:10])}：只有合并区域第一行有值，其余行按空值导入"
        )
    if not raw.rows:
        raise fail(f"工作表“{ws.title}”只有表头（第 {header_row} 行），没有数据行")
    return raw
