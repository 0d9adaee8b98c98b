"""OGC API – Features Part 1 (Core, GeoJSON, OAS 3.0, HTML) under ``/ogc``.

QGIS ("WFS / OGC API – Features" connection to ``/ogc``), GDAL's OAPIF driver and OWSLib
read SafeMap's layers through it. Collections, queryables and schemas come from the
layer catalogue. Paging uses an ``offset`` extension parameter behind ``next``/``prev``
links, as pygeoapi and pg_featureserv do. Requirement ids in comments refer to
OGC 17-069r4 (e.g. ``/req/core/fc-limit-default-minimum-maximum``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from starlette.responses import Response

from safemap.api.http import ogc_html
from safemap.api.http.deps import get_settings, get_store
from safemap.api.http.errors import ApiError
from safemap.api.http.params import bad, parse_bbox, parse_datetime, storable_int
from safemap.api.settings import Settings
from safemap.layers.catalogue import Layer
from safemap.layers.definitions import LAYERS
from safemap.layers.errors import FeatureNotFound
from safemap.layers.filters import parse_filters
from safemap.layers.geojson import feature_bytes, feature_collection_bytes
from safemap.layers.schemas import INT64_MAX, layer_json_schema
from safemap.layers.store import FeatureStore

GEOJSON = "application/geo+json"
JSON = "application/json"
HTML = "text/html"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
]
DEFAULT_LIMIT, MAX_LIMIT = 10, 10_000
ITEM_PARAMS = frozenset({"limit", "offset", "bbox", "bbox-crs", "crs", "datetime", "f"})
_GEOMETRY_FORMATS = {
    "POINT": "geometry-point",
    "LINESTRING": "geometry-linestring",
    "MULTIPOLYGON": "geometry-multipolygon",
}
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


def collection_info(layer: Layer, store: FeatureStore, base: str) -> dict[str, Any]:
    """Collection metadata with its extent and links (/req/core/sfc-md-*)."""
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
        "crs": [CRS84],
        "storageCrs": CRS84,
        "extent": extent,
        "links": [
            {"rel": "self", "type": JSON, "title": layer.label, "href": url + "?f=json"},
            {"rel": "alternate", "type": HTML, "title": layer.label, "href": url + "?f=html"},
            {"rel": "items", "type": GEOJSON, "title": f"{layer.label}要素", "href": url + "/items?f=json"},
            {"rel": "items", "type": HTML, "title": f"{layer.label}要素", "href": url + "/items?f=html"},
            {
                "rel": "http://www.opengis.net/def/rel/ogc/1.0/queryables",
                "type": "application/schema+json",
                "title": "可查询字段",
                "href": url + "/queryables",
            },
            {"rel": "describedby", "type": "application/schema+json", "title": "要素结构", "href": url + "/schema"},
        ],
    }


def queryables(layer: Layer, base: str) -> dict[str, Any]:
    """The fields usable as ``field=value`` filters, as JSON Schema (Features Part 3)."""
    schema = layer_json_schema(layer)
    props = {
        name: prop
        for name, prop in schema["properties"].items()
        if prop.get("type") in ("string", "integer", "boolean") and name != "id" and "format" not in prop
    }
    props["geom"] = {
        "title": "几何",
        "format": _GEOMETRY_FORMATS.get(layer.storage_geometry, "geometry-any"),
        "x-ogc-role": "primary-geometry",
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{base}/collections/{layer.name}/queryables",
        "type": "object",
        "title": layer.label,
        "properties": props,
        "additionalProperties": False,
    }


def feature_schema(layer: Layer, base: str) -> dict[str, Any]:
    """The full feature schema (Features Part 5 style), with id and geometry roles."""
    schema = layer_json_schema(layer)
    schema["properties"]["id"]["x-ogc-role"] = "id"
    schema["properties"]["geom"] = {
        "format": _GEOMETRY_FORMATS.get(layer.storage_geometry, "geometry-any"),
        "x-ogc-role": "primary-geometry",
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{base}/collections/{layer.name}/schema",
        **schema,
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
    async def collections(request: Request, store: FeatureStore = Depends(get_store)) -> Response:
        _check_params(request, frozenset({"f"}))
        base = _base(request)
        infos = await run_in_threadpool(lambda: [collection_info(layer, store, base) for layer in SPATIAL])
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
    async def collection(request: Request, collection_id: str, store: FeatureStore = Depends(get_store)) -> Response:
        _check_params(request, frozenset({"f"}))
        layer = _layer(collection_id)
        info = await run_in_threadpool(collection_info, layer, store, _base(request))
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
        return _json(feature_schema(_layer(collection_id), _base(request)), "application/schema+json")

    @router.get("/collections/{collection_id}/items", summary="要素（GeoJSON）")
    async def items(request: Request, collection_id: str, store: FeatureStore = Depends(get_store)) -> Response:
        layer = _layer(collection_id)
        filterable = set(queryables(layer, "")["properties"]) - {"geom"}
        _check_params(request, ITEM_PARAMS | filterable)
        fmt = _format(request)
        params = request.query_params
        limit = _int_param(params.get("limit"), "limit", DEFAULT_LIMIT, 1)
        # /req/core/fc-limit-response-1: a larger limit is lowered to the maximum, not refused.
        limit = min(limit, MAX_LIMIT)
        offset = _int_param(params.get("offset"), "offset", 0, 0)
        # GDAL asks for crs/bbox-crs explicitly (Part 2 names); CRS84 is the only one served.
        for name in ("crs", "bbox-crs"):
            if params.get(name, CRS84) != CRS84:
                raise bad(name, f"只支持 {CRS84}")
        bbox = parse_bbox(params.get("bbox"))
        period = parse_datetime(params.get("datetime"))
        filters = parse_filters(store.layer(layer.name), {k: v for k, v in params.items() if k in filterable})
        page = await run_in_threadpool(
            store.query,
            layer.name,
            bbox=bbox,
            filters=filters,
            time_range=period,
            limit=limit,
            offset=offset,
        )
        links = _item_links(request, offset, limit, len(page), page.number_matched or 0)
        if fmt == "html":
            return ogc_html.items(layer, page, links)
        stamp = _iso(dt.datetime.now(dt.UTC).replace(microsecond=0))
        body = feature_collection_bytes(
            page, numberMatched=page.number_matched, numberReturned=len(page), timeStamp=stamp, links=links
        )
        return Response(body, media_type=GEOJSON)

    @router.get("/collections/{collection_id}/items/{feature_id}", summary="一个要素")
    async def item(
        request: Request, collection_id: str, feature_id: str, store: FeatureStore = Depends(get_store)
    ) -> Response:
        layer = _layer(collection_id)
        _check_params(request, frozenset({"f", "crs"}))
        if request.query_params.get("crs", CRS84) != CRS84:
            raise bad("crs", f"只支持 {CRS84}")
        number = storable_int(feature_id)
        if number is None:  # not an id, or one beyond what the store holds: no such feature (OGC: 404)
            raise ApiError(404, "not_found", f"{layer.label}中没有编号为 {feature_id!r} 的要素")
        try:
            feature = await run_in_threadpool(store.get, layer.name, number)
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
        return Response(
            feature_bytes(feature, links=links),
            media_type=GEOJSON,
            headers={"ETag": f'"{feature["properties"]["version"]}"'},
        )

    return router


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
