"""The time printed on reports and in their file names: always in the store's zone (``SAFEMAP_TIMEZONE``).

A county's server often runs in UTC; a report dated from ``datetime.now()`` would then be
eight hours behind Beijing time. Every report takes the zone from its caller (``store.tz``);
without one it falls back to ``SAFEMAP_TIMEZONE`` (default Asia/Shanghai), never the server's zone.
"""

from __future__ import annotations

import datetime as dt
import os
from zoneinfo import ZoneInfo

DEFAULT_ZONE = "Asia/Shanghai"


def report_zone(tz: dt.tzinfo | str | None = None) -> dt.tzinfo:
    """The zone reports are dated in: ``tz`` if given, else ``SAFEMAP_TIMEZONE``, else Asia/Shanghai."""
    if isinstance(tz, dt.tzinfo):
        return tz
    return ZoneInfo(tz or os.environ.get("SAFEMAP_TIMEZONE") or DEFAULT_ZONE)


def local_now(tz: dt.tzinfo | str | None = None) -> dt.datetime:
    """Now, aware, in the report zone."""
    return dt.datetime.now(dt.UTC).astimezone(report_zone(tz))


def stamp(when: dt.datetime | None = None, tz: dt.tzinfo | str | None = None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """``when`` (now if ``None``; a naive time is taken as already local) written in the report zone."""
    zone = report_zone(tz)
    if when is None:
        when = local_now(zone)
    elif when.tzinfo is not None:
        when = when.astimezone(zone)
    return when.strftime(fmt)


def local_text(value: object, tz: dt.tzinfo) -> str:
    """A stored time (aware, ISO text, or naive = UTC as stored) as ``YYYY-MM-DD HH:MM:SS`` in ``tz``; — if empty."""
    if value in (None, ""):
        return "—"
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, dt.datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return aware.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")
    return str(value)
