"""OGC API – Tiles metadata for the layers' vector tiles, under ``/ogc``.

The tiles themselves are the ones of ``/tiles/{layer}/{z}/{x}/{y}.mvt`` (XYZ: ``y`` counts rows
from the top, as in WebMercatorQuad). Here clients discover them: the tile matrix set
(``/tileMatrixSets/WebMercatorQuad``, OGC 17-083r4 JSON), each collection's tilesets list and
tileset metadata with a templated ``item`` link, and the standard tile path
``/collections/{id}/tiles/WebMercatorQuad/{tileMatrix}/{tileRow}/{tileCol}`` — an alias of
the XYZ route with ``z = tileMatrix``, ``x = tileCol``, ``y = tileRow``.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from starlette.responses import Response

from safemap.api.http.auth import county_scope, read_scope
from safemap.api.http.deps import get_store
from safemap.api.http.errors import ApiError
from safemap.layers.catalogue import Layer
from safemap.layers.definitions import LAYERS
from safemap.layers.schemas import layer_json_schema
from safemap.layers.store import FeatureStore
from safemap.layers.tiles import MAX_ZOOM, render_tile, tile_properties

JSON = "application/json"
MVT = "application/vnd.mapbox-vector-tile"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
WEB_MERCATOR = "http://www.opengis.net/def/crs/EPSG/0/3857"
TMS_ID = "WebMercatorQuad"
TMS_URI = "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad"
REL_TILING_SCHEME = "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme"
REL_TILING_SCHEMES = "http://www.opengis.net/def/rel/ogc/1.0/tiling-schemes"
REL_TILESETS_VECTOR = "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tileset",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tilesets-list",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/geodata-tilesets",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/mvt",
    "http://www.opengis.net/spec/tms/2.0/conf/tilematrixset",
    "http://www.opengis.net/spec/tms/2.0/conf/json-tilematrixset",
]
#: Half the side of the Web Mercator square (metres) and the standardised pixel size (0.28 mm).
_ORIGIN = 20037508.3427892
_PIXEL_M = 0.00028
_TILE = 256
_DIMENSION = {"POINT": 0, "LINESTRING": 1, "MULTIPOLYGON": 2}
_SPATIAL = {layer.name: layer for layer in LAYERS if layer.is_spatial}


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/ogc"


def _json(body: Any) -> Response:
    return Response(orjson.dumps(body), media_type=JSON)


def _layer(collection_id: str) -> Layer:
    try:
        return _SPATIAL[collection_id]
    except KeyError:
        raise ApiError(404, "not_found", f"没有要素集合 {collection_id!r}") from None


def _tms(tms_id: str) -> None:
    if tms_id != TMS_ID:
        raise ApiError(404, "not_found", f"没有瓦片矩阵集 {tms_id!r}；支持：{TMS_ID}")


def collection_links(url: str, layer: Layer) -> list[dict[str, Any]]:
    """The links of a collection to its vector tilesets."""
    return [{"rel": REL_TILESETS_VECTOR, "type": JSON, "title": f"{layer.label}矢量瓦片", "href": url + "/tiles"}]


def landing_links(base: str) -> list[dict[str, Any]]:
    """The landing page's link to the tile matrix sets."""
    return [{"rel": REL_TILING_SCHEMES, "type": JSON, "title": "瓦片矩阵集", "href": base + "/tileMatrixSets"}]


@cache
def web_mercator_quad() -> dict[str, Any]:
    """The WebMercatorQuad tile matrix set (OGC 17-083r4, JSON encoding), levels 0–MAX_ZOOM."""
    matrices = []
    for z in range(MAX_ZOOM + 1):
        cell = 2 * _ORIGIN / _TILE / 2**z
        matrices.append(
            {
                "id": str(z),
                "scaleDenominator": cell / _PIXEL_M,
                "cellSize": cell,
                "cornerOfOrigin": "topLeft",
                "pointOfOrigin": [-_ORIGIN, _ORIGIN],
                "tileWidth": _TILE,
                "tileHeight": _TILE,
                "matrixWidth": 2**z,
                "matrixHeight": 2**z,
            }
        )
    return {
        "id": TMS_ID,
        "title": "Google Maps Compatible for the World",
        "uri": TMS_URI,
        "crs": WEB_MERCATOR,
        "orderedAxes": ["X", "Y"],
        "wellKnownScaleSet": "http://www.opengis.net/def/wkss/OGC/1.0/GoogleMapsCompatible",
        "tileMatrices": matrices,
    }


