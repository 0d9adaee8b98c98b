"""Reading CSV and text files for import: lon/lat columns or a WKT column.

Encodings: UTF-8 (BOM or not), UTF-16 (Excel's "Unicode 文本": little-endian with a BOM,
tab-separated; also without a BOM when its zero bytes show it) or GBK. The delimiter
(comma, tab or semicolon) is taken from the header line. Coordinate and WKT columns are
found by :mod:`safemap.layers.tabular`, shared with Excel workbooks.

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
from collections.abc import Iterator
from pathlib import Path

from safemap.layers.csvsafe import restore_cell
from safemap.layers.readers import RawTable, fail
from safemap.layers.tabular import LAT_NAMES, LON_NAMES, WKT_NAMES, table_from_cells

__all__ = ["LAT_NAMES", "LON_NAMES", "WKT_NAMES", "decode_text", "read_csv", "utf16_without_bom"]

ENCODING_HINT = "请另存为 UTF-8、GBK 或 Unicode（UTF-16）编码的 CSV/文本"


def utf16_without_bom(data: bytes) -> str | None:
    """``utf-16-le``/``utf-16-be`` when ``data`` (no BOM) looks like UTF-16 text, else ``None``.

    UTF-16 text with ASCII digits, delimiters and line breaks has a zero byte in every
    such character; UTF-8 and GBK text has none.
    """
    head = data[:4096]
    head = head[: len(head) // 2 * 2]
    pairs = len(head) // 2
    if pairs < 2:
        return None
    odd, even = head[1::2].count(0), head[0::2].count(0)
    if odd >= max(2, pairs // 5) and even == 0:
        return "utf-16-le"
    if even >= max(2, pairs // 5) and odd == 0:
        return "utf-16-be"
    return None


def decode_text(data: bytes) -> tuple[str, str]:
    """Decode text bytes: UTF-8 (with or without BOM), UTF-16 (BOM, or detected), else GBK (GB 18030)."""
    boms = ((codecs.BOM_UTF8, "utf-8", "UTF-8"), (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16"))
    for bom, codec, name in (*boms, (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16")):
        if data.startswith(bom):
            try:
                return data[len(bom) :].decode(codec), name
            except UnicodeDecodeError:
                raise fail(f"文件以 {name} 字节顺序标记（BOM）开头，但内容不是有效的 {name}；{ENCODING_HINT}") from None
    utf16 = utf16_without_bom(data)
    if utf16 is not None:
        try:
            return data.decode(utf16), "UTF-16"
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030"), "GBK"
    except UnicodeDecodeError:
        raise fail(f"无法识别文件编码：{ENCODING_HINT}") from None


def read_csv(path: Path, *, lon_field: str | None, lat_field: str | None, spatial: bool = True) -> RawTable:
    """Read a CSV or delimited text file with coordinate columns or a WKT column.

    Parameters
    ----------
    path
        The file: UTF-8 with or without BOM, UTF-16 (Excel's "Unicode 文本"), else GBK
        (GB 18030, with a warning). Comma, tab or semicolon separated.
    lon_field, lat_field
        Columns holding x and y (see :func:`safemap.layers.tabular.geometry_columns`):
        by default 经度/东经/lon/lng/longitude/X and 纬度/北纬/lat/latitude/Y, units in
        brackets ignored. Values are in the units of the file's CRS: degrees for
        lon/lat, metres for projected ones. Without such columns, a WKT column.

    Returns
    -------
    RawTable
        Cells as text; rows numbered by file line (header = line 1).
    """
    text, encoding = decode_text(path.read_bytes())
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

    def lines() -> Iterator[tuple[int, list[str]]]:
        last_line = reader.line_num
        try:
            for cells in reader:
                line, last_line = last_line + 1, reader.line_num
                yield line, [restore_cell(c) for c in cells]
        except csv.Error as exc:
            raise fail(f"第 {reader.line_num} 行 CSV 格式错误：{exc}") from None

    return table_from_cells("csv", header, lines(), lon_field=lon_field, lat_field=lat_field, spatial=spatial, raw=raw)
