"""Errors raised by the layers package; the API maps each to one HTTP status."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: where (field path, row) and why (Chinese)."""

    field: str
    message: str
    row: int | None = None

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        out: dict[str, object] = {"field": self.field, "message": self.message}
        if self.row is not None:
            out["row"] = self.row
        return out


class LayerError(Exception):
    """Base class; ``status`` is the HTTP status the API answers with."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, problems: list[Problem] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.problems = problems or []


class ValidationFailed(LayerError):
    """The input breaks the catalogue's rules (types, enums, ranges, geometry)."""

    status = 422
    code = "validation_failed"


class UnknownLayer(LayerError):
    """No layer of that name in the catalogue."""

    status = 404
    code = "unknown_layer"


class FeatureNotFound(LayerError):
    """No feature with that id in the layer."""

    status = 404
    code = "not_found"


class Forbidden(LayerError):
    """The actor may not touch this record (e.g. another enterprise's, or a finding they found themselves)."""

    status = 403
    code = "forbidden"


class VersionConflict(LayerError):
    """The feature changed since the client read it (or is still referenced)."""

    status = 409
    code = "conflict"


class VersionRequired(LayerError):
    """A write did not say which version it edited."""

    status = 428
    code = "version_required"


class SchemaError(LayerError):
    """The database schema is newer than this program, or cannot be upgraded."""

    status = 500
    code = "schema_error"


class TooLarge(LayerError):
    """An input (an upload, or what a zip unpacks to) exceeds a size limit; the message names it."""

    status = 413
    code = "payload_too_large"


class BadQuery(LayerError):
    """A query parameter is unknown or malformed."""

    status = 400
    code = "bad_query"


class Unprocessable(LayerError):
    """The input is well formed but cannot be acted on (a point outside the area, a missing table row…)."""

    status = 422
    code = "invalid"


class Unroutable(LayerError):
    """No passable route joins the points asked for; ``problems`` give the reasons."""

    status = 422
    code = "no_route"


class StoreBusy(LayerError):
    """Another write (e.g. a long import) held the lock longer than the store waits: try again shortly.

    ``retry_after`` is the number of seconds a client should wait before retrying
    (the API sends it as ``Retry-After`` with status 503).
    """

    status = 503
    code = "busy"

    def __init__(self, message: str | None = None, *, retry_after: int = 5) -> None:
        super().__init__(message or f"数据库正忙（其他写入尚未完成），本次修改未保存，请 {retry_after} 秒后重试")
        self.retry_after = retry_after


class StoreUnavailable(LayerError):
    """The database cannot be reached, or stopped accepting writes (a primary failing over to its standby).

    Nothing of the operation was kept: a write counts only once its COMMIT returned. The client
    retries after ``retry_after`` seconds (sent as ``Retry-After`` with status 503); by then the
    store reconnects to whichever server accepts writes (the new primary).
    """

    status = 503
    code = "unavailable"

    def __init__(self, message: str | None = None, *, retry_after: int = 2) -> None:
        super().__init__(message or f"数据库暂时不可用（可能正在切换主备），本次操作未完成，请 {retry_after} 秒后重试")
        self.retry_after = retry_after