def _tileset_summary(layer: Layer, url: str, base: str) -> dict[str, Any]:
    return {
        "title": f"{layer.label}矢量瓦片",
        "dataType": "vector",
        "crs": WEB_MERCATOR,
        "tileMatrixSetURI": TMS_URI,
        "links": [
            {"rel": "self", "type": JSON, "title": "瓦片集", "href": f"{url}/tiles/{TMS_ID}"},
            {"rel": REL_TILING_SCHEME, "type": JSON, "title": TMS_ID, "href": f"{base}/tileMatrixSets/{TMS_ID}"},
        ],
    }


def tileset(layer: Layer, store: FeatureStore, base: str, root: str) -> dict[str, Any]:
    """The tileset metadata of ``layer`` in WebMercatorQuad (OGC API – Tiles, /req/tileset)."""
    url = f"{base}/collections/{layer.name}"
    body = _tileset_summary(layer, url, base)
    schema = layer_json_schema(layer)["properties"]
    body["description"] = (
        f"与 XYZ 地址 {root}/tiles/{layer.name}/{{z}}/{{x}}/{{y}}.mvt 相同（z=tileMatrix, x=tileCol, y=tileRow）"
    )
    body["links"].append(
        {
            "rel": "item",
            "type": MVT,
            "title": "瓦片（Mapbox Vector Tile）",
            "templated": True,
            "href": f"{url}/tiles/{TMS_ID}/{{tileMatrix}}/{{tileRow}}/{{tileCol}}",
        }
    )
    body["layers"] = [
        {
            "id": layer.name,
            "title": layer.label,
            "dataType": "vector",
            "geometryDimension": _DIMENSION.get(layer.storage_geometry),
            "minTileMatrix": "0",
            "maxTileMatrix": str(MAX_ZOOM),
            "propertiesSchema": {
                "type": "object",
                "properties": {name: schema[name] for name in ("id", *tile_properties(layer)) if name in schema},
            },
        }
    ]
    bbox, _ = store.layer_extent(layer.name)
    if bbox:
        body["boundingBox"] = {"lowerLeft": [bbox[0], bbox[1]], "upperRight": [bbox[2], bbox[3]], "crs": CRS84}
    return body


def build_router() -> APIRouter:
    """The Tiles routes (included in the ``/ogc`` router)."""
    router = APIRouter(tags=["OGC API – Tiles"])

    @router.get("/tileMatrixSets", summary="瓦片矩阵集列表")
    async def tile_matrix_sets(request: Request) -> Response:
        base = _base(request)
        tms = web_mercator_quad()
        return _json(
            {
                "links": [{"rel": "self", "type": JSON, "href": base + "/tileMatrixSets"}],
                "tileMatrixSets": [
                    {
                        "id": TMS_ID,
                        "title": tms["title"],
                        "uri": TMS_URI,
                        "crs": WEB_MERCATOR,
                        "links": [
                            {"rel": "self", "type": JSON, "title": TMS_ID, "href": f"{base}/tileMatrixSets/{TMS_ID}"}
                        ],
                    }
                ],
            }
        )

    @router.get("/tileMatrixSets/{tms_id}", summary="瓦片矩阵集定义")
    async def tile_matrix_set(tms_id: str) -> Response:
        _tms(tms_id)
        return _json(web_mercator_quad())

    @router.get("/collections/{collection_id}/tiles", summary="要素集合的矢量瓦片集列表")
    async def tilesets(request: Request, collection_id: str) -> Response:
        layer = _layer(collection_id)
        base = _base(request)
        url = f"{base}/collections/{layer.name}"
        return _json(
            {
                "links": [{"rel": "self", "type": JSON, "href": url + "/tiles"}],
                "tilesets": [_tileset_summary(layer, url, base)],
            }
        )

    @router.get("/collections/{collection_id}/tiles/{tms_id}", summary="矢量瓦片集元数据")
    async def tileset_metadata(
        request: Request, collection_id: str, tms_id: str, store: FeatureStore = Depends(get_store)
    ) -> Response:
        layer = _layer(collection_id)
        _tms(tms_id)
        root = str(request.base_url).rstrip("/")
        return _json(await run_in_threadpool(tileset, layer, store, _base(request), root))

    @router.get(
        "/collections/{collection_id}/tiles/{tms_id}/{tile_matrix}/{tile_row}/{tile_col}",
        summary="一个矢量瓦片（MVT）",
        response_class=Response,
    )
    async def tile(
        request: Request,
        collection_id: str,
        tms_id: str,
        tile_matrix: int,
        tile_row: int,
        tile_col: int,
        store: FeatureStore = Depends(get_store),
    ) -> Response:
        layer = _layer(collection_id)
        _tms(tms_id)
        owner = read_scope(request, layer)
        seen = county_scope(request)
        data = await run_in_threadpool(
            lambda: render_tile(store, layer.name, tile_matrix, tile_col, tile_row, owner=owner, counties=seen)
        )
        return Response(data, media_type=MVT, headers={"Cache-Control": "max-age=60"})

    return router
