"""Every error leaves the API as JSON naming what was wrong: ``{"error", "message", "problems"}``."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from safemap.api.http.models.base import labelled_error
from safemap.api.services.labels import message_for
from safemap.layers.errors import (
    BadQuery,
    FeatureNotFound,
    LayerError,
    Problem,
    SchemaError,
    StoreBusy,
    StoreUnavailable,
    UnknownLayer,
    Unprocessable,
    Unroutable,
    ValidationFailed,
    VersionConflict,
    VersionRequired,
)

_log = logging.getLogger("safemap.api")

#: What a client is told of an unexpected error (nothing of the traceback, paths or settings).
INTERNAL_MESSAGE = "服务器内部错误，请稍后重试；如反复出现请联系管理员（详情已记入服务器日志）"


def error_response(
    status: int,
    code: str,
    message: str,
    problems: list[Problem] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """A JSON error body; ``problems`` name each field (and row) at fault."""
    body: dict[str, Any] = {"error": code, "message": message}
    if problems:
        body["problems"] = [p.as_dict() for p in problems]
    return Response(orjson.dumps(body), status_code=status, media_type="application/json", headers=headers)


class ApiError(Exception):
    """An error raised by the API layer itself (authentication, bad request body…)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        problems: list[Problem] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.problems = problems
        self.headers = headers


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


#: The HTTP status of each error the store and the services raise (the body's ``error`` is its ``code``).
LAYER_STATUS: dict[type[LayerError], int] = {
    BadQuery: 400,
    UnknownLayer: 404,
    FeatureNotFound: 404,
    VersionConflict: 409,
    ValidationFailed: 422,
    Unprocessable: 422,
    Unroutable: 422,
    VersionRequired: 428,
    SchemaError: 500,
    StoreBusy: 503,
    StoreUnavailable: 503,
}


def status_of(exc: LayerError) -> int:
    """The HTTP status answering ``exc``: its class's (or nearest base class's) entry in :data:`LAYER_STATUS`."""
    for cls in type(exc).__mro__:
        if cls in LAYER_STATUS:
            return LAYER_STATUS[cls]
    return int(getattr(exc, "status", 400))


#: Where a request field was sent, as an error message says it.
_PLACES = {"query": "查询参数", "body": "请求体", "path": "地址路径", "header": "请求头", "cookie": "Cookie"}


def install(app: FastAPI) -> None:
    """Register the handlers that turn every exception into a JSON error."""

    @app.exception_handler(LayerError)
    async def _layer_error(_: Request, exc: LayerError) -> Response:
        # A busy store (another write held the lock too long) or one failing over says when to try again.
        headers = None
        if isinstance(exc, StoreBusy | StoreUnavailable):
            headers = {"Retry-After": str(exc.retry_after)}
        return error_response(status_of(exc), exc.code, exc.message, exc.problems, headers)

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> Response:
        return error_response(exc.status, exc.code, exc.message, exc.problems, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _request_invalid(_: Request, exc: RequestValidationError) -> Response:
        problems = []
        places = []
        for err in exc.errors():
            loc = [str(p) for p in err["loc"]]
            where = loc[0] if loc else "request"
            name = ".".join(loc[1:]) or where
            places.append(where)
            problems.append(Problem(name, f"{labelled_error(err)}（{_PLACES.get(where, where)}）"))
        status = 400 if all(w == "query" for w in places) else 422
        # The message names the field in Chinese (labelled_error); problems[].field keeps the code.
        return error_response(status, "invalid_request", message_for(problems[0].field, problems[0].message), problems)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        # The last resort: a bug answers JSON in the documented shape; its details stay in the log.
        _log.error("%s %s 未处理的异常", request.method, request.url.path, exc_info=exc)
        return error_response(500, "internal_error", INTERNAL_MESSAGE)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> Response:
        message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if exc.status_code == 404 and message == "Not Found":
            message = "没有这个地址（请查看 /docs 中的接口列表）"
        if exc.status_code == 405:
            message = "该地址不支持此请求方法"
        return error_response(
            exc.status_code,
            _HTTP_CODES.get(exc.status_code, "error"),
            message,
            headers=getattr(exc, "headers", None),
        )


def is_upload(path: str) -> bool:
    """Whether ``path`` takes a multipart upload: imports (``…/import``) and finding photos (``…/photos``)."""
    return path.endswith("/import") or path.endswith("/photos")


class BodyLimit:
    """Refuse request bodies over a size limit with 413 before they reach a handler.

    Uploads (paths ending in ``/import`` or ``/photos``) get their own, larger limit. The limit is
    checked against ``Content-Length`` and, for chunked bodies, while reading.
    """

    def __init__(self, app: ASGIApp, *, max_body: int, max_upload: int) -> None:
        self.app = app
        self.max_body = max_body
        self.max_upload = max_upload

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, or answer 413 when its body is too large."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_upload if is_upload(scope["path"]) else self.max_body
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                await self._too_large(scope, receive, send, limit)
                return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _TooLarge
            return message

        try:
            await self.app(scope, counting_receive, send)
        except _TooLarge:
            await self._too_large(scope, receive, send, limit)

    @staticmethod
    async def _too_large(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        response = error_response(413, "payload_too_large", f"请求体超过上限 {limit // (1024 * 1024)} MB")
        await response(scope, receive, send)


class _TooLarge(Exception):
    pass


class JsonOnly:
    """Answer 415 to a request body that is not JSON (``text/plain``, a form…), except on uploads.

    Bodies without a ``Content-Type`` are read as JSON (as before); ``application/geo+json``
    and any ``+json`` type are JSON. Uploads (:func:`is_upload`) are multipart.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, or answer 415 when it carries a body of another media type."""
        if scope["type"] == "http" and scope["method"] in ("POST", "PUT", "PATCH") and not is_upload(scope["path"]):
            headers = dict(scope.get("headers", []))
            media = headers.get(b"content-type", b"").split(b";")[0].strip().lower().decode("latin-1")
            has_body = headers.get(b"content-length", b"0") != b"0" or b"transfer-encoding" in headers
            if media and has_body and media != "application/json" and not media.endswith("+json"):
                response = error_response(
                    415,
                    "unsupported_media_type",
                    f"请求体应为 JSON（Content-Type: application/json），收到 {media}",
                    [Problem("Content-Type", f"应为 application/json，收到 {media}")],
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
