"""Validation of incoming features: properties against the catalogue, geometry with shapely.

Every failure is a :class:`~layers.errors.Problem` naming the field (``properties.risk_level``,
``geometry``, ``properties.substances[2].quantity_t``) with a Chinese reason.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import shapely
from pydantic import ValidationError
from shapely.geometry import MultiLineString, Polygon, shape
from shapely.geometry.base import BaseGeometry

from safemap.layers.catalogue import Field, Layer
from safemap.layers.errors import Problem, ValidationFailed
from safemap.layers.labels import problem_text
from safemap.layers.schemas import properties_model, read_only_names, required_missing

Extent = tuple[float, float, float, float]
MAX_VERTICES = 200_000
CRS84_NAMES = frozenset(
    {
        "urn:ogc:def:crs:OGC:1.3:CRS84",
        "urn:ogc:def:crs:OGC::CRS84",
        "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
        "urn:ogc:def:crs:EPSG::4326",
        "EPSG:4326",
        "CRS84",
    }
)


@dataclass
class CleanFeature:
    """A feature that passed validation: typed properties, child rows, 2-D geometry."""

    properties: dict[str, Any]
    children: dict[str, list[dict[str, Any]]]
    geometry: BaseGeometry | None
    version: int | None = None


_MESSAGES = {
    "missing": "必填项，不能为空",
    "extra_forbidden": "该图层没有此字段",
    "int_parsing": "应为整数",
    "int_type": "应为整数",
    "int_from_float": "应为整数（不能有小数）",
    "int_parsing_size": "整数超出可存储的范围（-9223372036854775808 至 9223372036854775807）",
    "float_parsing": "应为数值",
    "float_type": "应为数值",
    "bool_parsing": "应为是/否（true/false）",
    "bool_type": "应为是/否（true/false）",
    "string_type": "应为文本",
    "date_parsing": "应为日期，格式 YYYY-MM-DD",
    "date_from_datetime_parsing": "应为日期，格式 YYYY-MM-DD",
    "date_type": "应为日期，格式 YYYY-MM-DD",
    "datetime_parsing": "应为时间，格式如 2026-11-29T10:30:00+08:00",
    "datetime_from_date_parsing": "应为时间，格式如 2026-11-29T10:30:00+08:00",
    "datetime_type": "应为时间，格式如 2026-11-29T10:30:00+08:00",
    "list_type": "应为列表",
    "model_type": "应为对象",
    "dict_type": "应为对象",
    "finite_number": "数值不能是 NaN 或无穷大",
}


def _describe(err: Mapping[str, Any], layer: Layer) -> str:
    allowed = None
    if err["type"] == "literal_error":
        field = _field_for(layer, err["loc"])
        allowed = field.enum.describe() if field is not None and field.enum else None
    return describe_error(err, allowed=allowed)


def describe_error(err: Mapping[str, Any], *, allowed: str | None = None) -> str:
    """One pydantic validation error in Chinese, with the value received.

    Used for layer features and for every API request body, so an official reads the
    same wording everywhere. ``allowed`` replaces pydantic's list of accepted literals
    (e.g. enum codes with their Chinese labels).
    """
    kind = err["type"]
    ctx = err.get("ctx") or {}
    got = err.get("input")
    if kind == "literal_error":
        return f"取值无效（收到 {got!r}），可选：{allowed or ctx.get('expected')}"
    bounds = {
        "greater_than_equal": ("不能小于", "ge"),
        "less_than_equal": ("不能大于", "le"),
        "greater_than": ("应大于", "gt"),
        "less_than": ("应小于", "lt"),
    }
    if kind in bounds:
        words, key = bounds[kind]
        return f"{words} {ctx.get(key)}（收到 {got!r}）"
    if kind == "string_too_long":
        return f"长度不能超过 {ctx.get('max_length')} 个字符"
    if kind == "too_long":
        return f"最多 {ctx.get('max_length')} 行"
    if kind == "too_short":
        return f"至少 {ctx.get('min_length')} 行"
    if kind == "string_too_short":
        return f"长度不能少于 {ctx.get('min_length')} 个字符"
    if kind == "string_pattern_mismatch":
        return f"格式不符（收到 {got!r}）"
    if kind == "value_error":
        return str(ctx.get("error", err.get("msg")))
    message = _MESSAGES.get(kind, err.get("msg", "无效"))
    if kind not in ("missing", "extra_forbidden") and got is not None:
        message += f"（收到 {got!r}）"
    return message


def _field_for(layer: Layer, loc: Sequence[Any]) -> Field | None:
    names = [p for p in loc if isinstance(p, str)]
    if not names:
        return None
    if len(names) >= 2 and any(c.name == names[0] for c in layer.children):
        child = layer.child(names[0])
        return next((f for f in child.fields if f.name == names[-1]), None)
    return next((f for f in layer.fields if f.name == names[0]), None)


def _loc(loc: Sequence[Any]) -> str:
    out = "properties"
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def validate_properties(
    layer: Layer, props: Any, *, partial: bool, row: int | None = None
) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]], int | None]:
    """Check ``props`` against the layer; return (fields, child rows, quoted version).

    Managed and computed fields (id, version, updated_at, GB 18218 results) may be
    sent back as read; they are dropped, except ``version``, which is returned as
    the version the client edited.
    """
    if props is None:
        props = {}
    if not isinstance(props, Mapping):
        raise ValidationFailed("properties 应为对象", [Problem("properties", "应为对象", row)])
    read_only = read_only_names(layer)
    version = props.get("version")
    payload = {k: v for k, v in props.items() if k not in read_only}
    model = properties_model(layer, partial=partial)
    try:
        parsed = model.model_validate(payload)
    except ValidationError as exc:
        problems = [Problem(_loc(e["loc"]), _describe(e, layer), row) for e in exc.errors()]
        raise ValidationFailed(_summary(problems, layer), problems) from None
    data = parsed.model_dump(exclude_unset=partial)
    if not partial:
        missing = required_missing(layer, data)
        if missing:
            problems = [Problem(f"properties.{n}", _MESSAGES["missing"], row) for n in missing]
            raise ValidationFailed(_summary(problems, layer), problems)
    children: dict[str, list[dict[str, Any]]] = {}
    for child in layer.children:
        rows = data.pop(child.name, None)
        if rows is not None or not partial:
            children[child.name] = rows or []
    if version is not None and (not isinstance(version, int) or isinstance(version, bool)):
        problem = Problem("properties.version", f"版本号应为整数（收到 {version!r}）", row)
        raise ValidationFailed(_summary([problem], layer), [problem])
    return data, children, version


def _summary(problems: list[Problem], layer: Layer | None = None) -> str:
    """The message of a failed validation: the first problem and how many more there are.

    The field is named in Chinese (``从业人员（人）：不能小于 0``); ``problems[].field`` keeps the code.
    """
    first = problems[0]
    where = f"第 {first.row} 行 " if first.row is not None else ""
    more = f"（另有 {len(problems) - 1} 处问题）" if len(problems) > 1 else ""
    return f"{where}{problem_text(first.field, first.message, layer)}{more}"


def check_crs_member(obj: Mapping[str, Any], *, where: str = "crs") -> None:
    """Reject a legacy GeoJSON ``crs`` member that names anything but WGS 84 lon/lat."""
    crs = obj.get("crs")
    if crs is None:
        return
    name = None
    if isinstance(crs, Mapping):
        props = crs.get("properties")
        name = props.get("name") if isinstance(props, Mapping) else None
    if name not in CRS84_NAMES:
        message = (
            f"只接受 WGS 84 经纬度（EPSG:4326/CRS84）坐标，收到 {name!r}；"
            "其他坐标系请用导入功能（safemap import … --crs）转换"
        )
        raise ValidationFailed(problem_text(where, message), [Problem(where, message)])


def validate_geometry(layer: Layer, geometry: Any, *, extent: Extent | None, row: int | None = None) -> BaseGeometry:
    """Parse a GeoJSON geometry (lon/lat) and check it fits ``layer``.

    Z values are dropped; polygons are stored as MultiPolygon where the layer's
    column is MULTIPOLYGON; a one-part MultiLineString becomes a LineString.
    """

    def fail(message: str) -> ValidationFailed:
        problem = Problem("geometry", message, row)
        return ValidationFailed(_summary([problem]), [problem])

    if geometry is None:
        raise fail("必填项：要素必须有几何图形")
    if isinstance(geometry, BaseGeometry):
        geom = geometry
    else:
        if not isinstance(geometry, Mapping) or "type" not in geometry:
            raise fail('应为 GeoJSON 几何对象，如 {"type": "Point", "coordinates": [83.0, 46.2]}')
        malformed = coordinates_problem(geometry)
        if malformed:
            raise fail(malformed)
        try:
            geom = shape(cast(dict[str, Any], geometry))  # shape() reads any mapping; the stubs ask for a dict
        except Exception as exc:  # shapely raises several types for malformed coordinates
            raise fail(f"无法解析几何坐标：{exc}") from None
    return check_geometry(layer, geom, extent=extent, fail=fail)


_DEPTH = {"Point": 0, "MultiPoint": 1, "LineString": 1, "MultiLineString": 2, "Polygon": 2, "MultiPolygon": 3}


def _is_position(value: Any) -> bool:
    return (
        isinstance(value, list | tuple)
        and 2 <= len(value) <= 3
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
    )


def _ring_problem(ring: Any, where: str) -> str | None:
    if not isinstance(ring, list | tuple) or not all(_is_position(p) for p in ring):
        return f"{where}应为坐标列表 [[经度, 纬度], …]"
    if len(ring) < 4:
        return f"{where}至少需要 4 个坐标（首尾相同）"
    if list(ring[0]) != list(ring[-1]):
        return f"{where}未闭合：首个坐标 {list(ring[0])} 与最后一个 {list(ring[-1])} 不同（GeoJSON 要求首尾相同）"
    return None


def coordinates_problem(geometry: Mapping[str, Any]) -> str | None:
    """Why the ``coordinates`` of a GeoJSON geometry are malformed (nesting, unclosed ring), or ``None``.

    shapely would silently close an open ring and read ``[[x, y]]`` as a Point; GeoJSON
    (RFC 7946 §3.1) allows neither.
    """
    kind = geometry.get("type")
    if kind not in _DEPTH:
        return None  # GeometryCollection and unknown types: shapely's own checks
    coords = geometry.get("coordinates")
    if kind == "Point":
        return None if _is_position(coords) else f"Point 的坐标应为 [经度, 纬度]，收到 {str(coords)[:60]}"
    if not isinstance(coords, list | tuple):
        return f"{kind} 的 coordinates 应为列表"
    if kind in ("MultiPoint", "LineString"):
        if not all(_is_position(p) for p in coords):
            return f"{kind} 的坐标应为 [[经度, 纬度], …]"
        if kind == "LineString" and len(coords) < 2:
            return "LineString 至少需要 2 个坐标"
        return None
    if kind == "MultiLineString":
        for i, line in enumerate(coords):
            if not isinstance(line, list | tuple) or not all(_is_position(p) for p in line) or len(line) < 2:
                return f"第 {i + 1} 条线的坐标应为至少 2 个 [经度, 纬度]"
        return None
    polygons = [coords] if kind == "Polygon" else coords
    for j, polygon in enumerate(polygons):
        if not isinstance(polygon, list | tuple):
            return f"第 {j + 1} 个多边形的坐标应为环的列表"
        part = f"第 {j + 1} 个多边形的" if kind == "MultiPolygon" else ""
        for i, ring in enumerate(polygon):
            problem = _ring_problem(ring, f"{part}第 {i + 1} 个环")
            if problem:
                return problem
    return None


def check_geometry(layer: Layer, geom: BaseGeometry, *, extent: Extent | None, fail: Any) -> BaseGeometry:
    """Check a parsed geometry against ``layer`` and the service extent (see :func:`validate_geometry`)."""
    if isinstance(geom, MultiLineString) and "LineString" in layer.geometry_types:
        if len(geom.geoms) != 1:
            raise fail(f"多段线有 {len(geom.geoms)} 段；本图层每个要素只能是一条线（LineString）")
        geom = geom.geoms[0]
    if geom.is_empty:
        raise fail("几何图形为空")
    if geom.geom_type not in layer.geometry_types:
        allowed = "、".join(layer.geometry_types)
        raise fail(f"几何类型 {geom.geom_type} 不适用于{layer.label}图层，应为：{allowed}")
    if shapely.get_num_coordinates(geom) > MAX_VERTICES:
        raise fail(f"顶点过多（超过 {MAX_VERTICES} 个）")
    geom = shapely.force_2d(geom)
    coords = shapely.get_coordinates(geom)
    if not np.isfinite(coords).all():
        raise fail("坐标含 NaN 或无穷大")
    lon, lat = coords[:, 0], coords[:, 1]
    if (np.abs(lon) > 180).any() or (np.abs(lat) > 90).any():
        raise fail("坐标超出经纬度范围；本系统使用 WGS 84 经纬度（经度在前，纬度在后）")
    if not geom.is_valid:
        raise fail(f"几何图形无效：{_reason_zh(shapely.is_valid_reason(geom))}（请修正后再提交）")
    if extent is not None:
        minx, miny, maxx, maxy = extent
        b = geom.bounds
        if b[0] < minx or b[2] > maxx or b[1] < miny or b[3] > maxy:
            swapped = miny <= b[0] <= maxy and minx <= b[1] <= maxx
            hint = "；看起来经纬度顺序颠倒了（应为经度在前）" if swapped else ""
            raise fail(f"坐标超出服务区域（经度 {minx:g}–{maxx:g}，纬度 {miny:g}–{maxy:g}）{hint}")
    if layer.storage_geometry == "MULTIPOLYGON" and isinstance(geom, Polygon):
        geom = shapely.MultiPolygon([geom])
    return geom


_GEOS_REASONS = {
    "Ring Self-intersection": "环自相交",
    "Self-intersection": "自相交",
    "Too few points in geometry component": "组成部分的点数过少",
    "Hole lies outside shell": "内环位于外环之外",
    "Nested holes": "内环嵌套",
    "Interior is disconnected": "内部不连通",
    "Nested shells": "多边形相互嵌套",
    "Duplicate Rings": "重复的环",
    "Invalid Coordinate": "无效坐标",
    "Ring is not closed": "环未闭合",
}


def _reason_zh(reason: str) -> str:
    """GEOS's validity reason in Chinese, keeping its location (e.g. ``自相交 [83.0 46.2]``)."""
    for english, chinese in _GEOS_REASONS.items():
        if reason.startswith(english):
            return f"{chinese} {reason[len(english) :].strip()}（{english}）"
    return reason


