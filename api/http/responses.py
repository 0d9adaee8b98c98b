"""One JSON renderer for the API's answers.

Times are ISO text in ``SAFEMAP_TIMEZONE`` (the store keeps UTC), NumPy scalars and arrays are
plain numbers, NaN is ``null``: the same rules for every router, so a client never meets two
spellings of the same value.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
from starlette.responses import Response

JSON = "application/json"
GEOJSON = "application/geo+json"
_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_SERIALIZE_NUMPY


def _default(tz: dt.tzinfo | None) -> Any:
    def default(value: Any) -> Any:
        if isinstance(value, dt.datetime):
            aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
            return (aware.astimezone(tz) if tz else aware).isoformat(timespec="seconds")
        if isinstance(value, dt.date):
            return value.isoformat()
        if hasattr(value, "item"):  # a NumPy scalar orjson does not take natively
            return value.item()
        return str(value)

    return default


def dumps(body: Any, tz: dt.tzinfo | None = None) -> bytes:
    """``body`` as JSON bytes by the rules above; ``tz`` is the zone times are shown in."""
    # orjson itself writes NaN and infinities (Python and NumPy) as null.
    return orjson.dumps(body, default=_default(tz), option=_OPTIONS)


def jsonable(body: Any, tz: dt.tzinfo | None = None) -> Any:
    """``body`` as plain JSON values (dicts, lists, str, numbers) by the rules above."""
    return orjson.loads(dumps(body, tz))


def json_response(
    body: Any,
    status: int = 200,
    media: str = JSON,
    headers: dict[str, str] | None = None,
    tz: dt.tzinfo | None = None,
) -> Response:
    """A response of ``body`` rendered by :func:`dumps`."""
    return Response(dumps(body, tz), status_code=status, media_type=media, headers=headers)
