"""From raw file rows to features: columns matched, values typed, child rows attached.

Column names are matched by :class:`~layers.columns.ColumnMatcher` (field names, Chinese
labels, shapefile short names). Values are made what validation expects without
judging them: numbers read as text stay text for validation to explain, but an integer
read as ``12.0``, a code read as a number, ``是``/``否`` and ``2024/5/1`` are fixed up.
Child rows come from arrays in GeoJSON properties, from JSON text in a column, or from
child tables (GeoPackage, shapefile zip) linked by ``parent_id`` to the ``id`` column.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from functools import cache
from typing import Any

import numpy as np
import orjson
import pandas as pd

from safemap.layers.catalogue import ChildTable, Field, Layer
from safemap.layers.columns import ColumnMatch, ColumnMatcher
from safemap.layers.errors import Problem
from safemap.layers.readers import RawTable
from safemap.layers.schemas import read_only_names
from safemap.layers.validation import is_blank

Row = tuple[int, dict[str, Any], Any]
"""(row number in the file, properties, shapely geometry or None)."""
_BOOL_WORDS = {"是": True, "否": False, "有": True, "无": False, "对": True, "错": False}
_SLASH_DATE = re.compile(r"(\d{4})[/.](\d{1,2})[/.](\d{1,2})")


def build_features(
    layer: Layer,
    raw: RawTable,
    geoms: np.ndarray,
    *,
    file_name: str,
    warnings: list[str],
    problems: list[Problem],
) -> list[Row]:
    """Turn raw rows into (row number, properties, geometry) ready for validation.

    Parameters
    ----------
    layer
        Target layer.
    raw
        What the reader found.
    geoms
        The rows' geometries, already in WGS 84 lon/lat (degrees).
    file_name
        Name of the file, recorded as ``source`` where the file gives none.
    warnings, problems
        Lists to append warnings (Chinese) and column problems to.

    Returns
    -------
    list
        One entry per feature; a multi-part line of a LineString layer becomes one
        entry per part, all carrying the row number of the file row.
    """
    parent = _match(layer.fields, layer.children, raw, "", raw.columns, problems, warnings)
    read_only = read_only_names(layer)
    ignored = [c for c, f in parent.fields.items() if f in read_only]
    if ignored:
        warnings.append(f"只读字段 {'、'.join(ignored)} 由系统生成，导入时已忽略")
    fields = {c: layer.field(f) for c, f in parent.fields.items() if f not in read_only}
    child_rows = _child_rows(layer, raw, problems, warnings)
    summaries: set[str] = set()
    out: list[Row] = []
    for i, (row, record) in enumerate(zip(raw.rows, raw.records, strict=True)):
        props = {f.name: coerce(f, record.get(col)) for col, f in fields.items()}
        for col, child_name in parent.children.items():
            given = _native(record.get(col))
            value = _child_value(given, layer.child(child_name))
            if value is not None:
                props[child_name] = value
            elif raw.format == "geojson" and given is not None:
                props[child_name] = given  # not a list: validation says so
            elif not is_blank(given) and child_name not in child_rows:
                summaries.add(col)
        for child_name, by_key in child_rows.items():
            key = raw.keys[i] if raw.keys is not None else None
            props[child_name] = by_key.get(_key(key), [])
        if not props.get("source"):
            props["source"] = f"导入自 {file_name}"[:500]
        out.append((row, props, geoms[i]))
    if summaries:
        warnings.append(
            f"列 {'、'.join(sorted(summaries))} 是子表摘要文字，无法还原为子表记录，已忽略；"
            "子表请用 GeoJSON、GeoPackage 或 Shapefile（zip）导入"
        )
    return _split_lines(layer, out, warnings)


def _match(
    fields: Sequence[Field],
    children: Sequence[ChildTable],
    raw: RawTable,
    table: str,
    columns: Sequence[str],
    problems: list[Problem],
    warnings: list[str],
) -> ColumnMatch:
    short: dict[str, str] = {}
    for name, mapping in raw.short_names.items():
        if (table and name.endswith(table)) or (not table and "__" not in name):
            short.update(mapping)
    matcher = ColumnMatcher(fields, children, short_names=short, truncated=raw.format == "shapefile")
    match = matcher.match(c for c in columns if c not in raw.consumed)
    where = f"子表 {table.lstrip('_')} 的" if table else ""
    for col in match.unknown:
        allowed = "、".join(f"{f.name}({f.label})" for f in fields if not f.computed)
        problems.append(Problem(col, f"{where}未知列 {col!r}：图层没有此字段；可用字段：{allowed}"))
    labels = {f.name: f.label for f in fields}
    for col, names in match.ambiguous.items():
        options = " 或 ".join(f"{n}（{labels.get(n, n)}）" for n in names)
        problems.append(
            Problem(
                col,
                f"{where}列名 {col!r} 被截短（dBASE 列名最长 10 字节），可能是 {options}，无法确定；"
                "请在 GIS 软件中把该列改名为字段名（如上）后再导入",
            )
        )
    for name, cols in match.duplicates.items():
        problems.append(Problem(cols[-1], f"{where}列 {'、'.join(cols)} 都对应字段 {name}，请只保留一列"))
    if match.harmless and table == "":
        warnings.append(f"列 {'、'.join(match.harmless)} 为原编号等辅助列，导入时已忽略（系统重新编号）")
    return match


def _child_rows(
    layer: Layer, raw: RawTable, problems: list[Problem], warnings: list[str]
) -> dict[str, dict[Any, list[dict[str, Any]]]]:
    out: dict[str, dict[Any, list[dict[str, Any]]]] = {}
    for child_name, table in raw.children.items():
        child = layer.child(child_name)
        match = _match(child.fields, (), raw, f"__{child.name}", table.columns, problems, warnings)
        fields = {c: child.field(f) for c, f in match.fields.items()}
        by_key: dict[Any, list[dict[str, Any]]] = {}
        for pid, record in zip(table.parent_ids, table.records, strict=True):
            row = {f.name: coerce(f, record.get(col)) for col, f in fields.items()}
            by_key.setdefault(_key(pid), []).append(row)
        if raw.keys is None:
            warnings.append(f"要素没有 id 列，子表 {child.name} 无法对应，已忽略")
            continue
        orphans = set(by_key) - {_key(k) for k in raw.keys}
        if orphans:
            warnings.append(f"子表 {child.name} 有 {len(orphans)} 个 parent_id 找不到对应要素，已忽略")
        out[child_name] = by_key
    return out


def _key(value: Any) -> Any:
    value = _native(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return value


@cache
def _child_matcher(child: ChildTable) -> ColumnMatcher:
    return ColumnMatcher(child.fields)


def _child_value(value: Any, child: ChildTable) -> list[dict[str, Any]] | None:
    """Child rows from a list (GeoJSON) or JSON text (a table cell); ``None`` otherwise."""
    if isinstance(value, str) and value.strip().startswith("["):
        try:
            value = orjson.loads(value)
        except orjson.JSONDecodeError:
            return None
    if not isinstance(value, list):
        return None
    matcher = _child_matcher(child)
    rows: list[Any] = []
    for item in value:
        if not isinstance(item, dict):
            rows.append(item)  # validation explains what is wrong
            continue
        names = matcher.match(item).fields
        rows.append({names.get(k, k): coerce(child.field(names[k]), v) if k in names else v for k, v in item.items()})
    return rows


def _native(value: Any) -> Any:
    """Return ``value`` as a plain Python value; every kind of missing value as ``None``."""
    if isinstance(value, list | tuple | dict | str):
        return value
    if value is None or pd.isna(value):
        return None
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value


def coerce(f: Field, value: Any) -> Any:
    """Turn a file value into what validation expects for ``f`` (lenient, never raises)."""
    value = _native(value)
    if isinstance(value, str):
        value = value.strip()
        if not value:
            return None
    if value is None:
        return None
    if f.type == "bool":
        if isinstance(value, str) and value in _BOOL_WORDS:
            return _BOOL_WORDS[value]
        if isinstance(value, int | float) and not isinstance(value, bool) and value in (0, 1):
            return bool(value)
    elif f.type == "int" and isinstance(value, float) and value.is_integer():
        return int(value)
    elif f.type == "str" and isinstance(value, int | float) and not isinstance(value, bool):
        return str(int(value)) if float(value).is_integer() else str(value)
    elif f.type == "date":
        if isinstance(value, dt.datetime):
            return value.date()
        m = _SLASH_DATE.fullmatch(value) if isinstance(value, str) else None
        if m:
            try:
                return dt.date(int(m[1]), int(m[2]), int(m[3]))
            except ValueError:
                return value
    elif f.type == "datetime" and isinstance(value, str):
        m = _SLASH_DATE.match(value)
        if m:
            return f"{int(m[1]):04d}-{int(m[2]):02d}-{int(m[3]):02d}{value[m.end() :]}"
    return value


def _split_lines(layer: Layer, features: list[Row], warnings: list[str]) -> list[Row]:
    lines_only = "LineString" in layer.geometry_types and "MultiLineString" not in layer.geometry_types
    points_only = "Point" in layer.geometry_types and "MultiPoint" not in layer.geometry_types
    if not (lines_only or points_only):
        return features
    out: list[Row] = []
    split: list[int] = []
    for row, props, geom in features:
        kind = geom.geom_type if geom is not None else None
        if lines_only and kind == "MultiLineString" and len(geom.geoms) > 1:
            split.append(row)
            out.extend((row, dict(props), part) for part in geom.geoms if not part.is_empty)
            continue
        if points_only and kind == "MultiPoint" and len(geom.geoms) == 1:
            geom = geom.geoms[0]
        out.append((row, props, geom))
    if split:
        shown = "、".join(map(str, split[:20])) + ("……" if len(split) > 20 else "")
        warnings.append(
            f"第 {shown} 行是多段线，已按段拆分为单独的要素（共 {len(split)} 行拆分，"
            f"导入 {len(out)} 个要素），拆分后的要素属性相同"
        )
    return out
