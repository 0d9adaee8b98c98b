"""Parsing of query parameters and request bodies shared by the API routes."""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Any

import orjson
from fastapi import Path, Query, Request

from safemap.api.services.problems import bad
from safemap.layers.schemas import INT64_MAX, INT64_MIN, check_instant

__all__ = [
    "FeatureIdPath",
    "FeatureIdQuery",
    "OffsetQuery",
    "bad",
    "etag",
    "json_body",
    "parse_bbox",
    "parse_datetime",
    "parse_version",
    "storable_int",
]

#: A feature id in a path: an id beyond what the store holds is refused (422 naming ``feature_id``), like ``abc``.
FeatureIdPath = Annotated[int, Path(ge=INT64_MIN, le=INT64_MAX, description="要素编号")]
#: A feature id as a query filter (400 naming the parameter when out of range).
FeatureIdQuery = Annotated[int | None, Query(ge=INT64_MIN, le=INT64_MAX, description="要素编号")]
#: A paging offset (400 naming ``offset`` beyond what the store holds).
OffsetQuery = Annotated[int, Query(ge=0, le=INT64_MAX, description="跳过的条数")]


def parse_bbox(text: str | None) -> tuple[float, float, float, float] | None:
    """``minlon,minlat,maxlon,maxlat`` (CRS84); 6 numbers (with heights) are accepted too."""
    if text is None or text == "":
        return None
    try:
        parts = [float(p) for p in text.split(",")]
    except ValueError:
        raise bad("bbox", "应为4个数：最小经度,最小纬度,最大经度,最大纬度") from None
    if len(parts) == 6:
        parts = [parts[0], parts[1], parts[3], parts[4]]
    if len(parts) != 4 or not all(math.isfinite(p) for p in parts):
        raise bad("bbox", "应为4个数：最小经度,最小纬度,最大经度,最大纬度")
    x0, y0, x1, y1 = parts
    if not (-180 <= x0 <= 180 and -180 <= x1 <= 180 and -90 <= y0 <= 90 and -90 <= y1 <= 90):
        raise bad("bbox", "超出经纬度范围（经度在前，纬度在后）")
    if x0 > x1 or y0 > y1:
        raise bad("bbox", "最小值不能大于最大值")
    return x0, y0, x1, y1


def _instant(text: str, field: str) -> dt.datetime | None:
    if text in ("", ".."):
        return None
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            value = dt.datetime.combine(dt.date.fromisoformat(text), dt.time())
        except ValueError:
            raise bad(field, f"{text!r} 不是 RFC 3339 时间（如 2026-11-29T08:00:00Z）") from None
    try:
        check_instant(value)
    except ValueError as exc:
        raise bad(field, f"{exc}（收到 {text!r}）") from None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def parse_datetime(text: str | None) -> tuple[dt.datetime | None, dt.datetime | None] | None:
    """An RFC 3339 instant or interval (``start/end``, open ends as ``..``)."""
    if not text:
        return None
    if "/" in text:
        start_text, _, end_text = text.partition("/")
        start, end = _instant(start_text, "datetime"), _instant(end_text, "datetime")
        if start and end and start > end:
            raise bad("datetime", "起始时间晚于结束时间")
        return start, end
    instant = _instant(text, "datetime")
    return instant, instant


def parse_version(header: str | None, query: str | None = None) -> int | None:
    """The version a client edited: ``If-Match: "3"`` (or ``W/"3"``) or ``?version=3``."""
    raw = header if header is not None else query
    if raw is None:
        return None
    cleaned = raw.strip().removeprefix("W/").strip('"')
    number = storable_int(cleaned)
    if number is None:
        name = "If-Match" if header is not None else "version"
        raise bad(name, f"应为要素版本号（整数），收到 {raw!r}")
    return number


def storable_int(text: str) -> int | None:
    """``text`` as a non-negative integer the store can hold (ASCII digits, at most 2⁶³−1); else ``None``."""
    if not (text.isascii() and text.isdigit()) or len(text) > 19:
        return None
    number = int(text)
    return number if number <= INT64_MAX else None


async def json_body(request: Request) -> Any:
    """The request body parsed as JSON; 400 naming the position of a syntax error."""
    raw = await request.body()
    if not raw.strip():
        raise bad("body", "请求体为空，应为 GeoJSON Feature")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise bad("body", f"不是有效的 JSON：{exc}") from None


def etag(version: int) -> str:
    """Strong entity tag of a feature version."""
    return f'"{version}"'