def validate_feature(
    layer: Layer,
    feature: Any,
    *,
    partial: bool,
    extent: Extent | None,
    row: int | None = None,
) -> CleanFeature:
    """Validate a GeoJSON Feature for creation (``partial=False``) or PATCH (``partial=True``)."""
    if not isinstance(feature, Mapping):
        problem = Problem("feature", "应为 GeoJSON Feature 对象", row)
        raise ValidationFailed(_summary([problem]), [problem])
    if feature.get("type", "Feature") != "Feature":
        problem = Problem("type", f'应为 "Feature"（收到 {feature.get("type")!r}）', row)
        raise ValidationFailed(_summary([problem]), [problem])
    check_crs_member(feature)
    problems: list[Problem] = []
    props: dict[str, Any] = {}
    children: dict[str, list[dict[str, Any]]] = {}
    version = None
    geom = None
    try:
        props, children, version = validate_properties(layer, feature.get("properties"), partial=partial, row=row)
    except ValidationFailed as exc:
        problems.extend(exc.problems)
    if not layer.is_spatial:
        if feature.get("geometry") is not None:
            problems.append(Problem("geometry", f"{layer.label}是属性表，没有几何图形（geometry 应为 null）", row))
    elif not partial or feature.get("geometry") is not None:
        try:
            geom = validate_geometry(layer, feature.get("geometry"), extent=extent, row=row)
        except ValidationFailed as exc:
            problems.extend(exc.problems)
    if problems:
        raise ValidationFailed(_summary(problems, layer), problems)
    return CleanFeature(props, children, geom, version)


def is_blank(value: Any) -> bool:
    """True for None, empty text and NaN (how files spell 'no value')."""
    return (
        value is None
        or (isinstance(value, str) and not value.strip())
        or (isinstance(value, float) and math.isnan(value))
    )
