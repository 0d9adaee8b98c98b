"""OGC API – Features Part 1 (Core, GeoJSON, OAS 3.0, HTML) under ``/ogc``.

QGIS ("WFS / OGC API – Features" connection to ``/ogc``), GDAL's OAPIF driver and OWSLib
read SafeMap's layers through it. Collections, queryables and schemas come from the
layer catalogue. Paging uses an ``offset`` extension parameter behind ``next``/``prev``
links, as pygeoapi and pg_featureserv do. Requirement ids in comments refer to
OGC 17-069r4 (e.g. ``/req/core/fc-limit-default-minimum-maximum``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from typing import Any

import numpy as np
import orjson
import shapely
from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from starlette.responses import Response, StreamingResponse

from safemap.api.http import ogc_html, ogc_schema, ogc_tiles
from safemap.api.http.auth import county_scope, read_scope
from safemap.api.http.deps import get_settings, get_store
from safemap.api.http.errors import ApiError
from safemap.api.http.ogc_schema import feature_schema, geojson_feature_schema, queryables
from safemap.api.http.params import bad, parse_bbox, parse_datetime, storable_int
from safemap.api.services import ogc_crs
from safemap.api.services.ogc_crs import CRS84, ServedCrs
from safemap.api.services.ownership import owns
from safemap.api.settings import Settings
from safemap.layers.catalogue import Layer
from safemap.layers.definitions import LAYERS
from safemap.layers.errors import FeatureNotFound
from safemap.layers.filters import parse_filters
from safemap.layers.geojson import feature_bytes, feature_collection_bytes, feature_collection_head
from safemap.layers.geojson_sql import framed
from safemap.layers.model import Page
from safemap.layers.schemas import INT64_MAX
from safemap.layers.store import FeatureStore

GEOJSON = "application/geo+json"
JSON = "application/json"
HTML = "text/html"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    *ogc_schema.CONFORMANCE,
    *ogc_tiles.CONFORMANCE,
]
DEFAULT_LIMIT, MAX_LIMIT = 10, 10_000
ITEM_PARAMS = frozenset({"limit", "offset", "bbox", "bbox-crs", "crs", "datetime", "f"})
# Attribute tables (rules, vehicle profiles) are configuration, not feature collections.
SPATIAL = tuple(layer for layer in LAYERS if layer.is_spatial)
_LAYERS = {layer.name: layer for layer in SPATIAL}


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/ogc"


def _format(request: Request, allowed: tuple[str, ...] = ("json", "html")) -> str:
    """``json`` or ``html`` from ``?f=`` or the Accept header (/req/core/..., /req/html/...)."""
    f = request.query_params.get("f")
    if f is not None:
        if f not in allowed:
            raise bad("f", f"不支持的格式 {f!r}；可选：{', '.join(allowed)}")
        return f
    accept = request.headers.get("accept", "")
    if "text/html" in accept and "json" not in accept.split("text/html")[0]:
        return "html"
    return "json"


def _json(body: Any, media: str = JSON) -> Response:
    return Response(orjson.dumps(body), media_type=media)


def _check_params(request: Request, allowed: frozenset[str]) -> None:
    """Unknown query parameters are refused (/req/core/query-param-unknown)."""
    unknown = sorted(set(request.query_params) - allowed)
    if unknown:
        raise bad(unknown[0], f"未知的查询参数；可用：{', '.join(sorted(allowed))}")


def _layer(collection_id: str) -> Layer:
    try:
        return _LAYERS[collection_id]
    except KeyError:
        raise ApiError(404, "not_found", f"没有要素集合 {collection_id!r}") from None


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def collection_info(layer: Layer, store: FeatureStore, base: str, crs: list[str]) -> dict[str, Any]:
    """Collection metadata with its extent, CRSs (Part 2) and links (/req/core/sfc-md-*)."""
    bbox, period = store.layer_extent(layer.name)
    extent: dict[str, Any] = {
        "spatial": {"bbox": [list(bbox) if bbox else [-180, -90, 180, 90]], "crs": CRS84},
    }
    if period is not None:
        extent["temporal"] = {
            "interval": [[_iso(period[0]), _iso(period[1])]],
            "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian",
        }
    url = f"{base}/collections/{layer.name}"
    return {
        "id": layer.name,
        "title": layer.label,
        "description": layer.description or f"{layer.group} · {layer.label}",
        "itemType": "feature",
        "crs": crs,
        "storageCrs": CRS84,
        "extent": extent,
        "links": [
            {"rel": "self", "type": JSON, "title": layer.label, "href": url + "?f=json"},
            {"rel": "alternate", "type": HTML, "title": layer.label, "href": url + "?f=html"},
            {"rel": "items", "type": GEOJSON, "title": f"{layer.label}要素", "href": url + "/items?f=json"},
            {"rel": "items", "type": HTML, "title": f"{layer.label}要素", "href": url + "/items?f=html"},
            *ogc_schema.schema_links(url),
            *ogc_tiles.collection_links(url, layer),
        ],
    }


def build_router() -> APIRouter:
    """The ``/ogc`` routes (collections generated from the layer catalogue)."""
    router = APIRouter(prefix="/ogc", tags=["OGC API – Features"])

    @router.get("", summary="OGC API 着陆页")
    async def landing(request: Request, settings: Settings = Depends(get_settings)) -> Response:
        _check_params(request, frozenset({"f"}))
        base = _base(request)
        title = settings.title
        body = {
            "title": title,
            "description": "SafeMap 图层（OGC API – Features）：在 QGIS 中添加为 “WFS / OGC API - Features” 连接",
            "links": [
                {"rel": "self", "type": JSON, "title": "本页", "href": base + "?f=json"},
                {"rel": "alternate", "type": HTML, "title": "本页（HTML）", "href": base + "?f=html"},
                {
                    "rel": "service-desc",
                    "type": "application/vnd.oai.openapi+json;version=3.0",
                    "title": "OpenAPI 定义",
                    "href": str(request.base_url) + "openapi.json",
                },
                {"rel": "service-doc", "type": HTML, "title": "接口文档", "href": str(request.base_url) + "docs"},
                {"rel": "conformance", "type": JSON, "title": "符合的标准", "href": base + "/conformance"},
                {"rel": "data", "type": JSON, "title": "要素集合", "href": base + "/collections"},
                *ogc_tiles.landing_links(base),
            ],
        }
        if _format(request) == "html":
            return ogc_html.landing(body)
        return _json(body)

    @router.get("/conformance", summary="符合的一致性类")
    async def conformance(request: Request) -> Response:
        _check_params(request, frozenset({"f"}))
        body = {"conformsTo": CONFORMANCE}
        if _format(request) == "html":
            return ogc_html.conformance(body)
        return _json(body)

    @router.get("/collections", summary="要素集合列表")
    async def collections(
        request: Request, store: FeatureStore = Depends(get_store), settings: Settings = Depends(get_settings)
    ) -> Response:
        _check_params(request, frozenset({"f"}))
        base = _base(request)
        crs = ogc_crs.served_uris(settings.extent)
        infos = await run_in_threadpool(lambda: [collection_info(layer, store, base, crs) for layer in SPATIAL])
        body = {
            "links": [
                {"rel": "self", "type": JSON, "href": base + "/collections?f=json"},
                {"rel": "alternate", "type": HTML, "href": base + "/collections?f=html"},
            ],
            "collections": infos,
        }
        if _format(request) == "html":
            return ogc_html.collections(body)
        return _json(body)

    @router.get("/collections/{collection_id}", summary="一个要素集合")
    async def collection(
        request: Request,
        collection_id: str,
        store: FeatureStore = Depends(get_store),
        settings: Settings = Depends(get_settings),
    ) -> Response:
        _check_params(request, frozenset({"f"}))
        layer = _layer(collection_id)
        crs = ogc_crs.served_uris(settings.extent)
        info = await run_in_threadpool(collection_info, layer, store, _base(request), crs)
        if _format(request) == "html":
            return ogc_html.collection(info)
        return _json(info)

    @router.get("/collections/{collection_id}/queryables", summary="可查询字段")
    async def get_queryables(request: Request, collection_id: str) -> Response:
        _check_params(request, frozenset({"f"}))
        return _json(queryables(_layer(collection_id), _base(request)), "application/schema+json")

    @router.get("/collections/{collection_id}/schema", summary="要素结构")
    async def get_schema(request: Request, collection_id: str) -> Response:
        _check_params(request, frozenset({"f"}))
        return _json(feature_schema(_layer(collection_id), _base(request)), ogc_schema.SCHEMA_JSON)

    @router.get("/collections/{collection_id}/schema/geojson", summary="GeoJSON 要素结构（GDAL/QGIS 读取字段类型）")
    async def get_geojson_schema(request: Request, collection_id: str) -> Response:
        _check_params(request, frozenset({"f"}))
        return _json(geojson_feature_schema(_layer(collection_id), _base(request)), ogc_schema.SCHEMA_JSON)

    @router.get(
        "/collections/{collection_id}/items",
        summary="要素（GeoJSON）",
        openapi_extra={"parameters": [_CRS_PARAM, _BBOX_CRS_PARAM]},
    )
    async def items(
        request: Request,
        collection_id: str,
        store: FeatureStore = Depends(get_store),
        settings: Settings = Depends(get_settings),
    ) -> Response:
        layer = _layer(collection_id)
        owner = read_scope(request, layer)
        filterable = set(queryables(layer, "")["properties"]) - {"geom"}
        _check_params(request, ITEM_PARAMS | filterable)
        fmt = _format(request)
        params = request.query_params
        limit = _int_param(params.get("limit"), "limit", DEFAULT_LIMIT, 1)
        # /req/core/fc-limit-response-1: a larger limit is lowered to the maximum, not refused.
        limit = min(limit, MAX_LIMIT)
        offset = _int_param(params.get("offset"), "offset", 0, 0)
        # Features Part 2: the response in ``crs``, the bbox read in ``bbox-crs`` (both default CRS84).
        out_crs = ogc_crs.resolve(params.get("crs"), settings.extent, "crs")
        bbox_crs = ogc_crs.resolve(params.get("bbox-crs"), settings.extent, "bbox-crs")
        bbox = _bbox(params.get("bbox"), bbox_crs)
        period = parse_datetime(params.get("datetime"))
        filters = parse_filters(store.layer(layer.name), {k: v for k, v in params.items() if k in filterable})
        wanted: dict[str, Any] = {
            "bbox": bbox,
            "filters": filters,
            "time_range": period,
            "limit": limit,
            "offset": offset,
            "owner": owner,
            "counties": county_scope(request),
        }
        if fmt != "html" and out_crs.is_crs84:
            # Lon/lat as stored: the GeoJSON text is written by the store (PostGIS: by the database) and streamed.
            stream = await run_in_threadpool(lambda: store.query_geojson(layer.name, **wanted))
            links = _item_links(request, offset, limit, stream.number_returned, stream.number_matched)
            head = feature_collection_head(
                numberMatched=stream.number_matched,
                numberReturned=stream.number_returned,
                timeStamp=_iso(dt.datetime.now(dt.UTC).replace(microsecond=0)),
                links=links,
            )
            return StreamingResponse(framed(head, stream), media_type=GEOJSON, headers=_content_crs(out_crs))
        page = await run_in_threadpool(lambda: store.query(layer.name, **wanted))
        links = _item_links(request, offset, limit, len(page), page.number_matched or 0)
        if fmt == "html":
            return ogc_html.items(layer, page, links)
        stamp = _iso(dt.datetime.now(dt.UTC).replace(microsecond=0))
        page = await run_in_threadpool(_in_crs, page, out_crs)
        body = feature_collection_bytes(
            page, numberMatched=page.number_matched, numberReturned=len(page), timeStamp=stamp, links=links
        )
        return Response(body, media_type=GEOJSON, headers=_content_crs(out_crs))

    @router.get(
        "/collections/{collection_id}/items/{feature_id}",
        summary="一个要素",
        openapi_extra={"parameters": [_CRS_PARAM]},
    )
    async def item(
        request: Request,
        collection_id: str,
        feature_id: str,
        store: FeatureStore = Depends(get_store),
        settings: Settings = Depends(get_settings),
    ) -> Response:
        layer = _layer(collection_id)
        owner = read_scope(request, layer)
        _check_params(request, frozenset({"f", "crs"}))
        out_crs = ogc_crs.resolve(request.query_params.get("crs"), settings.extent, "crs")
        number = storable_int(feature_id)
        if number is None:  # not an id, or one beyond what the store holds: no such feature (OGC: 404)
            raise ApiError(404, "not_found", f"{layer.label}中没有编号为 {feature_id!r} 的要素")
        try:
            seen = county_scope(request)
            feature = await run_in_threadpool(lambda: store.get(layer.name, number, counties=seen))
            if owner is not None and not owns(layer, feature, owner, store):
                raise FeatureNotFound(f"{layer.label}中没有编号为 {feature_id!r} 的要素")
        except FeatureNotFound as exc:
            raise ApiError(404, "not_found", exc.message) from None
        base = _base(request)
        url = f"{base}/collections/{layer.name}/items/{feature_id}"
        links = [
            {"rel": "self", "type": GEOJSON, "href": url + "?f=json"},
            {"rel": "alternate", "type": HTML, "href": url + "?f=html"},
            {"rel": "collection", "type": JSON, "href": f"{base}/collections/{layer.name}"},
        ]
        if _format(request) == "html":
            return ogc_html.item(layer, feature, links)
        if not out_crs.is_crs84 and feature["geometry"] is not None:
            geom = ogc_crs.to_served(np.array([shapely.geometry.shape(feature["geometry"])], dtype=object), out_crs)
            feature = {**feature, "geometry": geom[0].__geo_interface__}
        return Response(
            feature_bytes(feature, links=links),
            media_type=GEOJSON,
            headers={"ETag": f'"{feature["properties"]["version"]}"', **_content_crs(out_crs)},
        )

    router.include_router(ogc_tiles.build_router())
    return router


_CRS_PARAM = {
    "name": "crs",
    "in": "query",
    "required": False,
    "schema": {"type": "string", "format": "uri"},
    "description": "输出坐标参照系（OGC API Features Part 2），取集合 crs 列表中的一项；默认 CRS84。"
    "EPSG:4326/4490 为纬度在前，高斯-克吕格投影为 X（北）在前",
}
_BBOX_CRS_PARAM = {
    "name": "bbox-crs",
    "in": "query",
    "required": False,
    "schema": {"type": "string", "format": "uri"},
    "description": "bbox 所用的坐标参照系（按该坐标系的轴顺序书写）；默认 CRS84",
}


def _content_crs(crs: ServedCrs) -> dict[str, str]:
    """The ``Content-Crs`` header of a response in ``crs`` (/req/crs/ogc-crs-header)."""
    return {"Content-Crs": f"<{crs.uri}>"}


def _bbox(raw: str | None, crs: ServedCrs) -> tuple[float, float, float, float] | None:
    """The ``bbox`` parameter as a CRS84 box; written in ``crs`` and its axis order (Part 2 ``bbox-crs``)."""
    if crs.is_crs84 or raw is None or raw == "":
        return parse_bbox(raw)
    try:
        parts = [float(p) for p in raw.split(",")]
    except ValueError:
        parts = []
    if len(parts) == 6:
        parts = [parts[0], parts[1], parts[3], parts[4]]
    if len(parts) != 4 or not all(math.isfinite(p) for p in parts):
        raise bad("bbox", f"应为4个数（{crs.uri} 坐标，按该坐标系的轴顺序）")
    box = ogc_crs.bbox_to_crs84((parts[0], parts[1], parts[2], parts[3]), crs)
    return parse_bbox(",".join(repr(v) for v in box))


def _in_crs(page: Page, crs: ServedCrs) -> Page:
    """``page`` with its geometries in ``crs`` (the same page for CRS84)."""
    if crs.is_crs84:
        return page
    return dataclasses.replace(page, geometries=ogc_crs.to_served(page.geometries, crs))


def _int_param(raw: str | None, name: str, default: int, minimum: int) -> int:
    if raw is None:
        return default
    number = storable_int(raw)
    if number is None or number < minimum:
        raise bad(name, f"应为不小于 {minimum} 的整数（最大 {INT64_MAX}），收到 {raw!r}")
    return number


def _item_links(request: Request, offset: int, limit: int, returned: int, matched: int) -> list[dict[str, Any]]:
    def url(**changes: Any) -> str:
        return str(request.url.include_query_params(**changes))

    links = [
        {"rel": "self", "type": GEOJSON, "title": "本页", "href": url(f="json")},
        {"rel": "alternate", "type": HTML, "title": "本页（HTML）", "href": url(f="html")},
        {"rel": "collection", "type": JSON, "href": str(request.url).split("/items")[0]},
    ]
    if offset + returned < matched:
        links.append(
            {"rel": "next", "type": GEOJSON, "title": "下一页", "href": url(offset=offset + returned, limit=limit)}
        )
    if offset > 0:
        links.append(
            {"rel": "prev", "type": GEOJSON, "title": "上一页", "href": url(offset=max(0, offset - limit), limit=limit)}
        )
    return links
