"""Layer routes: the catalogue, GeoJSON queries and feature create/read/update/delete.

Routes are generated per layer from the catalogue, so ``/docs`` shows each layer's
own fields and filters; unknown layer names fall through to a 404.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from starlette.responses import Response, StreamingResponse

from safemap.api.http.auth import county_scope, read_scope, require_editor
from safemap.api.http.deps import get_store
from safemap.api.http.errors import ApiError
from safemap.api.http.openapi import GeoJSONResponse
from safemap.api.http.params import (
    FeatureIdPath,
    OffsetQuery,
    bad,
    etag,
    json_body,
    parse_bbox,
    parse_datetime,
    parse_version,
)
from safemap.api.http.routers import transfer as routes_transfer
from safemap.api.services import editing
from safemap.api.services.ownership import owns
from safemap.layers.catalogue import Layer
from safemap.layers.definitions import LAYERS
from safemap.layers.errors import UnknownLayer
from safemap.layers.filters import parse_filters
from safemap.layers.geojson import feature_bytes, feature_collection_head
from safemap.layers.geojson_sql import framed
from safemap.layers.schemas import layer_json_schema
from safemap.layers.store import FeatureStore

GEOJSON = "application/geo+json"
MAX_LIMIT = 10_000
DEFAULT_LIMIT = 1000
RESERVED = frozenset({"bbox", "limit", "offset", "q", "datetime", "f", "sort"})


def describe_layer(layer: Layer, count: int | None = None) -> dict[str, Any]:
    """The catalogue entry of a layer as JSON (fields, enums with labels, style, links)."""

    def field_info(f: Any) -> dict[str, Any]:
        info: dict[str, Any] = {
            "name": f.name,
            "type": f.type,
            "label": f.label,
            "required": f.required,
            "readOnly": f.computed,
        }
        for key in ("unit", "minimum", "maximum", "max_length", "pattern", "references"):
            if getattr(f, key) is not None:
                info[key] = getattr(f, key)
        if f.enum is not None:
            info["enum"] = [
                {"code": m.code, "label": m.label, **({"color": m.color} if m.color else {})} for m in f.enum.members
            ]
        return info

    style = layer.style
    return {
        "name": layer.name,
        "label": layer.label,
        "group": layer.group,
        "geometry_types": list(layer.geometry_types),
        "temporal": layer.temporal,
        "editors": sorted(layer.editors),
        "fields": [field_info(f) for f in layer.fields],
        "children": [
            {"name": c.name, "label": c.label, "fields": [field_info(f) for f in c.fields]} for c in layer.children
        ],
        "spatial": layer.is_spatial,
        "style": None
        if style is None
        else {
            "kind": style.kind,
            "color": style.color,
            "by": style.by,
            "radius": style.radius,
            "weight": style.weight,
            "cluster": style.cluster,
            "dash": list(style.dash_when) if style.dash_when else None,
        },
        **({"count": count} if count is not None else {}),
        "links": [
            {"rel": "items", "href": f"/api/layers/{layer.name}", "type": GEOJSON},
            {"rel": "describedby", "href": f"/api/layers/{layer.name}/schema", "type": "application/schema+json"},
        ],
    }


def _filter_parameters(layer: Layer) -> list[dict[str, Any]]:
    params = []
    for f in layer.fields:
        if f.type in ("str", "enum", "int", "bool") and f.name != "id":
            schema: dict[str, Any] = {"type": "string"}
            if f.enum is not None:
                schema["description"] = f.enum.describe()
            params.append(
                {
                    "name": f.name,
                    "in": "query",
                    "required": False,
                    "schema": schema,
                    "description": f"按{f.label}筛选；多个取值用逗号分隔",
                }
            )
    return params


def _links(request: Request, offset: int, limit: int, returned: int, matched: int | None) -> list[dict[str, Any]]:
    def url(new_offset: int) -> str:
        return str(request.url.include_query_params(offset=new_offset, limit=limit))

    links = [{"rel": "self", "href": str(request.url), "type": GEOJSON}]
    if matched is not None and offset + returned < matched:
        links.append({"rel": "next", "href": url(offset + returned), "type": GEOJSON})
    if offset > 0:
        links.append({"rel": "prev", "href": url(max(0, offset - limit)), "type": GEOJSON})
    return links


def _add_layer_routes(router: APIRouter, layer: Layer) -> None:
    name = layer.name
    tag = f"{layer.label} {name}"
    body_schema = {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["type", "geometry", "properties"],
                        "properties": {
                            "type": {"const": "Feature"},
                            "geometry": {
                                "type": "object",
                                "description": f"GeoJSON, lon/lat: {', '.join(layer.geometry_types)}",
                            },
                            "properties": layer_json_schema(layer),
                        },
                    }
                }
            },
        }
    }

    @router.get(
        f"/{name}",
        tags=[tag],
        summary=f"查询{layer.label}",
        openapi_extra={"parameters": _filter_parameters(layer)},
        response_class=GeoJSONResponse,
    )
    async def items(
        request: Request,
        bbox: str | None = Query(None, description="最小经度,最小纬度,最大经度,最大纬度 (CRS84)"),
        limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
        offset: OffsetQuery = 0,
        q: str | None = Query(None, max_length=100, description="名称包含的文字"),
        datetime: str | None = Query(None, description=f"RFC 3339 时刻或区间，作用于 {layer.temporal}"),
        sort: str | None = Query(
            None, max_length=200, description="排序字段，逗号分隔，前加 - 为降序，如 -updated_at,name（默认按编号）"
        ),
        store: FeatureStore = Depends(get_store),
    ) -> Response:
        owner = read_scope(request, layer)
        raw = {k: v for k, v in request.query_params.items() if k not in RESERVED}
        filters = parse_filters(store.layer(name), raw)
        box, period = parse_bbox(bbox), parse_datetime(datetime)
        stream = await run_in_threadpool(
            store.query_geojson,
            name,
            bbox=box,
            filters=filters,
            q=q,
            time_range=period,
            limit=limit,
            offset=offset,
            sort=sort,
            owner=owner,
            counties=county_scope(request),
        )
        links = _links(request, offset, limit, stream.number_returned, stream.number_matched)
        head = feature_collection_head(
            numberMatched=stream.number_matched, numberReturned=stream.number_returned, links=links
        )
        return StreamingResponse(framed(head, stream), media_type=GEOJSON)

    @router.get(f"/{name}/schema", tags=[tag], summary=f"{layer.label}的字段说明 (JSON Schema)")
    async def schema() -> dict[str, Any]:
        return layer_json_schema(layer)

    routes_transfer.add_routes(router, layer, tag)

    @router.get(
        f"/{name}/{{feature_id}}", tags=[tag], summary=f"读取一个{layer.label}要素", response_class=GeoJSONResponse
    )
    async def read(request: Request, feature_id: FeatureIdPath, store: FeatureStore = Depends(get_store)) -> Response:
        owner = read_scope(request, layer)
        seen = county_scope(request)
        feature = await run_in_threadpool(lambda: store.get(name, feature_id, counties=seen))
        if owner is not None and not owns(layer, feature, owner, store):
            raise ApiError(404, "not_found", f"没有编号为 {feature_id} 的{layer.label}")
        version = feature["properties"]["version"]
        return Response(feature_bytes(feature), media_type=GEOJSON, headers={"ETag": etag(version)})

    @router.post(
        f"/{name}",
        tags=[tag],
        status_code=201,
        summary=f"新增{layer.label}要素",
        openapi_extra=body_schema,
        response_class=GeoJSONResponse,
    )
    async def create(request: Request, store: FeatureStore = Depends(get_store)) -> Response:
        actor = require_editor(request, layer)
        body = await json_body(request)
        feature = await run_in_threadpool(editing.create_feature, store, name, body, actor)
        fid = feature["id"]
        return Response(
            feature_bytes(feature),
            status_code=201,
            media_type=GEOJSON,
            headers={"Location": f"/api/layers/{name}/{fid}", "ETag": etag(feature["properties"]["version"])},
        )

    @router.patch(
        f"/{name}/{{feature_id}}",
        tags=[tag],
        summary=f"修改{layer.label}要素（须提供版本号）",
        openapi_extra=body_schema,
        response_class=GeoJSONResponse,
    )
    async def patch(
        request: Request,
        feature_id: FeatureIdPath,
        if_match: str | None = Header(None, description='所编辑的版本，如 "3"'),
        store: FeatureStore = Depends(get_store),
    ) -> Response:
        actor = require_editor(request, layer)
        body = await json_body(request)
        if not isinstance(body, dict):
            raise bad("body", "应为 GeoJSON Feature 对象", 422)
        feature = await run_in_threadpool(
            editing.update_feature,
            store,
            name,
            feature_id,
            body,
            actor,
            expected_version=parse_version(if_match),
        )
        return Response(
            feature_bytes(feature), media_type=GEOJSON, headers={"ETag": etag(feature["properties"]["version"])}
        )

    @router.delete(
        f"/{name}/{{feature_id}}", tags=[tag], status_code=204, summary=f"删除{layer.label}要素（须提供版本号）"
    )
    async def remove(
        request: Request,
        feature_id: FeatureIdPath,
        if_match: str | None = Header(None),
        version: str | None = Query(None),
        store: FeatureStore = Depends(get_store),
    ) -> Response:
        actor = require_editor(request, layer)
        expected = parse_version(if_match, version)
        await run_in_threadpool(
            lambda: editing.delete_feature(store, name, feature_id, actor, expected_version=expected)
        )
        return Response(status_code=204)


def _allowed_methods(request: Request) -> str:
    """The methods the documented routes answer at the request's path (the ``Allow`` of a 405)."""
    methods: set[str] = set()
    for template, item in request.app.openapi()["paths"].items():
        if re.fullmatch(re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)), request.url.path):
            methods |= {m.upper() for m in item if m in ("get", "post", "put", "patch", "delete")}
    return ", ".join(sorted(methods))


