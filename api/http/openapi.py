"""The OpenAPI document completed: every operation documents its error answers with the error model.

FastAPI documents a 422 of its own shape (``detail``); SafeMap answers every error as
``{"error", "message", "problems"}`` (:mod:`safemap.api.http.errors`). :func:`install` replaces
that 422 and adds the statuses an operation can answer: reads 400/401/403/404/422/503, writes
also 409/413/415/428. Every operation may answer the last-resort 500 (a bug, in the same shape).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import TypeAdapter
from starlette.responses import Response

GEOJSON = "application/geo+json"

ERROR_SCHEMA: dict[str, Any] = {
    "title": "Error",
    "type": "object",
    "required": ["error", "message"],
    "properties": {
        "error": {"type": "string", "description": "错误代码，如 invalid、not_found、version_conflict"},
        "message": {"type": "string", "description": "中文说明"},
        "problems": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {
                    "field": {"type": "string"},
                    "message": {"type": "string"},
                    "row": {"type": ["integer", "null"]},
                },
            },
        },
    },
}

#: What every ``application/geo+json`` answer is (RFC 7946): a Feature or a FeatureCollection.
GEOJSON_SCHEMA: dict[str, Any] = {
    "title": "GeoJSON",
    "type": "object",
    "required": ["type"],
    "properties": {
        "type": {"enum": ["Feature", "FeatureCollection"]},
        "features": {"type": "array", "items": {"type": "object"}},
        "geometry": {"type": ["object", "null"]},
        "properties": {"type": ["object", "null"]},
    },
}

_DESCRIPTIONS = {
    400: "请求参数有误（problems 指出参数）",
    401: "缺少或无效的令牌",
    403: "令牌的角色无权进行此操作",
    404: "图层、要素或地址不存在",
    405: "该地址不支持此请求方法",
    409: "版本冲突或状态冲突（他人已修改、队伍已出动…）",
    413: "请求体或上传文件超过上限",
    415: "请求体的媒体类型不受支持",
    422: "请求体或参数未通过校验（problems 指出字段）",
    428: "修改或删除须给出版本号（If-Match）",
    500: "服务器内部错误（详情记入服务器日志）",
    503: "数据库正忙（Retry-After 秒后重试）",
}
#: A read may also be refused: a token that is unknown or expired (401), a private layer read without
#: signing in (401), an enterprise user reading what is not its own (403, :mod:`layers.row_access`).
READ_ERRORS = (400, 401, 403, 404, 422, 500, 503)
WRITE_ERRORS = (400, 401, 403, 404, 405, 409, 413, 415, 422, 428, 500, 503)


class GeoJSONResponse(Response):
    """A GeoJSON body (RFC 7946): documented and sent as ``application/geo+json``."""

    media_type = GEOJSON


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """A ``responses=`` entry documenting ``statuses`` with the error model."""
    ref = {"$ref": "#/components/schemas/Error"}
    return {s: {"description": _DESCRIPTIONS[s], "content": {"application/json": {"schema": ref}}} for s in statuses}


REF_TEMPLATE = "#/components/schemas/{model}"


def request_body(model: Any) -> dict[str, Any]:
    """An ``openapi_extra`` declaring a JSON request body of ``model`` (a pydantic model or annotated type).

    For routes that read the body themselves (to answer errors naming the field in Chinese);
    the models it refers to are moved to ``components/schemas`` by :func:`complete`.
    """
    schema = TypeAdapter(model).json_schema(ref_template=REF_TEMPLATE)
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def complete(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with the error model and each operation's error answers (in place; returned)."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Error"] = ERROR_SCHEMA
    components["GeoJSON"] = GEOJSON_SCHEMA
    for item in schema.get("paths", {}).values():
        for operation in item.values():
            body = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
            components.update(body.pop("$defs", {}))
    for schemas in (schema["components"]["schemas"],):
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
    for item in schema.get("paths", {}).values():
        for method, operation in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            statuses = READ_ERRORS if method == "get" else WRITE_ERRORS
            responses = operation.setdefault("responses", {})
            for answer in responses.values():
                if GEOJSON in answer.get("content", {}):
                    answer["content"][GEOJSON]["schema"] = {"$ref": "#/components/schemas/GeoJSON"}
            for status, answer in error_responses(*statuses).items():
                key = str(status)
                if key == "422" or key not in responses:
                    responses[key] = answer
    return schema


def install(app: FastAPI) -> None:
    """Serve the completed document at ``/openapi.json`` (built once, on first request)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = complete(
                get_openapi(
                    title=app.title,
                    version=app.version,
                    description=app.description,
                    routes=app.routes,
                    tags=app.openapi_tags,
                )
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def also(*media_types: str, status: int = 200) -> dict[int | str, dict[str, Any]]:
    """A ``responses=`` entry declaring the other media types an operation answers (``format=csv``…)."""
    return {status: {"content": {m: {} for m in media_types}}}