def build_router() -> APIRouter:
    """The catalogue route, one route set per catalogue layer, and the unknown-layer fallback."""
    router = APIRouter(prefix="/api/layers")

    @router.get("", tags=["图层目录"], summary="图层目录（字段、枚举、样式、要素数）")
    async def catalogue(store: FeatureStore = Depends(get_store)) -> dict[str, Any]:
        counts = await run_in_threadpool(store.counts)
        return {"layers": [describe_layer(layer, counts.get(layer.name)) for layer in LAYERS]}

    for layer in LAYERS:
        _add_layer_routes(router, layer)

    @router.api_route("/{layer}", methods=["GET", "POST", "PATCH", "DELETE", "PUT"], include_in_schema=False)
    @router.api_route(
        "/{layer}/{rest:path}", methods=["GET", "POST", "PATCH", "DELETE", "PUT"], include_in_schema=False
    )
    async def unknown(request: Request, layer: str, rest: str = "") -> None:
        if any(lyr.name == layer for lyr in LAYERS):
            allowed = _allowed_methods(request)
            if allowed:
                message = f"{request.method} {request.url.path} 不受支持；此地址支持 {allowed}"
                raise ApiError(405, "method_not_allowed", message, headers={"Allow": allowed})
            raise ApiError(404, "not_found", f"图层 {layer} 下没有地址 {rest!r}（请查看 /docs）")
        names = ", ".join(lyr.name for lyr in LAYERS)
        raise UnknownLayer(f"没有图层 {layer!r}；现有图层：{names}")

    return router
